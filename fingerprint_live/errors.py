"""Exceptions that carry a message a user can act on.

Every error raised on bad input is a subclass of :class:`FingerprintError`, so the CLI can print
the message alone and exit with status 2 instead of a traceback.
"""


class FingerprintError(Exception):
    """Base class: the message says what went wrong and what to do."""


class MediaError(FingerprintError):
    """A video or image cannot be read, is empty, or is too large."""


class NoFaceError(FingerprintError):
    """No usable face was found where one is needed."""


class EnrollmentError(FingerprintError):
    """An enrollment file is corrupt, tampered with, from another model or another version."""


class ModelError(FingerprintError):
    """A shipped or user-given model file is missing or does not match."""


class KeyFileError(FingerprintError):
    """A signing key file is missing, unreadable, too open, or its passphrase is wrong."""
