"""FOMM per-frame time at 256x256, batch 1: the portrait encoded once, against every frame.

Per frame: the driver's keypoints, then relative motion and the generator. ``before`` is the
path as it was until the portrait's share was cached: the whole generator every frame, the
portrait encoded anew (one ONNX graph fed from the host). ``after`` is the shipped path: the
portrait encoded once, its encoding kept on the device. The two run interleaved frame by frame
(alternating which goes first), so the machine's load falls on both alike; how much faster is
the median of the frames' ratios. Random weights (speed does not depend on them). Prints one
JSON object: median milliseconds per frame and how much faster ``after`` is, for onnxruntime
and torch on the CPU, and with CUDA also torch fp16 and onnxruntime CUDA; plus the convolution
GMACs, which bound the CPU figure.

    python -m benchmarks.fomm_speed --frames 7      # from the repository root
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fingerprint_live.avatar.fomm.checkpoint import build_modules
from fingerprint_live.avatar.fomm.config import load_config, onnx_paths
from fingerprint_live.avatar.fomm.export import export_graph, export_onnx
from fingerprint_live.avatar.fomm.generator import OcclusionAwareGenerator
from fingerprint_live.avatar.fomm.keypoint_detector import Keypoints
from fingerprint_live.avatar.fomm.motion import RelativeAnimator, relative_keypoints
from fingerprint_live.avatar.fomm.runtime import OnnxRunner, Runner, TorchRunner

SIZE = 256
#: One frame's work: a driver image (1, 3, H, W) in, the prediction out.
Step = Callable[[np.ndarray], np.ndarray]


class Uncached(nn.Module):
    """The per-frame graph before caching: relative motion and the whole generator, the
    portrait encoded anew on every call."""

    input_names = ("source", *RelativeAnimator.input_names[2:])

    def __init__(self, generator: OcclusionAwareGenerator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, source: torch.Tensor, source_value: torch.Tensor,
                source_jacobian: torch.Tensor, driving_value: torch.Tensor,
                driving_jacobian: torch.Tensor, neutral_value: torch.Tensor,
                neutral_jacobian: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        kp_source = Keypoints(source_value, source_jacobian)
        moved = relative_keypoints(kp_source, Keypoints(driving_value, driving_jacobian),
                                   Keypoints(neutral_value, neutral_jacobian), scale)
        return self.generator(source, moved, kp_source)


def conv_gmacs(kp_detector: nn.Module, generator: OcclusionAwareGenerator) -> dict[str, float]:
    """Multiply-accumulates of every convolution, in G: the driver's keypoints and the
    animator per frame, the source encoder once per portrait."""
    counts = {"kp_detector": 0.0, "source_encoder": 0.0, "animator": 0.0}
    part = ["kp_detector"]

    def hook(conv: nn.Conv2d, _inputs, output: torch.Tensor) -> None:
        kh, kw = conv.kernel_size
        counts[part[0]] += output.numel() * conv.in_channels // conv.groups * kh * kw / 1e9

    handles = [m.register_forward_hook(hook) for module in (kp_detector, generator)
               for m in module.modules() if isinstance(m, nn.Conv2d)]
    image = torch.rand(1, 3, SIZE, SIZE)
    with torch.no_grad():
        kp = kp_detector(image)
        part[0] = "source_encoder"
        encoded = generator.encode(image)
        part[0] = "animator"
        generator.animate(encoded, kp, kp)
    for handle in handles:
        handle.remove()
    return counts


class Frames:
    """A random portrait, neutral frame and drivers, the same for every backend."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.source, self.neutral = (self.image() for _ in range(2))
        self.scale = np.ones(1, np.float32)

    def image(self) -> np.ndarray:
        return self.rng.random((1, 3, SIZE, SIZE), dtype=np.float32)


def cached(runner: Runner, frames: Frames) -> Step:
    """The shipped path: the portrait set once, then keypoints and animator per frame."""
    runner.set_source(frames.source)
    neutral = runner.keypoints(frames.neutral)
    return lambda driver: runner.animate(*runner.keypoints(driver), *neutral, frames.scale)


