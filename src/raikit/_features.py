"""Which columns of a Dataset a fitted model takes as inputs: the one resolver every check uses.

Order of precedence:

1. the features the user named explicitly (``Dataset(..., features=[...])`` or ``--features``);
2. the model's own ``feature_names_in_`` (also found through a Pipeline's first step or a
   meta-estimator's fitted ``estimator_``);
3. every column that has no role (not the target, a sensitive attribute, the prediction or the
   score).

Sensitive attributes are model inputs when the model asks for them; a mismatch between what the
model needs and what the data offers is one :class:`~raikit._errors.ColumnError` that names the
missing and the extra columns.
"""

from __future__ import annotations

from raikit._errors import ColumnError

__all__ = ["input_steps", "model_feature_names", "resolve_features", "sensitive_input_finding"]


def model_feature_names(model) -> list[str] | None:
    """The column names a fitted model was trained on, or ``None`` when it does not know them.

    Looks at ``feature_names_in_``, then through a Pipeline's first step and a fitted
    meta-estimator's ``estimator_`` (Fairlearn post-processing, raikit's wrappers).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X = pd.DataFrame({"age": [20, 30, 40, 50], "sex": [0, 1, 0, 1]})
    >>> model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, [0, 0, 1, 1])
    >>> model_feature_names(model)
    ['age', 'sex']
    >>> model_feature_names(LogisticRegression().fit(X.to_numpy(), [0, 0, 1, 1])) is None
    True
    """
    for step in input_steps(model):
        try:
            names = getattr(step, "feature_names_in_", None)
        except Exception:  # a property that raises when the wrapped step has no names
            names = None
        if names is not None:
            return [str(c) for c in names]
    return None


def input_steps(model):
    """``model``, then each estimator inside it that receives the same raw table: a Pipeline's
    first step (``None`` and ``"passthrough"`` skipped) and a fitted meta-estimator's
    ``estimator_`` (Fairlearn post-processing, raikit's wrappers), outermost first.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X = pd.DataFrame({"age": [20, 30, 40, 50]})
    >>> model = make_pipeline("passthrough", StandardScaler(), LogisticRegression())
    >>> [type(step).__name__ for step in input_steps(model.fit(X, [0, 0, 1, 1]))]
    ['Pipeline', 'StandardScaler']
    """
    seen: set[int] = set()
    while model is not None and id(model) not in seen:
        seen.add(id(model))
        yield model
        steps = getattr(model, "steps", None)
        if isinstance(steps, list) and steps:
            first = [s for _, s in steps if s is not None and s != "passthrough"]
            model = first[0] if first else None
            continue
        model = getattr(model, "estimator_", None)


def _model_width(model) -> int | None:
    try:
        n = getattr(model, "n_features_in_", None)
    except Exception:
        return None
    return int(n) if isinstance(n, int) or hasattr(n, "__index__") else None


def _shown(columns) -> str:
    columns = list(columns)
    return str(columns[:12] + (["..."] if len(columns) > 12 else []))


def resolve_features(model, ds) -> list[str]:
    """The columns of ``ds`` to give ``model``, in the order the model was trained on.

    Parameters
    ----------
    model : fitted estimator
    ds : raikit.Dataset

    Returns
    -------
    list of str

    Raises
    ------
    ColumnError
        When the model needs columns the data does not have, when the features named explicitly
        differ from the model's inputs, or when a model input is the target, prediction or score.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit import Dataset
    >>> frame = pd.DataFrame({"age": [20, 30, 40, 50], "sex": [0, 1, 0, 1], "y": [0, 0, 1, 1]})
    >>> model = LogisticRegression().fit(frame[["sex", "age"]], frame["y"])
    >>> ds = Dataset(frame, target="y", sensitive="sex")
    >>> ds.feature_names, resolve_features(model, ds)
    (['age'], ['sex', 'age'])
    """
    wanted = model_feature_names(model)
    where = f"the data {ds.name!r}"
    if getattr(ds, "features_explicit", False):
        given = list(ds.feature_names)
        if wanted is None:
            width = _model_width(model)
            if width is not None and width != len(given):
                raise ColumnError(
                    f"The model takes {width} input column(s) but {len(given)} feature(s) were "
                    f"named: {_shown(given)}. Name exactly the model's inputs with "
                    f"features=[...]."
                )
            return given
        missing = [c for c in wanted if c not in given]
        extra = [c for c in given if c not in wanted]
        if missing or extra:
            raise ColumnError(
                f"The features named ({_shown(given)}) are not the model's inputs: missing "
                f"{_shown(missing)}, extra {_shown(extra)}. Leave features= out to use the model's "
                f"own inputs, or name exactly {_shown(wanted)}."
            )
        return wanted
    if wanted is None:
        given = list(ds.feature_names)
        width = _model_width(model)
        if width is not None and width != len(given):
            raise ColumnError(
                f"The model takes {width} input column(s) and does not record their names, but "
                f"{where} has {len(given)} column(s) without a role: {_shown(given)}. Name the "
                f"model's inputs with features=[...]."
            )
        return given
    roles = {
        ds.target: "target",
        ds.prediction: "prediction",
        ds.score: "score",
    }
    missing = [c for c in wanted if c not in ds.columns]
    if missing:
        used = set(wanted) | {c for c in roles if c is not None} | set(ds.sensitive_names)
        extra = [c for c in ds.columns if c not in used]
        raise ColumnError(
            f"The model needs input column(s) {_shown(missing)} that {where} does not have "
            f"(data columns the model does not use: {_shown(extra)}). Check that the data and "
            f"the model belong together, or rename the columns."
        )
    clash = [(c, roles[c]) for c in wanted if c in roles and c is not None]
    if clash:
        column, role = clash[0]
        raise ColumnError(
            f"The model takes column {column!r} as an input, but it was named as the {role} of "
            f"{where}; a model must not see its own {role}. Name another column as the {role}."
        )
    return wanted


def sensitive_input_finding(ds):
    """A warning :class:`~raikit._result.Finding` when sensitive attributes are model inputs.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> frame = pd.DataFrame({"age": [20, 30], "sex": ["F", "M"], "y": [0, 1]})
    >>> ds = Dataset(frame, target="y", sensitive="sex", features=["age", "sex"])
    >>> sensitive_input_finding(ds).title
    'The model uses sensitive attribute(s) sex as input'
    >>> sensitive_input_finding(ds.replace(features=["age"])) is None
    True
    """
    from raikit._result import Finding

    used = [c for c in ds.sensitive_names if c in ds.feature_names]
    if not used:
        return None
    names = ", ".join(used)
    return Finding(
        "warning",
        f"The model uses sensitive attribute(s) {names} as input",
        f"{names} {'is' if len(used) == 1 else 'are'} among the model's inputs, so its decisions "
        f"can depend on {names} directly (disparate treatment). Check that this is lawful and "
        f"intended; otherwise retrain without {'it' if len(used) == 1 else 'them'} and audit again.",
        slice=names,
    )
