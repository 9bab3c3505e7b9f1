"""``fingerprint-live verify``: run the streaming verifier over a video, print a timeline."""

from __future__ import annotations

import argparse
import json

from ..decision import Signal, State
from ..embedder import Embedder
from ..enrollment import Enrollment
from ..errors import FingerprintError
from ..offline.clip_landmarks import extract_clip
from ..offline.clip_stream import play
from ..verifier import SIGNAL_SETS, StreamingVerifier, VerifierConfig

EXIT = {"VERIFIED": 0, "MISMATCH": 1, "INCONCLUSIVE": 3}


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "verify",
        help="check who drives the face in a video against an enrollment",
        description="Stream a video through the verifier as a live call would and print the "
        "state changes and a verdict. A camera recording is checked by the face's motion and "
        "appearance together (the default, when the enrollment holds a face); an avatar "
        "recording, which shows another face, by motion alone (--signals motion). "
        "Exit status: 0 VERIFIED, 1 MISMATCH, 3 INCONCLUSIVE, 2 error.",
    )
    p.add_argument("video", help="video to check")
    p.add_argument("--enrollment", required=True, help="enrollment file (.fpe)")
    p.add_argument("--signals", choices=list(SIGNAL_SETS), default=None,
                   help="what to weigh: fused (motion and appearance; the default), motion "
                   "(for a recording of the avatar) or appearance")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--threshold", type=float, default=None,
                   help="motion: the window cosine that counts neither for nor against, in "
                   "(-1, 1) (default: the model's calibration)")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    return p


def verdict(reached: set[State]) -> str:
    """MISMATCH if it ever came, VERIFIED if that came, else INCONCLUSIVE."""
    if State.MISMATCH in reached:
        return "MISMATCH"
    return "VERIFIED" if State.VERIFIED in reached else "INCONCLUSIVE"


def run(args: argparse.Namespace) -> int:
    if args.threshold is not None and not -1 < args.threshold < 1:
        raise FingerprintError(f"--threshold is a cosine between -1 and 1, not {args.threshold}.")
    embedder = Embedder(args.model)
    enrollment = Enrollment.load(args.enrollment)
    signals = args.signals or ("fused" if enrollment.appearance is not None else "motion")
    uses_face = Signal.APPEARANCE in SIGNAL_SETS[signals]
    descriptor = None
    if uses_face:
        from ..face_descriptor import FaceDescriptor
        from ..offline.clip_descriptors import describe_on_demand

        if enrollment.appearance is None:
            raise FingerprintError(f"{args.enrollment} holds no face: enroll again with this "
                                   "version, or check motion alone with --signals motion.")
        descriptor = FaceDescriptor(args.model)
    enrollment.check_models(embedder.info.model_id,
                            descriptor.info.model_id if descriptor else None)
    events = []
    verifier = StreamingVerifier(
        enrollment, embedder, VerifierConfig(threshold=args.threshold,
                                             signals=SIGNAL_SETS[signals]),
        on_event=events.append, appearance=descriptor.info if descriptor else None)
    clip = extract_clip(args.video)
    play(verifier, clip, describe_on_demand(args.video, descriptor) if descriptor else None)
    result = {
        "video": args.video,
        "verdict": verdict({e.state for e in events}),
        "signals": signals,
        "events": [{"time": round(e.time, 2), "state": e.state.value,
                    "score": None if e.score is None else round(e.score, 3),
                    "signal": e.signal and e.signal.value} for e in events],
        "observations": _counts(verifier),
        "max_faces": int(clip.num_faces.max()) if len(clip) else 0,
    }
    if result["verdict"] == "INCONCLUSIVE":
        result["why"] = _why_inconclusive(result["observations"], uses_face)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_text(result)
    return EXIT[result["verdict"]]


def _counts(verifier: StreamingVerifier) -> dict:
    kinds = [k for _, k, _, _ in verifier.observations]
    return {"motion_windows": kinds.count("motion"), "face_checks": kinds.count("appearance"),
            "live_windows": kinds.count("live")}


def _why_inconclusive(counts: dict, uses_face: bool) -> str:
    if counts["motion_windows"] == 0 and not (uses_face and counts["face_checks"]):
        return "no stretch of face motion was long enough for a window (2 s)"
    if counts["motion_windows"] and counts["live_windows"] == 0:
        return "the face never moved as a live face does (a photo?)"
    return "the evidence never became clear either way"


def _print_text(result: dict) -> None:
    for e in result["events"]:
        score = "" if e["score"] is None else f"  evidence {e['score']:+.2f}"
        signal = f"  ({e['signal']})" if e["signal"] else ""
        print(f"{e['time']:8.2f} s  {e['state']:<10}{score}{signal}")
    if result["max_faces"] > 1:
        print(f"note: up to {result['max_faces']} faces were in view; the driver was followed")
    why = f" ({result['why']})" if "why" in result else ""
    print(f"verdict: {result['verdict']}{why}")
