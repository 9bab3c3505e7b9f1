"""Building an enrollment from videos: how the user moves and how they look."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from .avatar.portrait import load_portrait, portrait_id
from .embedder import Embedder
from .enrollment import MAX_MULTI_FACE_SHARE, Enrollment, Segment, Vectors
from .errors import NoFaceError
from .face_descriptor import FaceDescriptor
from .features import neutral_shape
from .growth import DEFAULT_POLICY, Addition, CallHarvest, GrowthPolicy
from .media import frame_count
from .offline.avatar_render import seen_through
from .offline.clip_descriptors import EVERY, clip_descriptors, describe_on_demand
from .offline.clip_landmarks import ClipLandmarks, extract_clip
from .offline.clip_stream import play
from .progress import progress_bar
from .verifier import StreamingVerifier

#: Default minimum of usable face motion for an enrollment, in seconds.
MIN_SECONDS = 10.0
#: Face descriptors kept per enrollment video at most (every 5th frame of a short one).
MAX_FACES_PER_VIDEO = 100


def build_enrollment(videos: Sequence[str | Path], embedder: Embedder,
                     descriptor: FaceDescriptor | None = None,
                     min_seconds: float = MIN_SECONDS, progress: bool = False,
                     portrait: np.ndarray | None = None) -> Enrollment:
    """Enroll the person in ``videos``: their motion and, with ``descriptor``, their face.

    Also keeps their median face shape, the neutral the default avatar measures them from, and
    the same motion as the far side sees it through their avatar (the default avatar of
    ``portrait``, default: the shipped one), the part a receiver compares the avatar with.
    Refuses too little motion, or several faces in view, before the faces are described. With
    ``progress``, a bar on stderr for each pass over the frames (landmarks, then faces).
    """
    clips, embs, shapes, segments, used = [], [], [], [], []
    counts = [frame_count(v) for v in videos]
    total = sum(counts) if all(counts) else None  # type: ignore[arg-type]
    with progress_bar(desc="landmarks", unit="frame", total=total, quiet=not progress) as bar:
        for video in videos:
            clip = extract_clip(video, on_frames=bar.update)
            shapes.append(clip.points[clip.found])
            multi = float((clip.num_faces > 1).mean())
            if multi > MAX_MULTI_FACE_SHARE:
                raise NoFaceError(
                    f"{video}: several faces are in view in {multi:.0%} of the frames; enroll "
                    "with only yourself in view."
                )
            emb, secs = embedder.embed_clip(clip.times, clip.points)
            clips.append(clip)
            embs.append(emb)
            if len(emb):
                segments.append(Segment(Path(video).name, len(emb), secs))
                used.append(clip)
    seconds = sum(s.seconds for s in segments)
    if seconds < min_seconds or not segments:
        raise NoFaceError(
            f"found {seconds:.1f} s of usable face motion in {len(videos)} video(s); at least "
            f"{min_seconds:.0f} s are needed. Record more natural talking, face to the camera, "
            "or add another video."
        )
    rendered = avatar_part(used, embedder, portrait, progress)
    appearance = None
    if descriptor is not None:
        faces = []
        with progress_bar(desc="faces", unit="frame", total=sum(len(c) for c in clips),
                          quiet=not progress) as bar:
            for video, clip in zip(videos, clips, strict=True):
                every = max(EVERY, -(-len(clip) // MAX_FACES_PER_VIDEO))
                faces.append(clip_descriptors(video, clip, descriptor, every,
                                              on_frames=bar.update).vectors)
        vectors = np.concatenate(faces)
        if len(vectors) == 0:
            raise NoFaceError("no frame of the video(s) shows exactly one face to describe; "
                              "enroll with only yourself in view.")
        appearance = Vectors(descriptor.info.model_id, vectors)
    return Enrollment(Vectors(embedder.info.model_id, np.concatenate([e for e in embs if len(e)])),
                      appearance, neutral=neutral_shape(np.concatenate(shapes)).astype(np.float32),
                      segments=tuple(replace(s, avatar_windows=len(r))
                                     for s, r in zip(segments, rendered, strict=True)),
                      avatar=(Vectors(embedder.info.view_id("avatar"), np.concatenate(rendered))
                              if any(len(r) for r in rendered) else None),
                      portrait=portrait_id(load_portrait() if portrait is None else portrait))


def avatar_part(clips: Sequence[ClipLandmarks], embedder: Embedder,
                portrait: np.ndarray | None = None, progress: bool = False) -> list[np.ndarray]:
    """The avatar view's windows of each clip: its landmarks rendered through the default
    avatar of ``portrait`` (default: the shipped one) and found again, embedded as the
    receiver embeds them (with the avatar view's centre); empty where none is left whole."""
    portrait = load_portrait() if portrait is None else portrait
    out = []
    with progress_bar(desc="avatar view", unit="frame", total=sum(len(c) for c in clips),
                      quiet=not progress) as bar:
        for clip in clips:
            seen = seen_through(clip, portrait, on_frames=bar.update)
            emb, _ = embedder.embed_clip(seen.times, seen.points, view="avatar")
            out.append(emb.reshape(len(emb), embedder.info.dimension))
    return out


def recording_addition(enrollment: Enrollment, video: str | Path, embedder: Embedder,
                       descriptor: FaceDescriptor,
                       policy: GrowthPolicy = DEFAULT_POLICY) -> Addition:
    """What a later recording of the owner may add to ``enrollment``: it is checked as a call
    is on the camera side (face and motion, fused), and only what both verified with a clear
    margin counts (:mod:`.growth`)."""
    harvest = CallHarvest.of(embedder.info, policy)
    verifier = StreamingVerifier(enrollment, embedder, appearance=descriptor.info,
                                 harvest=harvest)
    play(verifier, extract_clip(video), describe_on_demand(video, descriptor))
    return harvest.addition(enrollment, verifier.motion_llr, verifier.mix, Path(video).name,
                            "recording")
