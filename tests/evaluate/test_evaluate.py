"""evaluate(): metrics per threshold through group_metrics, confusion matrices, curves and findings,
checked against scikit-learn on Adult and COMPAS with real models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, roc_auc_score

from raikit import Result
from raikit._errors import DataError, ParameterError
from raikit.evaluate import EvaluationResult, evaluate
from raikit.metrics import group_metrics


@pytest.fixture(scope="module")
def adult_eval(adult_scored):
    return evaluate(None, adult_scored, thresholds=[0.3, 0.5], n_boot=200, random_state=0)


def test_metrics_equal_group_metrics_per_threshold(adult_scored, adult_eval):
    score = adult_scored.y_score.to_numpy()
    for t in (0.3, 0.5):
        direct = group_metrics(
            adult_scored.y.to_numpy(),
            (score >= t).astype(int),
            sensitive_features=adult_scored.sensitive,
            score=score,
            ci=0.95,
            n_boot=200,
            random_state=0,
        )
        ours = adult_eval.metrics[adult_eval.metrics["threshold"] == t].drop(columns="threshold")
        pd.testing.assert_frame_equal(ours.reset_index(drop=True), direct.table)


def test_confusion_matrices_match_sklearn(adult_scored, adult_eval):
    y = adult_scored.y.to_numpy()
    pred = (adult_scored.y_score.to_numpy() >= 0.5).astype(int)
    conf = adult_eval.confusion[adult_eval.confusion["threshold"] == 0.5]
    for row in conf.itertuples(index=False):
        if row.attribute == "overall":
            rows = np.ones(len(y), dtype=bool)
        elif row.attribute in ("sex", "race"):
            rows = (adult_scored.frame[row.attribute] == row.group).to_numpy()
        else:
            continue
        tn, fp, fn, tp = confusion_matrix(y[rows], pred[rows], labels=[0, 1]).ravel()
        assert (row.tn, row.fp, row.fn, row.tp) == (tn, fp, fn, tp)


def test_roc_points_and_auc(adult_scored, adult_eval):
    y = adult_scored.y.to_numpy()
    score = adult_scored.y_score.to_numpy()
    women = (adult_scored.frame["sex"] == "Female").to_numpy()
    roc = adult_eval.roc[
        (adult_eval.roc["attribute"] == "sex") & (adult_eval.roc["group"] == "Female")
    ]
    point = roc.iloc[len(roc) // 2]
    chosen = score[women] >= point["threshold"]
    assert point["true_positive_rate"] == pytest.approx(chosen[y[women] == 1].mean(), abs=1e-12)
    assert point["false_positive_rate"] == pytest.approx(chosen[y[women] == 0].mean(), abs=1e-12)
    # Trapezoid AUC on the 101-point grid is close to the exact AUC (tolerance 0.01).
    fpr = np.append(roc["false_positive_rate"].to_numpy(), 0.0)
    tpr = np.append(roc["true_positive_rate"].to_numpy(), 0.0)
    area = -np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)
    assert area == pytest.approx(roc_auc_score(y[women], score[women]), abs=0.01)


def test_calibration_bins(adult_scored, adult_eval):
    y = adult_scored.y.to_numpy()
    score = adult_scored.y_score.to_numpy()
    cal = adult_eval.calibration[adult_eval.calibration["attribute"] == "overall"]
    assert cal["count"].sum() == len(y)
    top = cal[cal["bin"] == 9].iloc[0]
    rows = score >= 0.9
    assert top["observed_rate"] == pytest.approx(y[rows].mean(), abs=1e-12)
    assert top["mean_score"] == pytest.approx(score[rows].mean(), rel=1e-9)
    assert (cal["lower"] <= cal["observed_rate"]).all() and (
        cal["observed_rate"] <= cal["upper"]
    ).all()


def test_findings_name_violated_criteria_with_ci(adult_eval):
    # an error only when the whole interval is beyond the tolerance, a warning when it straddles
    verdicts = adult_eval.fairness["verdict"]
    assert (verdicts == "fail").sum() > 0
    errors = [f for f in adult_eval.findings if "violated" in f.title]
    assert len(errors) == (verdicts == "fail").sum()
    assert all(f.severity == "error" for f in errors)
    uncertain = [f for f in adult_eval.findings if "uncertain" in f.title]
    assert len(uncertain) == (verdicts == "warn").sum()
    assert all(f.severity == "warning" for f in uncertain)
    sex_dp = [f for f in errors if f.title.startswith("demographic_parity violated for sex at")]
    assert sex_dp and "95% CI" in sex_dp[0].detail and sex_dp[0].severity == "error"


def test_compas_logistic_regression(compas_split, compas_logistic):
    _, test = compas_split
    r = evaluate(compas_logistic, test, n_boot=200)
    assert len(r.thresholds) == 1 and np.isnan(r.thresholds[0])  # the model's predict
    overall = r.at().loc[("overall", "overall")]
    pred = compas_logistic.predict(test.X)
    assert overall["accuracy"] == pytest.approx((pred == test.y.to_numpy()).mean(), abs=1e-12)
    auc = roc_auc_score(test.y, compas_logistic.predict_proba(test.X)[:, 1])
    assert overall["roc_auc"] == pytest.approx(auc, abs=1e-9)
    assert len(r.figures()) >= 8


def test_round_trip_and_html(adult_eval, tmp_path):
    back = Result.from_json(adult_eval.to_json())
    assert isinstance(back, EvaluationResult)
    pd.testing.assert_frame_equal(back.fairness, adult_eval.fairness)
    pd.testing.assert_frame_equal(back.roc, adult_eval.roc)  # the curve bands survive JSON
    page = adult_eval.to_html(tmp_path / "e.html")
    assert "Calibration" in page and (tmp_path / "e.html").exists()
    assert "threshold 0.3" in adult_eval.summary


def test_bad_input(adult_scored, compas_split):
    with pytest.raises(ParameterError, match=r"evaluate\(\): thresholds is empty"):
        evaluate(None, adult_scored, thresholds=[])
    no_score = adult_scored.replace(score=None)
    with pytest.raises(DataError, match="thresholds need scores"):
        evaluate(None, no_score, thresholds=[0.5])
    bare = adult_scored.replace(score=None, prediction=None)
    with pytest.raises(DataError, match="Pass a fitted model"):
        evaluate(None, bare)
    frame = adult_scored.frame.assign(three=np.arange(adult_scored.n_rows) % 3)
    multi = adult_scored.replace(frame, target="three")
    with pytest.raises(DataError, match="binary target"):
        evaluate(None, multi)
    with pytest.raises(ParameterError, match="fitted classifier"):
        evaluate("not a model", adult_scored)


# --------------------------------------------------------------------------- curve bands
BAND_COLUMNS = {
    "true_positive_rate": ("true_positive_rate_lower", "true_positive_rate_upper"),
    "false_positive_rate": ("false_positive_rate_lower", "false_positive_rate_upper"),
    "precision": ("precision_lower", "precision_upper"),
}


@pytest.fixture(scope="module")
def compas_scored(compas_split, compas_logistic):
    _, test = compas_split
    return test.with_predictions(compas_logistic)


def _band_width(roc, column):
    lower, upper = BAND_COLUMNS[column]
    return (roc[upper] - roc[lower]).to_numpy()


@pytest.mark.parametrize("column", list(BAND_COLUMNS))
def test_curve_band_contains_point_estimate(adult_eval, column):
    roc = adult_eval.roc
    lower, upper = BAND_COLUMNS[column]
    defined = roc[column].notna()
    assert defined.sum() > 0.9 * len(roc)
    # Every group (and overall) at every threshold where the curve is defined: lower <= value <= upper.
    assert (roc.loc[defined, lower] <= roc.loc[defined, column]).all()
    assert (roc.loc[defined, column] <= roc.loc[defined, upper]).all()
    assert (_band_width(roc, column)[defined] > 0).mean() > 0.5  # real bands, not points


def test_curve_band_shrinks_like_inverse_sqrt_n(compas_scored):
    """Four copies of every row: the band at each grid position is half as wide (1 / sqrt(4))."""
    frame4 = pd.concat([compas_scored.frame] * 4, ignore_index=True)
    once = evaluate(None, compas_scored, metrics=["accuracy"], n_boot=1000, random_state=0)
    four = evaluate(
        None, compas_scored.replace(frame4), metrics=["accuracy"], n_boot=1000, random_state=1
    )
    roc = once.roc
    assert len(four.roc) == len(roc)
    pick = roc["attribute"].isin(["overall", "sex"]).to_numpy()
    for column in ("true_positive_rate", "precision"):
        inner = pick & roc[column].between(0.05, 0.95).to_numpy()
        ratio = _band_width(four.roc, column)[inner] / _band_width(roc, column)[inner]
        # Median over ~250 (group, threshold) points; its Monte Carlo spread is about 0.005.
        assert np.median(ratio) == pytest.approx(0.5, abs=0.03)


def test_curve_band_matches_row_bootstrap(compas_scored):
    """Poisson bootstrap on the counts vs resampling the group's rows (400 replicates)."""
    r = evaluate(None, compas_scored, metrics=["accuracy"], n_boot=1000, random_state=0)
    part = r.roc[(r.roc["attribute"] == "sex") & (r.roc["group"] == "Male")]
    point = part.iloc[len(part) // 2]
    male = (compas_scored.frame["sex"] == "Male").to_numpy()
    y = compas_scored.y.to_numpy()[male] == 1
    chosen = compas_scored.y_score.to_numpy()[male] >= point["threshold"]
    rows = np.random.default_rng(0).integers(0, len(y), size=(400, len(y)))
    tp = (chosen[rows] & y[rows]).sum(axis=1)
    replicates = {
        "true_positive_rate": tp / y[rows].sum(axis=1),
        "precision": tp / chosen[rows].sum(axis=1),
    }
    for column, values in replicates.items():
        lower, upper = BAND_COLUMNS[column]
        expected = np.quantile(values, [0.025, 0.975])
        # Monte Carlo error of a 2.5% percentile is ~0.13 SD with 400 replicates and ~0.085 SD
        # with 1000: both bounds must agree within 0.5 SD of the replicates (about 3 errors).
        tolerance = 0.5 * values.std()
        assert point[lower] == pytest.approx(expected[0], abs=tolerance)
        assert point[upper] == pytest.approx(expected[1], abs=tolerance)
        assert point[upper] - point[lower] == pytest.approx(np.diff(expected)[0], rel=0.15)


def test_curve_figures_shade_one_band_per_group(compas_scored):
    r = evaluate(None, compas_scored, metrics=["accuracy"], n_boot=200, random_state=0)
    n_groups = r.roc[["attribute", "group"]].drop_duplicates().shape[0]
    figures = {fig.layout.title.text.split(" (")[0]: fig for fig in r.figures()}
    for title in ("ROC curve per group", "Precision–recall curve per group"):
        fig = figures[title]
        filled = [trace for trace in fig.data if trace.fill == "tonexty"]
        assert len(filled) == n_groups
        assert "bootstrap band" in fig.layout.title.text
    no_ci = evaluate(None, compas_scored, metrics=["accuracy"], ci=None, random_state=0)
    assert no_ci.roc["true_positive_rate_lower"].isna().all()
    roc_fig = next(f for f in no_ci.figures() if f.layout.title.text.startswith("ROC curve"))
    assert "bootstrap band" not in roc_fig.layout.title.text
    assert len(roc_fig.data) == n_groups  # lines only, no band traces


def test_model_score_is_the_probability_of_pos_label(approval):
    ds, model = approval
    r = evaluate(model, ds, pos_label="approved", ci=None, thresholds=[0.5])
    y = (ds.y == "approved").to_numpy()
    score = model.predict_proba(ds.X)[:, 0]  # 'approved' is classes_[0], not column 1
    t = r.metrics
    auc = t[(t["attribute"] == "overall") & (t["metric"] == "roc_auc")]["value"].iloc[0]
    assert auc == pytest.approx(roc_auc_score(y, score), abs=1e-9)
    assert auc > 0.7  # the score of column 1 would give 1 - AUC
    sel = t[(t["attribute"] == "overall") & (t["metric"] == "selection_rate")]["value"].iloc[0]
    assert sel == pytest.approx(np.mean(score >= 0.5), abs=1e-12)


# --------------------------------------------------------------------------- the weight role
def _scored(frame, weight=None):
    from raikit import Dataset

    return Dataset(frame, target="y", sensitive=["s"], prediction="p", score="q", weight=weight)


def _random_scored(seed=0, n=400):
    rng = np.random.default_rng(seed)
    score = rng.uniform(size=n).round(3)
    return pd.DataFrame(
        {
            "s": rng.choice(["a", "b"], n),
            "y": (rng.uniform(size=n) < score).astype(int),
            "q": score,
            "p": (score >= 0.5).astype(int),
            "w": rng.integers(0, 4, n),
        }
    )


def test_integer_weights_give_the_tables_of_duplicated_rows():
    frame = _random_scored()
    kwargs = {"thresholds": [0.4, 0.6], "ci": None, "random_state": 0}
    got = evaluate(None, _scored(frame, "w"), **kwargs)
    want = evaluate(None, _scored(frame.loc[frame.index.repeat(frame["w"])]), **kwargs)
    cells = ["tn", "fp", "fn", "tp"]
    np.testing.assert_allclose(got.confusion[cells].to_numpy(float), want.confusion[cells])
    roc = ["threshold", "false_positive_rate", "true_positive_rate", "precision", "n_positive"]
    np.testing.assert_allclose(got.roc[roc].to_numpy(float), want.roc[roc].to_numpy(float))
    calibration = ["bin", "mean_score", "observed_rate", "count"]
    np.testing.assert_allclose(
        got.calibration[calibration].to_numpy(float), want.calibration[calibration].to_numpy(float)
    )


def test_weighted_confusion_and_calibration_by_hand():
    frame = pd.DataFrame(
        {
            "s": ["a", "a", "a", "b", "b"],
            "y": [1, 0, 1, 0, 1],
            "q": [0.91, 0.95, 0.42, 0.55, 0.3],
            "w": [2.0, 1, 3, 1, 1],
        }
    ).assign(p=lambda f: (f["q"] >= 0.5).astype(int))
    result = evaluate(None, _scored(frame, "w"), thresholds=[0.5], n_boot=50, random_state=0)
    cm = result.confusion.set_index("group")[["tn", "fp", "fn", "tp"]]
    # overall: tp = row 0 (2), fp = rows 1, 3 (1 + 1), fn = rows 2, 4 (3 + 1), tn = none
    assert cm.loc["overall"].tolist() == [0.0, 2.0, 4.0, 2.0]
    assert cm.loc["a"].tolist() == [0.0, 1.0, 3.0, 2.0]
    assert cm.loc["b"].tolist() == [0.0, 1.0, 1.0, 0.0]
    cal = result.calibration[result.calibration["group"] == "overall"].set_index("bin")
    # bin 9: rows 0, 1 (weights 2, 1); bin 4: row 2 (weight 3)
    assert cal.loc[9, "count"] == 3.0
    assert cal.loc[9, "mean_score"] == pytest.approx((2 * 0.91 + 0.95) / 3)
    assert cal.loc[9, "observed_rate"] == pytest.approx(2 / 3)
    n_eff, p, z = 9 / 5, 2 / 3, 1.959963984540054  # (2 + 1)^2 / (4 + 1)
    centre = (p + z * z / (2 * n_eff)) / (1 + z * z / n_eff)
    half = z / (1 + z * z / n_eff) * np.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff**2))
    assert cal.loc[9, "lower"] == pytest.approx(centre - half)
    assert cal.loc[9, "upper"] == pytest.approx(centre + half)
    roc = result.roc[result.roc["group"] == "overall"].set_index("threshold")
    # score >= 0.55: rows 0, 1, 3 -> TPR 2 / 6, FPR 2 / 2, precision 2 / 4
    assert roc.loc[0.55, "true_positive_rate"] == pytest.approx(2 / 6)
    assert roc.loc[0.55, "false_positive_rate"] == pytest.approx(1.0)
    assert roc.loc[0.55, "precision"] == pytest.approx(0.5)


def test_constant_weights_leave_the_curves_and_their_bands_unchanged():
    frame = _random_scored(seed=1).assign(w=2.0)
    kwargs = {"thresholds": [0.5], "n_boot": 100, "random_state": 3}
    plain = evaluate(None, _scored(frame), **kwargs).roc
    weighted = evaluate(None, _scored(frame, "w"), **kwargs).roc
    same = [c for c in plain.columns if c not in ("n_positive", "n_negative")]
    pd.testing.assert_frame_equal(plain[same], weighted[same])
    np.testing.assert_allclose(weighted["n_positive"], 2 * plain["n_positive"])
