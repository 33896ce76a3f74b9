"""Slice Tuner: power-law fits, the convex allocation, the iterative limit, acquisition, results."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from raikit import Dataset
from raikit._errors import ColumnError, DataError, ParameterError
from raikit.data import (
    PoolAcquirer,
    SliceTunerResult,
    allocate_budget,
    fit_power_law,
    slice_tuner,
)
from raikit.data._slice_tuner import _limit_imbalance, _objective, imbalance_ratio


# --------------------------------------------------------------------------- synthetic data
def make_slices(sizes: dict, seed: int) -> pd.DataFrame:
    """Slices A and C share one linear rule; slice B's label depends on 8 features of its own
    (zero outside B), so B's loss falls steeply with B's own rows while A and C are saturated."""
    rng = np.random.default_rng(seed)
    w_b = np.array([1.5, -1.2, 1.0, -0.8, 0.9, -1.1, 0.7, 1.3])
    parts = []
    for name, n in sizes.items():
        x = rng.normal(size=(n, 2))
        b = rng.normal(size=(n, 8))
        if name == "B":
            logit = b @ w_b
            x[:] = 0.0
        else:
            logit = 2.0 * x[:, 0] - 1.0 * x[:, 1]
            b[:] = 0.0
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
        frame = pd.DataFrame(np.c_[x, b], columns=["x0", "x1"] + [f"b{i}" for i in range(8)])
        frame["g"] = name
        frame["y"] = y
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def synthetic():
    train = make_slices({"A": 300, "B": 40, "C": 300}, seed=1)
    valid = make_slices({"A": 300, "B": 300, "C": 300}, seed=2)
    pool = make_slices({"A": 2000, "B": 2000, "C": 2000}, seed=3)
    return train, valid, pool


def labelled(frame: pd.DataFrame) -> Dataset:
    return Dataset(frame, target="y", sensitive="g")


def tune(train: pd.DataFrame, **kwargs):
    """slice_tuner on the synthetic slices with the test's small settings."""
    params = {
        "budget": 150,
        "lam": 1.0,
        "sizes": (0.4, 0.7, 1.0),
        "n_repeats": 2,
        "random_state": 0,
    }
    params.update(kwargs)
    return slice_tuner(labelled(train), **params)


# --------------------------------------------------------------------------- power-law fits
@pytest.mark.parametrize(("a", "b"), [(0.3, 2.0), (0.05, 0.7), (1.0, 10.0)])
def test_power_law_recovers_exact_curve(a, b):
    n = np.array([30, 60, 120, 240, 480])
    fit = fit_power_law(n, b * n**-a)
    assert fit["a"] == pytest.approx(a, abs=1e-10)
    assert fit["b"] == pytest.approx(b, rel=1e-10)
    assert fit["a_se"] == pytest.approx(0.0, abs=1e-8)
    assert fit["r2"] == pytest.approx(1.0)
    assert fit["clipped"] is False


def test_power_law_is_weighted_least_squares_in_log_space():
    # reference: numpy's polyfit, whose weights multiply the residuals (so sqrt of ours)
    n = np.array([20.0, 50.0, 100.0, 200.0, 400.0])
    loss = np.array([0.61, 0.52, 0.50, 0.44, 0.43])
    slope, intercept = np.polyfit(np.log(n), np.log(loss), 1, w=np.sqrt(n))
    fit = fit_power_law(n, loss)
    assert fit["a"] == pytest.approx(-slope, rel=1e-10)
    assert fit["b"] == pytest.approx(np.exp(intercept), rel=1e-10)
    # larger subsets weigh more: the weighted fit follows the large-n points more closely
    plain = np.polyfit(np.log(n), np.log(loss), 1)
    at_400 = abs(np.log(fit["b"] * 400 ** -fit["a"]) - np.log(0.43))
    assert at_400 <= abs(np.polyval(plain, np.log(400)) - np.log(0.43))
    # a standard error comes with it (3 degrees of freedom)
    assert 0 < fit["a_se"] < fit["a"]


