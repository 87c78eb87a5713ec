"""A fitted estimator out of Python's memory: saved to and restored from a file
without pickle, and exported to ONNX."""
