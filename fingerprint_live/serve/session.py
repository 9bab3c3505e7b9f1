"""One browser session: its peer connection, pipeline, enrollment and status messages.

Nothing here is shared between sessions except the embedder (an onnxruntime session, safe to
run from several threads) and the read-only default portrait. When it ends, the server log gets
one line: how long the call lasted, and its last state and for how long it had held.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from dataclasses import replace

import numpy as np
from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription

from fingerprint_live.avatar.default_avatar import DefaultAvatar

from ..attest.keys import SigningKey
from ..decision import State
from ..embedder import Embedder
from ..enrollment import Enrollment
from ..events import Event
from ..face_descriptor import DescriptorInfo
from ..growth import CallHarvest
from ..guard import GuardConfig
from ..pipeline import Pipeline
from ..verifier import StreamingVerifier
from ..webrtc import AvatarTrack, rtc_configuration
from .enrollment_recorder import EnrollmentRecorder

#: Seconds between two status messages to the page.
STATUS_EVERY = 0.5

log = logging.getLogger(__package__)


class Session:
    """The server half of one call: camera track in, guarded avatar track out."""

    def __init__(self, portrait: np.ndarray, embedder: Embedder, faces: DescriptorInfo,
                 enroll_seconds: float, guard: GuardConfig, stun: str | None = None,
                 enrollment: Enrollment | None = None,
                 harvest: CallHarvest | None = None) -> None:
        """With ``enrollment`` the call is verified against it at once; without, the first
        ``enroll_seconds`` of face motion are recorded as this session's enrollment. With
        ``harvest`` (the owner allows growth) the verifier feeds it, so that the call can be
        added to the enrollment once it has ended."""
        self.id = secrets.token_urlsafe(12)
        self.embedder, self.faces = embedder, faces
        self.pc = RTCPeerConnection(rtc_configuration(stun))
        self.channel: RTCDataChannel | None = None
        self.track: AvatarTrack | None = None
        self.enrollment = enrollment
        self.recorded = False  # the enrollment was recorded here (and may be saved)
        self._key: bytes | None = None  # its private key file, until the page takes it
        self.error: str | None = None
        self.closed = False
        self.started = time.monotonic()
        self.ended: float | None = None
        self.state: State | None = None  # the last state, since ``state_since`` (monotonic)
        self.state_since = self.started
        self.harvest = harvest
        self.grown = False  # this call was added to the enrollment (never twice)
        self.portrait = portrait
        self.recorder = EnrollmentRecorder(enroll_seconds, embedder, faces, self._enrolled,
                                           portrait)
        self.verifier = (None if enrollment is None
                         else StreamingVerifier(enrollment, embedder, appearance=faces,
                                                harvest=harvest))
        self.pipeline = Pipeline(DefaultAvatar(portrait), self.verifier, guard, waiting="enrolling",
                                 faces=faces)
        if enrollment is None:
            self.pipeline.on_face = self.recorder.add
            self.pipeline.on_descriptor = self.recorder.add_descriptor
        self._loop = asyncio.get_running_loop()
        self._status: asyncio.Task | None = None
        self.pc.on("datachannel", self._on_channel)
        self.pc.on("track", self._on_track)

    async def answer(self, sdp: str, kind: str) -> RTCSessionDescription:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        if self.track is None:
            raise ValueError("the offer has no video track")
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self._status = asyncio.ensure_future(self._send_status())
        return self.pc.localDescription

    def _on_channel(self, channel: RTCDataChannel) -> None:
        self.channel = channel
        if self.track is not None:
            self.track.channel = channel

    def _on_track(self, track) -> None:
        if track.kind == "video" and self.track is None:
            self.track = AvatarTrack(track, self.pipeline, self.channel)
            self.track.on("event", self._on_event)
            self.pc.addTrack(self.track)

    def _on_event(self, event: Event) -> None:
        if event.state is not self.state:
            self.state, self.state_since = event.state, time.monotonic()

    def _enrolled(self, enrollment: Enrollment | None, error: str | None) -> None:
        """From the enrollment thread: start verifying, or record again after a failure."""
        if enrollment is None:
            self.error = f"enrollment failed: {error} Recording again."
            self.recorder = EnrollmentRecorder(self.recorder.seconds, self.embedder,
                                               self.faces, self._enrolled, self.portrait)
            self.pipeline.on_face = self.recorder.add
            self.pipeline.on_descriptor = self.recorder.add_descriptor
            return
        key = SigningKey.generate()  # the owner's pair: the enrollment carries the public half
        enrollment = replace(enrollment, public_key=key.public_raw)
        self._key = key.pem()
        self.enrollment, self.error, self.recorded = enrollment, None, True
        self.pipeline.on_face = self.pipeline.on_descriptor = None
        self.verifier = StreamingVerifier(enrollment, self.embedder, appearance=self.faces)
        self.pipeline.set_verifier(self.verifier)
        self._loop.call_soon_threadsafe(self._send, {
            "type": "enrolled", "session": self.id, "seconds": round(enrollment.seconds, 1),
            "windows": len(enrollment.motion.vectors),
            "faces": len(enrollment.appearance.vectors), "key_id": key.key_id})

    def take_key(self) -> bytes | None:
        """The private key made with the recorded enrollment, once: the page saves it beside
        the enrollment, and the server forgets it (it is the owner's secret, not the server's)."""
        key, self._key = self._key, None
        return key

    def status(self) -> dict:
        last = self.track.last if self.track is not None else None
        stats = self.track.stats() if self.track is not None else {}
        return {
            "type": "status",
            "phase": "verifying" if self.enrollment is not None else "enrolling",
            "progress": 1.0 if self.enrollment is not None else round(self.recorder.progress, 3),
            "state": last.state.value if last else None,
            "score": None if last is None or last.score is None else round(last.score, 2),
            "bounds": last.bounds if last else None,  # the score's VERIFIED and MISMATCH lines
            "action": last.decision.action.value if last else None,  # what others see
            "reason": last.decision.reason if last else "",
            "note": last.decision.note if last else "",  # for the user's own view
            "warning": last.warning if last else None,
            "error": self.error,
            **stats,
        }

    def _send(self, message: dict) -> None:
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(json.dumps(message))

    async def _send_status(self) -> None:
        while True:
            self._send(self.status())
            await asyncio.sleep(STATUS_EVERY)

    def summary(self) -> dict:
        """How the call went: its length, its last state and how long that state had held."""
        end = self.ended if self.ended is not None else time.monotonic()
        return {"session": self.id, "seconds": round(end - self.started, 1),
                "state": self.state.value if self.state else None,
                "state_seconds": round(end - self.state_since, 1) if self.state else None,
                "recorded": self.recorded}

    async def close(self, log_end: bool = True) -> None:
        """End the call; ``log_end`` writes its one line to the server log."""
        if self.closed:
            return
        self.closed, self.ended = True, time.monotonic()
        if log_end:
            done = self.summary()
            last = (f"{done['state']} for the last {done['state_seconds']} s" if done["state"]
                    else "no verdict (no video came)")
            log.info("session %s ended after %s s: %s", self.id[:8], done["seconds"], last)
        if self._status is not None:
            self._status.cancel()
        await self.pc.close()
        if self.track is not None:
            self.track.stop()  # closes the pipeline on its own thread
        else:
            self.pipeline.close()
