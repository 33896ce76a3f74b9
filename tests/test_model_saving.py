"""raikit's own fitted models save as skops and load with the default trust (no pickle, no torch,
pandas or fairlearn objects in the file), predicting exactly as before the round trip."""

from __future__ import annotations

import io
import json
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from raikit import FileFormatError, load_model, save_model
from raikit._models import _schema_loaders
from raikit.ledger import Ledger


@pytest.fixture(scope="module")
def data():
    from raikit.datasets import make_fairness_synthetic

    ds = make_fairness_synthetic(400, random_state=0)
    X = ds.X.copy()
    X["colour"] = np.where(X["x2"] > 0, "red", "blue")  # a string column: encoders are saved too
    return X, ds.y.to_numpy(), ds.sensitive["z"]


def _fit(name, X, y, z):
    from raikit.privacy import DPClassifier
    from raikit.review._selective import SelectiveClassifier
    from raikit.train import FairlearnClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name in ("expgrad", "gridsearch", "threshold"):
            return FairlearnClassifier(method=name, constraint="eqodds", random_state=3).fit(
                X, y, sensitive_features=z
            )
        if name == "expgrad_weighted":
            return FairlearnClassifier(method="expgrad", constraint="dp", random_state=1).fit(
                X, y, sensitive_features=z, sample_weight=np.linspace(0.5, 2.0, len(y))
            )
        if name in ("dp_logistic", "dp_mlp"):
            model = name.removeprefix("dp_")
            return DPClassifier(
                network=model, target_epsilon=2.0, epochs=2, batch_size=100, random_state=0
            ).fit(X, y)
        if name == "dp_numeric":
            return DPClassifier(target_epsilon=float("inf"), epochs=1, random_state=0).fit(
                X[["x1", "x2"]].to_numpy(), y
            )
        base = LogisticRegression().fit(X[["x1", "x2"]], y)
        return SelectiveClassifier(base, coverage=0.8, prefit=True).fit(
            X[["x1", "x2"]], y, sensitive_features=z
        )


NAMES = [
    "expgrad",
    "expgrad_weighted",
    "gridsearch",
    "threshold",
    "dp_logistic",
    "dp_mlp",
    "dp_numeric",
    "selective",
]


def _outputs(name, model, X, z) -> list:
    """Everything the model predicts, as arrays/frames to compare exactly."""
    if name == "selective":
        return [
            model.select(X[["x1", "x2"]], sensitive_features=z),
            model.calibration_,
            model.thresholds_,
        ]
    if name == "dp_numeric":
        X = X[["x1", "x2"]].to_numpy()
    if name == "threshold":
        return [model.predict(X, sensitive_features=z)]
    return [model.predict(X), model.predict_proba(X)]


def _assert_same(first, second) -> None:
    for a, b in zip(first, second, strict=True):
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        elif isinstance(a, pd.Series):
            pd.testing.assert_series_equal(a, b, check_exact=True)
        else:
            np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def fitted(data):
    X, y, z = data
    return {name: _fit(name, X, y, z) for name in NAMES}


def _types_in(blob: bytes) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return set(_schema_loaders(json.loads(archive.read("schema.json"))))


@pytest.mark.parametrize("name", NAMES)
def test_saves_as_skops_and_loads_by_default_with_identical_predictions(
    name, fitted, data, tmp_path
):
    X, _, z = data
    model = fitted[name]
    before = _outputs(name, model, X, z)
    path = save_model(model, tmp_path / f"{name}.skops")  # raised "skops cannot save" before
    # Saving leaves the fitted model intact (its state is copied, not emptied).
    _assert_same(before, _outputs(name, model, X, z))
    # The file names no torch, pandas or fairlearn type: only arrays, plain values, sklearn.
    types = _types_in(path.read_bytes())
    foreign = sorted(t for t in types if t.split(".")[0] in ("torch", "pandas", "fairlearn"))
    assert foreign == [], foreign
    again = load_model(path)  # default trust
    assert type(again) is type(model)
    _assert_same(before, _outputs(name, again, X, z))


