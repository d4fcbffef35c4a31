"""What runs without a window: the recorder and the exporter."""
