"""Named landmark sets of the face's moving parts, and the expression measures built on them.

Each measure is a distance in head coordinates (``features.to_head``: pose and size removed),
so turning the head or moving closer does not change it; only the face's own motion does:

- ``mouth``: the inner lips' gap over the mouth's width;
- ``eyes``: each eye's lid gap over its width (left and right, as in the image);
- ``brows``: the brows' height above the upper lids, over the face's size.

The verifier uses their spread over a window as a liveness cue (a photo held up to the camera
does not move its face), and the avatar benchmarks compare them between a driver and its avatar.
"""

from __future__ import annotations

import numpy as np

from .features import to_head

#: Inner lip midpoints (upper, lower) and the mouth corners (MediaPipe indices).
MOUTH_INNER = (13, 14)
MOUTH_CORNERS = (61, 291)
#: Upper and lower eyelid points paired across each eye (image-left eye, image-right eye).
LIDS_UPPER = np.array([[161, 160, 159, 158, 157], [388, 387, 386, 385, 384]])
LIDS_LOWER = np.array([[163, 144, 145, 153, 154], [390, 373, 374, 380, 381]])
EYE_CORNERS = np.array([[33, 133], [263, 362]])
#: Brow points above each eye, paired with the upper-lid points below them.
BROWS = np.array([[70, 63, 105, 66, 107], [300, 293, 334, 296, 336]])
BROW_LIDS = np.array([[246, 161, 160, 159, 158], [466, 388, 387, 386, 385]])

#: Every point a measure reads, and where each landmark index sits among them.
_MEASURED = np.unique(np.concatenate([np.ravel(part) for part in (
    MOUTH_INNER, MOUTH_CORNERS, LIDS_UPPER, LIDS_LOWER, EYE_CORNERS, BROWS, BROW_LIDS)]))
_AT = np.zeros(_MEASURED.max() + 1, int)
_AT[_MEASURED] = np.arange(len(_MEASURED))

NAMES = ("mouth", "eye_left", "eye_right", "brows")
#: A blink: the eyes' opening below this share of the clip's median opening.
BLINK_SHARE = 0.75


def measures(points: np.ndarray) -> np.ndarray:
    """Expression measures of faces ``(N, 468, 3)`` as ``(N, 4)``: mouth, eyes (2), brows."""
    head = to_head(np.asarray(points, np.float64), _MEASURED)

    def gap(a, b) -> np.ndarray:
        return np.linalg.norm(head[:, _AT[a]] - head[:, _AT[b]], axis=-1)

    mouth = gap(*MOUTH_INNER) / gap(*MOUTH_CORNERS)
    eyes = gap(LIDS_UPPER, LIDS_LOWER).mean(axis=-1) / gap(EYE_CORNERS[:, 0], EYE_CORNERS[:, 1])
    brows = gap(BROWS, BROW_LIDS).mean(axis=(-1, -2))
    return np.column_stack([mouth, eyes, brows]).astype(np.float32)


def activity(window: np.ndarray, smooth: int = 5) -> float:
    """How much the face moved over a window of ``measures`` rows: the largest 10-90% range.

    Each measure is first averaged over ``smooth`` frames, which takes out most of MediaPipe's
    frame-to-frame jitter and keeps real motion. Ranges are in each measure's own units (a share
    of the mouth's or the eye's width, a share of the face's size): talking opens the mouth by
    tens of percent of its width, while a photo held still or jittered by a few pixels moves
    none of them by more than about 3%.
    """
    sums = np.cumsum(np.vstack([np.zeros((1, window.shape[1])), window]), axis=0)
    averaged = (sums[smooth:] - sums[:-smooth]) / smooth
    lo, hi = np.percentile(averaged, [10, 90], axis=0)
    return float(np.max(hi - lo))


def blinks(eyes: np.ndarray, share: float = BLINK_SHARE) -> list[tuple[int, int]]:
    """Runs ``[start, stop)`` of frames whose eye opening is below ``share`` of its median.

    ``eyes`` is one opening per frame (e.g. the mean of the two ``measures`` eye columns); each
    run is one blink, so a closure held for several frames counts once.
    """
    shut = np.concatenate([[False], np.asarray(eyes) < share * np.median(eyes), [False]])
    edges = np.flatnonzero(np.diff(shut.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
