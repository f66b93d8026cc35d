"""The engine layer: the only code that talks to Pulumi's Automation API and CLI."""
