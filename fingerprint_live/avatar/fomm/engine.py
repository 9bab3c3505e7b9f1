"""FOMM avatar engine: the portrait moves as the driver moved since the calibrated neutral frame.

Per frame: crop the driver's face (steady box from the pipeline's landmarks), find its keypoints,
add their displacement from the neutral frame to the portrait's keypoints, and generate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ...devices import cuda_problem, gpu_build, no_cuda_line, onnx_device, say_once
from ...errors import ModelError, NoFaceError
from ...landmarks import FaceLandmarks
from ..base import AvatarFrame
from ..crop import FaceCropper
from .config import DEFAULT_CHECKPOINT, VOX_CPK_BYTES, OnnxGraphs, load_config, onnx_paths
from .runtime import OnnxRunner, Runner, TorchRunner

#: The face box is this many times the landmarks' extent: FOMM was trained on loose face crops.
CROP_SCALE = 1.8

Keypoints = tuple[np.ndarray, np.ndarray]  # value (1, K, 2), jacobian (1, K, 2, 2)


class FommAvatar:
    """AvatarEngine for the First Order Motion Model (vox-256).

    ``checkpoint`` is the authors' ``vox-cpk.pth.tar`` (default :data:`DEFAULT_CHECKPOINT`);
    ``expected_size`` refuses other files (None accepts any). The ``onnx`` backend exports the
    checkpoint once to ONNX files beside it and reuses them; ``torch`` runs the modules directly;
    ``auto`` (default) takes onnxruntime on CUDA, else PyTorch on CUDA, else onnxruntime on the
    CPU. ``device`` is 'cuda', 'cpu' or None (CUDA when usable); ``precision`` 'fp16' or 'fp32'
    (default: fp16 on CUDA). ``portrait_face``, the portrait's landmarks, crops the portrait like
    the driver; without it the centred square is used. The portrait is encoded once, here.
    """

    def __init__(self, portrait_rgb: np.ndarray, checkpoint: str | Path | None = None,
                 backend: str = "auto", device: str | None = None,
                 portrait_face: FaceLandmarks | None = None,
                 expected_size: int | None = VOX_CPK_BYTES, precision: str | None = None) -> None:
        checkpoint = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
        config = load_config()
        if backend == "auto":
            backend, device = _auto_backend(checkpoint, device)
        if backend == "onnx":
            graphs = _onnx_files(checkpoint, expected_size, config)
            runner: Runner = OnnxRunner(graphs, onnx_device(device), precision)
        elif backend == "torch":
            from .checkpoint import load_checkpoint

            modules = load_checkpoint(checkpoint, config, expected_size)
            relative_jacobian = config["normalization_params"]["use_relative_jacobian"]
            runner = TorchRunner(*modules, device, relative_jacobian, precision)
        else:
            raise ValueError(f"backend must be 'auto', 'onnx' or 'torch', not {backend!r}")
        self._start(portrait_rgb, runner, config, portrait_face)

    @classmethod
    def from_runner(cls, portrait_rgb: np.ndarray, runner: Runner,
                    portrait_face: FaceLandmarks | None = None) -> FommAvatar:
        """An engine on already built modules or sessions (tests, random weights, benchmarks)."""
        engine = cls.__new__(cls)
        engine._start(portrait_rgb, runner, load_config(), portrait_face)
        return engine

    def _start(self, portrait_rgb: np.ndarray, runner: Runner, config: dict[str, Any],
               portrait_face: FaceLandmarks | None) -> None:
        self.size: int = config["frame_size"]
        self._runner = runner
        self._adapt_scale: bool = config["normalization_params"]["adapt_movement_scale"]
        portrait = FaceCropper(scale=CROP_SCALE).crop(
            portrait_rgb, portrait_face or FaceLandmarks(None, 0, 0, 0), self.size)
        self._source_kp = runner.set_source(_to_input(portrait))
        self._last = portrait
        self._cropper = FaceCropper(scale=CROP_SCALE)
        self._neutral: Keypoints | None = None
        self._scale = np.ones(1, np.float32)

    @property
    def runtime(self) -> str:
        """Where the frames are made, e.g. 'onnxruntime on cuda, fp16'."""
        return self._runner.runtime

    def calibrate(self, frame: np.ndarray, face: FaceLandmarks) -> None:
        """Take this frame as the neutral pose (and restart the crop box's smoothing here)."""
        if not face.found:
            raise NoFaceError("cannot calibrate: no face in this frame; face the camera and retry")
        self._cropper = FaceCropper(scale=CROP_SCALE)
        self._set_neutral(self._driver_keypoints(frame, face))

    def render(self, frame: np.ndarray, face: FaceLandmarks) -> AvatarFrame:
        """The portrait moved like the driver since calibration; the last frame when no face."""
        if not face.found:
            return AvatarFrame(self._last, held=True)
        driving = self._driver_keypoints(frame, face)
        if self._neutral is None:
            self._set_neutral(driving)
        prediction = self._runner.animate(*driving, *self._neutral, self._scale)
        self._last = _to_image(prediction)
        return AvatarFrame(self._last, held=False)

    def _driver_keypoints(self, frame: np.ndarray, face: FaceLandmarks) -> Keypoints:
        return self._runner.keypoints(_to_input(self._cropper.crop(frame, face, self.size)))

    def _set_neutral(self, neutral: Keypoints) -> None:
        self._neutral = neutral
        scale = movement_scale(self._source_kp[0][0], neutral[0][0]) if self._adapt_scale else 1.0
        self._scale = np.array([scale], np.float32)


def movement_scale(source_value: np.ndarray, neutral_value: np.ndarray) -> float:
    """sqrt of the keypoint convex hulls' area ratio, portrait over neutral driver.

    Scales the driver's displacements when the two faces fill their crops differently (the
    authors' ``adapt_movement_scale``).
    """

    def area(points: np.ndarray) -> float:
        hull = cv2.convexHull(np.asarray(points, np.float32).reshape(-1, 1, 2))
        return float(cv2.contourArea(hull))

    return float(np.sqrt(area(source_value) / max(area(neutral_value), 1e-12)))


def _auto_backend(checkpoint: Path, device: str | None) -> tuple[str, str | None]:
    """onnxruntime on CUDA when it can; else PyTorch on CUDA (it needs the checkpoint itself);
    else onnxruntime on the CPU. A GPU install that finds no usable device says so once."""
    if device == "cpu":
        return "onnx", "cpu"
    problem = cuda_problem() if gpu_build() else "onnxruntime here is the CPU build"
    if problem is None:
        return "onnx", "cuda"
    if checkpoint.is_file() and _torch_sees_cuda():
        if gpu_build():
            say_once(no_cuda_line(problem, "FOMM runs on PyTorch's CUDA instead"))
        return "torch", "cuda"
    if device == "cuda":
        raise ModelError(f"device 'cuda' asked for, but neither onnxruntime nor PyTorch can use "
                         f"CUDA here ({problem}).")
    if gpu_build():
        say_once(no_cuda_line(problem))
    return "onnx", "cpu"


def _torch_sees_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def _onnx_files(checkpoint: Path, expected_size: int | None,
                config: dict[str, Any]) -> OnnxGraphs:
    """The checkpoint's ONNX graphs, exported first when missing or older than the checkpoint.

    Once exported, the checkpoint itself may be removed: the graphs are all inference needs.
    """
    paths = onnx_paths(checkpoint)
    if all(p.is_file() for p in paths) and (
            not checkpoint.is_file()
            or min(p.stat().st_mtime for p in paths) >= checkpoint.stat().st_mtime):
        return paths
    try:
        from .checkpoint import load_checkpoint
        from .export import export_onnx
    except ImportError as exc:
        raise ModelError(f"no ONNX export of {checkpoint} yet, and exporting needs PyTorch: "
                         "install the `train` extra, or run `python -m "
                         "fingerprint_live.avatar.fomm.export CHECKPOINT` where PyTorch is and "
                         "copy the .onnx files beside it") from exc
    modules = load_checkpoint(checkpoint, config, expected_size)
    export_onnx(*modules, paths, size=config["frame_size"],
                relative_jacobian=config["normalization_params"]["use_relative_jacobian"])
    return paths


def _to_input(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 (1, 3, H, W) in [0, 1]."""
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0


def _to_image(prediction: np.ndarray) -> np.ndarray:
    """float (1, 3, H, W) in [0, 1] -> uint8 (H, W, 3)."""
    return np.ascontiguousarray((np.clip(prediction[0], 0, 1) * 255 + 0.5).astype(np.uint8)
                                .transpose(1, 2, 0))
