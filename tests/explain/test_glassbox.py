"""glassbox_baseline() and fit_glassbox(): InterpretML's EBM next to the black box, on the same
held-out rows, with paired intervals and per-group term importances."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from interpret.glassbox import ExplainableBoostingClassifier, ExplainableBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression

import raikit
from raikit import Dataset, Result
from raikit._errors import DataError, ParameterError
from raikit.explain import GlassboxResult, fit_glassbox, glassbox_baseline

FAST = {"max_rounds": 100, "n_boot": 200}


@pytest.fixture(scope="module")
def credit():
    from raikit.datasets import load_german_credit

    ds = load_german_credit()
    keep = ["duration_months", "credit_amount", "age", "checking_account", "savings"]
    return ds.replace(features=keep)


@pytest.fixture(scope="module")
def halves(credit):
    return credit.split(0.3, random_state=0)


@pytest.fixture(scope="module")
def black(halves):
    train, _ = halves
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = ["duration_months", "credit_amount", "age"]
    encode = make_column_transformer(
        (StandardScaler(), numeric),
        (OneHotEncoder(handle_unknown="ignore"), ["checking_account", "savings"]),
    )
    model = make_pipeline(encode, LogisticRegression(max_iter=2000)).fit(train.X, train.y)
    return model, list(train.X.columns)


def test_baseline_is_interpret_ebm_with_interprets_own_predictions(halves):
    train, test = halves
    ebm = fit_glassbox(train, interactions=2, max_rounds=150, random_state=3)
    assert isinstance(ebm, ExplainableBoostingClassifier)
    reference = ExplainableBoostingClassifier(
        interactions=2, max_rounds=150, random_state=3, outer_bags=1, learning_rate=0.1, n_jobs=1
    ).fit(train.X, train.y)
    np.testing.assert_array_equal(ebm.predict(test.X), reference.predict(test.X))
    np.testing.assert_allclose(
        ebm.predict_proba(test.X), reference.predict_proba(test.X), rtol=0, atol=1e-12
    )
    assert len(ebm.term_names_) == len(train.feature_names) + 2


def test_gap_matches_hand_computation_and_its_interval_covers_it(halves, black):
    train, test = halves
    model, numeric = black
    r = glassbox_baseline(model, train, test=test, random_state=0, **FAST)
    ebm = fit_glassbox(train.for_model(model), max_rounds=100, random_state=0)
    black_right = model.predict(test.X[numeric]) == test.y.to_numpy()
    glass_right = ebm.predict(test.X[numeric]) == test.y.to_numpy()
    frame = pd.DataFrame(
        {
            "sex": test.frame["sex"].astype(str).to_numpy(),
            "d": black_right.astype(float) - glass_right,
        }
    )
    gap = r.gap.set_index(["attribute", "group"])
    assert gap.loc[("overall", "overall"), "gap"] == pytest.approx(frame["d"].mean(), abs=1e-12)
    assert gap.loc[("overall", "overall"), "blackbox"] == pytest.approx(black_right.mean())
    for group, value in frame.groupby("sex")["d"].mean().items():
        assert gap.loc[("sex", group), "gap"] == pytest.approx(value, abs=1e-12)
        assert gap.loc[("sex", group), "n"] == (frame["sex"] == group).sum()
    assert (r.gap["lower"] <= r.gap["gap"]).all() and (r.gap["gap"] <= r.gap["upper"]).all()
    assert (r.gap["upper"] - r.gap["lower"] > 0).all()
    assert r.meta["glassbox"] == "ExplainableBoostingClassifier (InterpretML)"
    assert r.meta["blackbox"] == "Pipeline" and r.meta["metric"] == "accuracy"
    assert isinstance(Result.from_json(r.to_json()), GlassboxResult)
    assert len(r.figures()) == 3


def test_identical_models_give_a_zero_gap_with_a_non_zero_interval(halves):
    """The black box IS the glass box: every row agrees, yet the interval has width and the
    finding says plainly that the complex model is not justified."""
    train, test = halves
    same = fit_glassbox(train, max_rounds=100, random_state=0)
    r = glassbox_baseline(same, train, test=test, random_state=0, **FAST)
    np.testing.assert_array_equal(r.gap["gap"], 0.0)
    assert (r.gap["lower"] < 0).all() and (r.gap["upper"] > 0).all()
    assert set(r.gap["verdict"]) == {"as good"}
    assert r.findings[0].title == "The complex model is not justified by accuracy"
    assert "as good within the 95% interval" in r.summary


def test_clearly_worse_glass_box_is_said_plainly():
    """A target that is the XOR of two features: an additive model without interactions cannot
    learn it, a tree ensemble can."""
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    n = 2000
    a, b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {"a": a, "b": b, "noise": rng.normal(size=n), "g": rng.choice(["x", "y"], n)}
    )
    frame["y"] = a ^ b
    ds = Dataset(frame, target="y", sensitive="g", features=["a", "b", "noise"])
    train, test = ds.split(0.3, random_state=0)
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(train.X, train.y)
    r = glassbox_baseline(forest, train, test=test, interactions=0, random_state=0, **FAST)
    overall = r.gap.iloc[0]
    assert overall["blackbox"] == 1.0 and overall["glassbox"] < 0.7
    assert overall["verdict"] == "black box better" and overall["lower"] > 0.25
    assert r.findings[0].title == "The black box is clearly more accurate than the glass box"


def test_importance_per_group_equals_hand_computation(halves, black):
    train, test = halves
    model, numeric = black
    r = glassbox_baseline(model, train, test=test, random_state=0, **FAST)
    ebm = fit_glassbox(train.for_model(model), max_rounds=100, random_state=0)
    contributions = np.abs(ebm.eval_terms(test.X[numeric]))
    by_group = pd.DataFrame(contributions, columns=ebm.term_names_)
    by_group["age_group"] = test.frame["age_group"].astype(str).to_numpy()
    expected = by_group.groupby("age_group").mean()
    got = r.importance[r.importance["attribute"] == "age_group"]
    for row in got.itertuples(index=False):
        assert row.mean_abs == pytest.approx(expected.loc[row.group, row.term], rel=1e-12)
        assert row.lower <= row.mean_abs <= row.upper
        # zero width only for a term that is 0 in every bin (exactly 0 for any row)
        scores = ebm.term_scores_[list(ebm.term_names_).index(row.term)]
        assert row.upper > row.lower or not np.any(scores)
    overall = r.importance[r.importance["attribute"] == "overall"].set_index("term")
    np.testing.assert_allclose(overall["share"].sum(), 1.0)
    assert overall["rank"].min() == 1 and sorted(overall["rank"]) == list(
        range(1, 1 + len(overall))
    )


def test_overall_importance_on_training_rows_is_interprets_term_importance(halves):
    """On the rows it was fitted on, the mean |contribution| is interpret's own avg_weight."""
    train, _ = halves
    r = glassbox_baseline(None, train, test=train, interactions=0, random_state=0, **FAST)
    ebm = fit_glassbox(train, interactions=0, max_rounds=100, random_state=0)
    overall = r.importance[r.importance["attribute"] == "overall"].set_index("term")
    reference = pd.Series(ebm.term_importances(), index=ebm.term_names_)
    np.testing.assert_allclose(overall.loc[reference.index, "mean_abs"], reference, rtol=1e-9)


