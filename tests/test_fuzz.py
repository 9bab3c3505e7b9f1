"""Fuzzing, bounded in time: the enrollment file reader (v2) and serve's signaling endpoint.

The reader may only answer a clear ``EnrollmentError`` (never another exception) and must refuse
every modified file whose digest was not rewritten. The offer endpoint must answer any body with
a 4xx JSON error, never a 500, and keep serving without leaking a session.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fingerprint_live.enrollment import Enrollment
from fingerprint_live.errors import EnrollmentError
from fingerprint_live.serve import ServeConfig, make_app
from fingerprint_live.serve.app import SESSIONS

#: Each fuzz test stays well under ~20 s on a 2-core machine.
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@pytest.fixture(scope="module")
def valid(enrollment: Enrollment, tmp_path_factory) -> bytes:
    """A real enrollment file's bytes (M030)."""
    path = tmp_path_factory.mktemp("fuzz") / "m030.fpe"
    enrollment.save(path)
    return path.read_bytes()


def _load(tmp_path: Path, data: bytes) -> Enrollment:
    path = tmp_path / "fuzzed.fpe"
    path.write_bytes(data)
    return Enrollment.load(path)


def _signed(body: bytes) -> bytes:
    """A file around ``body`` with a correct digest: only the content's checks can refuse it."""
    return (b"fingerprint-live-enrollment\n" + body + b"\nsha256:"
            + hashlib.sha256(body).hexdigest().encode() + b"\n")


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_are_refused(tmp_path, data: bytes) -> None:
    with pytest.raises(EnrollmentError):
        _load(tmp_path, data)


@FUZZ
@given(edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                      max_size=8),
       cut=st.one_of(st.none(), st.floats(0, 1, exclude_max=True)))
def test_a_modified_or_truncated_file_is_never_accepted(tmp_path, valid: bytes, edits,
                                                       cut) -> None:
    data = bytearray(valid)
    for where, byte in edits:
        data[int(where * len(data))] = byte
    if cut is not None:
        data = data[: int(cut * len(data))]
    assume(bytes(data) != valid)
    with pytest.raises(EnrollmentError):
        _load(tmp_path, bytes(data))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)


VECTORS = st.fixed_dictionaries({}, optional={
    "model_id": JSON, "shape": JSON | st.just([2, 128]) | st.just([1, 2]),
    "vectors": JSON | st.just("AACAfwAAgH8=") | st.just(""),
    "extra": JSON})


@FUZZ
@given(changes=st.dictionaries(
    st.sampled_from(["version", "kind", "segments", "original", "created", "motion",
                     "appearance", "public_key", "extra"]), JSON | VECTORS, max_size=4),
       inner=st.dictionaries(st.sampled_from(["motion", "appearance"]), VECTORS, max_size=2),
       drop=st.sets(st.sampled_from(["version", "kind", "segments", "original", "motion",
                                     "appearance"])))
def test_any_signed_content_is_refused_clearly_or_usable(tmp_path, valid: bytes, changes,
                                                         inner, drop) -> None:
    """Content behind a rewritten digest: a clear refusal, or vectors that score finitely."""
    doc = json.loads(valid.split(b"\n")[1])
    for part, edits in inner.items():
        if isinstance(doc.get(part), dict):
            doc[part] = {**doc[part], **edits}
    doc.update(changes)
    for key in drop:
        doc.pop(key)
    try:
        loaded = _load(tmp_path, _signed(json.dumps(doc).encode()))
    except EnrollmentError:
        return
    motion = loaded.motion.vectors
    assert motion.ndim == 2 and np.isfinite(motion).all()
    assert np.isfinite(loaded.motion_scores(motion)).all()
    if loaded.appearance is not None:
        faces = loaded.appearance.vectors
        assert faces.ndim == 2 and np.isfinite(loaded.appearance_distances(faces)).all()


@FUZZ
@given(body=st.one_of(st.binary(max_size=2000), st.sampled_from([
    b"[" * 100_000, b'{"version": 2e999}', b'{"version": Infinity}', b'"text"', b"[1, 2]",
    b"{}", b'{"version": 2, "motion": {"vectors": "", "shape": [0, 64], "model_id": "m"}, '
    b'"appearance": null, "seconds": 1}',
    b'{"version": 2, "motion": [], "appearance": {}, "seconds": 1}',
    b'{"version": 1, "embeddings": "", "shape": [0, 64], "model_id": "m", "seconds": 1}',
])))
def test_hostile_json_bodies_are_refused(tmp_path, body: bytes) -> None:
    assume(b"\n" not in body)
    with pytest.raises(EnrollmentError):
        _load(tmp_path, _signed(body))


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[asyncio.AbstractEventLoop, TestClient]]:
    """serve's real app behind aiohttp's test client, on one loop for every example."""
    loop = asyncio.new_event_loop()
    client = TestClient(TestServer(make_app(ServeConfig(max_sessions=2))), loop=loop)
    loop.run_until_complete(client.start_server())
    yield loop, client
    loop.run_until_complete(client.close())
    loop.close()


SDP_LINE = st.one_of(
    st.sampled_from(["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
                     "m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=mid:0",
                     "a=rtpmap:96 VP8/90000", "a=sendrecv", "a=setup:actpass",
                     "a=ice-ufrag:abcd", "a=ice-pwd:" + "x" * 22, "m=application 9 x",
                     "a=fingerprint:sha-256 00:11", "a=candidate:1 1 udp 1 127.0.0.1 9 typ host",
                     "a=ssrc:1 cname:x", "m=video 0", "a=rtcp-mux", "a=msid:a b"]),
    st.text(max_size=40).map(lambda t: t.replace("\r", "").replace("\n", "")))


def _fields(sdp: str, kind: str, extra: dict[str, str]) -> FormData:
    form = FormData()
    form.add_field("sdp", sdp)
    form.add_field("type", kind)
    for name, value in extra.items():
        form.add_field(name, value)
    return form


BODIES = st.one_of(
    st.builds(_fields, st.lists(SDP_LINE, max_size=25).map("\r\n".join),
              st.sampled_from(["offer", "answer", "", "pranswer"]),
              st.dictionaries(st.sampled_from(["seconds", "policy", "avatar"]),
                              st.text(max_size=10), max_size=3)),
    st.builds(lambda d: json.dumps(d), JSON),
    st.binary(max_size=1000),
    st.text(max_size=500),
)


@FUZZ
@given(body=BODIES, content_type=st.sampled_from([
    None, "application/json", "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz", "multipart/form-data"]))
def test_the_offer_endpoint_answers_any_body_with_a_4xx(server, body, content_type) -> None:
    loop, client = server

    async def post() -> tuple[int, dict, int]:
        headers = {"Content-Type": content_type} if content_type and not isinstance(
            body, FormData) else None
        async with client.post("/offer", data=body, headers=headers) as response:
            status = response.status
            answer = await response.json(content_type=None)
        async with client.get("/app.js") as page:
            return status, answer, page.status

    status, answer, alive = loop.run_until_complete(post())
    assert 400 <= status < 500 and isinstance(answer.get("error"), str), (status, answer)
    assert alive == 200, "the server must keep serving"
    assert not client.server.app[SESSIONS], "a refused offer must not hold a session"
