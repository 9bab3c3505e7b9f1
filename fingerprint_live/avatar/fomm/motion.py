"""Relative motion transfer: move the portrait as the driver moved since the neutral frame.

Absolute driver keypoints would impose the driver's face shape on the portrait; the authors' demo
(``normalize_kp``) instead adds the driver's displacement from its neutral frame to the portrait's
own keypoints, and composes Jacobians as ``J_d inv(J_neutral) J_portrait``.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import inverse2x2
from .generator import EncodedSource, OcclusionAwareGenerator
from .keypoint_detector import Keypoints


def relative_keypoints(source: Keypoints, driving: Keypoints, neutral: Keypoints,
                       movement_scale: torch.Tensor | float = 1.0,
                       relative_jacobian: bool = True) -> Keypoints:
    """The portrait's keypoints moved by the driver's motion since ``neutral``."""
    value = source.value + (driving.value - neutral.value) * movement_scale
    if not relative_jacobian:
        return Keypoints(value, driving.jacobian)
    jacobian = driving.jacobian @ inverse2x2(neutral.jacobian) @ source.jacobian
    return Keypoints(value, jacobian)


class SourceEncoder(nn.Module):
    """The generator's per-portrait share as a graph of its own: run once per portrait."""

    output_names = EncodedSource._fields

    def __init__(self, generator: OcclusionAwareGenerator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, source: torch.Tensor) -> EncodedSource:
        return self.generator.encode(source)


class RelativeAnimator(nn.Module):
    """Relative motion plus the generator's per-frame part as one graph: what runs per frame.

    The source comes encoded (:class:`SourceEncoder`). Inputs are flat tensors (not
    ``Keypoints``) so the graph exports to ONNX with named inputs.
    """

    input_names = (*EncodedSource._fields, "source_value", "source_jacobian", "driving_value",
                   "driving_jacobian", "neutral_value", "neutral_jacobian", "movement_scale")

    def __init__(self, generator: OcclusionAwareGenerator, relative_jacobian: bool = True) -> None:
        super().__init__()
        self.generator = generator
        self.relative_jacobian = relative_jacobian

    def forward(self, features: torch.Tensor, downscaled: torch.Tensor,
                source_value: torch.Tensor, source_jacobian: torch.Tensor,
                driving_value: torch.Tensor, driving_jacobian: torch.Tensor,
                neutral_value: torch.Tensor, neutral_jacobian: torch.Tensor,
                scale: torch.Tensor) -> torch.Tensor:
        kp_source = Keypoints(source_value, source_jacobian)
        kp_new = relative_keypoints(kp_source, Keypoints(driving_value, driving_jacobian),
                                    Keypoints(neutral_value, neutral_jacobian), scale,
                                    self.relative_jacobian)
        return self.generator.animate(EncodedSource(features, downscaled), kp_new, kp_source)
