"""Where the shipped models live: one place for every model file the runtime reads."""

from __future__ import annotations

import os
from pathlib import Path


def model_dir(folder: str | Path | None = None) -> Path:
    """``folder``, else ``$FINGERPRINT_LIVE_MODELS``, else the models shipped with the package."""
    if folder:
        return Path(folder)
    env = os.environ.get("FINGERPRINT_LIVE_MODELS")
    return Path(env) if env else Path(__file__).resolve().parent / "models"
