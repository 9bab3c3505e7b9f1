"""``fingerprint-live cam``: the guarded avatar as a virtual webcam for any video app."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from ..errors import FingerprintError
from ..guard import GuardConfig, Policy
from .engines import add_engine_arguments, make_engine


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "cam",
        help="send the guarded avatar to a virtual webcam",
        description="Read the webcam (or --input VIDEO), animate the avatar, check who drives "
        "it against the enrollment, and send the guarded frames to a virtual camera "
        "(v4l2loopback on Linux, OBS Virtual Camera on Windows and macOS). Keys: c re-calibrates "
        "the avatar's neutral pose, q quits (in the preview window, or typed then Enter).",
    )
    p.add_argument("--enrollment", type=Path, default=None,
                   help="enrollment file (.fpe); required unless --policy off")
    p.add_argument("--camera", type=int, default=0, help="OpenCV camera index (default: 0)")
    p.add_argument("--input", type=Path, default=None, help="play this video as the webcam")
    p.add_argument("--loop", action="store_true", help="with --input: play it again and again")
    p.add_argument("--avatar", type=Path, default=None,
                   help="portrait image (default: the public-domain NASA astronaut photo)")
    p.add_argument("--size", type=int, default=256,
                   help="avatar side in pixels for the default engine (default: 256; FOMM is 256)")
    add_engine_arguments(p)
    p.add_argument("--policy", type=Policy, choices=list(Policy), default=Policy.BLOCK,
                   help="on mismatch: block (slate), flag (banner), off (default: %(default)s)")
    p.add_argument("--on-glitch", type=Policy, choices=list(Policy), default=Policy.FLAG,
                   help="when the avatar renders badly: flag (banner), block (slate), off "
                   "(default: %(default)s)")
    p.add_argument("--fps", type=float, default=25.0, help="virtual camera rate (default: 25)")
    p.add_argument("--backend", default=None,
                   help="pyvirtualcam backend, e.g. v4l2loopback, obs (default: the first found)")
    p.add_argument("--device", default=None, help="virtual camera device, e.g. /dev/video2")
    p.add_argument("--preview", action="store_true", help="show the output in a window")
    p.add_argument("--grow", action="store_true",
                   help="when the call ends, add its motion to the enrollment file if face and "
                   "motion verified you in it with a clear margin (bounded, recorded, undone "
                   "by `enroll --reset`); the line printed at the end says whether and why")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    return p


def run(args: argparse.Namespace) -> int:
    from fingerprint_live.avatar.portrait import load_portrait

    from ..embedder import Embedder
    from ..enrollment import Enrollment
    from ..face_descriptor import load_info
    from ..growth import CallHarvest
    from ..pipeline import Pipeline
    from ..verifier import StreamingVerifier
    from ..virtual_camera import (
        Preview,
        file_frames,
        open_virtual_camera,
        run_camera,
        webcam_frames,
    )

    if args.size not in range(64, 1025, 2):
        raise FingerprintError(f"--size must be an even number from 64 to 1024, not {args.size}.")
    verifier = harvest = None
    if args.grow and args.enrollment is None:
        raise FingerprintError("--grow needs --enrollment FILE: the file that grows.")
    if args.enrollment is not None:
        embedder = Embedder(args.model)
        faces = load_info(args.model)
        enrollment = Enrollment.load(args.enrollment, embedder.info.model_id, faces.model_id)
        if args.grow:
            harvest = CallHarvest.of(embedder.info)
        verifier = StreamingVerifier(enrollment, embedder, appearance=faces, harvest=harvest)
    elif args.policy is not Policy.OFF:
        raise FingerprintError("--enrollment FILE is needed to check who drives the avatar "
                               "(make one with `fingerprint-live enroll`); --policy off sends the "
                               "avatar unchecked.")
    avatar = make_engine(args, load_portrait(args.avatar))
    frames = (file_frames(args.input, args.loop) if args.input is not None
              else webcam_frames(args.camera))
    camera = open_virtual_camera(avatar.size, avatar.size, args.fps, args.backend, args.device)
    preview = Preview() if args.preview else None
    keys: list[str] = []
    if sys.stdin is not None and sys.stdin.isatty():
        threading.Thread(target=_read_keys, args=(keys,), daemon=True).start()
    pipeline = Pipeline(avatar, verifier, GuardConfig(policy=args.policy,
                                                      on_glitch=args.on_glitch),
                        waiting="unchecked")
    print(f"virtual camera: {camera.device} ({camera.backend}), {avatar.size}x{avatar.size}",
          file=sys.stderr)
    try:
        run_camera(frames, pipeline, camera, preview, keys)
    finally:
        pipeline.close()
        camera.close()
        if preview is not None:
            preview.close()
    if harvest is not None:
        _grow(args.enrollment, enrollment, harvest, verifier)
    return 0


def _grow(path: Path, enrollment, harvest, verifier) -> None:
    """Add the call's motion to the enrollment file, if the call earned it; say so."""
    from ..growth import add_call

    grown, addition = add_call(path, enrollment, harvest, verifier, "cam call")
    if addition.eligible:
        print(f"{path}: added this call ({addition.reason}); {len(grown.segments)} segments, "
              "`fingerprint-live enroll --reset` undoes it", file=sys.stderr)
    else:
        print(f"{path}: this call was not added: {addition.reason}", file=sys.stderr)


def _read_keys(keys: list[str]) -> None:
    for line in sys.stdin:
        if line.strip():
            keys.append(line.strip()[0].lower())
