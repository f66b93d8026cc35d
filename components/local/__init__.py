"""Components of the `local` target: services run as plain processes on 127.0.0.1."""