def uncached_onnx(path: Path, runner: OnnxRunner, frames: Frames) -> Step:
    """The path before: one session fed the portrait and keypoints from the host every frame."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=runner.providers)
    names = [i.name for i in session.get_inputs()]
    source_kp, neutral = runner.keypoints(frames.source), runner.keypoints(frames.neutral)

    def step(driver: np.ndarray) -> np.ndarray:
        inputs = (frames.source, *source_kp, *runner.keypoints(driver), *neutral, frames.scale)
        return session.run(None, dict(zip(names, inputs, strict=True)))[0]

    return step


def uncached_torch(runner: TorchRunner, generator: OcclusionAwareGenerator,
                   frames: Frames) -> Step:
    """The path before on torch: the whole generator per frame, the portrait encoded anew."""
    device = torch.device(runner.device)
    module = Uncached(generator).eval().to(device, runner.dtype)

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a).to(device, runner.dtype)

    fixed = [tensor(a) for a in (frames.source, *runner.keypoints(frames.source))]
    neutral = [tensor(a) for a in (*runner.keypoints(frames.neutral), frames.scale)]

    def step(driver: np.ndarray) -> np.ndarray:
        driving = [tensor(a) for a in runner.keypoints(driver)]
        with torch.inference_mode():
            return module(*fixed, *driving, *neutral).float().cpu().numpy()

    return step


def frame_times(steps: dict[str, Step], frames: int, warmup: int,
                seed: int = 1) -> dict[str, list[float]]:
    """Milliseconds of each step per frame, all fed the same drivers in alternating order."""
    drivers = Frames(seed)
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for i in range(warmup + frames):
        driver = drivers.image()
        for name in names if i % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            steps[name](driver)
            if i >= warmup:
                times[name].append((time.perf_counter() - start) * 1000)
    return times


def time_interleaved(steps: dict[str, Step], frames: int, warmup: int,
                     seed: int = 1) -> dict[str, float]:
    """Median ms per frame of each step (:func:`frame_times`)."""
    times = frame_times(steps, frames, warmup, seed)
    return {name: round(statistics.median(t), 2) for name, t in times.items()}


def before_after(steps: dict[str, Step], frames: int, warmup: int) -> dict[str, float]:
    """Median ms of ``before`` and ``after``, and how much faster ``after`` is: the median of
    each frame's ratio (the two ran back to back, so a load that comes and goes cancels)."""
    times = frame_times(steps, frames, warmup)
    ratios = [a / b for a, b in zip(times["after"], times["before"], strict=True)]
    return {**{name: round(statistics.median(t), 2) for name, t in times.items()},
            "faster_pct": round(100 * (1 - statistics.median(ratios)), 1)}


def export_uncached(generator: OcclusionAwareGenerator, path: Path) -> None:
    """Export the graph of :class:`Uncached`, as the engine ran it before."""
    image = torch.rand(1, 3, SIZE, SIZE)
    kp = [torch.rand(1, 10, 2), torch.eye(2).repeat(1, 10, 1, 1)]
    inputs = (image, *(t.clone() for _ in range(3) for t in kp), torch.ones(1))
    export_graph(Uncached(generator).eval(), inputs, path, list(Uncached.input_names),
                 ["prediction"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=5, help="timed frames per backend")
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()

    torch.manual_seed(0)
    kp_detector, generator = build_modules(load_config())
    gmacs = conv_gmacs(kp_detector, generator)
    result: dict[str, object] = {
        "size": SIZE, "frames": args.frames, "warmup": args.warmup,
        "torch": torch.__version__, "cpu_threads": torch.get_num_threads(),
        "machine": platform.machine(), "cuda": torch.cuda.is_available(),
        "conv_gmacs": {k: round(v, 2) for k, v in gmacs.items()},
        "source_share_pct": round(100 * gmacs["source_encoder"] / sum(gmacs.values()), 1),
    }
    frames = Frames()
    ms: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        graphs = onnx_paths(Path(tmp) / "vox-cpk.pth.tar")
        export_onnx(kp_detector, generator, graphs)
        before = Path(tmp) / "uncached.onnx"
        export_uncached(generator, before)
        onnx = OnnxRunner(graphs, "cpu")
        ms["onnxruntime_cpu_fp32"] = before_after(
            {"before": uncached_onnx(before, onnx, frames), "after": cached(onnx, frames)},
            args.frames, args.warmup)
        for device, precision in [("cpu", "fp32")] + [("cuda", "fp16")] * torch.cuda.is_available():
            runner = TorchRunner(kp_detector, generator, device, precision=precision)
            gpu = 10 if device == "cuda" else 1
            ms[f"torch_{device}_{precision}"] = before_after(
                {"before": uncached_torch(runner, generator, frames),
                 "after": cached(runner, frames)}, args.frames * gpu, args.warmup * gpu)
        import onnxruntime as ort

        if torch.cuda.is_available() and "CUDAExecutionProvider" in ort.get_available_providers():
            cuda = OnnxRunner(graphs, "cuda", "fp32")
            ms["onnxruntime_cuda_fp32"] = before_after(
                {"before": uncached_onnx(before, cuda, frames), "after": cached(cuda, frames)},
                args.frames * 10, args.warmup * 10)
    result["ms_per_frame"] = ms
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
