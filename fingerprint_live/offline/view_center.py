"""A view's own embedding centre: the mean network output of clips as that view shows them.

Rendering through the avatar shifts every window's embedding in much the same direction (the
avatar keeps some motion and loses some, for everyone alike). The model's centre is the mean of
its training windows as a camera records them; the ``avatar`` view's centre is the mean of the
same people's clips rendered through the default avatar. Subtracting it from avatar windows
before they are compared with a camera enrollment takes the shared shift out (BENCHMARKS.md:
the receiver's AUC with and without it). Fitted on training people only, like the model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..embedder import Embedder
from ..errors import FingerprintError
from ..progress import progress_bar
from .avatar_render import RENDER_VERSION
from .evaluation import VIEWS
from .manifest import Clip

#: What a view's clips are made with, recorded beside its centre (``view_fitted_on``): it is
#: part of the id an enrollment's part for the view is bound to (``ModelInfo.view_id``).
FITTED_ON = {"avatar": f"default avatar, render {RENDER_VERSION}"}


def fit_view_center(model_dir: str | Path, clips: list[Clip], view: str = "avatar",
                    progress: bool = True) -> np.ndarray:
    """Store the mean network output of ``clips`` as ``view`` shows them as the model's
    ``view_centers[view]``, and return it. Clips that cannot be read or give no window are
    left out."""
    embedder = Embedder(model_dir, threads=2)
    total, count = 0.0, 0
    for clip in progress_bar(clips, desc=f"{view} centre", unit="clip", quiet=not progress):
        try:
            marks = VIEWS[view](clip.path)
        except FingerprintError:
            continue
        _, windows = embedder.clip_windows(marks.times, marks.points)
        if len(windows):
            out = embedder.outputs(windows)
            total, count = total + out.sum(0), count + len(out)
    if count == 0:
        raise FingerprintError(f"no clip gave a window as the {view} view shows it.")
    center = total / count
    meta_path = Path(model_dir) / "embedder.json"
    meta = json.loads(meta_path.read_text())
    meta["view_centers"] = {**meta.get("view_centers", {}),
                            view: [round(float(v), 6) for v in center]}
    meta["view_fitted_on"] = {**meta.get("view_fitted_on", {}), view: FITTED_ON.get(view, "")}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return center
