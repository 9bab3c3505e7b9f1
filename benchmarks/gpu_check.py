"""One run on a GPU machine: FOMM per backend and precision, animate end to end, the embedder and
the default avatar; what cannot run there is skipped and the JSON says why.

Run it through ``benchmarks/gpu_check.sh``, which installs what is missing first:

    python -m benchmarks.gpu_check --out DIR [--clip VIDEO] [--budget SECONDS]

Writes ``DIR/gpu_check.json`` (after every stage, so a run stopped early keeps what it measured)
and ``DIR/gpu_check.txt`` (a short table, also printed). FOMM: 256 px, batch 1, random weights in
the vox-256 layout (speed does not depend on the weights; the official checkpoint cannot be had
here, so the output differences are those of random weights, not of the trained model),
milliseconds per frame as the median of ``--frames`` frames after ``--warmup`` (on the CPU, of
``--cpu-frames``); each output's largest difference from the float32 frames on the same drivers.

Exit status: 0 measured on a GPU; 3 no GPU here (what the CPU can do is still measured); 1 a
stage failed on a GPU machine (its error is in the JSON).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

NO_GPU = 3
FAILED = 1
#: Drivers whose outputs are compared between backends and precisions.
COMPARED = 8
PACKAGES = ("torch", "onnxruntime", "onnxruntime-gpu", "onnx", "onnxscript", "numpy",
            "mediapipe", "av", "opencv-python-headless", "opencv-contrib-python", "protobuf")


class OutOfTime(Exception):
    """The budget ran out in the middle of a stage."""


def _out_of_time(*_: object) -> None:
    raise OutOfTime


class Check:
    """The results so far, written out as they come; a stage that would start too late is
    skipped, and one still running when the budget runs out is stopped."""

    def __init__(self, out: Path, budget: float) -> None:
        self.out = out
        self.deadline = time.monotonic() + budget
        self.result: dict = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
                             "gpu": None, "outcome": None, "environment": {}, "fomm": {},
                             "animate": {}, "embedder": {}, "default_avatar": {},
                             "skipped": {}, "errors": {}}

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def skip(self, what: str, why: str) -> None:
        self.result["skipped"][what] = why

    def stage(self, name: str, needs: float, run: Callable[[], None]) -> None:
        """Run one stage unless fewer than ``needs`` seconds are left; keep its error, if any."""
        if self.left() < needs:
            self.skip(name, f"time budget: {self.left():.0f} s left, it needs about {needs:.0f}")
            self.write()
            return
        signal.signal(signal.SIGALRM, _out_of_time)
        signal.alarm(max(1, int(self.left())))
        try:
            run()
        except Exception as exc:  # one stage's failure must not cost the others
            if _chain_has(exc, OutOfTime):  # libraries may wrap it in errors of their own
                self.skip(name, "stopped at the time budget (what it measured before is kept)")
                return
            lines = traceback.format_exception_only(exc)[-1].strip()
            where = traceback.extract_tb(exc.__traceback__)[-1]
            self.result["errors"][name] = f"{lines} (at {Path(where.filename).name}:" \
                                          f"{where.lineno})"
        finally:
            signal.alarm(0)
            self.write()

    def write(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "gpu_check.json").write_text(json.dumps(self.result, indent=2) + "\n")
        (self.out / "gpu_check.txt").write_text(table(self.result))


def _chain_has(exc: BaseException | None, kind: type) -> bool:
    while exc is not None:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment() -> dict:
    env: dict = {"python": platform.python_version(), "machine": platform.machine(),
                 "cpus": os.cpu_count(), "cpu": _cpu_name(),
                 "packages": {p: version(p) for p in PACKAGES if version(p)}}
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=30)
        env["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        env["nvidia_smi"] = f"not available ({exc.__class__.__name__})"
    return env


def _cpu_name() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return found.group(1) if found else platform.processor()


def gpu_state(check: Check) -> bool:
    """Whether torch or onnxruntime can compute on a CUDA device here; the JSON says which."""
    from fingerprint_live import devices

    state: dict = {}
    try:
        import torch  # before onnxruntime: its CUDA libraries serve onnxruntime-gpu too

        state["torch_cuda"] = torch.cuda.is_available()
        state["torch_cuda_version"] = torch.version.cuda
        if state["torch_cuda"]:
            state["name"] = torch.cuda.get_device_name(0)
    except ImportError:
        state["torch_cuda"] = False
    import onnxruntime as ort

    state["onnxruntime_providers"] = ort.get_available_providers()
    state["onnxruntime_cuda"] = devices.gpu_build() and devices.cuda_problem() is None
    state["tensorrt"] = state["onnxruntime_cuda"] and devices.tensorrt_usable()
    driver = devices._driver_problem()
    gpu = state["torch_cuda"] or state["onnxruntime_cuda"]
    state["present"] = gpu
    if not gpu:
        state["why_not"] = driver or "a CUDA device is there, but neither torch nor onnxruntime " \
                                     "here can use it"
    check.result["gpu"] = state
    return gpu


def fomm(check: Check, work: Path, gpu: bool, args: argparse.Namespace,
         made: list[Path]) -> None:
    """FOMM per backend and precision; the random checkpoint (vox-cpk layout) goes to ``made``
    as soon as it is written, for the end-to-end run."""
    import torch

    from benchmarks.fomm_speed import (
        Frames,
        before_after,
        cached,
        conv_gmacs,
        export_uncached,
        time_interleaved,
        uncached_onnx,
        uncached_torch,
    )
    from fingerprint_live import devices
    from fingerprint_live.avatar.fomm.checkpoint import build_modules
    from fingerprint_live.avatar.fomm.config import load_config, onnx_paths
    from fingerprint_live.avatar.fomm.export import export_onnx
    from fingerprint_live.avatar.fomm.runtime import OnnxRunner, Runner, TorchRunner

    out = check.result["fomm"]
    torch.manual_seed(0)
    kp_detector, generator = build_modules(load_config())
    out["conv_gmacs"] = {k: round(v, 2) for k, v in conv_gmacs(kp_detector, generator).items()}
    checkpoint = work / "vox-cpk.pth.tar"
    torch.save({"kp_detector": kp_detector.state_dict(), "generator": generator.state_dict()},
               checkpoint)
    made.append(checkpoint)
    frames, drivers = Frames(0), Frames(2)
    compared = [drivers.image() for _ in range(COMPARED)]

    def modules() -> tuple:  # a runner moves its modules: each gets its own copy
        return copy.deepcopy(kp_detector), copy.deepcopy(generator)

    def outputs(runner: Runner) -> np.ndarray:
        step = cached(runner, frames)
        return np.concatenate([step(d) for d in compared])

    rows: dict[str, dict] = {}
    reference: np.ndarray | None = None

    def add(name: str, runner: Runner, ms: float, **extra: float) -> None:
        """A row; its difference from the float32 reference, when there is one to compare."""
        diff = None if reference is None else float(np.abs(outputs(runner) - reference).max())
        rows[name] = {"ms_per_frame": ms, "fps": round(1000 / ms, 1),
                      "max_abs_diff_vs_fp32": None if diff is None else round(diff, 6),
                      "max_diff_in_8bit_levels": None if diff is None else round(diff * 255, 2),
                      **extra}
        out["backends"] = rows
        check.write()

    n, w = args.frames, args.warmup
    if gpu and check.result["gpu"]["torch_cuda"]:
        full = TorchRunner(*modules(), "cuda", precision="fp32")
        half = TorchRunner(*modules(), "cuda", precision="fp16")
        ms = time_interleaved({"fp32": cached(full, frames), "fp16": cached(half, frames),
                               "fp16_before": uncached_torch(half, modules()[1], frames)}, n, w)
        reference = outputs(full)
        add("torch_cuda_fp32", full, ms["fp32"])
        add("torch_cuda_fp16", half, ms["fp16"], ms_before_caching=ms["fp16_before"])
        del full, half
        torch.cuda.empty_cache()
    elif gpu:
        check.skip("fomm torch cuda", "torch here has no CUDA")

    graphs = onnx_paths(checkpoint)
    start = time.perf_counter()
    export_onnx(kp_detector, generator, graphs)
    before = work / "uncached.onnx"
    export_uncached(generator, before)
    out["export_s"] = round(time.perf_counter() - start, 1)
    check.write()

    if check.result["gpu"]["onnxruntime_cuda"]:
        for trt in [False] + [True] * check.result["gpu"]["tensorrt"]:
            name = "tensorrt" if trt else "onnxruntime_cuda"
            full = OnnxRunner(graphs, "cuda", "fp32", tensorrt=trt)
            half = OnnxRunner(graphs, "cuda", "fp16", tensorrt=trt)
            steps = {"fp32": cached(full, frames), "fp16": cached(half, frames)}
            if not trt:  # TensorRT would build its engines anew for a session without a cache
                steps["before"] = uncached_onnx(before, full, frames)
            ms = time_interleaved(steps, n, w)
            if reference is None:
                reference = outputs(full)
            add(f"{name}_fp32", full, ms["fp32"],
                **({"ms_before_caching": ms["before"]} if "before" in ms else {}))
            add(f"{name}_fp16", half, ms["fp16"])
    else:
        import onnxruntime as ort

        why = (devices.cuda_problem() if devices.gpu_build() else
               f"onnxruntime {ort.__version__} here is the CPU build; onnxruntime-gpu's wheel "
               "(247 MB) is over what an offline machine can be sent")
        check.skip("fomm onnxruntime cuda", why)
        check.skip("fomm tensorrt", "needs onnxruntime-gpu and TensorRT")
    if check.left() < 60:
        check.skip("fomm onnxruntime cpu", "time budget")
        return
    cpu = OnnxRunner(graphs, "cpu")
    ms = before_after({"before": uncached_onnx(before, cpu, frames),
                       "after": cached(cpu, frames)}, args.cpu_frames, 1)
    add("onnxruntime_cpu_fp32", cpu, ms["after"], ms_before_caching=ms["before"],
        faster_pct=ms["faster_pct"])


def animate(check: Check, work: Path, clip: Path | None, engine: str,
            checkpoint: Path | None = None) -> None:
    """``fingerprint-live animate`` on a real clip as a user runs it: frames made per second
    (decoding, landmarks, the avatar and encoding, start-up excluded)."""
    missing = [m for m in ("mediapipe", "av") if importlib.util.find_spec(m) is None]
    if clip is None or not clip.is_file() or missing:
        why = f"{', '.join(missing)} not installed" if missing else "no clip given (--clip)"
        check.skip(f"animate {engine}", why)
        return
    options = [] if checkpoint is None else ["--engine", "fomm", "--checkpoint", str(checkpoint),
                                             "--any-size"]
    command = [sys.executable, "-m", "fingerprint_live.cli", "animate", "--driver", str(clip),
               "-o", str(work / f"{engine}.mp4"), "--quiet", *options]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=mediapipe_env(),
                          timeout=max(10.0, check.left() - 5))
    wall = time.perf_counter() - start
    said = re.search(r"(\d+) frames at ([\d.]+) fps \(made at ([\d.]+) fps\)", done.stderr)
    if done.returncode != 0 or said is None:
        raise RuntimeError(f"animate --engine {engine} exited {done.returncode}: "
                           f"{done.stderr.strip().splitlines()[-1:]}")
    runtime = re.search(r"FOMM avatar: (.+)", done.stderr)
    check.result["animate"]["clip"] = clip.name
    check.result["animate"][engine] = {
        "frames": int(said[1]), "clip_fps": float(said[2]), "fps_end_to_end": float(said[3]),
        "wall_s_with_start": round(wall, 1),
        "runtime": runtime[1] if runtime else "CPU (OpenCV mesh warp)"}


def embedder(check: Check) -> None:
    """The motion embedder's time per call, one window and a batch, on each device it can use."""
    from fingerprint_live import devices
    from fingerprint_live.embedder import Embedder

    out = check.result["embedder"]
    out["auto_device"] = Embedder().info.device
    usable = ["cpu"] + ["cuda"] * (devices.gpu_build() and devices.cuda_problem() is None)
    if "cuda" not in usable:
        check.skip("embedder cuda", "onnxruntime here cannot use CUDA (see fomm's reason)")
    for device in usable:
        model = Embedder(device=device)
        info = model.info
        row = {"window_frames": info.window, "stride_frames": info.stride}
        for count in (1, 16):
            windows = np.random.default_rng(0).random((count, info.window,
                                                       info.features.channels), np.float32)
            times = []
            for i in range(110):
                start = time.perf_counter()
                model.embed(windows)
                if i >= 10:
                    times.append((time.perf_counter() - start) * 1000)
            row[f"ms_{count}_windows"] = round(statistics.median(times), 3)
        row["ms_per_frame_amortised"] = round(row["ms_1_windows"] / info.stride, 4)
        out[device] = row


