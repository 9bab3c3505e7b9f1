"""MediaPipe landmarks on real faces: the face rule, the count, and the on-disk cache."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from shared_data import clip

from fingerprint_live.landmarks import NUM_POINTS, LandmarkExtractor
from fingerprint_live.media import read_image
from fingerprint_live.offline import clip_landmarks
from fingerprint_live.offline.clip_landmarks import extract_clip


def test_largest_of_two_faces_is_the_driver_and_both_are_counted() -> None:
    big = read_image(clip("yalefaces/subject01.normal"))
    small = cv2.resize(read_image(clip("yalefaces/subject02.normal")), None, fx=0.6, fy=0.6)
    canvas = np.full((big.shape[0], big.shape[1] + small.shape[1], 3), 128, np.uint8)
    canvas[:, : big.shape[1]] = big
    canvas[: small.shape[0], big.shape[1]:] = small
    with LandmarkExtractor(static=True) as extractor:
        face = extractor.process(canvas)
        alone = extractor.process(big)
    assert face.num_faces == 2
    assert face.points.shape == (NUM_POINTS, 3)
    assert face.points[:, 0].max() < big.shape[1]  # the chosen face is the big one, on the left
    assert np.allclose(face.points[:, :2], alone.points[:, :2], atol=3)


def test_no_face_is_reported_not_invented() -> None:
    with LandmarkExtractor(static=True) as extractor:
        face = extractor.process(np.full((240, 320, 3), 90, np.uint8))
    assert not face.found and face.num_faces == 0 and face.points is None


def test_clip_landmarks_are_cached_by_content(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FINGERPRINT_LIVE_CACHE", str(tmp_path))
    path = clip("more/deep_avsr/audio_only/demo/00008.mp4")
    first = extract_clip(path)
    cached = list((tmp_path / "landmarks").glob("*.npz"))
    assert len(cached) == 1 and cached[0].name.startswith(clip_landmarks.content_key(path))
    second = extract_clip(path)
    assert np.array_equal(first.points, second.points, equal_nan=True)
    assert first.found.mean() > 0.9 and len(first) == len(first.times)
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(path.read_bytes() + b"\0")  # other content, other key
    assert clip_landmarks.content_key(copy) != clip_landmarks.content_key(path)


def test_rejects_a_frame_that_is_not_rgb() -> None:
    from fingerprint_live.errors import MediaError

    with LandmarkExtractor() as extractor, pytest.raises(MediaError, match="RGB uint8"):
        extractor.process(np.zeros((10, 10), np.float32))


def test_one_face_tracking_on_the_avatar_gives_the_same_landmarks() -> None:
    """The receiver looks for one face (the avatar shows one by construction), which saves the
    detector's time on every frame; on rendered avatar frames the landmarks are the same as
    when looking for several, so the offline figures (found with several) hold for it."""
    from fingerprint_live.avatar.default_avatar import DefaultAvatar
    from fingerprint_live.avatar.portrait import load_portrait
    from fingerprint_live.media import iter_video

    path = clip("dreamtalk/data/style_clip/video/M030_front_happy_level3_001.mp4")
    avatar = DefaultAvatar(load_portrait(), 256)
    with LandmarkExtractor() as driver:
        rendered = [avatar.render(f.image, driver.process(f.image)).image.copy()
                    for f, _ in zip(iter_video(path), range(40), strict=False)]
    found = {}
    for most in (1, 4):
        with LandmarkExtractor(max_faces=most) as extractor:
            found[most] = [extractor.process(image) for image in rendered]
    assert all(a.found and b.found for a, b in zip(found[1], found[4], strict=True))
    for a, b in zip(found[1], found[4], strict=True):
        np.testing.assert_allclose(a.points, b.points, atol=1e-3)


def test_points_read_from_the_wire_are_mediapipes_own() -> None:
    """The landmark list's bytes, read at once, give exactly the points read field by field;
    a list laid out otherwise (a landmark carrying visibility) is still read right."""
    from fingerprint_live.landmarks import _to_pixels

    image = read_image(clip("yalefaces/subject01.normal"))
    with LandmarkExtractor(static=True) as extractor:
        face = extractor._mesh.process(image).multi_face_landmarks[0]
    height, width = image.shape[:2]
    scale = np.array([width, height, width], np.float32)
    by_field = np.array([(p.x, p.y, p.z) for p in face.landmark], np.float32) * scale
    assert np.array_equal(_to_pixels(face, width, height), by_field)
    face.landmark[7].visibility = 0.5
    assert np.array_equal(_to_pixels(face, width, height), by_field)
