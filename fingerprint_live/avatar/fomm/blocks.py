"""Building blocks shared by the FOMM keypoint detector, dense motion network and generator.

Attribute names (``conv``, ``norm``, ``down_blocks``, ``encoder``, ...) are those of the authors'
code, because the published checkpoint is loaded by name with strict matching.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def make_coordinate_grid(height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """(H, W, 2) grid of (x, y) in [-1, 1], pixel centres at both ends (grid_sample, corners on)."""
    x = torch.linspace(-1.0, 1.0, width, dtype=like.dtype, device=like.device)
    y = torch.linspace(-1.0, 1.0, height, dtype=like.dtype, device=like.device)
    return torch.stack([x.expand(height, width), y.view(-1, 1).expand(height, width)], dim=-1)


def kp2gaussian(value: torch.Tensor, height: int, width: int, variance: float) -> torch.Tensor:
    """(B, K, H, W) Gaussian bumps centred on keypoints ``value`` (B, K, 2) (paper eq. 6)."""
    grid = make_coordinate_grid(height, width, value)
    diff = grid.view(1, 1, height, width, 2) - value.view(*value.shape[:2], 1, 1, 2)
    return torch.exp(-0.5 * (diff**2).sum(-1) / variance)


def warp(x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Bilinear sampling of ``x`` at ``grid`` (B, H, W, 2) in [-1, 1], zeros outside.

    ``align_corners=True`` is the behaviour of the PyTorch 1.0 the published model was trained
    with, and matches :func:`make_coordinate_grid`, whose ends are pixel centres.
    """
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def inverse2x2(m: torch.Tensor) -> torch.Tensor:
    """Inverse of (..., 2, 2) matrices as adjugate / determinant.

    ``torch.inverse`` has no ONNX operator; this form exports to plain arithmetic.
    """
    a, b, c, d = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    det = a * d - b * c
    adjugate = torch.stack([torch.stack([d, -b], -1), torch.stack([-c, a], -1)], -2)
    return adjugate / det[..., None, None]


class AntiAliasInterpolation2d(nn.Module):
    """Gaussian blur then subsampling, so a 0.25x input keeps its low frequencies without aliasing.

    The kernel is a buffer named ``weight``: the checkpoint stores it.
    """

    def __init__(self, channels: int, scale: float) -> None:
        super().__init__()
        sigma = (1 / scale - 1) / 2
        size = 2 * round(sigma * 4) + 1
        self.pad = size // 2
        self.step = round(1 / scale)
        axis = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
        bump = torch.exp(-(axis**2) / (2 * sigma**2))
        kernel = bump[:, None] * bump[None, :]
        kernel = kernel / kernel.sum()
        self.register_buffer("weight", kernel.expand(channels, 1, size, size).clone())
        self.groups = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (self.pad, self.pad, self.pad, self.pad))
        x = F.conv2d(x, self.weight, groups=self.groups)
        # Nearest-neighbour downscaling by an integer factor picks every step-th pixel.
        return x[:, :, :: self.step, :: self.step]


class ResBlock2d(nn.Module):
    """Pre-activation residual block at constant resolution."""

    def __init__(self, features: int, kernel_size: int = 3, padding: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, kernel_size, padding=padding)
        self.conv2 = nn.Conv2d(features, features, kernel_size, padding=padding)
        self.norm1 = nn.BatchNorm2d(features, affine=True)
        self.norm2 = nn.BatchNorm2d(features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        out = self.conv2(F.relu(self.norm2(out)))
        return out + x


class SameBlock2d(nn.Module):
    """Conv, batch norm, ReLU at constant resolution."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3,
                 padding: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size, padding=padding)
        self.norm = nn.BatchNorm2d(out_features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x)))


class DownBlock2d(SameBlock2d):
    """Same block followed by 2x2 average pooling (halves the resolution)."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3,
                 padding: int = 1) -> None:
        super().__init__(in_features, out_features, kernel_size, padding)
        self.pool = nn.AvgPool2d(kernel_size=(2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(super().forward(x))


class UpBlock2d(SameBlock2d):
    """Nearest 2x upsampling followed by a same block (doubles the resolution)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _width(block_expansion: int, max_features: int, level: int) -> int:
    return min(max_features, block_expansion * 2**level)


class Encoder(nn.Module):
    """Hourglass encoder: returns the input and every down block's output (the skips)."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int,
                 max_features: int) -> None:
        super().__init__()
        self.down_blocks = nn.ModuleList(
            DownBlock2d(in_features if i == 0 else _width(block_expansion, max_features, i),
                        _width(block_expansion, max_features, i + 1))
            for i in range(num_blocks)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = [x]
        for block in self.down_blocks:
            outs.append(block(outs[-1]))
        return outs


class Decoder(nn.Module):
    """Hourglass decoder: upsamples and concatenates the matching skip after every block."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int,
                 max_features: int) -> None:
        super().__init__()
        blocks = []
        for i in reversed(range(num_blocks)):
            skips = 1 if i == num_blocks - 1 else 2
            blocks.append(UpBlock2d(skips * _width(block_expansion, max_features, i + 1),
                                    _width(block_expansion, max_features, i)))
        self.up_blocks = nn.ModuleList(blocks)
        self.out_filters = block_expansion + in_features

    def forward(self, skips: list[torch.Tensor]) -> torch.Tensor:
        out = skips[-1]
        for block, skip in zip(self.up_blocks, reversed(skips[:-1]), strict=True):
            out = torch.cat([block(out), skip], dim=1)
        return out


class Hourglass(nn.Module):
    """U-Net style encoder-decoder; output has ``out_filters`` channels at input resolution."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int,
                 max_features: int) -> None:
        super().__init__()
        self.encoder = Encoder(block_expansion, in_features, num_blocks, max_features)
        self.decoder = Decoder(block_expansion, in_features, num_blocks, max_features)
        self.out_filters = self.decoder.out_filters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
