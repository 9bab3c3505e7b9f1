"""Face landmarks from MediaPipe FaceMesh: one object, one ``process()`` call per frame.

Which face is the driver: when several faces are in view, the extractor picks the one with the
largest landmark bounding box (the person nearest the camera) and reports how many it saw, so the
caller can warn or block. In video mode it then keeps to that face (the one nearest the previous
frame's driver), so a second person who steps in, even closer to the camera, does not silently
take over the avatar. The 468 points come back in pixels; ``z`` uses the same pixel scale as
``x`` (MediaPipe's convention), so distances are comparable across axes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .errors import MediaError

#: Bumped whenever extraction changes in a way that would change the cached arrays.
EXTRACTOR_VERSION = 2  # 2: in video mode the driver is tracked among several faces
NUM_POINTS = 468
#: Up to this many faces are found, so that a second person in view is seen and counted.
MAX_FACES = 4
#: Frames are scaled down to at most this many pixels on the long side before detection:
#: MediaPipe works at 192x192 internally, so larger inputs only cost time.
MAX_SIDE = 1280


@dataclass(frozen=True)
class FaceLandmarks:
    """The chosen face's landmarks in one frame, or ``None`` when no face was found."""

    points: np.ndarray | None  # (468, 3) float32, pixels of the original frame
    num_faces: int
    width: int
    height: int

    @property
    def found(self) -> bool:
        return self.points is not None

    def box(self) -> np.ndarray:
        """Centre x, y and width of the face's bounding box, in frame widths and heights.

        Relative to the frame, so that a change of resolution (a call adapting to its
        bandwidth) is not taken for another face.
        """
        size = np.array([self.width, self.height])
        low, high = self.points[:, :2].min(axis=0) / size, self.points[:, :2].max(axis=0) / size
        return np.array([*(low + high) / 2, high[0] - low[0]])


def jumped(before: np.ndarray | None, now: np.ndarray) -> bool:
    """Another face, not the same one moving: between two ``FaceLandmarks.box`` of consecutive
    frames it moved its own width or changed size twice over."""
    if before is None:
        return False
    moved = np.hypot(*(now[:2] - before[:2])) > before[2]
    return bool(moved or not 0.5 < now[2] / max(before[2], 1e-6) < 2)


def choose_face(faces: list[np.ndarray], previous: np.ndarray | None = None) -> int:
    """Index of the face nearest ``previous`` (a face's points), else of the largest one."""
    if previous is not None:
        centre = previous[:, :2].mean(axis=0)
        return int(np.argmin([np.linalg.norm(f[:, :2].mean(axis=0) - centre) for f in faces]))
    areas = [np.ptp(f[:, 0]) * np.ptp(f[:, 1]) for f in faces]
    return int(np.argmax(areas))


class LandmarkExtractor:
    """MediaPipe FaceMesh in video mode (tracking between frames); not thread-safe.

    Use ``static=True`` for unrelated still images, where tracking would carry a face over.
    ``max_faces=1`` suits a stream that shows one face by construction (an avatar, on the
    receiver): MediaPipe then looks for more faces only when it loses the one it tracks, which
    saves about 40% of its time; a camera keeps ``MAX_FACES``, to see a second person.
    MediaPipe's C++ start-up lines (TensorFlow Lite's delegate, absl warnings) go to the
    process's stderr when its graph starts and when it first finds a face; they mean nothing
    to a user, so stderr is silenced around those moments only (see ``quiet_stderr``).
    """

    def __init__(self, static: bool = False, min_confidence: float = 0.5,
                 max_faces: int = MAX_FACES) -> None:
        import mediapipe as mp

        self._static = static
        self._previous: np.ndarray | None = None  # the driver's points in the last frame
        self._started = False  # the graph has run and found a face: it logs nothing more
        with quiet_stderr():
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=static,
                max_num_faces=max_faces,
                refine_landmarks=False,
                min_detection_confidence=min_confidence,
                min_tracking_confidence=min_confidence,
            )
            # The graph starts on threads of its own and logs as it does: run it once here,
            # so that it has started (and said so) before stderr is given back.
            self._mesh.process(np.zeros((64, 64, 3), np.uint8))

    def process(self, rgb: np.ndarray) -> FaceLandmarks:
        """Landmarks of the driver's face in an RGB ``uint8`` frame of shape (H, W, 3)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise MediaError(f"expected an RGB uint8 frame (H, W, 3), got {rgb.dtype} {rgb.shape}")
        height, width = rgb.shape[:2]
        if height == 0 or width == 0:
            raise MediaError("the frame is empty (0 pixels)")
        small = _shrink(rgb)
        if self._started:
            result = self._mesh.process(small)
        else:
            with quiet_stderr():
                result = self._mesh.process(small)
        faces = result.multi_face_landmarks or []
        self._started = self._started or bool(faces)
        if not faces:
            self._previous = None
            return FaceLandmarks(None, 0, width, height)
        arrays = [_to_pixels(face, width, height) for face in faces]
        chosen = arrays[choose_face(arrays, self._previous)]
        if not self._static:
            self._previous = chosen
        return FaceLandmarks(chosen, len(arrays), width, height)

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> LandmarkExtractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """File descriptor 2 goes to /dev/null inside (native code writes there, not sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _shrink(rgb: np.ndarray) -> np.ndarray:
    import cv2

    height, width = rgb.shape[:2]
    scale = MAX_SIDE / max(height, width)
    if scale >= 1:
        return np.ascontiguousarray(rgb)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


#: How MediaPipe's ``NormalizedLandmarkList`` of a face mesh lies on the wire: each landmark is
#: 17 bytes, a length-delimited field 1 (tag 0x0A, 15 bytes) holding fields 1-3 (x, y, z) as
#: 32-bit floats (tags 0x0D, 0x15, 0x1D) at bytes 3, 8 and 13.
_WIRE_SIZE = 17
_WIRE_TAG_AT = np.array([0, 1, 2, 7, 12])
_WIRE_TAGS = np.array([0x0A, 15, 0x0D, 0x15, 0x1D], np.uint8)
_WIRE_FLOATS = np.dtype({"names": ["x", "y", "z"], "formats": ["<f4"] * 3,
                         "offsets": [3, 8, 13], "itemsize": _WIRE_SIZE})


def _to_pixels(face, width: int, height: int) -> np.ndarray:
    """The face's points ``(N, 3)`` in pixels.

    Read from the landmark list's wire bytes at once, not point by point in Python (26 us a
    frame instead of 200); a list laid out otherwise (a landmark with visibility set) is read
    field by field.
    """
    wire = face.SerializeToString()
    count = len(face.landmark)
    raw = np.frombuffer(wire, np.uint8)
    if (raw.size == count * _WIRE_SIZE
            and (raw.reshape(count, _WIRE_SIZE)[:, _WIRE_TAG_AT] == _WIRE_TAGS).all()):
        rows = np.frombuffer(wire, _WIRE_FLOATS)
        pts = np.stack([rows["x"], rows["y"], rows["z"]], axis=1)
    else:
        pts = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)
    return pts * np.array([width, height, width], dtype=np.float32)
