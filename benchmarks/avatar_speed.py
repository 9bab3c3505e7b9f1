"""Per-frame time of ``DefaultAvatar.render`` at 256 and 512, landmark extraction excluded.

Landmarks of a real clip are extracted first (cached on disk), then each size renders every
frame once after a short warm-up; the median and 90th percentile milliseconds print as JSON.

    PYTHONPATH=. python benchmarks/avatar_speed.py [CLIP]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.landmarks import FaceLandmarks
from fingerprint_live.offline.clip_landmarks import extract_clip

DATA = Path(__file__).parents[2] / "shared" / "data"
CLIP = DATA / "liveportrait/driving/d12.mp4"  # talking, smiling, strong head turns
WARMUP = 10


def bench(size: int, faces: list[FaceLandmarks]) -> dict[str, float]:
    engine = DefaultAvatar(load_portrait(), size=size)
    blank = np.zeros((faces[0].height, faces[0].width, 3), np.uint8)  # unused by this engine
    for face in faces[:WARMUP]:
        engine.render(blank, face)
    times = []
    for face in faces:
        start = time.perf_counter()
        engine.render(blank, face)
        times.append(time.perf_counter() - start)
    ms = np.array(times) * 1000
    median = float(np.median(ms))
    return {"median_ms": round(median, 2), "p90_ms": round(float(np.percentile(ms, 90)), 2),
            "fps_at_median": round(1000 / median, 1)}


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else CLIP
    clip = extract_clip(path)
    faces = [FaceLandmarks(p, 1, clip.width, clip.height) for p in clip.points[clip.found]]
    result = {"clip": path.name, "frames": len(faces)}
    result.update({str(size): bench(size, faces) for size in (256, 512)})
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
