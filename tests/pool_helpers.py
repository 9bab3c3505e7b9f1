"""For the Janus pool test: the avatar clips its publishers send, rendered before the call.

A live publisher renders the default avatar from its camera as it sends (examples/publisher.py).
Three of them at 25 fps would take about a core of this 2-core machine away from the workers
under test, so the test renders each driver's clip through the same pipeline once, losslessly,
and its publishers send those frames at 25 fps.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.guard import GuardConfig
from fingerprint_live.media import iter_video
from fingerprint_live.pipeline import Pipeline


def render_avatar(driver: Path, out: Path, neutral: np.ndarray | None = None) -> Path:
    """``driver`` through the default avatar (from ``neutral`` if given) into lossless ``out``."""
    avatar = DefaultAvatar(load_portrait())
    if neutral is not None:
        avatar.set_neutral(neutral)
    with Pipeline(avatar, None, GuardConfig(policy="off")) as pipeline, \
            av.open(str(out), "w") as container:
        stream = container.add_stream("ffv1", rate=Fraction(25))
        stream.pix_fmt = "yuv444p"
        for n, frame in enumerate(iter_video(driver)):
            image = pipeline.process(frame.image, frame.time).image
            if n == 0:
                stream.width, stream.height = image.shape[1], image.shape[0]
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return out
