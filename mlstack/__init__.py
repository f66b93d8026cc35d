"""mlstack: provision a complete MLOps stack from one declarative YAML recipe, with Pulumi."""

__version__ = "0.1.0"

# Variables mlstack sets in its own environment for itself alone (names, comma-separated): the services it starts do
# not inherit them (mlstack.home.service_environ). Here, not in mlstack.home: the CLI's start reads it.
OWN_ENV = "MLSTACK_OWN_ENV"
