"""FOMM per-frame time at 256x256: driver keypoints + relative motion + generator, batch 1.

Random weights (speed does not depend on them). Prints one JSON object: milliseconds per frame
(median after warm-up) for torch and onnxruntime on the CPU, and with CUDA also torch fp16 and
onnxruntime CUDA; plus the convolution GFLOPs per frame, which bound the CPU figure.

    python -m benchmarks.fomm_speed --frames 3      # from the repository root
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from fingerprint_live.avatar.fomm.checkpoint import build_modules
from fingerprint_live.avatar.fomm.config import load_config
from fingerprint_live.avatar.fomm.export import export_onnx
from fingerprint_live.avatar.fomm.runtime import OnnxRunner, Runner, TorchRunner

SIZE = 256


def conv_gmacs(kp_detector: torch.nn.Module, generator: torch.nn.Module) -> dict[str, float]:
    """Multiply-accumulates of every convolution in one frame (keypoints + generator), in G."""
    counts = {"kp_detector": 0.0, "generator": 0.0}

    def counter(name: str):
        def hook(conv: torch.nn.Conv2d, _inputs, output: torch.Tensor) -> None:
            kh, kw = conv.kernel_size
            counts[name] += output.numel() * conv.in_channels // conv.groups * kh * kw / 1e9
        return hook

    handles = [m.register_forward_hook(counter(name))
               for name, module in (("kp_detector", kp_detector), ("generator", generator))
               for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    image = torch.rand(1, 3, SIZE, SIZE)
    with torch.no_grad():
        kp = kp_detector(image)
        generator(image, kp, kp)
    for handle in handles:
        handle.remove()
    return counts


def time_runner(runner: Runner, frames: int, warmup: int) -> float:
    """Median ms for one driver frame: its keypoints, then the relative animator."""
    rng = np.random.default_rng(0)
    source = rng.random((1, 3, SIZE, SIZE), dtype=np.float32)
    source_kp = runner.keypoints(source)
    times = []
    for i in range(warmup + frames):
        driver = rng.random((1, 3, SIZE, SIZE), dtype=np.float32)
        start = time.perf_counter()
        driving = runner.keypoints(driver)
        runner.animate(source, *source_kp, *driving, *source_kp, np.ones(1, np.float32))
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3, help="timed frames per backend")
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
        "conv_gflops": round(2 * sum(gmacs.values()), 1),
    }
    with tempfile.TemporaryDirectory() as tmp:
        paths = Path(tmp) / "kp.onnx", Path(tmp) / "generator.onnx"
        export_onnx(kp_detector, generator, *paths)
        ms = {"onnxruntime_cpu": time_runner(OnnxRunner(*paths, device="cpu"),
                                             args.frames, args.warmup),
              "torch_cpu_fp32": time_runner(TorchRunner(kp_detector, generator, "cpu"),
                                            args.frames, args.warmup)}
        if torch.cuda.is_available():
            import onnxruntime as ort

            if "CUDAExecutionProvider" in ort.get_available_providers():
                ms["onnxruntime_cuda"] = time_runner(OnnxRunner(*paths, device="cuda"),
                                                     args.frames * 10, args.warmup * 5)
            ms["torch_cuda_fp16"] = time_runner(TorchRunner(kp_detector, generator, "cuda"),
                                                args.frames * 10, args.warmup * 5)
    result["ms_per_frame"] = ms
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
