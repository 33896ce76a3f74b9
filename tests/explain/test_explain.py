"""explain(): SHAP through shap's explainers, importance, per-group importance, findings."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from raikit import Dataset, Result
from raikit._errors import DataError, ParameterError
from raikit.explain import ExplanationResult, explain, explain_section
from raikit.explain._explain import choose_method


def test_tree_attributions_match_shap_and_add_up(german, german_forest):
    import shap

    r = explain(german_forest, german, max_rows=300, random_state=1)
    assert r.meta["method"] == "tree" and r.meta["units"] == "probability"
    X = german.X.loc[r.attributions.index]
    direct = shap.TreeExplainer(german_forest).shap_values(X)[:, :, 1]
    np.testing.assert_allclose(r.attributions.to_numpy(), direct, atol=1e-12)
    # local accuracy: base value + attributions = predicted probability (tolerance 1e-8)
    total = r.attributions.sum(axis=1).to_numpy() + r.meta["base_value"]
    np.testing.assert_allclose(total, german_forest.predict_proba(X)[:, 1], atol=1e-8)


def test_linear_attributions_are_coefficient_times_centred_value(german, german_logistic):
    r = explain(german_logistic, german, background=1000, permutation=False)
    assert r.meta["method"] == "linear"
    X = german.X.to_numpy(dtype=float)
    expected = german_logistic.coef_[0] * (X - X.mean(axis=0))  # background = every row
    np.testing.assert_allclose(r.attributions.to_numpy(), expected, rtol=1e-9, atol=1e-12)


def test_global_and_group_importance_are_the_means_of_absolute_values(german, german_forest):
    r = explain(german_forest, german, random_state=0)
    absolute = r.attributions.abs()
    mean = absolute.mean().sort_values(ascending=False)
    assert list(r.importance["feature"]) == list(mean.index)
    np.testing.assert_allclose(r.importance["mean_abs"], mean.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(r.importance["share"].sum(), 1.0, rtol=1e-12)
    sex = german.frame.loc[absolute.index, "sex"].astype(str)
    manual = absolute.groupby(sex.to_numpy()).mean()
    got = r.group_importance[r.group_importance["attribute"] == "sex"].pivot(
        index="group", columns="feature", values="mean_abs"
    )
    np.testing.assert_allclose(got.loc[manual.index, manual.columns], manual, rtol=1e-12)
    # the permutation cross-check is scikit-learn's, and its agreement is a Spearman correlation
    from scipy.stats import spearmanr

    rho = spearmanr(r.importance["mean_abs"], r.importance["permutation_mean"]).statistic
    assert r.agreement["spearman"] == pytest.approx(rho, abs=1e-12)


def test_beeswarm_distribution_counts_every_row(german, german_forest):
    r = explain(german_forest, german, max_rows=400, permutation=False)
    counts = r.distribution.groupby("feature")["count"].sum()
    assert (counts == 400).all()
    figures = r.figures()
    assert len(figures) >= 3
    # aggregates only: no figure trace has one mark per explained row
    for fig in figures:
        for trace in fig.data:
            if getattr(trace, "x", None) is not None:
                assert len(trace.x) < 400


def test_sensitive_input_that_ranks_high_is_a_warning():
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    n = 1500
    s = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {"s": s, "x1": rng.normal(size=n), "x2": rng.normal(size=n), "noise": rng.normal(size=n)}
    )
    frame["y"] = ((2 * s + frame["x1"] + rng.normal(0, 0.5, n)) > 1).astype(int)
    ds = Dataset(frame, target="y", sensitive="s", features=["s", "x1", "x2", "noise"])
    model = RandomForestClassifier(n_estimators=30, max_depth=4, random_state=0).fit(ds.X, ds.y)
    r = explain(model, ds, max_rows=500)
    assert r.importance.iloc[0]["feature"] == "s"
    titles = [f.title for f in r.findings if f.severity == "warning"]
    assert any("Sensitive attribute s is a model input and ranks high" in t for t in titles)


@pytest.mark.slow
def test_adult_categorical_boosting_uses_permutation_explainer(adult_sex):
    from scipy.stats.contingency import association

    _, test, _ = adult_sex
    test = test.replace(features=[f for f in test.feature_names if f != "sex"])
    from sklearn.ensemble import HistGradientBoostingClassifier

    small = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=20, random_state=0
    ).fit(test.X, test.y)
    assert choose_method(small, test.X) == "permutation"
    r = explain(small, test, max_rows=120, background=30, n_repeats=3, random_state=0)
    X = test.X.loc[r.attributions.index]
    total = r.attributions.sum(axis=1).to_numpy() + r.meta["base_value"]
    np.testing.assert_allclose(total, small.predict_proba(X)[:, 1], atol=1e-6)
    rel = r.importance.set_index("feature").loc["relationship"]
    table = pd.crosstab(test.frame["relationship"], test.frame["sex"]).to_numpy()
    assert rel["proxy_for"] == "sex"
    assert rel["proxy_strength"] == pytest.approx(association(table, method="cramer"), abs=1e-9)
    high = r.importance[
        ((r.importance["rank"] <= 3) | (r.importance["share"] >= 0.1))
        & (r.importance["proxy_strength"] >= 0.5)
    ]
    warned = {f.slice for f in r.findings if "strong proxy" in f.title}
    assert warned == set(high["feature"]) and "relationship" in warned


def test_json_round_trip_and_html(german, german_forest):
    r = explain(german_forest, german, max_rows=100)
    back = Result.from_json(r.to_json())
    assert isinstance(back, ExplanationResult)
    pd.testing.assert_frame_equal(back.attributions, r.attributions)
    pd.testing.assert_frame_equal(back.importance, r.importance)
    assert back.agreement == r.agreement
    page = r.to_html(title="explain")
    assert "Beeswarm" in page and "Importance per sex group" in page
    label = r.attributions.index[0]
    assert r.local(label).abs().is_monotonic_decreasing


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "magic"}, r"explain\(\): method must be one of"),
        ({"background": 0}, r"explain\(\): background must be an integer >= 1"),
        ({"max_rows": 1}, r"explain\(\): max_rows must be an integer >= 2"),
        ({"n_repeats": 0}, r"explain\(\): n_repeats must be"),
        ({"random_state": -1}, r"explain\(\): random_state must be"),
        ({"include": [10**6]}, r"explain\(\): include has row positions"),
    ],
)
def test_bad_arguments_raise_clear_errors(german, german_forest, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        explain(german_forest, german, **kwargs)


def test_bad_inputs_raise_clear_errors(german, german_forest):
    with pytest.raises(ParameterError, match="must be a raikit Dataset"):
        explain(german_forest, german.X)
    with pytest.raises(ParameterError, match=r"explain\(\): model must be a fitted estimator"):
        explain(object(), german)


def test_audit_section(german, german_forest):
    ctx = SimpleNamespace(model=german_forest, test=german, random_state=0)
    out = explain_section(ctx)
    assert set(out) == {"explain.explain"} and out["explain.explain"].meta["n_rows"] == 1000
    assert explain_section(SimpleNamespace(model=None, test=german, random_state=0)) == {}


def test_regression_model(german):
    from sklearn.ensemble import RandomForestRegressor

    ds = german.replace(target="credit_amount", features=["duration_months", "age"])
    model = RandomForestRegressor(n_estimators=20, max_depth=4, random_state=0).fit(ds.X, ds.y)
    r = explain(model, ds, max_rows=200)
    assert r.meta["units"] == "prediction"
    X = ds.X.loc[r.attributions.index]
    total = r.attributions.sum(axis=1).to_numpy() + r.meta["base_value"]
    np.testing.assert_allclose(total, model.predict(X), rtol=1e-8)
    assert r.importance.iloc[0]["feature"] == "duration_months"


def test_ci_sets_the_level_of_every_importance_interval(german, german_forest):
    from scipy.stats import norm

    kwargs = {"max_rows": 150, "n_repeats": 3, "random_state": 0}
    wide = explain(german_forest, german, **kwargs)
    narrow = explain(german_forest, german, ci=0.5, **kwargs)
    expected = norm.ppf(0.75) / norm.ppf(0.975)
    for column in ("mean_abs", "permutation_mean"):
        np.testing.assert_allclose(narrow.importance[column], wide.importance[column], rtol=0)
    for prefix in ("", "permutation_"):
        width = {
            name: r.importance[f"{prefix}upper"] - r.importance[f"{prefix}lower"]
            for name, r in (("wide", wide), ("narrow", narrow))
        }
        if not prefix:  # the lower bound is clipped at 0; compare the upper half-width
            width = {
                name: r.importance["upper"] - r.importance["mean_abs"]
                for name, r in (("wide", wide), ("narrow", narrow))
            }
        np.testing.assert_allclose(width["narrow"] / width["wide"], expected, rtol=1e-9)
    gi_wide, gi_narrow = wide.group_importance, narrow.group_importance
    ratio = (gi_narrow["upper"] - gi_narrow["mean_abs"]) / (gi_wide["upper"] - gi_wide["mean_abs"])
    np.testing.assert_allclose(ratio.dropna(), expected, rtol=1e-9)
    assert narrow.meta["ci"] == 0.5 and "50% CI" in narrow.figures()[0].layout.title.text
    with pytest.raises(ParameterError, match="ci must be"):
        explain(german_forest, german, ci=0, **kwargs)


@pytest.mark.parametrize(
    ("make", "method"),
    [
        ("forest", "tree"),  # shap gives (n, F, 2): the column of pos_label is picked
        ("boosting", "tree"),  # one margin for classes_[1]: its sign flips for classes_[0]
        ("logistic", "linear"),  # one margin too
        ("logistic", "permutation"),  # predict_proba's column of pos_label
    ],
)
def test_explains_pos_label_not_the_last_class(approval, make, method):
    # 'approved' sorts first, so classes_[-1] (the old default) is 'denied'
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    ds, _ = approval
    model = {
        "forest": RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0),
        "boosting": GradientBoostingClassifier(n_estimators=20, random_state=0),
        "logistic": LogisticRegression(max_iter=2000),
    }[make].fit(ds.X, ds.y)
    assert list(model.classes_) == ["approved", "denied"]
    kwargs = {"method": method, "max_rows": 60, "background": 30, "permutation": False}
    with pytest.raises(DataError, match="pos_label"):
        explain(model, ds, random_state=0, **kwargs)
    r = explain(model, ds, pos_label="approved", random_state=0, **kwargs)
    assert r.meta["pos_label"] == "approved"
    X = ds.X.loc[r.attributions.index]
    total = r.attributions.sum(axis=1).to_numpy() + r.meta["base_value"]
    p = model.predict_proba(X)[:, 0]  # P('approved')
    if r.meta["units"] == "log-odds":
        expected = np.log(p / (1 - p))
    else:
        expected = p
    np.testing.assert_allclose(total, expected, atol=1e-6)
    # the other class gives the mirror image (P and 1 - P, log-odds and minus log-odds)
    other = explain(model, ds, pos_label="denied", random_state=0, **kwargs)
    np.testing.assert_allclose(other.attributions.to_numpy(), -r.attributions.to_numpy(), atol=1e-6)


def test_multiclass_needs_the_class_to_explain(german):
    from sklearn.ensemble import RandomForestClassifier

    ds = german.replace(target="installment_rate", features=["duration_months", "age"])
    model = RandomForestClassifier(n_estimators=10, max_depth=3, random_state=0)
    model = model.fit(ds.X, ds.y)
    with pytest.raises(ParameterError, match="name the class to explain with pos_label"):
        explain(model, ds, max_rows=50, permutation=False, random_state=0)
    label = model.classes_[0]
    r = explain(model, ds, max_rows=50, permutation=False, random_state=0, pos_label=label)
    X = ds.X.loc[r.attributions.index]
    total = r.attributions.sum(axis=1).to_numpy() + r.meta["base_value"]
    np.testing.assert_allclose(total, model.predict_proba(X)[:, 0], atol=1e-6)


def test_track_records_one_explain_row(tmp_path, german, german_forest):
    import json

    import raikit
    from raikit.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("explain", ledger=ledger) as run:
        explain(german_forest, german, max_rows=50, n_repeats=2)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["explain.explain"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["max_rows"] == 50 and params["n_repeats"] == 2
    assert params["method"] == "auto" and isinstance(params["random_state"], int)


def _minority_driven_by_x1(n=20_000, seed=0):
    """99% of rows in group A, 1% in B; x1 varies ten times more in B, so B's rows carry ten
    times A's mean |SHAP| of x1 under y = x1 + x2."""
    rng = np.random.default_rng(seed)
    s = np.where(np.arange(n) < n // 100, "B", "A")
    x1 = rng.normal(size=n) * np.where(s == "B", 10.0, 1.0)
    x2 = rng.normal(size=n)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "s": s, "y": x1 + x2})
    return Dataset(frame, target="y", sensitive="s", features=["x1", "x2"])