def test_shapes_are_aggregate_curves_of_the_top_terms(halves, black):
    train, test = halves
    model, _ = black
    r = glassbox_baseline(model, train, test=test, top_k=2, random_state=0, **FAST)
    top = r.importance[r.importance["attribute"] == "overall"].nsmallest(2, "rank")["term"]
    assert list(r.shapes["term"].unique()) == list(top)
    assert r.shapes.groupby("term").size().max() <= 11  # a few points per curve
    assert r.shapes.groupby("term")["n"].sum().eq(test.n_rows).all()
    ebm = fit_glassbox(train.for_model(model), max_rounds=100, random_state=0)
    term = top.iloc[0]
    column = ebm.eval_terms(test.X[ebm.feature_names_in_])[:, list(ebm.term_names_).index(term)]
    first = r.shapes[r.shapes["term"] == term]
    # n-weighted mean of the bins' mean contributions is the mean contribution
    assert np.average(first["contribution"], weights=first["n"]) == pytest.approx(column.mean())


def test_pos_label_sets_the_sign_of_the_contributions(approval):
    ds, model = approval
    train, test = ds.split(0.3, random_state=0)
    with pytest.raises(DataError, match="pos_label"):
        glassbox_baseline(model, train, test=test, **FAST)
    kwargs = {"test": test, "random_state": 0, **FAST}
    denied = glassbox_baseline(model, train, pos_label="denied", **kwargs)  # classes_[1]
    approved = glassbox_baseline(model, train, pos_label="approved", **kwargs)
    assert approved.meta["pos_label"] == "approved" and denied.meta["units"] == "log-odds"
    np.testing.assert_allclose(approved.shapes["contribution"], -denied.shapes["contribution"])
    assert set(approved.shapes["output"]) == {"approved"}
    pd.testing.assert_frame_equal(approved.gap, denied.gap)  # accuracy has no positive label


