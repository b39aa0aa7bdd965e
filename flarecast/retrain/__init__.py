"""Retraining: relabel with a new catalogue, train with the base recipe, compare on a hold-out."""