def test_power_law_rising_loss_is_clipped_flat():
    fit = fit_power_law([10, 20, 40], [0.30, 0.32, 0.35])
    assert fit["clipped"] is True
    assert fit["a"] == 0.0
    assert 0.30 < fit["b"] < 0.35


@pytest.mark.parametrize(
    ("sizes", "losses"), [([10, 10], [0.3, 0.2]), ([10, 20], [0.3, 0.0]), ([0, 20], [0.3, 0.2])]
)
def test_power_law_bad_input(sizes, losses):
    with pytest.raises(DataError):
        fit_power_law(sizes, losses)


# --------------------------------------------------------------------------- the allocation
def test_allocation_spends_budget_within_costs():
    a, b, n = [0.3, 0.2, 0.5], [1.0, 0.8, 2.0], [100, 50, 400]
    d = allocate_budget(a, b, n=n, budget=200, lam=0.5)
    assert d.dtype == np.int64 and (d >= 0).all() and d.sum() == 200
    cost = np.array([1.0, 2.5, 4.0])
    d = allocate_budget(a, b, n=n, budget=203, cost=cost, lam=0.5)
    spent = float(cost @ d)
    assert (d >= 0).all()
    assert spent <= 203 + 1e-9
    assert 203 - spent < cost.min()  # no example that still fits was left out


def test_allocation_equalises_marginal_gains_without_fairness_term():
    # KKT with lam=0 and equal costs: d(loss)/d(d_s) is the same for every slice that gets data
    a, b, n = (
        np.array([0.3, 0.5, 0.2, 0.4]),
        np.array([1.0, 2.0, 0.8, 1.5]),
        np.array([100, 300, 80, 1000.0]),
    )
    d = allocate_budget(a, b, n=n, budget=500, lam=0.0, integer=False)
    assert d.sum() == pytest.approx(500)
    marginal = a * b * (n + d) ** (-a - 1)
    funded = d > 1e-3
    assert funded.sum() >= 2
    common = marginal[funded].mean()
    np.testing.assert_allclose(marginal[funded], common, rtol=1e-3)
    assert (marginal[~funded] <= common * (1 + 1e-3)).all()


def test_integer_allocation_is_near_the_brute_force_optimum():
    a, b, n = np.array([0.4, 0.2, 0.6]), np.array([1.0, 0.9, 3.0]), np.array([40.0, 20.0, 200.0])
    reference = np.mean(b * n**-a)
    for lam in (0.0, 1.0, 5.0):
        ours = allocate_budget(a, b, n=n, budget=30, lam=lam)
        best = min(
            _objective(np.array(d), a, b, n, lam, reference)
            for d in itertools.product(range(31), repeat=3)
            if sum(d) == 30
        )
        assert _objective(ours, a, b, n, lam, reference) <= best + 1e-6


def test_large_lambda_favours_the_worst_slice():
    # same exponent; slice 0 has the highest loss but slice 2 gains the most per example
    a, b, n = np.array([0.1, 0.1, 0.6]), np.array([0.9, 0.5, 2.0]), np.array([200.0, 200.0, 200.0])
    plain = allocate_budget(a, b, n=n, budget=300, lam=0.0)
    fair = allocate_budget(a, b, n=n, budget=300, lam=50.0)
    worst = int(np.argmax(b * n**-a))
    assert worst == 0
    assert fair[worst] > plain[worst]
    assert fair[worst] >= 0.5 * 300


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"budget": 0}, ParameterError, r"allocate_budget\(\): budget must be a number > 0"),
        ({"budget": -5}, ParameterError, "budget must be"),
        (
            {"budget": 10, "cost": [1.0, 0.0]},
            ParameterError,
            r"allocate_budget\(\): cost must be a positive",
        ),
        ({"budget": 10, "lam": -1}, ParameterError, r"allocate_budget\(\): lam must be"),
    ],
)
def test_allocation_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        allocate_budget([0.3, 0.3], [1, 1], n=[10, 10], **kwargs)


