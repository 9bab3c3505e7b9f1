"""The fixed evaluation protocol: every ordered clip pair, and takeover streams.

Pair protocol: for clips A != B, enroll from A alone and score B with the verifier's clip
score. Genuine when A and B share an identity. Identities are read only to label pairs; nothing
is trained here. The clip score depends on the signals evaluated:

- ``motion`` (the default, the protocol's original meaning): the mean cosine of B's motion
  windows to A's mean window embedding;
- ``appearance``: minus the mean distance of B's face descriptors to A's mean descriptor;
- ``fused``: the mean log-likelihood ratio of B's motion windows plus that of its face
  descriptors, through the models' calibrations.

Takeover streams run the streaming verifier, with the same signals, over a genuine clip and
then another person's clip.

Views: a clip is probed as recorded (``camera``) or rendered through the default avatar and
its landmarks found again (``avatar``, what the receiver sees). The enrollment is made the way
the product makes it: from the owner's camera recording and the same recording rendered
through the avatar (``enrolled_from="camera+avatar"``: the enrollment's two parts), also when
the probe is the avatar; ``camera`` or ``avatar`` alone enroll from one of them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..appearance import CheckSchedule
from ..decision import Signal, State
from ..embedder import Embedder, ModelInfo
from ..enrollment import Enrollment, Segment, Vectors
from ..errors import FingerprintError
from ..face_descriptor import DescriptorInfo, FaceDescriptor
from ..landmarks import FaceLandmarks
from ..progress import progress_bar
from ..verifier import StreamingVerifier, VerifierConfig
from .avatar_render import rendered_clip
from .clip_descriptors import ClipDescriptors, clip_descriptors
from .clip_landmarks import ClipLandmarks, extract_clip
from .clip_stream import play
from .manifest import Clip
from .metrics import summary

#: How a view's clips are seen: landmarks as recorded, or through the default avatar.
VIEWS: dict[str, Callable[[Path], ClipLandmarks]] = {"camera": extract_clip,
                                                     "avatar": rendered_clip}
#: What an enrollment can be made from: one view of the recording, or the camera's with the
#: avatar's as its avatar part (what ``enroll`` makes).
ENROLLED_FROM = ("camera", "avatar", "camera+avatar")
#: How the product enrolls, as each view is scored against it.
PRODUCT_ENROLLMENT = {"camera": "camera", "avatar": "camera+avatar"}


def enrollment_of(parts: list[tuple[np.ndarray, np.ndarray | None]], info: ModelInfo | None,
                  appearance: Vectors | None = None) -> Enrollment:
    """An enrollment from the windows of one or more recordings, each ``(motion windows,
    avatar-part windows or None)``, as ``enroll`` makes it from several videos, bound to the
    motion model ``info`` (None: to none, for scoring alone)."""
    rendered = [a for _, a in parts if a is not None]
    return Enrollment(
        Vectors(info.model_id if info else "", np.concatenate([m for m, _ in parts])),
        appearance,
        segments=tuple(Segment("", len(m), avatar_windows=0 if a is None else len(a))
                       for m, a in parts),
        avatar=(Vectors(info.view_id("avatar") if info else "", np.concatenate(rendered))
                if rendered else None))


@dataclass
class Scored:
    clip: Clip
    landmarks: ClipLandmarks  # as the probe is seen
    embeddings: np.ndarray  # motion window embeddings of the probe
    descriptors: ClipDescriptors | None = None  # face descriptors, when appearance is used
    #: The windows an enrollment from this clip holds, when it is made from other views of the
    #: clip than the probe's (the receiver: enrolled from the camera and its rendering, probed
    #: through the avatar): (motion windows, avatar-part windows or None); None: the probe's.
    enrolled: tuple[np.ndarray, np.ndarray | None] | None = None

    @property
    def enrolled_parts(self) -> tuple[np.ndarray, np.ndarray | None]:
        return (self.embeddings, None) if self.enrolled is None else self.enrolled

    def enrollment(self, info: ModelInfo, descriptor_id: str | None = None) -> Enrollment:
        """An enrollment from this clip alone, bound to the motion model ``info``."""
        appearance = None
        if descriptor_id is not None and self.descriptors is not None:
            appearance = Vectors(descriptor_id, self.descriptors.vectors)
        return enrollment_of([self.enrolled_parts], info, appearance)

    def describe(self, i: int, face: FaceLandmarks) -> np.ndarray | None:
        """The cached descriptor of frame ``i``, if the clip has one (for ``clip_stream``)."""
        j = np.searchsorted(self.descriptors.frames, i)
        if j < len(self.descriptors) and self.descriptors.frames[j] == i:
            return self.descriptors.vectors[j]
        return None


def embed_clips(clips: list[Clip], embedder: Embedder, target_shape: np.ndarray | None = None,
                progress: bool = False, view: str = "camera",
                descriptor: FaceDescriptor | None = None, enrolled_from: str | None = None,
                every: int = 1) -> tuple[list[Scored], list[str]]:
    """Embed every clip's windows as ``view`` shows them (and describe its faces, with
    ``descriptor``), and the windows an enrollment from the clip holds: as ``enrolled_from``
    (``ENROLLED_FROM``) says, by default as the product enrolls (``PRODUCT_ENROLLMENT``).
    ``every``: the probe's landmarks on one frame in
    ``every`` only (the enrollment's on every frame), as a receiver that thins them has.

    Clips with no full window (in any view used), unreadable ones, and (with ``descriptor``)
    clips with no frame that shows exactly one face are skipped.
    """
    parts = (enrolled_from or PRODUCT_ENROLLMENT[view]).split("+")
    own = parts == [view] and every == 1
    scored, skipped = [], []
    for clip in progress_bar(clips, desc="clips", unit="clip", quiet=not progress):
        try:
            full = VIEWS[view](clip.path)
            marks = full.every(every)
            described = (None if descriptor is None
                         else clip_descriptors(clip.path, marks, descriptor))
            made = []
            for part in ([] if own else parts):
                source = full if part == view else VIEWS[part](clip.path)
                made.append(embedder.embed_clip(source.times, source.points, target_shape,
                                                part)[0])
        except FingerprintError as exc:
            skipped.append(f"{clip.path}: {exc}")
            continue
        emb, _ = embedder.embed_clip(marks.times, marks.points, target_shape, view)
        if (len(emb) == 0 or (described is not None and len(described) == 0)
                or any(len(m) == 0 for m in made)):
            skipped.append(str(clip.path))
            continue
        enrolled = (made[0], made[1] if len(made) > 1 else None) if made else None
        scored.append(Scored(clip, marks, emb, described, enrolled))
    return scored, skipped


def pair_scores(scored: list[Scored], signals: str, embedder: Embedder,
                appearance: DescriptorInfo | None = None, view: str = "camera",
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score matrix S[a, b] (enroll a, score b), same-identity mask, and same-performance mask.

    Motion windows are scored as the verifier scores a stream of ``view`` (its branch mix).

    Same performance: a real clip and a synthetic one of the same identity, which the data's
    README says share motion frame for frame; they are reported apart.
    """
    enrollments = [s.enrollment(embedder.info, appearance and appearance.model_id)
                   for s in scored]
    mix = embedder.info.mix(view)
    if signals == "motion":
        S = np.array([[float(e.motion_scores(s.embeddings, mix, view).mean()) for s in scored]
                      for e in enrollments])
    elif signals == "appearance":
        S = -np.array([[float(e.appearance_distances(s.descriptors.vectors).mean())
                        for s in scored] for e in enrollments])
    else:
        motion = embedder.info.calibration("camera")
        S = np.array([[float(motion.llr(e.motion_scores(s.embeddings, mix)).mean()
                             + appearance.calibration.llr(
                                 e.appearance_distances(s.descriptors.vectors)).mean())
                       for s in scored] for e in enrollments])
    ids = np.array([s.clip.identity for s in scored])
    kinds = np.array([s.clip.kind for s in scored])
    same = ids[:, None] == ids[None, :]
    same_perf = same & (kinds[:, None] != kinds[None, :])
    return S, same, same_perf


def evaluate_pairs(scored: list[Scored], signals: str, embedder: Embedder,
                   appearance: DescriptorInfo | None = None, view: str = "camera") -> dict:
    S, same, same_perf = pair_scores(scored, signals, embedder, appearance, view)
    off = ~np.eye(len(scored), dtype=bool)
    genuine, impostor = S[same & off], S[~same]
    result = summary(genuine, impostor)
    cross = summary(S[same & off & ~same_perf], impostor)
    result.update(
        n_genuine=int(genuine.size),
        n_impostor=int(impostor.size),
        cross_recording={"auc": cross["auc"], "eer": cross["eer"],
                         "n_genuine": int((same & off & ~same_perf).sum())},
        genuine_score_median=float(np.median(genuine)) if genuine.size else None,
        impostor_score_median=float(np.median(impostor)) if impostor.size else None,
        pairs=_pair_record(S, same & off, same_perf, ~same,
                           [s.clip.identity for s in scored]),
    )
    return result


def _pair_record(S: np.ndarray, genuine: np.ndarray, same_perf: np.ndarray,
                 impostor: np.ndarray, ids: list[str]) -> dict:
    """Every pair's score and people, so folds can be pooled and resampled by person."""
    gi, gj = np.nonzero(genuine)
    ii, ij = np.nonzero(impostor)
    return {"genuine": {"score": S[gi, gj].round(5).tolist(),
                        "identity": [ids[i] for i in gi],
                        "cross_recording": (~same_perf[gi, gj]).tolist()},
            "impostor": {"score": S[ii, ij].round(5).tolist(),
                         "identities": [[ids[i], ids[j]] for i, j in zip(ii, ij, strict=True)]}}


@dataclass(frozen=True)
class Takeover:
    """One takeover stream: enroll from clip ``enrolled``; stream the ``genuine`` clips (other
    recordings of the enrolled person), then the ``impostor`` clips (another person's)."""

    enrolled: int
    genuine: tuple[int, ...]
    impostor: tuple[int, ...]


def takeover_streams(scored: list[Scored], impostors_per_pair: int = 3,
                     long: bool = False, at_least: float = 0.0) -> list[Takeover]:
    """Takeover streams over ``scored``: for every clip A and every other recording B of A's
    person (of A's kind), stream B, then another person C, drawn reproducibly.

    ``long``: as long as the data allows instead, for a receiver that can wait: for every clip
    A, every other recording of A's person in turn, then every recording of C in turn; and
    C's recordings again, in turn, until C lasts ``at_least`` seconds (most people have one
    short recording, so few streams reach a 30 s horizon otherwise; a repeat is the same
    person's motion, though not new motion).
    """
    by_person: dict[str, list[int]] = {}
    for i, s in enumerate(scored):
        by_person.setdefault(s.clip.identity, []).append(i)
    streams = []
    for a, sa in enumerate(scored):
        mates = [b for b in by_person[sa.clip.identity]
                 if b != a and scored[b].clip.kind == sa.clip.kind]
        others = [c for c, sc in enumerate(scored) if sc.clip.identity != sa.clip.identity]
        for b in ([tuple(mates)] if long and mates else [(b,) for b in mates]):
            seed = int(hashlib.sha256(f"{a}-{b[0]}".encode()).hexdigest()[:8], 16)
            pick = np.random.default_rng(seed).choice(
                others, size=min(impostors_per_pair, len(others)), replace=False)
            for c in pick:
                person = scored[int(c)].clip.identity
                impostor = tuple(by_person[person]) if long else (int(c),)
                if long and at_least > 0:
                    lasts = sum(float(scored[k].landmarks.times[-1]) for k in impostor)
                    impostor *= max(1, math.ceil(at_least / lasts)) if lasts > 0 else 1
                streams.append(Takeover(a, b, impostor))
    return streams


def play_parts(verifier: StreamingVerifier, scored: list[Scored], parts: tuple[int, ...],
               start: float, fps: float, uses_face: bool, schedule: CheckSchedule,
               target_shape: np.ndarray | None = None,
               stop: Callable[[], bool] | None = None) -> float:
    """Play clips one after another from ``start`` (each a frame after the last); the time
    after the last frame."""
    t = start
    for k in parts:
        sk = scored[k]
        play(verifier, sk.landmarks, sk.describe if uses_face else None, t, schedule,
             target_shape, stop)
        t += float(sk.landmarks.times[-1]) + 1.0 / fps
        if stop is not None and stop():
            break
    return t


def run_takeover(scored: list[Scored], stream: Takeover, embedder: Embedder,
                 config: VerifierConfig, appearance: DescriptorInfo | None = None,
                 target_shape: np.ndarray | None = None, whole: bool = False,
                 ) -> tuple[int, float | None, float, float, StreamingVerifier]:
    """One takeover stream: false MISMATCH in the genuine part, seconds to MISMATCH after the
    switch (None: missed), the genuine part's length, the impostor part's, and the verifier
    (its observations).

    The verifier is enrolled from the stream's enrollment clip alone and weighs
    ``config.signals``. It stops at the first MISMATCH, unless ``whole`` (to keep the whole
    observation log).
    """
    uses_face = Signal.APPEARANCE in (config.signals or ())
    events = []
    verifier = StreamingVerifier(
        scored[stream.enrolled].enrollment(embedder.info,
                                           appearance.model_id if uses_face else None),
        embedder, config, events.append, appearance if uses_face else None)
    schedule, fps = CheckSchedule(), embedder.info.fps
    switch = play_parts(verifier, scored, stream.genuine, 0.0, fps, uses_face, schedule,
                        target_shape)
    false = sum(e.state is State.MISMATCH for e in events)
    caught_before = verifier.state is State.MISMATCH  # the other person is blocked at once
    end = sum(float(scored[c].landmarks.times[-1]) + 1.0 / fps for c in stream.impostor)
    if not caught_before or whole:
        play_parts(verifier, scored, stream.impostor, switch, fps, uses_face, schedule,
                   target_shape, None if whole else lambda: verifier.state is State.MISMATCH)
    if caught_before:
        return false, 0.0, switch, end, verifier
    hits = [e.time for e in events if e.state is State.MISMATCH and e.time >= switch]
    return false, (hits[0] - switch if hits else None), switch, end, verifier


#: Horizons (seconds after the switch) at which detection is reported.
HORIZONS = (10.0, 30.0)


def evaluate_takeover(scored: list[Scored], embedder: Embedder, target_shape: np.ndarray | None,
                      config: VerifierConfig, appearance: DescriptorInfo | None = None,
                      impostors_per_pair: int = 3, progress: bool = True,
                      long: bool = False) -> dict:
    """Streams of another recording of the enrolled person, then another person (``long``:
    every other recording, then every recording of the other person).

    Reports how long after the switch MISMATCH comes, how often within each of ``HORIZONS``
    (among the streams whose other person lasts that long), and how often MISMATCH fires
    during the genuine part.
    """
    streams = takeover_streams(scored, impostors_per_pair, long)
    delays, missed, false_mismatches, genuine_seconds, lasting = [], 0, 0, 0.0, []
    for stream in progress_bar(streams, desc="takeover", unit="stream", quiet=not progress):
        false, delay, switch, end, _ = run_takeover(scored, stream, embedder, config,
                                                    appearance, target_shape)
        false_mismatches += false
        genuine_seconds += switch
        lasting.append((end, delay))
        if delay is None:
            missed += 1
        else:
            delays.append(delay)
    d = np.asarray(delays)
    return {
        "streams": len(streams),
        "long": long,
        "detected": len(delays),
        "missed": missed,
        "time_to_mismatch_s": {
            "median": float(np.median(d)) if d.size else None,
            "p90": float(np.percentile(d, 90)) if d.size else None,
        },
        "detected_within": {f"{h:g}s": detected_within(lasting, h) for h in HORIZONS},
        "false_mismatch_per_min": false_mismatches / max(genuine_seconds / 60.0, 1e-9),
        "false_mismatches": false_mismatches,
        "genuine_minutes": genuine_seconds / 60.0,
        "delays_s": [round(float(x), 3) for x in d],  # each detected takeover, for pooling
        "impostor_s": [round(e, 3) for e, _ in lasting],
    }


def detected_within(lasting: list[tuple[float, float | None]], horizon: float) -> dict:
    """Of the streams whose other person lasts at least ``horizon`` s, the share caught within
    it; ``lasting`` holds each stream's impostor seconds and delay (None: missed)."""
    long_enough = [d for end, d in lasting if end >= horizon]
    caught = sum(d is not None and d <= horizon for d in long_enough)
    return {"share": caught / len(long_enough) if long_enough else None,
            "streams": len(long_enough)}


def comparison_scores(scored: list[Scored], signal: Signal, info: ModelInfo,
                      descriptor_id: str | None = None, max_impostor: int = 200_000,
                      seed: int = 0, view: str = "camera",
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Raw per-observation scores of genuine and impostor comparisons, for calibration.

    Each ordered pair of clips (A, B) of one kind enrolls from A and scores each of B's motion
    windows as ``view`` sees them (a cosine per branch of the motion model: ``(n, branches)``)
    or face descriptors
    (a distance: ``(n,)``). Genuine pairs are two recordings of
    one person; a real clip and its synthetic re-rendering are left out, and so are synthetic
    clips for appearance (their face is not the labelled person's). Impostor scores are
    subsampled reproducibly to ``max_impostor``.
    """
    genuine, impostor = [], []
    for a, sa in enumerate(scored):
        if signal is Signal.APPEARANCE and sa.clip.kind != "real":
            continue
        enrollment = sa.enrollment(info, descriptor_id)
        for b, sb in enumerate(scored):
            if a == b or sa.clip.kind != sb.clip.kind:
                continue
            values = (enrollment.branch_scores(sb.embeddings, info.branches, view)
                      if signal is Signal.MOTION
                      else enrollment.appearance_distances(sb.descriptors.vectors))
            (genuine if sa.clip.identity == sb.clip.identity else impostor).append(values)
    genuine_all = np.concatenate(genuine) if genuine else np.empty(0)
    impostor_all = np.concatenate(impostor) if impostor else np.empty(0)
    if len(impostor_all) > max_impostor:
        pick = np.random.default_rng(seed).choice(len(impostor_all), max_impostor, replace=False)
        impostor_all = impostor_all[np.sort(pick)]
    return genuine_all, impostor_all
