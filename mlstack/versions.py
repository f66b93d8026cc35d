"""Every version mlstack installs, in one place.

The Pulumi CLI is built from Go modules at the same version as the `pulumi` Python SDK pinned in
pyproject.toml (the Automation API refuses an unversioned CLI, and a mismatched one has broken
``up(on_event=...)``). Change both together; tests/test_versions.py checks they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

PULUMI_VERSION = "3.259.0"

# Non-local `replace` directives of github.com/pulumi/pulumi/pkg/v3 at PULUMI_VERSION: a dependency's replaces are
# ignored by Go, so the wrapper module that builds the CLI must repeat them.
PULUMI_GO_REPLACES = {
    "github.com/atotto/clipboard": "github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e",
}
PULUMI_GO_VERSION = "1.25.11"  # the `go` line of pkg/go.mod at PULUMI_VERSION

# MLflow's official image with every extra (PostgreSQL driver, S3/GCS/Azure Blob clients): the tracking server of
# the cloud targets. Same MLflow version as the local runtime, so clients see one server version on every target.
MLFLOW_IMAGE = "ghcr.io/mlflow/mlflow:v3.17.2-full"

# Images of the kubernetes target's in-cluster components (the cluster pulls them; mlstack installs nothing here).
KUBERNETES_IMAGES = {
    "minio": "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
    # SeaweedFS's release of the commit the local runtime builds (`weed version` says 4.53).
    "seaweedfs": "docker.io/chrislusf/seaweedfs:4.53",
    "mc": "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z",
    "registry": "docker.io/library/registry:3.0.0",
    "postgres": "docker.io/library/postgres:17.6-alpine",
    "mlserver": "docker.io/seldonio/mlserver:1.7.1",
    "mlflow": MLFLOW_IMAGE,
    # Airflow's official image: the default of the pinned chart (CHARTS["airflow"]); amazon, cncf-kubernetes, fab and
    # postgres providers included (S3 DAG bundle and logs, KubernetesExecutor, the chart's auth manager, its database).
    "airflow": "docker.io/apache/airflow:3.2.2",
    # NVIDIA's device plugin (its static manifest's release): what advertises a node's GPUs on EKS and AKS
    "nvidia-device-plugin": "nvcr.io/nvidia/k8s-device-plugin:v0.20.0",
    # the Kubernetes autoscaler's release for the managed clusters' minor (MANAGED_KUBERNETES): EKS' node groups scale
    # between their min and max only with it
    "cluster-autoscaler": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.0",
}


@dataclass(frozen=True)
class HelmChart:
    """A chart mlstack installs (a cluster add-on's, or a flavor's in the stack's namespace): where its publisher ships
    it, and the exact version.

    Charts are installed with the provider's `helm.v4.Chart`: it renders the chart and Pulumi owns each object (a
    diff, a policy check and a drift per object), and it reads a packaged chart from a local file, which is how an
    air-gapped mirror works; `helm.v3.Release` would need the repository at every deploy. v4 ignores Helm hooks:
    these charts need none (cert-manager's only hook, its start-up API check, is turned off; Airflow's database
    migration runs as a plain Job, as its chart documents for installers that run no hooks)."""

    name: str
    version: str
    # where the publisher ships it: an OCI repository (`helm pull <repository>/<name> --version`), or an HTTP chart
    # repository (`helm pull <name> --repo <repository> --version`), whose index.yaml names each archive's digest
    repository: str

    @property
    def oci(self) -> bool:
        return self.repository.startswith("oci://")

    @property
    def archive(self) -> str:
        """Its file name in a mirror directory: what `helm pull` writes."""
        return f"{self.name}-{self.version}.tgz"


# The charts of the kubernetes target: its cluster add-ons' (components/kubernetes/addons/) and flavors'. The
# add-ons' sources are also served by the Go module proxy at the same tags (github.com/cert-manager/cert-manager,
# github.com/kserve/kserve), which is how the tests fill a chart mirror where the publishers cannot be reached.
# Airflow's is not: it is installed wherever a mirror or its repository holds it, and never on these test machines.
CHARTS = {
    "cert-manager": HelmChart("cert-manager", "v1.21.2", "oci://quay.io/jetstack/charts"),
    "kserve-crd": HelmChart("kserve-crd", "v0.20.0", "oci://ghcr.io/kserve/charts"),
    "kserve-resources": HelmChart("kserve-resources", "v0.20.0", "oci://ghcr.io/kserve/charts"),
    # Apache Airflow's official chart (the `orchestrator: airflow` flavor installs it in the stack's namespace).
    "airflow": HelmChart("airflow", "1.22.0", "https://airflow.apache.org"),
}
CHART_SOURCES = {  # chart -> (Go module, version, the chart's directory in it)
    "cert-manager": ("github.com/cert-manager/cert-manager", "v1.21.2", "deploy/charts/cert-manager"),
    "kserve-crd": ("github.com/kserve/kserve", "v0.20.0", "charts/kserve-crd"),
    "kserve-resources": ("github.com/kserve/kserve", "v0.20.0", "charts/kserve-resources"),
}


@dataclass(frozen=True)
class Manifests:
    """Manifests a flavor applies whose publisher ships them only as kustomize bases (Kubeflow Pipelines has no
    chart): rendered once with `kustomize build <base>` into one file of the mirror directory, which mlstack reads,
    changes for the stack (namespace, object store, database, security contexts: see the flavor's module) and applies
    with `yaml.v2.ConfigGroup`. The bases name their images by tag, and some of their own parts by remote URL, so
    only a rendered file pins what is applied."""

    name: str
    version: str
    base: str  # the kustomize base, at the release's tag

    @property
    def file(self) -> str:
        """Its file name in the mirror directory."""
        return f"{self.name}-{self.version}.yaml"

    @property
    def render(self) -> str:
        """The command that writes it (where GitHub is reachable)."""
        return f'kustomize build "{self.base}" > {self.file}'


KFP_VERSION = "2.17.0"  # Kubeflow Pipelines (2026-07): its API server, Argo Workflows v4.0.5, MySQL 8.4
_KFP_BASES = "github.com/kubeflow/pipelines/manifests/kustomize"  # as KFP's install guide names them
MANIFESTS = {
    # what every KFP on a cluster shares: its CRDs and Argo's (a cluster add-on)
    "kubeflow-pipelines-cluster": Manifests(
        "kubeflow-pipelines-cluster", KFP_VERSION, f"{_KFP_BASES}/cluster-scoped-resources?ref={KFP_VERSION}"
    ),
    # KFP standalone, as published for any cluster (`orchestrator: kubeflow` applies it in the stack's namespace)
    "kubeflow-pipelines": Manifests(
        "kubeflow-pipelines", KFP_VERSION, f"{_KFP_BASES}/env/platform-agnostic?ref={KFP_VERSION}"
    ),
}

# The pulumi-kubernetes SDK pinned in pyproject.toml asks the engine for this provider plugin version exactly.
KUBERNETES_PROVIDER_VERSION = "4.25.0"
# kind (https://kind.sigs.k8s.io): the CLI mlstack drives for `cluster: {type: kind}`; its node image is kind's default.
KIND_VERSION = "v0.33.0"
# The Kubernetes minor version of the clusters mlstack creates in a cloud, unless the recipe pins another: the
# test control plane's (KUBERNETES_VERSION below), in standard support on all three clouds.
MANAGED_KUBERNETES = {"eks": "1.35", "gke": "1.35", "aks": "1.35"}

# actionlint: lints the GitHub Actions examples (tests/examples/); built from Go modules like the Kubernetes binaries.
ACTIONLINT_VERSION = "v1.7.12"

# ZenML version written into emitted stack files (`zenml stack import` refuses another version by default).
ZENML_VERSION = "0.98.0"


@dataclass(frozen=True)
class GoPluginSource:
    """A provider plugin built from the Go module proxy where `pulumi plugin install` cannot fetch it.

    The module's go.mod replaces its own SDK with `../sdk`, so `go install` refuses it: the build takes a writable
    copy, drops that replace, requires the SDK at `sdk_version`, runs the module's generate step (it writes the
    schema the binary embeds) and stamps `version` into `version_var`."""

    plugin: str
    version: str  # the release the commit is tagged as: the plugin registers under it, the Python SDK is pinned to it
    module: str
    module_version: str  # the pseudo-version the proxy serves for that release's commit
    sdk_module: str
    sdk_version: str  # the SDK version the module's go.mod requires
    command: str  # package directory of the plugin's main, inside the module
    version_var: str


# pulumi-kubernetes v4.25.0 is commit f47bc2d6f199 (tag v4.25.0, 2026-01-14); the proxy serves that commit only, so
# the Python SDK is pinned to 4.25.0 and the engine's request and the built binary agree exactly.
KUBERNETES_PROVIDER_SOURCE = GoPluginSource(
    plugin="kubernetes",
    version=KUBERNETES_PROVIDER_VERSION,
    module="github.com/pulumi/pulumi-kubernetes/provider/v4",
    module_version="v4.0.0-20260115033456-f47bc2d6f199",
    sdk_module="github.com/pulumi/pulumi-kubernetes/sdk/v4",
    sdk_version="v4.24.0",
    command="cmd/pulumi-resource-kubernetes",
    version_var="github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version",
)
PLUGIN_SOURCES = {KUBERNETES_PROVIDER_SOURCE.plugin: KUBERNETES_PROVIDER_SOURCE}


@dataclass(frozen=True)
class PythonRuntime:
    """A service run from its own virtualenv (Python services conflict on their pins)."""

    name: str
    version: str
    packages: tuple[str, ...]
    binary: str


@dataclass(frozen=True)
class GoRuntime:
    """A service built from Go modules: `go install module@version`, or, where the module's go.mod has `replace`
    directives (`go install` refuses those), a wrapper module that requires it, repeats `replaces` and builds
    `package` (its main package)."""

    name: str
    version: str
    module: str
    binary: str
    package: str = ""  # the main package, when it is not the module's root
    replaces: tuple[tuple[str, str], ...] = ()  # (old, "new version") of the module's go.mod, repeated by the wrapper
    go: str = ""  # the `go` line of the module's go.mod (without one, the wrapper would load the whole module graph)


@dataclass(frozen=True)
class DebianRuntime:
    """A service from a Debian package: checked, installed by `make install` (it needs root)."""

    name: str
    version: str
    package: str
    binary: str


Runtime = PythonRuntime | GoRuntime | DebianRuntime

RUNTIMES: dict[str, Runtime] = {
    "registry": DebianRuntime("registry", "2.8.2", "docker-registry", "docker-registry"),
    # MinIO publishes no semver tags: this is the newest commit the Go module proxy serves (2026-02-12).
    "minio": GoRuntime("minio", "v0.0.0-20260212201848-7aac2a2c5b7c", "github.com/minio/minio", "minio"),
    # SeaweedFS publishes no semver tags the proxy lists: the newest commit it serves (2026-11-09). Its go.mod
    # replaces go-bip39, so it is built through a wrapper module.
    "seaweedfs": GoRuntime(
        "seaweedfs",
        "v0.0.0-20261109003541-7506e5f91cd6",
        "github.com/seaweedfs/seaweedfs",
        "weed",
        package="github.com/seaweedfs/seaweedfs/weed",
        replaces=(("github.com/tyler-smith/go-bip39", "github.com/cosmos/go-bip39 v1.0.0"),),
        go="1.26.6",
    ),
    "mlflow": PythonRuntime("mlflow", "3.17.2", ("mlflow[auth]==3.17.2", "boto3==1.44.5"), "mlflow"),
    "mlserver": PythonRuntime("mlserver", "1.7.1", ("mlserver==1.7.1", "mlserver-sklearn==1.7.1"), "mlserver"),
}

# The test control plane (tests/kube/): a real API server built from Go modules, since no kind cluster can start
# where there is no container runtime. etcd comes from Debian (`etcd-server`, 3.4.x works with this apiserver).
KUBERNETES_VERSION = "1.35.4"
KUBERNETES_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
KWOK_VERSION = "v0.8.0"
ETCD_DEBIAN_PACKAGE = "etcd-server"
