"""``serve`` on 127.0.0.1: a real headless Chromium with a real clip as its camera, and the limits.

Chromium (Debian's, at /usr/bin/chromium) is driven by Playwright; its fake camera plays a
``.y4m`` written here from a MEAD clip. The page enrolls from the first seconds, then verifies.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import threading
from pathlib import Path

import av
import numpy as np
import pytest
from live_helpers import GENUINE, IMPOSTOR
from PIL import Image
from serve_helpers import (
    FLAGS,
    call_serve,
    chromium,
    offer_body,
    post_offer,
    serving,
    write_y4m,
)
from shared_data import clip

from fingerprint_live.avatar.portrait import DEFAULT_PORTRAIT
from fingerprint_live.enrollment import Enrollment
from fingerprint_live.serve import ServeConfig


@pytest.mark.slow
def test_the_page_enrolls_then_shows_the_avatar_and_a_verdict(tmp_path) -> None:
    executable = chromium()
    try:
        from playwright import sync_api as playwright
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("playwright is missing: it is in the dev extras")
        pytest.skip("needs playwright (pip install -e '.[dev]')")
    camera = tmp_path / "camera.y4m"
    write_y4m(clip(GENUINE), camera)
    with serving(ServeConfig()) as port, playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable, headless=True,
            args=[*FLAGS, f"--use-file-for-fake-video-capture={camera}"])
        try:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#seconds", "4")
            page.click("#start")
            page.wait_for_function(
                "document.getElementById('phase').textContent.startsWith('Enrolled')",
                timeout=40_000)
            page.wait_for_function(
                "/State: (VERIFIED|MISMATCH)/.test(document.getElementById('status').textContent)",
                timeout=30_000)
            size = page.evaluate(
                "() => [document.getElementById('remote').videoWidth, "
                "document.getElementById('remote').videoHeight]")
            frames = page.evaluate("shownFrames")
            status = page.text_content("#status")
            error = page.text_content("#error")
            saved = page.evaluate("""async () => {
                const link = document.getElementById('save');
                if (link.hidden) return null;
                const bytes = await (await fetch(link.href)).arrayBuffer();
                return Array.from(new Uint8Array(bytes)); }""")
        finally:
            browser.close()
    assert size == [256, 256], "the page must show the avatar stream"
    assert frames > 50, f"only {frames} avatar frames were shown"
    assert "fps" in status and "latency" in status and "evidence" in status, status
    assert "VERIFIED at" in status and "others see" in status, status
    assert not error, error
    assert saved is not None, "after enrolling, the page offers to save the enrollment"
    kept = Enrollment.from_bytes(bytes(saved))
    assert kept.appearance is not None and len(kept.motion.vectors) > 0


def test_offers_and_uploads_are_checked() -> None:
    with serving(ServeConfig()) as port:
        def post(**fields) -> tuple[int, dict]:
            return asyncio.run(post_offer(port, offer_body(type="offer", **fields)))

        status, body = post(sdp="v=0\n" * 20_000)
        assert status == 413 and "SDP" in body["error"]
        not_image = Path("/etc/hostname").read_bytes() if Path("/etc/hostname").exists() else b"x"
        status, body = post(sdp="v=0", avatar=not_image)
        assert status == 400 and "not an image" in body["error"]
        status, body = post(sdp="v=0", avatar=b"\0" * (6 << 20))
        assert status == 413 and "5 MiB" in body["error"]
        status, body = post(sdp="v=0", policy="off")
        assert status == 400 and "policy" in body["error"]
        status, body = post(sdp="v=0", enrollment=b"not an enrollment")
        assert status == 400 and "enrollment" in body["error"]
        status, body = post(sdp="v=0", avatar="%%% not base64")
        assert status == 400 and "base64" in body["error"]


def test_the_page_gets_its_config_and_a_favicon() -> None:
    from urllib.request import urlopen

    with serving(ServeConfig()) as port:
        base = f"http://127.0.0.1:{port}"
        config = json.loads(urlopen(f"{base}/config").read())
        page = urlopen(f"{base}/").read().decode()
        icon = urlopen(f"{base}/favicon.ico")
        assert icon.status == 200 and b"<svg" in icon.read()
    assert config == {"enrollment": "page", "seconds": 12.0, "seconds_range": [4.0, 60.0]}
    default = page.split('id="seconds" value="', 1)[1].split('"', 1)[0]
    assert float(default) == config["seconds"], "the page's default recording is the server's"
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert f"record {config['seconds']:.0f} s of natural talking" in readme


def test_a_fixed_enrollment_cannot_be_replaced_by_a_page(enrollment, tmp_path) -> None:
    """serve --enrollment: every call is checked against it; a page can neither bring
    another enrollment nor download the owner's."""
    from urllib.error import HTTPError
    from urllib.request import urlopen

    owner = tmp_path / "owner.fpe"
    enrollment.save(owner)
    with serving(ServeConfig(enrollment=owner)) as port:
        config = json.loads(urlopen(f"http://127.0.0.1:{port}/config").read())
        status, body = asyncio.run(post_offer(port, offer_body(
            type="offer", sdp="v=0", enrollment=owner.read_bytes())))
        with pytest.raises(HTTPError) as missing:
            urlopen(f"http://127.0.0.1:{port}/enrollment/anything")
    assert config["enrollment"] == "fixed"
    assert status == 400 and "its own enrollment" in body["error"]
    assert missing.value.code == 404


