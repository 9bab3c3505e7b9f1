"""Signed verdicts (issue 25): far-side MISMATCH after a takeover, statement size and cost, and
what the receiver does with hostile input.

- takeover: aiortc peers on 127.0.0.1 in this process. The sender's camera plays an M030
  recording the enrollment does not use, twice, then a W009 recording (person B takes over);
  the camera side (face and motion) runs and signs its state; the receiver sees only the
  avatar and checks motion and the statements against the receiver's copy. The figure is the
  time from B's first camera frame to the receiver's first attested MISMATCH (wall clock),
  beside the camera side's own MISMATCH (same clock) and whether the far side was attested
  VERIFIED before B came.
- size and cost: a typical statement's bytes on the wire; sign and check (the whole acceptance
  path, signature included) per statement, median of many; the CPU share at the sender's rate.
- hostile input at the checker (the receiver's code path, without the network): each case sent
  ``--hostile`` times with fresh nonces and sequence numbers, then a flood of 10,000 forged
  statements within one second. Refused and accepted counts, and the time the flood took.
  The same cases over a real data channel are tests/test_signed_verdicts.py's hostile test.
- soak (``--soak SECONDS``): one attested call of the owner alone, the four M030 recordings the
  enrollment does not use played in turn until ``SECONDS`` have passed. Every MISMATCH the far
  side publishes is false; each is counted with what moved it and whether it was attested,
  beside the camera side's own MISMATCH events and the share of the call spent attested.

Run (repository root, venv active; needs ../shared/data):
    python benchmarks/signed_verdicts.py --json benchmarks/signed_verdicts.json
    python benchmarks/signed_verdicts.py --runs 0 --soak 1800 --json /tmp/soak.json
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from live_helpers import ENROLL, MEAD  # noqa: E402
from shared_data import clip  # noqa: E402

from fingerprint_live.attest import SigningKey, Statement, StatementChecker  # noqa: E402
from fingerprint_live.attest.channel import STATEMENT_EVERY  # noqa: E402
from fingerprint_live.decision import State  # noqa: E402
from fingerprint_live.embedder import Embedder  # noqa: E402
from fingerprint_live.face_descriptor import FaceDescriptor  # noqa: E402
from fingerprint_live.media import iter_video  # noqa: E402
from fingerprint_live.video_enrollment import build_enrollment  # noqa: E402
from fingerprint_live.webrtc.loopback import attested_sender, far_side_call  # noqa: E402

OWNER = [MEAD.format("M030", e) for e in ("happy_level3_001", "neutral_level1_001",
                                          "sad_level3_001", "surprised_level3_001")]
TAKERS = [MEAD.format("W009", e) for e in ("happy_level3_001", "sad_level3_001")]
DTLS = "dtls sha-256 " + ":".join(["AB"] * 32)


def takeovers(key: SigningKey, runs: list[tuple[str, str]]) -> list[dict]:
    embedder, descriptor = Embedder(), FaceDescriptor()
    owned = build_enrollment([clip(p) for p in ENROLL], embedder, descriptor, min_seconds=8)
    owned = replace(owned, public_key=key.public_raw)
    rows = []
    for owner, taker in runs:
        camera: list[tuple[float, State]] = []
        before = 2 * sum(1 for _ in iter_video(clip(owner)))
        sender = attested_sender(owned, key, embedder, descriptor.info,
                                 on_event=lambda e, seen=camera: seen.append(
                                     (time.monotonic(), e.state)))
        far = asyncio.run(far_side_call([clip(owner), clip(owner), clip(taker)], sender,
                                        owned.receiver_copy(), embedder,
                                        switch_after=before))
        switched = far.switched_at
        far_mismatch = next((t - switched for t, e in far.events if t >= switched
                             and e.state is State.MISMATCH and e.attestation == "attested"),
                            None)
        own_mismatch = next((t - switched for t, s in camera
                             if t >= switched and s is State.MISMATCH), None)
        verified_before = any(t < switched and e.state is State.VERIFIED
                              and e.attestation == "attested" for t, e in far.events)
        false_before = any(t < switched and e.state is State.MISMATCH for t, e in far.events)
        row = {"owner": Path(owner).stem, "taker": Path(taker).stem,
               "far_mismatch_s": None if far_mismatch is None else round(far_mismatch, 2),
               "camera_mismatch_s": None if own_mismatch is None else round(own_mismatch, 2),
               "attested_verified_before": verified_before,
               "false_mismatch_before": false_before, **far.attestation.stats()}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def soak(key: SigningKey, seconds: float) -> dict:
    """One attested call of the owner alone for ``seconds``: the far side's false MISMATCH."""
    embedder, descriptor = Embedder(), FaceDescriptor()
    owned = build_enrollment([clip(p) for p in ENROLL], embedder, descriptor, min_seconds=8)
    owned = replace(owned, public_key=key.public_raw)
    lengths = {p: sum(1 for _ in iter_video(clip(p))) / 25 for p in OWNER}
    paths, total = [], 0.0
    while total < seconds:
        for p in OWNER:
            paths.append(clip(p))
            total += lengths[p]
    camera: list[State] = []
    sender = attested_sender(owned, key, embedder, descriptor.info,
                             on_event=lambda e: camera.append(e.state))
    start = time.monotonic()
    far = asyncio.run(far_side_call(paths, sender, owned.receiver_copy(), embedder,
                                    limit=total * 1.5 + 60))
    minutes = (time.monotonic() - start) / 60
    false = [e for _, e in far.events if e.state is State.MISMATCH]
    attested = [t for t, e in far.events if e.attestation == "attested"]
    return {"minutes": round(minutes, 2), "frames_checked": len(far.frames),
            "far_false_mismatch": len(false),
            "far_false_mismatch_per_min": round(len(false) / minutes, 3),
            "by": sorted({(e.attestation, str(e.signal and e.signal.value)) for e in false}),
            "far_states": {s: far.states().count(s) for s in set(far.states())},
            "camera_mismatch": camera.count(State.MISMATCH),
            "first_attested_s": round(attested[0] - start, 1) if attested else None,
            **far.attestation.stats()}


