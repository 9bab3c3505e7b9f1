"""FOMM keypoint detector: K keypoints, each with a local 2x2 Jacobian (paper sec. 3.1)."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import AntiAliasInterpolation2d, Hourglass, make_coordinate_grid


class Keypoints(NamedTuple):
    """``value`` (B, K, 2) in [-1, 1] as (x, y); ``jacobian`` (B, K, 2, 2)."""

    value: torch.Tensor
    jacobian: torch.Tensor


class KPDetector(nn.Module):
    """Hourglass on a downscaled image; keypoints are soft-argmax means of per-keypoint heatmaps."""

    def __init__(self, block_expansion: int, num_kp: int, num_channels: int, max_features: int,
                 num_blocks: int, temperature: float, estimate_jacobian: bool = True,
                 scale_factor: float = 1.0) -> None:
        super().__init__()
        if not estimate_jacobian:
            raise ValueError("this engine needs the Jacobians (estimate_jacobian: true)")
        self.predictor = Hourglass(block_expansion, num_channels, num_blocks, max_features)
        # No padding, as in the published model: the heatmap is 6 pixels smaller than its input.
        self.kp = nn.Conv2d(self.predictor.out_filters, num_kp, kernel_size=(7, 7))
        self.jacobian = nn.Conv2d(self.predictor.out_filters, 4 * num_kp, kernel_size=(7, 7))
        # Start from identity Jacobians, as the authors do, so training begins from pure shifts.
        nn.init.zeros_(self.jacobian.weight)
        with torch.no_grad():
            self.jacobian.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0] * num_kp))
        self.temperature = temperature
        self.down = (AntiAliasInterpolation2d(num_channels, scale_factor)
                     if scale_factor != 1 else None)

    def forward(self, image: torch.Tensor) -> Keypoints:
        """Keypoints of ``image`` (B, C, H, W) in [0, 1]."""
        if self.down is not None:
            image = self.down(image)
        features = self.predictor(image)
        logits = self.kp(features)
        batch, num_kp, height, width = logits.shape
        heatmap = F.softmax(logits.reshape(batch, num_kp, -1) / self.temperature, dim=2)
        heatmap = heatmap.reshape(batch, num_kp, height, width)

        grid = make_coordinate_grid(height, width, heatmap)
        value = (heatmap.unsqueeze(-1) * grid).sum(dim=(2, 3))

        jacobian_map = self.jacobian(features).reshape(batch, num_kp, 4, height, width)
        jacobian = (heatmap.unsqueeze(2) * jacobian_map).sum(dim=(3, 4))
        return Keypoints(value, jacobian.reshape(batch, num_kp, 2, 2))
