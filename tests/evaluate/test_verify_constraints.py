"""verify_constraints: constrained models pass, a model with a dip is caught with its worst
example, the share of violating rows matches a hand count, must-not-use detection, evidence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from raikit import ColumnError, Dataset, ParameterError
from raikit.evaluate import ConstraintResult, verify_constraints
from raikit.metrics._stats import wilson_interval


class DipModel:
    """P(y=1) = 0.1 + 0.008 x, lowered by 0.2 for 55 <= x < 65 when z == 1 (a dip that breaks
    "increasing in x" for the rows with z == 1 only)."""

    classes_ = np.array([0, 1])
    feature_names_in_ = np.array(["x", "z"], dtype=object)

    def predict_proba(self, X):
        x, z = X["x"].to_numpy(float), X["z"].to_numpy(float)
        p = 0.1 + 0.008 * x - 0.2 * ((x >= 55) & (x < 65) & (z == 1))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] > 0.5).astype(int)


@pytest.fixture(scope="module")
def dip_data():
    # 44 rows: x takes 0, 10, ..., 100 four times each (the quantile grid of 11 points is
    # exactly 0, 10, ..., 100); z == 1 on 11 rows, one per value of x
    x = np.repeat(np.arange(0.0, 101.0, 10.0), 4)
    z = np.tile([1, 0, 0, 0], 11)
    frame = pd.DataFrame({"x": x, "z": z, "g": ["a", "b"] * 22, "y": np.arange(44) % 2})
    return Dataset(frame, target="y", sensitive="g")


def test_dip_model_is_caught_with_its_worst_example(dip_data):
    r = verify_constraints(
        DipModel(), dip_data, constraints={"x": "increasing"}, grid_resolution=11, max_rows=None
    )
    row = r.table.iloc[0]
    assert row["status"] == "violated"
    # hand count: exactly the 11 rows with z == 1 dip; their share and its Wilson interval
    assert row["n_violating"] == 11 and row["share"] == pytest.approx(0.25)
    lower, upper = wilson_interval(11, 44, ci=0.95)
    assert (row["lower"], row["upper"]) == pytest.approx((float(lower), float(upper)))
    # the refined search finds the true break: from just below 55 into the dip (0.2 deep,
    # less the rise between the two values, at most 1.1 * 0.008)
    assert row["value_from"] < 55 <= row["value_to"] < 60
    assert 0.2 - 0.009 <= row["worst_violation"] <= 0.2
    assert row["prediction_from"] - row["prediction_to"] == pytest.approx(row["worst_violation"])
    assert dip_data.frame.loc[int(row["worst_row"]), "z"] == 1
    assert r.findings[0].severity == "error" and "11 of 44 rows" in r.findings[0].detail


def test_grid_alone_sees_a_smaller_break_than_the_refined_search(dip_data):
    coarse = verify_constraints(
        DipModel(),
        dip_data,
        constraints={"x": "increasing"},
        grid_resolution=11,
        refine=0,
        max_rows=None,
    ).table.iloc[0]
    # on the grid only 50 -> 60 is seen: 0.2 - 10 * 0.008
    assert (coarse["value_from"], coarse["value_to"]) == (50.0, 60.0)
    assert coarse["worst_violation"] == pytest.approx(0.12)


def test_must_not_use_is_violated_by_a_used_feature_and_kept_by_an_unused_one(dip_data):
    r = verify_constraints(
        DipModel(),
        dip_data,
        constraints={"z": "must_not_use", "y": "must_not_use"},
        max_rows=None,
    )
    z, y = r.table.iloc[0], r.table.iloc[1]
    # changing z moves the prediction only where x is in the dip: the 4 rows with x == 60
    assert z["status"] == "violated" and z["n_violating"] == 4
    assert z["worst_violation"] == pytest.approx(0.2)
    assert y["status"] == "not an input" and y["n_violating"] == 0


def test_concave_and_convex_on_a_quadratic_model():
    class Square:
        classes_ = np.array([0, 1])
        feature_names_in_ = np.array(["x"], dtype=object)

        def predict_proba(self, X):
            p = 0.1 + 0.8 * (X["x"].to_numpy(float) / 10) ** 2  # convex on [0, 10]
            return np.column_stack([1 - p, p])

        def predict(self, X):
            return (self.predict_proba(X)[:, 1] > 0.5).astype(int)

    frame = pd.DataFrame({"x": np.linspace(0, 10, 40), "g": ["a", "b"] * 20, "y": [0, 1] * 20})
    ds = Dataset(frame, target="y", sensitive="g")
    r = verify_constraints(Square(), ds, constraints={"x": "concave"}, max_rows=None)
    assert r.table.loc[0, "share"] == 1.0
    # chord gap at the middle of three equally spaced points h apart: 0.8 * h^2 / 100
    h = 10 / 19
    assert r.table.loc[0, "worst_violation"] == pytest.approx(0.8 * h**2 / 100)
    r = verify_constraints(Square(), ds, constraints={"x": "convex"}, max_rows=None)
    assert r.table.loc[0, "status"] == "satisfied"


def test_monotone_hgb_on_adult_has_no_violation_and_a_free_one_does(adult_models):
    constrained, free, test, spec = adult_models
    kept = verify_constraints(constrained, test, constraints=spec, max_rows=300, random_state=0)
    assert (kept.table["n_violating"] == 0).all()
    assert set(kept.table["status"]) == {"satisfied"}
    # the same features on the unconstrained model: hours per week is not monotone
    found = verify_constraints(free, test, constraints=spec, max_rows=300, random_state=0)
    assert found.table.set_index("feature").loc["hours_per_week", "n_violating"] > 0


@pytest.fixture(scope="module")
def adult_models():
    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.datasets import load_adult
    from raikit.train import fit_constrained

    train, test = load_adult().sample(6000, random_state=0).split(0.3, random_state=0)
    spec = {"hours_per_week": "increasing", "education_num": "increasing", "age": "increasing"}
    hgb = HistGradientBoostingClassifier(max_iter=40)
    constrained = fit_constrained(hgb, train, constraints=spec, random_state=0)
    free = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(train.X, train.y)
    return constrained, free, test, spec


def test_too_few_rows_are_not_assessable(dip_data):
    small = dip_data.replace(dip_data.frame.iloc[:12])
    r = verify_constraints(DipModel(), small, constraints={"x": "increasing"}, max_rows=None)
    assert r.table.loc[0, "status"] == "not assessable"
    assert r.findings[0].severity == "warning" and "not assessable" in r.findings[0].title


def test_sample_is_stratified_and_reweighted(adult_models):
    constrained, _, test, spec = adult_models
    r = verify_constraints(constrained, test, constraints=spec, max_rows=100, random_state=0)
    # every one of the 10 sex x race groups keeps min(30, its size) rows, beyond the 100 asked
    sizes = test.frame.groupby(["sex", "race"], observed=True).size()
    assert r.meta["n_rows"] >= np.minimum(sizes, 30).sum() and r.meta["n_rows"] < test.n_rows
    assert "stratified by group and reweighted" in r.summary


def test_bad_arguments_name_the_keyword_and_columns(dip_data):
    with pytest.raises(
        ColumnError, match=r"\['income'\].*columns available: \['x', 'z', 'g', 'y'\]"
    ):
        verify_constraints(DipModel(), dip_data, constraints={"income": "increasing"})
    with pytest.raises(ParameterError, match="'sideways' is not a shape"):
        verify_constraints(DipModel(), dip_data, constraints={"x": "sideways"})
    with pytest.raises(ParameterError, match=r"verify_constraints\(\).*grid_resolution"):
        verify_constraints(DipModel(), dip_data, constraints={"x": "convex"}, grid_resolution=2)
    with pytest.raises(ParameterError, match=r"verify_constraints\(\).*constraints"):
        verify_constraints(DipModel(), dip_data, constraints=["x"])
    frame = dip_data.frame.assign(c=pd.Categorical(["a", "b"] * 22))
    with pytest.raises(ParameterError, match="'c' is categorical"):
        verify_constraints(
            DipModel(), Dataset(frame, target="y", sensitive="g"), constraints={"c": "increasing"}
        )


def test_track_records_one_evidence_row_with_its_parameters(dip_data, tmp_path):
    from raikit import track
    from raikit.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger")
    with track("verify", ledger=ledger):
        r = verify_constraints(DipModel(), dip_data, constraints={"x": "increasing"}, refine=4)
    rows = ledger.evidence()
    assert rows["check_name"].tolist() == ["evaluate.verify_constraints"]
    params = rows.iloc[0]["params"]
    params = json.loads(params)
    assert params["refine"] == 4 and params["constraints"] == {"x": "increasing"}
    back = ConstraintResult.from_json(r.to_json())
    assert back.table.equals(r.table) and back.summary == r.summary


def test_a_regressor_is_checked_on_its_prediction():
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 600)
    frame = pd.DataFrame({"x": x, "g": rng.choice(["a", "b"], 600)})
    frame["y"] = np.sin(x) + 0.1 * rng.normal(size=600)  # up, down, up: not monotone
    ds = Dataset(frame, target="y", sensitive="g")
    free = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(frame[["x"]], frame["y"])
    kept = HistGradientBoostingRegressor(max_iter=30, random_state=0, monotonic_cst=[1])
    kept = kept.fit(frame[["x"]], frame["y"])
    spec = {"x": "increasing"}
    found = verify_constraints(free, ds, constraints=spec, max_rows=None).table.iloc[0]
    assert found["share"] == 1.0 and found["worst_violation"] > 1.0  # sin falls by about 2
    none = verify_constraints(kept, ds, constraints=spec, max_rows=None)
    assert none.meta["output"] == "prediction" and none.table.loc[0, "n_violating"] == 0


def test_a_script_in_a_column_name_is_escaped_in_the_page():
    name = "<script>alert(1)</script>"

    class Falling:
        classes_ = np.array([0, 1])
        feature_names_in_ = np.array([name], dtype=object)

        def predict_proba(self, X):
            p = 0.9 - 0.05 * X[name].to_numpy(float)
            return np.column_stack([1 - p, p])

        def predict(self, X):
            return (self.predict_proba(X)[:, 1] > 0.5).astype(int)

    frame = pd.DataFrame({name: np.arange(40.0) % 10, "g": ["a", "b"] * 20, "y": [0, 1] * 20})
    ds = Dataset(frame, target="y", sensitive="g")
    r = verify_constraints(Falling(), ds, constraints={name: "increasing"}, max_rows=None)
    assert r.table.loc[0, "share"] == 1.0
    page = r.to_html()
    assert name not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
