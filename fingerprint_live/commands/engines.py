"""The avatar engine a command runs: ``--engine default`` or ``--engine fomm`` (animate, cam)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..avatar.base import AvatarEngine
from ..errors import FingerprintError


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=["default", "fomm"], default="default",
                        help="default: landmark mesh warp, no weights; fomm: First Order Motion "
                        "Model (needs --checkpoint; on the GPU when onnxruntime-gpu or PyTorch "
                        "can use one, else on the CPU)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="FOMM checkpoint vox-cpk.pth.tar (--engine fomm)")
    parser.add_argument("--any-size", action="store_true",
                        help="--engine fomm: accept a checkpoint of another size than the "
                        "published vox-cpk.pth.tar (one fine-tuned on the same architecture)")


def make_engine(args: argparse.Namespace, portrait: np.ndarray) -> AvatarEngine:
    """The chosen engine; FOMM is imported only when asked for (it needs its runtime)."""
    from fingerprint_live.avatar.portrait import find_face

    if args.engine == "default":
        from fingerprint_live.avatar.default_avatar import DefaultAvatar

        return DefaultAvatar(portrait, size=args.size)
    if args.checkpoint is None:
        raise FingerprintError("--engine fomm needs --checkpoint PATH (vox-cpk.pth.tar).")
    try:
        from fingerprint_live.avatar.fomm.config import VOX_CPK_BYTES
        from fingerprint_live.avatar.fomm.engine import FommAvatar

        engine = FommAvatar(portrait, checkpoint=args.checkpoint,
                            portrait_face=find_face(portrait),
                            expected_size=None if args.any_size else VOX_CPK_BYTES)
    except ImportError as exc:
        raise FingerprintError(
            f"--engine fomm needs the model runtime ({exc.name} is missing): install "
            "fingerprint-live[gpu] (or [cpu]) and, to export the checkpoint once, "
            "fingerprint-live[train]."
        ) from exc
    print(f"FOMM avatar: {engine.runtime}", file=sys.stderr)
    return engine
