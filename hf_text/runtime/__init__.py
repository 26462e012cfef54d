"""Running models: device and precision, loading and caching, torch and ONNX back ends, serving."""