def test_imbalance_limit():
    n = np.array([100.0, 400.0])
    d = np.array([0, 300])
    limited = _limit_imbalance(n, d, 1.0)
    assert abs(imbalance_ratio(n + limited) - imbalance_ratio(n)) <= 1.0
    assert limited[1] >= 95  # the largest share that keeps the change within T (100 exactly)
    assert (_limit_imbalance(n, np.array([50, 0]), 10.0) == [50, 0]).all()


# --------------------------------------------------------------------------- end to end
def test_plan_and_run_on_synthetic_slices(synthetic):
    train, valid, pool = synthetic
    result = tune(train, validation=valid)
    table = result.slices.set_index("slice")
    assert not result.acquired
    assert result.allocation.to_dict() == table["allocation"].to_dict()
    assert int(table["allocation"].sum()) == 150
    assert table.loc["B", "allocation"] == table["allocation"].max()  # the starved slice
    assert table.loc["B", "a"] > table.loc["A", "a"]  # and its curve is the steepest
    assert np.isnan(result.overall["loss_after"])

    # a budget that leaves B the worst slice even if it gets everything (robust over data seeds)
    run = tune(train, budget=60, acquire=PoolAcquirer(pool, "g", random_state=0), validation=valid)
    uniform = tune(
        train,
        method="uniform",
        budget=60,
        acquire=PoolAcquirer(pool, "g", random_state=0),
        validation=valid,
    )
    o, u = run.overall, uniform.overall
    assert o["disparity_after"] < o["disparity_before"]
    assert o["disparity_after"] < u["disparity_after"]
    assert o["loss_after"] < u["loss_after"]
    assert o["accuracy_after"] >= u["accuracy_after"] - 0.01
    assert run.slices["allocation"].tolist() == [0, 60, 0]
    assert run.slices["acquired"].sum() == 60
    assert uniform.slices["allocation"].tolist() == [20, 20, 20]


def test_iterative_respects_T(synthetic):
    train, valid, pool = synthetic
    acquire = PoolAcquirer(pool, "g", random_state=0)
    result = tune(train, method="iterative", T=0.5, budget=120, acquire=acquire, validation=valid)
    rounds = result.rounds.drop_duplicates("round")
    assert len(rounds) >= 2
    change = (rounds["imbalance_after"] - rounds["imbalance_before"]).abs()
    # the paper's "moderate" schedule: the limit grows by T every round
    np.testing.assert_allclose(rounds["limit"], 0.5 * (rounds["round"] + 1))
    assert (change <= rounds["limit"] + 1e-12).all()
    assert (change.iloc[:-1] >= 0.5 * rounds["limit"].iloc[:-1]).all()  # the limit binds
    assert int(result.slices["acquired"].sum()) == 120
    assert result.curves["round"].nunique() == len(rounds)  # curves refitted each round
    # the acquirer holds the rows it handed out, as many per slice as were acquired
    assert len(acquire.drawn) == 120
    assert acquire.drawn["g"].value_counts().to_dict() == {
        k: v for k, v in result.allocation.items() if v > 0
    }


