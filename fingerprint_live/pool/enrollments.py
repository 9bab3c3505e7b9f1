"""The pool's enrollment folder: ``NAME.fpe`` checks the publisher whose display name (or feed
id) is ``NAME``. Every file is read and checked before the pool starts, so a bad one is an
error at once, not a stream that silently goes unchecked."""

from __future__ import annotations

from pathlib import Path

from ..enrollment import Enrollment
from ..errors import EnrollmentError


def load_folder(folder: str | Path, motion_id: str, avatar_id: str | None = None,
                ) -> dict[str, bytes]:
    """``{name: file bytes}`` of every ``*.fpe`` in ``folder``, each checked against the motion
    model ``motion_id`` (and its avatar part against ``avatar_id``, the model's avatar view)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EnrollmentError(f"{folder}: no such enrollment folder.")
    files = sorted(folder.glob("*.fpe"))
    if not files:
        raise EnrollmentError(f"{folder}: no enrollment files (NAME.fpe, named for the "
                              "publisher's display name) in the folder.")
    found = {}
    for path in files:
        Enrollment.load(path, motion_id, avatar_id=avatar_id)  # names the file, says why
        found[path.stem] = path.read_bytes()
    return found
