"""Hostile and broken input: each case ends clearly, loses nothing it read, and never passes.

Videos are real clips damaged here (truncated, garbage, a resolution change, dark or blown-out
frames, a second person pasted in); portraits are bombs, empty or not images.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from live_helpers import GENUINE, enroll_m030
from shared_data import clip
from test_virtual_camera import RecordingBackend

from fingerprint_live.cli import main
from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment
from fingerprint_live.errors import MediaError
from fingerprint_live.media import iter_video


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="module")
def enrollment(embedder: Embedder) -> Enrollment:
    return enroll_m030(embedder)


@pytest.fixture(scope="module")
def enrollment_file(enrollment: Enrollment, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("enrolled") / "m030.fpe"
    enrollment.save(path)
    return path


def faststart_copy(source: Path, out: Path) -> Path:
    """``source`` remuxed with its index first, so that a truncated copy still opens."""
    with av.open(str(source)) as src, av.open(str(out), "w",
                                              options={"movflags": "faststart"}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    return out


@pytest.fixture
def broken_videos(tmp_path: Path) -> dict[str, Path]:
    """A clip cut in half (index first: it opens), cut in half (index last: it does not), junk."""
    data = clip(GENUINE).read_bytes()
    whole = faststart_copy(clip(GENUINE), tmp_path / "whole.mp4").read_bytes()
    videos = {"truncated": whole[: len(whole) // 2], "no index": data[: len(data) // 2],
              "garbage": np.random.default_rng(5).bytes(len(data)), "empty": b""}
    for name, content in videos.items():
        (tmp_path / f"{name}.mp4").write_bytes(content)
    return {name: tmp_path / f"{name}.mp4" for name in videos}


def test_a_truncated_video_yields_its_frames_then_says_it_is_damaged(broken_videos) -> None:
    """Frame threads used to hide the cut: a half file read as a shorter, whole one."""
    original = [f.image for f in iter_video(clip(GENUINE))]
    read = []
    with pytest.raises(MediaError, match=r"damaged after frame (\d+)") as error:
        read.extend(f.image for f in iter_video(broken_videos["truncated"]))
    assert f"after frame {len(read)} " in str(error.value)
    assert 10 < len(read) < len(original)
    assert all(np.array_equal(a, b) for a, b in zip(read, original, strict=False))
    for name in ("no index", "garbage", "empty"):
        with pytest.raises(MediaError, match="not a readable video|no frames"):
            list(iter_video(broken_videos[name]))


def _fails_cleanly(argv: list[str], capsys) -> str:
    """Run the CLI: exit status 2 and a one-line error naming the problem, no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("fingerprint-live ") and ": error: " in err and "Traceback" not in err
    return err


@pytest.mark.slow
def test_every_command_refuses_broken_video_clearly(broken_videos, enrollment_file, tmp_path,
                                                    capsys) -> None:
    for name, video in broken_videos.items():
        out = tmp_path / f"{name}.fpe"
        assert video.name in _fails_cleanly(["enroll", str(video), "-o", str(out)], capsys)
        assert not out.exists(), "no enrollment may be written from a broken video"
        err = _fails_cleanly(["verify", "--enrollment", str(enrollment_file), str(video)], capsys)
        assert ("damaged after frame" if name == "truncated" else "not a readable") in err \
            or "no frames" in err


@pytest.mark.slow
def test_animate_and_cam_keep_the_frames_before_the_damage(broken_videos, enrollment_file,
                                                           tmp_path, capsys) -> None:
    video = broken_videos["truncated"]
    readable = 0
    with pytest.raises(MediaError):
        for _ in iter_video(video):
            readable += 1
    out = tmp_path / "avatar.mp4"
    err = _fails_cleanly(["animate", "--driver", str(video), "-o", str(out), "--size", "128"],
                         capsys)
    assert f"after frame {readable} " in err
    with av.open(str(out)) as written:
        assert sum(1 for _ in written.decode(video=0)) == readable, "the written part is kept"
    _fails_cleanly(["cam", "--input", str(video), "--enrollment", str(enrollment_file),
                    "--backend", "fl-recording"], capsys)
    assert len(RecordingBackend.frames) == readable
    _fails_cleanly(["cam", "--input", str(broken_videos["garbage"]), "--policy", "off",
                    "--backend", "fl-recording"], capsys)
    assert RecordingBackend.frames == []
