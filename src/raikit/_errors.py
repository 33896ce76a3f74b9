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
    """Base class of every error raised by raikit.

    See Also
    --------
    DataError, ColumnError, FileFormatError, ParameterError : the kinds of error raikit raises.

    Examples
    --------
    Catch every error raikit raises in one clause:

    >>> import raikit
    >>> try:
    ...     raikit.Dataset([1, 2, 3], target="y", sensitive=[])
    ... except raikit.RaikitError as error:
    ...     print(type(error).__name__)
    ParameterError
    """


class DataError(RaikitError, ValueError):
    """The data cannot be used as given (empty, wrong length, missing values, wrong labels).

    See Also
    --------
    ColumnError : a column that does not exist or has the wrong role.

    Examples
    --------
    It is also a ``ValueError``, so code that catches those keeps working:

    >>> import pandas as pd
    >>> import raikit
    >>> try:
    ...     raikit.Dataset(pd.DataFrame({"y": []}), target="y", sensitive=[])
    ... except ValueError as error:
    ...     print(isinstance(error, raikit.DataError))
    True
    """


class ColumnError(DataError, KeyError):
    """A column named by the caller does not exist or has the wrong role.

    See Also
    --------
    DataError : its parent, for data that cannot be used as given.

    Examples
    --------
    >>> import pandas as pd
    >>> import raikit
    >>> frame = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1], "sex": ["F", "M"]})
    >>> try:
    ...     raikit.Dataset(frame, target="label", sensitive="sex")
    ... except raikit.ColumnError as error:
    ...     print(isinstance(error, KeyError), "label" in str(error))
    True True
    """

    def __str__(self) -> str:  # KeyError would quote the message; keep it readable.
        return str(self.args[0]) if self.args else ""


class FileFormatError(RaikitError, ValueError):
    """A file cannot be read: it is missing, corrupt or of an unsupported format.

    See Also
    --------
    raikit.load_model : refuses files it cannot trust with this error.

    Examples
    --------
    >>> import os, tempfile
    >>> import raikit
    >>> path = os.path.join(tempfile.mkdtemp(), "model.bin")
    >>> _ = open(path, "wb").write(b"not a model")
    >>> try:
    ...     raikit.load_model(path)
    ... except raikit.RaikitError as error:
    ...     print(type(error).__name__)
    FileFormatError
    """


class ParameterError(RaikitError, ValueError):
    """An argument has a value the function does not accept (an unknown choice, a bad range).

    See Also
    --------
    RaikitError : the base class of every raikit error.

    Examples
    --------
    >>> import raikit
    >>> from raikit.metrics import group_metrics
    >>> try:
    ...     group_metrics([1, 0], [1, 0], sensitive_features=["a", "b"], ci=95)
    ... except raikit.ParameterError as error:
    ...     print(isinstance(error, ValueError))
    True
    """


class RaikitWarning(UserWarning):
    """A result is usable but something about it deserves attention.

    See Also
    --------
    RaikitError : what raikit raises when a result cannot be computed at all.

    Examples
    --------
    Turn raikit's warnings into errors in a strict pipeline:

    >>> import warnings
    >>> import raikit
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", raikit.RaikitWarning)
    ...     issubclass(raikit.RaikitWarning, UserWarning)
    True
    """
