"""The temporal CNN that turns a window of motion features into one unit-length embedding.

torch is needed only to train and export it; at run time the exported ONNX file is used.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class _Block(nn.Module):
    """Dilated temporal convolution with a residual path."""

    def __init__(self, width: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation)
        self.norm = nn.BatchNorm1d(width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + F.relu(self.norm(self.conv(h)))


class MotionEmbedder(nn.Module):
    """(batch, time, channels) window features -> (batch, dim) L2-normalised embeddings.

    The per-channel mean and spread of the training windows are stored in the model, so the
    exported file takes raw window features. With ``pose`` (the indices of the head-pose
    channels) and ``pose_width`` > 0, those few channels get a projection of their own, so that
    they are not drowned among a thousand distances.
    """

    def __init__(self, channels: int, width: int = 128, dim: int = 128, dropout: float = 0.2,
                 pose: list[int] | None = None, pose_width: int = 0):
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))
        self.drop = nn.Dropout(dropout)
        pose = pose if pose_width > 0 else []
        rest = [c for c in range(channels) if c not in set(pose)]
        self.register_buffer("rest_index", torch.tensor(rest, dtype=torch.long))
        self.register_buffer("pose_index", torch.tensor(pose, dtype=torch.long))
        self.proj = nn.Conv1d(len(rest), width - (pose_width if pose else 0), 1)
        self.pose_proj = nn.Conv1d(len(pose), pose_width, 1) if pose else None
        self.proj_norm = nn.BatchNorm1d(width)
        self.blocks = nn.Sequential(*[_Block(width, d) for d in (1, 2, 4, 8)])
        self.head = nn.Linear(2 * width, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop((x - self.mean) / self.std).transpose(1, 2)
        h = self.proj(x.index_select(1, self.rest_index))
        if self.pose_proj is not None:
            h = torch.cat([h, self.pose_proj(x.index_select(1, self.pose_index))], dim=1)
        h = self.blocks(F.relu(self.proj_norm(h)))
        mean = h.mean(dim=2)
        std = (h.var(dim=2, unbiased=False) + 1e-5).sqrt()
        return F.normalize(self.head(torch.cat([mean, std], dim=1)), dim=1)
