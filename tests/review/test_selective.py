"""SelectiveClassifier: the coverage and risk guarantees checked empirically on real Adult scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from raikit._errors import DataError, ParameterError, RaikitWarning
from raikit._result import Result
from raikit.review import SelectiveClassifier, SelectiveResult


def _splits(n: int, n_splits: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(n_splits):
        perm = rng.permutation(n)
        yield perm[: n // 2], perm[n // 2 :]


def test_threshold_is_the_conformal_order_statistic(scored_frame, score_model):
    # Hand-computed: k = floor((n + 1) * (1 - coverage)), threshold = k-th smallest confidence.
    frame = scored_frame.iloc[:3001]
    sel = SelectiveClassifier(score_model, prefit=True, coverage=0.8).fit(
        frame[["score"]], frame["y"], sensitive_features=frame["sex"]
    )
    conf = np.maximum(frame["score"], 1 - frame["score"]).to_numpy()
    for group in ("Female", "Male"):
        c = np.sort(conf[frame["sex"].to_numpy() == group])
        k = int(np.floor((len(c) + 1) * 0.2))
        assert sel.thresholds_[group] == c[k - 1]
    c = np.sort(conf)
    assert sel.thresholds_["overall"] == c[int(np.floor(3002 * 0.2)) - 1]


@pytest.mark.parametrize("coverage", [0.7, 0.9])
def test_coverage_guarantee_holds_per_group(scored_frame, score_model, coverage):
    # Split conformal: E[test coverage] >= coverage in every group, and exceeds it by at most
    # 1/(n_group + 1) plus ties. 100 random calibration/test splits of the 16,281 Adult rows.
    X, y, s = scored_frame[["score"]], scored_frame["y"], scored_frame["sex"]
    per_split = []
    for cal, test in _splits(len(X), 100):
        sel = SelectiveClassifier(score_model, prefit=True, coverage=coverage).fit(
            X.iloc[cal], y.iloc[cal], sensitive_features=s.iloc[cal]
        )
        out = sel.select(X.iloc[test], sensitive_features=s.iloc[test])
        per_split.append((~out["abstain"]).groupby(out["group"].to_numpy()).mean())
    mean = pd.concat(per_split, axis=1).mean(axis=1)
    assert set(mean.index) == {"Female", "Male"}
    # Tolerance: Monte-Carlo error of a mean over 100 splits is ~0.0005; allow 0.003.
    assert (mean >= coverage - 0.003).all(), mean
    assert (mean <= coverage + 0.02).all(), mean  # ties in HGB scores allow a little more


def test_group_aware_equalises_coverage(scored_frame, score_model):
    X, y, s = scored_frame[["score"]], scored_frame["y"], scored_frame["sex"]
    cal, test = next(_splits(len(X), 1, seed=1))
    common = SelectiveClassifier(score_model, prefit=True, coverage=0.8, group_aware=False).fit(
        X.iloc[cal], y.iloc[cal]
    )
    per_group = SelectiveClassifier(score_model, prefit=True, coverage=0.8).fit(
        X.iloc[cal], y.iloc[cal], sensitive_features=s.iloc[cal]
    )
    groups = s.iloc[test].to_numpy()
    shared = (~common.select(X.iloc[test])["abstain"]).groupby(groups).mean()
    aware = (
        (~per_group.select(X.iloc[test], sensitive_features=s.iloc[test])["abstain"])
        .groupby(groups)
        .mean()
    )
    # One threshold automates women (mostly confident negatives) far more than men on Adult.
    assert shared["Female"] - shared["Male"] > 0.05
    assert (aware - 0.8).abs().max() < 0.02


def test_risk_control_guarantee(scored_frame, score_model):
    # With probability >= 1 - delta the error among automated rows is <= max_risk. Over 60 splits
    # the share of splits whose test selective error exceeds max_risk must stay <= delta; the
    # naive rule (empirical calibration error <= max_risk) violates it far more often.
    X, y = scored_frame[["score"]], scored_frame["y"]
    max_risk, delta = 0.05, 0.1
    violations, coverages, naive_violations = [], [], []
    conf_all = np.maximum(X["score"], 1 - X["score"]).to_numpy()
    err_all = ((X["score"].to_numpy() >= 0.5).astype(int) != y.to_numpy()).astype(float)
    for cal, test in _splits(len(X), 60, seed=2):
        sel = SelectiveClassifier(
            score_model, prefit=True, max_risk=max_risk, delta=delta, group_aware=False
        )
        sel.fit(X.iloc[cal], y.iloc[cal])
        out = sel.select(X.iloc[test])
        keep = ~out["abstain"].to_numpy()
        risk = float(np.mean(out["prediction"].to_numpy()[keep] != y.iloc[test].to_numpy()[keep]))
        violations.append(risk > max_risk)
        coverages.append(keep.mean())
        # naive: lowest threshold whose calibration error among accepted is <= max_risk
        order = np.argsort(-conf_all[cal])
        cum = np.cumsum(err_all[cal][order]) / np.arange(1, len(cal) + 1)
        ok = np.nonzero(cum <= max_risk)[0]
        t = conf_all[cal][order][ok.max()]
        naive_keep = conf_all[test] >= t
        naive_violations.append(err_all[test][naive_keep].mean() > max_risk)
    assert np.mean(violations) <= delta
    assert np.mean(coverages) > 0.4  # the guarantee is not met by abstaining on everything
    assert np.mean(naive_violations) > np.mean(violations)


def test_evaluate_result_and_round_trip(scored_frame, score_model, tmp_path):
    X, y, s = scored_frame[["score"]], scored_frame["y"], scored_frame[["sex", "race"]]
    sel = SelectiveClassifier(score_model, prefit=True, coverage=0.85).fit(
        X.iloc[:8000], y.iloc[:8000], sensitive_features=s.iloc[:8000]
    )
    result = sel.evaluate(X.iloc[8000:], y.iloc[8000:], sensitive_features=s.iloc[8000:])
    overall = result.table.set_index("group").loc["overall"]
    assert overall["n"] == len(X) - 8000
    assert overall["coverage_lower"] <= overall["coverage"] <= overall["coverage_upper"]
    assert overall["selective_risk"] < overall["full_risk"]  # abstaining removes errors
    # small intersections (e.g. Female & Other) fall back to the overall threshold
    assert any(f.title == "Group too small to calibrate" for f in result.findings)
    back = Result.from_json(result.to_json())
    assert isinstance(back, SelectiveResult)
    pd.testing.assert_frame_equal(back.table, result.table)
    assert "Coverage and selective error" in result.to_html(tmp_path / "s.html")
    assert "coverage 0.8" in result.summary


def test_predict_gives_a_label_for_every_row_and_the_mask_says_where_to_abstain(
    scored_frame, score_model
):
    X, y = scored_frame[["score"]], scored_frame["y"]
    sel = SelectiveClassifier(score_model, prefit=True, coverage=0.5, group_aware=False).fit(X, y)
    pred = sel.predict(X)
    abstain = sel.predict_abstain(X)
    assert abstain.dtype == bool and abstain.shape == pred.shape == (len(X),)
    np.testing.assert_array_equal(pred, score_model.predict(X))  # never None
    assert abstain.mean() == pytest.approx(0.5, abs=0.02)
    conf = np.maximum(X["score"], 1 - X["score"]).to_numpy()
    np.testing.assert_array_equal(abstain, conf < sel.thresholds_["overall"])


def test_unfitted_estimator_is_cloned_fitted_and_calibrated_on_held_out_rows():
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 2))
    y = (X[:, 0] + rng.normal(size=1000) > 0).astype(int)
    s = rng.choice(["a", "b"], 1000)
    base = LogisticRegression()
    sel = SelectiveClassifier(base, coverage=0.8, calibration_size=0.3, random_state=0)
    sel.fit(X, y, sensitive_features=s)
    with pytest.raises(NotFittedError):
        base.predict(X)  # the given estimator is cloned, never fitted in place
    # 300 calibration rows (30%), the rest trained the clone
    assert sel.calibration_.set_index("group").loc["overall", "n"] == 300
    from sklearn.model_selection import train_test_split

    train, cal = train_test_split(np.arange(1000), test_size=0.3, random_state=0, stratify=y)
    ref = LogisticRegression().fit(X[train], y[train])
    np.testing.assert_allclose(sel.estimator_.coef_, ref.coef_)
    conf = ref.predict_proba(X[cal]).max(axis=1)
    k = int(np.floor(301 * 0.2))
    assert sel.thresholds_["overall"] == np.sort(conf)[k - 1]
    assert sel.predict_abstain(X, sensitive_features=s).shape == (1000,)
    with pytest.raises(ParameterError, match="sensitive_features"):
        sel.predict_abstain(X)  # per-group thresholds need the groups


def test_dataset_input(adult_scored, score_model):
    ds = adult_scored
    frame = ds.frame.assign(score=ds.frame["score"].astype(float))
    sel = SelectiveClassifier(score_model, prefit=True, coverage=0.9).fit(
        frame[["score"]], ds.y, sensitive_features=ds.sensitive
    )
    assert {"Female & White", "Male & Black", "overall"} <= set(sel.thresholds_.index)


def test_bad_input(scored_frame, score_model):
    X, y, s = scored_frame[["score"]], scored_frame["y"], scored_frame["sex"]
    with pytest.raises(ParameterError, match="exactly one"):
        SelectiveClassifier(score_model, prefit=True).fit(X, y, sensitive_features=s)
    with pytest.raises(ParameterError, match="exactly one"):
        SelectiveClassifier(score_model, prefit=True, coverage=0.8, max_risk=0.1).fit(
            X, y, sensitive_features=s
        )
    with pytest.raises(ParameterError, match="between 0 and 1"):
        SelectiveClassifier(score_model, prefit=True, coverage=1.5).fit(X, y, sensitive_features=s)
    with pytest.warns(RaikitWarning, match="sensitive_features"):
        SelectiveClassifier(score_model, prefit=True, coverage=0.8).fit(X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SelectiveClassifier(score_model, prefit=True, coverage=0.8).fit(
            X, y.iloc[:10], sensitive_features=s
        )
    with pytest.raises(DataError, match="missing labels"):
        SelectiveClassifier(score_model, prefit=True, coverage=0.8, group_aware=False).fit(
            X, y.astype(float).where(y.index > 5)
        )
    with pytest.raises(NotFittedError):
        SelectiveClassifier(score_model, prefit=True, coverage=0.8).select(X, sensitive_features=s)
    with pytest.raises(NotFittedError):
        SelectiveClassifier(score_model, prefit=True, coverage=0.8).predict(X)
    with pytest.raises(ParameterError, match="predict_proba"):
        SelectiveClassifier(object(), prefit=True, coverage=0.8, group_aware=False).fit(X, y)


def test_score_is_the_probability_of_pos_label_not_column_one():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=400)})
    y = np.where(X["x"] + rng.normal(size=400) > 0, "approved", "denied")
    model = LogisticRegression().fit(X, y)
    assert list(model.classes_) == ["approved", "denied"]  # the positive class is column 0
    proba = model.predict_proba(X)
    sel = SelectiveClassifier(
        model, prefit=True, coverage=0.8, group_aware=False, pos_label="approved"
    )
    frame = sel.fit(X, y).select(X)
    np.testing.assert_allclose(frame["score"], proba[:, 0], rtol=0, atol=0)
    unknown = (
        SelectiveClassifier(model, prefit=True, coverage=0.8, group_aware=False).fit(X, y).select(X)
    )
    assert "score" not in unknown.columns  # never a guessed positive class
    np.testing.assert_array_equal(unknown["prediction"], frame["prediction"])
    with pytest.raises(ParameterError, match="pos_label='granted' is not one of the labels"):
        SelectiveClassifier(
            model, prefit=True, coverage=0.8, group_aware=False, pos_label="granted"
        ).fit(X, y)


@pytest.mark.parametrize("ci", [0.5, 0.9])
def test_evaluate_intervals_are_clopper_pearson_at_the_requested_level(
    scored_frame, score_model, ci
):
    from scipy.stats import beta

    X, y, s = scored_frame[["score"]], scored_frame["y"], scored_frame[["sex"]]
    sel = SelectiveClassifier(score_model, prefit=True, coverage=0.85).fit(
        X.iloc[:8000], y.iloc[:8000], sensitive_features=s.iloc[:8000]
    )
    result = sel.evaluate(X.iloc[8000:], y.iloc[8000:], sensitive_features=s.iloc[8000:], ci=ci)
    row = result.table.set_index("group").loc["overall"]
    accepted = round(row["coverage"] * row["n"])
    tail = (1 - ci) / 2  # exact interval from scipy's beta quantiles, by hand
    assert row["coverage_lower"] == pytest.approx(beta.ppf(tail, accepted, row["n"] - accepted + 1))
    assert row["coverage_upper"] == pytest.approx(
        beta.ppf(1 - tail, accepted + 1, row["n"] - accepted)
    )
    assert result.ci == ci and f"{ci:.0%} CI" in result.figures()[0].layout.title.text
    assert Result.from_json(result.to_json()).ci == ci
