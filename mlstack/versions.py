"""Every version mlstack installs, in one place.

The Pulumi CLI is built from Go modules at the same version as the `pulumi` Python SDK pinned in
pyproject.toml (the Automation API refuses an unversioned CLI, and a mismatched one has broken
``up(on_event=...)``). Change both together; tests/test_versions.py checks they agree.
"""

from __future__ import annotations

PULUMI_VERSION = "3.259.0"

# Non-local `replace` directives of github.com/pulumi/pulumi/pkg/v3 at PULUMI_VERSION: a dependency's replaces are
# ignored by Go, so the wrapper module that builds the CLI must repeat them.
PULUMI_GO_REPLACES = {
    "github.com/atotto/clipboard": "github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e",
}
PULUMI_GO_VERSION = "1.25.11"  # the `go` line of pkg/go.mod at PULUMI_VERSION

# Debian package of the CNCF distribution registry (container registry of the local target).
DOCKER_REGISTRY_DEBIAN = "docker-registry"
