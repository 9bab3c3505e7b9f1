"""Loopback-only ICE: the documented switch for tests and for servers bound to 127.0.0.1.

aiortc's ICE agent (aioice) offers every host address of the machine except 127.0.0.1, and an
``RTCPeerConnection`` made without a configuration asks a public STUN server. A page served on
127.0.0.1 talks to a browser on the same machine, so neither is wanted: ``rtc_configuration()``
names no STUN or TURN server unless asked, and inside ``loopback_only()`` the only host candidate
offered is 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

LOOPBACK = "127.0.0.1"


def rtc_configuration(stun: str | None = None) -> RTCConfiguration:
    """No ICE servers by default; a ``stun`` URL (``stun:host:3478``) is an explicit opt-in."""
    return RTCConfiguration(iceServers=[RTCIceServer(urls=stun)] if stun else [])


def _loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return [LOOPBACK] if use_ipv4 else []


@contextmanager
def loopback_only() -> Iterator[None]:
    """While inside, aioice gathers 127.0.0.1 as its only host address (then it is restored)."""
    original = aioice.ice.get_host_addresses
    aioice.ice.get_host_addresses = _loopback_addresses
    try:
        yield
    finally:
        aioice.ice.get_host_addresses = original
