"""Two ways to run the FOMM graphs: onnxruntime (CPU, CUDA, TensorRT) or PyTorch (CPU, CUDA).

Both take and return float32 numpy arrays, so the engine does not care which one runs. The
portrait is encoded once (:meth:`Runner.set_source`) and its encoding stays where the runner
computes, on the GPU when there is one; per frame only the driver crop goes in, a few keypoint
numbers cross, and the frame comes out. The ONNX runner imports no torch: once exported, the
graphs need onnxruntime alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ...devices import onnx_session

if TYPE_CHECKING:
    from .config import OnnxGraphs
    from .generator import OcclusionAwareGenerator
    from .keypoint_detector import KPDetector

PRECISIONS = ("fp32", "fp16")


class Runner(Protocol):
    device: str  # where it computes: cpu or cuda
    precision: str  # of the animator: fp32 or fp16
    runtime: str  # both, and what computes, in words

    def keypoints(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(value (1, K, 2), jacobian (1, K, 2, 2)) of a (1, 3, H, W) image in [0, 1]."""

    def set_source(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Encode the portrait (1, 3, H, W) once for every later frame; its keypoints."""

    def animate(self, driving_value: np.ndarray, driving_jacobian: np.ndarray,
                neutral_value: np.ndarray, neutral_jacobian: np.ndarray,
                movement_scale: np.ndarray) -> np.ndarray:
        """(1, 3, H, W) prediction: the portrait moved by the driver's motion since neutral."""


def _precision(precision: str | None, device: str) -> str:
    """Half precision on CUDA (twice the throughput), float32 on the CPU, unless asked."""
    precision = precision or ("fp16" if device == "cuda" else "fp32")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be fp32 or fp16, not {precision!r}")
    return precision


class OnnxRunner:
    """onnxruntime sessions on ``device`` (``cpu`` or ``cuda``, see :func:`devices.onnx_device`).

    The animator's inputs and output are bound once to buffers on the device (I/O binding): the
    portrait's encoding never leaves it, and per frame only the keypoints are written in place.
    With TensorRT usable (and ``tensorrt`` not False), it runs the float32 graphs and picks half
    precision itself; its engines are cached in ``trt-cache`` beside the graphs.
    """

    def __init__(self, graphs: OnnxGraphs, device: str = "cpu", precision: str | None = None,
                 tensorrt: bool = True) -> None:
        import onnxruntime as ort

        self._ort = ort
        self.device = device
        self.precision = _precision(precision, device)
        fp16 = self.precision == "fp16"
        cache = Path(graphs.animator).parent / "trt-cache" if tensorrt else None

        def session(path: Path) -> ort.InferenceSession:
            return onnx_session(path, device, tensorrt_cache=cache, fp16=fp16)

        self._kp = session(graphs.kp_detector)
        self._encoder = session(graphs.source_encoder)
        self.providers = self._kp.get_providers()
        tensorrt = self.providers[0] == "TensorrtExecutionProvider"
        self._animator = session(graphs.animator_fp16 if fp16 and not tensorrt
                                 else graphs.animator)
        self.runtime = (f"onnxruntime on {device}, {self.precision}"
                        + (" (TensorRT)" if tensorrt else ""))
        self._binding = self._animator.io_binding()
        self._inputs: dict[str, ort.OrtValue] = {}
        self._encoded: list[ort.OrtValue] = []
        output = self._animator.get_outputs()[0]
        self._prediction = ort.OrtValue.ortvalue_from_shape_and_type(
            output.shape, np.float32, device, 0)
        self._binding.bind_ortvalue_output(output.name, self._prediction)

    def keypoints(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        value, jacobian = self._kp.run(None, {"image": image})
        return value, jacobian

    def set_source(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kp = self.keypoints(image)
        binding = self._encoder.io_binding()
        binding.bind_cpu_input("source", np.ascontiguousarray(image, np.float32))
        for output in self._encoder.get_outputs():
            binding.bind_output(output.name, self.device)
        self._encoder.run_with_iobinding(binding)
        self._encoded = binding.get_outputs()  # kept here: the animator reads them in place
        names = [i.name for i in self._animator.get_inputs()]
        for name, value in zip(names[:2], self._encoded, strict=True):
            self._binding.bind_ortvalue_input(name, value)
        self._write(names[2:4], kp)
        return kp

    def animate(self, driving_value: np.ndarray, driving_jacobian: np.ndarray,
                neutral_value: np.ndarray, neutral_jacobian: np.ndarray,
                movement_scale: np.ndarray) -> np.ndarray:
        if not self._encoded:
            raise RuntimeError("set_source first: there is no portrait to animate")
        names = [i.name for i in self._animator.get_inputs()][4:]
        self._write(names, (driving_value, driving_jacobian, neutral_value, neutral_jacobian,
                            movement_scale))
        self._animator.run_with_iobinding(self._binding)
        return self._prediction.numpy()

    def _write(self, names: list[str], arrays: tuple[np.ndarray, ...]) -> None:
        """Copy small inputs into their bound buffers (allocated and bound the first time)."""
        for name, array in zip(names, arrays, strict=True):
            array = np.ascontiguousarray(array, np.float32)
            if name in self._inputs:
                self._inputs[name].update_inplace(array)
            else:
                value = self._ort.OrtValue.ortvalue_from_numpy(array, self.device, 0)
                self._inputs[name] = value
                self._binding.bind_ortvalue_input(name, value)


class TorchRunner:
    """PyTorch modules on ``device`` (default: CUDA when torch sees one). The keypoint detector
    runs in float32 (its keypoints carry the motion); the generator in ``precision``."""

    def __init__(self, kp_detector: KPDetector, generator: OcclusionAwareGenerator,
                 device: str | None = None, relative_jacobian: bool = True,
                 precision: str | None = None) -> None:
        import torch

        from .motion import RelativeAnimator

        self._torch = torch
        target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.device = target.type
        self.precision = _precision(precision, self.device)
        self.dtype = torch.float16 if self.precision == "fp16" else torch.float32
        if self.device == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: pick the fastest convolutions
        self._target = target
        self._kp = kp_detector.eval().to(target, torch.float32)
        self._animator = RelativeAnimator(generator, relative_jacobian).eval().to(target,
                                                                                  self.dtype)
        self._source: tuple | None = None
        self.runtime = f"PyTorch on {self.device}, {self.precision}"

    def _tensor(self, array: np.ndarray, dtype=None):
        return self._torch.from_numpy(np.ascontiguousarray(array)).to(self._target,
                                                                      dtype or self.dtype)

    def keypoints(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with self._torch.inference_mode():
            kp = self._kp(self._tensor(image, self._torch.float32))
        return kp.value.cpu().numpy(), kp.jacobian.cpu().numpy()

    def set_source(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kp = self.keypoints(image)
        with self._torch.inference_mode():
            encoded = self._animator.generator.encode(self._tensor(image))
            self._source = (*encoded, *(self._tensor(a) for a in kp))
        return kp

    def animate(self, driving_value: np.ndarray, driving_jacobian: np.ndarray,
                neutral_value: np.ndarray, neutral_jacobian: np.ndarray,
                movement_scale: np.ndarray) -> np.ndarray:
        if self._source is None:
            raise RuntimeError("set_source first: there is no portrait to animate")
        frame = (driving_value, driving_jacobian, neutral_value, neutral_jacobian, movement_scale)
        with self._torch.inference_mode():
            out = self._animator(*self._source, *(self._tensor(a) for a in frame))
        return out.float().cpu().numpy()
