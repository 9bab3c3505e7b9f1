"""Janus's VideoRoom over aiortc: look at a room, publish a track into it, subscribe to a feed.

Publishers and subscribers each use their own plugin handle and peer connection. aiortc gathers
its candidates before the SDP is made, so offers and answers go with ``trickle: false``; Janus
puts its own candidates in its SDP (half-trickle). A publisher may open a data channel (signed
verdicts travel on one); Janus relays its messages to each subscriber that opened a channel of
its own, on a channel labelled with the publisher's feed id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)

from ..webrtc.ice import rtc_configuration
from .client import JanusError, JanusHandle, JanusSession

PLUGIN = "janus.plugin.videoroom"
#: The RTP header extension that feeds a receiver's bandwidth estimate (REMB).
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#: Janus relays a publisher's data to a subscriber only once a channel is open between them: a
#: subscriber that wants the data opens this one (it carries nothing).
SUBSCRIBER_LABEL = "fingerprint-live-subscriber"


@dataclass(frozen=True)
class Publisher:
    """A feed in a room: Janus's id for it and the display name its publisher gave."""

    id: int
    display: str


class Room:
    """A handle for looking at room ``room``: whether it exists and who publishes in it."""

    def __init__(self, handle: JanusHandle, room: int) -> None:
        self.handle, self.room = handle, room

    @classmethod
    async def open(cls, session: JanusSession, room: int) -> Room:
        """``JanusError`` when the room does not exist."""
        handle = await session.attach(PLUGIN)
        reply = await handle.request({"request": "exists", "room": room})
        if not reply.get("exists"):
            await handle.detach()
            raise JanusError(f"Janus at {session.url} has no VideoRoom {room}; create it (in "
                             "janus.plugin.videoroom.jcfg or with a `create` request) first.")
        return cls(handle, room)

    async def publishers(self) -> list[Publisher]:
        """The room's participants that publish a stream now."""
        reply = await self.handle.request({"request": "listparticipants", "room": self.room})
        return [Publisher(int(p["id"]), str(p.get("display", "")))
                for p in reply.get("participants", []) if p.get("publisher")]


def _jsep(pc: RTCPeerConnection) -> dict:
    return {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp, "trickle": False}


def _description(jsep: dict | None, what: str) -> RTCSessionDescription:
    if not jsep:
        raise JanusError(f"Janus sent no SDP with its {what}.")
    return RTCSessionDescription(sdp=jsep["sdp"], type=jsep["type"])


def without_bandwidth_estimate(sdp: str) -> str:
    """``sdp`` without the abs-send-time extension, so a subscriber answers without it.

    A subscriber fed that extension runs aiortc's bandwidth estimator on every packet, in
    Python, and sends REMB reports that the VideoRoom drops (it relays each publisher at the
    publisher's own rate): about 5 ms of a pool worker's event loop per stream-second, for
    nothing (BENCHMARKS.md, the receiver's density).
    """
    lines = sdp.splitlines(keepends=True)
    return "".join(line for line in lines
                   if not (line.startswith("a=extmap:") and ABS_SEND_TIME in line))


class Publication:
    """``track`` published into a room under ``display``; ``feed`` is its id there, and
    ``channel`` the data channel it opened (``channel_label``), if any."""

    def __init__(self, handle: JanusHandle, pc: RTCPeerConnection, feed: int,
                 channel: RTCDataChannel | None = None) -> None:
        self.handle, self.pc, self.feed, self.channel = handle, pc, feed, channel

    @classmethod
    async def start(cls, session: JanusSession, room: int, display: str,
                    track: MediaStreamTrack, configuration: RTCConfiguration | None = None,
                    channel_label: str | None = None) -> Publication:
        handle = await session.attach(PLUGIN)
        pc = RTCPeerConnection(configuration or rtc_configuration())
        try:
            joined, _ = await handle.message({"request": "join", "ptype": "publisher",
                                              "room": room, "display": display})
            pc.addTrack(track)
            channel = pc.createDataChannel(channel_label) if channel_label else None
            await pc.setLocalDescription(await pc.createOffer())
            _, answer = await handle.message({"request": "publish", "audio": False,
                                              "video": True, "data": channel is not None},
                                             _jsep(pc))
            await pc.setRemoteDescription(_description(answer, "answer to the publisher"))
            await handle.until("webrtcup")  # the feed is listed once its media is set up
        except BaseException:
            await pc.close()
            await handle.detach()
            raise
        return cls(handle, pc, int(joined["id"]), channel)

    async def close(self) -> None:
        await self.pc.close()
        await self.handle.detach()


class Subscription:
    """Feed ``feed`` of a room received on its own peer connection; ``track`` is its video."""

    def __init__(self, handle: JanusHandle, pc: RTCPeerConnection,
                 track: MediaStreamTrack) -> None:
        self.handle, self.pc, self.track = handle, pc, track

    @classmethod
    async def start(cls, session: JanusSession, room: int, feed: int,
                    configuration: RTCConfiguration | None = None,
                    on_channel: Callable[[RTCDataChannel], None] | None = None) -> Subscription:
        """Subscribe to ``feed``; ``on_channel`` gets the data channels the feed's publisher
        opened, as Janus relays them."""
        handle = await session.attach(PLUGIN)
        pc = RTCPeerConnection(configuration or rtc_configuration())
        tracks: asyncio.Queue[MediaStreamTrack] = asyncio.Queue()
        pc.on("track", lambda track: tracks.put_nowait(track) if track.kind == "video" else None)
        if on_channel is not None:
            pc.on("datachannel", on_channel)
        try:
            _, offer = await handle.message({"request": "join", "ptype": "subscriber",
                                             "room": room, "streams": [{"feed": feed}]})
            offer = _description(offer, "offer to the subscriber")
            await pc.setRemoteDescription(RTCSessionDescription(
                sdp=without_bandwidth_estimate(offer.sdp), type=offer.type))
            if on_channel is not None:
                pc.createDataChannel(SUBSCRIBER_LABEL)
            await pc.setLocalDescription(await pc.createAnswer())
            await handle.message({"request": "start"}, _jsep(pc))
            track = await asyncio.wait_for(tracks.get(), 5)
        except BaseException:
            await pc.close()
            await handle.detach()
            raise
        return cls(handle, pc, track)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.track.stop()
        await self.pc.close()
        await self.handle.detach()