def test_max_rows_explains_a_stratified_sample_and_reweights_it():
    from sklearn.linear_model import LinearRegression

    ds = _minority_driven_by_x1()
    model = LinearRegression().fit(ds.X, ds.y)
    kwargs = {"background": 100, "permutation": False, "random_state": 0}
    full = explain(model, ds, **kwargs)
    sampled = explain(model, ds, max_rows=300, **kwargs)
    # every group kept: 30 rows each first, the other 240 in proportion to what is left, so B
    # has 32 rows (10.7% of the sample for 1% of the data)
    groups = sampled.group_importance.set_index(["group", "feature"])
    assert groups.loc[("B", "x1"), "n"] == 32 and groups.loc[("A", "x1"), "n"] == 268
    assert sampled.meta["n_rows"] == 300 and sampled.meta["n_rows_data"] == 20_000
    strata = sampled.meta["sampling"].set_index("s")
    assert strata["population"].to_dict() == {"A": 19_800, "B": 200}
    assert strata.loc["B", "weight"] == pytest.approx(200 / 32)
    assert "on a sample of 300 of 20,000 rows, stratified by group and reweighted" in (
        sampled.summary
    )
    assert full.meta["sampling"] is None and "sample" not in full.summary
    back = ExplanationResult.from_json(sampled.to_json())
    assert back.summary == sampled.summary and back.meta["sampling"].equals(
        sampled.meta["sampling"]
    )
    # reweighted: the overall mean |SHAP| of x1 is the population's (within its interval); the
    # unweighted mean of the sample (B's rows 10x over-represented) is far above it
    row = sampled.importance.set_index("feature").loc["x1"]
    truth = full.importance.set_index("feature").loc["x1", "mean_abs"]
    naive = sampled.attributions["x1"].abs().mean()
    assert row["lower"] <= truth <= row["upper"]
    assert not row["lower"] <= naive <= row["upper"] and naive > 1.4 * truth
    w = np.where(sampled.attributions.index < 200, 200 / 32, 19_800 / 268)
    assert row["mean_abs"] == pytest.approx(np.average(sampled.attributions["x1"].abs(), weights=w))
    # per group: each group's own rows, each within its interval of the full data's value
    whole = full.group_importance.set_index(["group", "feature"])
    for key in [("A", "x1"), ("B", "x1"), ("A", "x2"), ("B", "x2")]:
        assert groups.loc[key, "lower"] <= whole.loc[key, "mean_abs"] <= groups.loc[key, "upper"]
    # the sample's intervals are wider than the full data's
    width = row["upper"] - row["lower"]
    full_row = full.importance.set_index("feature").loc["x1"]
    assert width > full_row["upper"] - full_row["lower"] > 0