def test_costs_and_attributes(synthetic):
    train, _, _ = synthetic
    result = tune(train, cost={"B": 3}, budget=90)
    table = result.slices.set_index("slice")
    assert table.loc["B", "cost"] == 3 and table.loc["A", "cost"] == 1
    assert float((table["cost"] * table["allocation"]).sum()) <= 90
    # attributes= names the slice columns; default: the Dataset's sensitive attributes
    two = train.assign(h=np.where(train["x0"] > 0, "hi", "lo"))
    ds = Dataset(two, target="y", sensitive=["g", "h"], features=[c for c in train if c[0] in "xb"])
    by_g = slice_tuner(ds, attributes="g", budget=30, sizes=(0.4, 1.0), n_repeats=1, random_state=0)
    assert sorted(by_g.slices["slice"]) == ["A", "B", "C"] and by_g.meta["slice_by"] == ["g"]
    both = slice_tuner(ds, budget=30, sizes=(0.4, 1.0), n_repeats=1, random_state=0)
    assert both.meta["slice_by"] == ["g", "h"] and "B & lo" in set(both.slices["slice"]) | set(
        both.meta["left_out"]
    )


def test_result_round_trip_figures_and_html(synthetic, tmp_path):
    train, valid, pool = synthetic
    result = tune(train, acquire=PoolAcquirer(pool, "g", random_state=0), validation=valid)
    back = SliceTunerResult.from_json(result.to_json())
    pd.testing.assert_frame_equal(back.slices, result.slices)
    pd.testing.assert_frame_equal(back.curve_points, result.curve_points)
    pd.testing.assert_frame_equal(back.curves, result.curves)
    pd.testing.assert_frame_equal(back.rounds, result.rounds)
    assert back.overall == result.overall
    assert back.findings == result.findings and back.meta == result.meta
    assert json.loads(result.to_json())["type"] == "SliceTunerResult"
    figures = result.figures()
    assert len(figures) == 3
    # aggregates only: no trace has more points than sizes x slices or the 60-point curve grid
    assert max(len(trace.x) for fig in figures for trace in fig.data) <= 120
    page = result.to_html(tmp_path / "st.html")
    assert "Slice Tuner" in page and "plotly" in page.lower()
    assert "Loss" in result.summary


def test_ci_sets_the_width_of_the_curve_intervals(synthetic):
    from scipy import stats

    train, valid, _ = synthetic
    wide = tune(train, n_repeats=3, validation=valid).curve_points
    narrow = tune(train, n_repeats=3, validation=valid, ci=0.8).curve_points
    pd.testing.assert_series_equal(wide["mean_loss"], narrow["mean_loss"])  # same seed, fits
    inner = (wide["upper"] - wide["lower"]) > 1e-9  # the full-size point may repeat one fit
    ratio = (narrow["upper"] - narrow["lower"])[inner] / (wide["upper"] - wide["lower"])[inner]
    expected = stats.t.ppf(0.9, 2) / stats.t.ppf(0.975, 2)  # two-sided, 3 repeats
    np.testing.assert_allclose(ratio, expected, rtol=1e-9)
    with pytest.raises(ParameterError, match=r"slice_tuner\(\): ci must be a number in \(0, 1\)"):
        tune(train, validation=valid, ci=95)


def test_curve_points_have_error_bars(synthetic):
    train, valid, _ = synthetic
    result = tune(train, n_repeats=3, validation=valid)
    points = result.curve_points
    assert set(points["n_repeats"]) == {3}
    inner = points[points["n"] < points.groupby("slice")["n"].transform("max")]
    assert (inner["upper"] > inner["lower"]).all()
    assert (points["lower"] <= points["mean_loss"]).all()


# --------------------------------------------------------------------------- bad input
def test_pool_acquirer_draws_without_replacement_and_reports_exhaustion():
    pool = make_slices({"A": 5, "B": 3}, seed=0)
    acquire = PoolAcquirer(pool, "g", random_state=0)
    first = acquire("A", 3)
    second = acquire("A", 2)
    assert (first["g"] == "A").all() and len(first) == 3
    rows = pd.concat([first, second])
    assert not rows.duplicated().any()
    with pytest.raises(DataError, match="only 0 row"):
        acquire("A", 1)
    assert acquire.remaining().to_dict() == {"A": 0, "B": 3}
    pd.testing.assert_frame_equal(acquire.drawn, rows.reset_index(drop=True))
    with pytest.raises(ParameterError, match="negative"):
        acquire("B", -1)
    with pytest.raises(ColumnError):
        PoolAcquirer(pool, "nope")


