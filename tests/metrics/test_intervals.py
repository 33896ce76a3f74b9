"""Honest small-sample intervals: coverage by simulation, no zero width at 0/k and k/k, and
between-group disparities whose intervals contain their estimates and cover the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit.metrics import group_metrics

SIZES = (3, 10, 30, 100)
RATES = (0.0, 0.05, 0.5)
FLOOR = 0.90  # nominal 0.95; the simulation's Monte Carlo error is about 0.014


def _coverage_table(n_sims: int, n_boot: int, seed: int) -> pd.DataFrame:
    """One group_metrics call: every simulated sample is a group of its own (vectorised)."""
    rng = np.random.default_rng(seed)
    sizes = np.repeat(np.repeat(SIZES, len(RATES)), n_sims)
    rates = np.repeat(np.tile(RATES, len(SIZES)), n_sims)
    group = np.repeat(np.arange(len(sizes)), sizes)
    y_pred = (rng.random(len(group)) < rates[group]).astype(int)
    r = group_metrics(
        np.zeros_like(y_pred),
        y_pred,
        sensitive_features=group,
        metrics=["selection_rate"],
        ci=0.95,
        n_boot=n_boot,
        random_state=seed,
    )
    value = r.by_group["selection_rate"].to_numpy()
    lower = r.by_group_lower["selection_rate"].to_numpy()
    upper = r.by_group_upper["selection_rate"].to_numpy()
    frame = pd.DataFrame(
        {
            "n": sizes,
            "p": rates,
            "covered": (lower <= rates) & (rates <= upper),
            "width": upper - lower,
            "contains_estimate": (lower <= value) & (value <= upper),
        }
    )
    return frame.groupby(["n", "p"]).agg(
        coverage=("covered", "mean"),
        min_width=("width", "min"),
        contains=("contains_estimate", "all"),
    )


def test_rate_intervals_cover_at_small_n_and_never_have_zero_width():
    table = _coverage_table(n_sims=250, n_boot=800, seed=16)
    assert len(table) == len(SIZES) * len(RATES)
    assert (table["coverage"] >= FLOOR).all(), table
    assert (table["min_width"] > 0).all(), table
    assert table["contains"].all()


def test_zero_of_k_and_k_of_k_get_jeffreys_like_intervals():
    """The Poisson bootstrap gave [0, 0] for 0 of k and [1, 1] for k of k (and for one row)."""
    y_pred = np.array([0, 0, 0] + [1] * 10 + [1])
    group = ["none"] * 3 + ["all"] * 10 + ["one"]
    r = group_metrics(
        np.zeros_like(y_pred),
        y_pred,
        sensitive_features=group,
        metrics=["selection_rate"],
        ci=0.95,
        n_boot=4000,
        random_state=0,
    )
    key = ("sensitive",)
    lower = r.by_group_lower["selection_rate"]
    upper = r.by_group_upper["selection_rate"]
    assert lower[(*key, "none")] == 0.0
    assert lower[(*key, "all")] < 1.0 and upper[(*key, "all")] == 1.0
    assert lower[(*key, "one")] < 0.5 and upper[(*key, "one")] == 1.0
    # 0 of 3: the draws are Beta(0 + 1, 3 + 1) (the Jeffreys Dirichlet prior puts 1/2 on each of
    # the two selected cells tp and fp), whose 97.5% quantile is 1 - 0.025 ** (1 / 4)
    assert upper[(*key, "none")] == pytest.approx(1 - 0.025**0.25, abs=0.03)


def test_tpr_from_three_positives_is_not_a_point():
    y = np.array([1, 1, 1, 0, 0, 0, 0] + [1, 0] * 20)
    p = np.array([0, 0, 0, 0, 0, 1, 0] + [1, 0] * 20)
    g = ["a"] * 7 + ["b"] * 40
    r = group_metrics(y, p, sensitive_features=g, ci=0.95, n_boot=2000, random_state=1)
    tpr = r.table.set_index(["group", "metric"]).loc[("a", "true_positive_rate")]
    assert tpr["value"] == 0.0 and tpr["lower"] == 0.0 and tpr["upper"] > 0.3
    widths = r.table.dropna(subset=["value"])
    widths = widths[widths["metric"] != "count"]
    assert ((widths["upper"] - widths["lower"]) > 0).all()


@pytest.mark.parametrize("seed", range(6))
def test_every_interval_contains_its_estimate(seed):
    """The max-minus-min bootstrap could exclude its own estimate (0.014 with CI [0.016, 0.112])."""
    rng = np.random.default_rng(seed)
    n = 600
    g = rng.choice(list("abcde"), n)
    h = rng.choice(["x", "y"], n)
    y = rng.integers(0, 2, n)
    p = (rng.random(n) < 0.3).astype(int)  # the same selection rate in every group
    r = group_metrics(
        y, p, sensitive_features={"g": g, "h": h}, ci=0.95, n_boot=300, random_state=seed
    )
    for frame in (r.table, r.disparities):
        ok = frame.dropna(subset=["value", "lower", "upper"])
        assert ((ok["lower"] <= ok["value"] + 1e-12) & (ok["value"] <= ok["upper"] + 1e-12)).all()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("n", "rates"),
    [
        (10, (0.5, 0.5)),
        (30, (0.05, 0.05)),
        (30, (0.3, 0.5)),
        (100, (0.5, 0.5)),
        (10, (0.05, 0.5, 0.5)),
    ],
)
def test_between_group_difference_and_ratio_cover_the_truth(n, rates):
    rng = np.random.default_rng(n)
    n_sims = 100
    covered = {"difference": 0, "ratio": 0}
    defined = {"difference": 0, "ratio": 0}
    truth = {"difference": max(rates) - min(rates), "ratio": min(rates) / max(rates)}
    g = np.repeat(np.arange(len(rates)).astype(str), n)
    for sim in range(n_sims):
        y_pred = (rng.random(len(g)) < np.repeat(rates, n)).astype(int)
        r = group_metrics(
            np.zeros_like(y_pred),
            y_pred,
            sensitive_features=g,
            metrics=["selection_rate"],
            ci=0.95,
            n_boot=400,
            random_state=sim,
        )
        for kind in covered:
            row = r.disparities[
                (r.disparities["kind"] == kind) & (r.disparities["method"] == "between_groups")
            ].iloc[0]
            if np.isfinite(row["value"]):  # a ratio of two zero rates is undefined
                defined[kind] += 1
                covered[kind] += row["lower"] <= truth[kind] <= row["upper"]
    for kind in covered:
        assert defined[kind] >= n_sims // 4
        assert covered[kind] / defined[kind] >= FLOOR, (kind, covered, defined)
