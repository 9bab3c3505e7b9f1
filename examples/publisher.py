"""Publish the default avatar of a video (or a real clip) into a Janus VideoRoom, as a caller.

The clip plays as the camera; the default avatar, given the driver's enrolled neutral face when
``--enrollment`` is named, is what goes out. A pool (``fingerprint-live worker``) checks it
against the enrollment named like ``--display``. Runs until the clip ends (``--loops``; 0
loops forever) or Ctrl-C:

    python examples/publisher.py --display alice --video alice_talking.mp4 --enrollment alice.fpe
"""

import argparse
import asyncio

from fingerprint_live.avatar.default_avatar import DefaultAvatar
from fingerprint_live.avatar.portrait import load_portrait
from fingerprint_live.enrollment import Enrollment
from fingerprint_live.guard import GuardConfig
from fingerprint_live.janus import JanusSession, Publication
from fingerprint_live.pipeline import Pipeline
from fingerprint_live.webrtc import AvatarTrack, VideoFileTrack

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--janus", default="ws://127.0.0.1:8188/", help="Janus's WebSocket API")
parser.add_argument("--room", type=int, default=1234)
parser.add_argument("--display", required=True, help="the name the pool maps to NAME.fpe")
parser.add_argument("--video", required=True, help="the driver's clip, played as the camera")
parser.add_argument("--enrollment", help="the driver's enrollment, for the avatar's neutral")
parser.add_argument("--loops", type=int, default=0, help="plays of the clip (0: forever)")
args = parser.parse_args()


async def main() -> None:
    avatar = DefaultAvatar(load_portrait())
    if args.enrollment:
        avatar.set_neutral(Enrollment.load(args.enrollment).neutral)
    camera = VideoFileTrack([args.video], loops=args.loops)
    ended = asyncio.Event()
    camera.on("ended", ended.set)
    track = AvatarTrack(camera, Pipeline(avatar, None, GuardConfig(policy="off")))
    session = await JanusSession.connect(args.janus)
    publication = await Publication.start(session, args.room, args.display, track)
    print(f"publishing {args.display!r} as feed {publication.feed} in room {args.room}")
    try:
        await ended.wait()
    finally:
        await publication.close()
        await session.close()


asyncio.run(main())
