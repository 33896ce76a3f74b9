"""One validation path for the public boundary: parameters, datasets and random states.

Checks declare what each parameter accepts once, next to the signature, with
:func:`validate_params` (in the manner of scikit-learn's ``validate_params``); the body then trusts
its inputs. A refused value raises :class:`~raikit.ParameterError` naming the function, the keyword,
what it accepts and what it got. :func:`check_dataset` is the one place that says "this check needs
a Dataset with a target". :func:`rng_from` is the one random-state helper.

This module sits at the bottom of the package: it imports nothing from raikit but the errors.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from raikit._errors import ColumnError, ParameterError

__all__ = [
    "ALPHA",
    "CALLABLE",
    "CI",
    "RANDOM_STATE",
    "Interval",
    "Options",
    "check_dataset",
    "rng_from",
    "validate_params",
]


@dataclass(frozen=True)
class Interval:
    """A number of one kind (``int`` or ``float``) in a range; ``None`` bounds are open-ended.

    ``closed`` is ``"both"``, ``"left"``, ``"right"`` or ``"neither"``. Booleans are not numbers
    here, and neither is NaN.

    Examples
    --------
    >>> Interval(float, 0, 1, closed="neither").accepts(0.95)
    True
    >>> Interval(int, 1, None).accepts(0), Interval(int, 1, None).accepts(True)
    (False, False)
    >>> Interval(float, 0, 1, closed="neither").describe()
    'a number in (0, 1)'
    """

    kind: type
    low: float | None
    high: float | None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool | np.bool_):
            return False
        wanted = numbers.Integral if self.kind is int else numbers.Real
        if not isinstance(value, wanted) or (self.kind is float and math.isnan(value)):
            return False
        low_ok = self.low is None or (
            value >= self.low if self.closed in ("both", "left") else value > self.low
        )
        high_ok = self.high is None or (
            value <= self.high if self.closed in ("both", "right") else value < self.high
        )
        return bool(low_ok and high_ok)

    def describe(self) -> str:
        noun = "an integer" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            left = "[" if self.closed in ("both", "left") else "("
            right = "]" if self.closed in ("both", "right") else ")"
            return f"{noun} in {left}{self.low:g}, {self.high:g}{right}"
        if self.low is not None:
            return f"{noun} {'>=' if self.closed in ('both', 'left') else '>'} {self.low:g}"
        if self.high is not None:
            return f"{noun} {'<=' if self.closed in ('both', 'right') else '<'} {self.high:g}"
        return noun


@dataclass(frozen=True, init=False)
class Options:
    """One of a fixed set of values (strings compared exactly).

    Examples
    --------
    >>> Options("auto", "tree").accepts("tree"), Options("auto", "tree").accepts("Tree")
    (True, False)
    >>> Options("auto", "tree").describe()
    "one of 'auto', 'tree'"
    """

    values: tuple

    def __init__(self, *values: Any) -> None:
        object.__setattr__(self, "values", tuple(values))

    def accepts(self, value: Any) -> bool:
        return any(type(value) is type(v) and value == v for v in self.values) or any(
            isinstance(value, numbers.Number)
            and not isinstance(value, bool)
            and isinstance(v, numbers.Number)
            and value == v
            for v in self.values
        )

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


class _RandomState:
    """``None``, an integer seed >= 0, a numpy ``Generator`` or a legacy ``RandomState``."""

    def accepts(self, value: Any) -> bool:
        if value is None or isinstance(value, np.random.Generator | np.random.RandomState):
            return True
        return Interval(int, 0, None).accepts(value)

    def describe(self) -> str:
        return "None, an integer seed >= 0 or a numpy Generator"


class _Callable:
    """Anything that can be called (a function, a lambda, an object with ``__call__``)."""

    def accepts(self, value: Any) -> bool:
        return callable(value)

    def describe(self) -> str:
        return "a callable"


CALLABLE = _Callable()
"""The constraint of callback parameters (``progress=``, ``acquire=``)."""

RANDOM_STATE = _RandomState()
"""The constraint every ``random_state=`` parameter uses."""

CI = Interval(float, 0, 1, closed="neither")
"""The constraint every ``ci=`` (confidence level) parameter uses."""

ALPHA = Interval(float, 0, 1, closed="neither")
"""The constraint every ``alpha=`` (significance level) parameter uses."""


def _accepts(constraint: Any, value: Any) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, type):
        return isinstance(value, constraint)
    if callable(getattr(constraint, "accepts", None)):
        return constraint.accepts(value)
    if callable(constraint):  # a predicate
        return bool(constraint(value))
    raise TypeError(f"Unknown constraint {constraint!r}.")


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if isinstance(constraint, type):
        return f"a {constraint.__name__}"
    if callable(getattr(constraint, "describe", None)):
        return constraint.describe()
    doc = getattr(constraint, "__doc__", None)
    return " ".join(doc.split()) if doc else getattr(constraint, "__name__", repr(constraint))


def _alternatives(spec: Any) -> tuple:
    return tuple(spec) if isinstance(spec, list | tuple) else (spec,)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validate_params(**constraints: Any) -> Callable:
    """Declare what each parameter of a public function accepts; refuse anything else.

    Each keyword names a parameter; its value is a constraint or a list of alternatives: a type
    (``isinstance``), ``None``, an :class:`Interval`, :class:`Options`, :data:`RANDOM_STATE`, or a
    predicate with a docstring saying what it accepts. A refused value raises
    :class:`~raikit.ParameterError` before the function runs.

    Examples
    --------
    >>> @validate_params(ci=CI, method=Options("auto", "tree"), n_boot=Interval(int, 1, None))
    ... def check(data, *, ci=0.95, method="auto", n_boot=1000):
    ...     return ci, method, n_boot
    >>> check(None, ci=0.9)
    (0.9, 'auto', 1000)
    >>> check(None, method="forest")
    Traceback (most recent call last):
    ...
    raikit._errors.ParameterError: check(): method must be one of 'auto', 'tree'; got 'forest'.
    """

    def decorate(func: Callable) -> Callable:
        signature = inspect.signature(func)
        unknown = set(constraints) - set(signature.parameters)
        if unknown:  # a typo in the declaration is the programmer's error, found at import
            raise TypeError(f"{func.__qualname__} has no parameter(s) {sorted(unknown)}.")

        # a method is named with its class (Dataset.sample, Dataset for __init__), a function by its name
        caller = func.__qualname__ if "<" not in func.__qualname__ else func.__name__
        caller = caller.removesuffix(".__init__")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            for name, spec in constraints.items():
                if name not in bound.arguments:
                    continue  # the default is trusted
                value = bound.arguments[name]
                options = _alternatives(spec)
                if not any(_accepts(c, value) for c in options):
                    wanted = " or ".join(_describe(c) for c in options)
                    raise ParameterError(
                        f"{caller}(): {name} must be {wanted}; got {_shown(value)}."
                    )
            return func(*args, **kwargs)

        wrapper.__raikit_constraints__ = dict(constraints)
        return wrapper

    return decorate


_ROLE_HINT = {
    "target": "Dataset(frame, target='label', sensitive=[...])",
    "prediction": "Dataset(frame, ..., prediction='predicted'), or pass a fitted model",
    "score": "Dataset(frame, ..., score='probability'), or pass a model with predict_proba",
}


def check_dataset(data: Any, *, need: Iterable[str] = (), name: str = "data", caller: str = ""):
    """``data`` as a raikit Dataset that has the roles ``need`` names; a clear error otherwise.

    ``need`` holds roles among ``"target"``, ``"prediction"`` and ``"score"``. ``name`` is the
    keyword the caller used (``"data"``, ``"train"``, ``"reference"``...), ``caller`` the public
    function's name, so the message speaks the user's words. A value that is not a Dataset is a
    ParameterError (a wrong argument); a Dataset without a needed role is a ColumnError.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit import Dataset
    >>> ds = Dataset(pd.DataFrame({"x": [1, 2], "s": ["a", "b"]}), target=None, sensitive="s")
    >>> check_dataset(ds) is ds
    True
    >>> try:
    ...     check_dataset(ds, need=["target"], caller="evaluate")
    ... except ColumnError as error:
    ...     print(str(error)[:45])
    evaluate(): data has no target column; name i
    >>> try:
    ...     check_dataset(pd.DataFrame(), caller="profile")
    ... except ParameterError as error:  # a wrong argument, not bad data
    ...     print(str(error)[:40])
    profile(): data must be a raikit Dataset
    """
    from raikit.dataset import Dataset  # the Dataset module imports this one

    where = f"{caller}(): " if caller else ""
    if not isinstance(data, Dataset):
        raise ParameterError(
            f"{where}{name} must be a raikit Dataset (it names the target and the sensitive "
            f"attributes), got {type(data).__name__}. Wrap your table: "
            f"raikit.Dataset(frame, target=..., sensitive=[...])."
        )
    for role in need:
        if role not in _ROLE_HINT:
            raise TypeError(f"Unknown role {role!r}; expected one of {sorted(_ROLE_HINT)}.")
        if getattr(data, role) is None:
            raise ColumnError(
                f"{where}{name} has no {role} column; name it with {_ROLE_HINT[role]}."
            )
    return data


def rng_from(random_state: Any) -> np.random.Generator:
    """A numpy ``Generator`` from ``None``, an integer seed, a ``Generator`` or a ``RandomState``.

    The one random-state helper of the package: every check draws its randomness from the
    Generator this returns, never from numpy's global state.

    Examples
    --------
    >>> a, b = rng_from(7).integers(0, 100, 3), rng_from(7).integers(0, 100, 3)
    >>> bool((a == b).all())
    True
    >>> g = np.random.default_rng(1)
    >>> rng_from(g) is g
    True
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    return np.random.default_rng(random_state)
