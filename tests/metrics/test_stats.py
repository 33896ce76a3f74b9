"""The statistics module: z-values, proportion intervals and verdicts, and ``ci`` honoured by every
caller that used to carry its own (95%-only) Wilson interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from raikit import ParameterError
from raikit.metrics._stats import (
    abs_max_bounds,
    contain,
    jeffreys_interval,
    range_bounds,
    ratio_bounds,
    verdict,
    wilson_interval,
    z_value,
)


@pytest.mark.parametrize("ci", [0.5, 0.8, 0.9, 0.95, 0.99])
def test_z_value_is_the_normal_quantile(ci):
    assert z_value(ci) == pytest.approx(stats.norm.ppf((1 + ci) / 2), rel=1e-12)


@pytest.mark.parametrize("bad", [0, 1, -0.1, 1.5, float("nan"), "x", None, True])
def test_bad_confidence_levels_are_refused(bad):
    with pytest.raises(ParameterError, match="confidence level"):
        z_value(bad)


@pytest.mark.parametrize("ci", [0.5, 0.95])
def test_wilson_interval_by_hand(ci):
    k, n = np.array([0.0, 1, 7, 20]), np.array([20.0, 20, 20, 20])
    z = stats.norm.ppf((1 + ci) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo, hi = wilson_interval(k, n, ci=ci)
    np.testing.assert_allclose(lo, np.clip(centre - half, 0, 1), atol=1e-12)
    np.testing.assert_allclose(hi, np.clip(centre + half, 0, 1), atol=1e-12)
    assert (hi - lo > 0).all()
    assert ((lo <= p) & (p <= hi)).all()
    empty = wilson_interval([0], [0], ci=ci)
    assert np.isnan(empty[0]).all() and np.isnan(empty[1]).all()


def test_jeffreys_interval_is_the_beta_posterior_with_the_end_corrections():
    lo, hi = jeffreys_interval([0, 2, 5], [5, 5, 5], ci=0.9)
    assert lo[0] == 0 and hi[2] == 1
    assert hi[0] == pytest.approx(stats.beta.ppf(0.95, 0.5, 5.5), rel=1e-10)
    assert lo[1] == pytest.approx(stats.beta.ppf(0.05, 2.5, 3.5), rel=1e-10)
    assert hi[1] == pytest.approx(stats.beta.ppf(0.95, 2.5, 3.5), rel=1e-10)
    assert lo[2] == pytest.approx(stats.beta.ppf(0.05, 5.5, 0.5), rel=1e-10)


def test_disparity_bounds_contain_the_point_estimate_and_reach_zero():
    point = np.array([[0.30, 0.32, 0.50]])
    lower, upper = point - 0.05, point + 0.05
    lo, hi = range_bounds(lower, upper)
    assert lo[0] == pytest.approx(0.10) and hi[0] == pytest.approx(0.30)
    assert lo[0] <= 0.20 <= hi[0]
    lo, hi = range_bounds(np.array([[0.1, 0.12]]), np.array([[0.3, 0.31]]))
    assert lo[0] == 0.0  # overlapping intervals: the groups may be equal
    rlo, rhi = ratio_bounds(lower, upper)
    assert rlo[0] == pytest.approx(0.25 / 0.55) and rhi[0] == pytest.approx(0.35 / 0.45)
    assert rlo[0] <= 0.30 / 0.50 <= rhi[0]
    alo, ahi = abs_max_bounds(np.array([[-0.2, 0.1]]), np.array([[0.1, 0.4]]))
    assert (alo[0], ahi[0]) == (pytest.approx(0.1), pytest.approx(0.4))
    clo, chi = contain([0.016, np.nan], [0.112, np.nan], [0.014, 0.5])
    assert clo[0] == 0.014 and chi[0] == 0.112 and np.isnan(clo[1])


def test_verdicts_follow_the_interval_not_the_estimate():
    got = verdict(
        [0.02, 0.05, 0.11, 0.0, np.nan],
        [0.09, 0.2, 0.3, 0.05, np.nan],
        0.1,
        assessable=[True, True, True, False, True],
    )
    assert got.tolist() == ["pass", "warn", "fail", "not assessable", "not assessable"]
    # the four-fifths rule: a ratio fails only when its whole interval is below 0.8
    assert verdict(0.582, 0.843, 0.8, higher_is_worse=False) == "warn"
    assert verdict(0.5, 0.79, 0.8, higher_is_worse=False) == "fail"
    assert verdict(0.81, 1.0, 0.8, higher_is_worse=False) == "pass"


def test_evaluate_calibration_bands_honour_ci():
    """evaluate(..., ci=0.5) used to return 95% Wilson calibration bands."""
    from raikit import Dataset
    from raikit.evaluate import evaluate

    rng = np.random.default_rng(0)
    n = 400
    score = rng.uniform(size=n)
    y = (rng.uniform(size=n) < score).astype(int)
    frame = pd.DataFrame(
        {"y": y, "pred": (score > 0.5).astype(int), "score": score, "g": rng.choice(["a", "b"], n)}
    )
    ds = Dataset(frame, target="y", sensitive=["g"], prediction="pred", score="score")
    cal = {}
    for ci in (0.5, 0.95):
        cal[ci] = evaluate(None, ds, ci=ci, n_boot=50, random_state=0).calibration
        count = cal[ci]["count"].to_numpy(float)
        positives = np.round(cal[ci]["observed_rate"].to_numpy() * count)
        lo, hi = wilson_interval(positives, count, ci=ci)
        np.testing.assert_allclose(cal[ci]["lower"], lo, atol=1e-12)
        np.testing.assert_allclose(cal[ci]["upper"], hi, atol=1e-12)
    width = {ci: (c["upper"] - c["lower"]).to_numpy() for ci, c in cal.items()}
    assert (width[0.5] < width[0.95]).all()
