"""Janus WebRTC server: its WebSocket API, its VideoRoom over aiortc, and a loopback config."""

from .client import JanusError, JanusHandle, JanusSession
from .server import JanusConfig, JanusServer, write_config
from .videoroom import Publication, Publisher, Room, Subscription

__all__ = ["JanusConfig", "JanusError", "JanusHandle", "JanusServer", "JanusSession",
           "Publication", "Publisher", "Room", "Subscription", "write_config"]
