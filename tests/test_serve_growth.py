"""``serve --enrollment FILE --allow-growth``: a call that ended may be added to the owner's file.

Real aiortc clients on 127.0.0.1 stream real clips; ``POST /session/<id>/grow`` after hang-up
answers 200 (added), 409 (not earned, or added already), 403 (the owner does not allow it) or
404 (no such call).
"""

from __future__ import annotations

import asyncio
import json
from urllib.request import urlopen

import numpy as np
import pytest
from live_helpers import GENUINE, OTHER_FACE
from serve_helpers import call_serve, serving
from shared_data import clip

from fingerprint_live.enrollment import Enrollment
from fingerprint_live.errors import FingerprintError
from fingerprint_live.growth import DEFAULT_POLICY
from fingerprint_live.serve import ServeConfig


async def _post(url: str) -> tuple[int, dict]:
    from aiohttp import ClientSession

    async with ClientSession() as http, http.post(url) as response:
        return response.status, await response.json()


def _hang_up_and_grow(port: int, session: str) -> tuple[int, dict]:
    """Hang up (the client may have closed first: then the server has ended it already), then
    ask to add the call to the enrollment."""
    base = f"http://127.0.0.1:{port}/session/{session}"
    ended, body = asyncio.run(_post(f"{base}/end"))
    assert ended in (200, 404), body
    return asyncio.run(_post(f"{base}/grow"))


def test_growth_is_the_owners_choice(enrollment, tmp_path) -> None:
    """Without --allow-growth the page is refused (403) and told so by /config; with it, an
    unknown call is 404; --allow-growth without an owner's file is refused at start."""
    owner = tmp_path / "owner.fpe"
    enrollment.save(owner)
    saved = enrollment.to_bytes()
    with serving(ServeConfig(enrollment=owner)) as port:
        config = json.loads(urlopen(f"http://127.0.0.1:{port}/config").read())
        refused = asyncio.run(_post(f"http://127.0.0.1:{port}/session/anything/grow"))
    assert config["growth"] is False
    assert refused[0] == 403 and "--allow-growth" in refused[1]["error"], refused
    with serving(ServeConfig(enrollment=owner, allow_growth=True)) as port:
        config = json.loads(urlopen(f"http://127.0.0.1:{port}/config").read())
        unknown = asyncio.run(_post(f"http://127.0.0.1:{port}/session/nobody/grow"))
    assert config["growth"] is True
    assert unknown[0] == 404 and "no such call" in unknown[1]["error"], unknown
    with pytest.raises(FingerprintError, match="--allow-growth needs --enrollment"):
        ServeConfig(allow_growth=True)
    assert owner.read_bytes() == saved


@pytest.mark.slow
def test_the_owners_verified_calls_are_added_once_and_a_strangers_is_not(enrollment,
                                                                         tmp_path) -> None:
    """Two calls of the owner (M030, a clip looped for longer than the policy's minimum) are
    each added once: the second grows the enrollment the first left, in the file and in the
    server. Then a stranger's call (another face) is refused with its reason, and the file is
    left as it was."""
    from fingerprint_live.webrtc import VideoFileTrack

    owner = tmp_path / "owner.fpe"
    enrollment.save(owner)
    listen = DEFAULT_POLICY.min_seconds + 12  # verifying takes a few seconds; cuts lose some
    answers, files = [], []
    with serving(ServeConfig(enrollment=owner, allow_growth=True, max_sessions=1)) as port:
        for _ in range(2):
            call = asyncio.run(call_serve(port, VideoFileTrack([clip(GENUINE)], loops=0),
                                          listen, keep_frames=False))
            answers.append(_hang_up_and_grow(port, call.session))
            files.append(owner.read_bytes())
            again = asyncio.run(_post(f"http://127.0.0.1:{port}/session/{call.session}/grow"))
            assert again[0] == 409 and "already" in again[1]["error"], again
            assert owner.read_bytes() == files[-1], "a call is never added twice"
        stranger = asyncio.run(call_serve(port, VideoFileTrack([clip(OTHER_FACE)], loops=0), 8,
                                          keep_frames=False))
        refused = _hang_up_and_grow(port, stranger.session)
    for status, body in answers:
        assert status == 200 and body["added"] and body["windows"] > 0, (status, body)
    first, second = (Enrollment.from_bytes(b) for b in files)
    have = len(enrollment.motion.vectors)
    assert first.sources == (*enrollment.sources, "page call")
    assert second.sources == (*enrollment.sources, "page call", "page call"), \
        "the second call grew what the first left (the server's enrollment was updated)"
    assert all(s.origin == "call" and s.added for s in second.segments[first.original:])
    assert len(first.motion.vectors) == have + answers[0][1]["windows"]
    assert len(second.motion.vectors) == answers[1][1]["enrollment_windows"] \
        == len(first.motion.vectors) + answers[1][1]["windows"]
    np.testing.assert_array_equal(second.reset().motion.vectors, enrollment.motion.vectors)
    assert refused[0] == 409 and refused[1]["error"].startswith("this call was not added: "), \
        refused
    assert owner.read_bytes() == files[-1], "a refused call leaves the file as it was"
