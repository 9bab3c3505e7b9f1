"""The vox-256 configuration and the authors' checkpoint ``vox-cpk.pth.tar``, loaded strictly.

The checkpoint is a pickled dict with ``generator`` and ``kp_detector`` state dicts (plus the
discriminator and optimizer states, ignored here). Our modules carry the authors' names, so the
state dicts load as they are, every key accounted for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ...errors import ModelError
from .config import load_config
from .generator import OcclusionAwareGenerator
from .keypoint_detector import KPDetector


def build_modules(config: dict[str, Any]) -> tuple[KPDetector, OcclusionAwareGenerator]:
    """Freshly initialised keypoint detector and generator, in eval mode."""
    common = config["common_params"]
    kp_detector = KPDetector(num_kp=common["num_kp"], num_channels=common["num_channels"],
                             estimate_jacobian=common["estimate_jacobian"],
                             **config["kp_detector_params"])
    generator = OcclusionAwareGenerator(num_kp=common["num_kp"],
                                        num_channels=common["num_channels"],
                                        **config["generator_params"])
    return kp_detector.eval(), generator.eval()


def load_checkpoint(path: str | Path, config: dict[str, Any] | None = None,
                    expected_size: int | None = None,
                    trust_pickle: bool = False) -> tuple[KPDetector, OcclusionAwareGenerator]:
    """Modules with the checkpoint's weights; :class:`ModelError` says what is wrong otherwise.

    ``expected_size`` (e.g. ``config.VOX_CPK_BYTES``) refuses truncated or different files before
    unpickling them. ``trust_pickle`` allows arbitrary pickled objects: only for a file whose
    origin you trust.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"FOMM checkpoint not found: {path} (download vox-cpk.pth.tar: see "
                         "fingerprint_live/avatar/fomm/README.md)")
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise ModelError(f"{path} has {size:,} bytes, expected {expected_size:,}: the download "
                         "is incomplete or this is another checkpoint; download it again")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except Exception as exc:
        hint = ("" if trust_pickle else " If it holds more than tensors and plain containers "
                "and you trust where it came from, load it again with trust_pickle=True.")
        raise ModelError(f"cannot read {path} as a PyTorch checkpoint: {exc}.{hint}") from exc

    kp_detector, generator = build_modules(config or load_config())
    if not isinstance(checkpoint, dict):
        raise ModelError(f"{path} is not a FOMM checkpoint (a {type(checkpoint).__name__})")
    for name, module in (("kp_detector", kp_detector), ("generator", generator)):
        if name not in checkpoint:
            raise ModelError(f"{path} has no '{name}' entry (it has: {sorted(checkpoint)})")
        _load_strict(module, checkpoint[name], f"{path} [{name}]")
    return kp_detector, generator


def _load_strict(module: torch.nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    """load_state_dict with every missing, unexpected and mis-shaped key named in the error."""
    expected = module.state_dict()
    # Batch-norm step counters are unused at inference; files from before PyTorch 0.4.1 lack them.
    state = {k: expected[k] for k in expected if k.endswith("num_batches_tracked")} | dict(state)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [f"{k}: {tuple(state[k].shape)} instead of {tuple(v.shape)}"
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    problems = []
    if missing:
        problems.append("missing keys: " + ", ".join(missing))
    if unexpected:
        problems.append("unexpected keys: " + ", ".join(unexpected))
    if shapes:
        problems.append("wrong shapes: " + "; ".join(shapes))
    if problems:
        raise ModelError(f"{where} does not match the vox-256 model: " + " | ".join(problems))
    module.load_state_dict(state, strict=True)
