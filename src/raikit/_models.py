"""Saving and loading models safely: skops by default, plain pickle only when trusted.

A skops file is a zip of arrays plus ``schema.json``, a tree of nodes that each name a type and
the loader that rebuilds it. Some loaders *call* the named object with arguments from the file
(``ConstructorFromReduceNode``), so trusting a name by prefix (``sklearn.``) would let a file call
any function of scikit-learn's namespace, ``subprocess.check_output`` included. raikit trusts
exact type names from an allow-list, each only for the loaders that rebuild it in the models raikit
saves; every other name must be trusted explicitly by its exact name. Every loading path (the
API, every CLI ``--model``, the ledger's models and ``raikit reproduce``) goes through
:func:`load_skops_bytes`.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path

from raikit._errors import FileFormatError, RaikitError

__all__ = ["load_model", "save_model"]

_PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib"}

_OBJECT = frozenset({"ObjectNode"})  # built with cls.__new__ and its saved attributes: no call
# Types skops does not trust by default but that the models raikit saves, its tests and its demo
# contain (what ``skops.io.get_untrusted_types`` reports for them), each with the loaders allowed
# to rebuild it. All are classes, except one function *reference* (``FunctionNode`` returns the
# function without calling it): HistGradientBoosting with categorical features keeps
# ``functools.partial(check_array, ...)`` in its preprocessor.
TRUSTED_TYPES: dict[str, frozenset[str]] = {
    # raikit's estimators and their fitted parts
    "raikit.train._fairbatch.FairBatchClassifier": _OBJECT,
    "raikit.train._frtrain.FRTrainClassifier": _OBJECT,
    "raikit.train._mitigation.FairlearnClassifier": _OBJECT,
    "raikit.train._mitigation.ReweighingClassifier": _OBJECT,
    "raikit.train._mitigation.FairlearnRegressor": _OBJECT,
    "raikit.train._remap.RemapClassifier": _OBJECT,
    "raikit.train._compare._Baseline": _OBJECT,
    "raikit.train._compare._BaselineRegressor": _OBJECT,
    "raikit.train._common.TabularEncoder": _OBJECT,
    "raikit.privacy._dp_training.DPClassifier": _OBJECT,
    "raikit.review._selective.SelectiveClassifier": _OBJECT,
    # scikit-learn's fitted internals (trees, predictors, calibrators, optimisers, neighbours)
    "sklearn.tree._tree.Tree": frozenset({"TreeNode"}),
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": _OBJECT,
    "sklearn.calibration._CalibratedClassifier": _OBJECT,
    "sklearn.calibration._SigmoidCalibration": _OBJECT,
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer": _OBJECT,
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer": _OBJECT,
    "sklearn.neighbors._kd_tree.KDTree": _OBJECT,
    "sklearn.neighbors._ball_tree.BallTree": _OBJECT,
    "sklearn.metrics._dist_metrics.EuclideanDistance64": _OBJECT,
    # arrays
    "numpy.dtype": frozenset({"DTypeNode"}),
    # HistGradientBoosting's categorical preprocessing: a partial of a function reference
    "functools.partial": frozenset({"PartialNode"}),
    "sklearn.utils.validation.check_array": frozenset({"FunctionNode"}),
}


def save_model(model, path: str | os.PathLike) -> Path:
    """Save a fitted model with skops (a format that loads without running arbitrary code).

    Parameters
    ----------
    model : estimator
        A fitted scikit-learn (or raikit) estimator.
    path : str or path
        Where to write it; the name must end in ``.skops``.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    RaikitError
        When ``path`` does not end in ``.skops`` or skops cannot represent the model.

    See Also
    --------
    load_model : loads it back, trusting only known types.

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
    try:
        data = sio.dumps(model)
    except Exception as error:  # skops raises many types for objects it cannot represent
        raise RaikitError(
            f"skops cannot save this {type(model).__name__}: {type(error).__name__}: {error}. "
            f"Save a model made of scikit-learn or raikit estimators and numpy arrays."
        ) from error
    path.write_bytes(data)
    return path


def load_model(path: str | os.PathLike, *, trusted: bool | Sequence[str] = False):
    """Load a model saved by :func:`save_model` (skops) or, only when ``trusted=True``, a pickle.

    Parameters
    ----------
    path : str or path
        A ``.skops`` file (or ``.pkl`` / ``.joblib`` with ``trusted=True``).
    trusted : bool or list of str, default False
        By default only the types on raikit's allow-list load (scikit-learn's and raikit's
        estimators and their fitted parts, by exact name). A list adds those exact type names
        (``"mypackage.module.MyClassifier"``); ``True`` trusts everything in the file and allows
        pickle files. Only trust files you made: a trusted name may be called while loading.

    Returns
    -------
    estimator
        The fitted model.

    Raises
    ------
    RaikitError
        The file names a type that is not trusted (the message lists them), or is a pickle and
        ``trusted`` is not ``True``.
    FileFormatError
        The file is missing, corrupt or not a model file.

    See Also
    --------
    raikit.save_model : writes the file it reads.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> model = RandomForestClassifier(n_estimators=3, random_state=0).fit([[0], [1]], [0, 1])
    >>> path = save_model(model, pathlib.Path(tempfile.mkdtemp()) / "forest.skops")
    >>> load_model(path).predict([[1]]).tolist()
    [1]
    """
    _check_trusted(trusted)
    return _load_file(path, trusted=trusted, allow_pickle=trusted is True, cli=False)