def default_avatar(check: Check, clip: Path | None) -> None:
    """The default avatar's render time (benchmarks/avatar_speed.py, landmarks excluded); it is
    OpenCV and numpy, so it runs on the CPU."""
    if clip is None or importlib.util.find_spec("mediapipe") is None:
        check.skip("default avatar", "needs mediapipe and a clip")
        return
    done = subprocess.run([sys.executable, "-m", "benchmarks.avatar_speed", str(clip)],
                          capture_output=True, text=True, env=mediapipe_env(),
                          timeout=max(10.0, check.left() - 5))
    if done.returncode != 0:
        raise RuntimeError(f"avatar_speed exited {done.returncode}: "
                           f"{done.stderr.strip().splitlines()[-1:]}")
    speed = json.loads(done.stdout)
    check.result["default_avatar"] = {"device": "cpu (no GPU path: OpenCV remap and numpy)",
                                      "frames": speed["frames"], **speed["256"]}


def mediapipe_env() -> dict[str, str]:
    """The environment for a process that runs MediaPipe: protobuf 4 first on its path, when
    gpu_check.sh set one aside (onnx, in this process, needs a newer one)."""
    env = dict(os.environ)
    first = env.get("GPU_CHECK_MEDIAPIPE_PATH")
    if first:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (first, env.get("PYTHONPATH")) if p)
    return env


