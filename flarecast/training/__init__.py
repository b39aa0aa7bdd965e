"""Training: losses, the training loop, checkpoints, DDP, the estimator and model folders."""
