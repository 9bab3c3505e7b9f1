"""``fingerprint-live serve``: the browser demo (one aiohttp app and one page)."""

from .app import ServeConfig, make_app

__all__ = ["ServeConfig", "make_app"]
