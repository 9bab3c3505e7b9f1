"""The driver's face descriptor: who is in front of the camera, from how the face looks.

dlib's ResNet face descriptor (``dlib-bin`` and ``face-recognition-models`` from PyPI; the
network's weights are public domain) maps an aligned 150x150 face chip to 128 numbers; two
photos of one person lie within about 0.6 of each other. The chip is aligned from five of the
MediaPipe landmarks the pipeline already has (the eye corners and the base of the nose, in the
order dlib's 5-point alignment expects), so no second face detector or landmark model runs.

The descriptor costs about 100 ms a face on one core and holds the GIL throughout, so the live
pipeline runs it in a process of its own (:mod:`.descriptor_process`); ``face_crop`` is the only
part on the frame path: a bounded crop around the face and the five points inside it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .calibration import Calibration
from .errors import ModelError
from .landmarks import FaceLandmarks
from .model_files import model_dir

#: MediaPipe indices of dlib's five alignment points, in dlib's order: the outer and inner
#: corner of the eye on the image's right, the outer and inner corner of the other eye, and
#: the base of the nose (checked against dlib's own 5-point predictor: within 2% of the face
#: width on real clips).
FIVE_POINTS = np.array([263, 362, 33, 133, 2])
CHIP_SIZE, CHIP_PADDING = 150, 0.25
#: Faces wider than this (pixels) are scaled down in the crop sent to the descriptor: the chip
#: shows the face about 100 pixels wide, so more only costs transfer and resampling.
MAX_FACE_WIDTH = 200
#: The crop reaches this many face widths beyond the face on every side (the chip's padding).
CROP_MARGIN = 0.6
MODEL_FILE = "face_descriptor.json"
WEIGHTS = "dlib_face_recognition_resnet_model_v1.dat"


@dataclass(frozen=True)
class FaceCrop:
    """What the descriptor needs of one frame: a small RGB crop and the 5 points inside it."""

    image: np.ndarray  # (h, w, 3) uint8, contiguous
    points: np.ndarray  # (5, 2) float32, crop pixels


def face_crop(rgb: np.ndarray, face: FaceLandmarks) -> FaceCrop:
    """A crop of ``rgb`` around ``face`` with the alignment points (cheap; frame path)."""
    import cv2

    pts = face.points[:, :2]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    width = float(max(hi[0] - lo[0], hi[1] - lo[1], 1.0))
    margin = CROP_MARGIN * width
    height_px, width_px = rgb.shape[:2]
    x0, y0 = (max(0, int(v - margin)) for v in lo)
    x1 = min(width_px, int(hi[0] + margin) + 1)
    y1 = min(height_px, int(hi[1] + margin) + 1)
    crop = rgb[y0:y1, x0:x1]
    five = face.points[FIVE_POINTS, :2] - np.array([x0, y0], np.float32)
    scale = MAX_FACE_WIDTH / width
    if scale < 1:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        five = five * scale
    return FaceCrop(np.ascontiguousarray(crop), five.astype(np.float32))


def weights_path() -> Path:
    """dlib's descriptor weights inside the ``face-recognition-models`` package.

    The package's own ``__init__`` needs ``pkg_resources``, which new environments lack, so it
    is located without being imported.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the face descriptor needs the face-recognition-models package: "
                         "pip install face-recognition-models dlib-bin (or reinstall "
                         "fingerprint-live).")
    path = Path(spec.submodule_search_locations[0]) / "models" / WEIGHTS
    if not path.is_file():
        raise ModelError(f"{path} is missing: reinstall face-recognition-models.")
    return path


@dataclass(frozen=True)
class DescriptorInfo:
    """What an enrollment is bound to and how scores read (pyannote-style declaration)."""

    model_id: str  # sha256 of the weights and the alignment settings
    dimension: int
    metric: str  # distances between descriptors: euclidean, lower is more alike
    device: str
    calibration: Calibration  # distance to the enrolled face -> log-likelihood ratio
    meta: dict
    folder: Path  # where the card was read: the descriptor process reads it there too


def load_info(folder: str | Path | None = None) -> DescriptorInfo:
    """The descriptor's card (``face_descriptor.json``), checked against the installed weights."""
    path = model_dir(folder) / MODEL_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ModelError(f"{path} is missing: reinstall fingerprint-live.") from exc
    except ValueError as exc:
        raise ModelError(f"{path} is not readable JSON ({exc}).") from exc
    digest = _sha256(weights_path())
    if meta.get("weights_sha256") != digest:
        raise ModelError(
            f"the installed dlib face descriptor weights (sha256 {digest[:12]}...) are not the "
            f"ones {path.name} was calibrated for: install face-recognition-models==0.3.0.")
    settings = {"weights": digest, "points": FIVE_POINTS.tolist(), "chip": CHIP_SIZE,
                "padding": CHIP_PADDING}
    model_id = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    return DescriptorInfo(model_id, 128, "euclidean", "cpu",
                          Calibration.from_dict(meta.get("calibration")), meta, path.parent)


class FaceDescriptor:
    """Face crops -> 128-d descriptors; one instance per process (it holds the GIL)."""

    def __init__(self, folder: str | Path | None = None) -> None:
        import dlib

        self.info = load_info(folder)
        self._dlib = dlib
        self._net = dlib.face_recognition_model_v1(str(weights_path()))

    def describe(self, crop: FaceCrop) -> np.ndarray:
        """The descriptor of the face in ``crop``, float32 (128,)."""
        dlib = self._dlib
        h, w = crop.image.shape[:2]
        shape = dlib.full_object_detection(
            dlib.rectangle(0, 0, w - 1, h - 1),
            [dlib.point(int(round(x)), int(round(y))) for x, y in crop.points])
        chip = dlib.get_face_chip(crop.image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        return np.asarray(self._net.compute_face_descriptor(chip), np.float32)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
