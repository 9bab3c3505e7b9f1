"""The virtual webcam: camera (or a video file) -> pipeline -> pyvirtualcam.

Any video app then picks "the webcam" and gets the guarded avatar. pyvirtualcam needs a backend
that the OS does not ship by default; when none is there, the error says how to set one up.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .errors import FingerprintError, MediaError
from .guard import draw_note
from .media import iter_video
from .pipeline import LiveFrame, Pipeline

SETUP_HELP = {
    "linux": "install v4l2loopback (Debian/Ubuntu: `sudo apt install v4l2loopback-dkms`) and "
             "load it with `sudo modprobe v4l2loopback devices=1 exclusive_caps=1`",
    "win32": "install OBS Studio (28 or newer) and start its Virtual Camera once, then stop it",
    "darwin": "install OBS Studio (30 or newer), start its Virtual Camera once and allow the "
              "system extension in System Settings, then stop it",
}


def setup_help(platform: str = sys.platform) -> str:
    key = "linux" if platform.startswith("linux") else platform
    return SETUP_HELP.get(key, "install a virtual camera supported by pyvirtualcam "
                               "(v4l2loopback on Linux, OBS on Windows and macOS)")


def open_virtual_camera(width: int, height: int, fps: float, backend: str | None = None,
                        device: str | None = None):
    """A ``pyvirtualcam.Camera`` taking RGB frames, or an error that says how to get one."""
    try:
        import pyvirtualcam
    except ImportError as exc:
        raise FingerprintError("the virtual camera needs pyvirtualcam: "
                               "pip install 'fingerprint-live[live]'.") from exc
    from pyvirtualcam.camera import BACKENDS

    if backend is not None and backend not in BACKENDS:
        raise FingerprintError(f"no virtual camera backend is called {backend!r}; this system "
                               f"has: {', '.join(sorted(BACKENDS)) or 'none'}. Leave --backend "
                               "out to use the first that works.")
    try:
        return pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.RGB,
                                   backend=backend, device=device)
    except (RuntimeError, KeyError) as exc:
        detail = str(exc).strip().replace("\n", "; ") or "no backend registered"
        raise FingerprintError(f"no virtual camera is available ({detail}). To get one, "
                               f"{setup_help()}; then run this again.") from exc


def webcam_frames(index: int) -> Iterator[tuple[np.ndarray, float]]:
    """RGB frames of an OpenCV camera and their capture times (monotonic seconds)."""
    import cv2

    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise MediaError(f"camera {index} cannot be opened: check that it is connected and that "
                         "no other program uses it, or pass --input VIDEO.")
    capture.set(cv2.CAP_PROP_FRAME_WIDTH, 640)
    capture.set(cv2.CAP_PROP_FRAME_HEIGHT, 480)
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                raise MediaError(f"camera {index} stopped sending frames.")
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), time.monotonic()
    finally:
        capture.release()


def file_frames(path: str | Path, loop: bool = False) -> Iterator[tuple[np.ndarray, float]]:
    """A video file played at its own pace, as if it were a camera (optionally forever)."""
    start, offset = time.monotonic(), 0.0
    while True:
        last = 0.0
        for frame in iter_video(path):
            last = frame.time
            wait = start + offset + frame.time - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            yield frame.image, offset + frame.time
        if not loop:
            return
        offset += last + 0.04


class Preview:
    """An OpenCV window with the output; keys: c re-calibrates, q quits."""

    def __init__(self, title: str = "fingerprint-live") -> None:
        import cv2

        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)
        except cv2.error as exc:
            raise FingerprintError("the preview window needs OpenCV with GUI support "
                                   "(pip install opencv-python) and a display; or drop "
                                   "--preview.") from exc

    def show(self, rgb: np.ndarray) -> str | None:
        """Show a frame; the key pressed, if any."""
        import cv2

        cv2.imshow(self.title, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        key = cv2.waitKey(1) & 0xFF
        return chr(key) if key != 0xFF else None

    def close(self) -> None:
        import cv2

        cv2.destroyWindow(self.title)


def status_line(out: LiveFrame, fps: float) -> str:
    """The user's own status: state, the evidence beside its thresholds, what others see."""
    evidence = "  -  " if out.score is None else f"{out.score:+.1f}"
    if out.bounds is not None:
        evidence += f" (VERIFIED at {out.bounds[0]:+.0f}, MISMATCH at {out.bounds[1]:+.0f})"
    reason = f" ({out.decision.reason})" if out.decision.reason else ""
    warning = f"  [{out.warning}]" if out.warning else ""
    return (f"{out.state.value:<10} evidence {evidence}  {fps:5.1f} fps  others see: "
            f"{out.decision.action.value}{reason}{warning}")


def _preview_image(out: LiveFrame) -> np.ndarray:
    """What the user sees of their own output: the sent frame, plus the decision's note
    (verifying, checking...) and the pose warning, which the far side never sees."""
    if not out.warning and not out.decision.note:
        return out.image
    image = out.image.copy()
    if out.decision.note:
        draw_note(image, out.decision.note)
    if out.warning:
        draw_note(image, out.warning, top=True)
    return image


def run_camera(frames: Iterator[tuple[np.ndarray, float]], pipeline: Pipeline, camera,
               preview: Preview | None = None, keys: list[str] | None = None,
               status=None) -> int:
    """Feed frames through the pipeline to the virtual camera until the source ends or 'q'.

    ``keys`` is a list another thread appends key presses to (the terminal); the preview
    window's keys are read here. Status lines go to ``status`` (default: the current stderr).
    """
    status = status or sys.stderr
    sent, shown, tick = 0, 0, time.monotonic()
    fps = 0.0
    try:
        for rgb, stamp in frames:
            out = pipeline.process(rgb, stamp)
            camera.send(out.image)
            sent += 1
            pressed = preview.show(_preview_image(out)) if preview is not None else None
            if keys:
                pressed = keys.pop(0)
            if pressed == "c":
                pipeline.recalibrate()
            elif pressed == "q":
                break
            now = time.monotonic()
            if now - tick >= 1.0:
                fps, shown, tick = (sent - shown) / (now - tick), sent, now
                print(f"\r{status_line(out, fps)}", end="", file=status, flush=True)
    finally:
        print(file=status)  # end the status line, also before an error message
    return sent
