"""A recorded clip played through the verifier the way a live call feeds it.

Every frame's landmarks go to ``push``; on the frames the :class:`.appearance.CheckSchedule`
picks (a new face, then about once a second) the face is described and the descriptor goes to
``add_appearance``. ``describe(i, face)`` gives the descriptor of frame ``i``, or None when it
has none for that frame: then the check waits for the next frame that has one, as a live check
waits for the descriptor process (offline evaluation keeps descriptors of every 5th frame, so a
check lands at most 4 frames late, about what the process takes live).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..appearance import CheckSchedule
from ..landmarks import FaceLandmarks
from ..verifier import StreamingVerifier
from .clip_landmarks import ClipLandmarks

Describe = Callable[[int, FaceLandmarks], np.ndarray | None]
#: Frames a due check may wait for a frame with a descriptor before it is dropped.
MAX_WAIT = 10


def play(verifier: StreamingVerifier, marks: ClipLandmarks, describe: Describe | None = None,
         offset: float = 0.0, schedule: CheckSchedule | None = None,
         target_shape: np.ndarray | None = None,
         stop: Callable[[], bool] | None = None) -> None:
    """Feed ``marks`` (times shifted by ``offset``) to ``verifier``; ``stop()`` ends early.

    Pass one ``schedule`` to consecutive clips of one stream, as a live call keeps one.
    """
    schedule = schedule or CheckSchedule()
    pending: int | None = None
    for i, (face, t) in enumerate(zip(marks.faces(target_shape), marks.times, strict=True)):
        t = float(t) + offset
        verifier.push(face, t)
        if describe is not None:
            if schedule.due(face, t):
                pending = i
            if pending is not None and face.found:
                vector = describe(i, face)
                if vector is not None:
                    verifier.add_appearance(vector, t)
                    pending = None
            if pending is not None and i - pending >= MAX_WAIT:
                pending = None
        if stop is not None and stop():
            return
