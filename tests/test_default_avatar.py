"""The weight-free avatar on real clips: motion carries over, as MediaPipe sees it again.

Each check renders the avatar from a driver clip's landmarks, runs MediaPipe on the rendered
frames, and compares a facial signal (``expression.measures``: mouth, eyes, brows; and the head
turn) of driver and avatar. Three portraits: the shipped astronaut (a smiling photo that shows
its teeth), a frame of a MEAD recording (a colour video still), and a grey Yale still.
"""

from __future__ import annotations

import time
from itertools import islice
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from shared_data import clip
from video_helpers import write_video

from fingerprint_live.avatar.brow_ink import BAND, BROWS_LOWER, INK, ink_brows
from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.mouth import LOWER, UPPER
from fingerprint_live.avatar.portrait import find_face, load_portrait
from fingerprint_live.cli import main
from fingerprint_live.errors import MediaError, NoFaceError
from fingerprint_live.expression import BROWS, LIDS_LOWER, LIDS_UPPER, blinks, measures
from fingerprint_live.features import neutral_shape
from fingerprint_live.landmarks import FaceLandmarks, LandmarkExtractor
from fingerprint_live.media import iter_video
from fingerprint_live.offline.clip_landmarks import extract_clip

TALKING = "dreamtalk/data/style_clip/video/M030_front_neutral_level1_001.mp4"
BLINKS = "liveportrait/driving/d14.mp4"  # blinks every second or two
EXPRESSIVE = "liveportrait/driving/d10.mp4"  # raises brows, opens the mouth wide
HEAD_TURN = "liveportrait/driving/d12.mp4"  # turns far left and right
FACE_THEN_NONE = "pyfeat/feat/tests/data/face_noface.mov"  # face leaves after frame 71
SHORT = "more/deep_avsr/audio_only/demo/00008.mp4"  # 74 frames, 160x160
#: Portraits besides the astronaut: a frame of a clip no test drives, and a grey still.
PORTRAITS = {
    "astronaut": None,
    "mead_W015": "spectre/MEAD/W015_level_1_neutral_030.mp4",
    "yale_subject02": "yalefaces/subject02.normal",
}


def portrait_image(name: str) -> np.ndarray:
    source = PORTRAITS[name]
    if source is None:
        return load_portrait()
    if source.endswith(".mp4"):
        return next(iter_video(clip(source))).image
    return load_portrait(clip(source))


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return load_portrait()


def drive(portrait: np.ndarray, relative: str, frames: int, start: int = 0,
          neutral: bool = True, keep: bool = False):
    """Landmarks (N, 468, 3) of the driver and of the rendered avatar (and its frames).

    With ``neutral`` the driver's neutral is the median face of the whole clip, as an
    enrollment gives it; else the first frame driven.
    """
    landmarks = extract_clip(clip(relative))
    points = landmarks.points[landmarks.found]
    assert len(points) >= start + frames, f"{relative}: too few frames with a face"
    engine = DefaultAvatar(portrait, size=256)
    if neutral:
        engine.set_neutral(neutral_shape(points))
    avatar, images = [], []
    with LandmarkExtractor() as see_avatar:
        for p in points[start:start + frames]:
            rendered = engine.render(np.zeros((8, 8, 3), np.uint8), FaceLandmarks(p, 1, 8, 8))
            again = see_avatar.process(rendered.image)
            assert again.found, "MediaPipe no longer finds a face in the avatar"
            avatar.append(again.points)
            if keep:
                images.append(rendered.image)
    return points[start:start + frames], np.stack(avatar), images


def eyes(points: np.ndarray) -> np.ndarray:
    return measures(points)[:, 1:3].mean(axis=1)


def visible_blinks(driver: np.ndarray, avatar: np.ndarray) -> tuple[int, int]:
    """Driver blinks, and how many of them the avatar's eyes show within a frame."""
    shut = np.zeros(len(avatar), bool)
    for a, b in blinks(eyes(avatar)):
        shut[a:b] = True
    runs = blinks(eyes(driver))
    return len(runs), sum(bool(shut[max(a - 1, 0):b + 1].any()) for a, b in runs)


