"""Janus and the pool of verification workers, on one machine.

The slow tests run the whole call (tests/pool_scenario.py) in an isolated network namespace:
Janus with a config it writes, `fingerprint-live worker` with two Ray workers (the second joins
while the streams run), and three publishers sending the default avatar of real clips: M030
(enrolled as ``m030``), LivePortrait's d12 claiming to be ``m030``, and MEAD W009 as ``guest``
(not enrolled). One worker is killed with SIGKILL and its stream moves. Two smaller scenarios
run the same way: signed verdicts through Janus (tests/attested_janus_scenario.py), and one
subscription as a worker makes it (tests/subscriber_scenario.py). The fast tests check the
command's one-line errors and the subscriber's SDP.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from live_helpers import GENUINE, IMPOSTOR, OTHER_FACE, clips
from pool_helpers import render_avatar

from fingerprint_live.attest import SigningKey
from fingerprint_live.cli import main
from fingerprint_live.janus import JanusConfig, JanusServer
from fingerprint_live.janus.server import can_isolate, isolated
from fingerprint_live.janus.videoroom import ABS_SEND_TIME, without_bandwidth_estimate
from fingerprint_live.pool.coordinator import PoolConfig

ROOT = Path(__file__).resolve().parents[1]
LEASE = PoolConfig().lease  # how long a worker's word counts after its last answer
FAILOVER = 5.0  # the target, seconds from the kill to another worker's report


def _needs_isolation() -> None:
    if can_isolate():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI runs as root with unshare and ip: the Janus test must run there")
    pytest.skip("needs root, unshare and ip for an isolated network namespace")


@pytest.fixture(scope="module")
def call(enrollment, tmp_path_factory) -> dict:
    _needs_isolation()
    folder = tmp_path_factory.mktemp("pool")
    (folder / "enrollments").mkdir()
    enrollment.save(folder / "enrollments" / "m030.fpe")
    genuine, impostor, guest = clips([GENUINE, IMPOSTOR, OTHER_FACE])
    setup = {
        "enrollments": str(folder / "enrollments"),
        "publishers": {
            "genuine": ["m030", str(render_avatar(genuine, folder / "genuine.mkv",
                                                  enrollment.neutral))],
            "impostor": ["m030", str(render_avatar(impostor, folder / "impostor.mkv"))],
            "guest": ["guest", str(render_avatar(guest, folder / "guest.mkv"))]},
        "before_kill": 45, "after_kill": 30, "limit": 100,
        "janus_log": str(folder / "janus.log"), "pool_log": str(folder / "pool.log")}
    return _scenario("pool_scenario.py", folder, setup, timeout=240)


def _scenario(script: str, folder: Path, setup: dict, timeout: float) -> dict:
    """Run tests/``script`` on ``setup`` in an isolated network namespace; its report, with
    the pool's log (empty for a scenario that starts no pool)."""
    (folder / "setup.json").write_text(json.dumps(setup))
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [
        str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        isolated([sys.executable, str(ROOT / "tests" / script),
                  str(folder / "setup.json"), str(folder / "report.json")]),
        env=env, timeout=timeout, capture_output=True, text=True)
    log = folder / "pool.log"
    pool_log = log.read_text() if log.exists() else ""
    assert done.returncode == 0, (done.stderr[-3000:], pool_log[-3000:])
    report = json.loads((folder / "report.json").read_text())
    report["pool_log"] = pool_log
    return report


def _timeline(report: dict, role: str) -> list[tuple[float, str, str | None]]:
    feed = report["feeds"][role]
    return [(s["t"], row["state"], row["worker"]) for s in report["samples"]
            for row in s["streams"] if row["stream"] == feed]


@pytest.mark.slow
def test_each_stream_gets_its_verdict(call) -> None:
    genuine = [state for _, state, _ in _timeline(call, "genuine")]
    impostor = [state for _, state, _ in _timeline(call, "impostor")]
    guest = {state for _, state, _ in _timeline(call, "guest")}
    assert "VERIFIED" in genuine and "MISMATCH" not in genuine, call["pool_log"]
    assert "MISMATCH" in impostor and "VERIFIED" not in impostor, call["pool_log"]
    assert guest == {"UNENROLLED"}, guest
    lines = [line for line in call["lines"] if line["stream"] == call["feeds"]["genuine"]]
    assert lines and set(lines[0]) >= {"stream", "time", "state", "score"}, call["lines"]


