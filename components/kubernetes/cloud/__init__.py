"""The cloud resources of the clusters a stack creates (eks, gke, aks): one module per cluster type, the Pulumi half of
its provisioner in components/kubernetes/clusters/ (which declares it and is imported without Pulumi)."""
