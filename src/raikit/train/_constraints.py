"""``fit_constrained``: train a model that keeps declared shape constraints, through the library
that enforces them (scikit-learn's histogram gradient boosting, LightGBM, InterpretML's EBM)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, ParameterError
from raikit._shape import ShapeConstraints, as_constraints
from raikit._validation import RANDOM_STATE, check_dataset, validate_params

__all__ = ["fit_constrained"]

_SUPPORTED = (
    "sklearn.ensemble.HistGradientBoostingClassifier / HistGradientBoostingRegressor "
    "(monotonic_cst), lightgbm.LGBMClassifier / LGBMRegressor (monotone_constraints), "
    "interpret.glassbox.ExplainableBoostingClassifier / ExplainableBoostingRegressor "
    "(monotonize), alone or as the last step of a scikit-learn Pipeline"
)
# transformers that map each input column to one output column by an increasing function, so a
# constraint declared on the input holds, with the same direction, on the output
_ONE_TO_ONE = {
    "StandardScaler",
    "MinMaxScaler",
    "MaxAbsScaler",
    "RobustScaler",
    "QuantileTransformer",
    "PowerTransformer",
    "SimpleImputer",
}


@validate_params(constraints=[ShapeConstraints, dict], random_state=RANDOM_STATE)
def fit_constrained(estimator, data, *, constraints, random_state=None):
    """Fit ``estimator`` on ``data`` so that it keeps the declared shape constraints.

    The mechanism follows the estimator: scikit-learn's histogram gradient boosting gets
    ``monotonic_cst``, LightGBM ``monotone_constraints``, InterpretML's Explainable Boosting
    Machine is fitted and then each constrained term is made monotone with ``monotonize``
    (pair terms that involve a constrained feature are removed, since ``monotonize`` only
    reaches main terms). Inside a Pipeline the declared input columns are mapped to the
    columns the preprocessing produces (passed through, scaled, imputed or quantile/power
    transformed); a one-hot or other many-column encoding cannot carry a monotone constraint.
    Features declared ``must_not_use`` are left out of the inputs: the fitted model does not
    take them (its ``feature_names_in_`` leaves them out, so :meth:`raikit.Dataset.for_model`
    and :func:`raikit.evaluate.verify_constraints` leave them out too). Check the result with
    :func:`raikit.evaluate.verify_constraints`.

    Parameters
    ----------
    estimator : unfitted estimator
        See Raises for the supported ones. It is cloned; the original is not changed.
    data : Dataset
        Training data with a target; its features are the inputs (minus ``must_not_use``).
    constraints : ShapeConstraints or dict
        Feature -> ``"increasing"``/``"decreasing"``/``"must_not_use"`` (see
        :class:`raikit.train.ShapeConstraints`).
    random_state : int, Generator or None, default None
        Seed set on the estimator's ``random_state`` when it has one.

    Returns
    -------
    estimator
        The fitted clone.

    Raises
    ------
    ParameterError
        An estimator no maintained library constrains; a ``concave``/``convex`` constraint (no
        installed library enforces curvature: :func:`raikit.evaluate.verify_constraints` still
        checks it); a monotone constraint on a categorical column or one the pipeline encodes
        into several columns.
    ColumnError
        A constrained feature that is not a column (monotone: not a feature) of ``data``.

    See Also
    --------
    raikit.train.ShapeConstraints : the declared shapes.
    raikit.evaluate.verify_constraints : checks the fitted model (or any model) against them.

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from raikit.train import fit_constrained
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    >>> model = fit_constrained(HistGradientBoostingClassifier(max_iter=20), ds,
    ...                         constraints={"duration_months": "decreasing",
    ...                                      "age": "must_not_use"}, random_state=0)
    >>> list(model.feature_names_in_)
    ['duration_months', 'credit_amount']
    >>> model.monotonic_cst
    [-1, 0]
    """
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    ds = check_dataset(data, need=["target"], caller="fit_constrained")
    spec = as_constraints(constraints)
    if spec.curvature:
        raise ParameterError(
            f"fit_constrained(): {sorted(spec.curvature)} are declared "
            f"{sorted(set(spec.curvature.values()))}; no installed library enforces concave or "
            "convex shapes while training. Train without them and check them with "
            "raikit.evaluate.verify_constraints(model, data, constraints=...)."
        )
    spec.check_columns(ds.frame.columns)
    X = ds.X.drop(columns=[f for f in spec.must_not_use if f in ds.X.columns])
    _check_monotone_inputs(spec, X)
    model = clone(estimator)
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    kind = _kind(final)
    if "random_state" in final.get_params() and random_state is not None:
        seed = random_state if isinstance(random_state, int | np.integer) else None
        if seed is None:
            seed = int(np.random.default_rng(random_state).integers(2**31 - 1))
        final.set_params(random_state=int(seed))
    if isinstance(model, Pipeline):
        cst = _pipeline_constraints(model[:-1], X, ds.y, spec)
    else:
        cst = [spec.monotone.get(str(c), 0) for c in X.columns]
    if kind == "hgb":
        final.set_params(monotonic_cst=cst)
    elif kind == "lightgbm":
        final.set_params(monotone_constraints=cst)
    model.fit(X, ds.y)
    if kind == "ebm":
        _monotonize(final, cst)
    return model


def _kind(final) -> str:
    cls = type(final)
    name, module = cls.__name__, cls.__module__
    if module.startswith("sklearn.") and name.startswith("HistGradientBoosting"):
        return "hgb"
    if module.startswith("lightgbm") and name.startswith("LGBM"):
        return "lightgbm"
    if module.startswith("interpret") and name.startswith("ExplainableBoosting"):
        return "ebm"
    raise ParameterError(
        f"fit_constrained(): no maintained library enforces shape constraints on {name}; "
        f"use one of {_SUPPORTED}. Any fitted model can still be checked with "
        "raikit.evaluate.verify_constraints."
    )


def _check_monotone_inputs(spec: ShapeConstraints, X: pd.DataFrame) -> None:
    missing = [f for f in spec.monotone if f not in X.columns]
    if missing:
        raise ColumnError(
            f"fit_constrained(): monotone feature(s) {missing} are not model inputs; inputs are "
            f"{[str(c) for c in X.columns]} (set them with Dataset(..., features=[...]))."
        )
    categorical = [
        f
        for f in spec.monotone
        if not pd.api.types.is_numeric_dtype(X[f].dtype) or pd.api.types.is_bool_dtype(X[f].dtype)
    ]
    if categorical:
        raise ParameterError(
            f"fit_constrained(): {categorical} are categorical; a categorical column has no "
            "order, so it cannot be monotone. Encode it as numbers (ordinal) or drop the "
            "constraint."
        )


def _pipeline_constraints(pre, X: pd.DataFrame, y, spec: ShapeConstraints) -> list[int]:
    """The constraint of each column the pipeline's preprocessing produces."""
    from sklearn.base import clone

    fitted = clone(pre).fit(X, y)
    width = np.asarray(fitted.transform(X.iloc[:2])).shape[1]
    positions = np.arange(X.shape[1])  # input column -> output column (-1: not one-to-one)
    for _, step in fitted.steps:
        positions = _step_positions(step, positions, X)
    cst = [0] * width
    for feature, sign in spec.monotone.items():
        out = positions[X.columns.get_loc(feature)]
        if out < 0:
            raise ParameterError(
                f"fit_constrained(): the pipeline encodes {feature!r} into other than one "
                "increasing column (e.g. one-hot), so a monotone constraint cannot be put on "
                f"it. Pass it through or scale it ({', '.join(sorted(_ONE_TO_ONE))})."
            )
        cst[out] = sign
    return cst