def head_turn(points: np.ndarray) -> np.ndarray:
    """Nose tip's horizontal offset from the middle of the face's outline."""
    centre = (points[:, 234, 0] + points[:, 454, 0]) / 2
    width = np.linalg.norm(points[:, 33, :2] - points[:, 263, :2], axis=1)
    return (points[:, 1, 0] - centre) / width


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


@pytest.mark.slow
def test_mouth_follows_a_talking_driver(portrait: np.ndarray) -> None:
    driver, avatar, _ = drive(portrait, TALKING, 94)
    r = pearson(measures(driver)[:, 0], measures(avatar)[:, 0])
    assert r >= 0.9, f"avatar mouth vs driver mouth: r = {r:.3f}"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["astronaut", "mead_W015"])
def test_a_drivers_blink_closes_the_avatars_eyes(name: str) -> None:
    driver, avatar, _ = drive(portrait_image(name), BLINKS, 150)
    total, seen = visible_blinks(driver, avatar)
    assert total >= 8, "the clip should contain blinks"
    assert seen >= 0.8 * total, f"{seen} of {total} driver blinks show on the avatar"
    r = pearson(eyes(driver), eyes(avatar))
    assert r >= 0.85, f"avatar eyes vs driver eyes: r = {r:.3f}"


def lids_scaled(points: np.ndarray, factor: float) -> np.ndarray:
    """``points`` with each eye's lids moved apart (factor > 1) or together about their middle."""
    out = points.copy()
    middle = (points[LIDS_UPPER] + points[LIDS_LOWER]) / 2
    half = (points[LIDS_UPPER] - points[LIDS_LOWER]) / 2 * factor
    out[LIDS_UPPER], out[LIDS_LOWER] = middle + half, middle - half
    return out


@pytest.mark.parametrize("name", ["astronaut", "mead_W015"])
def test_small_eye_changes_read_both_ways(name: str) -> None:
    """A driver's eye 5% wider or narrower than at neutral reads wider or narrower on the avatar.

    Before 2026-12-06 a wider eye was drawn by the mesh alone, which MediaPipe hardly reads:
    5% wider read +1.4% (astronaut) and +0.9% (MEAD still); now +8.3% and +6.2%, as the lids
    rest part-way down and open from there.
    """
    landmarks = extract_clip(clip(TALKING))
    neutral = neutral_shape(landmarks.points[landmarks.found])
    read = []
    with LandmarkExtractor(static=True) as extractor:
        for factor in (1.0, 1.05, 0.95):
            engine = DefaultAvatar(portrait_image(name), size=256)
            engine.set_neutral(neutral)
            face = FaceLandmarks(lids_scaled(neutral, factor).astype(np.float32), 1, 8, 8)
            engine.render(np.zeros((8, 8, 3), np.uint8), FaceLandmarks(neutral, 1, 8, 8))
            again = extractor.process(engine.render(np.zeros((8, 8, 3), np.uint8), face).image)
            assert again.found
            read.append(float(eyes(again.points[None])[0]))
    rest, wider, narrower = read
    assert wider > 1.03 * rest, f"5% wider reads {wider / rest - 1:+.1%}"
    assert narrower < 0.97 * rest, f"5% narrower reads {narrower / rest - 1:+.1%}"


