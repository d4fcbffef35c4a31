"""Ayla Monitor: watch and record Ayla Datastream Service (DSS) events."""

__all__ = ["__version__", "APP_NAME"]

__version__ = "0.1.0"
APP_NAME = "Ayla Monitor"
