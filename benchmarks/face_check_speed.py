"""The face check's cost, and what it does to the frame path: thread vs process.

1. ``face_crop`` (the only part on the frame path), dlib's descriptor in this process, and a
   round trip through ``DescriptorProcess`` (the crop sent, the descriptor back), ms per check.
2. The frame path (``Pipeline.process``: landmarks, default avatar, guard; verifier thread
   beside) on a real clip at 640x480, frames paced at 25 fps, ms per frame, three ways:
   - no face check;
   - dlib's descriptor once a second in a *thread* of this process (what the GIL costs);
   - the pipeline's own face check, in its process (what ships).

    python benchmarks/face_check_speed.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.embedder import Embedder
from fingerprint_live.face_descriptor import FaceDescriptor, face_crop
from fingerprint_live.guard import GuardConfig
from fingerprint_live.media import iter_video
from fingerprint_live.offline.clip_landmarks import extract_clip
from fingerprint_live.pipeline import Pipeline
from fingerprint_live.verifier import StreamingVerifier
from fingerprint_live.video_enrollment import build_enrollment

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MEAD = DATA / "dreamtalk/data/style_clip/video"
ENROLL = [MEAD / f"M030_front_{e}_level3_001.mp4" for e in ("angry", "contempt", "disgusted")]
CLIP = DATA / "more/sstzal+DFRF/dataset/vids/french.mp4"  # 50 s, one face


def ms(values: list[float]) -> dict:
    a = np.asarray(values) * 1000
    return {"p50": round(float(np.median(a)), 2), "p95": round(float(np.percentile(a, 95)), 2),
            "max": round(float(a.max()), 1), "n": len(a)}


def per_check(frames: list[np.ndarray], descriptor: FaceDescriptor) -> dict:
    marks = extract_clip(CLIP)
    faces = list(marks.faces())
    crop_s, describe_s, round_s = [], [], []
    for i in range(0, 300, 5):
        start = time.perf_counter()
        crop = face_crop(frames[i], faces[i])
        crop_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        descriptor.describe(crop)
        describe_s.append(time.perf_counter() - start)
    from fingerprint_live.appearance import DescriptorProcess

    answered = threading.Event()
    process = DescriptorProcess(lambda vector, t: answered.set())
    try:
        for i in range(0, 300, 5):
            answered.clear()
            start = time.perf_counter()
            process.submit(face_crop(frames[i], faces[i]), i / 25)
            answered.wait(60)
            if i:  # the first answer waits for the process to start
                round_s.append(time.perf_counter() - start)
    finally:
        process.close()
    return {"face_crop_ms": ms(crop_s), "describe_in_process_ms": ms(describe_s),
            "round_trip_via_process_ms": ms(round_s)}


def frame_path(raw: list[np.ndarray], frames: list[np.ndarray], mode: str,
               embedder: Embedder, descriptor: FaceDescriptor, enrollment) -> dict:
    appearance = descriptor.info if mode == "process" else None
    pipeline = Pipeline(DefaultAvatar(load_portrait()),
                        StreamingVerifier(enrollment, embedder, appearance=appearance),
                        GuardConfig(on_glitch="off"))
    stop = threading.Event()
    marks = extract_clip(CLIP)
    faces = list(marks.faces())

    def beside() -> None:  # dlib once a second in a thread: the GIL is held ~0.1 s each time
        i = 0
        while not stop.wait(1.0):
            descriptor.describe(face_crop(raw[i], faces[i]))
            i = (i + 25) % len(raw)

    thread = threading.Thread(target=beside, daemon=True) if mode == "thread" else None
    if thread is not None:
        thread.start()
    took, start = [], time.monotonic()
    try:
        for i, image in enumerate(frames):
            wait = start + i / 25 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            began = time.perf_counter()
            pipeline.process(image, i / 25)
            took.append(time.perf_counter() - began)
    finally:
        stop.set()
        pipeline.close()
    return ms(took[50:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    count = int(args.seconds * 25)
    raw = [f.image for _, f in zip(range(count), iter_video(CLIP), strict=False)]
    frames = [cv2.resize(image, (640, 480)) for image in raw]  # the camera's size
    embedder, descriptor = Embedder(), FaceDescriptor()
    enrollment = build_enrollment(ENROLL, embedder, descriptor, min_seconds=5)
    result = {"per_check": per_check(raw, descriptor)}
    result["frame_path_ms"] = {
        mode: frame_path(raw, frames, mode, embedder, descriptor, enrollment)
        for mode in ("none", "thread", "process")}
    result.update(loadavg=[round(x, 2) for x in os.getloadavg()],
                  machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