def test_sessions_are_bounded_with_a_clear_refusal() -> None:
    """The bound counts live sessions; an uploaded portrait starts one like the default does."""
    from aiortc import RTCPeerConnection

    from fingerprint_live.webrtc import VideoFileTrack, rtc_configuration

    async def offer() -> str:
        pc = RTCPeerConnection(rtc_configuration())
        pc.addTrack(VideoFileTrack([clip(GENUINE)]))
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp

    sdp = asyncio.run(offer())
    with serving(ServeConfig(max_sessions=1)) as port:
        portrait = DEFAULT_PORTRAIT.read_bytes()
        status, body = asyncio.run(post_offer(port, offer_body(type="offer", sdp=sdp,
                                                               avatar=portrait)))
        assert status == 200 and body["type"] == "answer", body
        status, body = asyncio.run(post_offer(port, offer_body(type="offer", sdp=sdp)))
        assert status == 503 and "busy" in body["error"]


@pytest.mark.slow
def test_concurrent_sessions_are_isolated() -> None:
    """Two calls at once, each with its own avatar image; each gets only its own avatar back."""

    from fingerprint_live.avatar.default_avatar import DefaultAvatar
    from fingerprint_live.avatar.portrait import load_portrait
    from fingerprint_live.landmarks import FaceLandmarks
    from fingerprint_live.webrtc import VideoFileTrack

    other = next(iter(av.open(str(clip(IMPOSTOR))).decode(video=0))).to_ndarray(format="rgb24")
    upload = io.BytesIO()
    Image.fromarray(other).save(upload, format="PNG")
    rest = {name: DefaultAvatar(image).render(image, FaceLandmarks(None, 0, 1, 1)).image
            for name, image in (("default", load_portrait()), ("upload", other))}

    async def both(port: int):
        return await asyncio.gather(
            call_serve(port, VideoFileTrack([clip(GENUINE)]), 4, seconds=4),
            call_serve(port, VideoFileTrack([clip(GENUINE)]), 4, seconds=4,
                       avatar=upload.getvalue()))

    with serving(ServeConfig(max_sessions=2)) as port:
        a, b = asyncio.run(both(port))
    frames_a, msgs_a, frames_b, msgs_b = a.frames, a.messages, b.frames, b.messages

    def distance(frame, name) -> float:
        return float(np.abs(frame[:200].astype(int) - rest[name][:200]).mean())

    assert len(frames_a) > 20 and len(frames_b) > 20
    for frame in frames_a[10::10]:
        assert distance(frame, "default") < distance(frame, "upload")
    for frame in frames_b[10::10]:
        assert distance(frame, "upload") < distance(frame, "default")
    assert any(m["type"] == "status" for m in msgs_a)
    assert any(m["type"] == "status" for m in msgs_b)


def test_the_recorder_enrolls_from_face_frames_only(embedder, descriptor) -> None:
    from fingerprint_live.face_descriptor import face_crop
    from fingerprint_live.landmarks import FaceLandmarks
    from fingerprint_live.media import iter_video
    from fingerprint_live.offline.clip_landmarks import extract_clip
    from fingerprint_live.serve.enrollment_recorder import EnrollmentRecorder

    done = threading.Event()
    results = []
    recorder = EnrollmentRecorder(3.0, embedder, descriptor.info,
                                  lambda e, err: (results.append((e, err)), done.set()))
    nobody = FaceLandmarks(None, 0, 256, 256)
    for i in range(500):  # 20 s without a face: nothing is kept
        recorder.add(nobody, i / 25)
    assert recorder.progress == 0 and not recorder._times
    landmarks = extract_clip(clip(GENUINE))
    frames = iter_video(clip(GENUINE))
    for face, t, frame in zip(landmarks.faces(), landmarks.times, frames, strict=True):
        recorder.add(face, 20 + float(t))
        if face.found and round(t * 25) % 25 == 0:  # the pipeline describes a face a second
            recorder.add_descriptor(descriptor.describe(face_crop(frame.image, face)), t)
    assert done.wait(30) and recorder.finished
    enrollment, error = results[0]
    assert error is None and len(enrollment.motion.vectors) > 0 and enrollment.seconds >= 2
    assert len(enrollment.appearance.vectors) >= 3


@pytest.mark.slow
def test_an_aiortc_client_posting_json_gets_the_avatar_at_20_fps(enrollment) -> None:
    """An outside client in aiortc's own style: JSON offer with a saved enrollment, avatar
    back at camera rate, verified at once (no page enrollment)."""

    from fingerprint_live.webrtc import VideoFileTrack

    with serving(ServeConfig()) as port:
        got = asyncio.run(call_serve(port, VideoFileTrack([clip(GENUINE)], size=(640, 480),
                                                          loops=3), 8, keep_frames=False,
                                     enrollment=enrollment.to_bytes()))
    arrivals, messages = got.arrivals, got.messages
    settled = [t for t in arrivals if t >= arrivals[0] + 2]  # after the first 2 s
    fps = (len(settled) - 1) / (settled[-1] - settled[0])
    assert fps >= 20, f"{fps:.1f} fps"
    phases = {m.get("phase") for m in messages if m["type"] == "status"}
    assert phases == {"verifying"}, "a brought enrollment verifies at once"
