"""Where tests find the shared real clips: skip without them, except under CI, which has them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def clip(relative: str) -> Path:
    """Path of a file in ``../shared/data``; skips (or fails under CI=true) when it is absent."""
    path = DATA / relative
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing: CI must provide the shared clips in {DATA}")
        pytest.skip(f"needs the shared clips in {DATA} (not on this machine)")
    return path
