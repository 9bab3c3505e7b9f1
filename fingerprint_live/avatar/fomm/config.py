"""Where the FOMM configuration, checkpoint and exported graphs live (no torch needed here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CONFIG_PATH = Path(__file__).with_name("vox-256.yaml")
#: Where the engine looks for the checkpoint when none is given (see the README beside this).
DEFAULT_CHECKPOINT = Path.home() / ".cache" / "fingerprint-live" / "vox-cpk.pth.tar"
#: Size in bytes of the published vox-cpk.pth.tar; any other size is a different or broken file.
VOX_CPK_BYTES = 728_766_691


def load_config(path: Path = CONFIG_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def onnx_paths(checkpoint: Path, out_dir: Path | None = None) -> tuple[Path, Path]:
    """The keypoint detector and generator graphs of ``checkpoint``: beside it by default."""
    folder = out_dir or checkpoint.parent
    stem = checkpoint.name.split(".")[0]
    return folder / f"{stem}.kp_detector.onnx", folder / f"{stem}.generator.onnx"
