"""WebRTC building blocks for aiortc services: the guarded avatar track and loopback ICE."""

from .file_track import VideoFileTrack
from .ice import loopback_only, rtc_configuration
from .loopback import negotiate
from .tracks import AvatarTrack, VerifyTrack

__all__ = ["AvatarTrack", "VerifyTrack", "VideoFileTrack", "loopback_only", "negotiate",
           "rtc_configuration"]
