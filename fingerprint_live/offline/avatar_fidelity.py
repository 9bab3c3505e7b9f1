"""How much of a driver's face the default avatar carries, as the far side's MediaPipe sees it.

A driver's landmarks drive ``DefaultAvatar.render``; MediaPipe runs again on each rendered
frame, as it would on the far side of a call. Driver and avatar are then compared frame by
frame on ``expression.measures`` (head coordinates, so pose and size drop out): mouth opening,
eye opening (mean of both eyes) and brow height, as Pearson r per clip. Blinks are runs of
frames with the eye opening below 0.75 of the clip's median (``expression.blinks``); a driver
blink is carried when the avatar's own eye opening is below 0.75 of its median within one frame
of it, and an avatar blink with no driver blink is extra. The benchmarks and the fidelity test
share this one measurement, so their figures agree.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..expression import blinks, measures
from ..landmarks import FaceLandmarks, LandmarkExtractor

#: The compared regions and the r each is reported as.
REGIONS = ("mouth", "eyes", "brows")


def eye_opening(m: np.ndarray) -> np.ndarray:
    """Mean opening of both eyes from ``measures`` rows."""
    return m[:, 1:3].mean(axis=1)


def region_signals(points: np.ndarray) -> np.ndarray:
    """Per frame ``(N, 3)``: mouth opening, eye opening, brow height (the compared signals)."""
    m = measures(points)
    return np.column_stack([m[:, 0], eye_opening(m), m[:, 3]])


def render_seen(engine, driver: np.ndarray, keep: Iterable[int] = ()
                ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Avatar landmarks seen again ``(N, 468, 3)`` (NaN where lost) and the frames in ``keep``.

    ``engine`` is a built ``DefaultAvatar`` (its neutral already set, or the first face taken);
    ``driver`` holds the driver's faces ``(N, 468, 3)``, frames without a face left out.
    """
    keep = set(keep)
    blank = np.zeros((8, 8, 3), np.uint8)  # this engine draws from landmarks alone
    seen, kept = np.full_like(driver, np.nan), {}
    with LandmarkExtractor() as extractor:
        for i, points in enumerate(driver):
            out = engine.render(blank, FaceLandmarks(points, 1, 8, 8))
            face = extractor.process(out.image)
            if face.found:
                seen[i] = face.points
            if i in keep:
                kept[i] = out.image
    return seen, kept


def compare(driver: np.ndarray, avatar: np.ndarray) -> dict[str, float | int]:
    """Per-clip r of mouth, eyes and brows, and blink counts, over frames seen on both sides."""
    both = ~np.isnan(avatar).any(axis=(1, 2))
    sd, sa = region_signals(driver[both]), region_signals(avatar[both])
    r = {f"r_{name}": round(float(np.corrcoef(sd[:, k], sa[:, k])[0, 1]), 3)
         for k, name in enumerate(REGIONS)}
    shut = np.zeros(len(sa), bool)
    for start, stop in blinks(sa[:, 1]):
        shut[start:stop] = True
    driver_blinks = blinks(sd[:, 1])
    carried = sum(shut[max(a - 1, 0):b + 1].any() for a, b in driver_blinks)
    driven = np.zeros(len(sd), bool)
    for start, stop in driver_blinks:
        driven[max(start - 1, 0):stop + 1] = True
    extra = sum(not driven[a:b].any() for a, b in blinks(sa[:, 1]))
    return {"frames": int(both.sum()), "avatar_face_lost": int((~both).sum()), **r,
            "driver_blinks": len(driver_blinks), "blinks_visible": int(carried),
            "avatar_extra_blinks": int(extra)}


def summary(rows: list[dict]) -> dict[str, float | int]:
    """Medians, lowest values and pooled blink counts over per-clip ``compare`` rows."""
    keys = [f"r_{name}" for name in REGIONS]
    out = {k: round(float(np.median([c[k] for c in rows])), 3) for k in keys}
    out |= {f"min_{k}": min(c[k] for c in rows) for k in keys}
    total = sum(c["driver_blinks"] for c in rows)
    visible = sum(c["blinks_visible"] for c in rows)
    return {**out, "driver_blinks": total, "blinks_visible": visible,
            "blinks_visible_share": round(visible / max(total, 1), 3),
            "avatar_extra_blinks": sum(c["avatar_extra_blinks"] for c in rows)}
