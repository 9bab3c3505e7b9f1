"""The authorized user's enrollment: embeddings of their motion, bound to the model that made them.

File format (``.fpe``), three lines::

    fingerprint-live-enrollment
    {"version": 1, "model_id": "...", "embeddings": "<base64 float32>", ...}
    sha256:<hex digest of the JSON line>

The digest catches any corrupted or edited byte. It is an integrity check, not a signature:
someone who can write the file can also rewrite the digest, so keep the file where only the user
can write it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import EnrollmentError

MAGIC = b"fingerprint-live-enrollment"
VERSION = 1
#: Files above this size are not enrollments; refuse before reading them whole.
MAX_FILE_BYTES = 64 << 20


@dataclass
class Enrollment:
    """Window embeddings ``(W, D)`` of the authorized user; scores are cosine to their centroid."""

    embeddings: np.ndarray
    model_id: str
    seconds: float
    sources: list[str] = field(default_factory=list)
    created: str = ""

    def __post_init__(self) -> None:
        if self.embeddings.ndim != 2 or 0 in self.embeddings.shape:
            raise EnrollmentError("an enrollment needs at least one window embedding.")
        centroid = self.embeddings.mean(axis=0)
        if not np.isfinite(self.embeddings).all() or not np.linalg.norm(centroid) > 0:
            raise EnrollmentError("the enrollment's embeddings are not usable (not finite or "
                                  "zero); enroll again.")
        self._centroid = (centroid / np.linalg.norm(centroid)).astype(np.float32)

    def score_samples(self, embeddings: np.ndarray) -> np.ndarray:
        """Similarity of each embedding to the enrolled user, in [-1, 1]: higher is more alike."""
        return embeddings @ self._centroid

    def save(self, path: str | Path) -> None:
        emb = np.ascontiguousarray(self.embeddings, dtype="<f4")
        body = json.dumps({
            "version": VERSION,
            "model_id": self.model_id,
            "created": self.created or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(float(self.seconds), 3),
            "sources": self.sources,
            "shape": list(emb.shape),
            "embeddings": base64.b64encode(emb.tobytes()).decode("ascii"),
        }, separators=(",", ":")).encode()
        digest = hashlib.sha256(body).hexdigest().encode()
        data = MAGIC + b"\n" + body + b"\nsha256:" + digest + b"\n"
        tmp = Path(f"{path}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path, model_id: str | None = None) -> Enrollment:
        """Read and check a file; with ``model_id``, refuse one made by another model."""
        path = Path(path)
        if not path.is_file():
            raise EnrollmentError(f"{path}: no such enrollment file; create one with "
                                  "`fingerprint-live enroll VIDEO... -o FILE`.")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise EnrollmentError(f"{path}: too large to be an enrollment file.")
        lines = path.read_bytes().split(b"\n")
        if not lines or lines[0] != MAGIC:
            raise EnrollmentError(f"{path}: not a fingerprint-live enrollment file.")
        if len(lines) != 4 or lines[3] != b"" or not lines[2].startswith(b"sha256:"):
            raise EnrollmentError(f"{path}: the file is truncated or damaged; enroll again.")
        body = lines[1]
        if hashlib.sha256(body).hexdigest().encode() != lines[2][len(b"sha256:"):]:
            raise EnrollmentError(
                f"{path}: the integrity check failed (the file was changed or damaged after it "
                "was written); enroll again."
            )
        try:
            doc = json.loads(body)
            version = int(doc["version"])
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
            raise EnrollmentError(f"{path}: the enrollment data is unreadable ({exc}).") from exc
        if version > VERSION:
            raise EnrollmentError(
                f"{path}: made by a newer fingerprint-live (file version {version}, this one "
                f"reads {VERSION}); upgrade fingerprint-live."
            )
        if version < VERSION:
            raise EnrollmentError(f"{path}: file version {version} is no longer supported; "
                                  "enroll again.")
        if model_id is not None and doc.get("model_id") != model_id:
            raise EnrollmentError(
                f"{path}: made with another motion model ({str(doc.get('model_id'))[:12]}...) "
                f"than the one in use ({model_id[:12]}...); enroll again with this model."
            )
        try:
            raw = base64.b64decode(doc["embeddings"], validate=True)
            emb = np.frombuffer(raw, dtype="<f4").reshape(doc["shape"]).astype(np.float32)
            return cls(emb, doc["model_id"], float(doc["seconds"]), list(doc.get("sources", [])),
                       doc.get("created", ""))
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            raise EnrollmentError(f"{path}: the enrollment data is unreadable ({exc}).") from exc