def test_regression_compares_mean_absolute_error():
    rng = np.random.default_rng(1)
    n = 900
    x1, x2 = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    group = rng.choice(["a", "b", "c"], n)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "g": group})
    frame["y"] = np.sin(2 * x1) + 0.5 * x2**2 + rng.normal(scale=0.1, size=n)
    ds = Dataset(frame, target="y", sensitive="g", features=["x1", "x2"])
    train, test = ds.split(0.3, random_state=0)
    line = LinearRegression().fit(train.X, train.y)
    r = glassbox_baseline(line, train, test=test, random_state=0, **FAST)
    ebm = fit_glassbox(train, max_rounds=100, random_state=0)
    assert isinstance(ebm, ExplainableBoostingRegressor)
    y = test.y.to_numpy()
    black_error = np.abs(y - line.predict(test.X))
    glass_error = np.abs(y - ebm.predict(test.X))
    overall = r.gap.iloc[0]
    assert overall["metric"] == "mean_absolute_error" and r.meta["task"] == "regression"
    assert overall["blackbox"] == pytest.approx(black_error.mean(), rel=1e-12)
    assert overall["glassbox"] == pytest.approx(glass_error.mean(), rel=1e-12)
    assert overall["gap"] == pytest.approx((glass_error - black_error).mean(), rel=1e-12)
    # a linear model cannot follow sin and x²: the additive glass box is clearly better
    assert overall["verdict"] == "glass box better" and overall["upper"] < 0
    assert r.findings[0].title == "The glass box is clearly more accurate than the black box"
    assert r.meta["units"] == "units of the target" and set(r.shapes["output"]) == {"prediction"}


def test_multiclass_averages_the_classes_and_shows_each_class_shape():
    rng = np.random.default_rng(2)
    n = 900
    x = rng.normal(size=(n, 2))
    label = np.select([x[:, 0] > 0.5, x[:, 1] > 0], ["hi", "mid"], "lo")
    frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "y": label, "g": rng.choice(["p", "q"], n)})
    ds = Dataset(frame, target="y", sensitive="g", features=["x0", "x1"])
    train, test = ds.split(0.3, random_state=0)
    r = glassbox_baseline(None, train, test=test, interactions=0, top_k=1, random_state=0, **FAST)
    ebm = fit_glassbox(train, interactions=0, max_rounds=100, random_state=0)
    expected = np.abs(ebm.eval_terms(test.X)).mean(axis=(0, 2))
    overall = r.importance[r.importance["attribute"] == "overall"]
    np.testing.assert_allclose(overall["mean_abs"], expected, rtol=1e-12)
    assert set(r.shapes["output"]) == {"hi", "lo", "mid"} and r.meta["units"] == "logits"


def test_ci_sets_the_level_of_the_intervals(halves, black):
    train, test = halves
    model, _ = black
    wide = glassbox_baseline(model, train, test=test, random_state=0, **FAST)
    narrow = glassbox_baseline(model, train, test=test, ci=0.5, random_state=0, **FAST)
    pd.testing.assert_series_equal(wide.gap["gap"], narrow.gap["gap"])
    assert (
        (narrow.gap["upper"] - narrow.gap["lower"]) < (wide.gap["upper"] - wide.gap["lower"])
    ).all()


