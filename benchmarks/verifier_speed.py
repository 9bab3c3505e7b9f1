"""Per-frame cost of the verifier (landmarks excluded) and of landmarks at 640x480.

    python benchmarks/verifier_speed.py [--model DIR] [--every 2]

The verifier embeds a window every ``stride`` frames, so its cost per frame is uneven: the
median, the mean (the amortised cost) and the p95 are all printed, and the milliseconds it
takes per second of stream (what limits the streams a core checks). ``--every 2`` feeds it
landmarks of one frame in 2, as the receiver runs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment, Vectors
from fingerprint_live.landmarks import LandmarkExtractor
from fingerprint_live.media import iter_video
from fingerprint_live.offline.clip_landmarks import extract_clip
from fingerprint_live.verifier import StreamingVerifier

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ENROLL = DATA / "dreamtalk/data/style_clip/video/M030_front_angry_level3_001.mp4"
PROBE = DATA / "more/sstzal+DFRF/dataset/vids/french.mp4"  # 60 s, 512x512


def stats(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {"median_ms": float(np.median(a)), "mean_ms": float(a.mean()),
            "p95_ms": float(np.percentile(a, 95)), "frames": len(a)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--every", type=int, default=1, help="landmarks of one frame in this many")
    args = ap.parse_args()
    embedder = Embedder(args.model)
    enrolled = extract_clip(ENROLL)
    emb, _ = embedder.embed_clip(enrolled.times, enrolled.points)
    verifier = StreamingVerifier(Enrollment(Vectors(embedder.info.model_id, emb)), embedder)
    probe = extract_clip(PROBE)
    faces = list(probe.faces())[::args.every]
    times = probe.times[::args.every]
    verify_ms = []
    for face, t in zip(faces, times, strict=True):
        start = time.perf_counter()
        verifier.push(face, float(t))
        verify_ms.append((time.perf_counter() - start) * 1e3)
    landmark_ms = []
    with LandmarkExtractor() as extractor:
        for i, frame in enumerate(iter_video(PROBE)):
            if i == 300:
                break
            image = cv2.resize(frame.image, (640, 480))
            start = time.perf_counter()
            extractor.process(image)
            landmark_ms.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({"every": args.every, "verifier_per_frame": stats(verify_ms[50:]),
                      "verifier_ms_per_stream_second": sum(verify_ms) / float(times[-1] - times[0]),
                      "landmarks_640x480": stats(landmark_ms[10:])}, indent=2))


if __name__ == "__main__":
    main()
