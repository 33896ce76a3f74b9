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
    "raikit.ledger",
    "raikit.metrics",
    "raikit.monitor",
    "raikit.privacy",
    "raikit.review",
    "raikit.server",
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
KNOWN: dict[str, list[str]] = {
    "raikit.audit.audit": [
        "random_state default 0 should be None",
    ],
    "raikit.data.allocate_budget": [
        "n (parameter 3) should be keyword-only",
    ],
    "raikit.data.datasheet": [
        "ds= should be data (the Dataset a check reads)",
    ],
    "raikit.data.drift": [
        "reference= is half of a pair and should be keyword-only",
        "current= is half of a pair and should be keyword-only",
        "sensitive= should be sensitive_features (values), or Dataset(..., sensitive=[...]) for column names",
    ],
    "raikit.data.fit_power_law": [
        "weights (parameter 3) should be keyword-only",
    ],
    "raikit.data.infer_schema": [
        "ds= should be data (the Dataset a check reads)",
    ],
    "raikit.data.label_issues": [
        "ds= should be data (the Dataset a check reads)",
        "random_state default 0 should be None",
    ],
    "raikit.data.profile": [
        "ds= should be data (the Dataset a check reads)",
        "random_state default 0 should be None",
    ],
    "raikit.data.representation": [
        "ds= should be data (the Dataset a check reads)",
    ],
    "raikit.evaluate.cost_analysis": [
        "ds= should be data (the Dataset a check reads)",
        "random_state default 0 should be None",
    ],
    "raikit.evaluate.find_slices": [
        "random_state default 0 should be None",
    ],
    "raikit.evaluate.learning_curve": [
        "ds= should be data (the Dataset a check reads)",
        "random_state default 0 should be None",
    ],
    "raikit.evaluate.row_losses": [
        "ds= should be data (the Dataset a check reads)",
    ],
    "raikit.evaluate.stress_test": [
        "ds= should be data (the Dataset a check reads)",
        "n_boot default 500 should be 1000",
        "random_state default 0 should be None",
    ],
    "raikit.explain.counterfactuals": [
        "a check takes (model, data, *, ...)",
    ],
    "raikit.explain.explain": [
        "ds= should be data (the Dataset a check reads)",
        "random_state default 0 should be None",
    ],
    "raikit.explain.flip_test": [
        "ds= should be data (the Dataset a check reads)",
    ],
    "raikit.explain.glassbox_baseline": [
        "ds= should be data (the Dataset a check reads)",
        "n_boot default 500 should be 1000",
        "random_state default 0 should be None",
    ],
    "raikit.explain.partial_dependence": [
        "ds= should be data (the Dataset a check reads)",
        "random_state default 0 should be None",
    ],
    "raikit.explain.what_if": [
        "changes (parameter 3) should be keyword-only",
    ],
    "raikit.metrics.group_metrics": [
        "sensitive= should be sensitive_features (values), or Dataset(..., sensitive=[...]) for column names",
        "ci default None should be 0.95",
    ],
    "raikit.ledger.train": [
        "ds= should be data (the Dataset a check reads)",
    ],
    "raikit.metrics.demographic_parity_difference": [
        "sensitive= should be sensitive_features (values), or Dataset(..., sensitive=[...]) for column names",
    ],
    "raikit.metrics.demographic_parity_ratio": [
        "sensitive= should be sensitive_features (values), or Dataset(..., sensitive=[...]) for column names",
    ],
    "raikit.metrics.equal_opportunity_difference": [
        "sensitive= should be sensitive_features (values), or Dataset(..., sensitive=[...]) for column names",
    ],
    "raikit.metrics.equalized_odds_difference": [
        "sensitive= should be sensitive_features (values), or Dataset(..., sensitive=[...]) for column names",
    ],
    "raikit.metrics.equalized_odds_ratio": [
        "sensitive= should be sensitive_features (values), or Dataset(..., sensitive=[...]) for column names",
    ],
    "raikit.privacy.DPClassifier": [
        "model= holds an architecture; it should be network=",
    ],
    "raikit.privacy.membership_inference": [
        "train= is half of a pair and should be keyword-only",
        "holdout (parameter 3) should be keyword-only",
        "n_boot default 500 should be 1000",
        "random_state default 0 should be None",
    ],
    "raikit.privacy.synthesis_utility": [
        "ds= should be data (the Dataset a check reads)",
    ],
    "raikit.privacy.synthesize": [
        "ds= should be data (the Dataset a check reads)",
    ],
    "raikit.review.group_keys": [
        "sensitive= should be sensitive_features (values), or Dataset(..., sensitive=[...]) for column names",
    ],
    "raikit.review.review_metrics": [
        "sensitive= should be sensitive_features (values), or Dataset(..., sensitive=[...]) for column names",
        "n_boot default 500 should be 1000",
    ],
    "raikit.train.FRTrainClassifier": [
        "model= holds an architecture; it should be network=",
    ],
    "raikit.train.FairBatchClassifier": [
        "model= holds an architecture; it should be network=",
    ],
    "raikit.train.compare_mitigations": [
        "train= is half of a pair and should be keyword-only",
        "test= is half of a pair and should be keyword-only",
        "n_boot default 500 should be 1000",
        "random_state default 0 should be None",
    ],
    "raikit.train.reweighing_weights": [
        "sensitive= should be sensitive_features (values), or Dataset(..., sensitive=[...]) for column names",
    ],
}


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