def cost(key: SigningKey, n: int = 2000) -> dict:
    """Sign and check costs (median microseconds) and the statement's size."""
    clock = [1_800_000_000.0]
    checker = StatementChecker(key.public_raw, DTLS, clock=lambda: clock[0],
                               monotonic=lambda: clock[0])
    nonce = checker.new_nonce()
    sign_us, check_us, sizes = [], [], []
    for seq in range(1, n + 1):
        clock[0] += 0.1  # ten a second: within the rate
        statement = Statement(key.key_id, seq, clock[0], "VERIFIED", "pass", 3.1416,
                              ("motion", "appearance"), nonce, DTLS)
        start = time.perf_counter()
        message = statement.sign(key)
        mid = time.perf_counter()
        assert checker.check(message) is not None
        end = time.perf_counter()
        sign_us.append((mid - start) * 1e6)
        check_us.append((end - mid) * 1e6)
        sizes.append(len(message))
        if seq % 50 == 0:
            nonce = checker.new_nonce()
    rate = 1 / STATEMENT_EVERY + 1  # the heartbeat, plus about one state change a second
    per_statement = statistics.median(sign_us) + statistics.median(check_us)
    return {"statement_bytes": max(sizes), "sign_us": round(statistics.median(sign_us), 1),
            "check_us": round(statistics.median(check_us), 1),
            "statements_per_s": rate,
            "core_share_percent": round(per_statement * rate / 1e6 * 100, 4)}


