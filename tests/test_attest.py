"""Signed verdicts at the statement level: keys, statements and the receiver's checker, with
real Ed25519 (``cryptography``) and a clock the test moves.

Each hostile message must be refused, counted under its reason, never become the statement in
force, and leave the checker accepting the next genuine statement.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fingerprint_live.attest import SigningKey, Statement, StatementChecker, combine, load_key
from fingerprint_live.attest.checker import MAX_AGE, RATE_LIMIT
from fingerprint_live.attest.statement import MAX_MESSAGE_BYTES
from fingerprint_live.decision import State
from fingerprint_live.errors import KeyFileError

SENDER_DTLS = "dtls sha-256 " + ":".join(["AB"] * 32)
RELAY_DTLS = "dtls sha-256 " + ":".join(["CD"] * 32)


class Clock:
    """Wall and monotonic time at once, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def wall(self) -> float:
        return self.now

    def mono(self) -> float:
        return self.now - 1_700_000_000.0


class Call:
    """One receiver's checker and the owner's key, with a nonce sent."""

    def __init__(self, key: SigningKey, clock: Clock, dtls: str = SENDER_DTLS) -> None:
        self.key, self.clock, self.dtls = key, clock, dtls
        self.checker = StatementChecker(key.public_raw, dtls, clock=clock.wall,
                                        monotonic=clock.mono)
        self.nonce = self.checker.new_nonce()
        self.seq = 0

    def statement(self, key: SigningKey | None = None, **change) -> str:
        self.seq += 1
        fields = dict(key_id=(key or self.key).key_id, seq=self.seq, time=self.clock.now,
                      state="VERIFIED", action="pass", evidence=2.5,
                      signals=("motion", "appearance"), nonce=self.nonce, binding=self.dtls)
        fields.update(change)
        return Statement(**fields).sign(key or self.key)

    def still_serving(self) -> None:
        """The next genuine statement is accepted after whatever came before."""
        self.clock.now += 1.0  # out of any rate window
        self.nonce = self.checker.new_nonce()  # as the receiver sends every few seconds
        accepted = self.checker.check(self.statement())
        assert accepted is not None and self.checker.current() == accepted


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def owner() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def call(owner: SigningKey, clock: Clock) -> Call:
    return Call(owner, clock)


def refused_only(call: Call, reason: str, messages: list[str | bytes]) -> None:
    before, in_force = call.checker.accepted, call.checker.current()
    for message in messages:
        assert call.checker.check(message) is None
    assert call.checker.refused[reason] == len(messages), dict(call.checker.refused)
    assert call.checker.accepted == before and call.checker.current() is in_force
    call.still_serving()


def test_a_genuine_statement_is_accepted_and_holds_for_two_seconds(call, clock) -> None:
    message = call.statement()
    assert len(message) < 600, "a statement is small"
    accepted = call.checker.check(message)
    assert accepted is not None and accepted.state == "VERIFIED" and accepted.seq == 1
    assert combine(State.WARMING_UP, call.checker.current()).state is State.VERIFIED
    clock.now += MAX_AGE + 0.1
    assert call.checker.current() is None, "no valid statement for 2 s: unattested"
    verdict = combine(State.VERIFIED, call.checker.current())
    assert verdict.state is State.VERIFIED and not verdict.attested
    assert combine(State.VERIFIED, None, require=True).state is State.MISMATCH


def test_either_mismatch_wins(call) -> None:
    signed_mismatch = call.checker.check(call.statement(state="MISMATCH", action="block"))
    assert combine(State.VERIFIED, signed_mismatch).state is State.MISMATCH
    signed_verified = call.checker.check(call.statement())
    verdict = combine(State.MISMATCH, signed_verified)
    assert verdict.state is State.MISMATCH and verdict.attested


def test_a_forged_signature_is_refused(call) -> None:
    body, signature = call.statement().split(".")
    forged = bytearray(base64.b64decode(signature))
    forged[0] ^= 1
    refused_only(call, "signature", [body + "." + base64.b64encode(bytes(forged)).decode(),
                                     _swap_body(call.statement(state="MISMATCH"),
                                                call.statement(state="VERIFIED"))])


def _swap_body(signed: str, other: str) -> str:
    """``other``'s body under ``signed``'s signature."""
    return other.split(".")[0] + "." + signed.split(".")[1]


def test_another_keys_statement_is_refused(call) -> None:
    stranger = SigningKey.generate()
    refused_only(call, "signature", [call.statement(key=stranger, key_id=call.key.key_id)])
    refused_only(call, "other_key", [call.statement(key=stranger)])


def test_a_replay_from_an_earlier_call_is_refused(owner, clock) -> None:
    earlier = Call(owner, clock)
    recorded = [earlier.statement(seq=n) for n in (50, 51)]
    assert earlier.checker.check(recorded[0]) is not None
    now = Call(owner, clock)  # same sender certificate even: the nonce is not this call's
    refused_only(now, "nonce", recorded)
    renewed = Call(owner, clock, dtls=RELAY_DTLS)  # the usual case: a new certificate too
    refused_only(renewed, "binding", recorded)


def test_an_old_sequence_number_is_refused(call) -> None:
    first, second = call.statement(), call.statement()
    assert call.checker.check(second) is not None
    assert call.checker.check(first) is None and call.checker.check(second) is None
    assert call.checker.refused["sequence"] == 2


