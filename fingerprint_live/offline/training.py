"""Contrastive training of the motion embedder (Prashnani et al., arXiv 2305.03713).

Each batch holds two views of several drivers. A view is a window of the driver's motion, most
often transplanted onto the neutral face shape of another person in the batch, so that several
drivers share one target shape (the paper's cross-reenactment). The loss pulls views of one
driver together and pushes apart other drivers, with extra weight on other drivers shown on the
same target shape, and on time-shuffled copies of each view (motion order matters, not just
which poses occur).
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..atomic_write import atomic_path, write_bytes, write_text
from ..errors import FingerprintError
from ..features import FPS, NUM_POSE, FeatureSet, frame_features, neutral_shape, transplant
from ..progress import progress_bar
from ..windows import full_windows, series, window_at
from .augment import CameraVariation, vary
from .avatar_render import rendered_clip
from .clip_landmarks import ClipLandmarks, extract_clip
from .manifest import Clip

WINDOW = 50  # 2 s at 25 fps
STRIDE = 5  # a score every 0.2 s


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1500
    drivers_per_batch: int = 24
    targets_per_batch: int = 4
    transplant_prob: float = 0.75
    temperature: float = 0.1
    hard_negative_weight: float = 2.0
    lr: float = 2e-3
    weight_decay: float = 1e-3
    seed: int = 0
    variation: CameraVariation | None = None  # what another camera or day changes
    avatar_prob: float = 0.0  # share of views taken from the clip rendered through an avatar
    features: FeatureSet = FeatureSet()  # what the network reads
    pose_width: int = 0  # > 0: the head-pose channels get a projection of this width


@dataclass
class PreparedClip:
    identity: str
    times: np.ndarray  # the clip's frame times
    points: np.ndarray  # its landmarks (N, 468, 3), NaN where no face
    windows: np.ndarray  # the indices k of its gap-free windows (every grid step)
    shape: np.ndarray  # neutral face shape in head coordinates
    #: The same clip rendered through the default avatar onto each training portrait, as
    #: MediaPipe sees it again (the receiver's view), or None where it gave no window.
    renders: list[PreparedClip | None] = field(default_factory=list)

    @classmethod
    def of(cls, identity: str, marks: ClipLandmarks) -> PreparedClip | None:
        """The clip's windows; None when it has no full window."""
        found = marks.found
        gaps = np.where(found, 0.0, np.nan)[:, None]  # where the clip has a face
        windows = full_windows(series(marks.times, gaps), WINDOW, 1)
        if not len(windows):
            return None
        return cls(identity, marks.times, marks.points, windows,
                   neutral_shape(marks.points[found]))

    def window(self, k: int, features: FeatureSet, target_shape: np.ndarray | None = None,
               variation: tuple[np.random.Generator, CameraVariation] | None = None,
               ) -> np.ndarray | None:
        """Window ``k`` (a step of the clip's grid) with the motion on ``target_shape``, as
        another camera might see it (``variation``); None when that leaves a gap.

        Built like every other window (:mod:`..windows`), from the frames it spans.
        """
        start = self.times[0] + k / FPS
        near = (self.times >= start - 1.0) & (self.times <= start + WINDOW / FPS + 1.5)
        times, points = self.times[near], self.points[near]
        if variation is not None:
            times, points = vary(times, points, start, *variation)
        if target_shape is not None:
            points = transplant(points, self.shape, target_shape)
        return window_at(times, frame_features(points, features), float(self.times[0]), k,
                         WINDOW, 1, features)


def prepare(clips: list[Clip], progress: bool = True,
            portraits: list[np.ndarray] = ()) -> list[PreparedClip]:
    """Landmarks (cached) and window positions for every clip with at least one full window,
    and, for each of ``portraits``, the clip rendered through the default avatar onto it
    (rendered once, then cached: slow the first time)."""
    out = []
    for clip in progress_bar(clips, desc="landmarks", unit="clip", quiet=not progress):
        prepared = PreparedClip.of(clip.identity, extract_clip(clip.path))
        if prepared is None:
            continue
        prepared.renders = [PreparedClip.of(clip.identity, rendered_clip(clip.path, portrait))
                            for portrait in portraits]
        out.append(prepared)
    return out


