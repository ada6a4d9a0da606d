"""Calibrated quantization: calibration data drawn apart from every evaluated sample, the
calibrating library run once per (model content, recipe, calibration ids, library versions),
and the checkpoint it writes cached for the next run (see docs/calibrated-quantization.md)."""
