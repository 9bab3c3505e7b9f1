"""The weight-free avatar on real clips: motion carries over, as MediaPipe sees it again.

Each check renders the avatar from a driver clip's landmarks, runs MediaPipe on the rendered
frames, and compares a facial signal (mouth, eyes, head turn) of driver and avatar.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import av
import numpy as np
import pytest
from shared_data import clip

from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import find_face, load_portrait
from fingerprint_live.cli import main
from fingerprint_live.errors import MediaError, NoFaceError
from fingerprint_live.landmarks import LandmarkExtractor
from fingerprint_live.media import iter_video

TALKING = "dreamtalk/data/style_clip/video/M030_front_neutral_level1_001.mp4"
BLINKS = "liveportrait/driving/d7.mp4"  # closes both eyes several times
HEAD_TURN = "liveportrait/driving/d12.mp4"  # turns far left and right
FACE_THEN_NONE = "pyfeat/feat/tests/data/face_noface.mov"  # face leaves after frame 71
SHORT = "more/deep_avsr/audio_only/demo/00008.mp4"  # 74 frames, 160x160


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return load_portrait()


def drive(portrait: np.ndarray, relative: str, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks (N, 468, 3) of the driver and of the rendered avatar, NaN where none."""
    engine = DefaultAvatar(portrait, size=256)
    driver, avatar = [], []
    with LandmarkExtractor() as see_driver, LandmarkExtractor() as see_avatar:
        for frame in islice(iter_video(clip(relative)), frames):
            face = see_driver.process(frame.image)
            assert face.found, f"{relative}: the driver's face is lost; pick other frames"
            rendered = engine.render(frame.image, face)
            again = see_avatar.process(rendered.image)
            assert again.found, "MediaPipe no longer finds a face in the avatar"
            driver.append(face.points)
            avatar.append(again.points)
    return np.stack(driver), np.stack(avatar)


def _dist(points: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(points[:, a, :2] - points[:, b, :2], axis=1)


def face_size(points: np.ndarray) -> np.ndarray:
    return _dist(points, 33, 263)  # outer eye corners


def mouth_opening(points: np.ndarray) -> np.ndarray:
    return _dist(points, 13, 14) / face_size(points)


def eye_opening(points: np.ndarray) -> np.ndarray:
    return (_dist(points, 159, 145) + _dist(points, 386, 374)) / 2 / face_size(points)


def head_turn(points: np.ndarray) -> np.ndarray:
    """Nose tip's horizontal offset from the middle of the face's outline."""
    centre = (points[:, 234, 0] + points[:, 454, 0]) / 2
    return (points[:, 1, 0] - centre) / face_size(points)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


@pytest.mark.slow
def test_mouth_follows_a_talking_driver(portrait: np.ndarray) -> None:
    driver, avatar = drive(portrait, TALKING, 94)
    r = pearson(mouth_opening(driver), mouth_opening(avatar))
    assert r >= 0.9, f"avatar mouth vs driver mouth: r = {r:.3f}"


@pytest.mark.slow
def test_blinks_show_on_the_avatar(portrait: np.ndarray) -> None:
    driver, avatar = drive(portrait, BLINKS, 120)
    eyes_d, eyes_a = eye_opening(driver), eye_opening(avatar)
    assert pearson(eyes_d, eyes_a) >= 0.8
    blinking = eyes_d < 0.6 * np.percentile(eyes_d, 90)  # MediaPipe reads shut eyes as ~0.5
    assert blinking.sum() >= 5, "the clip should contain blinks"
    # MediaPipe reads the squeezed-shut portrait eye only ~15% narrower (a real shut eye ~50%).
    assert np.median(eyes_a[blinking]) < 0.9 * np.median(eyes_a[~blinking])


@pytest.mark.slow
def test_head_turn_shows_on_the_avatar(portrait: np.ndarray) -> None:
    driver, avatar = drive(portrait, HEAD_TURN, 130)
    turn = head_turn(driver)
    assert np.ptp(turn) > 0.5, "the clip should turn the head both ways"
    assert pearson(turn, head_turn(avatar)) >= 0.9


@pytest.mark.slow
def test_frames_without_a_face_hold_the_last_good_frame(portrait: np.ndarray) -> None:
    engine = DefaultAvatar(portrait, size=128)
    blank = np.zeros((240, 320, 3), np.uint8)
    with LandmarkExtractor() as extractor:
        before = engine.render(blank, extractor.process(blank))
        assert before.held and before.image.shape == (128, 128, 3)
        last_good, held = None, []
        for frame in islice(iter_video(clip(FACE_THEN_NONE)), 60, 90):
            result = engine.render(frame.image, extractor.process(frame.image))
            if result.held:
                assert last_good is not None and np.array_equal(result.image, last_good)
            else:
                last_good = result.image
            held.append(result.held)
    assert held[:5] == [False] * 5 and held[-5:] == [True] * 5


def test_portrait_without_a_face_is_refused(tmp_path: Path) -> None:
    grey = tmp_path / "grey.png"
    from PIL import Image

    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(grey)
    with pytest.raises(NoFaceError, match="no face found in the avatar portrait"):
        DefaultAvatar(load_portrait(grey))
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(MediaError, match="not an image"):
        load_portrait(text)


def test_default_portrait_has_a_face(portrait: np.ndarray) -> None:
    assert find_face(portrait).num_faces == 1


@pytest.mark.slow
def test_animate_command_writes_a_readable_mp4(tmp_path: Path) -> None:
    out = tmp_path / "avatar.mp4"
    assert main(["animate", "--driver", str(clip(SHORT)), "-o", str(out), "--size", "128"]) == 0
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (128, 128)
        assert round(float(stream.average_rate)) == 25
        assert sum(1 for _ in container.decode(stream)) == 74
