"""The benchmark: the project's handler beside its baselines on the local pipeline, with a
worker-side probe, cold-start timing and a cost model per million charges."""
