"""Enrollment from the live camera: record N seconds of face motion, then build the enrollment.

The recorder is fed from the pipeline's landmark pass (no second MediaPipe run) and from its
face descriptors (described in the pipeline's descriptor process, about once a second). When
enough seconds with a face are in, the motion embeddings (as the camera saw the face, and as
the far side sees it through the session's avatar) are computed on a separate thread so the
frame path does not pause, and ``on_done`` receives the enrollment (or the error to show the
user).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from ..avatar.portrait import load_portrait, portrait_id
from ..embedder import Embedder
from ..enrollment import MAX_MULTI_FACE_SHARE, Enrollment, Segment, Vectors
from ..errors import FingerprintError, NoFaceError
from ..face_descriptor import DescriptorInfo
from ..features import neutral_shape
from ..landmarks import FaceLandmarks
from ..offline.clip_landmarks import ClipLandmarks
from ..video_enrollment import avatar_part

#: A gap between two face frames longer than this does not count as recorded motion.
MAX_STEP = 0.2
#: Face frames kept per second asked for; past it (a face that keeps flickering away) the
#: recording starts over, so memory stays bounded.
FRAMES_PER_SECOND = 120
#: Face descriptors an enrollment needs at least (about one a second comes in).
MIN_FACES = 3


class EnrollmentRecorder:
    """Collects landmarks until ``seconds`` of face motion are in; then enrolls once."""

    def __init__(self, seconds: float, embedder: Embedder, faces: DescriptorInfo,
                 on_done: Callable[[Enrollment | None, str | None], None],
                 portrait: np.ndarray | None = None) -> None:
        self.seconds, self.embedder, self.faces, self.on_done = seconds, embedder, faces, on_done
        self.portrait = portrait
        self._descriptors: list[np.ndarray] = []
        self.recorded = 0.0
        self.finished = False
        self._points: list[np.ndarray] = []  # face frames only: resampling marks the gaps
        self._times: list[float] = []
        self._faces: list[int] = []
        self._last_face = -np.inf
        self._size = (0, 0)  # of the frames, as the landmarks were found on them

    @property
    def progress(self) -> float:
        return min(1.0, self.recorded / self.seconds)

    def add_descriptor(self, vector: np.ndarray, time: float) -> None:
        """One face descriptor (called on the descriptor's reply thread)."""
        if not self.finished and len(self._descriptors) < FRAMES_PER_SECOND * self.seconds:
            self._descriptors.append(vector)

    def add(self, face: FaceLandmarks, time: float) -> None:
        """One frame's landmarks (called on the pipeline thread)."""
        if self.finished or not face.found:
            return
        step = time - self._last_face
        if step <= 0:  # late or repeated
            return
        self._last_face = time
        self.recorded += step if step <= MAX_STEP else 0.0
        if len(self._times) >= FRAMES_PER_SECOND * self.seconds:
            self._points, self._times, self._faces, self.recorded = [], [], [], 0.0
        self._points.append(face.points)
        self._times.append(time)
        self._faces.append(face.num_faces)
        self._size = (face.width, face.height)
        if self.recorded >= self.seconds and len(self._descriptors) >= MIN_FACES:
            self.finished = True
            threading.Thread(target=self._enroll, name="enroll", daemon=True).start()

    def _enroll(self) -> None:
        points, times = np.stack(self._points), np.asarray(self._times)
        faces = np.asarray(self._faces)
        self._points.clear()
        try:
            if float((faces > 1).mean()) > MAX_MULTI_FACE_SHARE:
                raise NoFaceError("several faces were in view; enroll with only yourself in view.")
            emb, secs = self.embedder.embed_clip(times, points)
            if len(emb) == 0:
                raise NoFaceError("no stretch of face motion was long enough; keep your face "
                                  "in view and talk naturally.")
            clip = ClipLandmarks(points, times, faces.astype(np.int8), *self._size)
            (seen,) = avatar_part([clip], self.embedder, self.portrait)
            model = self.embedder.info.model_id
            result = Enrollment(Vectors(model, emb),
                                Vectors(self.faces.model_id, np.stack(self._descriptors)),
                                neutral=neutral_shape(points).astype(np.float32),
                                segments=(Segment("live camera", len(emb), secs,
                                                  avatar_windows=len(seen)),),
                                avatar=(Vectors(self.embedder.info.view_id("avatar"), seen)
                                        if len(seen) else None),
                                portrait=portrait_id(self.portrait if self.portrait is not None
                                                     else load_portrait()))
        except FingerprintError as exc:
            self.on_done(None, str(exc))
            return
        self.on_done(result, None)
