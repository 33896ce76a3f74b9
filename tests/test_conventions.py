"""Every public signature follows DESIGN.md's API conventions (issue 18's inconsistency table).

The walk covers every callable a user can import from raikit's public packages. Known departures
that have not been migrated yet are listed in ``KNOWN``; the list may only shrink: an entry that
now conforms fails the test too, so the list is kept honest.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = [  # the top level last, so an object is named by the package it belongs to
    "raikit.audit",
    "raikit.cards",
    "raikit.data",
    "raikit.datasets",
    "raikit.evaluate",
    "raikit.explain",
    "raikit.federated",
    "raikit.gates",
    "raikit.ledger",
    "raikit.metrics",
    "raikit.monitor",
    "raikit.privacy",
    "raikit.review",
    "raikit.sandbox",
    "raikit.server",
    "raikit.testing",
    "raikit.train",
    "raikit",
]
# Names that mean another idea elsewhere (DESIGN.md, "API conventions").
RENAMED = {
    "ds": "data (the Dataset a check reads)",
    "sensitive": "sensitive_features (values), or Dataset(..., sensitive=[...]) for column names",
    "base": "estimator",
    "base_estimator": "estimator",
    "learner": "estimator",
}
PAIRS = {"train", "test", "reference", "current"}
PAIRS_ALLOWED_POSITIONAL = {"raikit.audit.compare"}  # documented exceptions (none expected)
EXEMPT = {"raikit.Dataset", "raikit.dataset.Dataset"}  # the one place sensitive= names columns


def _public_callables():
    seen = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            if obj is None or inspect.ismodule(obj):
                continue
            if not callable(obj) or (isinstance(obj, type) and issubclass(obj, BaseException)):
                continue
            key = f"{package}.{name}"
            if key in EXEMPT or id(obj) in {id(v) for v in seen.values()}:
                continue
            seen[key] = obj
    return seen


def _signature(obj):
    target = obj.__init__ if isinstance(obj, type) else obj
    try:
        return inspect.signature(target)
    except (TypeError, ValueError):
        return None


def _problems(key: str, obj) -> list[str]:
    signature = _signature(obj)
    if signature is None:
        return []
    params = [p for n, p in signature.parameters.items() if n not in ("self", "cls")]
    found = []
    if isinstance(obj, type) and not _is_estimator(obj):
        return found  # results, tables and stores: their constructors are not checks
    for index, p in enumerate(params):
        if p.name in RENAMED and key not in EXEMPT:
            found.append(f"{p.name}= should be {RENAMED[p.name]}")
        if p.name == "random_state" and p.default is not None:
            found.append(f"random_state default {p.default!r} should be None")
        if p.name == "ci" and p.default not in (0.95, inspect.Parameter.empty):
            found.append(f"ci default {p.default!r} should be 0.95")
        if p.name == "n_boot" and p.default != 1000:
            found.append(f"n_boot default {p.default!r} should be 1000")
        if p.name == "model" and isinstance(p.default, str):
            found.append("model= holds an architecture; it should be network=")
        if p.name in PAIRS and p.kind is not p.KEYWORD_ONLY and key not in PAIRS_ALLOWED_POSITIONAL:
            found.append(f"{p.name}= is half of a pair and should be keyword-only")
        positional = p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        if index >= 2 and positional and not isinstance(obj, type):
            found.append(f"{p.name} (parameter {index + 1}) should be keyword-only")
    names = [p.name for p in params]
    if not isinstance(obj, type) and "model" in names and "data" in names:
        if names.index("model") != 0 or names.index("data") != 1:
            found.append("a check takes (model, data, *, ...)")
    return found


def _is_estimator(cls) -> bool:
    return hasattr(cls, "fit") and hasattr(cls, "get_params")


# Departures not migrated yet: key -> the problems it still has. May only shrink.
KNOWN: dict[str, list[str]] = {}


def _method_problems(cls) -> dict[str, list[str]]:
    """The public methods raikit defines on a public class: names and defaults only (a method's
    first parameters are the object's own business)."""
    found = {}
    for name, member in inspect.getmembers(cls, predicate=inspect.isfunction):
        if name.startswith("_") or not getattr(member, "__module__", "").startswith("raikit"):
            continue
        problems = []
        for p in inspect.signature(member).parameters.values():
            if p.name in RENAMED:
                problems.append(f"{p.name}= should be {RENAMED[p.name]}")
            if p.name == "random_state" and p.default not in (None, p.empty):
                problems.append(f"random_state default {p.default!r} should be None")
            if p.name == "ci" and p.default not in (0.95, None, p.empty):
                problems.append(f"ci default {p.default!r} should be 0.95")
            if p.name == "n_boot" and p.default not in (1000, p.empty):
                problems.append(f"n_boot default {p.default!r} should be 1000")
        if problems:
            found[f"{cls.__module__}.{cls.__qualname__}.{name}"] = problems
    return found


def test_the_walk_finds_the_public_api():
    found = _public_callables()
    assert {"raikit.evaluate.evaluate", "raikit.metrics.group_metrics"} <= set(found)
    assert len(found) > 60


@pytest.mark.parametrize("key", sorted(_public_callables()))
def test_public_signature_follows_the_conventions(key):
    problems = _problems(key, _public_callables()[key])
    assert problems == KNOWN.get(key, []), (
        f"{key}: {problems} (expected {KNOWN.get(key, [])}); follow DESIGN.md's API conventions, "
        f"or if it now conforms, remove it from KNOWN."
    )


def test_public_methods_follow_the_conventions():
    problems = {}
    for obj in _public_callables().values():
        if isinstance(obj, type):
            problems.update(_method_problems(obj))
    assert problems == {}


def test_the_rules_catch_a_bad_signature():
    def check(ds, model, sensitive=None, *, random_state=0, ci=0.9, n_boot=200, train=None):
        return None

    problems = _problems("example.check", check)
    assert problems == [
        "ds= should be data (the Dataset a check reads)",
        "sensitive= should be sensitive_features (values), or Dataset(..., sensitive=[...]) for "
        "column names",
        "sensitive (parameter 3) should be keyword-only",
        "random_state default 0 should be None",
        "ci default 0.9 should be 0.95",
        "n_boot default 200 should be 1000",
    ]

    def good(model, data, *, random_state=None, ci=0.95, train=None):
        return None

    assert _problems("example.good", good) == []

    class Checker:
        def log(self, ds, *, n_boot=200):
            return None

    assert _method_problems(Checker) == {}  # not raikit's: not walked
    Checker.__module__ = Checker.log.__module__ = "raikit.example"
    assert list(_method_problems(Checker).values()) == [
        ["ds= should be data (the Dataset a check reads)", "n_boot default 200 should be 1000"]
    ]
