"""Two aiortc peers in one process, connected directly: for tests, benchmarks and examples."""

from __future__ import annotations

from aiortc import RTCPeerConnection


async def negotiate(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    """Offer, answer and apply both; aiortc gathers all candidates before the SDP is ready."""
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)
