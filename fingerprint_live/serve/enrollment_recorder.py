"""Enrollment from the live camera: record N seconds of face motion, then build the enrollment.

The recorder is fed from the pipeline's landmark pass (no second MediaPipe run). When enough
seconds with a face are in, the embeddings are computed on a separate thread so the frame path
does not pause, and ``on_done`` receives the enrollment (or the error to show the user).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from ..clip_landmarks import ClipLandmarks
from ..embedder import Embedder
from ..enroll import clip_embeddings
from ..enrollment import Enrollment
from ..errors import FingerprintError, NoFaceError
from ..landmarks import NUM_POINTS, FaceLandmarks

#: A gap between two face frames longer than this does not count as recorded motion.
MAX_STEP = 0.2


class EnrollmentRecorder:
    """Collects landmarks until ``seconds`` of face motion are in; then enrolls once."""

    def __init__(self, seconds: float, embedder: Embedder,
                 on_done: Callable[[Enrollment | None, str | None], None]) -> None:
        self.seconds, self.embedder, self.on_done = seconds, embedder, on_done
        self.recorded = 0.0
        self.finished = False
        self._points: list[np.ndarray] = []
        self._times: list[float] = []
        self._faces: list[int] = []
        self._missing = np.full((NUM_POINTS, 3), np.nan, np.float32)
        self._size = (0, 0)

    @property
    def progress(self) -> float:
        return min(1.0, self.recorded / self.seconds)

    def add(self, face: FaceLandmarks, time: float) -> None:
        """One frame's landmarks (called on the pipeline thread)."""
        if self.finished:
            return
        if self._times and face.found and self._faces[-1] > 0:
            step = time - self._times[-1]
            self.recorded += step if 0 < step <= MAX_STEP else 0.0
        self._points.append(face.points if face.found else self._missing)
        self._times.append(time)
        self._faces.append(face.num_faces)
        self._size = (face.width, face.height)
        if self.recorded >= self.seconds:
            self.finished = True
            threading.Thread(target=self._enroll, name="enroll", daemon=True).start()

    def _enroll(self) -> None:
        clip = ClipLandmarks(np.stack(self._points), np.asarray(self._times),
                             np.asarray(self._faces, np.int8), *self._size)
        self._points.clear()
        try:
            if float((clip.num_faces > 1).mean()) > 0.2:
                raise NoFaceError("several faces were in view; enroll with only yourself in view.")
            emb, secs = clip_embeddings(clip, self.embedder)
            if len(emb) == 0:
                raise NoFaceError("no stretch of face motion was long enough; keep your face "
                                  "in view and talk naturally.")
            result = Enrollment(emb, self.embedder.info.model_id, secs, ["live camera"])
        except FingerprintError as exc:
            self.on_done(None, str(exc))
            return
        self.on_done(result, None)
