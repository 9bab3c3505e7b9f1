"""``fingerprint-live cam`` into a pyvirtualcam backend registered by the test."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from camera_helpers import RecordingBackend
from live_helpers import IMPOSTOR, OTHER_FACE, has_mark, is_slate
from shared_data import clip

from fingerprint_live.cli import main
from fingerprint_live.media import iter_video


@pytest.mark.slow
def test_the_virtual_camera_gets_the_guarded_avatar(tmp_path, enrollment) -> None:
    """Another face at the camera: blocked by the appearance check within about a second."""
    path = tmp_path / "m030.fpe"
    enrollment.save(path)
    impostor = clip(OTHER_FACE)
    code = main(["cam", "--input", str(impostor), "--enrollment", str(path),
                 "--backend", "fl-recording"])
    assert code == 0
    sent = RecordingBackend.frames
    inputs = [cv2.resize(f.image, (256, 256)) for f in iter_video(impostor)]
    assert len(sent) == len(inputs) and sent[0].shape == (256, 256, 3)
    assert not has_mark(sent[5]), "notes are for the user's preview, not the virtual camera"
    # the avatar, not the camera image, goes out
    assert np.abs(sent[5][:200].astype(int) - inputs[5][:200]).mean() > 20
    blocked = [i for i, f in enumerate(sent) if is_slate(f)]
    assert blocked and blocked[0] / 25 <= 2.0, "another face must be blocked in time"


@pytest.mark.slow
def test_cam_grow_adds_a_verified_call_and_nothing_else(tmp_path, embedder, descriptor,
                                                         capsys) -> None:
    """With --grow, a call in which the user is verified by face and motion with a margin is
    added to the enrollment file as a segment of its own; another person's call is not.
    Fei-Fei Li enrolled from one talk, then calling from another (15 s); Andrew Ng calling."""
    from fingerprint_live.enrollment import Enrollment
    from fingerprint_live.video_enrollment import build_enrollment

    talks = "styletalk/samples/source_video/video/{}.mp4"
    enrollment = build_enrollment([clip(talks.format("feifeili_clip1"))], embedder, descriptor,
                                  min_seconds=5)
    path = tmp_path / "feifei.fpe"
    enrollment.save(path)
    assert main(["cam", "--input", str(clip(talks.format("andrew_clip_1"))), "--enrollment",
                 str(path), "--backend", "fl-recording", "--grow"]) == 0
    assert "this call was not added" in capsys.readouterr().err
    assert Enrollment.load(path).segments == enrollment.segments
    before = path.read_bytes()
    assert main(["cam", "--input", str(clip(talks.format("feifeili_clip2_short"))),
                 "--enrollment", str(path), "--backend", "fl-recording", "--grow"]) == 0
    assert "added this call" in capsys.readouterr().err
    grown = Enrollment.load(path)
    assert grown.sources == (*enrollment.sources, "cam call")
    assert grown.segments[-1].origin == "call" and grown.original == 1
    assert path.read_bytes() != before


def test_no_virtual_camera_says_how_to_set_one_up(tmp_path, capsys) -> None:
    code = main(["cam", "--input", str(tmp_path / "none.mp4"), "--policy", "off",
                 "--backend", "fl-missing"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no virtual camera is available" in err and "device not found" in err
    assert "modprobe v4l2loopback" in err


def test_cam_refuses_to_run_unchecked_unless_asked(capsys) -> None:
    assert main(["cam", "--backend", "fl-missing"]) == 2
    assert "--enrollment FILE is needed" in capsys.readouterr().err


def test_keys_recalibrate_and_quit() -> None:
    from fingerprint_live.avatar.default_avatar import DefaultAvatar
    from fingerprint_live.avatar.portrait import load_portrait
    from fingerprint_live.guard import GuardConfig
    from fingerprint_live.pipeline import Pipeline
    from fingerprint_live.virtual_camera import file_frames, run_camera

    pipeline = Pipeline(DefaultAvatar(load_portrait()), None, GuardConfig(policy="off"))
    calls = []
    pipeline.recalibrate = lambda: calls.append("c")
    camera = RecordingBackend(width=256, height=256, fps=25, fourcc=0, device=None)
    try:
        sent = run_camera(file_frames(clip(IMPOSTOR)), pipeline, camera, keys=["c", "q"])
    finally:
        pipeline.close()
    assert calls == ["c"] and sent == 2 and len(RecordingBackend.frames) == 2