def test_run_with_a_small_pool_takes_what_it_holds(synthetic):
    # Used to raise "The pool has only 5 row(s) left of slice ...": the plan asked a slice for
    # more rows than the pool held. Now no slice is asked for more than it has left.
    train, valid, _ = synthetic
    small = make_slices({"A": 5, "B": 5, "C": 5}, seed=9)
    acquire = PoolAcquirer(small, "g")
    result = tune(train, acquire=acquire, validation=valid)
    table = result.slices.set_index("slice")
    assert table["acquired"].tolist() == [5.0, 5.0, 5.0]
    assert result.overall["spent"] == 15 and len(acquire.drawn) == 15
    short = [f for f in result.findings if f.title.startswith("Not enough examples")]
    assert len(short) == 1 and "15 was acquired" in short[0].detail


def test_run_with_a_pool_short_in_one_slice_spends_the_rest_elsewhere(synthetic):
    train, valid, pool = synthetic
    few_b = pd.concat([pool[pool["g"] != "B"], pool[pool["g"] == "B"].head(7)])
    unlimited = tune(train, validation=valid)
    assert unlimited.slices.set_index("slice").loc["B", "allocation"] > 7  # the cap binds
    result = tune(train, acquire=PoolAcquirer(few_b, "g", random_state=0), validation=valid)
    table = result.slices.set_index("slice")
    assert table.loc["B", "acquired"] == 7
    assert table["acquired"].sum() == 150 and result.overall["spent"] == 150
    assert not [f for f in result.findings if f.title.startswith("Not enough")]


def test_plan_within_an_unlabelled_pool_and_draw_the_rows_to_label(synthetic):
    train, valid, pool = synthetic
    unlabelled = pd.concat([pool[pool["g"] != "B"], pool[pool["g"] == "B"].head(4)]).drop(
        columns="y"
    )
    acquire = PoolAcquirer(unlabelled, "g", random_state=0)
    result = tune(train, validation=valid, available=acquire.remaining())
    allocation = result.slices.set_index("slice")["allocation"]
    assert allocation["B"] == 4 and allocation.sum() == 150
    rows = acquire.draw(result.allocation)
    assert "y" not in rows.columns and len(rows) == 150
    assert rows["g"].value_counts().to_dict() == {k: v for k, v in allocation.items() if v > 0}
    # A slice the pool does not hold gets nothing; bad counts are refused.
    result = tune(train, validation=valid, available={"A": 1000, "C": 1000})
    assert result.slices.set_index("slice").loc["B", "allocation"] == 0
    for bad in ({"A": -1}, {"A": "many"}, [1, 2, 3]):
        with pytest.raises(ParameterError, match=r"slice_tuner\(\): available"):
            tune(train, validation=valid, available=bad)


def test_allocation_within_available_is_the_brute_force_optimum():
    a, b, n = np.array([0.4, 0.2, 0.6]), np.array([1.0, 0.9, 3.0]), np.array([40.0, 20.0, 200.0])
    reference = np.mean(b * n**-a)
    cap = np.array([6, 30, 9])
    for lam in (0.0, 1.0, 5.0):
        ours = allocate_budget(a, b, n=n, budget=30, lam=lam, available=cap)
        assert ours.sum() == 30 and (ours <= cap).all()
        best = min(
            _objective(np.array(d), a, b, n, lam, reference)
            for d in itertools.product(*(range(c + 1) for c in cap))
            if sum(d) == 30
        )
        assert _objective(ours, a, b, n, lam, reference) <= best + 1e-6
    # Unlimited slices: the same answer as without available=.
    free = allocate_budget(a, b, n=n, budget=30, lam=1.0, available=[np.inf] * 3)
    assert free.tolist() == allocate_budget(a, b, n=n, budget=30, lam=1.0).tolist()
    # Fewer examples than the budget buys: take them all.
    assert allocate_budget(a, b, n=n, budget=30, available=[3, 4, 5]).tolist() == [3, 4, 5]
    costly = allocate_budget(a, b, n=n, budget=30, cost=[2, 1, 1], available=[5, 4, 20])
    assert costly.tolist() == [5, 4, 16]  # 10 + 4 + 16 = 30
    with pytest.raises(ParameterError, match="available"):
        allocate_budget(a, b, n=n, budget=30, available=[1, 2])
    with pytest.raises(ParameterError, match="available"):
        allocate_budget(a, b, n=n, budget=30, available=[1, -2, 3])


