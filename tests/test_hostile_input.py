"""Hostile and broken input: each case ends clearly, loses nothing it read, and never passes.

Videos are real clips damaged here (truncated, garbage, a resolution change, dark or blown-out
frames, a second person pasted in); portraits are bombs, empty or not images.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import threading
import time
from itertools import islice
from pathlib import Path

import aioice.ice
import av
import cv2
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from camera_helpers import RecordingBackend
from live_helpers import GENUINE, IMPOSTOR, is_slate
from PIL import Image
from serve_helpers import offer_body, post_offer, serving
from shared_data import clip

from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.cli import main
from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment
from fingerprint_live.errors import MediaError
from fingerprint_live.guard import Action
from fingerprint_live.landmarks import LandmarkExtractor
from fingerprint_live.media import iter_video
from fingerprint_live.offline.clip_landmarks import extract_clip
from fingerprint_live.pipeline import LiveFrame, Pipeline
from fingerprint_live.serve import ServeConfig
from fingerprint_live.serve.portrait_upload import decode_portrait
from fingerprint_live.verifier import State, StreamingVerifier
from fingerprint_live.webrtc import VideoFileTrack, rtc_configuration
from fingerprint_live.webrtc.file_track import letterbox


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


#: What each broken video must be called: the cause in the user's words.
BROKEN = {"truncated": "damaged after frame", "no index": "truncated or damaged",
          "index cut": "truncated or damaged",
          "garbage": r"not a readable video \(invalid data found when processing input\)",
          "empty": "the file is empty"}


@pytest.fixture
def broken_videos(tmp_path: Path) -> dict[str, Path]:
    """A clip cut in half with its index first (it opens), the same clip as recorded (index
    last) cut in half and cut just inside its index (it opens, with no stream), junk, nothing."""
    data = clip(GENUINE).read_bytes()
    index = data.rfind(b"moov") - 4
    assert len(data) // 2 < index, "the recorded clip keeps its index at the end"
    whole = faststart_copy(clip(GENUINE), tmp_path / "whole.mp4").read_bytes()
    videos = {"truncated": whole[: len(whole) // 2], "no index": data[: len(data) // 2],
              "index cut": data[: index + 8], "garbage": np.random.default_rng(5).bytes(len(data)),
              "empty": b""}
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


def test_each_broken_video_is_named_for_what_is_wrong_with_it(broken_videos) -> None:
    """A recording cut short is "truncated", not a file without video; FFmpeg's error numbers
    and the path it repeats stay out of the message."""
    for name, message in BROKEN.items():
        with pytest.raises(MediaError, match=message) as error:
            list(iter_video(broken_videos[name]))
        text = str(error.value)
        assert "Errno" not in text and "no video stream" not in text, text
        assert text.count(str(broken_videos[name])) == 1, text


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
        assert re.search(BROKEN[name], err), err


@pytest.mark.slow
def test_animate_leaves_no_partial_video_and_cam_streams_up_to_the_damage(
        broken_videos, enrollment_file, tmp_path, capsys) -> None:
    """A driver that breaks half-way: animate says where, and leaves no playable part (nor
    any temporary file); an earlier output of the same name stays as it was."""
    video = broken_videos["truncated"]
    readable = 0
    with pytest.raises(MediaError):
        for _ in iter_video(video):
            readable += 1
    out = tmp_path / "avatar.mp4"
    err = _fails_cleanly(["animate", "--driver", str(video), "-o", str(out), "--size", "128"],
                         capsys)
    assert f"after frame {readable} " in err
    assert not out.exists(), "a failed animate must not leave a playable partial video"
    earlier = tmp_path / "earlier.mp4"
    assert main(["animate", "--driver", str(clip(GENUINE)), "-o", str(earlier), "--size", "64",
                 "--quiet"]) == 0
    kept = earlier.read_bytes()
    _fails_cleanly(["animate", "--driver", str(video), "-o", str(earlier), "--size", "128",
                    "--quiet"], capsys)
    assert earlier.read_bytes() == kept, "the earlier output must be left as it was"
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"earlier.mp4", "whole.mp4", *(v.name for v in broken_videos.values())}, left
    _fails_cleanly(["cam", "--input", str(video), "--enrollment", str(enrollment_file),
                    "--backend", "fl-recording"], capsys)
    assert len(RecordingBackend.frames) == readable
    _fails_cleanly(["cam", "--input", str(broken_videos["garbage"]), "--policy", "off",
                    "--backend", "fl-recording"], capsys)
    assert RecordingBackend.frames == []


def _frames(relative: str, limit: int | None = None) -> list[np.ndarray]:
    return [f.image for f in islice(iter_video(clip(relative)), limit)]


def _guarded(enrollment: Enrollment, embedder: Embedder) -> Pipeline:
    return Pipeline(DefaultAvatar(load_portrait()), StreamingVerifier(enrollment, embedder))


def _run(pipeline: Pipeline, images: list[np.ndarray], fps: float = 25) -> list[LiveFrame]:
    try:
        return [pipeline.process(image, i / fps) for i, image in enumerate(images)]
    finally:
        pipeline.close()


@pytest.mark.slow
def test_a_resolution_change_mid_stream_keeps_working_and_is_not_fooled(enrollment,
                                                                         embedder) -> None:
    for relative, genuine in ((GENUINE, True), (IMPOSTOR, False)):
        frames = _frames(relative, 125)  # up to 5 s: a MISMATCH needs about 4 s
        third = len(frames) // 3
        sizes = [(640, 480)] * third + [(1280, 720)] * third
        sizes += [(320, 240)] * (len(frames) - len(sizes))
        images = [letterbox(f, s) for f, s in zip(frames, sizes, strict=True)]
        out = _run(_guarded(enrollment, embedder), images)
        assert all(o.image.shape == (256, 256, 3) for o in out)
        found = [o for o in out if o.face.found]
        assert len(found) > 0.9 * len(out), "the face must be found at every size"
        assert all(o.face.points[:, 0].max() <= o.face.width + 5 for o in found)
        states = {o.state for o in out}
        if genuine:
            assert State.MISMATCH not in states and State.VERIFIED in states, states
        else:
            assert State.VERIFIED not in states and State.MISMATCH in states, states


@pytest.mark.parametrize("light", ["dark", "blown out"])
@pytest.mark.slow
def test_dark_or_blown_out_frames_are_no_face_and_block_after_the_grace(enrollment, embedder,
                                                                        light) -> None:
    change = {"dark": lambda f: (f * 0.01).astype(np.uint8),
              "blown out": lambda f: np.clip(f.astype(int) * 8 + 150, 0, 255).astype(np.uint8)}
    frames = _frames(GENUINE)
    images = frames[:25] + [change[light](f) for f in frames[25:]] + [
        change[light](f) for f in frames[:30]]  # 1 s in good light, then ~4.6 s in bad light
    out = _run(_guarded(enrollment, embedder), images)
    assert not any(o.face.found for o in out[30:]), "no landmarks may be invented"
    assert out[-1].state is State.NO_FACE and out[-1].decision.action is Action.BLOCK
    assert is_slate(out[-1].image) and "no face" in out[-1].decision.reason
    assert out[60].decision.note == "no face"  # within the grace: the user is told


def test_dim_or_bright_frames_give_true_landmarks_or_none() -> None:
    """Between clear faces and no face, what MediaPipe still finds is the real face."""
    errors, checked = [], 0
    with LandmarkExtractor(static=True) as extractor:
        for frame in _frames(GENUINE, 30)[::3]:
            truth = extractor.process(frame).points
            width = np.ptp(truth[:, 0])
            for changed in ((frame * 0.1).astype(np.uint8), (frame * 0.03).astype(np.uint8),
                            np.clip(frame.astype(int) * 4 + 100, 0, 255).astype(np.uint8)):
                checked += 1
                face = extractor.process(changed)
                if face.found:
                    errors.append(np.abs(face.points[:, :2] - truth[:, :2]).mean() / width)
    assert len(errors) >= checked // 3, f"a face was found in only {len(errors)} of {checked}"
    assert max(errors) < 0.05, f"{max(errors):.1%} of the face's width off"


def _scene(user: np.ndarray | None, other: np.ndarray | None) -> np.ndarray:
    """A 960x480 room: the user (300 px) on the left, a second person (440 px) on the right."""
    room = np.full((480, 960, 3), 60, np.uint8)
    if user is not None:
        room[90:390, 60:360] = cv2.resize(user, (300, 300))
    if other is not None:
        room[20:460, 500:940] = cv2.resize(other, (440, 440))
    return room


@pytest.mark.slow
def test_a_second_person_stepping_in_never_becomes_a_verified_driver(enrollment,
                                                                     embedder) -> None:
    """The user alone, then a bigger face beside them, then the other person alone."""
    user, other = _frames(GENUINE), _frames(IMPOSTOR, 150)
    images = ([_scene(u, None) for u in user[:60]] + [_scene(u, o) for u, o in
                                                        zip(user[60:], other, strict=False)]
              + [_scene(None, o) for o in other[34:109]])
    events = []
    pipeline = _guarded(enrollment, embedder)
    pipeline.on_event = events.append
    out = _run(pipeline, images)
    both = [o for o in out[60:94] if o.face.num_faces == 2]
    assert len(both) > 20, "the second person must be seen and counted"
    assert all(o.face.points[:, 0].max() < 480 for o in both), "the user stays the driver"
    assert all(o.decision.note for o in both), "the user is told while two faces are in view"
    assert any(e.note == "several faces in view" for e in events), events
    # The verifier itself, fed the same landmarks in step: the other person is never VERIFIED.
    verifier = StreamingVerifier(enrollment, embedder)
    states = [verifier.push(o.face, i / 25).state for i, o in enumerate(out)]
    assert State.VERIFIED in states[:94], "the user should be verified before the switch"
    assert State.VERIFIED not in states[94:], states[94:]
    assert states[94] is State.WARMING_UP, "the jump to another face restarts the verdict"


def _pushed(verifier: StreamingVerifier, stream) -> list[State]:
    return [verifier.push(face, t).state for face, t in stream]


def _landmarks(relative: str, offset: float = 0.0):
    marks = extract_clip(clip(relative))
    return [(face, float(t) + offset) for face, t in zip(marks.faces(), marks.times, strict=True)]


def test_late_and_repeated_frames_are_dropped_without_effect(enrollment, embedder) -> None:
    stream = _landmarks(GENUINE)
    clean = StreamingVerifier(enrollment, embedder)
    _pushed(clean, stream)
    messy = StreamingVerifier(enrollment, embedder)
    for i, (face, t) in enumerate(stream):
        messy.push(face, t)
        if i >= 5 and i % 4 == 0:  # an old frame arrives late, and one twice
            late = messy.push(*stream[i - 5])
            assert late.event is None and late.state is messy.state
            messy.push(face, t)
    assert list(messy.observations) == list(clean.observations)
    assert messy.state is clean.state
    assert clean.observations, "the clip must give scores for this to mean anything"


def test_dropped_frames_still_verify_and_still_catch_an_impostor(enrollment, embedder) -> None:
    keep = np.random.default_rng(3).random(200) > 0.3  # 30% of the frames never arrive
    genuine = [f for f, k in zip(_landmarks(GENUINE), keep, strict=False) if k]
    impostor = [f for f, k in zip(_landmarks(IMPOSTOR), keep, strict=False) if k]
    states = _pushed(StreamingVerifier(enrollment, embedder), genuine)
    assert State.VERIFIED in states and State.MISMATCH not in states
    states = _pushed(StreamingVerifier(enrollment, embedder), impostor)
    assert State.MISMATCH in states and State.VERIFIED not in states


def test_a_long_gap_gives_no_pass(enrollment, embedder) -> None:
    """After seconds without any frame, a verdict from before the gap no longer holds."""
    verifier = StreamingVerifier(enrollment, embedder)
    before = _landmarks(GENUINE)
    assert _pushed(verifier, before)[-1] is State.VERIFIED
    after = _landmarks(IMPOSTOR, offset=before[-1][1] + 5.0)
    states = _pushed(verifier, after)
    assert states[0] is State.WARMING_UP
    assert State.VERIFIED not in states and State.MISMATCH in states


def _bomb() -> bytes:
    """A 40 KB PNG that decodes to 400 million pixels."""
    data = io.BytesIO()
    Image.new("1", (20000, 20000)).save(data, format="PNG")
    return data.getvalue()


def test_bad_portraits_are_refused_clearly_everywhere(tmp_path, capsys) -> None:
    good = io.BytesIO()
    Image.fromarray(load_portrait()).save(good, format="PNG")
    cases = {"bomb.png": (_bomb(), "more than"), "empty.png": (b"", "not an image"),
             "cut.png": (good.getvalue()[:5000], "cannot be decoded|not an image"),
             "text.jpg": (b"<html>not a photo</html>", "not an image")}
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(MediaError, match=message):
            load_portrait(path)
        with pytest.raises(MediaError, match=message):
            decode_portrait(data)
        err = _fails_cleanly(["animate", "--driver", str(clip(GENUINE)), "--avatar", str(path),
                              "-o", str(tmp_path / "out.mp4")], capsys)
        assert name in err


def _pipeline_threads() -> int:
    return sum(t.name.startswith(("pipeline", "verifier")) for t in threading.enumerate())


@pytest.mark.slow
def test_a_peer_that_vanishes_mid_call_frees_its_session(monkeypatch, caplog) -> None:
    """The client's sockets close without a goodbye; ICE consent fails, the server cleans up.

    Consent is checked every 0.2 s here instead of 5 s, so that the loss is seen in seconds.
    """
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.2)
    threads = _pipeline_threads()

    async def call(port: int) -> tuple[int, list[int]]:
        pc = RTCPeerConnection(rtc_configuration())
        pc.addTrack(VideoFileTrack([clip(GENUINE)], loops=0))
        frames = asyncio.Event()
        pc.on("track", lambda track: asyncio.ensure_future(_until_frames(track, frames)))
        await pc.setLocalDescription(await pc.createOffer())
        status, answer = await post_offer(port, offer_body(type="offer",
                                                           sdp=pc.localDescription.sdp))
        assert status == 200, answer
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await asyncio.wait_for(frames.wait(), 20)
        for transceiver in pc.getTransceivers():  # vanish: no DTLS or SCTP goodbye
            for protocol in transceiver.receiver.transport.transport._connection._protocols:
                protocol.transport.close()
        busy, _ = await post_offer(port, offer_body(type="offer", sdp=pc.localDescription.sdp))
        retries = []
        for _ in range(60):  # the slot must come back once the server sees the peer gone
            await asyncio.sleep(0.25)
            status, _ = await post_offer(port, offer_body(type="offer", sdp="v=0"))
            retries.append(status)
            if status != 503:
                break
        await pc.close()
        return busy, retries

    with serving(ServeConfig(max_sessions=1)) as port:
        busy, retries = asyncio.run(call(port))
    assert busy == 503, "while the call lives, the one slot is taken"
    assert retries[-1] == 400, f"the vanished peer's session was never freed: {retries}"
    deadline = time.monotonic() + 10
    while _pipeline_threads() > threads and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _pipeline_threads() == threads, "the session's threads must end"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def _until_frames(track, seen: asyncio.Event) -> None:
    with contextlib.suppress(Exception):
        for _ in range(10):
            await track.recv()
        seen.set()
        while True:
            await track.recv()


def test_many_concurrent_offers_get_the_bound_then_a_clear_refusal() -> None:
    async def offer() -> str:
        pc = RTCPeerConnection(rtc_configuration())
        pc.addTrack(VideoFileTrack([clip(GENUINE)]))
        await pc.setLocalDescription(await pc.createOffer())
        await pc.close()
        return pc.localDescription.sdp

    async def burst(port: int) -> list[tuple[int, dict]]:
        sdp = await offer()
        bomb = post_offer(port, offer_body(type="offer", sdp=sdp, avatar=_bomb()))
        return await asyncio.gather(bomb, *[post_offer(port, offer_body(type="offer", sdp=sdp))
                                            for _ in range(6)])

    with serving(ServeConfig(max_sessions=2)) as port:
        answers = asyncio.run(burst(port))
    bomb, rest = answers[0], [status for status, _ in answers[1:]]
    assert bomb[0] in (400, 503) and ("bomb" in bomb[1]["error"] or "busy" in bomb[1]["error"])
    assert sorted(rest) == [200, 200, 503, 503, 503, 503], rest
    assert all("busy" in body["error"] for status, body in answers[1:] if status == 503)


def test_malformed_offer_bodies_get_a_4xx_and_nothing_breaks(caplog) -> None:
    """Deep nesting used to end in a RecursionError and a 500; the body's shape is measured
    before it is parsed now, and every malformed body gets a 4xx JSON error."""
    from aiohttp import ClientSession

    bodies = {
        "nested arrays": b"[" * 100_000, "nested objects": b'{"a":' * 100_000,
        "nested, closed": b"[" * 5000 + b"]" * 5000,
        "a string never closed": b'{"sdp": "v=0' + b'\\"' * 100_000,
        "many values": b'{"sdp": [' + b'"x",' * 100_000 + b'"x"], "type": "offer"}',
        "not UTF-8": b'{"sdp": "\xff\xfe", "type": "offer"}', "empty": b"",
        "cut": b'{"sdp": "v=0", "type": "off', "a list": b'["offer"]',
        "a number too long": b'{"seconds": ' + b"9" * 5000 + b"}",
    }

    async def post_all(port: int) -> dict[str, tuple[int, dict]]:
        out = {}
        async with ClientSession() as http:
            for name, body in bodies.items():
                async with http.post(f"http://127.0.0.1:{port}/offer", data=body,
                                     headers={"Content-Type": "application/json"}) as response:
                    out[name] = response.status, await response.json(content_type=None)
            async with http.get(f"http://127.0.0.1:{port}/config") as alive:
                out["alive"] = alive.status, {}
        return out

    with serving(ServeConfig()) as port:
        answers = asyncio.run(post_all(port))
    assert answers.pop("alive")[0] == 200
    for name, (status, body) in answers.items():
        assert 400 <= status < 500 and isinstance(body.get("error"), str), (name, status, body)
    assert "nested deeper" in answers["nested arrays"][1]["error"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors
