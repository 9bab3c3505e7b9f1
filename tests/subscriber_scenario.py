"""A pool worker's subscription to a VideoRoom feed, run by tests/test_janus.py inside an
isolated network namespace.

Janus starts, a clip is published, and ``Subscription`` subscribes to it as a pool worker does.
Reported: the header extensions its answer agreed to, and the size of the first frame it
received.

    python tests/subscriber_scenario.py SETUP.json OUT.json
"""

from __future__ import annotations

import asyncio

from pool_scenario import run

from fingerprint_live.janus import JanusConfig, JanusSession, Publication, Subscription
from fingerprint_live.webrtc import VideoFileTrack

JANUS_PORT, ROOM = 18190, 4323


async def call(setup: dict, janus: JanusConfig) -> dict:
    session = await JanusSession.connect(janus.url)
    publication = await Publication.start(session, ROOM, "clip",
                                          VideoFileTrack([setup["clip"]], loops=0))
    subscription = await Subscription.start(session, ROOM, publication.feed)
    try:
        frame = await asyncio.wait_for(subscription.track.recv(), 10)
        answer = subscription.pc.localDescription.sdp.splitlines()
        return {"answer_extmaps": [line for line in answer if line.startswith("a=extmap:")],
                "frame": [frame.width, frame.height]}
    finally:
        await subscription.close()
        await publication.close()
        await session.close()


if __name__ == "__main__":
    run(call, JANUS_PORT, ROOM)