def _step_positions(step, positions: np.ndarray, X: pd.DataFrame) -> np.ndarray:
    from sklearn.compose import ColumnTransformer

    if step is None or step == "passthrough" or _one_to_one(step):
        return positions
    if not isinstance(step, ColumnTransformer):
        return np.full_like(positions, -1)
    out = np.full_like(positions, -1)
    current = np.full(X.shape[1], -1)  # current column position -> output position
    for name, transformer, _ in step.transformers_:
        if transformer == "drop" or name not in step.output_indices_:
            continue
        inputs = np.asarray(step._transformer_to_input_indices[name], dtype=int)
        outputs = step.output_indices_[name]
        if outputs.stop - outputs.start == len(inputs) and (
            transformer == "passthrough" or _one_to_one(transformer)
        ):
            current[inputs] = np.arange(outputs.start, outputs.stop)
    valid = positions >= 0
    out[valid] = current[positions[valid]]
    return out


def _one_to_one(transformer) -> bool:
    from sklearn.pipeline import Pipeline

    if isinstance(transformer, Pipeline):
        return all(_one_to_one(s) for _, s in transformer.steps)
    name = type(transformer).__name__
    if name == "SimpleImputer" and getattr(transformer, "add_indicator", False):
        return False
    return transformer == "passthrough" or (
        type(transformer).__module__.startswith("sklearn.") and name in _ONE_TO_ONE
    )


def _monotonize(ebm, cst: list[int]) -> None:
    """Make each constrained main term of a fitted EBM monotone; drop its pair terms."""
    constrained = {i for i, s in enumerate(cst) if s}
    pairs = [t for t, fs in enumerate(ebm.term_features_) if len(fs) > 1 and constrained & set(fs)]
    if pairs:
        ebm.remove_terms([ebm.term_names_[t] for t in pairs])
    for t, fs in enumerate(ebm.term_features_):
        if len(fs) == 1 and cst[fs[0]]:
            ebm.monotonize(t, increasing=cst[fs[0]] > 0)
