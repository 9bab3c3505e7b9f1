"""Where the FOMM configuration, checkpoint and exported graphs live (no torch needed here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import yaml

CONFIG_PATH = Path(__file__).with_name("vox-256.yaml")
#: Where the engine looks for the checkpoint when none is given (see the README beside this).
DEFAULT_CHECKPOINT = Path.home() / ".cache" / "fingerprint-live" / "vox-cpk.pth.tar"
#: Size in bytes of the published vox-cpk.pth.tar; any other size is a different or broken file.
VOX_CPK_BYTES = 728_766_691


def load_config(path: Path = CONFIG_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


class OnnxGraphs(NamedTuple):
    """The ONNX files exported from one checkpoint."""

    kp_detector: Path
    source_encoder: Path  # the generator's per-portrait share, run once per portrait
    animator: Path  # relative motion and the generator's per-frame rest, float32
    animator_fp16: Path  # the same in half precision (float32 inputs and outputs), for CUDA


def onnx_paths(checkpoint: Path, out_dir: Path | None = None) -> OnnxGraphs:
    """The graphs of ``checkpoint``: beside it by default."""
    folder = out_dir or checkpoint.parent
    stem = checkpoint.name.split(".")[0]
    return OnnxGraphs(*(folder / f"{stem}.{part}.onnx" for part in
                        ("kp_detector", "source_encoder", "animator", "animator.fp16")))
