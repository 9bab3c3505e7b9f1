"""Fit the avatar-failure detector (``models/avatar_failure.npz``) on ordinary real faces.

Real clips of the manifest and the Yale Face Database stills in ``../shared/data``, split by
identity: a seeded quarter of the identities is held out to choose the threshold (the score
that flags ``--false-flag`` of their face frames), the rest is fitted. The clips of the
experiment (``ff_real``/``ff_fake`` and LivePortrait's driving clips) are left out of both.
Frames are subsampled evenly per clip, so long clips do not dominate, and the fit is
subsampled to ``--points`` so that the shipped file stays a few MB.

    python benchmarks/fit_avatar_failure.py --out models/avatar_failure.npz
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from fingerprint_live.glitch import GlitchDetector, shape_features
from fingerprint_live.landmarks import LandmarkExtractor
from fingerprint_live.lof import NoveltyLOF
from fingerprint_live.media import read_image
from fingerprint_live.offline.clip_landmarks import extract_clip
from fingerprint_live.offline.manifest import Clip, read_manifest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: Identities whose clips are the experiment's subjects (benchmarks/avatar_failure_study.py).
EXPERIMENT = ("ff_actor",)
EXPERIMENT_PREFIX = "lp_"


def ordinary_clips(data: Path) -> tuple[list[Clip], list[Clip]]:
    """Real clips and Yale stills that are not the experiment's subjects."""
    csv = data / "manifest.csv"
    keep = [c for c in read_manifest(csv, kinds=("real", "still"))
            if c.identity not in EXPERIMENT and not c.identity.startswith(EXPERIMENT_PREFIX)]
    stills = [c for c in keep if c.kind == "still" and "yalefaces" in c.path.parts]
    return [c for c in keep if c.kind == "real"], stills


def split(clips: list[Clip], held_share: float, seed: int) -> set[str]:
    """The held-out identities: a seeded share of all identities."""
    identities = sorted({c.identity for c in clips})
    rng = np.random.default_rng(seed)
    rng.shuffle(identities)
    return set(identities[: round(held_share * len(identities))])


def clip_frames(clip: Clip, per_clip: int) -> np.ndarray:
    """Up to ``per_clip`` face frames ``(n, 468, 3)``, evenly spread over the clip."""
    points = extract_clip(clip.path).points
    points = points[~np.isnan(points).any(axis=(1, 2))]
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=Path("models/avatar_failure.npz"))
    ap.add_argument("--per-clip", type=int, default=40, help="face frames taken from each clip")
    ap.add_argument("--points", type=int, default=1500, help="training points kept")
    ap.add_argument("--false-flag", type=float, default=0.01,
                    help="share of held-out ordinary face frames the threshold may flag")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    clips, stills = ordinary_clips(args.data)
    held = split(clips + stills, 0.25, args.seed)
    feats: dict[bool, list[np.ndarray]] = defaultdict(list)
    frames: dict[bool, int] = defaultdict(int)
    names: dict[bool, list[str]] = defaultdict(list)
    for i, clip in enumerate(clips, 1):
        f = shape_features(clip_frames(clip, args.per_clip))
        is_held = clip.identity in held
        feats[is_held].append(f)
        frames[is_held] += len(f)
        names[is_held].append(str(clip.path.relative_to(args.data)))
        print(f"\r{i}/{len(clips)} clips", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    still_points, used = still_frames(stills)
    still_held = np.array([s.identity in held for s in used])
    for is_held in (False, True):
        feats[is_held].append(shape_features(still_points[still_held == is_held]))
        names[is_held] += sorted({s.identity for s in used if (s.identity in held) == is_held})

    rng = np.random.default_rng(args.seed)
    pool = np.concatenate(feats[False])
    chosen = np.sort(rng.choice(len(pool), size=min(args.points, len(pool)), replace=False))
    train = pool[chosen].astype(np.float16).astype(np.float64)  # fit on what is stored
    held_feats = np.concatenate(feats[True])
    lof = NoveltyLOF.fit(train, k=args.k)
    held_scores = lof.score_samples(held_feats)
    offset = float(np.quantile(held_scores, args.false_flag))
    lof = NoveltyLOF(lof.points, lof.k_distance, lof.lrd, lof.k, offset)
    meta = {
        "k": args.k, "seed": args.seed, "false_flag_target": args.false_flag,
        "threshold": offset, "per_clip": args.per_clip,
        "fit": {"clip_frames": frames[False], "stills": int((~still_held).sum()),
                "pool": len(pool), "points": len(train), "sources": names[False]},
        "held_out": {"identities": sorted(held), "clip_frames": frames[True],
                     "stills": int(still_held.sum()), "sources": names[True],
                     "false_flag": float((held_scores < offset).mean())},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    GlitchDetector(lof, meta).save(args.out)
    print(f"fit on {len(train)} of {len(pool)} frames ({frames[False]} clip frames, "
          f"{(~still_held).sum()} stills); held out {len(held_feats)} frames; threshold "
          f"{offset:.4f} flags {meta['held_out']['false_flag']:.2%} of them; "
          f"{args.out} {args.out.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
