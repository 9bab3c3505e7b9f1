"""aiortc tracks: ``AvatarTrack`` on the sender, ``VerifyTrack`` on the receiver.

Both wrap an incoming video track and run each frame through a :class:`Pipeline` on one worker
thread, so the event loop never waits on MediaPipe (a receiver's frames between landmark
passes, which only read the verifier's state, stay on the loop). A reader task keeps only the
newest incoming frame (one slot, no queue): when processing is slower than the camera, stale
frames are dropped and latency stays at about one frame's work. Output frames keep the
input's ``pts`` and ``time_base``. Events go to ``on("event", ...)`` listeners and, as JSON, to
a data channel.

With signed verdicts (:mod:`fingerprint_live.attest`), the sender's ``Attestor`` signs the camera
side's state after each frame when due, and the receiver's events carry the combined verdict of
the statements it accepted and its own motion check.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from aiortc import MediaStreamTrack, RTCDataChannel
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame
from av.video.reformatter import VideoReformatter

from ..attest.channel import Attestor, ReceiverAttestation
from ..decision import State
from ..embedder import Embedder
from ..enrollment import Enrollment
from ..events import Event
from ..guard import GuardConfig, Policy
from ..pipeline import LiveFrame, Pipeline
from ..verifier import LANDMARK_EVERY, StreamingVerifier, VerifierConfig

#: Output frames remembered for the fps and latency figures (a few seconds).
STATS_FRAMES = 100


class AvatarTrack(MediaStreamTrack):
    """The guarded avatar of ``source`` (a camera or a remote track), as a video track."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack, pipeline: Pipeline,
                 channel: RTCDataChannel | None = None, attestor: Attestor | None = None) -> None:
        super().__init__()
        self.source, self.pipeline, self.channel = source, pipeline, channel
        self.attestor = attestor
        self.last: LiveFrame | None = None
        self.frames_in = self.dropped = 0
        self._newest: tuple[VideoFrame, float] | None = None
        self._arrived = asyncio.Event()
        self._source_ended = False
        self._reader: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="pipeline")
        #: Frames to RGB on the pipeline thread, keeping one conversion context (a frame's own
        #: ``to_ndarray`` makes and frees one per frame).
        self._to_rgb = VideoReformatter()
        self._done: deque[tuple[float, float]] = deque(maxlen=STATS_FRAMES)  # (out, latency)

    async def recv(self) -> VideoFrame:
        if self._reader is None:
            self._reader = asyncio.ensure_future(self._read())
        while self._newest is None:
            if self._source_ended or self.readyState != "live":
                self.stop()
                raise MediaStreamError
            self._arrived.clear()
            await self._arrived.wait()
        frame, arrived = self._newest
        self._newest = None
        if self._light():
            out = self._work(frame)
        else:
            out = await asyncio.get_running_loop().run_in_executor(self._executor, self._work,
                                                                   frame)
        self._done.append((time.monotonic(), time.monotonic() - arrived))
        if self.last is not None:
            self._report(self.last, _stamp(frame))
        return out

    def _report(self, live: LiveFrame, stamp: float) -> None:
        """After each frame, on the event loop: the signed statement when one is due, and
        the frame's event if it has one."""
        if self.attestor is not None:
            self.attestor.observe(live.state, live.decision.action, live.score)
        if live.event is not None:
            self._publish(live.event)

    def _light(self) -> bool:
        """Whether the next frame's work is a few arithmetic steps, done on the event loop
        rather than handed to the pipeline thread and back (which costs more than the work)."""
        return False

    def _work(self, frame: VideoFrame) -> VideoFrame:
        """On the pipeline thread: decode to RGB, run the pipeline, encode the output frame."""
        result = self.pipeline.process(self._rgb(frame), _stamp(frame))
        self.last = result
        out = VideoFrame.from_ndarray(result.image, format="rgb24")
        out.pts, out.time_base = frame.pts, frame.time_base
        return out

    def _rgb(self, frame: VideoFrame) -> np.ndarray:
        return self._to_rgb.reformat(frame, format="rgb24").to_ndarray()

    async def _read(self) -> None:
        try:
            while True:
                frame = await self.source.recv()
                self.frames_in += 1
                if self._newest is not None:
                    self.dropped += 1
                self._newest = (frame, time.monotonic())
                self._arrived.set()
        except Exception:  # noqa: BLE001 - ended or broken: either way no more frames come
            self._source_ended = True
            self._arrived.set()

    def _publish(self, event: Event) -> None:
        self.emit("event", event)
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(json.dumps(event.to_json()))

    @property
    def last_latency(self) -> float | None:
        """Seconds from the newest output frame's arrival here to its output."""
        return self._done[-1][1] if self._done else None

    def stats(self) -> dict:
        """Output fps and processing latency (arrival to output, ms) over the last frames."""
        if len(self._done) < 2:
            return {"fps": 0.0, "latency_ms": None, "dropped": self.dropped}
        times = np.array([t for t, _ in self._done])
        lat = np.array([lat for _, lat in self._done]) * 1000
        span = times[-1] - times[0]
        return {"fps": round((len(times) - 1) / span, 1) if span > 0 else 0.0,
                "latency_ms": round(float(np.median(lat)), 1), "dropped": self.dropped}

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.readyState == "live":
            self._executor.submit(self.pipeline.close)
            self._executor.shutdown(wait=False)
        super().stop()


