"""The authorized user's enrollment: how they move and how they look, bound to the models.

File format (``.fpe``), three lines::

    fingerprint-live-enrollment
    {"version": 2, "motion": {"model_id": ..., "shape": [W, D], "vectors": "<base64 float32>"},
     "appearance": {"model_id": ..., "shape": [K, 128], "vectors": ...} or null,
     "neutral": {"shape": [468, 3], "points": "<base64 float32>"} (optional), ...}
    sha256:<hex digest of the JSON line>

Only embeddings and one face shape are stored: motion window embeddings, face descriptors and
the median face shape in head coordinates (468 landmark positions with pose and size taken
out, which the default avatar measures the user's expressions from), never an image. The
digest catches any corrupted or edited byte. It is an integrity check, not a signature: someone
who can write the file can also rewrite the digest, so keep the file where only the user can
write it. Version 1 files (motion only) are refused with "enroll again".
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic_write import write_bytes
from .errors import EnrollmentError
from .landmarks import NUM_POINTS

MAGIC = b"fingerprint-live-enrollment"
VERSION = 2
#: Files above this size are not enrollments; refuse before reading them whole.
MAX_FILE_BYTES = 64 << 20
#: Enrollment footage with several faces in view in more than this share of frames is refused:
#: whose motion and face would it hold?
MAX_MULTI_FACE_SHARE = 0.2


@dataclass(frozen=True)
class Vectors:
    """One signal's enrolled vectors ``(N, D)`` and the id of the model that made them."""

    model_id: str
    vectors: np.ndarray

    def __post_init__(self) -> None:
        v = self.vectors
        if v.ndim != 2 or 0 in v.shape:
            raise EnrollmentError("an enrollment needs at least one vector of each signal.")
        if not np.isfinite(v).all() or not np.linalg.norm(v.mean(axis=0)) > 0:
            raise EnrollmentError("the enrollment's vectors are not usable (not finite or "
                                  "zero); enroll again.")

    def to_json(self) -> dict:
        v = np.ascontiguousarray(self.vectors, dtype="<f4")
        return {"model_id": self.model_id, "shape": list(v.shape),
                "vectors": base64.b64encode(v.tobytes()).decode("ascii")}

    @classmethod
    def from_json(cls, doc: dict) -> Vectors:
        raw = base64.b64decode(doc["vectors"], validate=True)
        shape = [int(n) for n in doc["shape"]]
        return cls(str(doc["model_id"]),
                   np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32))


def _neutral_to_json(shape: np.ndarray) -> dict:
    v = np.ascontiguousarray(shape, dtype="<f4")
    return {"shape": list(v.shape), "points": base64.b64encode(v.tobytes()).decode("ascii")}


def _neutral_from_json(doc: dict) -> np.ndarray:
    raw = base64.b64decode(doc["points"], validate=True)
    shape = [int(n) for n in doc["shape"]]
    return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)