def test_every_row_explained_when_the_data_fits(german, german_forest):
    """max_rows at or above the data's size explains every row, unweighted, as before: the
    importance is the plain mean |SHAP| with the normal interval at n rows."""
    from raikit.metrics._stats import z_value

    r = explain(german_forest, german, permutation=False, random_state=0)
    same = explain(german_forest, german, max_rows=german.n_rows, permutation=False, random_state=0)
    pd.testing.assert_frame_equal(r.importance, same.importance)
    pd.testing.assert_frame_equal(r.group_importance, same.group_importance)
    assert r.meta["sampling"] is None and r.meta["n_rows"] == german.n_rows
    absolute = r.attributions.abs()
    half = z_value(0.95) * absolute.std(ddof=1) / np.sqrt(len(absolute))
    row = r.importance.set_index("feature")
    np.testing.assert_allclose(row["mean_abs"], absolute.mean()[row.index], rtol=1e-12)
    np.testing.assert_allclose(row["upper"], (absolute.mean() + half)[row.index], rtol=1e-10)


def test_include_adds_rows_outside_the_sample_at_weight_zero():
    from sklearn.linear_model import LinearRegression

    ds = _minority_driven_by_x1(n=5_000)
    model = LinearRegression().fit(ds.X, ds.y)
    kwargs = {"permutation": False, "random_state": 0, "max_rows": 200}
    plain = explain(model, ds, **kwargs)
    extra = [p for p in range(60, 4_999, 97) if p not in set(plain.attributions.index)][:5]
    wider = explain(model, ds, include=extra, **kwargs)
    assert set(extra) <= set(wider.attributions.index) and wider.meta["n_rows"] == 205
    pd.testing.assert_frame_equal(plain.importance, wider.importance)
