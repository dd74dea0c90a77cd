"""Errors the user can cause. The CLI prints them as one line and exits with status 2."""


class HandwritingError(Exception):
    """Base class for every error caused by input (text, files, options), not by a bug."""


class UnknownCharacterError(HandwritingError, ValueError):
    """Text holds characters outside the alphabet; the message names each one and its position."""


class DatasetError(HandwritingError):
    """A dataset file is missing, corrupt, of an unknown version or inconsistent."""
