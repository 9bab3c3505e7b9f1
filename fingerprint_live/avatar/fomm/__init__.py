"""First Order Motion Model (Siarohin et al., NeurIPS 2019) as an avatar engine."""

from .engine import FommAvatar

__all__ = ["FommAvatar"]
