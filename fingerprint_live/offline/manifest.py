"""The clip manifest: ``path,identity,kind,...`` with paths relative to the CSV's folder."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..errors import FingerprintError

#: Kinds of rows that show a person's own motion (``synthetic`` rows are driven by ``identity``).
MOTION_KINDS = ("real", "synthetic")


@dataclass(frozen=True)
class Clip:
    path: Path
    identity: str
    kind: str


def read_manifest(csv_path: str | Path, kinds: tuple[str, ...] = MOTION_KINDS) -> list[Clip]:
    """Rows of ``kinds`` that have an identity, in file order."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise FingerprintError(f"{csv_path}: no such manifest file.")
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"path", "identity", "kind"} - set(reader.fieldnames or ())
        if missing:
            raise FingerprintError(
                f"{csv_path}: the manifest lacks the column(s) {', '.join(sorted(missing))}; "
                "it needs at least path,identity,kind."
            )
        return [
            Clip(csv_path.parent / row["path"], row["identity"], row["kind"])
            for row in reader
            if row["kind"] in kinds and row["identity"]
        ]


def write_manifest(clips: list[Clip], csv_path: str | Path) -> None:
    """Write clips with absolute paths, e.g. one fold's training set."""
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "identity", "kind"])
        for clip in clips:
            writer.writerow([str(Path(clip.path).resolve()), clip.identity, clip.kind])
