"""pinguard: keep an environment anchored to one torch build."""

__version__ = "0.1.0"
