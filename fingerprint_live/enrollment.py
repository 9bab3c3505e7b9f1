"""The authorized user's enrollment: how they move and how they look, bound to the models.

File format (``.fpe``), three lines::

    fingerprint-live-enrollment
    {"version": 3, "kind": "full" or "receiver",
     "motion": {"model_id": ..., "shape": [W, D], "vectors": "<base64 float32>"},
     "segments": [{"source": ..., "windows": n, "avatar_windows": m, "seconds": s,
                   "origin": ..., "added": ...}],
     "original": k,
     "avatar": {"model_id": ..., "shape": [M, D], "vectors": ...} (optional), "portrait": ...,
     "appearance": {"model_id": ..., "shape": [K, 128], "vectors": ...} or null,
     "neutral": {"shape": [468, 3], "points": "<base64 float32>"} (optional),
     "public_key": {"algorithm": "ed25519", "key": "<base64>"} (optional), ...}
    sha256:<hex digest of the JSON line>

Only embeddings and one face shape are stored: motion window embeddings, face descriptors and
the median face shape in head coordinates (468 landmark positions with pose and size taken
out, which the default avatar measures the user's expressions from), never an image. The
motion windows come in segments, one per recording or verified call they came from, so an
enrollment that grew with use says what it grew from, and the first ``original`` segments (the
enrollment as first made) can be returned to. A *receiver's copy* (``kind: receiver``) holds the
motion part alone: no face descriptors and no face shape, for the far side of a call, which
sees only the avatar. The public key (the owner's, for signed verdicts) is public by nature.

The ``avatar`` part holds the same recordings' motion as the far side sees it: rendered through
the owner's avatar portrait (``portrait`` names it) and found again, embedded with the avatar
view's centre. A receiver compares the avatar it sees with both parts (BENCHMARKS.md: this
scores better than either alone). Its ``model_id`` is the model's avatar view id
(``ModelInfo.view_id``), which also covers that centre and the default avatar's render version,
so a receiver refuses a part made with another avatar instead of scoring against it.

The digest catches any corrupted or edited byte. It is an integrity check, not a signature:
someone who can write the file can also rewrite the digest, so keep the file where only the
user can write it. Version 2 files (one segment, no key) are read; version 1 files (motion
only) are refused with "enroll again".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .atomic_write import write_bytes
from .errors import EnrollmentError
from .landmarks import NUM_POINTS

MAGIC = b"fingerprint-live-enrollment"
VERSION = 3
#: Files above this size are not enrollments; refuse before reading them whole.
MAX_FILE_BYTES = 64 << 20
#: Enrollment footage with several faces in view in more than this share of frames is refused:
#: whose motion and face would it hold?
MAX_MULTI_FACE_SHARE = 0.2
#: What an enrollment file holds: everything (the owner's own copy, for the camera side), or
#: the motion part alone (a receiver's copy, for the far side and the worker pool).
KINDS = ("full", "receiver")
#: Where a segment of motion windows came from.
ORIGINS = ("enroll", "call", "recording")
#: Bytes of an Ed25519 public key.
PUBLIC_KEY_BYTES = 32


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


@dataclass(frozen=True)
class Segment:
    """A run of the enrolled motion windows and where it came from: a recording at enrollment,
    a verified call, or a recording added later. Growth is recorded, and can be undone."""

    source: str
    windows: int
    seconds: float = 0.0
    origin: str = "enroll"
    added: str = ""  # when (ISO 8601)
    avatar_windows: int = 0  # of the same motion rendered through the avatar (the avatar part)

    def __post_init__(self) -> None:
        if (self.windows < 1 or self.avatar_windows < 0 or self.origin not in ORIGINS
                or not np.isfinite(self.seconds)):
            raise EnrollmentError("the enrollment's segments are not usable; enroll again.")

    def to_json(self) -> dict:
        return {"source": self.source, "windows": self.windows,
                "avatar_windows": self.avatar_windows, "seconds": round(float(self.seconds), 3),
                "origin": self.origin, "added": self.added}

    @classmethod
    def from_json(cls, doc: dict) -> Segment:
        return cls(str(doc["source"]), int(doc["windows"]), float(doc["seconds"]),
                   str(doc["origin"]), str(doc.get("added", "")),
                   int(doc.get("avatar_windows", 0)))


def _array_to_json(shape: np.ndarray) -> dict:
    v = np.ascontiguousarray(shape, dtype="<f4")
    return {"shape": list(v.shape), "points": base64.b64encode(v.tobytes()).decode("ascii")}


def _array_from_json(doc: dict) -> np.ndarray:
    raw = base64.b64decode(doc["points"], validate=True)
    shape = [int(n) for n in doc["shape"]]
    return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass(frozen=True)
class Enrollment:
    """Motion embeddings and, for the camera side, face descriptors of the authorized user.

    Motion scores are cosines to the mean window embedding; appearance scores are the distance
    of a face descriptor to the mean enrolled descriptor. ``neutral`` is the user's median face
    shape ``(468, 3)`` in head coordinates, the neutral the default avatar measures their
    expressions from (None in files that have none). ``segments`` say where the motion windows
    came from, in order (one unnamed segment when not given); the first ``original`` of them
    are the enrollment as first made (0, the default: all of them). ``public_key`` is the
    owner's Ed25519 public key (32 raw bytes), which the far side checks signed verdicts with.
    ``avatar`` is the same motion rendered through the owner's avatar portrait (``portrait``
    names it): windows seen in the ``avatar`` view are scored against both parts.
    """

    motion: Vectors
    appearance: Vectors | None = None
    created: str = ""
    neutral: np.ndarray | None = field(default=None, repr=False, compare=False)
    segments: tuple[Segment, ...] = ()
    original: int = 0
    public_key: bytes | None = None
    kind: str = "full"
    avatar: Vectors | None = None
    portrait: str = ""
    #: The centroid windows of a view are scored against.
    _centroids: dict[str, np.ndarray] = field(init=False, repr=False, compare=False)
    #: The centroid's unit parts, by view and number of branches: computed once, not per
    #: window.
    _units: dict[tuple[str, int], np.ndarray] = field(init=False, repr=False, compare=False,
                                                      default_factory=dict)
    _face: np.ndarray | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.created:  # stamped once, when made: its bytes do not change with the clock
            object.__setattr__(self, "created", _now())
        n = self.neutral
        if n is not None and (n.shape != (NUM_POINTS, 3) or not np.isfinite(n).all()):
            raise EnrollmentError("the enrollment's neutral face is not a face shape "
                                  f"({NUM_POINTS} finite 3-D points); enroll again.")
        windows = len(self.motion.vectors)
        if not self.segments:
            object.__setattr__(self, "segments", (Segment("", windows),))
        if sum(s.windows for s in self.segments) != windows:
            raise EnrollmentError("the enrollment's segments do not add up to its motion "
                                  "windows; enroll again.")
        if self.original == 0:
            object.__setattr__(self, "original", len(self.segments))
        if not 0 < self.original <= len(self.segments):
            raise EnrollmentError("the enrollment's original part is out of range; enroll "
                                  "again.")
        if self.public_key is not None and len(self.public_key) != PUBLIC_KEY_BYTES:
            raise EnrollmentError("the enrollment's public key is not an Ed25519 key; make "
                                  "the key again (`fingerprint-live keys`).")
        if self.kind not in KINDS:
            raise EnrollmentError(f"unknown kind of enrollment {self.kind!r}.")
        if self.kind == "receiver" and (self.appearance is not None or self.neutral is not None):
            raise EnrollmentError("a receiver's copy holds the motion part alone; export it "
                                  "again (`fingerprint-live export`).")
        avatar = self.avatar
        if avatar is not None and (sum(s.avatar_windows for s in self.segments)
                                   != len(avatar.vectors)
                                   or avatar.vectors.shape[1] != self.motion.vectors.shape[1]):
            raise EnrollmentError("the enrollment's avatar part does not match its motion "
                                  "part; enroll again.")
        camera = self.motion.vectors.mean(axis=0)
        object.__setattr__(self, "_centroids", {
            "camera": camera,
            # both parts alike, however many windows each has
            "avatar": camera if avatar is None else (camera + avatar.vectors.mean(axis=0)) / 2})
        object.__setattr__(self, "_face", None if self.appearance is None
                           else self.appearance.vectors.mean(axis=0))

    @property
    def seconds(self) -> float:
        """Seconds of usable face motion the windows came from."""
        return float(sum(s.seconds for s in self.segments))

    @property
    def sources(self) -> tuple[str, ...]:
        """Where the motion came from, segment by segment."""
        return tuple(s.source for s in self.segments)

    def motion_scores(self, embeddings: np.ndarray, mix: Sequence[float] = (1.0,),
                      view: str = "camera") -> np.ndarray:
        """Similarity of motion window embeddings seen in ``view`` to the user, in [-1, 1]:
        higher is closer.

        A model with several branches makes embeddings of equal parts, one per branch; each
        part's cosine to the user's is weighed by ``mix`` (the model's weights for the view).
        Windows of the ``avatar`` view meet the camera part and the avatar part alike.
        """
        return self.branch_scores(embeddings, len(mix), view) @ np.asarray(mix, np.float32)

    def branch_scores(self, embeddings: np.ndarray, branches: int = 1,
                      view: str = "camera") -> np.ndarray:
        """Each branch's cosine of motion window embeddings to the user's, ``(W, branches)``."""
        key = (view, branches)
        if key not in self._units:
            centroid = self._centroids[view].reshape(branches, -1)
            norms = np.linalg.norm(centroid, axis=1, keepdims=True)
            if not (norms > 0).all():
                raise EnrollmentError("the enrollment's vectors are not usable (a zero part); "
                                      "enroll again.")
            self._units[key] = centroid / norms
        parts = embeddings.reshape(len(embeddings), branches, -1)
        return np.einsum("wbd,bd->wb", parts, self._units[key])

    def appearance_distances(self, descriptors: np.ndarray) -> np.ndarray:
        """Distance of face descriptors ``(K, 128)`` to the user's face: lower is closer."""
        if self._face is None:
            raise EnrollmentError(self.no_face())
        return np.linalg.norm(np.atleast_2d(descriptors) - self._face, axis=1)

    def no_face(self) -> str:
        """Why this enrollment cannot check a face: what to use instead."""
        if self.kind == "receiver":
            return ("this is a receiver's copy (motion only); the camera side needs the "
                    "owner's full enrollment.")
        return "this enrollment holds no face descriptors; enroll again with this version."

    def check_models(self, motion_id: str, appearance_id: str | None = None,
                     dimensions: tuple[int, int] = (0, 0), avatar_id: str | None = None,
                     ) -> None:
        """Refuse an enrollment made by other models than the ones in use.

        ``dimensions`` (motion, appearance; 0: unchecked) also catches vectors of the wrong
        size behind a matching id, which only an edited file can have. ``avatar_id`` (the
        model's ``view_id("avatar")``), given where the avatar part is scored (the receiver),
        refuses an avatar part made with another avatar or avatar view centre, which would
        score the avatar against a part no longer comparable with it.
        """
        if self.motion.model_id != motion_id:
            raise EnrollmentError(
                f"made with another motion model ({self.motion.model_id[:12]}...) than the one "
                f"in use ({motion_id[:12]}...); enroll again with this model.")
        if avatar_id is not None and self.avatar is not None and self.avatar.model_id != avatar_id:
            raise EnrollmentError(
                "its avatar part (the owner's motion as the far side sees it) was made with "
                "another version of the default avatar or of the avatar view's centre than the "
                "one in use; enroll again with this version (`fingerprint-live enroll`), then "
                "export the receiver's copy again.")
        if (appearance_id is not None and self.appearance is not None
                and self.appearance.model_id != appearance_id):
            raise EnrollmentError(
                f"made with another face descriptor ({self.appearance.model_id[:12]}...) than "
                f"the one in use ({appearance_id[:12]}...); enroll again.")
        for part, size in ((self.motion, dimensions[0]), (self.appearance, dimensions[1])):
            if size and part is not None and part.vectors.shape[1] != size:
                raise EnrollmentError(f"the enrollment's vectors have {part.vectors.shape[1]} "
                                      f"numbers where the model makes {size}; enroll again.")

    def reset(self) -> Enrollment:
        """The enrollment as first made: every segment added since (calls, recordings) gone."""
        if self.original == len(self.segments):
            return self
        first = self.segments[:self.original]
        keep, rendered = sum(s.windows for s in first), sum(s.avatar_windows for s in first)
        avatar = self.avatar
        if avatar is not None:
            avatar = Vectors(avatar.model_id, avatar.vectors[:rendered]) if rendered else None
        return replace(self, motion=Vectors(self.motion.model_id, self.motion.vectors[:keep]),
                       segments=first, avatar=avatar)

    def receiver_copy(self) -> Enrollment:
        """The motion part alone (and the public key), for the far side: no face descriptors,
        no face shape."""
        return replace(self, appearance=None, neutral=None, kind="receiver")

    def save(self, path: str | Path) -> None:
        """Write the file atomically (a crash leaves the old file or the new, never half)."""
        write_bytes(path, self.to_bytes())

    def to_bytes(self) -> bytes:
        """The file's content: the magic line, the JSON body, its digest."""
        doc = {
            "version": VERSION,
            "kind": self.kind,
            "created": self.created,
            "motion": self.motion.to_json(),
            "segments": [s.to_json() for s in self.segments],
            "original": self.original,
            "appearance": None if self.appearance is None else self.appearance.to_json(),
        }
        if self.neutral is not None:
            doc["neutral"] = _array_to_json(self.neutral)
        if self.avatar is not None:
            doc["avatar"], doc["portrait"] = self.avatar.to_json(), self.portrait
        if self.public_key is not None:
            doc["public_key"] = {"algorithm": "ed25519",
                                 "key": base64.b64encode(self.public_key).decode("ascii")}
        body = json.dumps(doc, separators=(",", ":")).encode()
        digest = hashlib.sha256(body).hexdigest().encode()
        return MAGIC + b"\n" + body + b"\nsha256:" + digest + b"\n"

    @classmethod
    def load(cls, path: str | Path, motion_id: str | None = None,
             appearance_id: str | None = None, avatar_id: str | None = None) -> Enrollment:
        """Read and check a file; with model ids, refuse one made by other models
        (:meth:`check_models`)."""
        path = Path(path)
        if not path.is_file():
            raise EnrollmentError(f"{path}: no such enrollment file; create one with "
                                  "`fingerprint-live enroll VIDEO... -o FILE`.")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise EnrollmentError(f"{path}: too large to be an enrollment file.")
        try:
            enrollment = cls.from_bytes(path.read_bytes())
            if motion_id is not None:
                enrollment.check_models(motion_id, appearance_id, avatar_id=avatar_id)
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
        if version < 2:
            raise EnrollmentError(f"file version {version} holds motion only and is no longer "
                                  "supported; enroll again.")
        try:
            return cls._from_doc(doc, version)
        except (ValueError, KeyError, TypeError, OverflowError, AttributeError,
                RecursionError, binascii.Error) as exc:
            raise EnrollmentError(f"the enrollment data is unreadable ({exc}).") from exc

    @classmethod
    def _from_doc(cls, doc: dict, version: int) -> Enrollment:
        motion = Vectors.from_json(doc["motion"])
        appearance, neutral = doc["appearance"], doc.get("neutral")
        avatar = portrait = None
        if version == 2:  # one segment for all its recordings, no key
            segments = (Segment(", ".join(str(s) for s in doc.get("sources", [])),
                                len(motion.vectors), float(doc["seconds"])),)
            original, key, kind = 1, None, "full"
        else:
            segments = tuple(Segment.from_json(s) for s in doc["segments"])
            original, kind = int(doc["original"]), str(doc["kind"])
            key_doc = doc.get("public_key")
            if key_doc is not None and key_doc["algorithm"] != "ed25519":
                raise EnrollmentError(f"public keys of {key_doc['algorithm']!r} are not "
                                      "supported; make an Ed25519 key (`fingerprint-live keys`).")
            key = None if key_doc is None else base64.b64decode(key_doc["key"], validate=True)
            if doc.get("avatar") is not None:
                avatar, portrait = Vectors.from_json(doc["avatar"]), str(doc["portrait"])
        return cls(motion, None if appearance is None else Vectors.from_json(appearance),
                   str(doc.get("created", "")),
                   None if neutral is None else _array_from_json(neutral),
                   segments, original, key, kind, avatar, portrait or "")
