"""Slice Tuner: power-law fits, the convex allocation, the iterative limit, acquisition, results."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from raikit._errors import ColumnError, DataError, RaikitError
from raikit.data import (
    PoolAcquirer,
    SliceTuner,
    SliceTunerResult,
    allocate_budget,
    fit_power_law,
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


def tuner(**kwargs) -> SliceTuner:
    params = {
        "slices": "g",
        "budget": 150,
        "lam": 1.0,
        "sizes": (0.4, 0.7, 1.0),
        "n_repeats": 2,
        "random_state": 0,
    }
    params.update(kwargs)
    return SliceTuner(**params)


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
    d = allocate_budget(a, b, n, budget=200, lam=0.5)
    assert d.dtype == np.int64 and (d >= 0).all() and d.sum() == 200
    cost = np.array([1.0, 2.5, 4.0])
    d = allocate_budget(a, b, n, budget=203, cost=cost, lam=0.5)
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
    d = allocate_budget(a, b, n, budget=500, lam=0.0, integer=False)
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
        ours = allocate_budget(a, b, n, budget=30, lam=lam)
        best = min(
            _objective(np.array(d), a, b, n, lam, reference)
            for d in itertools.product(range(31), repeat=3)
            if sum(d) == 30
        )
        assert _objective(ours, a, b, n, lam, reference) <= best + 1e-6


def test_large_lambda_favours_the_worst_slice():
    # same exponent; slice 0 has the highest loss but slice 2 gains the most per example
    a, b, n = np.array([0.1, 0.1, 0.6]), np.array([0.9, 0.5, 2.0]), np.array([200.0, 200.0, 200.0])
    plain = allocate_budget(a, b, n, budget=300, lam=0.0)
    fair = allocate_budget(a, b, n, budget=300, lam=50.0)
    worst = int(np.argmax(b * n**-a))
    assert worst == 0
    assert fair[worst] > plain[worst]
    assert fair[worst] >= 0.5 * 300


@pytest.mark.parametrize(
    "kwargs",
    [
        {"budget": 0},
        {"budget": -5},
        {"budget": 10, "cost": [1.0, 0.0]},
        {"budget": 10, "lam": -1},
    ],
)
def test_allocation_bad_input(kwargs):
    with pytest.raises(DataError):
        allocate_budget([0.3, 0.3], [1, 1], [10, 10], **kwargs)


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
    result = tuner().plan(train, target="y", validation=valid)
    table = result.slices.set_index("slice")
    assert not result.acquired
    assert int(table["allocation"].sum()) == 150
    assert table.loc["B", "allocation"] == table["allocation"].max()  # the starved slice
    assert table.loc["B", "a"] > table.loc["A", "a"]  # and its curve is the steepest
    assert np.isnan(result.overall["loss_after"])

    # a budget that leaves B the worst slice even if it gets everything (robust over data seeds)
    run = tuner(budget=60).run(
        train, PoolAcquirer(pool, "g", random_state=0), target="y", validation=valid
    )
    uniform = tuner(method="uniform", budget=60).run(
        train, PoolAcquirer(pool, "g", random_state=0), target="y", validation=valid
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
    t = tuner(method="iterative", T=0.5, budget=120)
    result = t.run(train, PoolAcquirer(pool, "g", random_state=0), target="y", validation=valid)
    rounds = result.rounds.drop_duplicates("round")
    assert len(rounds) >= 2
    change = (rounds["imbalance_after"] - rounds["imbalance_before"]).abs()
    # the paper's "moderate" schedule: the limit grows by T every round
    np.testing.assert_allclose(rounds["limit"], 0.5 * (rounds["round"] + 1))
    assert (change <= rounds["limit"] + 1e-12).all()
    assert (change.iloc[:-1] >= 0.5 * rounds["limit"].iloc[:-1]).all()  # the limit binds
    assert int(result.slices["acquired"].sum()) == 120
    assert result.curves["round"].nunique() == len(rounds)  # curves refitted each round
    # the acquired rows are in the tuner's training rows afterwards
    assert len(t.acquired_) == 120
    assert len(t.train_after_) == len(t.acquired_) + result.slices["n_before"].sum()


def test_series_slices_costs_and_dataset(synthetic):
    from raikit import Dataset

    train, valid, _ = synthetic
    labels = train["g"]
    frame = train.drop(columns="g")
    result = tuner(slices=labels, cost={"B": 3}, budget=90).plan(frame, target="y")
    table = result.slices.set_index("slice")
    assert table.loc["B", "cost"] == 3 and table.loc["A", "cost"] == 1
    assert float((table["cost"] * table["allocation"]).sum()) <= 90
    ds = Dataset(train, target="y", sensitive="g")
    from_ds = tuner(slices=None).plan(ds, validation=valid)
    assert sorted(from_ds.slices["slice"]) == ["A", "B", "C"]


def test_result_round_trip_figures_and_html(synthetic, tmp_path):
    train, valid, pool = synthetic
    result = tuner().run(
        train, PoolAcquirer(pool, "g", random_state=0), target="y", validation=valid
    )
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


def test_curve_points_have_error_bars(synthetic):
    train, valid, _ = synthetic
    result = tuner(n_repeats=3).plan(train, target="y", validation=valid)
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
    with pytest.raises(ColumnError):
        PoolAcquirer(pool, "nope")


def test_run_with_exhausted_pool_is_a_data_error(synthetic):
    train, valid, _ = synthetic
    small = make_slices({"A": 5, "B": 5, "C": 5}, seed=9)
    with pytest.raises(DataError, match="left of slice"):
        tuner().run(train, PoolAcquirer(small, "g"), target="y", validation=valid)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"budget": 0}, DataError, "budget"),
        ({"budget": -10}, DataError, "budget"),
        ({"slices": "nope"}, ColumnError, "nope"),
        ({"method": "greedy"}, RaikitError, "method"),
        ({"cost": {"Z": 2}}, DataError, "Z"),
        ({"budget": 0.5, "cost": 2.0}, DataError, "cheapest"),
        ({"sizes": (1.0,)}, DataError, "sizes"),
    ],
)
def test_bad_parameters(synthetic, kwargs, error, match):
    train, valid, _ = synthetic
    with pytest.raises(error, match=match):
        tuner(**kwargs).plan(train, target="y", validation=valid)


def test_slice_too_small_for_a_curve(synthetic):
    train, valid, _ = synthetic
    tiny = pd.concat([train[train["g"] != "B"], train[train["g"] == "B"].head(8)])
    result = tuner().plan(tiny, target="y", validation=valid)  # B is set aside, not a crash
    assert sorted(result.slices["slice"]) == ["A", "C"]
    (warning,) = [f for f in result.findings if "too small" in f.title]
    assert "B (8 training, 300 validation row(s))" in warning.detail


def test_missing_target_and_bad_acquirer(synthetic):
    train, valid, _ = synthetic
    with pytest.raises(DataError, match="target"):
        tuner().plan(train, validation=valid)
    unlabelled = valid.astype({"y": float})
    unlabelled.loc[0, "y"] = np.nan
    with pytest.raises(DataError, match="without a label"):
        tuner().plan(train, target="y", validation=unlabelled)

    def wrong_slice(name, n):
        return make_slices({"A": n}, seed=0)

    with pytest.raises(DataError, match="another slice"):
        tuner().run(train, wrong_slice, target="y", validation=valid)
    with pytest.raises(RaikitError, match="callable"):
        tuner().run(train, "pool.csv", target="y", validation=valid)


def test_iterative_constant_limit_reports_unspent_budget(synthetic):
    train, valid, pool = synthetic
    t = tuner(method="iterative", T=0.2, T_growth="constant", max_rounds=2, budget=120)
    result = t.run(train, PoolAcquirer(pool, "g", random_state=0), target="y", validation=valid)
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
    assert isinstance(bad.exception, DataError) and "--cost" in str(bad.exception)
    bad = runner.invoke(app, [*base[:-6], "--budget", "0", "--out", str(out)])
    assert isinstance(bad.exception, DataError) and "budget" in str(bad.exception)


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
        t = SliceTuner(
            slices=["race", "sex"],
            budget=200,
            cost=cost,
            lam=1.0,
            method=method,
            sizes=(0.4, 0.7, 1.0),
            n_repeats=2,
            random_state=0,
        )
        results[method] = t.run(ds, PoolAcquirer(pool, ["race", "sex"]), validation=valid)
        assert set(t.acquired_["race"].astype(str)) <= {"White", "Black"}
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
    result = tuner(budget=30).plan(train, target="y", validation=valid, ledger=ledger)
    evidence = ledger.evidence(check="data.slice_tuner")
    assert len(evidence) == 1
    back = ledger.load_evidence(evidence["id"].iloc[0])
    pd.testing.assert_frame_equal(back.slices, result.slices)


def test_slices_too_small_for_a_curve_are_set_aside_not_a_crash(synthetic):
    """Slices of 1 and 5 rows (a stratified hold-out used to fail on them) are left out of the
    plan with a warning that names them; the other slices are planned as before."""
    train, _, pool = synthetic
    tiny = make_slices({"D": 1, "E": 5}, seed=4)
    data = pd.concat([train, tiny], ignore_index=True)
    result = tuner().run(data, PoolAcquirer(pool, "g", random_state=0), target="y")
    assert sorted(result.slices["slice"]) == ["A", "B", "C"]
    warning = [f for f in result.findings if "too small for a learning curve" in f.title]
    assert len(warning) == 1 and "D (" in warning[0].detail and "E (" in warning[0].detail
    assert int(result.slices["allocation"].sum()) == 150
    with pytest.raises(DataError, match="at least two slices"):
        tuner().plan(pd.concat([train[train["g"] == "A"], tiny]), target="y")
