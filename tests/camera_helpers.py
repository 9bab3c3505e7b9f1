"""A pyvirtualcam backend that keeps what it is sent: the kernel's virtual camera (v4l2loopback)
cannot be loaded here, so ``cam`` is tested through pyvirtualcam's ``register_backend``."""

from __future__ import annotations

import numpy as np
import pyvirtualcam


class RecordingBackend:
    """A pyvirtualcam backend that keeps every frame it is sent."""

    frames: list[np.ndarray] = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device, **kw) -> None:
        self.shape = (height, width, 3)
        RecordingBackend.frames = []

    def send(self, frame: np.ndarray) -> None:
        RecordingBackend.frames.append(frame.reshape(self.shape).copy())

    def close(self) -> None:
        pass

    def device(self) -> str:
        return "recording"

    def native_fourcc(self) -> None:
        return None


class MissingBackend(RecordingBackend):
    def __init__(self, **kw) -> None:
        raise RuntimeError("device not found")


pyvirtualcam.register_backend("fl-recording", RecordingBackend)
pyvirtualcam.register_backend("fl-missing", MissingBackend)
