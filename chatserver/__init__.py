"""chatserver: a live-chat customer-support server."""

__version__ = "0.1.0"
