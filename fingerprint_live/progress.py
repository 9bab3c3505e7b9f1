"""Progress bars, drawn the same way by every command: "52.31 frame/s", never "52frame/s".

tqdm writes its unit right after the number ("52frame/s") and turns a slow rate around
("2.50s/it"); here the unit has its space and the rate always reads as units per second, on
stderr, so that stdout stays for the result (``--json``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

#: tqdm's default bar with the rate always in units per second.
BAR = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_noinv_fmt}{postfix}]"
#: Without a known total: the count, the time so far, the rate.
COUNT = "{desc}: {n_fmt}{unit} [{elapsed}, {rate_noinv_fmt}{postfix}]"


def progress_bar(iterable: Iterable[T] | None = None, *, desc: str, unit: str,
             total: int | None = None, quiet: bool = False) -> tqdm:
    """A progress bar over ``iterable`` (or updated by hand), counting ``unit`` (singular)."""
    if total is None and iterable is not None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            pass
    return tqdm(iterable, desc=desc, unit=f" {unit}", total=total, disable=quiet,
                bar_format=BAR if total else COUNT, dynamic_ncols=True)
