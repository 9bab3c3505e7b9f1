"""Which motion features survive the default avatar: driver against re-detected rendering.

For every clip of a manifest, the driver's landmarks (cached) and those MediaPipe finds on the
clip rendered through the default avatar onto the astronaut (cached by ``eval --through-avatar``
and the cross-validation) give the motion model's frame features both ways: 2-D distances over
the face scale (``--space image``), 3-D distances in head coordinates (``--space head``), and the
six head-pose channels. Per clip and channel, Pearson r between driver and avatar over the frames
where both have a face; medians over clips, then over the channels of each group (the 23 core
points' pairs by region: within the lips, the eyes, the brows, the outline; across regions; the
pose channels one by one).

    PYTHONPATH=. python benchmarks/motion_through_avatar.py [--manifest benchmarks/results/all.csv]

A feature the avatar does not carry cannot tell drivers apart on the receiver's side, however well
it does on the camera's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fingerprint_live.features import CORE, FeatureSet, frame_features
from fingerprint_live.offline.avatar_render import rendered_clip
from fingerprint_live.offline.clip_landmarks import extract_clip
from fingerprint_live.offline.manifest import read_manifest
from fingerprint_live.progress import progress_bar

#: The core points' regions, by position in ``features.CORE``.
REGIONS = {"lips": range(0, 6), "eyes": range(6, 14), "brows": range(14, 18),
           "outline": range(18, 23)}
POSE = ("roll", "yaw", "pitch", "x", "y", "log_scale")
MIN_FRAMES = 50


def pair_groups() -> list[str]:
    """The region group of every pair channel, in ``pair_distances``' order."""
    region = np.empty(len(CORE), object)
    for name, idx in REGIONS.items():
        region[list(idx)] = name
    i, j = np.triu_indices(len(CORE), k=1)
    return [region[a] if region[a] == region[b] else "across" for a, b in zip(i, j, strict=True)]


def channel_r(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r per column of two ``(N, C)`` series (NaN where a column does not move)."""
    a, b = a - a.mean(0), b - b.mean(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", default="benchmarks/results/all.csv",
                    help="clips to compare (default: %(default)s, the corrected CV manifest)")
    args = ap.parse_args()
    clips = read_manifest(Path(args.manifest))
    spaces = {s: FeatureSet(points="core23", space=s) for s in ("image", "head")}
    per_clip: dict[str, list[np.ndarray]] = {s: [] for s in spaces}
    for clip in progress_bar(clips, desc="clips", unit="clip"):
        driver, avatar = extract_clip(clip.path), rendered_clip(clip.path)
        n = min(len(driver), len(avatar))
        both = driver.found[:n] & avatar.found[:n]
        if both.sum() < MIN_FRAMES:
            continue
        for name, fs in spaces.items():
            per_clip[name].append(channel_r(frame_features(driver.points[:n][both], fs),
                                            frame_features(avatar.points[:n][both], fs)))
    groups = pair_groups()
    out: dict = {"clips": len(per_clip["image"]), "median_r": {}}
    for name, rows in per_clip.items():
        med = np.nanmedian(np.stack(rows), axis=0)
        pairs, pose = med[:len(groups)], med[len(groups):]
        table = {g: round(float(np.median([r for r, k in zip(pairs, groups, strict=True)
                                           if k == g])), 3)
                 for g in (*REGIONS, "across")}
        table.update({p: round(float(r), 3) for p, r in zip(POSE, pose, strict=True)})
        out["median_r"][name] = table
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