@pytest.mark.parametrize("kind", ["uniform", "proportional"])
def test_baseline_allocation_within_available(kind):
    from raikit.data._slice_tuner import _baseline_allocation

    n, cost = np.array([100.0, 200.0, 300.0]), np.ones(3)
    free = _baseline_allocation(kind, n, cost, 60)
    assert free.tolist() == ([20, 20, 20] if kind == "uniform" else [10, 20, 30])
    capped = _baseline_allocation(kind, n, cost, 60, np.array([4, np.inf, np.inf]))
    assert capped[0] == 4 and capped.sum() == 60
    # The other slices share the rest in the same proportions (up to one example of rounding).
    share = np.array([1.0, 1.0]) if kind == "uniform" else np.array([2.0, 3.0])
    np.testing.assert_allclose(capped[1:], 56 * share / share.sum(), atol=1)
    assert _baseline_allocation(kind, n, cost, 60, np.array([1, 2, 3])).tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"budget": 0}, ParameterError, r"slice_tuner\(\): budget must be a number > 0; got 0"),
        ({"budget": -10}, ParameterError, "budget"),
        ({"attributes": "nope"}, ColumnError, "nope"),
        ({"method": "greedy"}, ParameterError, r"slice_tuner\(\): method must be one of"),
        ({"cost": {"Z": 2}}, ParameterError, "Z"),
        ({"cost": {"A": 0}}, ParameterError, "positive"),
        ({"budget": 0.5, "cost": 2.0}, ParameterError, "cheapest"),
        ({"sizes": (1.0,)}, ParameterError, "sizes must be a sequence of at least two"),
        ({"T": 0}, ParameterError, r"slice_tuner\(\): T must be"),
        ({"T_growth": "fast"}, ParameterError, "T_growth"),
        ({"n_repeats": 0}, ParameterError, "n_repeats"),
        ({"validation_size": 1.0}, ParameterError, "validation_size"),
        ({"estimator": "logistic"}, ParameterError, "estimator must be an unfitted"),
        ({"random_state": -1}, ParameterError, "random_state"),
        ({"acquire": "pool.csv"}, ParameterError, "acquire must be a callable"),
    ],
)
def test_bad_parameters(synthetic, kwargs, error, match):
    train, valid, _ = synthetic
    with pytest.raises(error, match=match):
        tune(train, validation=valid, **kwargs)


def test_slice_too_small_for_a_curve_is_left_out_and_reported(synthetic):
    # Used to stop the whole plan with an error; now the other slices are planned for.
    train, valid, _ = synthetic
    tiny = pd.concat([train[train["g"] != "B"], train[train["g"] == "B"].head(8)])
    result = tune(tiny, validation=valid, available={"A": 9, "B": 50, "C": 500})
    table = result.slices.set_index("slice")
    assert table.index.tolist() == ["A", "C"]
    assert table["allocation"].tolist() == [9, 141]  # A holds 9 in the pool, C gets the rest
    assert table.loc["A", "n_before"] == 300  # B's rows are not counted in any slice
    assert result.meta["left_out"] == {"B": {"training_rows": 8, "validation_rows": 300}}
    warning = [f for f in result.findings if "too small to plan for" in f.title]
    assert len(warning) == 1 and "'B' (8 training, 300 validation row(s))" in warning[0].detail
    # With the hold-out, a slice of 3 rows has too few training rows (and maybe no validation row).
    three = pd.concat([train[train["g"] != "B"], train[train["g"] == "B"].head(3)])
    result = tune(three)
    assert list(result.meta["left_out"]) == ["B"]
    # Fewer than two slices left: an error that names them.
    two = tiny[tiny["g"] != "C"]
    with pytest.raises(DataError, match=r"at least two slices .* 'B' \(8 training"):
        tune(two, validation=valid)


