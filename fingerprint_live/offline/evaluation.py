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
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..appearance import CheckSchedule
from ..decision import Signal, State
from ..embedder import Embedder
from ..enrollment import Enrollment, Vectors
from ..errors import FingerprintError
from ..face_descriptor import DescriptorInfo, FaceDescriptor
from ..landmarks import FaceLandmarks
from ..progress import progress_bar
from ..verifier import StreamingVerifier, VerifierConfig
from .clip_descriptors import ClipDescriptors, clip_descriptors
from .clip_landmarks import ClipLandmarks, extract_clip
from .clip_stream import play
from .manifest import Clip
from .metrics import summary


@dataclass
class Scored:
    clip: Clip
    landmarks: ClipLandmarks
    embeddings: np.ndarray  # motion window embeddings
    descriptors: ClipDescriptors | None = None  # face descriptors, when appearance is used

    def enrollment(self, model_id: str, descriptor_id: str | None = None) -> Enrollment:
        """An enrollment from this clip alone."""
        appearance = None
        if descriptor_id is not None and self.descriptors is not None:
            appearance = Vectors(descriptor_id, self.descriptors.vectors)
        return Enrollment(Vectors(model_id, self.embeddings), appearance)

    def describe(self, i: int, face: FaceLandmarks) -> np.ndarray | None:
        """The cached descriptor of frame ``i``, if the clip has one (for ``clip_stream``)."""
        j = np.searchsorted(self.descriptors.frames, i)
        if j < len(self.descriptors) and self.descriptors.frames[j] == i:
            return self.descriptors.vectors[j]
        return None


def embed_clips(clips: list[Clip], embedder: Embedder, target_shape: np.ndarray | None,
                progress: bool, load: Callable[[Path], ClipLandmarks] = extract_clip,
                descriptor: FaceDescriptor | None = None) -> tuple[list[Scored], list[str]]:
    """Embed every clip's windows (and describe its faces, with ``descriptor``).

    Clips with no full window, unreadable ones, and (with ``descriptor``) clips with no frame
    that shows exactly one face are skipped. ``load`` gives a clip's landmarks: as recorded, or
    as seen through the avatar.
    """
    scored, skipped = [], []
    for clip in progress_bar(clips, desc="clips", unit="clip", quiet=not progress):
        try:
            marks = load(clip.path)
            described = (None if descriptor is None
                         else clip_descriptors(clip.path, marks, descriptor))
        except FingerprintError as exc:
            skipped.append(f"{clip.path}: {exc}")
            continue
        emb, _ = embedder.embed_clip(marks.times, marks.points, target_shape)
        if len(emb) == 0 or (described is not None and len(described) == 0):
            skipped.append(str(clip.path))
            continue
        scored.append(Scored(clip, marks, emb, described))
    return scored, skipped


