"""Models layer: encoder, heads, bundle, training and evaluation (imports only data and text)."""
