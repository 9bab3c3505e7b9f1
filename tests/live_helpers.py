"""Shared by the live tests: who is enrolled, which clips stream, and how a guarded frame looks.

The enrolled person is MEAD M030 (four clips); the genuine stream is another M030 clip and the
impostor is LivePortrait's driving clip d12. Each stream is one recording: a cut between two
recordings makes the face jump, and the windows across a cut score low for about a second,
whoever is on both sides.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from shared_data import clip

from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment
from fingerprint_live.face_descriptor import FaceDescriptor
from fingerprint_live.video_enrollment import build_enrollment

MEAD = "dreamtalk/data/style_clip/video/{}_front_{}.mp4"
ENROLL = [MEAD.format("M030", e) for e in
          ("angry_level3_001", "contempt_level3_001", "disgusted_level3_001", "fear_level3_001")]
GENUINE = MEAD.format("M030", "happy_level3_001")  # another recording of M030
#: Another person (512x512, talking and grimacing). MEAD W009, a second MEAD speaker filmed the
#: same way, is not reliably told apart from M030 by the shipped model (half of W009's clips
#: stay VERIFIED), so the test impostor is a clearly different person.
IMPOSTOR = "liveportrait/driving/d12.mp4"
#: Another face for the camera side, where appearance counts: MEAD W009, a woman. (d12 is a
#: poor appearance impostor: dlib's descriptor puts him 0.45-0.5 from M030, about as close as
#: two recordings of one person; see BENCHMARKS.md.)
OTHER_FACE = MEAD.format("W009", "happy_level3_001")

SLATE = np.array([28, 28, 36])
AMBER = np.array([235, 170, 20])
RED = np.array([200, 30, 30])


def enroll_m030(embedder: Embedder, descriptor: FaceDescriptor | None = None) -> Enrollment:
    return build_enrollment([clip(p) for p in ENROLL], embedder, descriptor, min_seconds=8)


def clips(relatives: list[str]) -> list[Path]:
    return [clip(p) for p in relatives]


def is_slate(image: np.ndarray) -> bool:
    """Most of the frame is the block slate's colour (lossy video allowed)."""
    close = np.abs(image.astype(int) - SLATE).max(axis=2) < 20
    return bool(close.mean() > 0.7)


def has_mark(image: np.ndarray) -> bool:
    """The amber "verifying" band along the bottom edge."""
    band = image[-6:].reshape(-1, 3).astype(int)
    return bool((np.abs(band - AMBER).max(axis=1) < 40).mean() > 0.7)


def has_banner(image: np.ndarray) -> bool:
    """The red warning band along the top edge (a flagged avatar), above its text."""
    band = image[1:4].reshape(-1, 3).astype(int)
    return bool((np.abs(band - RED).max(axis=1) < 40).mean() > 0.7)
