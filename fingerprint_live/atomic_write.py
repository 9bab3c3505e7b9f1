"""Outputs that appear whole or not at all.

A command writes into a temporary file beside its output and renames it onto the output only
when everything went well; when it fails (bad input half-way, a crash, Ctrl-C), the temporary
file is removed and an earlier output of the same name is left as it was. The rename is atomic
on one file system, which is why the temporary file lies in the output's own folder.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to, renamed onto ``path`` on success.

    It keeps ``path``'s suffix, so writers that pick a format by the name (PyAV, ``np.savez``)
    write the same format.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{threading.get_ident()}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically; with ``mode`` (0o600 for a secret), the file has
    that mode from its creation on, so the content is never readable by others even briefly."""
    with atomic_path(path) as tmp:
        if mode is None:
            tmp.write_bytes(data)
            return
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)  # exactly ``mode``, whatever the umask
            fh.write(data)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    write_bytes(path, text.encode())