class BatchSampler:
    """Draws the views, their target shapes and their time-shuffled copies."""

    def __init__(self, clips: list[PreparedClip], config: TrainConfig) -> None:
        self.clips = clips
        self.cfg = config
        self.by_identity: dict[str, list[int]] = defaultdict(list)
        for i, clip in enumerate(clips):
            self.by_identity[clip.identity].append(i)
        self.identities = sorted(self.by_identity)
        if len(self.identities) < 2:
            raise FingerprintError("training needs clips of at least two identities.")
        self.rng = np.random.default_rng(config.seed)


    def sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Windows ``(2V, T, C)``: V views then their V shuffled copies; identity and target ids."""
        cfg, rng = self.cfg, self.rng
        n = min(cfg.drivers_per_batch, len(self.identities))
        drivers = rng.choice(len(self.identities), size=n, replace=False)
        targets = rng.choice(len(self.clips), size=cfg.targets_per_batch, replace=False)
        views, ids, tids = [], [], []
        for d in drivers:
            own = self.by_identity[self.identities[d]]
            picks = rng.choice(own, size=2, replace=len(own) < 2)
            for ci in picks:
                clip = self.clips[int(ci)]
                tid, target = -1, None
                renders = [i for i, r in enumerate(clip.renders) if r is not None]
                if renders and rng.random() < cfg.avatar_prob:  # the receiver's view
                    portrait = int(rng.choice(renders))
                    tid = cfg.targets_per_batch + portrait  # one face for every driver on it
                    clip = clip.renders[portrait]
                elif rng.random() < cfg.transplant_prob:
                    tid = int(rng.integers(len(targets)))
                    target = self.clips[targets[tid]].shape
                view = None
                while view is None:  # a variation may open a gap: draw again
                    view = clip.window(int(rng.choice(clip.windows)), cfg.features, target,
                                       cfg.variation and (rng, cfg.variation))
                views.append(view)
                ids.append(d)
                tids.append(tid)
        views = np.stack(views)
        shuffled = np.stack([v[rng.permutation(WINDOW)] for v in views])
        return np.concatenate([views, shuffled]), np.asarray(ids), np.asarray(tids)


def contrastive_loss(emb: torch.Tensor, ids: torch.Tensor, tids: torch.Tensor,
                     temperature: float, hard_weight: float) -> torch.Tensor:
    """Supervised contrastive loss over V views; rows V.. are shuffled copies (negatives only).

    A negative's weight enters the softmax denominator as ``log(weight)`` added to its logit.
    """
    v = len(ids)
    logits = emb[:v] @ emb.T / temperature
    same = ids[:, None] == ids[None, :]
    pos = torch.zeros_like(logits, dtype=torch.bool)
    pos[:, :v] = same
    pos.fill_diagonal_(False)
    hard = torch.zeros_like(pos)
    hard[:, :v] = (~same) & (tids[:, None] == tids[None, :]) & (tids[:, None] >= 0)
    hard[:, v:] = True  # the shuffled copies
    logits = logits + hard * math.log(hard_weight)
    self_mask = torch.zeros_like(pos)
    self_mask[:, :v].fill_diagonal_(True)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return -(log_prob.masked_fill(~pos, 0).sum(1) / pos.sum(1).clamp(min=1)).mean()


def channel_stats(sampler: BatchSampler, batches: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and spread of training windows, stored in the model for scaling."""
    data = np.concatenate([sampler.sample()[0] for _ in range(batches)])
    data = data.reshape(-1, data.shape[-1])
    return data.mean(0), data.std(0) + 1e-4