@pytest.mark.parametrize("name", NAMES)
def test_the_ledger_stores_skops_not_pickle_and_loads_by_default(name, fitted, data, tmp_path):
    X, _, z = data
    model = fitted[name]
    ledger = Ledger(tmp_path / "ledger")
    model_id = ledger.log_model(model)
    media = ledger._query(
        "SELECT a.media_type FROM models m JOIN artifacts a ON a.hash = m.artifact WHERE m.id = ?",
        (model_id,),
    )
    assert media["media_type"].tolist() == ["application/x-skops"]
    _assert_same(_outputs(name, model, X, z), _outputs(name, ledger.load_model(model_id), X, z))


def test_expgrad_and_gridsearch_predict_as_fairlearn_does(fitted, data):
    X, _, _ = data
    for name in ("expgrad", "expgrad_weighted"):
        model = fitted[name]
        encoded = model.encoder_.transform(X)
        np.testing.assert_array_equal(
            model.predict_proba(X), model.mitigator_._pmf_predict(encoded)
        )
        expected = model.mitigator_.predict(encoded, random_state=model.random_state)
        np.testing.assert_array_equal(model.predict(X), model.classes_[expected])
        assert model.predictor_weights_.sum() == pytest.approx(1.0)
        assert len(model.predictors_) == len(model.predictor_weights_) >= 1
    model = fitted["gridsearch"]
    encoded = model.encoder_.transform(X)
    np.testing.assert_array_equal(model.predict_proba(X), model.mitigator_.predict_proba(encoded))


def test_a_loaded_reduction_has_no_fairlearn_object(fitted, tmp_path):
    again = load_model(save_model(fitted["expgrad"], tmp_path / "m.skops"))
    assert not hasattr(again, "mitigator_")
    assert all(type(p) is LogisticRegression for p in again.predictors_)


def test_loading_a_dp_classifier_keeps_torch_global_random_state(fitted, tmp_path):
    import torch

    path = save_model(fitted["dp_mlp"], tmp_path / "dp.skops")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    again = load_model(path)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())
    assert isinstance(again.module_, torch.nn.Module)


def test_a_dp_file_with_weights_that_do_not_fit_is_a_clear_error(fitted, tmp_path):
    model = fitted["dp_logistic"]
    state = model.__getstate__()  # a bias with one value for a two-class layer:
    state["module_state_"] = {
        k: v[:1] if v.ndim == 1 else v for k, v in state["module_state_"].items()
    }
    broken = type(model).__new__(type(model))
    broken.__dict__.update({k: v for k, v in state.items() if k != "module_state_"})
    broken.__getstate__ = lambda: state  # the saved state of a tampered file
    path = save_model(broken, tmp_path / "broken.skops")
    with pytest.raises(FileFormatError, match="do not fit its architecture"):
        load_model(path)


@pytest.mark.slow
def test_threshold_has_no_predict_proba_so_it_is_audited_on_labels(fitted, tmp_path):
    from raikit.audit import audit
    from raikit.datasets import make_fairness_synthetic

    model = fitted["threshold"]
    assert not hasattr(model, "predict_proba")  # was True, and calling it raised
    with pytest.raises(AttributeError, match="predict_proba") as info:
        model.predict_proba  # noqa: B018
    assert "labels only; use predict()" in str(info.value.__cause__)
    assert hasattr(fitted["expgrad"], "predict_proba")
    ds = make_fairness_synthetic(300, random_state=1)
    clf = type(model)(method="threshold", constraint="dp", random_state=0)
    clf.fit(ds.X, ds.y, sensitive_features=ds.sensitive["z"])
    scored = ds.with_predictions(clf)
    np.testing.assert_array_equal(
        scored.y_pred.to_numpy(), clf.predict(ds.X, sensitive_features=ds.sensitive["z"])
    )
    assert scored.score is None
    # The audit (which raised "gives labels only", then "pass sensitive_features") runs and
    # stores the model as skops.
    ledger = Ledger(tmp_path / "ledger")
    report = audit(clf, train=ds, test=ds, ledger=ledger, n_boot=20, random_state=0)
    assert "metrics.group_metrics" in report.results
    assert "evaluate.stress_test" not in report.results  # predict needs the groups too
    media = ledger._query(
        "SELECT a.media_type FROM models m JOIN artifacts a ON a.hash = m.artifact"
    )["media_type"]
    assert set(media) == {"application/x-skops"}
