"""Publish the default avatar of a video (or a real clip) into a Janus VideoRoom, as a caller.

The clip plays as the camera; the default avatar, given the driver's enrolled neutral face when
``--enrollment`` is named, is what goes out. A pool (``fingerprint-live worker``) checks it
against the enrollment named like ``--display``. With ``--key`` (and your full enrollment) the
camera side runs too, face and motion, and its state is signed onto the VideoRoom's data
channel, bound to the room, this feed and the time (DTLS ends at Janus, so no certificate can
bind there); a pool whose enrollment carries your public key shows the stream as attested.
Runs until the clip ends (``--loops``; 0 loops forever) or Ctrl-C:

    python examples/publisher.py --display alice --video alice_talking.mp4 --enrollment alice.fpe
    python examples/publisher.py --display alice --video alice.mp4 --enrollment alice.fpe \\
        --key alice.key
"""

import argparse
import asyncio
import os

from fingerprint_live.attest import load_key
from fingerprint_live.attest.channel import CHANNEL_LABEL, Attestor, janus_binding
from fingerprint_live.attest.keys import PASSPHRASE_ENV
from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.embedder import Embedder
from fingerprint_live.enrollment import Enrollment
from fingerprint_live.face_descriptor import load_info
from fingerprint_live.guard import GuardConfig
from fingerprint_live.janus import JanusSession, Publication
from fingerprint_live.pipeline import Pipeline
from fingerprint_live.verifier import StreamingVerifier
from fingerprint_live.webrtc import AvatarTrack, VideoFileTrack

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--janus", default="ws://127.0.0.1:8188/", help="Janus's WebSocket API")
parser.add_argument("--room", type=int, default=1234)
parser.add_argument("--display", required=True, help="the name the pool maps to NAME.fpe")
parser.add_argument("--video", required=True, help="the driver's clip, played as the camera")
parser.add_argument("--enrollment", help="the driver's enrollment, for the avatar's neutral")
parser.add_argument("--key", help="your signing key: run the camera side and sign its verdicts "
                    f"(needs your full --enrollment; passphrase, if any, in {PASSPHRASE_ENV})")
parser.add_argument("--loops", type=int, default=0, help="plays of the clip (0: forever)")
args = parser.parse_args()
if args.key and not args.enrollment:
    parser.error("--key needs your full --enrollment: the camera side checks you against it")


async def main() -> None:
    avatar = DefaultAvatar(load_portrait())
    verifier = key = None
    if args.enrollment:
        enrollment = Enrollment.load(args.enrollment)
        avatar.set_neutral(enrollment.neutral)
        if args.key:
            key = load_key(args.key, os.environ.get(PASSPHRASE_ENV, "").encode() or None)
            embedder, faces = Embedder(), load_info()
            enrollment.check_models(embedder.info.model_id, faces.model_id)
            verifier = StreamingVerifier(enrollment, embedder, appearance=faces)
    camera = VideoFileTrack([args.video], loops=args.loops)
    ended = asyncio.Event()
    camera.on("ended", ended.set)
    guard = GuardConfig() if verifier is not None else GuardConfig(policy="off")
    track = AvatarTrack(camera, Pipeline(avatar, verifier, guard))
    session = await JanusSession.connect(args.janus)
    publication = await Publication.start(session, args.room, args.display, track,
                                          channel_label=CHANNEL_LABEL if key else None)
    if key is not None:  # the feed id is known once Janus has it: the binding needs it
        track.attestor = Attestor(key, publication.channel, verifier.signals,
                                  binding=janus_binding(args.room, publication.feed))
        print(f"signing verdicts under key id {key.key_id}", flush=True)
    print(f"publishing {args.display!r} as feed {publication.feed} in room {args.room}",
          flush=True)
    try:
        await ended.wait()
    finally:
        await publication.close()
        await session.close()


asyncio.run(main())
