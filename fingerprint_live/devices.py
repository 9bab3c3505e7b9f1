"""Where onnxruntime runs: CUDA when onnxruntime-gpu can use a device, else the CPU.

With the ``gpu`` extra installed, ``auto`` means CUDA. On a machine where CUDA cannot run (no
NVIDIA driver, no device, CUDA libraries that do not load), onnxruntime would fall back to the
CPU on its own after many lines of errors; instead this module finds out first, says why in one
line, once, and the CPU path runs. Asking for ``cuda`` explicitly makes the same reason an error.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ModelError

if TYPE_CHECKING:
    import onnxruntime as ort

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
#: The TensorRT major version that onnxruntime-gpu's TensorRT provider is linked against.
NVINFER = "libnvinfer.so.10"
#: cuInit's answer when the driver is there but sees no device.
CUDA_ERROR_NO_DEVICE = 100

_said: set[str] = set()


def say_once(message: str) -> None:
    """One line on stderr, the first time only (many engines and embedders may ask)."""
    if message not in _said:
        _said.add(message)
        print(message, file=sys.stderr)


def gpu_build() -> bool:
    """Whether the installed onnxruntime is a CUDA build (the ``gpu`` extra)."""
    import onnxruntime as ort

    return CUDA in ort.get_available_providers()


@cache
def cuda_problem() -> str | None:
    """Why onnxruntime-gpu cannot run on CUDA here, in a few words; None when it can."""
    return _driver_problem() or _library_problem()


def _driver_problem() -> str | None:
    """Ask the NVIDIA driver itself (libcuda) whether it sees a device: no CUDA runtime needed."""
    name = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    try:
        driver = ctypes.CDLL(name)
    except OSError:
        return f"no NVIDIA driver: {name} not found"
    status = driver.cuInit(0)
    if status == CUDA_ERROR_NO_DEVICE:
        return "the NVIDIA driver sees no CUDA device"
    if status != 0:
        return f"the NVIDIA driver did not start (cuInit error {status})"
    count = ctypes.c_int(0)
    if driver.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
        return "the NVIDIA driver sees no CUDA device"
    return None


def _library_problem() -> str | None:
    """Load the CUDA and cuDNN libraries onnxruntime-gpu needs (from the nvidia-* packages the
    ``gpu`` extra installs, else the system's); the first that fails, if any."""
    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)
    if preload is None:  # onnxruntime before 1.21 finds the libraries on the loader path itself
        return None
    said = io.StringIO()
    with contextlib.redirect_stdout(said):  # it prints each failure
        preload()
    failures = [line for line in said.getvalue().splitlines() if line.startswith("Failed to load")]
    if not failures:
        return None
    cuda = getattr(ort, "cuda_version", "") or "?"
    return f"the CUDA {cuda} libraries it needs did not load: {failures[0]}"


def onnx_device(device: str | None) -> str:
    """``cuda`` or ``cpu`` for a request of ``cuda``, ``cpu`` or ``auto`` (None is ``auto``).

    ``auto`` takes CUDA when onnxruntime-gpu can use it; when it is installed but cannot, one
    line says why and the CPU runs. ``cuda`` that cannot be served is a :class:`ModelError`.
    """
    if device == "cpu":
        return "cpu"
    if device not in (None, "auto", "cuda"):
        raise ModelError(f"device must be cpu, cuda or auto, not {device!r}.")
    if not gpu_build():
        if device == "cuda":
            raise ModelError("device 'cuda' asked for, but this onnxruntime has no CUDA provider: "
                             "install fingerprint-live[gpu] (onnxruntime-gpu), or use the CPU.")
        return "cpu"
    problem = cuda_problem()
    if problem is None:
        return "cuda"
    if device == "cuda":
        raise ModelError(f"device 'cuda' asked for, but CUDA is not usable: {problem}.")
    say_once(no_cuda_line(problem))
    return "cpu"


def no_cuda_line(problem: str, instead: str = "running on the CPU") -> str:
    """The one line for a GPU install that finds no usable CUDA device."""
    return f"fingerprint-live: onnxruntime-gpu is installed but CUDA is not usable ({problem}); " \
           f"{instead}."


@cache
def tensorrt_usable() -> bool:
    """Whether onnxruntime's TensorRT provider is there and TensorRT's libraries load."""
    import onnxruntime as ort

    if TENSORRT not in ort.get_available_providers():
        return False
    for attempt in range(2):
        try:
            ctypes.CDLL(NVINFER)
            return True
        except OSError:
            if attempt:
                return False
            try:  # the tensorrt package loads its bundled libraries when imported
                import tensorrt  # noqa: F401
            except ImportError:
                return False
    return False


def onnx_session(model: str | Path | bytes, device: str,
                 options: ort.SessionOptions | None = None, tensorrt_cache: Path | None = None,
                 fp16: bool = False) -> ort.InferenceSession:
    """An onnxruntime session on ``device`` (from :func:`onnx_device`).

    On CUDA, the TensorRT provider goes first when it is usable and ``tensorrt_cache`` names a
    folder for its engines (building one takes minutes; the cache makes that once per model);
    ``fp16`` lets TensorRT choose half precision.
    """
    import onnxruntime as ort

    options = options or ort.SessionOptions()
    options.log_severity_level = 3  # not the CUDA provider's notes on nodes it leaves to the CPU
    providers: list = [CPU]
    if device == "cuda":
        providers = [CUDA, CPU]
        if tensorrt_cache is not None and tensorrt_usable():
            tensorrt_cache.mkdir(parents=True, exist_ok=True)
            providers.insert(0, (TENSORRT, {"trt_fp16_enable": fp16,
                                            "trt_engine_cache_enable": True,
                                            "trt_engine_cache_path": str(tensorrt_cache)}))
    source = model if isinstance(model, bytes) else str(model)
    session = ort.InferenceSession(source, options, providers=providers)
    if device == "cuda" and session.get_providers()[0] == CPU:
        raise ModelError("onnxruntime-gpu did not start its CUDA provider for this model; "
                         "run with device='cpu', or see onnxruntime's CUDA requirements.")
    return session
