"""The enrolled neutral face: built from the enrollment's frames, stored, read back strictly, and
handed by the pipeline to the avatar, which measures the user's expressions from it."""

from __future__ import annotations

import base64
import hashlib
import json
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
from live_helpers import ENROLL, GENUINE
from shared_data import clip

from fingerprint_live.avatar.base import AvatarFrame
from fingerprint_live.enrollment import MAGIC, Enrollment, Vectors
from fingerprint_live.errors import EnrollmentError
from fingerprint_live.features import neutral_shape
from fingerprint_live.guard import GuardConfig
from fingerprint_live.landmarks import FaceLandmarks
from fingerprint_live.media import iter_video
from fingerprint_live.offline.clip_landmarks import extract_clip
from fingerprint_live.pipeline import Pipeline
from fingerprint_live.verifier import StreamingVerifier


def motion() -> Vectors:
    return Vectors("m" * 64, np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32))


def rewritten(path: Path, change) -> bytes:
    """The file's content with its JSON changed by ``change`` and a valid digest again."""
    doc = json.loads(path.read_bytes().split(b"\n")[1])
    change(doc)
    body = json.dumps(doc).encode()
    return MAGIC + b"\n" + body + b"\nsha256:" + hashlib.sha256(body).hexdigest().encode() + b"\n"


def test_the_neutral_round_trips_and_is_optional(tmp_path: Path) -> None:
    shape = np.random.default_rng(1).normal(size=(468, 3)).astype(np.float32)
    Enrollment(motion(), neutral=shape).save(tmp_path / "with.fpe")
    assert np.array_equal(Enrollment.load(tmp_path / "with.fpe").neutral, shape)
    Enrollment(motion()).save(tmp_path / "without.fpe")
    assert b"neutral" not in (tmp_path / "without.fpe").read_bytes()
    assert Enrollment.load(tmp_path / "without.fpe").neutral is None


def test_a_bad_neutral_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.fpe"
    Enrollment(motion(), neutral=np.zeros((468, 3), np.float32)).save(path)
    nan = base64.b64encode(np.full((468, 3), np.nan, "<f4").tobytes()).decode()
    bad = [
        lambda d: d["neutral"].update(shape=[467, 3]),
        lambda d: d["neutral"].update(shape=[234, 6]),
        lambda d: d["neutral"].update(points="not base64!"),
        lambda d: d["neutral"].update(points=nan),
        lambda d: d.update(neutral=[1, 2, 3]),
        lambda d: d.update(neutral="face"),
        lambda d: d["neutral"].pop("points"),
    ]
    for change in bad:
        with pytest.raises(EnrollmentError):
            Enrollment.from_bytes(rewritten(path, change))


@pytest.mark.slow
def test_enrollment_keeps_the_median_face_of_its_frames(enrollment: Enrollment) -> None:
    frames = [extract_clip(clip(p)) for p in ENROLL]
    points = np.concatenate([c.points[c.found] for c in frames])
    assert enrollment.neutral is not None
    np.testing.assert_allclose(enrollment.neutral, neutral_shape(points), atol=1e-5)


class Recorder:
    """An avatar engine that records what the pipeline hands it."""

    size = 64

    def __init__(self) -> None:
        self.neutrals: list[np.ndarray] = []

    def set_neutral(self, shape: np.ndarray) -> None:
        self.neutrals.append(shape)

    def calibrate(self, frame: np.ndarray, face: FaceLandmarks) -> None:
        pass

    def render(self, frame: np.ndarray, face: FaceLandmarks) -> AvatarFrame:
        return AvatarFrame(np.zeros((64, 64, 3), np.uint8), held=not face.found)


@pytest.mark.slow
def test_the_pipeline_hands_the_enrolled_neutral_to_the_avatar(enrollment, embedder) -> None:
    avatar = Recorder()
    frames = [(f.image, f.time) for f in islice(iter_video(clip(GENUINE)), 3)]
    pipeline = Pipeline(avatar, StreamingVerifier(enrollment, embedder),
                        GuardConfig(policy="off"))
    try:
        for image, t in frames[:2]:
            pipeline.process(image, t)
        assert len(avatar.neutrals) == 1 and avatar.neutrals[0] is enrollment.neutral
        pipeline.set_verifier(StreamingVerifier(enrollment, embedder))  # e.g. enrolled anew
        pipeline.process(*frames[2])
        assert len(avatar.neutrals) == 2
    finally:
        pipeline.close()
