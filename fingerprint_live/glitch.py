"""The avatar-failure detector: is each avatar frame still an ordinary face?

An avatar that breaks (a torn mesh, a face turned further than it can render, a warp that
folds) still sends frames, so nothing else notices. Per avatar frame the face is found again;
its shape, the scale-free distances between every pair of a landmark subset, is scored by a
novelty Local Outlier Factor fitted on ordinary real faces (``models/avatar_failure.npz``,
card beside it). A frame fails when no face is found or its score is below the threshold
chosen on held-out ordinary frames; the share of failed frames over a sliding window decides
the "avatar glitch" flag, so one odd frame does not.
"""

from __future__ import annotations

import json
import zipfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic_write import atomic_path
from .errors import ModelError
from .features import SUBSET, head_frame, subset_distances
from .landmarks import FaceLandmarks
from .lof import NoveltyLOF
from .model_files import model_dir

MODEL_FILE = "avatar_failure.npz"
MODEL_VERSION = 1
#: Stream seconds over which failed frames are counted.
WINDOW_SECONDS = 2.0
#: Share of failed checks in the window that raises the flag.
FLAG_RATE = 0.5
#: Checks the window needs before it may flag (a single early failure is not a glitch).
MIN_CHECKS = 4


def shape_features(points: np.ndarray) -> np.ndarray:
    """The detector's input for faces ``(N, 468, 3)``: the ``SUBSET`` pair distances, float32."""
    return subset_distances(points, head_frame(points)[2]).astype(np.float32)


@dataclass(frozen=True)
class GlitchDetector:
    """The fitted LOF and its operating threshold (``lof.offset``); ``meta`` is for the card."""

    lof: NoveltyLOF
    meta: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path | None = None) -> GlitchDetector:
        """Read a detector file; :class:`ModelError` when it is missing, corrupt or foreign."""
        path = Path(path) if path else model_dir() / MODEL_FILE
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except FileNotFoundError as exc:
            raise ModelError(f"{path} is missing: reinstall fingerprint-live, or refit it with "
                             "`fingerprint-live fit-glitch`.") from exc
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ModelError(f"{path} is not a readable avatar-failure model ({exc}).") from exc
        try:
            version = int(arrays["version"])
            if version != MODEL_VERSION:
                raise ModelError(f"{path} is avatar-failure model version {version}; this "
                                 f"fingerprint-live reads version {MODEL_VERSION}.")
            if not np.array_equal(arrays["subset"], SUBSET):
                raise ModelError(f"{path} was fitted on another landmark subset than this "
                                 "version computes: the model and the code do not match.")
            lof = NoveltyLOF(arrays["points"].astype(np.float64),
                             arrays["k_distance"].astype(np.float64),
                             arrays["lrd"].astype(np.float64), int(arrays["k"]),
                             float(arrays["offset"]))
            meta = json.loads(str(arrays["meta"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path} is not a complete avatar-failure model ({exc}).") from exc
        n, dim = lof.points.shape if lof.points.ndim == 2 else (0, 0)
        if (dim != len(SUBSET) * (len(SUBSET) - 1) // 2 or n <= lof.k
                or lof.k_distance.shape != (n,) or lof.lrd.shape != (n,)
                or not all(np.isfinite(a).all() for a in (lof.points, lof.k_distance, lof.lrd))):
            raise ModelError(f"{path}: the model's arrays have the wrong shapes or values.")
        return cls(lof, meta)

    def save(self, path: str | Path) -> None:
        """Write the detector atomically; the points are stored as float16 (the scores use
        exactly those)."""
        lof = self.lof
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # a file: no ".npz" appended
            np.savez_compressed(
                fh, version=np.int32(MODEL_VERSION), subset=SUBSET, k=np.int32(lof.k),
                offset=np.float64(lof.offset), points=lof.points.astype(np.float16),
                k_distance=lof.k_distance, lrd=lof.lrd, meta=np.str_(json.dumps(self.meta)))

    def scores(self, points: np.ndarray) -> np.ndarray:
        """LOF scores of faces ``(N, 468, 3)``: about -1 for ordinary faces, lower is odder."""
        return self.lof.score_samples(shape_features(points))

    def failed(self, face: FaceLandmarks) -> bool:
        """Whether one avatar frame failed: no face in it, or an outlying face shape."""
        if not face.found:
            return True
        return not self.scores(face.points[None])[0] >= self.lof.offset  # NaN: no face shape


class FailureWindow:
    """Failed checks over the last ``seconds`` of stream time; ``flagged`` above ``rate``.

    Updated from one thread; ``flagged`` and ``rate`` are plain attributes others may read.
    """

    def __init__(self, seconds: float = WINDOW_SECONDS, rate: float = FLAG_RATE,
                 min_checks: int = MIN_CHECKS) -> None:
        self.seconds, self.threshold, self.min_checks = seconds, rate, min_checks
        self._checks: deque[tuple[float, bool]] = deque()
        self.rate = 0.0
        self.flagged = False

    def add(self, time: float, failed: bool) -> None:
        checks = self._checks
        checks.append((time, failed))
        while checks and checks[0][0] <= time - self.seconds:
            checks.popleft()
        self.rate = sum(f for _, f in checks) / len(checks)
        self.flagged = len(checks) >= self.min_checks and self.rate >= self.threshold
