"""fingerprint-live: real-time avatar calls with a continuous check of who drives the avatar.

``enroll``, ``verify`` and ``checker`` (see :mod:`fingerprint_live.api`) are the short way in;
they are imported on first use, so that ``import fingerprint_live`` stays light.
"""

__version__ = "0.2.0"
__all__ = ["Enrollment", "Verdict", "checker", "enroll", "verify"]


def __getattr__(name: str):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'fingerprint_live' has no attribute {name!r}")
