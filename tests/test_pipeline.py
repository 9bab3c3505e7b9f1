"""The pipeline and guard on real frames: policies, no-face grace, and failing closed."""

from __future__ import annotations

import threading
from itertools import islice

import numpy as np
import pytest
from live_helpers import GENUINE, IMPOSTOR, has_mark, is_slate
from shared_data import clip

from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.embedder import Embedder
from fingerprint_live.guard import Action, Decision, GuardConfig, Policy, decide, draw, draw_note
from fingerprint_live.media import iter_video
from fingerprint_live.pipeline import LiveFrame, Pipeline
from fingerprint_live.verifier import State, StreamingVerifier


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return load_portrait()


def run(pipeline: Pipeline, frames: list[tuple[np.ndarray, float]]) -> list[LiveFrame]:
    try:
        return [pipeline.process(image, t) for image, t in frames]
    finally:
        pipeline.close()


def frames_of(relative: str, limit: int | None = None) -> list[tuple[np.ndarray, float]]:
    return [(f.image, f.time) for f in islice(iter_video(clip(relative)), limit)]


def test_decide_blocks_by_default_and_flags_only_when_asked() -> None:
    block, flag, off = GuardConfig(), GuardConfig(policy=Policy.FLAG), GuardConfig(policy="off")
    assert decide(block, State.MISMATCH).action is Action.BLOCK
    assert decide(flag, State.MISMATCH).action is Action.FLAG
    assert decide(off, State.MISMATCH).action is Action.PASS
    assert decide(block, State.VERIFIED) == Decision(Action.PASS, "", "")
    # before a verdict and while it wavers the far side sees nothing; the user sees a note
    assert decide(block, State.WARMING_UP) == Decision(Action.PASS, "", "verifying")
    assert decide(block, State.SUSPECT) == Decision(Action.PASS, "", "checking")
    assert decide(block, State.VERIFIED, faces=2) == Decision(Action.PASS, "",
                                                               "several faces in view")
    assert decide(block, State.NO_FACE, no_face_for=1.0).action is Action.PASS  # within grace
    assert decide(block, State.NO_FACE, no_face_for=2.5).action is Action.BLOCK
    # a verdict that never settles (a photo, a face swap) fails closed after the grace
    assert decide(block, State.SUSPECT, unverified_for=9.0).action is Action.PASS
    late = decide(block, State.SUSPECT, unverified_for=11.0)
    assert late.action is Action.BLOCK and "not verified for 11 s" == late.reason
    assert decide(flag, State.WARMING_UP, unverified_for=11.0).action is Action.FLAG
    assert decide(block, State.VERIFIED, lag=1.5).action is Action.BLOCK
    assert decide(flag, State.VERIFIED, failure="boom").action is Action.FLAG
    assert "boom" in decide(block, State.VERIFIED, failure="boom").reason


def test_drawing_is_in_place_and_visible() -> None:
    image = np.full((256, 256, 3), 128, np.uint8)
    draw(image, Decision(Action.BLOCK, "not the enrolled user"))
    assert is_slate(image) and image.max() > 200  # slate with white text
    image = np.full((256, 256, 3), 128, np.uint8)
    draw(image, Decision(Action.PASS, "", "verifying"))
    assert (image == 128).all(), "the note is for the user's own view, never the far side"
    draw_note(image, "verifying")
    assert has_mark(image) and not is_slate(image) and (image[100] == 128).all()
    image = np.full((256, 256, 3), 128, np.uint8)
    draw(image, Decision(Action.FLAG, "not the enrolled user"))
    assert (image[2, 5] == (200, 30, 30)).all()  # red banner on top
    assert (image[128, 128] == 128).all(), "the avatar stays visible under a flag"


@pytest.mark.slow
def test_flag_policy_keeps_the_avatar_and_reports_the_impostor(
        enrollment, embedder, portrait) -> None:
    events = []
    pipeline = Pipeline(DefaultAvatar(portrait), StreamingVerifier(enrollment, embedder),
                        GuardConfig(policy=Policy.FLAG), on_event=events.append)
    out = run(pipeline, frames_of(IMPOSTOR))
    flagged = [o for o in out if o.decision.action is Action.FLAG]
    assert flagged, [(e.time, e.state) for e in events]
    assert not any(is_slate(o.image) for o in out)
    assert any(e.state is State.MISMATCH and e.action is Action.FLAG for e in events)
    assert events[0].state is State.WARMING_UP and events[0].action is Action.PASS


@pytest.mark.slow
def test_no_face_longer_than_the_grace_period_blocks(enrollment, embedder, portrait) -> None:
    face = frames_of(GENUINE, 25)
    black = np.zeros_like(face[0][0])
    empty = [(black, 1.0 + i / 25) for i in range(100)]  # 4 s with nobody in view
    pipeline = Pipeline(DefaultAvatar(portrait), StreamingVerifier(enrollment, embedder))
    out = run(pipeline, face + empty)
    by_time = {round(t, 2): o for (_, t), o in zip(face + empty, out, strict=True)}
    assert by_time[2.0].decision.action is Action.PASS  # 1 s without a face: within grace
    assert by_time[2.0].decision.note == "no face"
    late = by_time[4.96]
    assert late.state is State.NO_FACE and late.decision.action is Action.BLOCK
    assert is_slate(late.image) and "no face" in late.decision.reason


class _Failing(Embedder):
    """The real embedder, except that it raises (or hangs until released) when asked to embed."""

    def __init__(self, hang: threading.Event | None = None) -> None:
        super().__init__()
        self.hang = hang

    def embed(self, windows: np.ndarray, view: str = "camera") -> np.ndarray:
        if self.hang is not None:
            self.hang.wait(30)
            return super().embed(windows, view)
        raise RuntimeError("onnx session lost")


@pytest.mark.slow
def test_a_failing_verifier_blocks(enrollment, portrait) -> None:
    pipeline = Pipeline(DefaultAvatar(portrait), StreamingVerifier(enrollment, _Failing()))
    out = run(pipeline, frames_of(GENUINE))
    assert out[-1].decision.action is Action.BLOCK and is_slate(out[-1].image)
    assert "verifier failed" in out[-1].decision.reason
    assert "onnx session lost" in out[-1].decision.reason


@pytest.mark.slow
def test_a_stalled_verifier_blocks_and_frames_keep_flowing(enrollment, portrait) -> None:
    release = threading.Event()
    pipeline = Pipeline(DefaultAvatar(portrait),
                        StreamingVerifier(enrollment, _Failing(hang=release)))
    try:
        out = [pipeline.process(image, t) for image, t in frames_of(GENUINE)]
    finally:
        release.set()
        pipeline.close()
    assert len(out) == 94, "the frame path must not wait on the verifier"
    assert out[-1].lag > 1.0 and out[-1].decision.action is Action.BLOCK
    assert "behind" in out[-1].decision.reason
