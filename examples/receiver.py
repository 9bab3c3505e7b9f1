"""Minimal receiver: accept one avatar stream over WebRTC and verify it against an enrollment.

Only the avatar video is seen here, so motion is all there is; ``VerifyTrack`` finds its
landmarks, weighs their motion against the enrollment and reports state changes. The sender's
own guard events arrive on the data channel. When the enrollment (the receiver's copy, from
``fingerprint-live export``) carries the owner's public key, the sender's signed verdicts are
checked too: nonces go out, statements come in, and each event says whether it is attested.
``--require-attestation`` (your choice as the receiver, never the sender's) treats a stream
without valid signed verdicts as a mismatch. Signalling is aiortc's JSON ``{"sdp", "type"}``.
Run this first, then ``examples/sender.py``:

    python examples/receiver.py --enrollment their_copy.fpe
"""

import argparse
import asyncio

from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from fingerprint_live.attest.channel import CHANNEL_LABEL, ReceiverAttestation
from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment
from fingerprint_live.webrtc import VerifyTrack, loopback_only, rtc_configuration

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--enrollment", required=True, help="the sender's enrollment (.fpe)")
parser.add_argument("--port", type=int, default=8081)
parser.add_argument("--require-attestation", action="store_true",
                    help="an unattested stream counts as a mismatch")
args = parser.parse_args()

embedder = Embedder()
enrollment = Enrollment.load(args.enrollment, embedder.info.model_id)
peers = set()


async def consume(track) -> None:
    try:
        while True:
            await track.recv()  # a real app would display or record the frame here
    except MediaStreamError:  # the call ended
        pass


async def offer(request: web.Request) -> web.Response:
    params = await request.json()
    pc = RTCPeerConnection(rtc_configuration())
    peers.add(pc)
    attestation = (None if enrollment.public_key is None
                   else ReceiverAttestation(enrollment.public_key, args.require_attestation))

    @pc.on("datachannel")
    def on_channel(channel) -> None:
        if channel.label == CHANNEL_LABEL:
            if attestation is not None:  # bound to the sender's DTLS fingerprint in its offer
                attestation.attach(channel, pc.remoteDescription.sdp)
            return
        channel.on("message", lambda message: print("sender says:", message))

    @pc.on("track")
    def on_track(track) -> None:
        checked = VerifyTrack(track, enrollment, embedder, attestation=attestation)
        checked.on("event", lambda e: print(f"receiver sees: {e.time:6.2f} s {e.state.value} "
                                            f"{e.attestation} {e.reason}"))
        asyncio.ensure_future(consume(checked))

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState in ("closed", "failed") and attestation is not None:
            print("signed verdicts:", attestation.stats())

    await pc.setRemoteDescription(RTCSessionDescription(params["sdp"], params["type"]))
    await pc.setLocalDescription(await pc.createAnswer())
    return web.json_response({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type})


app = web.Application()
app.router.add_post("/offer", offer)
with loopback_only():  # both ends on this machine: offer only 127.0.0.1
    web.run_app(app, host="127.0.0.1", port=args.port)
