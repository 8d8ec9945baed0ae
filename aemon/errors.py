"""Exceptions that reach the user as a single, actionable line."""

from __future__ import annotations


class AemonError(Exception):
    """An error caused by input or configuration, not by a bug.

    The message is one line that says what is wrong and what to do about it. The CLI prints
    it as ``aemon: error: <message>`` and exits with status 2, without a traceback.
    """


class ConfigError(AemonError):
    """An impossible or inconsistent configuration (shapes, rates, options)."""


class SourceError(AemonError):
    """An acquisition source that cannot be opened or that delivers unusable data."""


class FileFormatError(AemonError):
    """A file that is missing, corrupt, or not in the expected format."""


class RecordingError(AemonError):
    """The recorder could not go on writing (disk full, I/O error); the file was closed early.

    The message names the file, the first sample that was not recorded and what to do.
    """
