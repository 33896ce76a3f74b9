"""Errors and warnings raised by raikit.

Every error says what is wrong, names the offending column or value, and says how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ColumnError",
    "DataError",
    "FileFormatError",
    "ParameterError",
    "RaikitError",
    "RaikitWarning",
]


class RaikitError(Exception):
    """Base class of every error raised by raikit."""


class DataError(RaikitError, ValueError):
    """The data cannot be used as given (empty, wrong length, missing values, wrong labels)."""


class ColumnError(DataError, KeyError):
    """A column named by the caller does not exist or has the wrong role."""

    def __str__(self) -> str:  # KeyError would quote the message; keep it readable.
        return str(self.args[0]) if self.args else ""


class FileFormatError(RaikitError, ValueError):
    """A file cannot be read: it is missing, corrupt or of an unsupported format."""


class ParameterError(RaikitError, ValueError):
    """An argument has a value the function does not accept (an unknown choice, a bad range)."""


class RaikitWarning(UserWarning):
    """A result is usable but something about it deserves attention."""