@dataclass(frozen=True)
class Enrollment:
    """Motion embeddings and, for the camera side, face descriptors of the authorized user.

    Motion scores are cosines to the mean window embedding; appearance scores are the distance
    of a face descriptor to the mean enrolled descriptor. ``neutral`` is the user's median face
    shape ``(468, 3)`` in head coordinates, the neutral the default avatar measures their
    expressions from (None in files that have none).
    """

    motion: Vectors
    appearance: Vectors | None = None
    seconds: float = 0.0
    sources: tuple[str, ...] = ()
    created: str = ""
    neutral: np.ndarray | None = field(default=None, repr=False, compare=False)
    _centroid: np.ndarray = field(init=False, repr=False, compare=False)
    #: The centroid's unit parts, by number of branches: computed once, not per window.
    _units: dict[int, np.ndarray] = field(init=False, repr=False, compare=False,
                                          default_factory=dict)
    _face: np.ndarray | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = self.neutral
        if n is not None and (n.shape != (NUM_POINTS, 3) or not np.isfinite(n).all()):
            raise EnrollmentError("the enrollment's neutral face is not a face shape "
                                  f"({NUM_POINTS} finite 3-D points); enroll again.")
        object.__setattr__(self, "_centroid", self.motion.vectors.mean(axis=0))
        object.__setattr__(self, "_face", None if self.appearance is None
                           else self.appearance.vectors.mean(axis=0))

    def motion_scores(self, embeddings: np.ndarray, mix: Sequence[float] = (1.0,)) -> np.ndarray:
        """Similarity of motion window embeddings to the user, in [-1, 1]: higher is closer.

        A model with several branches makes embeddings of equal parts, one per branch; each
        part's cosine to the user's is weighed by ``mix`` (the model's weights for the view).
        """
        return self.branch_scores(embeddings, len(mix)) @ np.asarray(mix, np.float32)

    def branch_scores(self, embeddings: np.ndarray, branches: int = 1) -> np.ndarray:
        """Each branch's cosine of motion window embeddings to the user's, ``(W, branches)``."""
        if branches not in self._units:
            centroid = self._centroid.reshape(branches, -1)
            norms = np.linalg.norm(centroid, axis=1, keepdims=True)
            if not (norms > 0).all():
                raise EnrollmentError("the enrollment's vectors are not usable (a zero part); "
                                      "enroll again.")
            self._units[branches] = centroid / norms
        parts = embeddings.reshape(len(embeddings), branches, -1)
        return np.einsum("wbd,bd->wb", parts, self._units[branches])

    def appearance_distances(self, descriptors: np.ndarray) -> np.ndarray:
        """Distance of face descriptors ``(K, 128)`` to the user's face: lower is closer."""
        if self._face is None:
            raise EnrollmentError("this enrollment holds no face descriptors; enroll again "
                                  "with this version to check appearance.")
        return np.linalg.norm(np.atleast_2d(descriptors) - self._face, axis=1)

    def check_models(self, motion_id: str, appearance_id: str | None = None,
                     dimensions: tuple[int, int] = (0, 0)) -> None:
        """Refuse an enrollment made by other models than the ones in use.

        ``dimensions`` (motion, appearance; 0: unchecked) also catches vectors of the wrong
        size behind a matching id, which only an edited file can have.
        """
        if self.motion.model_id != motion_id:
            raise EnrollmentError(
                f"made with another motion model ({self.motion.model_id[:12]}...) than the one "
                f"in use ({motion_id[:12]}...); enroll again with this model.")
        if (appearance_id is not None and self.appearance is not None
                and self.appearance.model_id != appearance_id):
            raise EnrollmentError(
                f"made with another face descriptor ({self.appearance.model_id[:12]}...) than "
                f"the one in use ({appearance_id[:12]}...); enroll again.")
        for part, size in ((self.motion, dimensions[0]), (self.appearance, dimensions[1])):
            if size and part is not None and part.vectors.shape[1] != size:
                raise EnrollmentError(f"the enrollment's vectors have {part.vectors.shape[1]} "
                                      f"numbers where the model makes {size}; enroll again.")

    def save(self, path: str | Path) -> None:
        """Write the file atomically (a crash leaves the old file or the new, never half)."""
        write_bytes(path, self.to_bytes())

    def to_bytes(self) -> bytes:
        """The file's content: the magic line, the JSON body, its digest."""
        body = json.dumps({
            "version": VERSION,
            "created": self.created or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(float(self.seconds), 3),
            "sources": list(self.sources),
            "motion": self.motion.to_json(),
            "appearance": None if self.appearance is None else self.appearance.to_json(),
            **({} if self.neutral is None else {"neutral": _neutral_to_json(self.neutral)}),
        }, separators=(",", ":")).encode()
        digest = hashlib.sha256(body).hexdigest().encode()
        return MAGIC + b"\n" + body + b"\nsha256:" + digest + b"\n"

    @classmethod
    def load(cls, path: str | Path, motion_id: str | None = None,
             appearance_id: str | None = None) -> Enrollment:
        """Read and check a file; with model ids, refuse one made by other models."""
        path = Path(path)
        if not path.is_file():
            raise EnrollmentError(f"{path}: no such enrollment file; create one with "
                                  "`fingerprint-live enroll VIDEO... -o FILE`.")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise EnrollmentError(f"{path}: too large to be an enrollment file.")
        try:
            enrollment = cls.from_bytes(path.read_bytes())
            if motion_id is not None:
                enrollment.check_models(motion_id, appearance_id)
        except EnrollmentError as exc:
            raise EnrollmentError(f"{path}: {exc}") from exc
        return enrollment

    @classmethod
    def from_bytes(cls, data: bytes) -> Enrollment:
        """Parse and check an enrollment file's content (``EnrollmentError`` saying why not)."""
        lines = data.split(b"\n")
        if not lines or lines[0] != MAGIC:
            raise EnrollmentError("not a fingerprint-live enrollment file.")
        if len(lines) != 4 or lines[3] != b"" or not lines[2].startswith(b"sha256:"):
            raise EnrollmentError("the file is truncated or damaged; enroll again.")
        body = lines[1]
        if hashlib.sha256(body).hexdigest().encode() != lines[2][len(b"sha256:"):]:
            raise EnrollmentError("the integrity check failed (the file was changed or damaged "
                                  "after it was written); enroll again.")
        try:
            doc = json.loads(body)
            version = int(doc["version"])
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
            raise EnrollmentError(f"the enrollment data is unreadable ({exc}).") from exc
        if version > VERSION:
            raise EnrollmentError(f"made by a newer fingerprint-live (file version {version}, "
                                  f"this one reads {VERSION}); upgrade fingerprint-live.")
        if version < VERSION:
            raise EnrollmentError(f"file version {version} holds motion only and is no longer "
                                  "supported; enroll again.")
        try:
            appearance, neutral = doc["appearance"], doc.get("neutral")
            return cls(Vectors.from_json(doc["motion"]),
                       None if appearance is None else Vectors.from_json(appearance),
                       float(doc["seconds"]), tuple(str(s) for s in doc.get("sources", [])),
                       str(doc.get("created", "")),
                       None if neutral is None else _neutral_from_json(neutral))
        except (ValueError, KeyError, TypeError, OverflowError, AttributeError,
                RecursionError) as exc:
            raise EnrollmentError(f"the enrollment data is unreadable ({exc}).") from exc
