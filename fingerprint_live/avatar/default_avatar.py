"""The weight-free avatar: the portrait's face mesh moved by the driver's landmarks.

The driver's motion is split the first-order way: a head pose (3D similarity fitted on points
that move with the skull) and per-point expression offsets from the driver's own neutral face
after undoing that pose. The neutral is the enrollment's median face shape (``set_neutral``) or
the face at calibration (``calibrate``, else the first face). The offsets are rescaled to the
portrait's face, multiplied by each region's gain, and added to the portrait's face shape with
its own smile undone (``neutralise``); the head pose is applied on top, where rotating the 3D
points and dropping ``z`` is what turns the head sideways.

Two parts the mesh warp alone cannot show are painted: eyelids that close over the eyes and
rest part-way down so that they can open too (:mod:`.eyelids`, before the warp, in the
portrait's frame), and the inside of an open mouth (:mod:`.mouth`, after it). Eyes opened wider
than the lids allow are widened by the warp.
The brows are inked once at rest (:mod:`.brow_ink`), so the far side finds them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import NoFaceError
from ..expression import BROWS, LIDS_LOWER, LIDS_UPPER
from ..landmarks import NUM_POINTS, FaceLandmarks
from .base import AvatarFrame
from .brow_ink import ink_brows
from .crop import FaceCropper, crop_points
from .eyelids import Eyelids
from .mesh_warp import MeshWarp
from .mouth import OUTER_LOWER, OUTER_UPPER, MouthInterior
from .mouth_opening import MouthOpening
from .neutralise import neutral_portrait, neutralised
from .portrait import find_face

#: Skull points: nose bridge and tip, eye corners, temples and face sides; no lips, brows, jaw
#: or forehead (MediaPipe's forehead rises with the brows, and would take a brow raise for a nod).
RIGID = [8, 168, 6, 197, 195, 5, 4, 1,
         33, 133, 362, 263, 127, 356, 234, 454, 93, 323, 162, 389, 21, 251]
#: Widest opening shown, as a multiple of the portrait's own.
MAX_OPEN = 1.5
#: Eye opening changes up to this share of the neutral get the eyes' gain in full; beyond it
#: only its part up to here, so a squint is not amplified into a blink.
EYE_KNEE = 0.1
#: The portrait crop is this many times the landmark extent: room for hair and head motion.
CROP_SCALE = 2.0
#: Reach (Gaussian sigma) of a region's gain around its points, as a share of the face's size.
GAIN_REACH = 0.12


@dataclass(frozen=True)
class Gains:
    """How much of the driver's motion each region shows (1: as measured).

    MediaPipe on the far side of a call reads small motions of the avatar only in part: brows
    that move a few pixels, lids that close or widen a little, lips that part. So brows are
    shown three times as large, small lid changes twice (up to :data:`EYE_KNEE`) and the lips'
    parting 1.5 times (:mod:`.mouth_opening`); on the drivers the avatar was tuned on (issue 27)
    these lifted the medians of r from 0.80 to 0.83 (brows), 0.86 to 0.89 (eyes), 0.94 to 0.96
    (mouth) and the lowest mouth r from 0.78 to 0.85. A parting drawn twice read better on the
    worst drivers but made an impostor's motion score higher at the receiver, whose avatar-view
    calibration was fitted on the avatar before (tests/test_janus.py no longer saw MISMATCH).
    """

    mouth: float = 1.0
    eyes: float = 2.0
    brows: float = 3.0
    opening: float = 1.5


class DefaultAvatar:
    """An :class:`~avatar.base.AvatarEngine` that needs no model weights.

    ``neutralise`` (0..1) is how much of the portrait's own smile is undone; ``gains`` scale
    the driver's motion per region.
    """

    def __init__(self, portrait_rgb: np.ndarray, size: int = 256, neutralise: float = 1.0,
                 gains: Gains = Gains()) -> None:
        face = find_face(portrait_rgb)
        box = FaceCropper(scale=CROP_SCALE, smoothing=0.0).box(face)
        self.size = size
        portrait = FaceCropper(scale=CROP_SCALE, smoothing=0.0).crop(portrait_rgb, face, size)
        photo = crop_points(face.points, box, size).astype(np.float64)
        self._mouth = MouthInterior(portrait, photo)  # the photo's own teeth, if it shows any
        self._image, self._rest = neutral_portrait(portrait, photo, neutralise)
        self._image = ink_brows(self._image, self._rest)
        self._rest_centre = self._rest[RIGID].mean(axis=0)
        self._rest_scale = _spread(self._rest[RIGID])
        self._rest_angle = _roll(self._rest)
        self._gains = gains
        self._point_gain = _point_gains(self._rest, gains, self._rest_scale)[:, None]
        self._opening = MouthOpening(self._rest, gains.opening)
        self._warp = MeshWarp(self._rest[:, :2], size)
        self._eyelids = Eyelids(self._image, self._rest)
        self._eyelids.measure(self._image)
        self._work = self._image.copy()  # the portrait with its lids closed as needed
        self._shape: np.ndarray | None = None  # the driver's neutral face, any pose
        self._anchor: np.ndarray | None = None  # the driver's points at calibration
        self._neutral: np.ndarray | None = None  # the neutral face in the anchor's pose
        self._to_portrait = np.eye(3)
        self._ratio = 1.0
        self._last = portrait

    def set_neutral(self, shape: np.ndarray) -> None:
        """Take ``shape`` (468, 3), e.g. the enrollment's median face, as the driver's neutral.

        The head's position is still measured from the first face (or ``calibrate``); only
        the expression is measured from ``shape``, so a driver who starts mid-expression is not
        off all call.
        """
        shape = np.asarray(shape, np.float64)
        if shape.shape != (NUM_POINTS, 3) or not np.isfinite(shape).all():
            raise ValueError(f"a neutral face shape is ({NUM_POINTS}, 3) finite numbers")
        self._shape = shape
        if self._anchor is not None:
            self._calibrate(self._anchor)

    def calibrate(self, frame: np.ndarray, face: FaceLandmarks) -> None:
        """Take this driver face as neutral, pose and expression: the portrait at rest."""
        if not face.found:
            raise NoFaceError("the calibration frame has no face: look into the camera.")
        self._shape = None
        self._calibrate(face.points.astype(np.float64))

    def render(self, frame: np.ndarray, face: FaceLandmarks) -> AvatarFrame:
        """The portrait moved like the driver; the last frame again when no face is found."""
        if not face.found:
            return AvatarFrame(self._last, held=True)
        if self._neutral is None:
            self._calibrate(face.points.astype(np.float64))
        moved, scale, closure = self._drive(face.points.astype(np.float64))
        self._eyelids.paint(self._work, self._image, closure)
        image = self._warp.apply(self._work, moved[:, :2])
        self._mouth.paint(image, moved, scale)
        self._last = image
        return AvatarFrame(image, held=False)

    def _calibrate(self, points: np.ndarray) -> None:
        """Measure pose from ``points``, expression from the neutral shape (else ``points``)."""
        self._anchor = points
        neutral = points
        if self._shape is not None:  # the neutral shape, posed as the face is now
            scale, rot, s_c, p_c = _similarity(self._shape[RIGID], points[RIGID])
            neutral = (self._shape - s_c) @ rot.T * scale + p_c
        self._neutral = neutral = neutralised(neutral, smile=0.0)
        self._ratio = self._rest_scale / _spread(neutral[RIGID])
        self._to_portrait = _rot_z(self._rest_angle - _roll(neutral))

    def _drive(self, points: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """The portrait's points posed and expressed like ``points``, their scale, lid closure.

        Returns the moved points (468, 3) in output pixels, output pixels per portrait pixel,
        and how far each eye's lids close (0 open, 1 shut).
        """
        neutral, m = self._neutral, self._to_portrait
        scale, rot, n_c, p_c = _similarity(neutral[RIGID], points[RIGID])
        expression = (points - p_c) @ rot / scale + n_c - neutral  # head pose undone
        rot_p = m @ rot @ m.T
        shape = self._rest + self._point_gain * (self._ratio * expression @ m.T)
        self._opening.apply(shape)
        closure = self._set_eyes(shape, neutral + expression)
        shape -= self._rest_centre
        shift = self._ratio * (p_c - n_c) @ m.T
        return self._rest_centre + scale * shape @ rot_p.T + shift, scale, closure

    def _set_eyes(self, shape: np.ndarray, driver: np.ndarray) -> np.ndarray:
        """Place each portrait eye's lids by the driver's share of their neutral opening.

        The eye keeps its open shape in the mesh and the lids are painted over it, as far as
        makes it read as open as the driver's (the closure is returned); they rest part-way
        down, so a wider eye raises them, and only an eye wider than the lids fully open is
        opened by the mesh.
        Adding the driver's lid offsets instead would overshoot on a portrait with narrower
        eyes, the lids would cross, and a blink would show as an open eye again.
        """
        neutral = self._neutral
        gap_now = np.linalg.norm(driver[LIDS_UPPER] - driver[LIDS_LOWER], axis=2).sum(axis=1)
        gap_rest = np.linalg.norm(neutral[LIDS_UPPER] - neutral[LIDS_LOWER], axis=2).sum(axis=1)
        change = gap_now / np.maximum(gap_rest, 1e-6) - 1
        change += (self._gains.eyes - 1) * np.clip(change, -EYE_KNEE, EYE_KNEE)
        wide = np.clip(self._eyelids.beyond(1 + change), 1.0, MAX_OPEN)[:, None, None]
        middle = (shape[LIDS_UPPER] + shape[LIDS_LOWER]) / 2
        half = (self._rest[LIDS_UPPER] - self._rest[LIDS_LOWER]) / 2 * wide
        shape[LIDS_UPPER] = middle + half
        shape[LIDS_LOWER] = middle - half
        return self._eyelids.closure(1 + change)


def _point_gains(rest: np.ndarray, gains: Gains, face_size: float) -> np.ndarray:
    """Each point's gain (468,): a region's gain at its points, fading to 1 around them."""
    regions = ((BROWS.ravel(), gains.brows),
               (np.concatenate([OUTER_UPPER, OUTER_LOWER]), gains.mouth))
    out = np.ones(len(rest))
    for ids, gain in regions:
        dist = np.linalg.norm(rest[:, None, :2] - rest[None, ids, :2], axis=2).min(axis=1)
        out += (gain - 1) * np.exp(-0.5 * (dist / (GAIN_REACH * face_size)) ** 2)
    return out


def _similarity(
    src: np.ndarray, dst: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Umeyama fit ``dst ~ scale * rot @ (src - src_c) + dst_c``; returns scale, rot, centres."""
    src_c, dst_c = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - src_c, dst - dst_c
    u, s, vt = np.linalg.svd(b.T @ a)
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt))
    rot = (u * d) @ vt
    return float((s * d).sum() / (a**2).sum()), rot, src_c, dst_c


def _spread(points: np.ndarray) -> float:
    """RMS distance from the centroid: a face size that agrees with the similarity's scale."""
    return float(np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1).mean()))


def _roll(points: np.ndarray) -> float:
    """In-plane angle of the line through the outer eye corners."""
    dx, dy = points[263, :2] - points[33, :2]
    return float(np.arctan2(dy, dx))


def _rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
