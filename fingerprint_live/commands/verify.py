"""``fingerprint-live verify``: run the streaming verifier over a video, print a timeline."""

from __future__ import annotations

import argparse
import json

from ..clip_landmarks import extract_clip
from ..embedder import Embedder
from ..enrollment import Enrollment
from ..landmarks import FaceLandmarks
from ..verifier import State, StreamingVerifier, VerifierConfig

EXIT = {"VERIFIED": 0, "MISMATCH": 1, "INCONCLUSIVE": 3}


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "verify",
        help="check who drives the face in a video against an enrollment",
        description="Stream a video's landmarks through the sliding-window verifier and print "
        "the state changes and a verdict. Exit status: 0 VERIFIED, 1 MISMATCH, "
        "3 INCONCLUSIVE (no full window of face motion), 2 error.",
    )
    p.add_argument("video", help="video to check")
    p.add_argument("--enrollment", required=True, help="enrollment file (.fpe)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--threshold", type=float, default=None,
                   help="score threshold (default: the model card's operating threshold)")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    return p


def verdict(events: list, reached: set[State]) -> str:
    """MISMATCH if it ever came, VERIFIED if that came, else INCONCLUSIVE."""
    if State.MISMATCH in reached:
        return "MISMATCH"
    return "VERIFIED" if State.VERIFIED in reached else "INCONCLUSIVE"


def run(args: argparse.Namespace) -> int:
    embedder = Embedder(args.model)
    enrollment = Enrollment.load(args.enrollment, embedder.info.model_id)
    events = []
    verifier = StreamingVerifier(enrollment, embedder, VerifierConfig(threshold=args.threshold),
                                 on_event=events.append)
    clip = extract_clip(args.video)
    for pts, n, t in zip(clip.points, clip.num_faces, clip.times, strict=True):
        verifier.push(FaceLandmarks(pts if n > 0 else None, int(n), clip.width, clip.height),
                      float(t))
    reached = {e.state for e in events}
    result = {
        "video": args.video,
        "verdict": verdict(events, reached),
        "threshold": verifier.threshold,
        "events": [{"time": round(e.time, 2), "state": e.state.value,
                    "score": None if e.score is None else round(e.score, 4)} for e in events],
        "mean_score": (sum(s for _, s in verifier.scores) / len(verifier.scores)
                       if verifier.scores else None),
        "max_faces": int(clip.num_faces.max()) if len(clip) else 0,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for e in result["events"]:
            score = "" if e["score"] is None else f"  score {e['score']:.3f}"
            print(f"{e['time']:8.2f} s  {e['state']}{score}")
        if result["max_faces"] > 1:
            print(f"note: up to {result['max_faces']} faces were in view; the largest was checked")
        print(f"verdict: {result['verdict']}")
    return EXIT[result["verdict"]]
