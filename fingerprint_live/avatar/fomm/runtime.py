"""Two ways to run the keypoint detector and the relative animator: onnxruntime or PyTorch.

Both take and return float32 numpy arrays, so the engine does not care which one runs. The ONNX
runner imports no torch: once exported, the graphs need onnxruntime alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from .generator import OcclusionAwareGenerator
    from .keypoint_detector import KPDetector


class Runner(Protocol):
    def keypoints(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(value (1, K, 2), jacobian (1, K, 2, 2)) of a (1, 3, H, W) image in [0, 1]."""

    def animate(self, *inputs: np.ndarray) -> np.ndarray:
        """(1, 3, H, W) prediction; inputs in the order of ``RelativeAnimator.forward``."""


class OnnxRunner:
    """onnxruntime sessions, on CUDA when the device is 'cuda' or (device None) it is available."""

    def __init__(self, kp_path: Path, generator_path: Path, device: str | None = None) -> None:
        import onnxruntime as ort

        available = ort.get_available_providers()
        use_cuda = device == "cuda" or (device is None and "CUDAExecutionProvider" in available)
        if use_cuda and "CUDAExecutionProvider" not in available:
            raise RuntimeError("device 'cuda' asked for, but this onnxruntime has no CUDA "
                               "provider: install onnxruntime-gpu (the `gpu` extra)")
        self.providers = (["CUDAExecutionProvider", "CPUExecutionProvider"] if use_cuda
                          else ["CPUExecutionProvider"])
        self._kp = ort.InferenceSession(str(kp_path), providers=self.providers)
        self._generator = ort.InferenceSession(str(generator_path), providers=self.providers)
        self._generator_inputs = [i.name for i in self._generator.get_inputs()]

    def keypoints(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        value, jacobian = self._kp.run(None, {"image": image})
        return value, jacobian

    def animate(self, *inputs: np.ndarray) -> np.ndarray:
        return self._generator.run(None, dict(zip(self._generator_inputs, inputs, strict=True)))[0]


class TorchRunner:
    """PyTorch modules: half precision on CUDA (twice the throughput), float32 on the CPU."""

    def __init__(self, kp_detector: KPDetector, generator: OcclusionAwareGenerator,
                 device: str | None = None, relative_jacobian: bool = True) -> None:
        import torch

        from .motion import RelativeAnimator

        self._torch = torch
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self._kp = kp_detector.eval().to(self.device, self.dtype)
        self._animator = RelativeAnimator(generator, relative_jacobian).eval().to(self.device,
                                                                                  self.dtype)

    def _tensor(self, array: np.ndarray):
        return self._torch.from_numpy(np.ascontiguousarray(array)).to(self.device, self.dtype)

    def keypoints(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with self._torch.inference_mode():
            kp = self._kp(self._tensor(image))
        return kp.value.float().cpu().numpy(), kp.jacobian.float().cpu().numpy()

    def animate(self, *inputs: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            out = self._animator(*(self._tensor(a) for a in inputs))
        return out.float().cpu().numpy()
