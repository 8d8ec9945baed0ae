"""Offline training, evaluation and ONNX export of burst detectors (needs the `train` extra)."""