def test_another_dtls_fingerprint_is_refused(call) -> None:
    refused_only(call, "binding", [call.statement(binding=RELAY_DTLS)])


def test_statements_from_the_future_and_stale_ones_are_refused(call, clock) -> None:
    refused_only(call, "future", [call.statement(time=clock.now + 5)])
    refused_only(call, "stale", [call.statement(time=clock.now - MAX_AGE - 0.5)])


def test_an_old_nonce_is_refused(call, clock) -> None:
    clock.now += 30  # long after the nonce was sent
    refused_only(call, "nonce", [call.statement(time=clock.now)])


def test_malformed_truncated_and_oversized_messages_are_refused(call) -> None:
    good = call.statement()
    body = base64.b64decode(good.split(".")[0])
    sig = good.split(".")[1]
    bomb = base64.b64encode(b"[" * 300 + b"]" * 300).decode() + "." + sig
    malformed = [good[:len(good) // 2], good[:-3], "", ".", "..", "no dots here", good + ".x",
                 "\u00e9" * 10, b"\x00\xff" * 20, bomb,
                 base64.b64encode(body.replace(b'"seq":', b'"sequ":')).decode() + "." + sig,
                 base64.b64encode(b"NaN").decode() + "." + sig,
                 base64.b64encode(body).decode() + "." + sig[:-8]]
    refused_only(call, "malformed", malformed)
    refused_only(call, "oversized", ["A" * (MAX_MESSAGE_BYTES + 1), b"x" * (1 << 20)])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=1200), st.binary(max_size=1200)))
def test_random_messages_are_never_accepted(message) -> None:
    clock = Clock()
    checker = StatementChecker(SigningKey.generate().public_raw, SENDER_DTLS,
                               clock=clock.wall, monotonic=clock.mono)
    checker.new_nonce()
    assert checker.check(message) is None and checker.accepted == 0
    assert sum(checker.refused.values()) == 1


def test_a_flood_is_refused_cheaply_and_the_receiver_keeps_serving(call) -> None:
    """10,000 statements in one second (forged and replayed), on the receiver's real CPU."""
    valid = call.statement()
    forged = _swap_body(call.statement(state="MISMATCH"), valid)
    start = time.perf_counter()
    results = [call.checker.check(forged if n % 2 else valid) for n in range(10_000)]
    spent = time.perf_counter() - start
    assert sum(r is not None for r in results) == 1, "only the first copy of the one valid one"
    refused = call.checker.refused
    assert refused["rate"] == 10_000 - RATE_LIMIT, dict(refused)
    assert refused["signature"] + refused["sequence"] == RATE_LIMIT - 1
    assert spent < 0.5, f"10,000 messages took {spent:.2f} s of the receiver's time"
    call.still_serving()


def test_a_key_file_is_private_and_refuses_to_be_overwritten(tmp_path) -> None:
    path = tmp_path / "owner.key"
    key = SigningKey.generate()
    key.save(path, b"correct horse")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert load_key(path, b"correct horse").key_id == key.key_id
    with pytest.raises(KeyFileError, match="already there"):
        SigningKey.generate().save(path)
    for wrong in (None, b"battery staple"):
        with pytest.raises(KeyFileError) as info:
            load_key(path, wrong)
        assert "horse" not in str(info.value) and "staple" not in str(info.value)
    SigningKey.generate().save(path, force=True)
    assert load_key(path).key_id != key.key_id
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_key(path)


def test_the_keys_command_makes_shows_and_keeps_a_key(tmp_path, monkeypatch, capsys) -> None:
    from fingerprint_live.attest.keys import PASSPHRASE_ENV
    from fingerprint_live.cli import main

    path = tmp_path / "me.key"
    monkeypatch.setenv(PASSPHRASE_ENV, "a long passphrase")
    assert main(["keys", "-o", str(path), "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["key_id"] == load_key(path, b"a long passphrase").key_id
    assert main(["keys", "-o", str(path)]) == 2, "an existing key is never overwritten"
    assert "already there" in capsys.readouterr().err
    assert main(["keys", "-o", str(path), "--show", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["key_id"] == made["key_id"]
    monkeypatch.setenv(PASSPHRASE_ENV, "another")
    assert main(["keys", "-o", str(path), "--show"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "passphrase is wrong" in err and "another" not in err
    assert main(["keys", "-o", str(path), "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["key_id"] != made["key_id"]


def test_through_janus_statements_bind_to_room_and_feed_without_a_nonce(owner, clock) -> None:
    """No nonce reaches a publisher through the VideoRoom: the room, the feed and the time
    bind the statement instead."""
    from fingerprint_live.attest.channel import janus_binding

    feed = janus_binding(1234, 5678)
    call = Call(owner, clock, dtls=feed)
    call.checker = StatementChecker(owner.public_raw, feed, challenge=False, clock=clock.wall,
                                    monotonic=clock.mono)
    assert call.checker.check(call.statement(nonce="")) is not None
    refused_only(call, "binding", [call.statement(binding=janus_binding(1234, 5679)),
                                   call.statement(binding=janus_binding(4321, 5678)),
                                   call.statement(binding=SENDER_DTLS)])
    refused_only(call, "stale", [call.statement(time=clock.now - MAX_AGE - 0.5)])
    first, second = call.statement(), call.statement()
    assert call.checker.check(second) is not None and call.checker.check(first) is None
    assert call.checker.refused["sequence"] == 1
