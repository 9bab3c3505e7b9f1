"""The fixed evaluation protocol: every ordered clip pair, and takeover streams.

Pair protocol: for clips A != B, enroll from A alone and score B with the mean window score
(the verifier's clip score). Genuine when A and B share an identity. Identities are read only to
label pairs; nothing is trained here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .clip_landmarks import ClipLandmarks, extract_clip
from .embedder import Embedder
from .enroll import clip_embeddings
from .enrollment import Enrollment
from .errors import FingerprintError
from .features import neutral_shape, transplant
from .landmarks import FaceLandmarks
from .manifest import Clip
from .metrics import summary
from .verifier import State, StreamingVerifier, VerifierConfig


@dataclass
class Scored:
    clip: Clip
    landmarks: ClipLandmarks
    embeddings: np.ndarray


def embed_clips(clips: list[Clip], embedder: Embedder, target_shape: np.ndarray | None,
                progress: bool, load: Callable[[Path], ClipLandmarks] = extract_clip,
                ) -> tuple[list[Scored], list[str]]:
    """Embed every clip's windows; clips with no full window (or unreadable) are skipped.

    ``load`` gives a clip's landmarks: as recorded, or as seen through the avatar.
    """
    scored, skipped = [], []
    for clip in tqdm(clips, desc="clips", unit="clip", disable=not progress):
        try:
            marks = load(clip.path)
        except FingerprintError as exc:
            skipped.append(f"{clip.path}: {exc}")
            continue
        emb, _ = clip_embeddings(marks, embedder, target_shape)
        if len(emb) == 0:
            skipped.append(str(clip.path))
            continue
        scored.append(Scored(clip, marks, emb))
    return scored, skipped


def pair_scores(scored: list[Scored], model_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score matrix S[a, b] (enroll a, score b), same-identity mask, and same-performance mask.

    Same performance: a real clip and a synthetic one of the same identity, which the data's
    README says share motion frame for frame; they are reported apart.
    """
    enrollments = [Enrollment(s.embeddings, model_id, 0.0) for s in scored]
    S = np.array([[float(e.score_samples(s.embeddings).mean()) for s in scored]
                  for e in enrollments])
    ids = np.array([s.clip.identity for s in scored])
    kinds = np.array([s.clip.kind for s in scored])
    same = ids[:, None] == ids[None, :]
    same_perf = same & (kinds[:, None] != kinds[None, :])
    return S, same, same_perf


def evaluate_pairs(scored: list[Scored], model_id: str) -> dict:
    S, same, same_perf = pair_scores(scored, model_id)
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
    )
    return result


def stream_frames(marks: ClipLandmarks, target_shape: np.ndarray | None):
    """A clip's landmarks as the verifier gets them, moved onto ``target_shape`` if given."""
    points = marks.points
    if target_shape is not None:
        ok = marks.found
        if ok.any():
            points = transplant(points, neutral_shape(points[ok]), target_shape)
    for pts, n in zip(points, marks.num_faces, strict=True):
        yield FaceLandmarks(pts if n > 0 else None, int(n), marks.width, marks.height)


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


def evaluate_takeover(scored: list[Scored], embedder: Embedder, target_shape: np.ndarray | None,
                      impostors_per_pair: int = 3, progress: bool = True) -> dict:
    """Streams of B (genuine, another clip of A's identity) then C (another person).

    The verifier is enrolled from A. Reports how long after the switch MISMATCH comes, and how
    often MISMATCH fires during the genuine part.
    """
    model_id = embedder.info.model_id
    streams = takeover_streams(scored, impostors_per_pair)
    delays, missed, false_mismatches, genuine_seconds = [], 0, 0, 0.0
    for a, b, c in tqdm(streams, desc="takeover", unit="stream", disable=not progress):
        verifier = StreamingVerifier(
            Enrollment(scored[a].embeddings, model_id, 0.0), embedder, VerifierConfig())
        sb, sc = scored[b].landmarks, scored[c].landmarks
        switch = float(sb.times[-1]) + 1.0 / embedder.info.fps
        for face, t in zip(stream_frames(sb, target_shape), sb.times, strict=True):
            if verifier.push(face, float(t)).event and verifier.state is State.MISMATCH:
                false_mismatches += 1
        genuine_seconds += switch
        hit = None
        for face, t in zip(stream_frames(sc, target_shape), sc.times + switch, strict=True):
            if verifier.push(face, float(t)).state is State.MISMATCH:
                hit = float(t) - switch
                break
        if hit is None:
            missed += 1
        else:
            delays.append(hit)
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
        "genuine_minutes": genuine_seconds / 60.0,
    }
