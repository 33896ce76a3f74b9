"""The Poisson bootstrap on sufficient statistics against a plain row-level bootstrap, and its
coverage on simulated data with known truth."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from raikit.metrics import group_metrics


def _row_bootstrap(y, p, s, g, n_boot, seed, funcs):
    """Percentile interval per group from resampling rows (the slow reference)."""
    rng = np.random.default_rng(seed)
    out = {name: {label: [] for label in np.unique(g)} for name in funcs}
    n = len(y)
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        for label in np.unique(g):
            m = idx[g[idx] == label]
            for name, f in funcs.items():
                out[name][label].append(f(y[m], p[m], s[m]))
    return {
        name: {label: np.quantile(v, [0.025, 0.975]) for label, v in groups.items()}
        for name, groups in out.items()
    }


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(11)
    n = 4000
    g = rng.choice(["a", "b"], size=n, p=[0.7, 0.3])
    y = (rng.random(n) < np.where(g == "a", 0.4, 0.25)).astype(int)
    s = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
    p = (s > 0.45).astype(int)
    return y, p, s, g


def test_intervals_agree_with_a_row_level_bootstrap(synthetic):
    y, p, s, g = synthetic
    funcs = {
        "selection_rate": lambda yy, pp, ss: pp.mean(),
        "true_positive_rate": lambda yy, pp, ss: pp[yy == 1].mean(),
        "roc_auc": lambda yy, pp, ss: roc_auc_score(yy, ss),
        "brier_score": lambda yy, pp, ss: brier_score_loss(yy, ss),
    }
    reference = _row_bootstrap(y, p, s, g, 400, 0, funcs)
    ours = group_metrics(
        y,
        p,
        sensitive_features=g,
        score=s,
        metrics=list(funcs),
        ci=0.95,
        n_boot=2000,
        random_state=0,
    )
    for name in funcs:
        for label in ("a", "b"):
            lo, hi = reference[name][label]
            our_lo = ours.by_group_lower.loc[("sensitive", label), name]
            our_hi = ours.by_group_upper.loc[("sensitive", label), name]
            width = hi - lo
            # Same interval up to Monte Carlo noise of 400 reference replicates (~10% of width).
            assert our_hi - our_lo == pytest.approx(width, rel=0.2), (name, label)
            assert our_lo == pytest.approx(lo, abs=0.2 * width), (name, label)
            assert our_hi == pytest.approx(hi, abs=0.2 * width), (name, label)


def test_coverage_of_the_selection_rate_interval_is_near_nominal():
    # Known truth: selection rate 0.3 in group a, 0.5 in group b; 300 simulated audits.
    rng = np.random.default_rng(7)
    covered = {"a": 0, "b": 0}
    n_sims = 300
    for sim in range(n_sims):
        g = np.repeat(["a", "b"], [150, 100])
        p = (rng.random(250) < np.where(g == "a", 0.3, 0.5)).astype(int)
        y = rng.integers(0, 2, 250)
        r = group_metrics(
            y,
            p,
            sensitive_features=g,
            metrics=["selection_rate"],
            ci=0.95,
            n_boot=300,
            random_state=sim,
        )
        for label, truth in (("a", 0.3), ("b", 0.5)):
            lo = r.by_group_lower.loc[("sensitive", label), "selection_rate"]
            hi = r.by_group_upper.loc[("sensitive", label), "selection_rate"]
            covered[label] += lo <= truth <= hi
    for label in covered:
        # Binomial(300, 0.95) lies in [0.91, 0.98] with probability > 0.99.
        assert 0.91 <= covered[label] / n_sims <= 0.985, covered


def test_same_seed_same_intervals_and_difference_bounds(synthetic):
    y, p, _, g = synthetic
    a = group_metrics(y, p, sensitive_features=g, ci=0.9, n_boot=300, random_state=3)
    b = group_metrics(y, p, sensitive_features=g, ci=0.9, n_boot=300, random_state=3)
    np.testing.assert_array_equal(a.table["lower"], b.table["lower"])
    bounds = a.difference(bounds=True).set_index("metric")
    sel = bounds.loc["selection_rate"]
    assert sel["lower"] <= sel["value"] <= sel["upper"]


def test_score_replicates_drawn_in_steps_equal_those_drawn_at_once(synthetic, monkeypatch):
    """The score bootstrap draws its replicated strata a few replicates at a time to bound
    memory; the steps must give the very draws of one call (same seed, same intervals)."""
    from raikit.metrics import _group_metrics

    y, p, s, g = synthetic
    options = dict(sensitive_features=g, score=s, ci=0.95, n_boot=50, random_state=5)
    at_once = group_metrics(y, p, **options).table
    monkeypatch.setattr(_group_metrics, "_STRATA_VALUES", 1)  # one replicate per step
    stepped = group_metrics(y, p, **options).table
    scored = at_once["metric"].isin(["roc_auc", "brier_score", "log_loss"])
    assert scored.sum() >= 6  # the score metrics are there, for every group and overall
    np.testing.assert_array_equal(stepped["lower"], at_once["lower"])
    np.testing.assert_array_equal(stepped["upper"], at_once["upper"])