def table(result: dict) -> str:
    """The short text summary."""
    gpu = result.get("gpu") or {}
    env = result.get("environment") or {}
    lines = [f"gpu_check {result['date']}: {result.get('outcome') or 'running'}",
             f"machine: {env.get('cpus')} x {env.get('cpu')}; nvidia-smi: "
             f"{env.get('nvidia_smi')}",
             f"torch {env.get('packages', {}).get('torch')} (CUDA {gpu.get('torch_cuda_version')}"
             f"), onnxruntime providers {gpu.get('onnxruntime_providers')}", ""]
    rows = result.get("fomm", {}).get("backends", {})
    if rows:
        lines.append(f"{'FOMM 256 px, batch 1':<24} {'ms/frame':>9} {'fps':>7} "
                     f"{'before caching':>15} {'max |diff| vs fp32':>19}")
        for name, row in rows.items():
            before = row.get("ms_before_caching")
            diff = row["max_diff_in_8bit_levels"]
            lines.append(f"{name:<24} {row['ms_per_frame']:>9.2f} {row['fps']:>7.1f} "
                         f"{'' if before is None else f'{before:.2f}':>15} "
                         f"{'not compared' if diff is None else f'{diff:.2f} of 255':>19}")
        lines.append("")
    for engine, row in result.get("animate", {}).items():
        if isinstance(row, dict):
            lines.append(f"animate --engine {engine}: {row['fps_end_to_end']} fps end to end "
                         f"({row['frames']} frames of {result['animate']['clip']}; "
                         f"{row['runtime']})")
    for device, row in result.get("embedder", {}).items():
        if isinstance(row, dict):
            lines.append(f"embedder on {device}: {row['ms_1_windows']} ms a window, "
                         f"{row['ms_16_windows']} ms for 16 (auto picks "
                         f"{result['embedder']['auto_device']})")
    avatar = result.get("default_avatar") or {}
    if avatar:
        lines.append(f"default avatar 256 px: {avatar['median_ms']} ms/frame "
                     f"({avatar['fps_at_median']} fps), {avatar['device']}")
    for what, why in result.get("skipped", {}).items():
        lines.append(f"skipped {what}: {why}")
    for what, why in result.get("errors", {}).items():
        lines.append(f"ERROR {what}: {why}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the JSON and table")
    parser.add_argument("--clip", type=Path, default=None, help="a real clip of a face")
    parser.add_argument("--budget", type=float, default=270, help="seconds for all stages")
    parser.add_argument("--frames", type=int, default=100, help="timed frames per GPU backend")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--cpu-frames", type=int, default=5, help="timed frames on the CPU")
    args = parser.parse_args()
    # Stopped from outside (gpu_check.sh's hard limit): leave no half-gigabyte work folder.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(124))

    check = Check(args.out, args.budget)
    check.result["environment"] = environment()
    gpu = gpu_state(check)
    check.result["outcome"] = ("GPU: " + (check.result["gpu"].get("name") or "CUDA device")
                               if gpu else f"no GPU: {check.result['gpu']['why_not']}")
    check.write()
    print(f"gpu_check: {check.result['outcome']}", file=sys.stderr, flush=True)
    checkpoint: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="gpu_check.") as tmp:
        work = Path(tmp)
        # The quick stages first, so that a slow CPU-only machine still measures them.
        check.stage("embedder", 10, lambda: embedder(check))
        check.stage("default avatar", 20, lambda: default_avatar(check, args.clip))
        check.stage("animate default", 20, lambda: animate(check, work, args.clip, "default"))
        check.stage("fomm", 60, lambda: fomm(check, work, gpu, args, checkpoint))
        if not gpu:
            check.skip("animate fomm", "no GPU: FOMM takes seconds a frame on a CPU "
                                       "(benchmarks/fomm_speed.py)")
        elif not checkpoint:
            check.skip("animate fomm", "the FOMM stage made no checkpoint")
        else:
            check.stage("animate fomm", 30,
                        lambda: animate(check, work, args.clip, "fomm", checkpoint[0]))
    check.write()
    print(table(check.result), end="")
    if not gpu:
        return NO_GPU
    return FAILED if check.result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
