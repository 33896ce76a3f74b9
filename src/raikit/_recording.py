"""Recording at the boundary: checks compute, one decorator records the outermost call.

A public check is a pure function decorated with :func:`recorded`. When it is called from user
code (not from inside another check), the decorator

- binds the call to the signature and fills in the defaults, so the parameters recorded are the
  parameters used, every one of them, with no hand-typed dictionary to fall out of date;
- turns ``random_state=None`` into a fresh integer seed, so the run can be repeated from the seed
  the ledger recorded (the result is as random as before: the seed itself is fresh entropy);
- hands the result and the bound arguments to the recorder the ledger registered
  (:func:`set_recorder`), which stores evidence when ``ledger=`` was given or a ``track`` run is
  active, and otherwise does nothing.

Calls made from inside a check run undecorated: ``evaluate`` calling ``group_metrics`` records one
row, not two. A context variable holds that depth, so threads and asyncio tasks do not mix.

This module sits at the bottom of the package and imports nothing from raikit: the ledger plugs
itself in from above.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["inside_check", "outermost", "recorded", "set_recorder"]

_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("raikit_check_depth", default=0)
_RECORDER: list[Callable[..., Any]] = []  # at most one: set by raikit.ledger when it is imported


def set_recorder(recorder: Callable[..., Any] | None) -> Callable[..., Any] | None:
    """Install the function that stores a check's result; returns the one it replaces.

    The ledger installs its recorder when it is imported. It is called as
    ``recorder(result, check=..., arguments=...)`` after the outermost check returns;
    ``arguments`` is the bound call, defaults included.
    """
    previous = _RECORDER[0] if _RECORDER else None
    _RECORDER.clear()
    if recorder is not None:
        _RECORDER.append(recorder)
    return previous


def inside_check() -> bool:
    """True while a :func:`recorded` check is running (in this thread or task).

    Examples
    --------
    >>> inside_check()
    False
    """
    return _DEPTH.get() > 0


@contextmanager
def outermost() -> Iterator[None]:
    """Mark the block as running inside a check, so the checks it calls record nothing.

    For composers that record their parts themselves (the audit).
    """
    token = _DEPTH.set(_DEPTH.get() + 1)
    try:
        yield
    finally:
        _DEPTH.reset(token)


def fresh_seed() -> int:
    """A new integer seed from the operating system's entropy (what ``random_state=None`` means)."""
    return secrets.randbits(32)


def recorded(check: str) -> Callable[[Callable], Callable]:
    """Make a pure check record its outermost call as evidence named ``check``.

    The decorated function must return a raikit Result and may declare ``ledger=None``; the
    function body never records anything itself. On a method (first parameter ``self``) the
    object is not recorded as a parameter, and its ``ledger`` attribute, if any, is where the
    call is recorded unless the call passes ``ledger=`` itself (a ``PrivateTable`` records
    every answer in the ledger it was opened with).

    Examples
    --------
    >>> calls = []
    >>> ledger_recorder = set_recorder(
    ...     lambda result, *, check, arguments: calls.append((check, arguments)))
    >>> @recorded("demo.inner")
    ... def inner(x, *, random_state=None):
    ...     return x
    >>> @recorded("demo.outer")
    ... def outer(x, *, scale=2, random_state=0):
    ...     return inner(x) * scale
    >>> outer(3)
    6
    >>> [(name, args["scale"], args["random_state"]) for name, args in calls]
    [('demo.outer', 2, 0)]
    >>> _ = inner(1)
    >>> isinstance(calls[-1][1]["random_state"], int)  # None became a recorded seed
    True
    >>> _ = set_recorder(ledger_recorder)
    """

    def decorate(func: Callable) -> Callable:
        signature = inspect.signature(func)
        seeded = "random_state" in signature.parameters
        method = next(iter(signature.parameters), None) == "self"

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if _DEPTH.get():
                return func(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            if seeded and bound.arguments["random_state"] is None:
                bound.arguments["random_state"] = fresh_seed()
            token = _DEPTH.set(1)
            try:
                result = func(*bound.args, **bound.kwargs)
            finally:
                _DEPTH.reset(token)
            arguments = dict(bound.arguments)
            if method:  # the object is not a parameter; it may say where it records
                owner = arguments.pop("self")
                if arguments.get("ledger") is None:
                    arguments["ledger"] = getattr(owner, "ledger", None)
                if callable(getattr(owner, "predict", None)):  # a model evaluating itself
                    arguments.setdefault("model", owner)
            for recorder in _RECORDER:
                recorder(result, check=check, arguments=arguments)
            return result

        wrapper.__raikit_check__ = check
        return wrapper

    return decorate
