"""sitegen: pre-rendered furniture sketchbooks from a YAML catalog."""

__version__ = "0.1.0"