@pytest.mark.slow
def test_a_driver_who_starts_with_eyes_shut_is_not_off_all_call(portrait: np.ndarray) -> None:
    """The neutral comes from the enrollment (here the clip's median face), not frame one."""
    start = 17  # the driver's eyes are shut here, mid-blink
    driver, avatar, _ = drive(portrait, BLINKS, 130, start=start)
    assert eyes(driver)[0] < 0.75 * np.median(eyes(driver)), "the clip should start shut"
    total, seen = visible_blinks(driver, avatar)
    assert total >= 6 and seen >= 0.8 * total, f"{seen} of {total} blinks show"
    # Taken as neutral, the shut first frame makes every open eye read as wide open instead.
    _, first, _ = drive(portrait, BLINKS, 130, start=start, neutral=False)
    assert visible_blinks(driver, first)[1] < 0.5 * total


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PORTRAITS))
def test_an_open_mouth_shows_an_inside_that_is_not_uniformly_dark(name: str) -> None:
    driver, avatar, images = drive(portrait_image(name), EXPRESSIVE, 110, keep=True)
    opening = measures(avatar)[:, 0]
    r = pearson(measures(driver)[:, 0], opening)
    assert r >= 0.9, f"avatar mouth vs driver mouth: r = {r:.3f}"
    widest = np.argsort(opening)[-5:]
    assert opening[widest].min() > 0.3, "the avatar's mouth should open wide"
    for i in widest:
        inner = np.round(avatar[i][np.concatenate([UPPER, LOWER[::-1]]), :2] * 16)
        mask = np.zeros((256, 256), np.uint8)
        cv2.fillPoly(mask, [inner.astype(np.int32)], 1, shift=4)
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8))  # the inside, not the lips' edge
        grey = cv2.cvtColor(images[i], cv2.COLOR_RGB2GRAY)[mask > 0].astype(float)
        assert grey.size > 100, "the open mouth should cover some pixels"
        dark, light = np.percentile(grey, [50, 90])  # a throat, and teeth or a tongue
        assert dark < 60, f"frame {i}: the mouth's inside should be dark in part"
        assert light > max(3 * dark, dark + 40), f"frame {i}: uniformly dark ({dark}, {light})"


def test_the_brows_are_inked_and_nothing_else(portrait: np.ndarray) -> None:
    """The ink lies on the brows' upper band, where MediaPipe placed them; eyes, nose and mouth
    keep the photo's pixels, and MediaPipe still finds the brows where they were."""
    face = find_face(portrait)
    inked = ink_brows(portrait, face.points)
    at = np.round(face.points[:, :2]).astype(int)
    top = face.points[BROWS.ravel(), :2]
    band = np.round(top + BAND / 2 * (face.points[BROWS_LOWER.ravel(), :2] - top)).astype(int)
    ratio = (inked[band[:, 1], band[:, 0]].astype(float).mean(axis=-1)
             / portrait[band[:, 1], band[:, 0]].astype(float).mean(axis=-1))
    assert np.median(ratio) < 1 - INK / 2, f"the brows are not inked: {ratio.round(2)}"
    untouched = np.concatenate([LIDS_LOWER.ravel(), [1, 4, 13, 14, 152]])  # lids, nose, lips, chin
    assert np.array_equal(inked[at[untouched, 1], at[untouched, 0]],
                          portrait[at[untouched, 1], at[untouched, 0]])
    again = find_face(inked)
    brows = BROWS.ravel()
    moved = np.linalg.norm(again.points[brows, :2] - face.points[brows, :2], axis=1)
    assert moved.max() < 0.03 * np.ptp(face.points[:, 0]), moved


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PORTRAITS))
def test_raised_brows_raise_the_avatars(name: str) -> None:
    driver, avatar, _ = drive(portrait_image(name), EXPRESSIVE, 250)
    brows_d, brows_a = measures(driver)[:, 3], measures(avatar)[:, 3]
    r = pearson(brows_d, brows_a)
    assert r >= 0.8, f"avatar brows vs driver brows: r = {r:.3f}"
    raised = brows_d > np.percentile(brows_d, 90)
    lift = np.median(brows_a[raised]) / np.median(brows_a) - 1
    assert lift > 0.05, f"the avatar's brows rise {lift:.1%} where the driver's rise most"


