"""The short way in, with one import: enroll, verify a recording, check live camera frames.

    import fingerprint_live as fl

    fl.enroll(["me_1.mp4", "me_2.mp4"]).save("me.fpe")      # how you move and how you look
    result = fl.verify("call.mp4", "me.fpe")                 # .verdict, .events
    with fl.checker("me.fpe") as check:                      # live frames
        frame = check.process(rgb, t)                        # .state, .score, .decision

The models are the shipped ones unless ``model_dir`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .decision import Signal, State
from .embedder import Embedder
from .enrollment import Enrollment
from .errors import FingerprintError
from .events import Event
from .face_descriptor import FaceDescriptor, load_info
from .guard import GuardConfig, Policy
from .pipeline import Pipeline
from .verifier import SIGNAL_SETS, StreamingVerifier, VerifierConfig
from .video_enrollment import MIN_SECONDS, build_enrollment

__all__ = ["Enrollment", "Verdict", "checker", "enroll", "verify"]


def enroll(videos: Sequence[str | Path], *, min_seconds: float = MIN_SECONDS,
           model_dir: str | Path | None = None) -> Enrollment:
    """The enrollment of the person talking in ``videos`` (save it with ``.save(path)``)."""
    return build_enrollment(videos, Embedder(model_dir), FaceDescriptor(model_dir), min_seconds)


@dataclass(frozen=True)
class Verdict:
    """What ``verify`` found: VERIFIED, MISMATCH or INCONCLUSIVE, and why."""

    verdict: str
    signals: str  # what was weighed: fused, motion or appearance
    events: list[Event] = field(default_factory=list)
    motion_windows: int = 0
    face_checks: int = 0
    live_windows: int = 0
    max_faces: int = 0
    why: str = ""  # for INCONCLUSIVE


def verify(video: str | Path, enrollment: Enrollment | str | Path, *,
           signals: str | None = None, threshold: float | None = None,
           model_dir: str | Path | None = None, setting: str | None = None) -> Verdict:
    """Stream ``video`` through the verifier as a live call would.

    ``signals``: ``fused`` (a camera recording: motion and appearance; the default when the
    enrollment holds a face), ``motion`` (a recording of the avatar) or ``appearance``.
    ``setting``: with motion alone, the receiver's decision setting by name (``quick``, the
    default, or ``patient``). MISMATCH if it ever came, else VERIFIED if it came, else
    INCONCLUSIVE.
    """
    from .offline.clip_descriptors import describe_on_demand
    from .offline.clip_landmarks import extract_clip
    from .offline.clip_stream import play

    embedder = Embedder(model_dir)
    if not isinstance(enrollment, Enrollment):
        enrollment = Enrollment.load(enrollment)
    signals = signals or ("fused" if enrollment.appearance is not None else "motion")
    uses_face = Signal.APPEARANCE in SIGNAL_SETS[signals]
    if uses_face and enrollment.appearance is None:
        raise FingerprintError("the enrollment holds no face: enroll again with this version, "
                               "or check motion alone (signals='motion').")
    descriptor = FaceDescriptor(model_dir) if uses_face else None
    events: list[Event] = []
    verifier = StreamingVerifier(
        enrollment, embedder, VerifierConfig(threshold=threshold, signals=SIGNAL_SETS[signals],
                                             view="camera" if uses_face else "avatar",
                                             setting=setting),
        on_event=events.append, appearance=descriptor.info if descriptor else None)
    clip = extract_clip(video)
    play(verifier, clip, describe_on_demand(video, descriptor) if descriptor else None)
    kinds = [kind for _, kind, _, _ in verifier.observations]
    reached = {e.state for e in events}
    verdict = ("MISMATCH" if State.MISMATCH in reached
               else "VERIFIED" if State.VERIFIED in reached else "INCONCLUSIVE")
    counts = {"motion_windows": kinds.count(Signal.MOTION),
              "face_checks": kinds.count(Signal.APPEARANCE), "live_windows": kinds.count("live")}
    return Verdict(verdict, signals, events, **counts,
                   max_faces=int(clip.num_faces.max()) if len(clip) else 0,
                   why=_why(counts, uses_face) if verdict == "INCONCLUSIVE" else "")


def _why(counts: dict, uses_face: bool) -> str:
    if counts["motion_windows"] == 0 and not (uses_face and counts["face_checks"]):
        return "no stretch of face motion was long enough for a window (2 s)"
    if counts["motion_windows"] and counts["live_windows"] == 0:
        return "the face never moved as a live face does (a photo?)"
    return "the evidence never became clear either way"


def checker(enrollment: Enrollment | str | Path, *, model_dir: str | Path | None = None,
            device: str = "auto", on_event: Callable[[Event], None] | None = None) -> Pipeline:
    """A pipeline without an avatar for your own camera frames: ``process(rgb, t)`` gives the
    state and evidence (motion and appearance, the face described in its own process); close it
    when done, or use it in a ``with`` block."""
    embedder, faces = Embedder(model_dir, device=device), load_info(model_dir)
    if not isinstance(enrollment, Enrollment):
        enrollment = Enrollment.load(enrollment, embedder.info.model_id, faces.model_id)
    verifier = StreamingVerifier(enrollment, embedder, appearance=faces)
    return Pipeline(None, verifier, GuardConfig(policy=Policy.OFF), on_event=on_event)