def pair_scores(scored: list[Scored], signals: str, embedder: Embedder,
                appearance: DescriptorInfo | None = None, view: str = "camera",
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score matrix S[a, b] (enroll a, score b), same-identity mask, and same-performance mask.

    Motion windows are scored as the verifier scores a stream of ``view`` (its branch mix).

    Same performance: a real clip and a synthetic one of the same identity, which the data's
    README says share motion frame for frame; they are reported apart.
    """
    model_id = embedder.info.model_id
    enrollments = [s.enrollment(model_id, appearance and appearance.model_id) for s in scored]
    mix = embedder.info.mix(view)
    if signals == "motion":
        S = np.array([[float(e.motion_scores(s.embeddings, mix).mean()) for s in scored]
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


def takeover_streams(scored: list[Scored], impostors_per_pair: int = 3,
                     ) -> list[tuple[int, int, int]]:
    """(A, B, C): enroll from A, stream B (A's identity, another clip of its kind), then C.

    C is another person, drawn reproducibly from the pair's indices.
    """
    streams = []
    for a, sa in enumerate(scored):
        for b, sb in enumerate(scored):
            if a == b or sa.clip.identity != sb.clip.identity or sa.clip.kind != sb.clip.kind:
                continue
            others = [c for c, sc in enumerate(scored) if sc.clip.identity != sa.clip.identity]
            seed = int(hashlib.sha256(f"{a}-{b}".encode()).hexdigest()[:8], 16)
            pick = np.random.default_rng(seed).choice(
                others, size=min(impostors_per_pair, len(others)), replace=False)
            streams += [(a, b, int(c)) for c in pick]
    return streams


def run_takeover(scored: list[Scored], stream: tuple[int, int, int], embedder: Embedder,
                 config: VerifierConfig, appearance: DescriptorInfo | None = None,
                 target_shape: np.ndarray | None = None, whole: bool = False,
                 ) -> tuple[int, float | None, float, StreamingVerifier]:
    """One takeover stream: false MISMATCH in the genuine part, seconds to MISMATCH after the
    switch (None: missed), the genuine part's length, and the verifier (its observations).

    The verifier is enrolled from clip A alone and weighs ``config.signals``. It stops at the
    first MISMATCH, unless ``whole`` (to keep the whole observation log).
    """
    a, b, c = stream
    uses_face = Signal.APPEARANCE in (config.signals or ())
    events = []
    verifier = StreamingVerifier(
        scored[a].enrollment(embedder.info.model_id, appearance.model_id if uses_face else None),
        embedder, config, events.append, appearance if uses_face else None)
    schedule = CheckSchedule()
    sb, sc = scored[b].landmarks, scored[c].landmarks
    play(verifier, sb, scored[b].describe if uses_face else None, 0.0, schedule, target_shape)
    false = sum(e.state is State.MISMATCH for e in events)
    switch = float(sb.times[-1]) + 1.0 / embedder.info.fps
    caught_before = verifier.state is State.MISMATCH  # the other person is blocked at once
    if not caught_before or whole:
        play(verifier, sc, scored[c].describe if uses_face else None, switch, schedule,
             target_shape, stop=None if whole else lambda: verifier.state is State.MISMATCH)
    if caught_before:
        return false, 0.0, switch, verifier
    hits = [e.time for e in events if e.state is State.MISMATCH and e.time >= switch]
    return false, (hits[0] - switch if hits else None), switch, verifier


def evaluate_takeover(scored: list[Scored], embedder: Embedder, target_shape: np.ndarray | None,
                      config: VerifierConfig, appearance: DescriptorInfo | None = None,
                      impostors_per_pair: int = 3, progress: bool = True) -> dict:
    """Streams of B (genuine, another clip of A's identity) then C (another person).

    The verifier is enrolled from A. Reports how long after the switch MISMATCH comes, and how
    often MISMATCH fires during the genuine part.
    """
    streams = takeover_streams(scored, impostors_per_pair)
    delays, missed, false_mismatches, genuine_seconds = [], 0, 0, 0.0
    for stream in progress_bar(streams, desc="takeover", unit="stream", quiet=not progress):
        false, delay, switch, _ = run_takeover(scored, stream, embedder, config, appearance,
                                               target_shape)
        false_mismatches += false
        genuine_seconds += switch
        if delay is None:
            missed += 1
        else:
            delays.append(delay)
    d = np.asarray(delays)
    return {
        "streams": len(streams),
        "detected": len(delays),
        "missed": missed,
        "time_to_mismatch_s": {
            "median": float(np.median(d)) if d.size else None,
            "p90": float(np.percentile(d, 90)) if d.size else None,
        },
        "false_mismatch_per_min": false_mismatches / max(genuine_seconds / 60.0, 1e-9),
        "false_mismatches": false_mismatches,
        "genuine_minutes": genuine_seconds / 60.0,
        "delays_s": [round(float(x), 3) for x in d],  # each detected takeover, for pooling
    }


def comparison_scores(scored: list[Scored], signal: Signal, model_id: str,
                      descriptor_id: str | None = None, max_impostor: int = 200_000,
                      seed: int = 0, branches: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Raw per-observation scores of genuine and impostor comparisons, for calibration.

    Each ordered pair of clips (A, B) of one kind enrolls from A and scores each of B's motion
    windows (a cosine per branch of the motion model: ``(n, branches)``) or face descriptors
    (a distance: ``(n,)``). Genuine pairs are two recordings of
    one person; a real clip and its synthetic re-rendering are left out, and so are synthetic
    clips for appearance (their face is not the labelled person's). Impostor scores are
    subsampled reproducibly to ``max_impostor``.
    """
    genuine, impostor = [], []
    for a, sa in enumerate(scored):
        if signal is Signal.APPEARANCE and sa.clip.kind != "real":
            continue
        enrollment = sa.enrollment(model_id, descriptor_id)
        for b, sb in enumerate(scored):
            if a == b or sa.clip.kind != sb.clip.kind:
                continue
            values = (enrollment.branch_scores(sb.embeddings, branches)
                      if signal is Signal.MOTION
                      else enrollment.appearance_distances(sb.descriptors.vectors))
            (genuine if sa.clip.identity == sb.clip.identity else impostor).append(values)
    genuine_all = np.concatenate(genuine) if genuine else np.empty(0)
    impostor_all = np.concatenate(impostor) if impostor else np.empty(0)
    if len(impostor_all) > max_impostor:
        pick = np.random.default_rng(seed).choice(len(impostor_all), max_impostor, replace=False)
        impostor_all = impostor_all[np.sort(pick)]
    return genuine_all, impostor_all
