"""evaluate(): metrics per threshold through group_metrics, confusion matrices, curves and findings,
checked against scikit-learn on Adult and COMPAS with real models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, roc_auc_score

from raikit import Result
from raikit._errors import DataError
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
            sensitive=adult_scored.sensitive,
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
    violated = adult_eval.fairness[adult_eval.fairness["violated"]]
    assert len(violated) > 0
    errors = [f for f in adult_eval.findings if "violated" in f.title]
    assert len(errors) == len(violated)
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
    page = adult_eval.to_html(tmp_path / "e.html")
    assert "Calibration" in page and (tmp_path / "e.html").exists()
    assert "threshold 0.3" in adult_eval.summary


def test_bad_input(adult_scored, compas_split):
    with pytest.raises(DataError, match="thresholds is empty"):
        evaluate(None, adult_scored, thresholds=[])
    no_score = adult_scored._replace(adult_scored.frame, score=None)
    with pytest.raises(DataError, match="thresholds need scores"):
        evaluate(None, no_score, thresholds=[0.5])
    bare = adult_scored._replace(adult_scored.frame, score=None, prediction=None)
    with pytest.raises(DataError, match="Pass a fitted model"):
        evaluate(None, bare)
    frame = adult_scored.frame.assign(three=np.arange(adult_scored.n_rows) % 3)
    multi = adult_scored._replace(frame, target="three")
    with pytest.raises(DataError, match="binary target"):
        evaluate(None, multi)
    with pytest.raises(DataError, match="fitted classifier"):
        evaluate("not a model", adult_scored)
