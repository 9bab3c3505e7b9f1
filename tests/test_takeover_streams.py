"""How takeover streams are assembled for the receiver's horizon figures: which recordings play,
and for how long the other person lasts."""

from pathlib import Path

import numpy as np
import pytest

from fingerprint_live.offline.clip_landmarks import ClipLandmarks
from fingerprint_live.offline.evaluation import Scored, takeover_streams
from fingerprint_live.offline.manifest import Clip

FPS = 25.0


def scored(identity: str, seconds: float, k: int = 0) -> Scored:
    n = int(seconds * FPS) + 1
    marks = ClipLandmarks(np.zeros((n, 468, 3), np.float32), np.arange(n) / FPS,
                          np.ones(n, np.int8), 256, 256)
    return Scored(Clip(Path(f"{identity}{k}.mp4"), identity, "real"), marks, np.zeros((1, 4)))


def seconds(clips: list[Scored], parts: tuple[int, ...]) -> float:
    return sum(float(clips[k].landmarks.times[-1]) for k in parts)


@pytest.fixture
def clips() -> list[Scored]:
    return [scored("owner", 10.0, 0), scored("owner", 12.0, 1), scored("short", 7.0),
            scored("pair", 9.0, 0), scored("pair", 4.0, 1), scored("long", 40.0)]


def test_long_streams_play_each_other_person_once(clips: list[Scored]) -> None:
    streams = takeover_streams(clips, long=True)
    assert [s.enrolled for s in streams] == [0, 0, 0, 1, 1, 1, 3, 3, 3, 4, 4, 4]
    for s in streams:
        people = {clips[k].clip.identity for k in s.impostor}
        assert len(people) == 1 and clips[s.enrolled].clip.identity not in people
        assert sorted(s.impostor) == sorted(set(s.impostor))  # every recording, once


def test_other_person_repeated_until_the_horizon(clips: list[Scored]) -> None:
    plain = takeover_streams(clips, long=True)
    streams = takeover_streams(clips, long=True, at_least=30.0)
    assert [(s.enrolled, s.genuine) for s in streams] == [(s.enrolled, s.genuine) for s in plain]
    for s, p in zip(streams, plain, strict=True):
        once = p.impostor
        assert s.impostor[:len(once)] == once  # the same person, in the same order
        repeats, rest = divmod(len(s.impostor), len(once))
        assert rest == 0 and s.impostor == once * repeats
        assert seconds(clips, s.impostor) >= 30.0
        assert repeats == 1 or seconds(clips, once * (repeats - 1)) < 30.0  # no more than needed
    assert any(len(s.impostor) > len(p.impostor) for s, p in zip(streams, plain, strict=True))


def test_short_streams_are_not_lengthened(clips: list[Scored]) -> None:
    assert takeover_streams(clips, at_least=30.0) == takeover_streams(clips)
    assert all(len(s.impostor) == 1 for s in takeover_streams(clips, at_least=30.0))
