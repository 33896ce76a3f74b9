"""The data stage's public API follows issue 18's shape (one convention for every check)."""

from __future__ import annotations

import inspect

import pytest

import raikit.data as data

# estimators and array helpers are not checks; MLClean belongs to the estimators' migration
CHECKS = {
    "augment_eval": "data.augment_eval",
    "plan_sources": "data.plan_sources",
    "datasheet": "data.datasheet",
    "drift": "data.drift",
    "label_issues": "data.label_issues",
    "multivariate_drift": "data.multivariate_drift",
    "leakage": "data.leakage",
    "profile": "data.profile",
    "representation": "data.representation",
    "slice_tuner": "data.slice_tuner",
    "validate": "data.validate",
}
FUNCTIONS = [  # Results are records built by the checks, not called by users
    name
    for name in data.__all__
    if inspect.isfunction(getattr(data, name))
    or (inspect.isclass(getattr(data, name)) and not name.endswith("Result"))
]


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_check_is_recorded_validated_and_takes_data_first(name):
    check = getattr(data, name)
    assert check.__raikit_check__ == CHECKS[name]
    assert hasattr(check, "__raikit_constraints__")  # declared parameter domains
    params = inspect.signature(check).parameters
    assert "ledger" in params and params["ledger"].default is None
    positional = [p.name for p in params.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    if name in ("drift", "multivariate_drift"):
        assert positional == [] and {"reference", "current"} <= set(params)
    elif name == "leakage":
        assert positional == [] and {"train", "test"} <= set(params)
    elif name == "augment_eval":  # an unfitted learner first, then the pair
        assert positional == ["estimator"] and {"train", "test"} <= set(params)
    elif name == "plan_sources":  # reads the curves slice_tuner fitted
        assert positional == ["result"]
    else:
        assert positional[0] == "data"


@pytest.mark.parametrize("name", sorted(n for n in FUNCTIONS if n != "MLClean"))
def test_conventions_of_every_public_signature(name):
    target = getattr(data, name)
    signature = inspect.signature(target.__init__ if inspect.isclass(target) else target)
    params = [p for p in signature.parameters.values() if p.name != "self"]
    positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert len(positional) <= 2, f"{name}: keyword-only after the first two"
    by_name = {p.name: p for p in params}
    if "random_state" in by_name:
        assert by_name["random_state"].default is None, name
    if "ci" in by_name:
        assert by_name["ci"].default == 0.95, name
    for old in ("ds", "sensitive", "slices", "confidence", "threshold"):
        assert old not in by_name, f"{name} still takes {old}="