def load_model_for_cli(
    path: str | os.PathLike, *, trust: Sequence[str] = (), trust_pickle: bool = False
):
    """:func:`load_model` for commands with ``--model``: ``--trust TYPE`` adds exact skops type
    names, ``--trust-pickle`` allows a pickle file; errors speak of those options."""
    trust = list(trust)
    _check_trusted(trust, cli=True)
    return _load_file(path, trusted=trust, allow_pickle=trust_pickle, cli=True)


def _check_trusted(trusted, *, cli: bool = False) -> None:
    if trusted is None or isinstance(trusted, bool):
        return
    option = "--trust" if cli else "trusted"
    if isinstance(trusted, str | bytes) or not isinstance(trusted, Sequence):
        raise RaikitError(
            f"{option} must be True, False or a list of exact type names, got {trusted!r}."
        )
    for name in trusted:
        if (
            not isinstance(name, str)
            or "." not in name.strip(".")
            or name.endswith(".")
            or ("*" in name)
        ):
            raise RaikitError(
                f"{option} takes exact type names such as 'mypackage.module.MyClassifier', got "
                f"{name!r}; prefixes and wildcards are not accepted."
            )


def _load_file(path, *, trusted, allow_pickle: bool, cli: bool):
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"Model file not found: {str(path)!r}.")
    if path.suffix in _PICKLE_SUFFIXES:
        if not allow_pickle:
            how = "--trust-pickle" if cli else "trusted=True"
            raise RaikitError(
                f"Refusing to load pickle file {str(path)!r}: unpickling runs arbitrary code. "
                f"Save the model with raikit.save_model (skops), or pass {how} if you made "
                f"this file yourself."
            )
        if path.suffix == ".joblib":
            import joblib

            return joblib.load(path)
        with open(path, "rb") as handle:
            return pickle.load(handle)  # the caller trusted this file explicitly
    if path.suffix != ".skops":
        how = "--trust-pickle" if cli else "trusted=True"
        raise FileFormatError(
            f"Unsupported model file {str(path)!r}: raikit loads .skops files (and pickle files "
            f"with {how})."
        )
    return load_skops_bytes(
        path.read_bytes(), trusted=trusted, source=f"Model file {str(path)!r}", cli=cli
    )


def _schema_loaders(schema) -> dict[str, set[str]]:
    """Every ``module.class`` named in a skops schema, with the loaders that would build it.

    Walks every dict and list of the schema (a superset of the nodes skops visits), so a name
    hidden anywhere in the file is seen.
    """
    found: dict[str, set[str]] = {}
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            loader, module, name = (node.get(k) for k in ("__loader__", "__module__", "__class__"))
            if isinstance(module, str) and isinstance(name, str):
                found.setdefault(f"{module}.{name}", set()).add(str(loader))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def load_skops_bytes(data: bytes, *, trusted: bool | Sequence[str] = (), source: str, cli=False):
    """Load skops bytes, trusting only the allow-list (:data:`TRUSTED_TYPES`) and ``trusted``.

    ``source`` names what is loaded in errors ("Model file 'm.skops'"); ``cli`` words the fix as
    ``--trust TYPE`` instead of ``trusted=[...]``. ``trusted=True`` trusts every type.
    """
    import skops.io as sio

    _check_trusted(trusted, cli=cli)
    try:
        untrusted = sio.get_untrusted_types(data=data)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except Exception as error:  # zip, JSON and skops errors of a damaged file
        raise FileFormatError(
            f"Cannot read {source[0].lower()}{source[1:]}: it is corrupt or not a skops file "
            f"({type(error).__name__}: {error})."
        ) from error
    if trusted is True:
        allowed = list(untrusted)
    else:
        extra = set(trusted or ())
        loaders = _schema_loaders(schema)
        allowed, refused = [], []
        for name in untrusted:
            by_default = name in TRUSTED_TYPES and loaders.get(name, {"?"}) <= TRUSTED_TYPES[name]
            (allowed if name in extra or by_default else refused).append(name)
        if refused:
            how = (
                f"add {' '.join('--trust ' + name for name in refused)} to the command"
                if cli
                else f"pass trusted={refused!r}"
            )
            raise RaikitError(
                f"{source} contains types raikit does not trust by default: {refused}. Loading "
                f"them could run code from the file. If you made this file (or trust its author) "
                f"{how}; each name is trusted exactly."
            )
    try:
        return sio.loads(data, trusted=allowed)
    except Exception as error:  # a file that passed the audit but does not rebuild
        raise FileFormatError(
            f"Cannot load {source[0].lower()}{source[1:]}: {type(error).__name__}: {error}. It "
            f"may come from another version of scikit-learn or raikit."
        ) from error
