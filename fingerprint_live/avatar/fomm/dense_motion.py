"""FOMM dense motion network: from sparse keypoint motions to a dense flow and an occlusion map.

Each keypoint k gives a local affine map from driving to source coordinates (paper eq. 4):
``z -> kp_s + J_s inv(J_d) (z - kp_d)``; a hourglass predicts per-pixel soft masks that blend these
K maps and the identity (the background) into one flow (eq. 5), plus where the source is occluded.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import (
    AntiAliasInterpolation2d,
    Hourglass,
    inverse2x2,
    kp2gaussian,
    make_coordinate_grid,
    warp,
)
from .keypoint_detector import Keypoints


class DenseMotionNetwork(nn.Module):
    """Predicts ``deformation`` (B, h, w, 2) and ``occlusion`` (B, 1, h, w) at ``scale_factor``.

    It sees the source at ``scale_factor``: :meth:`downscale` makes that once per portrait.
    """

    def __init__(self, block_expansion: int, num_blocks: int, max_features: int, num_kp: int,
                 num_channels: int, estimate_occlusion_map: bool = True, scale_factor: float = 1.0,
                 kp_variance: float = 0.01) -> None:
        super().__init__()
        if not estimate_occlusion_map:
            raise ValueError("this engine needs the occlusion map (estimate_occlusion_map: true)")
        in_features = (num_kp + 1) * (num_channels + 1)
        self.hourglass = Hourglass(block_expansion, in_features, num_blocks, max_features)
        self.mask = nn.Conv2d(self.hourglass.out_filters, num_kp + 1, kernel_size=(7, 7), padding=3)
        self.occlusion = nn.Conv2d(self.hourglass.out_filters, 1, kernel_size=(7, 7), padding=3)
        self.num_kp = num_kp
        self.kp_variance = kp_variance
        self.down = (AntiAliasInterpolation2d(num_channels, scale_factor)
                     if scale_factor != 1 else None)

    def _heatmaps(self, height: int, width: int, kp_driving: Keypoints,
                  kp_source: Keypoints) -> torch.Tensor:
        """(B, K+1, 1, h, w): driving minus source Gaussians, with a zero background map first."""
        heat = (kp2gaussian(kp_driving.value, height, width, self.kp_variance)
                - kp2gaussian(kp_source.value, height, width, self.kp_variance))
        background = torch.zeros_like(heat[:, :1])
        return torch.cat([background, heat], dim=1).unsqueeze(2)

    def _sparse_motions(self, height: int, width: int, kp_driving: Keypoints,
                        kp_source: Keypoints) -> torch.Tensor:
        """(B, K+1, h, w, 2) source coordinates per driving pixel: identity, then K affine maps."""
        batch = kp_source.value.shape[0]
        identity = make_coordinate_grid(height, width, kp_source.value).view(1, 1, height, width, 2)
        offset = identity - kp_driving.value.view(batch, self.num_kp, 1, 1, 2)
        affine = kp_source.jacobian @ inverse2x2(kp_driving.jacobian)
        offset = (affine.view(batch, self.num_kp, 1, 1, 2, 2) @ offset.unsqueeze(-1)).squeeze(-1)
        to_source = offset + kp_source.value.view(batch, self.num_kp, 1, 1, 2)
        return torch.cat([identity.expand(batch, 1, height, width, 2), to_source], dim=1)

    def _deformed_sources(self, source: torch.Tensor, motions: torch.Tensor) -> torch.Tensor:
        """(B, K+1, C, h, w): the source warped by each sparse motion."""
        batch, channels, height, width = source.shape
        repeated = source.unsqueeze(1).expand(batch, self.num_kp + 1, channels, height, width)
        warped = warp(repeated.reshape(-1, channels, height, width),
                      motions.reshape(-1, height, width, 2))
        return warped.reshape(batch, self.num_kp + 1, channels, height, width)

    def downscale(self, source: torch.Tensor) -> torch.Tensor:
        """The source as this network sees it (anti-aliased to ``scale_factor``)."""
        return source if self.down is None else self.down(source)

    def forward(self, source: torch.Tensor, kp_driving: Keypoints,
                kp_source: Keypoints) -> tuple[torch.Tensor, torch.Tensor]:
        """``source`` is already :meth:`downscale`-d."""
        batch, _, height, width = source.shape
        heatmaps = self._heatmaps(height, width, kp_driving, kp_source)
        motions = self._sparse_motions(height, width, kp_driving, kp_source)
        deformed = self._deformed_sources(source, motions)

        stacked = torch.cat([heatmaps, deformed], dim=2).reshape(batch, -1, height, width)
        features = self.hourglass(stacked)
        mask = F.softmax(self.mask(features), dim=1).unsqueeze(-1)
        deformation = (motions * mask).sum(dim=1)
        occlusion = torch.sigmoid(self.occlusion(features))
        return deformation, occlusion