@pytest.mark.slow
def test_a_smiling_portrait_is_neutral_at_rest(portrait: np.ndarray) -> None:
    """The astronaut smiles with her teeth showing; a driver at rest closes her lips.

    ``neutralise=0`` keeps the photo's own smile, as the avatar did before.
    """
    landmarks = extract_clip(clip(TALKING))
    points = landmarks.points[landmarks.found]
    rest = FaceLandmarks(points[np.argmin(measures(points)[:, 0])], 1, 8, 8)  # lips shut
    frame = np.zeros((8, 8, 3), np.uint8)
    with LandmarkExtractor(static=True) as extractor:
        photo = measures(extractor.process(portrait).points[None])[0, 0]
        for neutralise, closed in ((1.0, True), (0.0, False)):
            engine = DefaultAvatar(portrait, size=256, neutralise=neutralise)
            engine.calibrate(frame, rest)
            mouth = measures(extractor.process(engine.render(frame, rest).image).points[None])
            assert bool(mouth[0, 0] < 0.3 * photo) is closed, (neutralise, mouth[0, 0], photo)


@pytest.mark.slow
def test_head_turn_shows_on_the_avatar(portrait: np.ndarray) -> None:
    driver, avatar, _ = drive(portrait, HEAD_TURN, 130)
    turn = head_turn(driver)
    assert np.ptp(turn) > 0.5, "the clip should turn the head both ways"
    assert pearson(turn, head_turn(avatar)) >= 0.9


@pytest.mark.slow
@pytest.mark.parametrize(("size", "fps"), [(256, 60), (512, 30)])
def test_rendering_keeps_its_speed(portrait: np.ndarray, size: int, fps: int) -> None:
    """The benchmark's targets (landmarks excluded), median over a real clip's frames."""
    landmarks = extract_clip(clip(HEAD_TURN))
    faces = [FaceLandmarks(p, 1, 8, 8) for p in landmarks.points[landmarks.found][:80]]
    engine = DefaultAvatar(portrait, size=size)
    frame, spent = np.zeros((8, 8, 3), np.uint8), []
    for face in faces:
        start = time.perf_counter()
        engine.render(frame, face)
        spent.append(time.perf_counter() - start)
    median = float(np.median(spent[10:]))
    assert median < 1 / fps, f"{size}x{size}: {1000 * median:.1f} ms a frame"


def test_a_neutral_shape_must_be_a_face() -> None:
    engine = DefaultAvatar(load_portrait(), size=128)
    for bad in (np.zeros((10, 3)), np.full((468, 3), np.nan)):
        with pytest.raises(ValueError, match="neutral face shape"):
            engine.set_neutral(bad)


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


def _first_eye_opening(video: Path) -> float:
    """The eyes' opening (share of their width) MediaPipe reads in a video's first frame."""
    with LandmarkExtractor() as extractor:
        face = extractor.process(next(iter_video(video)).image)
    assert face.found
    return float(measures(face.points[None])[0, 1:3].mean())


@pytest.mark.slow
def test_animate_takes_the_median_face_as_neutral_so_a_start_mid_blink_shows(
        tmp_path: Path) -> None:
    """A driver whose video starts with the eyes half shut (d14 from frame 16, mid-blink).

    With the first face as neutral, the avatar starts with the portrait's open eyes, as if
    half shut were the driver's rest; with the median face (the default), its eyes start
    half shut too.
    """
    driver = write_video((frame.image for frame in islice(iter_video(clip(BLINKS)), 16, 56)),
                         tmp_path / "mid_blink.mp4", rate=30)  # d14 is 512x512 at 30 fps
    opening = {}
    for neutral in ("median", "first"):
        rendered = tmp_path / f"{neutral}.mp4"
        assert main(["animate", "--driver", str(driver), "-o", str(rendered), "--neutral",
                     neutral, "--quiet"]) == 0
        opening[neutral] = _first_eye_opening(rendered)
    assert opening["median"] < 0.8 * opening["first"], opening
