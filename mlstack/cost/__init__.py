"""What a stack will cost before it runs: a price snapshot shipped with mlstack (every price with its source and the
date it was read), usage assumptions a recipe or the command line can set, and the lines each target's cost module
prices from the offline plan (components/<target>/cost.py). Kubernetes reports the capacity a cluster must have,
the local target its footprint; neither is money."""
