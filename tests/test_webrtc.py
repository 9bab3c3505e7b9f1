"""Two in-process aiortc peers on 127.0.0.1 stream real clips through ``AvatarTrack``.

The sender plays clips as its camera, guards the avatar against the M030 enrollment and sends
state changes on a data channel; the receiver records the frames and messages it gets.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
from aiortc import RTCPeerConnection
from live_helpers import GENUINE, OTHER_FACE, clips, has_mark, is_slate

from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.decision import Signal
from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment
from fingerprint_live.face_descriptor import DescriptorInfo
from fingerprint_live.guard import GuardConfig
from fingerprint_live.pipeline import Pipeline
from fingerprint_live.verifier import StreamingVerifier
from fingerprint_live.webrtc import (
    AvatarTrack,
    VerifyTrack,
    VideoFileTrack,
    loopback_only,
    rtc_configuration,
)
from fingerprint_live.webrtc.loopback import until_ended

pytestmark = pytest.mark.slow


@dataclass
class Call:
    events: list[dict] = field(default_factory=list)  # data-channel messages, in order
    frames: list[np.ndarray] = field(default_factory=list)  # what the receiver decoded


async def _drain(track, call: Call) -> None:
    try:
        while True:
            call.frames.append((await track.recv()).to_ndarray(format="rgb24"))
    except Exception:  # noqa: BLE001 - the track ends when the call closes
        return


async def stream(source: VideoFileTrack, pipeline: Pipeline, limit: float = 40) -> Call:
    """Send ``source`` through an AvatarTrack to a receiver peer until the source ends."""
    call = Call()
    sender = RTCPeerConnection(rtc_configuration())
    receiver = RTCPeerConnection(rtc_configuration())
    ended = asyncio.Event()
    source.on("ended", ended.set)
    drains = []

    @receiver.on("datachannel")
    def _channel(channel) -> None:
        channel.on("message", lambda m: call.events.append(json.loads(m)))

    @receiver.on("track")
    def _track(track) -> None:
        drains.append(asyncio.ensure_future(_drain(track, call)))

    with loopback_only():
        channel = sender.createDataChannel("events")
        sender.addTrack(AvatarTrack(source, pipeline, channel))
        await until_ended(sender, receiver, ended, drains, limit)
    return call


def guarded(enrollment: Enrollment, embedder: Embedder, faces: DescriptorInfo) -> Pipeline:
    """The camera side's gate: motion and appearance, fused."""
    return Pipeline(DefaultAvatar(load_portrait()),
                    StreamingVerifier(enrollment, embedder, appearance=faces), GuardConfig())


def test_the_enrolled_person_is_verified_and_passes(enrollment, embedder, faces) -> None:
    call = asyncio.run(stream(VideoFileTrack(clips([GENUINE]), loops=2),
                              guarded(enrollment, embedder, faces)))
    states = [e["state"] for e in call.events]
    assert states[0] == "WARMING_UP" and call.events[0]["action"] == "pass", call.events
    assert "VERIFIED" in states and "MISMATCH" not in states, call.events
    assert all(e["action"] != "block" for e in call.events), call.events
    assert len(call.frames) > 60, "the receiver got too few frames"
    assert not (is_slate(call.frames[5]) or has_mark(call.frames[5])), \
        "before a verdict the far side sees the avatar, without marks"
    tail = call.frames[-25:]  # the last second: verified, the avatar goes out clean
    assert not any(is_slate(f) or has_mark(f) for f in tail)
    assert np.mean([f.std() for f in tail]) > 20, "the clean frames should show the portrait"


def test_another_face_is_blocked_within_a_second(enrollment, embedder, faces) -> None:
    call = asyncio.run(stream(VideoFileTrack(clips([OTHER_FACE])),
                              guarded(enrollment, embedder, faces)))
    blocks = [e for e in call.events if e["action"] == "block"]
    assert blocks, f"the other face was never blocked: {call.events}"
    first = blocks[0]
    assert first["state"] == "MISMATCH" and first["reason"] == "not the enrolled user"
    assert first["signal"] == "appearance"
    # from frame 0, with the face descriptor's process starting in the same second
    assert first["time"] <= 1.5, "blocked later than about a second after frame 0"
    assert "VERIFIED" not in [e["state"] for e in call.events if e["time"] <= first["time"]]
    assert sum(is_slate(f) for f in call.frames) >= 10, "blocked frames must reach the peer"


def test_verify_track_checks_the_avatar_stream_on_the_receiver(enrollment, embedder) -> None:
    """Receiver side: only the avatar video is seen; frames pass through, state comes as events.

    The enrolled person drives the avatar (from their enrolled neutral) for 11 s: the receiver
    verifies them by motion alone, and never calls a mismatch.
    """

    async def run() -> tuple[list, int]:
        sender = RTCPeerConnection(rtc_configuration())
        receiver = RTCPeerConnection(rtc_configuration())
        source = VideoFileTrack(clips([GENUINE]), loops=3)
        ended, seen, events = asyncio.Event(), [], []
        source.on("ended", ended.set)
        avatar = DefaultAvatar(load_portrait())
        avatar.set_neutral(enrollment.neutral)
        pipeline = Pipeline(avatar, None, GuardConfig(policy="off"))

        @receiver.on("track")
        def _track(track) -> None:
            checked = VerifyTrack(track, enrollment, embedder)
            checked.on("event", events.append)
            seen.append(asyncio.ensure_future(_drain(checked, Call())))

        with loopback_only():
            sender.addTrack(AvatarTrack(source, pipeline))
            await until_ended(sender, receiver, ended, seen, 40, linger=0)
        return events, len(seen)

    events, tracks = asyncio.run(run())
    assert tracks == 1
    states = [e.state.value for e in events]
    assert states and states[0] == "WARMING_UP", states
    assert "NO_FACE" not in states, "the receiver must find the avatar's face"
    assert "VERIFIED" in states and "MISMATCH" not in states, states
    assert all(e.signal is not Signal.APPEARANCE for e in events), "no face is seen there"



class _Slow(Pipeline):
    """A pipeline that takes 100 ms a frame: slower than the 25 fps camera."""

    def process(self, rgb, t):
        time.sleep(0.1)
        return super().process(rgb, t)


def test_avatar_track_keeps_pts_and_drops_stale_frames_under_load() -> None:
    async def run() -> tuple[list, AvatarTrack, set, float]:
        source = VideoFileTrack(clips([GENUINE]))
        sent = set()
        original = source.recv

        async def remember():
            frame = await original()
            sent.add(frame.pts)
            return frame

        source.recv = remember
        track = AvatarTrack(source, _Slow(DefaultAvatar(load_portrait()), None,
                                          GuardConfig(policy="off")))
        out = [await track.recv() for _ in range(15)]
        latencies = track.last_latency
        track.stop()
        return out, track, sent, latencies

    out, track, sent, latency = asyncio.run(run())
    pts = [f.pts for f in out]
    assert all(p in sent for p in pts) and pts == sorted(set(pts))
    assert all(f.time_base == out[0].time_base for f in out) and out[0].width == 256
    assert track.dropped > 5, "stale frames must be dropped, not queued"
    assert latency < 0.5, "latency must stay about one frame's work, not grow with a backlog"
