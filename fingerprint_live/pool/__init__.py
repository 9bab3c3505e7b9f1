"""A pool of verification workers for the avatar streams of a Janus VideoRoom.

:mod:`.checker` checks a worker's streams, :mod:`.actor` makes it a Ray actor,
:mod:`.coordinator` shares the room's streams among the workers and says what each stream
shows, :mod:`.endpoint` serves that over HTTP. Ray is needed by the last three (the ``scale``
extra); the checker alone is not.
"""
