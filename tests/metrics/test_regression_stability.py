"""R² and MSE by group stay exact when the target's mean dwarfs its spread (no catastrophic
cancellation in the between-group term), and every bootstrap interval contains its estimate."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mean_squared_error, r2_score

from raikit.metrics import group_metrics

TOL = 1e-9


def _data(mean: float, n: int = 3000, seed: int = 0):
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y = mean + rng.normal(size=n) + 0.5 * (g == "b")
    y_hat = y + rng.normal(scale=0.7, size=n) - 0.2 * (g == "c")
    return y, y_hat, g


@pytest.mark.parametrize("mean", [0.0, 1e4, 1e6, 1e8, 1e10, 1e12])
def test_r2_and_mse_by_group_match_scikit_learn_at_large_means(mean):
    """Before: error 1.4e-5 at mean/sd 1e6; at 1e8 one group got 0.861 against 0.442."""
    y, y_hat, g = _data(mean)
    r = group_metrics(
        y,
        y_hat,
        sensitive_features={"sex": g},
        task="regression",
        metrics=["r2", "mean_squared_error", "mean_target"],
        ci=0.95,
        n_boot=200,
        random_state=0,
    )
    for label in ("a", "b", "c", None):
        rows = g == label if label else np.ones(len(g), bool)
        ours = r.by_group.loc[("sex", label)] if label else r.overall
        # y - mean is exact here (Sterbenz), so scikit-learn on the shifted data is the exact
        # reference; on the raw data its own mean carries rounding at 1e12 (about 4e-9).
        exact = r2_score(y[rows] - mean, y_hat[rows] - mean)
        assert ours["r2"] == pytest.approx(exact, rel=TOL)
        raw = r2_score(y[rows], y_hat[rows])
        if mean <= 1e10:
            assert ours["r2"] == pytest.approx(raw, rel=TOL)
        else:
            assert abs(ours["r2"] - exact) <= abs(raw - exact) + 1e-15
        mse = mean_squared_error(y[rows], y_hat[rows])
        assert ours["mean_squared_error"] == pytest.approx(mse, rel=TOL)
        assert ours["mean_target"] == pytest.approx(y[rows].mean(), rel=1e-12)
    table = r.table.dropna(subset=["value", "lower", "upper"])
    assert ((table["lower"] <= table["value"]) & (table["value"] <= table["upper"])).all()
    widths = table[table["metric"] == "r2"]
    assert ((widths["upper"] - widths["lower"]) > 0).all()


def test_r2_interval_is_the_same_at_any_mean():
    """The bootstrap replicates are shifted too: a translation of the target changes nothing."""
    results = []
    for mean in (0.0, 1e8):
        y, y_hat, g = _data(mean, n=1000, seed=3)
        results.append(
            group_metrics(
                y,
                y_hat,
                sensitive_features=g,
                task="regression",
                metrics=["r2"],
                ci=0.9,
                n_boot=300,
                random_state=1,
            ).by_group_lower["r2"]
        )
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)
