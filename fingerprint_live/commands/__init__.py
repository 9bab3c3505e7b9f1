"""One module per ``fingerprint-live`` subcommand: ``add_parser(sub)`` and ``run(args) -> int``."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import MediaError


def report(summary: dict, as_json: bool, text: str) -> None:
    """A command's summary on stdout: one JSON line with ``--json`` (for machines), else the
    sentence for people. ``--json`` means this in every command."""
    print(json.dumps(summary) if as_json else text)


def output_path(path: str | Path, what: str) -> Path:
    """``path`` as a Path once its folder is known to exist: checked before the work, so that a
    long run does not fail only when it comes to write."""
    path = Path(path)
    if not path.parent.is_dir():
        raise MediaError(f"{path.parent}: no such folder for the {what}.")
    return path
