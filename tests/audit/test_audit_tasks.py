"""The audit of regression and multiclass models: task detection, the task's sections and
verdicts, skipped sections with their reason, the report and the command line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression

from _cli import run
from raikit import Dataset
from raikit.audit import AuditReport, audit, bias_criteria

# every section that reads the model's outputs; the data sections are the same for any task
SECTIONS = ["bias", "accuracy", "evaluation", "inequality", "slices", "robustness", "privacy"]


def _regression(n: int, *, noisy_b: float, seed: int = 0, name_b: str = "b") -> Dataset:
    """y = 2 x1 - x2 + noise; the noise of group b is ``noisy_b`` times that of group a, so a
    model of x1 and x2 alone errs ``noisy_b`` times more on b."""
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(n) < 0.5, "a", name_b)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    noise = rng.normal(size=n) * np.where(group == "a", 1.0, noisy_b)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "g": group, "y": 2 * x1 - x2 + noise})
    return Dataset(frame, target="y", sensitive="g", features=["x1", "x2"])


def _multiclass(n: int, *, random_b: float, seed: int = 0) -> Dataset:
    """Three classes set by x (low / mid / high); a share ``random_b`` of group b's labels is
    drawn at random instead, so a model of x is right less often for b."""
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(n) < 0.5, "a", "b")
    x = rng.normal(size=n)
    label = np.select([x < -0.5, x < 0.5], ["low", "mid"], "high").astype(object)
    scrambled = (group == "b") & (rng.random(n) < random_b)
    label[scrambled] = rng.choice(["low", "mid", "high"], scrambled.sum())
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=n), "g": group, "y": label})
    return Dataset(frame, target="y", sensitive="g", features=["x", "z"])


def _audit(ds: Dataset, model, **kwargs):
    train, test = ds.split(0.5, random_state=0)
    model.fit(train.X, train.y)
    kwargs = {"sections": SECTIONS, "n_boot": 200, "random_state": 0} | kwargs
    report = audit(model, train=train, test=test, **kwargs)
    return report, test.replace(test.frame.assign(pred=model.predict(test.X)), prediction="pred")


def _status(report, principle: str) -> tuple[str, str]:
    row = report.scorecard.set_index("principle").loc[principle]
    return row["status"], row["reason"]


# --------------------------------------------------------------------------- the task rule
def test_one_task_rule_for_the_dataset_the_metrics_and_the_mitigations():
    """Dataset.task, group_metrics(task="auto") and the audit read a target alike: whole
    numbers with many values are a regression target, a few are classes."""
    from raikit.metrics import group_metrics, infer_task

    hours = np.arange(60) % 45 + 1  # 45 distinct whole numbers (int64): a regression target
    frame = pd.DataFrame({"y": hours, "g": ["a", "b"] * 30})
    assert infer_task(hours) == ("regression", "inferred: 45 distinct numeric values")
    assert Dataset(frame, target="y", sensitive="g").task == "regression"  # was "multiclass"
    result = group_metrics(hours, hours + 1, sensitive_features=frame["g"], ci=None)
    assert result.task == "regression"
    few = np.arange(60) % 3
    assert Dataset(frame.assign(y=few), target="y", sensitive="g").task == "multiclass"
    assert group_metrics(few, few, sensitive_features=frame["g"], ci=None).task == "multiclass"


# --------------------------------------------------------------------------- regression
@pytest.fixture(scope="module")
def regression_fail():
    return _audit(_regression(2000, noisy_b=3.0), LinearRegression())


def test_regression_audit_fails_bias_on_a_planted_error_gap(regression_fail):
    report, test = regression_fail
    assert report.meta["task"] == "regression"
    assert report.meta["task_source"] == "inferred: fractional values"
    assert "(regression task, inferred: fractional values)" in report.summary
    # the error gap by hand: 1 - smallest group MAE / largest group MAE on the test rows
    errors = (test.frame[test.prediction] - test.y).abs().groupby(test.frame["g"]).mean()
    expected = 1 - errors.min() / errors.max()
    assert 0.6 < expected < 0.75  # noise 3x: the mean absolute errors are about 3x apart
    row = bias_criteria(report.results["metrics.group_metrics"], tolerance=0.1).iloc[0]
    assert row["criterion"] == "error_gap"
    assert row["difference"] == pytest.approx(expected, abs=1e-9)
    assert row["lower"] > 0.1 and row["verdict"] == "fail"
    status, reason = _status(report, "bias")
    assert status == "fail"
    assert f"error_gap on g = {expected:.3f}" in reason
    n = test.frame["g"].value_counts()
    assert (
        f"mean absolute error {errors['b']:.3g} for b ({n['b']} rows) vs {errors['a']:.3g} for a "
        f"({n['a']} rows)"
    ) in reason


def test_regression_audit_accuracy_against_the_mean_predictor(regression_fail):
    report, test = regression_fail
    status, reason = _status(report, "practical_accuracy")
    residual = ((test.frame[test.prediction] - test.y) ** 2).mean()
    r2 = 1 - residual / test.y.var(ddof=0)
    assert f"Test R2 {r2:.3f}" in reason and "mean-predictor baseline" in reason
    # R2 beats the baseline, but Slice Finder (on the absolute error) finds the noisy group
    assert status == "warn" and "find_slices: Model underperforms on g = b" in reason
    dummy, _ = _audit(
        _regression(600, noisy_b=1.0), DummyRegressor(), sections=["bias", "accuracy"]
    )
    # a constant prediction cannot beat the mean: R2 <= 0 in every bootstrap replicate
    status, reason = _status(dummy, "practical_accuracy")
    assert status == "fail" and "no better than always predicting the mean" in reason


def test_regression_audit_skips_binary_sections_with_their_reason(regression_fail):
    report, test = regression_fail
    skipped = report.meta["skipped"]
    assert set(skipped) == {"evaluation", "inequality", "robustness", "privacy"}
    slices = report.results["evaluate.find_slices"]  # on the absolute error
    assert slices.loss == "absolute_error"
    errors = (test.frame[test.prediction] - test.y).abs()
    assert slices.overall["mean_loss"] == pytest.approx(errors.mean(), rel=1e-9)
    assert "binary target; this is a regression task" in skipped["evaluation"]
    assert "predict_proba (a regressor)" in skipped["privacy"]
    for principle in ("privacy", "robustness"):  # no evidence: not assessed, and why
        status, reason = _status(report, principle)
        assert status == "not assessed" and reason.startswith("Not run: ")
    assert "Not run: evaluation: " in _status(report, "bias")[1]


def test_regression_audit_without_a_gap_never_fails_bias():
    report, _ = _audit(_regression(4000, noisy_b=1.0, seed=1), LinearRegression())
    status, reason = _status(report, "bias")
    assert status == "pass", reason
    assert "error gap (1 - smallest/largest group mean absolute error) is within 0.1" in reason
    assert "power analysis) is computed for binary criteria only" in reason  # said, not hidden


def test_regression_report_names_the_mitigation_and_escapes_names():
    report, _ = _audit(
        _regression(2000, noisy_b=3.0, name_b="<script>alert(1)</script>"),
        LinearRegression(),
        sections=["bias", "accuracy"],
    )
    page = report.to_html()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "FairlearnRegressor" in page and "raikit mitigations --task regression" in page
    assert "test R2" in page  # the number behind the accuracy verdict
    verdicts = page.split("What matters most")[0]
    assert ">nan<" not in verdicts.lower() and " nan " not in verdicts.lower()


# --------------------------------------------------------------------------- multiclass
def test_multiclass_audit_fails_equalized_odds_on_scrambled_labels():
    report, test = _audit(
        _multiclass(3000, random_b=0.6),
        LogisticRegression(max_iter=500),
        sections=[*SECTIONS, "explainability"],
    )
    assert report.meta["task"] == "multiclass"
    status, reason = _status(report, "bias")
    assert status == "fail", reason
    main = bias_criteria(report.results["metrics.group_metrics"], tolerance=0.1)
    odds = main.set_index("criterion").loc["equalized_odds"]
    # its worst per-class rate, by hand: the gap between the groups' rates of that class
    metric = odds["metric"]
    base, cls = metric.split("[")[0], metric.split("[")[1].rstrip("]")
    y, pred, g = test.y, test.frame[test.prediction], test.frame["g"]
    rows = (y == cls) if base == "true_positive_rate" else (y != cls)
    rates = (pred[rows] == cls).groupby(g[rows]).mean()
    assert odds["difference"] == pytest.approx(abs(rates["a"] - rates["b"]), abs=1e-9)
    assert f"worst: equalized_odds on g = {odds['difference']:.3f}" in reason
    assert f"({metric})" in reason
    accuracy = (pred == y).mean()
    majority = y.value_counts(normalize=True).max()
    status, reason = _status(report, "practical_accuracy")
    assert f"Test accuracy {accuracy:.3f}" in reason
    assert f"majority-class baseline {majority:.3f}" in reason
    assert "explainability" in report.meta["skipped"]  # needs a class to explain
    page = report.to_html()
    assert "RemapClassifier" in page and "raikit mitigations --task multiclass" in page


def test_multiclass_audit_without_a_gap_never_fails_bias():
    report, _ = _audit(_multiclass(4000, random_b=0.0, seed=2), LogisticRegression(max_iter=500))
    status, reason = _status(report, "bias")
    assert status in ("pass", "warn"), reason
    assert status == "pass" or "straddles" in reason
    assert "robustness" not in report.meta["skipped"]  # the flip rate is defined for classes
    assert "evaluate.stress_test" in report.results


def test_the_task_can_be_given_and_a_bad_task_is_refused():
    from raikit import ParameterError

    report, _ = _audit(_multiclass(600, random_b=0.0), LogisticRegression(), sections=["bias"])
    assert report.meta["task_source"] == "inferred: 3 distinct labels"
    ds = _multiclass(600, random_b=0.0)
    train, test = ds.split(0.5, random_state=0)
    model = LogisticRegression().fit(train.X, train.y)
    given = audit(model, train=train, test=test, sections=["bias"], n_boot=20, task="multiclass")
    assert given.meta["task_source"] == "given"
    with pytest.raises(ParameterError, match="audit\\(\\): task"):
        audit(model, train=train, test=test, task="ordinal")


def test_binary_audits_keep_their_criteria():
    """The binary verdict still rests on demographic parity and equalized odds."""
    from raikit.metrics import group_metrics

    r = group_metrics(
        [1, 1, 0, 0] * 50,
        [1, 0, 0, 0] * 25 + [1, 1, 1, 0] * 25,
        sensitive_features=["a"] * 100 + ["b"] * 100,
        n_boot=50,
        random_state=0,
    )
    main = bias_criteria(r, tolerance=0.1)
    assert main["criterion"].tolist() == ["demographic_parity", "equalized_odds"]
    assert main.set_index("criterion").loc["demographic_parity", "difference"] == 0.5


# --------------------------------------------------------------------------- the command line
def test_cli_audits_a_regression_csv(tmp_path):
    from raikit import save_model

    ds = _regression(800, noisy_b=3.0, name_b="[bold]b[/bold]")  # a group name is not markup
    train, test = ds.split(0.5, random_state=0)
    train.frame.to_csv(tmp_path / "train.csv", index=False)
    test.frame.to_csv(tmp_path / "test.csv", index=False)
    save_model(LinearRegression().fit(train.X, train.y), tmp_path / "model.skops")
    out = run(
        "audit",
        "--train",
        str(tmp_path / "train.csv"),
        "--test",
        str(tmp_path / "test.csv"),
        "--model",
        str(tmp_path / "model.skops"),
        "--target",
        "y",
        "--sensitive",
        "g",
        "--features",
        "x1,x2",
        "--n-boot",
        "50",
        "--out",
        str(tmp_path / "audit"),
    )
    assert out.returncode == 0, out.stderr
    assert "Task: regression (inferred: fractional values)" in out.stdout
    saved = AuditReport.from_json((tmp_path / "audit" / "audit.json").read_text())
    assert saved.meta["task"] == "regression"
    assert saved.scorecard.set_index("principle").loc["bias", "status"] == "fail"  # planted
    assert "[bold]b[/bold]" in out.stdout  # the group's name printed as it is, not as markup
    assert (tmp_path / "audit" / "audit.html").exists()
