"""What a client needs to use each deployed component: typed models and their renderings."""
