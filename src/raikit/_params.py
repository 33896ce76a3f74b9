"""Hyper-parameters as readable text: what model cards and reports show of an estimator.

``repr`` of an arbitrary object is often ``<module.Class object at 0x7f...>`` (a memory address,
different on every run, saying nothing). Here estimators are written as their class name with the
parameters that differ from the defaults (as scikit-learn prints them), functions by qualified
name, arrays by shape, and any other object by its class.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import numpy as np

__all__ = ["describe", "plain_params", "without_addresses"]

_ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]+")  # a memory address: says nothing, changes per run


def _changed(value) -> dict:
    """Parameters of an estimator that differ from its constructor's defaults."""
    params = value.get_params(deep=False)
    try:
        defaults = {
            k: p.default for k, p in inspect.signature(type(value).__init__).parameters.items()
        }
    except (TypeError, ValueError):
        return params
    changed = {}
    for key, given in params.items():
        default = defaults.get(key, inspect.Parameter.empty)
        try:
            same = default is given or (
                type(default) is type(given) and bool(np.all(default == given))
            )
        except Exception:  # a comparison that cannot be made means "changed"
            same = False
        if not same:
            changed[key] = given
    return changed


def describe(value: Any) -> str:
    """``value`` as short, stable, readable text (no memory addresses).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer, StandardScaler
    >>> from sklearn.linear_model import LogisticRegression
    >>> import numpy as np
    >>> describe(make_pipeline(StandardScaler(), LogisticRegression(C=0.5)))[:60]
    "Pipeline(steps=[('standardscaler', StandardScaler()), ('logi"
    >>> describe(LogisticRegression(C=0.5, max_iter=500))
    'LogisticRegression(C=0.5, max_iter=500)'
    >>> describe(FunctionTransformer(np.log1p))
    'FunctionTransformer(func=numpy.log1p)'
    >>> class Scorer:
    ...     pass
    >>> describe(Scorer())
    'raikit._params.Scorer'
    >>> describe(np.random.RandomState(0)), describe(np.zeros((100, 3)))
    ('numpy.random.mtrand.RandomState', 'array(shape=(100, 3), dtype=float64)')
    """
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return repr(value)
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, list | tuple):
        inner = ", ".join(describe(v) for v in value)
        return (
            f"[{inner}]"
            if isinstance(value, list)
            else f"({inner}{',' if len(value) == 1 else ''})"
        )
    if isinstance(value, dict):
        return "{" + ", ".join(f"{describe(k)}: {describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if hasattr(value, "get_params") and callable(value.get_params):
        try:
            changed = _changed(value)
        except Exception:  # a broken get_params: fall back to the class name
            changed = {}
        inner = ", ".join(f"{k}={describe(v)}" for k, v in changed.items())
        return f"{type(value).__name__}({inner})"
    if isinstance(value, np.ndarray):
        if value.size <= 10:
            return repr(value.tolist())
        return f"array(shape={value.shape}, dtype={value.dtype})"
    if callable(value) and hasattr(value, "__name__"):
        module = getattr(value, "__module__", None) or type(value).__module__
        name = getattr(value, "__qualname__", value.__name__)
        return f"{module}.{name}" if module not in (None, "builtins") else name
    text = repr(value)
    if _ADDRESS.search(text) or len(text) > 200:
        return f"{type(value).__module__}.{type(value).__qualname__}"
    return text


def plain_params(model) -> dict:
    """A model's ``get_params(deep=False)`` as JSON values: plain numbers and strings kept, the
    rest as :func:`describe` text.

    Examples
    --------
    >>> from sklearn.ensemble import BaggingClassifier
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> params = plain_params(BaggingClassifier(DecisionTreeClassifier(max_depth=3)))
    >>> params["estimator"], params["n_estimators"]
    ('DecisionTreeClassifier(max_depth=3)', 10)
    >>> plain_params(object())
    {}
    """
    if not hasattr(model, "get_params"):
        return {}
    return {
        k: v if isinstance(v, str | int | float | bool | type(None)) else describe(v)
        for k, v in model.get_params(deep=False).items()
    }


def without_addresses(text: str) -> str:
    """Replace ``<module.Class object at 0x...>`` by ``module.Class`` in text recorded earlier.

    Examples
    --------
    >>> without_addresses("scorer=<my.Scorer object at 0x7f3a2c1e8d90>, f=<function f at 0x1a>")
    'scorer=my.Scorer, f=f'
    """
    return re.sub(
        r"<(?:function |bound method )?([\w.<>]+?)(?: object)? at 0x[0-9a-fA-F]+>", r"\1", text
    )
