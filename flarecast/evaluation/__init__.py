"""Evaluation: metrics, thresholds, calibration, bootstrap, the comparison protocol and its outputs."""
