"""FOMM occlusion-aware generator: warp the source's features by the dense motion, then decode.

The source's feature map is warped by the dense flow and dimmed where the occlusion map says the
source cannot show the driving pose, and a decoder paints the frame (paper sec. 3.2). Everything
that depends on the source alone (its encoder features, 19% of a frame's arithmetic, and its
downscaled copy for the dense motion network) is :meth:`OcclusionAwareGenerator.encode`-d once
per portrait; :meth:`~OcclusionAwareGenerator.animate` is the per-frame rest.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import DownBlock2d, ResBlock2d, SameBlock2d, UpBlock2d, warp
from .dense_motion import DenseMotionNetwork
from .keypoint_detector import Keypoints


class EncodedSource(NamedTuple):
    """What the generator needs of the source image, whatever the driving pose."""

    features: torch.Tensor  # (B, C', H / 2**num_down_blocks, W / 2**num_down_blocks)
    downscaled: torch.Tensor  # (B, C, h, w): the source at the dense motion network's scale


class OcclusionAwareGenerator(nn.Module):
    """Source image plus source and driving keypoints -> the source moved to the driving pose."""

    def __init__(self, num_channels: int, num_kp: int, block_expansion: int, max_features: int,
                 num_down_blocks: int, num_bottleneck_blocks: int,
                 estimate_occlusion_map: bool = True,
                 dense_motion_params: dict | None = None) -> None:
        super().__init__()
        self.dense_motion_network = DenseMotionNetwork(
            num_kp=num_kp, num_channels=num_channels,
            estimate_occlusion_map=estimate_occlusion_map, **(dense_motion_params or {}))
        self.first = SameBlock2d(num_channels, block_expansion, kernel_size=7, padding=3)

        def width(level: int) -> int:
            return min(max_features, block_expansion * 2**level)

        self.down_blocks = nn.ModuleList(
            DownBlock2d(width(i), width(i + 1)) for i in range(num_down_blocks))
        self.up_blocks = nn.ModuleList(
            UpBlock2d(width(num_down_blocks - i), width(num_down_blocks - i - 1))
            for i in range(num_down_blocks))
        self.bottleneck = nn.Sequential()
        for i in range(num_bottleneck_blocks):
            self.bottleneck.add_module(f"r{i}", ResBlock2d(width(num_down_blocks)))
        self.final = nn.Conv2d(block_expansion, num_channels, kernel_size=(7, 7), padding=3)

    def forward(self, source: torch.Tensor, kp_driving: Keypoints,
                kp_source: Keypoints) -> torch.Tensor:
        """(B, C, H, W) prediction in [0, 1], the source encoded anew (the authors' interface)."""
        return self.animate(self.encode(source), kp_driving, kp_source)

    def encode(self, source: torch.Tensor) -> EncodedSource:
        """The source's share of every frame: compute once per portrait."""
        out = self.first(source)
        for block in self.down_blocks:
            out = block(out)
        return EncodedSource(out, self.dense_motion_network.downscale(source))

    def animate(self, source: EncodedSource, kp_driving: Keypoints,
                kp_source: Keypoints) -> torch.Tensor:
        """(B, C, H, W) prediction in [0, 1] of the encoded source moved to ``kp_driving``."""
        deformation, occlusion = self.dense_motion_network(source.downscaled, kp_driving,
                                                           kp_source)
        out = source.features
        size = out.shape[2:]
        if deformation.shape[1:3] != size:
            deformation = F.interpolate(deformation.permute(0, 3, 1, 2), size=size,
                                        mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
        if occlusion.shape[2:] != size:
            occlusion = F.interpolate(occlusion, size=size, mode="bilinear", align_corners=False)
        out = warp(out, deformation) * occlusion

        out = self.bottleneck(out)
        for block in self.up_blocks:
            out = block(out)
        return torch.sigmoid(self.final(out))