def test_errors(credit):
    with pytest.raises(ParameterError, match=r"glassbox_baseline\(\): test_size must be"):
        glassbox_baseline(None, credit, test_size=1.5)
    with pytest.raises(ParameterError, match=r"glassbox_baseline\(\): n_boot must be"):
        glassbox_baseline(None, credit, n_boot=0)
    with pytest.raises(ParameterError, match=r"glassbox_baseline\(\): interactions must be"):
        glassbox_baseline(None, credit, interactions=-1)
    with pytest.raises(ParameterError, match=r"glassbox_baseline\(\): top_k must be"):
        glassbox_baseline(None, credit, top_k=0)
    with pytest.raises(ParameterError, match=r"glassbox_baseline\(\): model must be"):
        glassbox_baseline(credit, credit)  # the old glassbox_baseline(ds) order
    with pytest.raises(ParameterError, match="raikit Dataset"):
        glassbox_baseline(None, credit.frame)
    with pytest.raises(ParameterError, match=r"fit_glassbox\(\): task must be"):
        fit_glassbox(credit, task="ranking")
    with pytest.raises(ParameterError, match=r"fit_glassbox\(\): max_rounds must be"):
        fit_glassbox(credit, max_rounds=0)
    unlabelled = credit.replace(target=None)
    with pytest.raises(DataError, match="target"):
        glassbox_baseline(None, unlabelled)


def test_track_records_one_row(tmp_path, halves, black):
    from raikit.ledger import Ledger

    train, test = halves
    model, _ = black
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("glassbox", ledger=ledger) as run:
        glassbox_baseline(model, train, test=test, interactions=1, **FAST)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["explain.glassbox_baseline"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["interactions"] == 1 and params["max_rounds"] == 100 and params["ci"] == 0.95
    assert isinstance(params["random_state"], int)


def test_audit_section_compares_on_the_test_rows_and_draws_one_figure(halves, black):
    from raikit.audit import audit

    train, test = halves
    model, _ = black
    report = audit(model, train=train, test=test, n_boot=200, sections=["glassbox"], random_state=0)
    assert report.meta["sections"]["explain.glassbox_baseline"] == "glassbox"
    result = report.results["explain.glassbox_baseline"]
    direct = glassbox_baseline(model, train, test=test, n_boot=200, random_state=0)
    pd.testing.assert_frame_equal(result.gap, direct.gap)  # no sample below 10,000/4,000 rows
    pd.testing.assert_frame_equal(result.importance, direct.importance)
    assert result.shapes.empty and not direct.shapes.empty  # left out of the page
    assert "sampled_from" not in result.meta and len(result.figures()) == 1
    assert result.gap.iloc[0]["n"] == test.n_rows
    page = report.to_html()
    assert "Is the complex model worth it?" in page
    assert result.findings[0].title in page


def test_hostile_names_are_escaped_in_the_page(tmp_path):
    rng = np.random.default_rng(3)
    n = 400
    evil = "<script>alert(1)</script>"
    frame = pd.DataFrame(
        {evil: rng.normal(size=n), "x": rng.normal(size=n), "g": rng.choice([evil, "b"], n)}
    )
    frame["y"] = (frame[evil] + rng.normal(size=n) > 0).astype(int)
    ds = Dataset(frame, target="y", sensitive="g", features=[evil, "x"])
    r = glassbox_baseline(None, ds, interactions=0, random_state=0, **FAST)
    assert evil in set(r.importance["term"]) and evil in set(r.gap["group"])
    page = r.to_html(tmp_path / "glassbox.html")
    assert evil not in page


def test_audit_section_samples_large_data_by_group_and_says_so(monkeypatch, halves, black):
    from types import SimpleNamespace

    import raikit.explain._glassbox as module
    from raikit.explain import glassbox_section

    monkeypatch.setattr(module, "_AUDIT_ROWS", {"train": 300, "test": 150})
    train, test = halves
    model, _ = black
    ctx = SimpleNamespace(
        model=model, train=train, test=test, ci=0.95, n_boot=100, random_state=0, pos_label=None
    )
    result = glassbox_section(ctx)["explain.glassbox_baseline"]
    assert result.meta["sampled_from"] == {"train": 700, "test": 300}
    assert 150 <= result.meta["n_test"] < 300 and 300 <= result.meta["n_train"] < 700
    assert "samples by group of 700 training and 300 test rows, reweighted" in result.summary
    assert glassbox_section(SimpleNamespace(model=None)) == {}
