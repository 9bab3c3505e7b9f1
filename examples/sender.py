"""Minimal sender: camera (here a video file) -> guarded avatar -> a receiver over WebRTC.

``AvatarTrack`` wraps any aiortc video track: one landmark pass per frame drives the avatar and
the verifier, which weighs the driver's motion and face (described in a process of its own); a
mismatch blocks the avatar, and state changes go to the peer on a data channel. With your key
(``--key``, made by ``fingerprint-live keys`` or ``enroll``), an ``Attestor`` signs the camera
side's state onto the attest channel, bound to this call's DTLS certificate and the receiver's
nonce: the receiver can then rely on the camera-side check. Signalling is aiortc's: POST the
offer as JSON ``{"sdp", "type"}``, get the answer back the same way.

    python examples/sender.py --enrollment me.fpe --key me.key --input me_talking.mp4
"""

import argparse
import asyncio
import os

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription

from fingerprint_live.attest import load_key
from fingerprint_live.attest.channel import CHANNEL_LABEL, Attestor
from fingerprint_live.attest.keys import PASSPHRASE_ENV
from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment
from fingerprint_live.face_descriptor import load_info
from fingerprint_live.pipeline import Pipeline
from fingerprint_live.verifier import StreamingVerifier
from fingerprint_live.webrtc import AvatarTrack, VideoFileTrack, loopback_only, rtc_configuration

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--enrollment", required=True, help="your enrollment (.fpe)")
parser.add_argument("--input", required=True, help="video played as the camera")
parser.add_argument("--key", help="your signing key: sign the verdicts (its passphrase, if any, "
                    f"in {PASSPHRASE_ENV})")
parser.add_argument("--receiver", default="http://127.0.0.1:8081/offer")
args = parser.parse_args()


async def main() -> None:
    embedder, faces = Embedder(), load_info()
    enrollment = Enrollment.load(args.enrollment, embedder.info.model_id, faces.model_id)
    verifier = StreamingVerifier(enrollment, embedder, appearance=faces)
    pipeline = Pipeline(DefaultAvatar(load_portrait()), verifier,
                        on_event=lambda e: print(f"sender: {e.time:6.2f} s {e.state.value} "
                                                 f"-> others see: {e.action.value} {e.reason}"))
    camera = VideoFileTrack([args.input])  # or aiortc.contrib.media.MediaPlayer(...).video
    pc = RTCPeerConnection(rtc_configuration())
    channel = pc.createDataChannel("events")
    attestor = None
    if args.key:
        key = load_key(args.key, os.environ.get(PASSPHRASE_ENV, "").encode() or None)
        print(f"sender: signing verdicts under key id {key.key_id}")
        attestor = Attestor(key, pc.createDataChannel(CHANNEL_LABEL), verifier.signals)
    pc.addTrack(AvatarTrack(camera, pipeline, channel, attestor))

    await pc.setLocalDescription(await pc.createOffer())
    async with aiohttp.ClientSession() as http:
        offer = {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}
        async with http.post(args.receiver, json=offer) as response:
            answer = await response.json()
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))

    ended = asyncio.Event()
    camera.on("ended", ended.set)
    await ended.wait()
    await asyncio.sleep(1)  # let the last frames and events through
    await pc.close()


with loopback_only():  # both ends on this machine: offer only 127.0.0.1
    asyncio.run(main())