def test_missing_target_and_bad_acquirer(synthetic):
    train, valid, _ = synthetic
    with pytest.raises(ColumnError, match=r"slice_tuner\(\): data has no target column"):
        slice_tuner(Dataset(train, target=None, sensitive="g"), budget=10)
    with pytest.raises(ParameterError, match=r"slice_tuner\(\): data must be a raikit Dataset"):
        slice_tuner(train, budget=10)
    unlabelled = valid.astype({"y": float})
    unlabelled.loc[0, "y"] = np.nan
    with pytest.raises(DataError, match="without a label"):
        tune(train, validation=unlabelled)

    def wrong_slice(name, n):
        return make_slices({"A": n}, seed=0)

    with pytest.raises(DataError, match="another slice"):
        tune(train, acquire=wrong_slice, validation=valid)


def test_iterative_constant_limit_reports_unspent_budget(synthetic):
    train, valid, pool = synthetic
    result = tune(
        train,
        method="iterative",
        T=0.2,
        T_growth="constant",
        max_rounds=2,
        budget=120,
        acquire=PoolAcquirer(pool, "g", random_state=0),
        validation=valid,
    )
    rounds = result.rounds.drop_duplicates("round")
    assert len(rounds) == 2
    assert ((rounds["imbalance_after"] - rounds["imbalance_before"]).abs() <= 0.2 + 1e-12).all()
    assert result.overall["spent"] < 120
    assert any(f.title == "Budget left after the last round" for f in result.findings)