@pytest.mark.slow
def test_each_stream_is_checked_by_exactly_one_worker(call) -> None:
    for sample in call["samples"]:
        owned = [feed for worker in sample["workers"] for feed in worker["streams"]]
        assert len(owned) == len(set(owned)), sample
    owners = {w for _, _, w in _timeline(call, "genuine") + _timeline(call, "impostor") if w}
    assert len(owners) >= 2, "the two enrolled streams should be shared by the two workers"


@pytest.mark.slow
def test_a_worker_joins_while_the_streams_run_and_takes_one(call) -> None:
    joined, killed = call["joined"], call["killed"]
    assert joined is not None and len(joined["workers"]) == 1, joined
    before_kill = [(s["t"], row) for s in call["samples"] for row in s["streams"]
                   if joined["t"] < s["t"] < killed["t"]]
    taken = [(t, row) for t, row in before_kill
             if row["worker"] not in (None, *joined["workers"]) and row["state"] != "UNVERIFIED"]
    assert taken, "the worker that joined checked no stream"
    print(f"a worker joined {taken[0][0] - joined['t']:.2f} s after it was started and "
          f"checks stream {taken[0][1]['stream']}")


@pytest.mark.slow
def test_a_killed_workers_stream_moves_and_its_word_lapses_with_its_lease(call) -> None:
    killed = call["killed"]
    assert killed is not None, "no worker was killed"
    after = [(t, state, worker) for t, state, worker in _timeline(call, "genuine")
             if t > killed["t"]]
    # The dead worker's last word (given before the kill) counts until its lease is over, and
    # not after: Ray tells the coordinator of the death only about a second later. The 0.2 s
    # covers a sample's time being taken just before its GET.
    late = [x for x in after if x[2] == killed["worker"] and x[1] != "UNVERIFIED"
            and x[0] > killed["t"] + LEASE + 0.2]
    assert not late, late
    taken = [x for x in after if x[2] not in (None, killed["worker"]) and x[1] != "UNVERIFIED"]
    assert taken, f"no other worker took the stream: {after[:50]}"
    failover = taken[0][0] - killed["t"]
    assert failover <= FAILOVER, f"failover took {failover:.2f} s"
    gap = [x for x in after if x[0] < taken[0][0]]
    assert gap and all(state == "UNVERIFIED" or worker == killed["worker"]
                       for _, state, worker in gap), gap
    unverified = [t for t, state, _ in gap if state == "UNVERIFIED"]
    assert unverified, "the gap was never read"
    again = [t for t, state, worker in after if worker != killed["worker"] and state == "VERIFIED"]
    assert again, "another worker should verify the enrolled driver again"
    print(f"after the kill: UNVERIFIED from {unverified[0] - killed['t']:.2f} s, another worker "
          f"reports from {failover:.2f} s (failover), VERIFIED again at "
          f"{again[0] - killed['t']:.2f} s")


@pytest.fixture(scope="module")
def attested_call(enrollment, tmp_path_factory) -> dict:
    """tests/attested_janus_scenario.py: the owner signs through Janus, an unsigned stream
    claims the same name."""
    _needs_isolation()
    folder = tmp_path_factory.mktemp("attested")
    key = SigningKey.generate()
    key.save(folder / "m030.key")
    owned = replace(enrollment, public_key=key.public_raw)
    owned.save(folder / "full.fpe")
    (folder / "enrollments").mkdir()
    owned.receiver_copy().save(folder / "enrollments" / "m030.fpe")
    genuine = clips([GENUINE])[0]
    setup = {"enrollments": str(folder / "enrollments"), "full": str(folder / "full.fpe"),
             "key": str(folder / "m030.key"), "camera": str(genuine),
             "avatar": str(render_avatar(genuine, folder / "genuine.mkv", enrollment.neutral)),
             "limit": 60, "janus_log": str(folder / "janus.log"),
             "pool_log": str(folder / "pool.log")}
    return _scenario("attested_janus_scenario.py", folder, setup, timeout=180) | {
        "key_id": key.key_id}


