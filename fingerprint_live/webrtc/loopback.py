"""Two aiortc peers in one process, connected directly: for tests, benchmarks and examples."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiortc import MediaStreamTrack, RTCPeerConnection

from ..attest.channel import CHANNEL_LABEL, Attestor, ReceiverAttestation
from ..attest.keys import SigningKey
from ..avatar.default_avatar import DefaultAvatar
from ..avatar.portrait import load_portrait
from ..embedder import Embedder
from ..enrollment import Enrollment
from ..events import Event
from ..face_descriptor import DescriptorInfo
from ..guard import GuardConfig
from ..pipeline import Pipeline
from ..verifier import StreamingVerifier
from .file_track import VideoFileTrack
from .ice import loopback_only, rtc_configuration
from .tracks import AvatarTrack, VerifyTrack

#: Makes the sender's outgoing track from its camera, on its peer connection (where it may
#: open the attest channel).
Sender = Callable[[RTCPeerConnection, MediaStreamTrack], MediaStreamTrack]


async def negotiate(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    """Offer, answer and apply both; aiortc gathers all candidates before the SDP is ready."""
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


def attested_sender(enrollment: Enrollment, key: SigningKey, embedder: Embedder,
                    faces: DescriptorInfo,
                    on_event: Callable[[Event], None] | None = None) -> Sender:
    """The camera side as the product runs it: the guarded avatar (face and motion against the
    owner's full ``enrollment``), its state signed with ``key`` on the attest channel."""

    def make(pc: RTCPeerConnection, camera: MediaStreamTrack) -> MediaStreamTrack:
        verifier = StreamingVerifier(enrollment, embedder, appearance=faces)
        pipeline = Pipeline(DefaultAvatar(load_portrait()), verifier, GuardConfig(),
                            on_event=on_event)
        attestor = Attestor(key, pc.createDataChannel(CHANNEL_LABEL), verifier.signals)
        return AvatarTrack(camera, pipeline, attestor=attestor)

    return make


async def until_ended(sender: RTCPeerConnection, receiver: RTCPeerConnection,
                      ended: asyncio.Event, drains: list[asyncio.Future], limit: float,
                      linger: float = 0.5) -> None:
    """Connect the two peers, wait until ``ended`` (at most ``limit`` s), let the last frames
    and messages through for ``linger`` s, hang up both and wait for the ``drains`` to end."""
    await negotiate(sender, receiver)
    await asyncio.wait_for(ended.wait(), limit)
    await asyncio.sleep(linger)
    await sender.close()
    await receiver.close()
    await asyncio.gather(*drains)


@dataclass
class FarSide:
    """What a checking receiver saw in one call: its events, each with the monotonic time it
    was published, the times of its checked frames, and its statement counts."""

    attestation: ReceiverAttestation
    events: list[tuple[float, Event]] = field(default_factory=list)
    frames: list[float] = field(default_factory=list)
    switched_at: float | None = None  # when the camera's frame ``switch_after + 1`` left

    def states(self, attestation: str | None = None) -> list[str]:
        """The published states, in order (only the attested or unattested ones, if asked)."""
        return [e.state.value for _, e in self.events
                if attestation is None or e.attestation == attestation]


async def far_side_call(paths: Sequence[str | Path], sender: Sender, copy: Enrollment,
                        embedder: Embedder, require: bool = False,
                        switch_after: int | None = None, limit: float = 120) -> FarSide:
    """Play ``paths`` as the sender's camera, into ``sender``'s track, to a receiver that
    checks it with ``VerifyTrack`` and the signed verdicts against ``copy`` (the receiver's copy,
    with the owner's public key), on 127.0.0.1, until the clips end."""
    source = VideoFileTrack(paths)
    far = FarSide(ReceiverAttestation(copy.public_key, require))
    ended, drains = asyncio.Event(), []
    source.on("ended", ended.set)
    if switch_after is not None:
        original, sent = source.recv, [0]

        async def counted():
            frame = await original()
            sent[0] += 1
            if sent[0] == switch_after + 1:
                far.switched_at = time.monotonic()
            return frame

        source.recv = counted
    pc_s, pc_r = RTCPeerConnection(rtc_configuration()), RTCPeerConnection(rtc_configuration())

    @pc_r.on("datachannel")
    def _channel(channel) -> None:
        if channel.label == CHANNEL_LABEL:
            far.attestation.attach(channel, pc_r.remoteDescription.sdp)

    async def drain(track: VerifyTrack) -> None:
        try:
            while True:
                await track.recv()
                far.frames.append(time.monotonic())
        except Exception:  # noqa: BLE001 - the track ends when the call closes
            return

    @pc_r.on("track")
    def _track(track) -> None:
        checked = VerifyTrack(track, copy, embedder, attestation=far.attestation)
        checked.on("event", lambda e: far.events.append((time.monotonic(), e)))
        drains.append(asyncio.ensure_future(drain(checked)))

    with loopback_only():
        pc_s.addTrack(sender(pc_s, source))
        await until_ended(pc_s, pc_r, ended, drains, limit)
    far.attestation.close()
    return far