def train(clips: list[PreparedClip], config: TrainConfig, progress: bool = True):
    """Train a ``MotionEmbedder``; returns the model (eval mode) and the loss per step."""
    from .embedder_net import MotionEmbedder

    torch.manual_seed(config.seed)
    sampler = BatchSampler(clips, config)
    features = config.features
    pose = (list(range(features.frame_channels - NUM_POSE, features.frame_channels))
            if features.pose else [])
    if features.velocity:  # the changes of the pose channels too
        pose += [c + features.frame_channels for c in pose]
    model = MotionEmbedder(features.channels, pose=pose, pose_width=config.pose_width)
    mean, std = channel_stats(sampler)
    model.mean.copy_(torch.from_numpy(mean))
    model.std.copy_(torch.from_numpy(std))
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.steps)
    losses = []
    model.train()
    bar = progress_bar(range(config.steps), desc="train", unit="step", quiet=not progress)
    for _ in bar:
        batch, ids, tids = sampler.sample()
        emb = model(torch.from_numpy(batch))
        loss = contrastive_loss(emb, torch.from_numpy(ids), torch.from_numpy(tids),
                                config.temperature, config.hard_negative_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
    return model.eval(), losses


def export(model, out_dir: str | Path, info: dict, features: FeatureSet) -> Path:
    """Write ``embedder.onnx`` and ``embedder.json`` (features, window, stride, training
    facts)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "embedder.onnx"
    with atomic_path(onnx_path) as tmp:
        to_onnx(model, features.channels, tmp)
    meta = {"window": WINDOW, "stride": STRIDE, "fps": FPS, "channels": features.channels,
            "features": features.to_dict(), **info}
    write_text(out_dir / "embedder.json", json.dumps(meta, indent=2) + "\n")
    return onnx_path


def to_onnx(model: torch.nn.Module, channels: int, path: Path) -> None:
    """``model`` as one ONNX file (weights inside), input ``windows (batch, WINDOW, channels)``.

    torch.export's exporter, the supported one (torch 2.9 made it the default and deprecated
    TorchScript's; it needs the ``onnxscript`` package of the ``[train]`` extra). On the way it
    logs the torchvision operators it skips and trips over a deprecation in its own pytree
    code; neither concerns this model, so both are kept off the user's terminal.
    """
    batch = torch.export.Dim("batch")
    torch_onnx = logging.getLogger("torch.onnx")
    level = torch_onnx.level
    torch_onnx.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)",
                                    category=FutureWarning)
            torch.onnx.export(model.eval(), (torch.zeros(1, WINDOW, channels),), str(path),
                              input_names=["windows"], output_names=["embeddings"],
                              dynamic_shapes={"x": {0: batch}}, opset_version=18, dynamo=True,
                              external_data=False, verbose=False)
    finally:
        torch_onnx.setLevel(level)


def export_branches(branch_dirs: list[Path], out_dir: str | Path, info: dict,
                    features: FeatureSet) -> Path:
    """Join the branch models in ``branch_dirs`` (one per space of ``features``, exported by
    :func:`export`) into one model of several branches, with its card."""
    from .branch_graph import join_branches

    blobs, branches = [], []
    for path, (expected, _) in zip(branch_dirs, features.branches(), strict=True):
        card = json.loads((path / "embedder.json").read_text())
        if FeatureSet.from_dict(card.get("features")) != expected:
            raise FingerprintError(f"{path} is not a {expected.space} branch of this model; "
                                   "remove it to train it again.")
        blobs.append((path / "embedder.onnx").read_bytes())
        branches.append({"space": expected.space, "final_loss": card.get("final_loss")})
    out_dir = Path(out_dir)
    onnx_path = out_dir / "embedder.onnx"
    write_bytes(onnx_path, join_branches(blobs, [c for _, c in features.branches()],
                                         features.channels))
    meta = {"window": WINDOW, "stride": STRIDE, "fps": FPS, "channels": features.channels,
            "features": features.to_dict(), **info, "branches": branches}
    write_text(out_dir / "embedder.json", json.dumps(meta, indent=2) + "\n")
    return onnx_path


def fit_center(model_dir: str | Path, clips: list[PreparedClip], progress: bool = True) -> None:
    """Store the mean embedding of the training windows as the model's ``center``.

    Runs the exported ONNX model, so a centre can be fitted to any model folder from the
    manifest it was trained on. The model id changes with it: old enrollments are refused.
    """
    from ..embedder import Embedder

    meta_path = Path(model_dir) / "embedder.json"
    meta = json.loads(meta_path.read_text())
    meta.pop("center", None)
    write_text(meta_path, json.dumps(meta, indent=2) + "\n")
    embedder = Embedder(model_dir)
    total, count = 0.0, 0
    for clip in progress_bar(clips, desc="centre", unit="clip", quiet=not progress):
        emb, _ = embedder.embed_clip(clip.times, clip.points)
        if len(emb):
            total, count = total + emb.sum(0), count + len(emb)
    meta["center"] = [round(float(v), 6) for v in total / max(count, 1)]
    write_text(meta_path, json.dumps(meta, indent=2) + "\n")
