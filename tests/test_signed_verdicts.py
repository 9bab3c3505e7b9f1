"""Signed verdicts end to end: two aiortc peers on 127.0.0.1, real clips, real Ed25519.

The sender runs the camera-side check (face and motion) on a clip played as its camera and
signs its state onto the attest channel; the receiver sees only the avatar, checks motion and
the statements against the receiver's copy of the enrollment (with the owner's public key),
and publishes the combined verdict. A hostile sender, which holds the owner's key in some cases,
sends every kind of bad statement and a flood over the real data channel: none is accepted,
each is counted, and the receiver keeps checking frames.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import replace

import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection
from live_helpers import GENUINE, OTHER_FACE, clips

from fingerprint_live.attest import SigningKey, Statement
from fingerprint_live.attest.channel import (
    CHANNEL_LABEL,
    local_binding,
)
from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.decision import State
from fingerprint_live.enrollment import Enrollment
from fingerprint_live.guard import GuardConfig
from fingerprint_live.media import iter_video
from fingerprint_live.pipeline import Pipeline
from fingerprint_live.webrtc import AvatarTrack
from fingerprint_live.webrtc.loopback import Sender, attested_sender, far_side_call

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def owner_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def owned(enrollment: Enrollment, owner_key: SigningKey) -> Enrollment:
    """M030's full enrollment, carrying the owner's public key."""
    return replace(enrollment, public_key=owner_key.public_raw)


def test_an_attested_genuine_call_is_attested_verified(owned, owner_key, embedder,
                                                       faces) -> None:
    far = asyncio.run(far_side_call(clips([GENUINE, GENUINE]),
                            attested_sender(owned, owner_key, embedder, faces),
                            owned.receiver_copy(), embedder))
    stats = far.attestation.stats()
    assert stats["key_id"] == owner_key.key_id
    assert stats["refused"] == {}, "a genuine sender's statements are all accepted"
    assert stats["accepted"] >= 8, stats  # about two a second over 7 s
    assert "VERIFIED" in far.states("attested"), far.states()
    assert "MISMATCH" not in far.states(), far.states()
    assert all(e.attestation in ("attested", "unattested") for _, e in far.events)
    assert all(e.to_json()["attestation"] == e.attestation for _, e in far.events)


def test_a_takeover_is_a_mismatch_at_the_far_side(owned, owner_key, embedder, faces) -> None:
    """Person B (W009) takes over the camera after A (M030): the signed MISMATCH arrives."""
    before = 2 * sum(1 for _ in iter_video(clips([GENUINE])[0]))
    far = asyncio.run(far_side_call(clips([GENUINE, GENUINE, OTHER_FACE]),
                            attested_sender(owned, owner_key, embedder, faces),
                            owned.receiver_copy(), embedder, switch_after=before))
    assert far.switched_at is not None
    earlier = [e for t, e in far.events if t < far.switched_at]
    assert any(e.state is State.VERIFIED and e.attestation == "attested" for e in earlier), \
        far.states()
    mismatches = [t for t, e in far.events if t >= far.switched_at
                  and e.state is State.MISMATCH and e.attestation == "attested"]
    assert mismatches, far.states()
    assert mismatches[0] - far.switched_at < 3.0, "the far side must know within seconds"


def hostile_sender(owner_key: SigningKey, sent: dict[str, int], flood: int,
                   sent_at: list[float]) -> Sender:
    """An avatar with no camera-side check, and every kind of bad statement on the channel.

    When the first nonce comes it sends each hostile case, then ``flood`` forged statements at
    once; more than a second later, one statement that is genuine in every respect, to show
    the receiver still accepts what it should (it says WARMING_UP: nothing here is VERIFIED).
    When that one went out is appended to ``sent_at`` (monotonic seconds).
    """
    stranger = SigningKey.generate()

    def make(pc: RTCPeerConnection, source: MediaStreamTrack) -> MediaStreamTrack:
        channel = pc.createDataChannel(CHANNEL_LABEL)

        def statement(key: SigningKey, nonce: str, **change) -> str:
            fields = dict(key_id=key.key_id, seq=100, time=time.time(), state="VERIFIED",
                          action="pass", evidence=3.0, signals=("motion", "appearance"),
                          nonce=nonce, binding=local_binding(channel))
            fields.update(change)
            return Statement(**fields).sign(key)

        async def attack(nonce: str) -> None:
            good = statement(owner_key, nonce)
            body, signature = good.split(".")
            flipped = bytearray(base64.b64decode(signature))
            flipped[5] ^= 0x40
            forged = body + "." + base64.b64encode(bytes(flipped)).decode()
            cases = {
                "signature": [forged, statement(stranger, nonce, key_id=owner_key.key_id)],
                "other_key": [statement(stranger, nonce)],
                "nonce": [statement(owner_key, "00" * 16, seq=1)],  # an earlier call's
                "binding": [statement(owner_key, nonce,
                                      binding="dtls sha-256 " + ":".join(["0F"] * 32))],
                "future": [statement(owner_key, nonce, time=time.time() + 30)],
                "stale": [statement(owner_key, nonce, time=time.time() - 30)],
                "malformed": [good[:len(good) // 2], "x", good + "." + signature,
                              base64.b64encode(b"[" * 200).decode() + "." + signature],
                "oversized": ["A" * 5000],
            }
            for reason, messages in cases.items():
                for message in messages:
                    channel.send(message)
                sent[reason] = len(messages)
            await asyncio.sleep(1.1)  # a rate window of its own for the flood
            for _ in range(flood):
                channel.send(forged)
            sent["flood"] = flood
            while channel.bufferedAmount:  # all of it on its way (about 4 s through aiortc)
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)
            channel.send(statement(owner_key, nonces[-1], seq=200, state="WARMING_UP"))
            sent["genuine"] = 1
            sent_at.append(time.monotonic())

        nonces: list[str] = []

        def on_message(message) -> None:
            nonces.append(message)
            if len(nonces) == 1:
                asyncio.ensure_future(attack(message))

        channel.on("message", on_message)
        pipeline = Pipeline(DefaultAvatar(load_portrait()), None, GuardConfig(policy="off"))
        return AvatarTrack(source, pipeline)

    return make


def test_hostile_statements_are_refused_and_the_receiver_keeps_serving(owned, owner_key,
                                                                        embedder) -> None:
    sent: dict[str, int] = {}
    sent_at: list[float] = []
    flood = 10_000
    # Six clips (about 21 s): the attack takes about 9 s on an idle machine and much longer on
    # busy cores, and the genuine statement must still find the call open.
    far = asyncio.run(far_side_call(clips([GENUINE] * 6),
                                    hostile_sender(owner_key, sent, flood, sent_at),
                                    owned.receiver_copy(), embedder, require=True))
    assert sent.get("genuine") == 1, f"the attack did not finish: {sent}"
    left = far.frames[-1] - sent_at[0]
    assert left > 2.0, f"the call ended {left:.1f} s after the genuine statement was sent"
    stats = far.attestation.stats()
    refused = stats["refused"]
    for reason in ("signature", "other_key", "nonce", "binding", "future", "stale",
                   "malformed", "oversized"):
        assert refused.get(reason, 0) >= sent[reason], (reason, refused)
    assert refused["rate"] + refused["signature"] >= flood, refused
    assert stats["accepted"] == 1, f"only the one genuine statement: {stats}"
    assert "VERIFIED" not in far.states(), "no hostile statement may yield VERIFIED"
    unattested = [e for _, e in far.events if e.attestation == "unattested"]
    assert unattested and all(e.state is State.MISMATCH for e in unattested), \
        "attestation required: an unattested stream is a mismatch"
    assert "WARMING_UP" in far.states("attested"), "the genuine statement still counts"
    gaps = [b - a for a, b in zip(far.frames, far.frames[1:], strict=False)]
    assert len(far.frames) > 60 and max(gaps) < 2.0, \
        f"the receiver stalled {max(gaps):.2f} s during the flood"
