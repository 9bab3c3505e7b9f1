"""Fitting the avatar-glitch detector (``avatar_failure.npz``) on ordinary real faces.

The real clips of a manifest and its stills (the Yale Face Database in ``../shared/data``),
split by identity: a seeded quarter of the identities is held out to choose the threshold (the
score that flags ``false_flag`` of their face frames), the rest is fitted. Identities given in
``exclude`` (the avatar-failure study's subjects) are left out of both. Frames are subsampled
evenly per clip, so long clips do not dominate, and the fit is subsampled to ``points`` so that
the shipped file stays a few MB.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..glitch import GlitchDetector, shape_features
from ..landmarks import LandmarkExtractor
from ..lof import NoveltyLOF
from ..media import read_image
from ..progress import progress_bar
from .clip_landmarks import extract_clip
from .manifest import Clip, read_manifest


@dataclass(frozen=True)
class FitConfig:
    per_clip: int = 40  # face frames taken from each clip
    points: int = 1500  # training points kept
    false_flag: float = 0.01  # share of held-out ordinary face frames the threshold may flag
    k: int = 20
    seed: int = 0
    exclude: tuple[str, ...] = ("ff_actor", "lp_*")  # identities (a trailing * is a prefix)


def _excluded(identity: str, patterns: Sequence[str]) -> bool:
    return any(identity.startswith(p[:-1]) if p.endswith("*") else identity == p
               for p in patterns)


def ordinary_clips(manifest: Path, exclude: Sequence[str]) -> tuple[list[Clip], list[Clip]]:
    """Real clips and stills (image files) that are not excluded."""
    keep = [c for c in read_manifest(manifest, kinds=("real", "still"))
            if not _excluded(c.identity, exclude)]
    return [c for c in keep if c.kind == "real"], [c for c in keep if c.kind == "still"]


def _relative(path: Path, root: Path) -> str:
    """``path`` as the manifest names it: relative to its folder when inside it."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def held_out(clips: list[Clip], share: float, seed: int) -> set[str]:
    """The held-out identities: a seeded share of all identities."""
    identities = sorted({c.identity for c in clips})
    rng = np.random.default_rng(seed)
    rng.shuffle(identities)
    return set(identities[: round(share * len(identities))])


def clip_frames(clip: Clip, per_clip: int) -> np.ndarray:
    """Up to ``per_clip`` face frames ``(n, 468, 3)``, evenly spread over the clip."""
    marks = extract_clip(clip.path)
    points = marks.points[marks.found]
    if len(points) > per_clip:
        points = points[np.linspace(0, len(points) - 1, per_clip).round().astype(int)]
    return points


def still_frames(stills: list[Clip]) -> tuple[np.ndarray, list[Clip]]:
    """Faces of the stills (each its own image: static mode); identical files counted once."""
    seen, points, used = set(), [], []
    with LandmarkExtractor(static=True) as extractor:
        for still in stills:
            blob = still.path.read_bytes()
            if blob in seen:
                continue
            seen.add(blob)
            face = extractor.process(read_image(still.path))
            if face.found:
                points.append(face.points)
                used.append(still)
    return np.stack(points), used


def fit_detector(manifest: Path, cfg: FitConfig, progress: bool = True) -> GlitchDetector:
    """The detector fitted on the manifest's ordinary faces; its card facts in ``meta``."""
    clips, stills = ordinary_clips(manifest, cfg.exclude)
    held = held_out(clips + stills, 0.25, cfg.seed)
    feats: dict[bool, list[np.ndarray]] = defaultdict(list)
    names: dict[bool, list[str]] = defaultdict(list)
    for clip in progress_bar(clips, desc="clips", unit="clip", quiet=not progress):
        is_held = clip.identity in held
        feats[is_held].append(shape_features(clip_frames(clip, cfg.per_clip)))
        names[is_held].append(_relative(clip.path, manifest.parent))
    frames = {h: sum(len(f) for f in feats[h]) for h in (False, True)}
    still_points, used = still_frames(stills)
    still_held = np.array([s.identity in held for s in used])
    for is_held in (False, True):
        feats[is_held].append(shape_features(still_points[still_held == is_held]))
        names[is_held] += sorted({s.identity for s in used if (s.identity in held) == is_held})
    rng = np.random.default_rng(cfg.seed)
    pool = np.concatenate(feats[False])
    chosen = np.sort(rng.choice(len(pool), size=min(cfg.points, len(pool)), replace=False))
    train = pool[chosen].astype(np.float16).astype(np.float64)  # fit on what is stored
    held_feats = np.concatenate(feats[True])
    lof = NoveltyLOF.fit(train, k=cfg.k)
    held_scores = lof.score_samples(held_feats)
    offset = float(np.quantile(held_scores, cfg.false_flag))
    meta = {
        "k": cfg.k, "seed": cfg.seed, "false_flag_target": cfg.false_flag,
        "threshold": offset, "per_clip": cfg.per_clip,
        "fit": {"clip_frames": frames[False], "stills": int((~still_held).sum()),
                "pool": len(pool), "points": len(train), "sources": names[False]},
        "held_out": {"identities": sorted(held), "clip_frames": frames[True],
                     "stills": int(still_held.sum()), "sources": names[True],
                     "frames": len(held_feats),
                     "false_flag": float((held_scores < offset).mean())},
    }
    return GlitchDetector(NoveltyLOF(lof.points, lof.k_distance, lof.lrd, lof.k, offset), meta)