# --------------------------------------------------------------------------- CLI
def test_cli_acquire_plan(synthetic, tmp_path):
    from typer.testing import CliRunner

    from raikit._result import Result
    from raikit.cli import app

    train, valid, pool = synthetic
    for name, frame in (("train", train), ("valid", valid), ("pool", pool)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    runner = CliRunner()
    base = ["data", "acquire-plan", str(tmp_path / "train.csv"), "--target", "y", "--slices", "g"]
    base += ["--budget", "60", "--validation", str(tmp_path / "valid.csv"), "--repeats", "2"]
    plan = runner.invoke(app, [*base, "--cost", "B=2", "--out", str(tmp_path / "plan")])
    assert plan.exit_code == 0, plan.output
    assert "Acquisition plan" in plan.output
    result = Result.from_json(str(tmp_path / "plan" / "acquire-plan.json"))
    table = result.slices.set_index("slice")
    assert not result.acquired and table.loc["B", "cost"] == 2.0
    assert float((table["cost"] * table["allocation"]).sum()) <= 60
    assert (tmp_path / "plan" / "acquire-plan.html").exists()

    out = tmp_path / "run"
    done = runner.invoke(app, [*base, "--pool", str(tmp_path / "pool.csv"), "--out", str(out)])
    assert done.exit_code == 0, done.output
    result = Result.from_json(str(out / "acquire-plan.json"))
    assert result.acquired and result.overall["spent"] == 60
    acquired = pd.read_csv(out / "acquired.csv")
    assert len(acquired) == 60
    assert acquired["g"].value_counts().to_dict() == {
        k: v for k, v in result.slices.set_index("slice")["allocation"].items() if v > 0
    }

    bad = runner.invoke(app, [*base, "--cost", "B", "--out", str(out)])
    assert isinstance(bad.exception, ParameterError) and "--cost" in str(bad.exception)
    bad = runner.invoke(app, [*base[:-6], "--budget", "0", "--out", str(out)])
    assert isinstance(bad.exception, ParameterError) and "budget" in str(bad.exception)
    unknown = [*base[:5], "--slices", "nope", *base[7:], "--out", str(out)]
    bad = runner.invoke(app, unknown)
    assert isinstance(bad.exception, ColumnError) and "--slices names column(s) ['nope']" in str(
        bad.exception
    )


# --------------------------------------------------------------------------- Adult, end to end
@pytest.mark.slow
def test_adult_paper_setting_end_to_end(adult):
    """The paper's AdultCensus slices (White/Black x sex), 150 training rows per slice."""
    from raikit import Dataset

    frame = adult.frame.drop(columns=["split", "fnlwgt"])
    frame = frame[frame["race"].isin(["White", "Black"])].sample(frac=1.0, random_state=0)
    rank = frame.groupby(["race", "sex"], observed=True).cumcount()
    train, valid = frame[rank < 150], frame[(rank >= 150) & (rank < 450)]
    pool = frame[(rank >= 450) & (rank < 900)]
    features = [c for c in frame.columns if c != "income"]  # the paper's model sees race and sex
    ds = Dataset(train, target="income", sensitive=["race", "sex"], features=features)
    cost = {"Black & Female": 2.0}
    results = {}
    for method in ("one-shot", "uniform"):
        acquire = PoolAcquirer(pool, ["race", "sex"])
        results[method] = slice_tuner(
            ds,
            attributes=["race", "sex"],
            budget=200,
            cost=cost,
            lam=1.0,
            method=method,
            sizes=(0.4, 0.7, 1.0),
            n_repeats=2,
            random_state=0,
            acquire=acquire,
            validation=valid,
        )
        assert set(acquire.drawn["race"].astype(str)) <= {"White", "Black"}
    for result in results.values():
        table = result.slices
        assert len(table) == 4 and (table["n_before"] == 150).all()
        assert float((table["cost"] * table["acquired"]).sum()) <= 200
        assert 200 - float((table["cost"] * table["acquired"]).sum()) < 1
        assert (table["n_after"] == table["n_before"] + table["acquired"]).all()
        # the curves never predict a loss increase from more data
        assert (table["predicted_loss_after"] <= table["predicted_loss_before"] + 1e-12).all()
        o = result.overall
        assert 0.15 < o["loss_before"] < 0.4 and 0.15 < o["loss_after"] < 0.4
        assert abs(o["accuracy_after"] - o["accuracy_before"]) < 0.03
        # the paper's measure, recomputed from the table
        losses = table["loss_after"].to_numpy()
        assert o["disparity_after"] == pytest.approx(np.mean(np.abs(losses - losses.mean())))
    uniform = results["uniform"].slices.set_index("slice")
    assert uniform["allocation"].tolist() == [40] * 4  # 40 x (1 + 1 + 1 + 2) = 200


def test_result_is_recorded_in_a_ledger(synthetic, tmp_path):
    from raikit.ledger import Ledger

    train, valid, _ = synthetic
    ledger = Ledger(tmp_path / "ledger")
    result = tune(train, budget=30, validation=valid, ledger=ledger)
    evidence = ledger.evidence(check="data.slice_tuner")
    assert len(evidence) == 1
    params = json.loads(evidence["params"].iloc[0])
    assert params["budget"] == 30 and params["method"] == "one-shot" and params["lam"] == 1.0
    assert params["sizes"] == [0.4, 0.7, 1.0] and params["random_state"] == 0
    assert params["validation"].startswith("Dataset(") or "DataFrame" in params["validation"]
    back = ledger.load_evidence(evidence["id"].iloc[0])
    pd.testing.assert_frame_equal(back.slices, result.slices)
