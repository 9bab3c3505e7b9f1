"""The shipped motion embedder, run with onnxruntime (CUDA when usable, else CPU)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .calibration import Calibration
from .devices import onnx_device, onnx_session
from .errors import ModelError
from .features import FeatureSet
from .model_files import model_dir as model_dir_of
from .windows import clip_windows, frame_rows, usable_seconds


@dataclass(frozen=True)
class ModelInfo:
    model_id: str  # sha256 of the network and its centre: enrollments are bound to it
    dimension: int  # of the embeddings
    device: str  # where they are computed: cpu or cuda
    features: FeatureSet  # what the network reads
    window: int
    stride: int
    fps: float
    #: Window cosine -> log-likelihood ratio, by what the stream shows: ``camera`` (a real
    #: face) or ``avatar`` (the default avatar's rendering); fitted on held-out identities.
    calibrations: dict[str, Calibration]
    meta: dict
    metric: str = "cosine"  # how embeddings are compared: higher is more alike
    #: Each branch's weight in a window's score, by view (fitted on held-out identities with
    #: the calibration: what the avatar keeps of each space differs from what a camera shows).
    mixes: dict[str, tuple[float, ...]] = field(default_factory=dict)
    #: What an enrollment part of each view with a centre of its own is bound to: the
    #: network, both centres, and what the view's centre was fitted on (for ``avatar``, the
    #: default avatar's render version). A view without one is bound to ``model_id``.
    view_ids: dict[str, str] = field(default_factory=dict)

    def view_id(self, view: str) -> str:
        """The id the enrollment's part for ``view`` must carry."""
        return self.view_ids.get(view, self.model_id)

    @property
    def branches(self) -> int:
        """Networks side by side, one per feature space; an embedding is their unit parts in
        turn."""
        return len(self.features.spaces)

    def mix(self, view: str = "camera") -> tuple[float, ...]:
        """The branch weights for ``view``; equal weights until they are fitted."""
        return self.mixes.get(view, (1.0 / self.branches,) * self.branches)

    def calibration(self, view: str = "camera") -> Calibration:
        """The calibration for ``view``; :class:`ModelError` when the model has none fitted."""
        if view not in self.calibrations:
            raise ModelError(f"this motion model has no score calibration for {view} streams; "
                             "fit one on held-out identities (benchmarks/cross_validation.py) "
                             "before verifying.")
        return self.calibrations[view]


def model_id(onnx_blob: bytes, center: np.ndarray | None, *view: np.ndarray | str) -> str:
    """sha256 of the network and its embedding centre: what an enrollment is bound to. A view
    with a centre of its own adds that centre and what it was fitted on (``view``)."""
    digest = hashlib.sha256(onnx_blob)
    if center is not None:
        digest.update(center.astype("<f4").tobytes())
    for part in view:
        digest.update(part.encode() if isinstance(part, str) else part.astype("<f4").tobytes())
    return digest.hexdigest()