def hostile(key: SigningKey, n: int) -> dict:
    """Each hostile case ``n`` times at a checker; then a 10,000-statement flood."""
    stranger = SigningKey.generate()
    clock = [1_800_000_000.0]
    checker = StatementChecker(key.public_raw, DTLS, clock=lambda: clock[0],
                               monotonic=lambda: clock[0])
    seq = [0]

    def make(signer: SigningKey = key, **change) -> str:
        seq[0] += 1
        fields = dict(key_id=signer.key_id, seq=seq[0], time=clock[0], state="VERIFIED",
                      action="pass", evidence=3.0, signals=("motion", "appearance"),
                      nonce=checker.new_nonce(), binding=DTLS)
        fields.update(change)
        return Statement(**fields).sign(signer)

    def forged() -> str:
        body, signature = make().split(".")
        raw = bytearray(base64.b64decode(signature))
        raw[7] ^= 1
        return body + "." + base64.b64encode(bytes(raw)).decode()

    def replayed_sequence() -> str:
        message = make()
        assert checker.check(message) is not None  # accepted once (the genuine one) ...
        return message  # ... and sent again

    cases = {
        "forged signature": forged,
        "another key's statement": lambda: make(stranger),
        "another key, the owner's key id": lambda: make(stranger, key_id=key.key_id),
        "replay from an earlier call (old nonce)": lambda: make(nonce="ab" * 16),
        "replay in this call (old sequence)": replayed_sequence,
        "another DTLS fingerprint (relay)": lambda: make(binding="dtls sha-256 "
                                                     + ":".join(["CD"] * 32)),
        "from the future (+5 s)": lambda: make(time=clock[0] + 5),
        "stale (3 s old)": lambda: make(time=clock[0] - 3),
        "truncated": lambda: make()[:-20],
        "malformed (nested brackets)": lambda: base64.b64encode(b"[" * 400).decode() + ".AA==",
        "oversized (4 KiB)": lambda: "A" * 4096,
    }
    results = {}
    for name, build in cases.items():
        before, before_accepted = dict(checker.refused), checker.accepted
        genuine = 1 if name.startswith("replay in this call") else 0
        for _ in range(n):
            clock[0] += 0.2  # five a second: under the rate limit, so each reaches its check
            message = build()
            checker.check(message)
        results[name] = {"sent": n, "refused": _since(checker, before),
                         "accepted": checker.accepted - before_accepted - genuine * n}
    clock[0] += 5
    message = forged()
    start = time.perf_counter()
    before, before_accepted = dict(checker.refused), checker.accepted
    for _ in range(10_000):
        checker.check(message)
    spent = time.perf_counter() - start
    results["flood (10,000 forged in one second)"] = {
        "sent": 10_000, "accepted": checker.accepted - before_accepted,
        "refused": _since(checker, before), "receiver_ms": round(spent * 1000, 1)}
    clock[0] += 1.5
    results["genuine right after"] = {"accepted": checker.check(make()) is not None}
    return results


def _since(checker: StatementChecker, before: dict[str, int]) -> dict[str, int]:
    """Refusals by reason since ``before`` (an earlier copy of the counts)."""
    return {k: v - before.get(k, 0) for k, v in checker.refused.items() if v > before.get(k, 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=8, help="takeover calls (default: 8)")
    ap.add_argument("--hostile", type=int, default=1000, help="messages per hostile case")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--soak", type=float, default=0,
                    help="seconds of an attested call of the owner alone (default: none)")
    args = ap.parse_args()
    key = SigningKey.generate()
    runs = [(o, t) for t in TAKERS for o in OWNER][:args.runs]
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": f"{platform.processor() or platform.machine()}, "
                         f"{len(os.sched_getaffinity(0))} cores",
              "load": Path("/proc/loadavg").read_text().split()[:3],
              "cost": cost(key), "hostile": hostile(key, args.hostile)}
    print(json.dumps(result, indent=1), flush=True)
    if runs:
        result["takeover"] = takeover_summary(takeovers(key, runs))
        print(json.dumps({k: v for k, v in result["takeover"].items() if k != "runs"},
                         indent=1))
    if args.soak:
        result["soak"] = soak(key, args.soak)
        print(json.dumps(result["soak"], indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


def takeover_summary(rows: list[dict]) -> dict:
    """The far side's MISMATCH delays over the runs, beside the camera side's."""
    delays = [r["far_mismatch_s"] for r in rows if r["far_mismatch_s"] is not None]
    camera = [r["camera_mismatch_s"] for r in rows if r["camera_mismatch_s"] is not None]
    return {"runs": rows, "detected": f"{len(delays)}/{len(rows)}",
            "far_mismatch_median_s": round(statistics.median(delays), 2) if delays else None,
            "far_mismatch_max_s": max(delays) if delays else None,
            "camera_mismatch_median_s": round(statistics.median(camera), 2) if camera else None,
            "load_after": Path("/proc/loadavg").read_text().split()[:3]}


if __name__ == "__main__":
    main()
