"""Saving and loading models safely: skops by default, plain pickle only when trusted."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from raikit._errors import FileFormatError, RaikitError

__all__ = ["load_model", "save_model"]

_PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib"}
# scikit-learn's own classes (e.g. the tree predictors of HistGradientBoosting) are not on skops'
# default list, but loading them runs no code beyond scikit-learn's; other types must be trusted.
_TRUSTED_PREFIXES = ("sklearn.", "raikit.")


def save_model(model, path: str | os.PathLike) -> Path:
    """Save a fitted model with skops (a format that loads without running arbitrary code).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.skops"
    >>> _ = save_model(model, path)
    >>> load_model(path).predict([[0.9]]).tolist()
    [1]
    """
    import skops.io as sio

    path = Path(path)
    if path.suffix != ".skops":
        raise RaikitError(
            f"Models are saved as .skops files; got {str(path)!r}. Use a .skops path."
        )
    sio.dump(model, path)
    return path


def load_model(path: str | os.PathLike, *, trusted: bool | list[str] = False):
    """Load a model saved by :func:`save_model` (skops) or, only when ``trusted=True``, a pickle.

    Parameters
    ----------
    path : str or path
        A ``.skops`` file (or ``.pkl`` / ``.joblib`` with ``trusted=True``).
    trusted : bool or list of str, default False
        skops refuses types it does not know to be safe. ``True`` trusts every type in the file
        (and allows pickle files); a list trusts just those type names. Only trust files you made.
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"Model file not found: {str(path)!r}.")
    if path.suffix in _PICKLE_SUFFIXES:
        if trusted is not True:
            raise RaikitError(
                f"Refusing to load pickle file {str(path)!r}: unpickling runs arbitrary code. "
                f"Save the model with raikit.save_model (skops), or pass trusted=True "
                f"(--trust-pickle) if you made this file yourself."
            )
        if path.suffix == ".joblib":
            import joblib

            return joblib.load(path)
        with open(path, "rb") as handle:
            return pickle.load(handle)
    if path.suffix != ".skops":
        raise FileFormatError(
            f"Unsupported model file {str(path)!r}: raikit loads .skops files (and pickle files "
            f"with trusted=True)."
        )
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as error:
        raise FileFormatError(
            f"Cannot read model file {str(path)!r}: it is corrupt ({error})."
        ) from error
    if trusted is True:
        allowed = untrusted
    else:
        allowed = [t for t in untrusted if t in (trusted or []) or t.startswith(_TRUSTED_PREFIXES)]
        refused = [t for t in untrusted if t not in allowed]
        if refused:
            raise RaikitError(
                f"Model file {str(path)!r} contains types skops does not trust by default: "
                f"{refused}. If you made this file, pass trusted={refused!r} (on the command line: "
                f"{' '.join('--trust ' + t for t in refused)})."
            )
    return sio.load(path, trusted=allowed)
