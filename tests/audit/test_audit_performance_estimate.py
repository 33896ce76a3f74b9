"""The audit's 'performance_estimate' section: label-free estimation tried on the test set (half
of it the labelled reference, the other half with its labels hidden), each estimate against the
value the hidden labels show."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from raikit import Dataset
from raikit.audit import audit
from raikit.datasets import load_german_credit
from raikit.metrics import group_metrics

CHECK = "evaluate.estimate_performance"
METRICS = ["accuracy", "true_positive_rate", "false_positive_rate", "precision"]


def _realised(test: Dataset, random_state) -> pd.DataFrame:
    """The hidden half's realised metrics, computed independently with the metrics engine."""
    hidden, _ = test.split(0.5, random_state=random_state)
    table = group_metrics(
        hidden.y.to_numpy(),
        hidden.y_pred.to_numpy(),
        sensitive_features=hidden.sensitive,
        metrics=METRICS,
        ci=None,
    ).table
    return table.set_index(["attribute", "group", "metric"])["value"]


def test_the_section_on_german_credit_is_covered_and_rendered_under_accuracy():
    ds = load_german_credit().replace(
        features=["duration_months", "credit_amount", "age", "installment_rate"]
    )
    train, test = ds.split(0.3, random_state=0)
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    report = audit(
        model, train=train, test=test, sections=["performance_estimate"], n_boot=1000,
        random_state=0,
    )  # fmt: skip
    result = report.results[CHECK]
    assert report.meta["sections"][CHECK] == "performance_estimate"
    assert result.meta["n_rows"] == test.n_rows // 2 and result.meta["n_reference"] > 0
    assert result.meta["n_boot"] == 200  # capped
    est = result.estimates
    assert {"realised", "covered"} <= set(est.columns)
    # the realised values are those of the hidden half's labels (same split, same seed)
    truth = _realised(test.with_predictions(model), 0)
    judged = est[est["metric"].isin(METRICS)].set_index(["attribute", "group", "metric"])
    common = judged.index.intersection(truth.index)
    assert len(common) >= 4 * 3
    assert np.allclose(judged.loc[common, "realised"], truth.loc[common], equal_nan=True)
    # a logistic regression is calibrated: every group large enough is covered, and said so
    large = judged[judged["n"] >= 30]
    assert large["covered"].all()
    titles = [f.title for f in result.findings]
    assert "Label-free estimates hold on labelled rows" in titles
    assert not [t for t in titles if "not trustworthy" in t or " differs across " in t]
    assert CHECK in report.scorecard.set_index("principle").loc["practical_accuracy", "evidence"]
    # the page shows it under "Where does it fail?", with its plain title and its tables
    page = report.to_html()
    fail, fair = page.index('<a id="fail">'), page.index('<a id="why">')
    title = page.index("Can performance per group be monitored without labels?")
    assert fail < title < fair
    shown = page[title:fair]
    assert "Estimates by group" in shown and "realised" in shown
    assert "Performance per group estimated without labels" in shown  # the figure


def _miscalibrated_in_b(seed: int, n: int) -> Dataset:
    """Group B's outcomes are rarer than its x says; the model sees x only, so its scores are
    calibrated overall (mostly group A) and too high in group B."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["A", "B"], n, p=[0.7, 0.3])
    x = rng.normal(size=n)
    logit = 2 * x + np.where(group == "B", -1.5, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return Dataset(pd.DataFrame({"x": x, "g": group, "y": y}), target="y", sensitive="g",
                   features=["x"])  # fmt: skip


def test_a_model_miscalibrated_in_one_group_gets_a_finding_for_that_group():
    train, test = _miscalibrated_in_b(0, 3000), _miscalibrated_in_b(1, 4000)
    model = LogisticRegression().fit(train.X, train.y)
    report = audit(
        model, train=train, test=test, sections=["performance_estimate"], n_boot=200,
        random_state=0,
    )  # fmt: skip
    result = report.results[CHECK]
    missed = [f for f in result.findings if f.title.startswith("Label-free estimate not trust")]
    assert "g=B" in [f.slice for f in missed]
    assert all(f.severity == "warning" for f in missed)
    assert "Label-free estimates hold on labelled rows" not in [f.title for f in result.findings]
    est = result.estimates.set_index(["metric", "attribute", "group"]).sort_index()
    b = est.xs(("g", "B"), level=("attribute", "group")).loc[METRICS]
    assert not b["covered"].all()
    # the reference half says why: B's scores are miscalibrated, its estimates biased
    for start in ("Poor calibration on the reference", "Estimates miss the labelled reference"):
        assert "g=B" in [f.slice for f in result.findings if f.title.startswith(start)]
    card = report.scorecard.set_index("principle")
    assert card.loc["practical_accuracy", "status"] in ("warn", "fail")


def test_skipped_without_scores_or_binary_target():
    frame = pd.DataFrame({"x": np.arange(60.0), "g": ["a", "b"] * 30, "y": [0, 1, 2] * 20})
    ds = Dataset(frame, target="y", sensitive="g", features=["x"])
    model = DummyClassifier().fit(ds.X, ds.y)
    report = audit(
        model, train=ds, test=ds, sections=["performance_estimate"], n_boot=20, random_state=0
    )
    assert CHECK not in report.results


def test_skipped_when_an_outcome_has_one_row_in_the_test_set():
    train = _miscalibrated_in_b(4, 400)
    frame = _miscalibrated_in_b(5, 200).frame.assign(y=0)
    frame.loc[0, "y"] = 1  # one positive row: one half would have a single outcome
    test = Dataset(frame, target="y", sensitive="g", features=["x"])
    model = LogisticRegression().fit(train.X, train.y)
    report = audit(
        model, train=train, test=test, sections=["performance_estimate"], n_boot=20,
        random_state=0,
    )  # fmt: skip
    assert CHECK not in report.results


@pytest.mark.parametrize("n_boot", [50, 1000])
def test_replicates_capped_at_200(n_boot):
    train, test = _miscalibrated_in_b(2, 600), _miscalibrated_in_b(3, 600)
    model = LogisticRegression().fit(train.X, train.y)
    report = audit(
        model, train=train, test=test, sections=["performance_estimate"], n_boot=n_boot,
        random_state=0,
    )  # fmt: skip
    assert report.results[CHECK].meta["n_boot"] == min(n_boot, 200)
