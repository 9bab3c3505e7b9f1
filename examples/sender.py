"""Minimal sender: camera (here a video file) -> guarded avatar -> a receiver over WebRTC.

``AvatarTrack`` wraps any aiortc video track: one landmark pass per frame drives the avatar and
the verifier, which weighs the driver's motion and face (described in a process of its own); a
mismatch blocks the avatar, and state changes go to the peer on a data channel. Signalling is
aiortc's: POST the offer as JSON ``{"sdp", "type"}``, get the answer back the same way.

    python examples/sender.py --enrollment me.fpe --input me_talking.mp4
"""

import argparse
import asyncio

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription

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
    pc.addTrack(AvatarTrack(camera, pipeline, channel))

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
