"""The `kubernetes` target: an in-cluster MLOps stack on any cluster (a kubeconfig context) or a local kind cluster."""