@pytest.mark.slow
def test_signed_verdicts_through_janus_show_as_attested(attested_call) -> None:
    """The owner's signed stream is attested VERIFIED in /streams and the JSON lines; the
    unsigned stream of the same name is never attested."""
    call = attested_call
    assert call["key_id"] in call["said"][0], call["said"]
    rows = {role: [row for s in call["samples"] for row in s["streams"]
                   if row["stream"] == feed] for role, feed in call["feeds"].items()}
    signed = [(row["state"], row["attestation"]) for row in rows["signed"]]
    assert ("VERIFIED", "attested") in signed, (signed[-20:], call["pool_log"][-2000:])
    assert all(row["attestation"] == "unattested" for row in rows["unsigned"]), rows["unsigned"]
    assert any(row["state"] != "UNVERIFIED" for row in rows["unsigned"]), "never checked"
    lines = [line for line in call["lines"] if line["stream"] == call["feeds"]["signed"]]
    assert any(line["attestation"] == "attested" for line in lines), call["lines"]


#: What Janus's VideoRoom offers a subscriber for video (Debian's janus, read off a real offer).
JANUS_OFFER_LINES = [
    "a=extmap-allow-mixed", "a=rtcp-fb:96 goog-remb",
    f"a=extmap:2 {ABS_SEND_TIME}",
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid"]


def test_a_subscriber_declines_only_the_bandwidth_estimate() -> None:
    offer = "v=0\r\n" + "".join(line + "\r\n" for line in JANUS_OFFER_LINES)
    kept = without_bandwidth_estimate(offer)
    assert kept == offer.replace(f"a=extmap:2 {ABS_SEND_TIME}\r\n", "")
    assert without_bandwidth_estimate(kept) == kept


@pytest.mark.slow
def test_a_workers_subscription_gets_frames_without_the_bandwidth_estimate(tmp_path) -> None:
    """The pool's subscriber answers Janus without abs-send-time (so aiortc runs no estimator
    per packet and sends no REMB the VideoRoom would drop), and its video still arrives."""
    _needs_isolation()
    setup = {"clip": str(clips([GENUINE])[0]), "janus_log": str(tmp_path / "janus.log")}
    report = _scenario("subscriber_scenario.py", tmp_path, setup, timeout=60)
    assert min(report["frame"]) > 0, report
    assert report["answer_extmaps"], report  # the answer still agrees to some extensions
    assert not any(ABS_SEND_TIME in line for line in report["answer_extmaps"]), report


def test_worker_says_in_one_line_when_janus_is_unreachable(enrollment, tmp_path, capsys):
    enrollment.save(tmp_path / "m030.fpe")
    code = main(["worker", "--janus", "ws://127.0.0.1:9/", "--enrollments", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "Janus is not reachable at ws://127.0.0.1:9/" in err
    assert len(err.strip().splitlines()) == 1, err


def test_worker_says_in_one_line_when_the_room_does_not_exist(enrollment, tmp_path, capsys):
    if shutil.which("janus") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI installs Debian's janus (.ci/run)")
        pytest.skip("needs Debian's janus")
    enrollment.save(tmp_path / "m030.fpe")
    with JanusServer(JanusConfig(port=18189)) as janus:  # no media: no ICE, no isolation
        code = main(["worker", "--janus", janus.cfg.url, "--room", "999",
                     "--enrollments", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "has no VideoRoom 999" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content, says", [
    (None, "no enrollment files"), (b"not an enrollment", "not a fingerprint-live enrollment"),
])
def test_worker_refuses_an_empty_folder_or_a_bad_file(tmp_path, capsys, content, says):
    if content is not None:
        (tmp_path / "alice.fpe").write_bytes(content)
    assert main(["worker", "--enrollments", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1, err
