"""Single-image reconstruction network: architecture, checkpoints, inference and training."""
