"""Evaluation harness: datasets, metrics, anchors, RD sweeps, BD-rate, plots and reports."""
