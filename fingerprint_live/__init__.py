"""fingerprint-live: real-time avatar calls with a continuous check of who drives the avatar."""

__version__ = "0.1.0"
