"""One module per ``fingerprint-live`` subcommand: ``add_parser(sub)`` and ``run(args) -> int``."""

from __future__ import annotations

import json


def report(summary: dict, as_json: bool, text: str) -> None:
    """A command's summary on stdout: one JSON line with ``--json`` (for machines), else the
    sentence for people. ``--json`` means this in every command."""
    print(json.dumps(summary) if as_json else text)