class VerifyTrack(AvatarTrack):
    """Receiver side: checks an incoming avatar stream against an enrollment.

    Only the avatar is seen here (the paper's setting), so motion is all there is: the
    verifier weighs motion alone, with the calibration for avatar streams, and decides by the
    receiver's ``setting`` (``RECEIVER_SETTINGS``: ``quick``, or ``patient`` for a verdict
    worth acting on, later). Landmarks are found on one frame in ``landmark_every``, of the
    one face the avatar shows. Frames
    pass through unchanged unless a ``policy`` other than OFF is asked for; state changes come
    out as events.

    With ``attestation`` (attached to the sender's statement channel), the state in events is
    the combined verdict of the camera side's signed statements and motion, and every event
    says whether a valid statement backs it.
    """

    def __init__(self, source: MediaStreamTrack, enrollment: Enrollment, embedder: Embedder,
                 config: VerifierConfig | None = None, policy: Policy = Policy.OFF,
                 channel: RTCDataChannel | None = None, setting: str = "quick",
                 landmark_every: int = LANDMARK_EVERY,
                 attestation: ReceiverAttestation | None = None) -> None:
        verifier = StreamingVerifier(enrollment, embedder,
                                     config or VerifierConfig(view="avatar", setting=setting))
        super().__init__(source, Pipeline(None, verifier, GuardConfig(policy=policy),
                                          landmark_every=landmark_every, max_faces=1), channel)
        self._passes = policy is Policy.OFF  # frames go on as they came: no pixels redrawn
        self.attestation = attestation
        self._said: tuple[State, bool] | None = None  # the combined verdict last published

    def _light(self) -> bool:
        """With policy OFF, a frame without a landmark pass only reads the verifier's state."""
        return self._passes and not self.pipeline.looks_next

    def _work(self, frame: VideoFrame) -> VideoFrame:
        """As the sender's, but with policy OFF a frame goes on as it came, and a frame that
        gets no landmark pass is not even converted to RGB."""
        if not self._passes:
            return super()._work(frame)
        pixels = self._rgb(frame) if self.pipeline.looks_next else None
        self.last = self.pipeline.process(pixels, _stamp(frame))
        return frame

    def _report(self, live: LiveFrame, stamp: float) -> None:
        """With attestation: an event whenever the combined verdict or the frame's own event
        changes, carrying the combined state and whether it is attested."""
        if self.attestation is None:
            super()._report(live, stamp)
            return
        verdict = self.attestation.verdict(live.state)
        said = (verdict.state, verdict.attested)
        if said == self._said and live.event is None:
            return
        previous, self._said = self._said[0] if self._said else None, said
        own = live.event
        self._publish(Event(stamp, verdict.state, previous, live.score,
                            own.signal if own else None, live.decision.action, verdict.reason,
                            own.note if own else "", live.glitch is not None,
                            live.warning or "",
                            "attested" if verdict.attested else "unattested"))


def _stamp(frame: VideoFrame) -> float:
    """A frame's stream time in seconds (now, for a frame without one)."""
    return float(frame.pts * frame.time_base) if frame.pts is not None else time.monotonic()