class Embedder:
    """Windows of motion features ``(W, T, C)`` -> unit embeddings ``(W, D)``, compared by
    cosine (``info.dimension``, ``info.metric``; runs on ``info.device``). A model with several
    branches (``info.branches``) makes one unit part per branch, each compared on its own.

    ``device`` is ``cpu``, ``cuda`` (needs onnxruntime-gpu) or ``auto`` (CUDA when
    onnxruntime-gpu can use a device, else the CPU: :func:`devices.onnx_device`). When the model
    carries a ``center`` (the mean embedding of its training windows), it is subtracted before
    renormalising: the direction every window shares carries no identity, and removing it
    spreads the scores of different people apart.

    A view can have a centre of its own (``view_centers`` in the card: for ``avatar``, the mean
    embedding of the training people's clips rendered through the default avatar): windows seen
    through the avatar are shifted as a whole by the rendering, and taking that shift out lets
    them be compared with an enrollment made from the camera. Only the camera's centre is part
    of the model id; an enrollment's part seen in a view with a centre of its own (the avatar
    part) is bound to ``info.view_id(view)``, which adds that centre and what it was fitted on,
    so refitting it, or changing the avatar, makes that part stale rather than silently wrong.
    A view's centre, like its calibration, is fitted on held-out folds' training people
    (benchmarks/cross_validation.py).
    """

    def __init__(self, model_dir: str | Path | None = None, device: str = "auto",
                 threads: int = 1) -> None:
        import onnxruntime as ort

        device = onnx_device(device)
        model_dir = model_dir_of(model_dir)
        onnx_path, meta_path = model_dir / "embedder.onnx", model_dir / "embedder.json"
        for p in (onnx_path, meta_path):
            if not p.is_file():
                raise ModelError(
                    f"{p} is missing: reinstall fingerprint-live, or train a model with "
                    "`fingerprint-live train` and point FINGERPRINT_LIVE_MODELS at its folder."
                )
        blob = onnx_path.read_bytes()
        meta = json.loads(meta_path.read_text())
        try:
            features = FeatureSet.from_dict(meta.get("features"))
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{meta_path}: features this version cannot compute ({exc}); "
                             "upgrade fingerprint-live.") from exc
        if meta.get("channels") != features.channels:
            raise ModelError(
                f"{onnx_path} expects {meta.get('channels')} feature channels but its features "
                f"make {features.channels}: the model and its card do not match."
            )
        branches = len(features.spaces)
        mixes = {view: tuple(float(w) for w in mix) for view, mix in meta.get("mix", {}).items()}
        if any(len(mix) != branches for mix in mixes.values()):
            raise ModelError(f"{meta_path}: a mix does not weigh each of the model's {branches} "
                             "branches; fit it again (benchmarks/cross_validation.py).")
        center = meta.get("center")
        self._center = None if center is None else np.asarray(center, np.float32)
        self._view_centers = {view: np.asarray(c, np.float32)
                              for view, c in (meta.get("view_centers") or {}).items()}
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = onnx_session(blob, device, opts)
        dimension = int(self._session.get_outputs()[0].shape[1])
        if dimension % branches or any(c is not None and c.shape != (dimension,) for c in
                                       (self._center, *self._view_centers.values())):
            raise ModelError(f"{onnx_path} makes {dimension} numbers, which do not split into "
                             f"its {branches} branches or match its centre: the model and its "
                             "card do not match.")
        self.info = ModelInfo(
            model_id=model_id(blob, self._center),
            dimension=dimension,
            device=device,
            features=features,
            window=int(meta["window"]),
            stride=int(meta["stride"]),
            fps=float(meta["fps"]),
            calibrations={view: Calibration.from_dict(c)
                          for view, c in (meta.get("calibration") or {}).items()},
            meta=meta,
            mixes=mixes,
            view_ids={view: model_id(blob, self._center, c,
                                     str((meta.get("view_fitted_on") or {}).get(view, "")))
                      for view, c in self._view_centers.items()},
        )

    def embed_clip(self, times: np.ndarray, points: np.ndarray,
                   target_shape: np.ndarray | None = None, view: str = "camera",
                   ) -> tuple[np.ndarray, float]:
        """Embeddings of every window of a clip's landmarks ``(N, 468, 3)`` (NaN rows: no
        face) as ``view`` shows them, and its seconds of usable motion.

        With ``target_shape``, the motion is first moved onto that neutral face shape, as an
        avatar that shows one face for everyone would.
        """
        rows, windows = self.clip_windows(times, points, target_shape)
        return self.embed(windows, view), usable_seconds(times, rows, self.info.window)

    def clip_windows(self, times: np.ndarray, points: np.ndarray,
                     target_shape: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A clip's per-frame feature rows and its gap-free windows, as the network reads
        them."""
        info = self.info
        rows = frame_rows(points, info.features, target_shape)
        return rows, clip_windows(times, rows, info.window, info.stride, info.features)

    def outputs(self, windows: np.ndarray) -> np.ndarray:
        """The network's own output for windows ``(W, T, C)``, before any centring."""
        (out,) = self._session.run(None, {"windows": np.ascontiguousarray(windows, np.float32)})
        return out

    def embed(self, windows: np.ndarray, view: str = "camera") -> np.ndarray:
        """Unit embeddings of windows seen in ``view`` (its centre, where it has its own)."""
        if len(windows) == 0:
            return np.empty((0, 0), np.float32)
        out = self.outputs(windows)
        center = self._view_centers.get(view, self._center)
        if center is None:
            return out
        parts = (out - center).reshape(len(out), self.info.branches, -1)
        parts /= np.linalg.norm(parts, axis=2, keepdims=True) + 1e-12
        return parts.reshape(out.shape)
