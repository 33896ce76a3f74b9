"""Synthetic rows for thin groups: conditional DP generation, the multi-source plan, and the
measured before/after evaluation (issue 25)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("opendp")

import raikit
from raikit._errors import DataError, ParameterError
from raikit.data import (
    PoolAcquirer,
    SliceTunerResult,
    SyntheticAcquirer,
    allocate_budget,
    augment_eval,
    plan_sources,
    slice_tuner,
)
from raikit.dataset import Dataset
from raikit.ledger import Ledger
from raikit.privacy import BudgetExceededError, PrivacySource, synthesize

DOMAINS = {"g": ["big", "small"], "h": ["p", "q"]}
BOUNDS = {"x": (-4.0, 4.0)}


@pytest.fixture(autouse=True)
def home(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(folder))
    return folder


def toy(n=2000, seed=0, small=0.15):
    """Two sensitive attributes; the label follows x (and, a little, h)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "g": rng.choice(["big", "small"], n, p=[1 - small, small]),
            "h": rng.choice(["p", "q"], n),
        }
    )
    frame["y"] = frame["x"] + 0.5 * (frame["h"] == "p") + rng.normal(0, 0.7, n) > 0.2
    frame["y"] = frame["y"].astype(int)
    return Dataset(frame, target="y", sensitive=["g", "h"], features=["x"])


# --------------------------------------------------------------------------- conditional generation
def test_rows_belong_to_the_requested_group_and_the_budget_is_spent():
    ds = toy()
    PrivacySource.register("toy", epsilon=3.0)
    result = synthesize(
        ds,
        source="toy",
        epsilon=1.0,
        domains=DOMAINS,
        bounds=BOUNDS,
        condition={"g": "small", "h": "q"},
        n_rows=500,
        random_state=0,
    )
    assert len(result.data) == 500
    assert set(result.data["g"]) == {"small"} and set(result.data["h"]) == {"q"}
    assert PrivacySource.open("toy").remaining == pytest.approx(2.0)
    # the fidelity report covers the other columns of the group, against the noisy release
    assert set(result.groups["column"]) == {"x", "y"}
    assert result.groups["slice"].unique().tolist() == ["g=small & h=q"]
    assert result.groups["tvd"].between(0, 1).all()
    # re-sampling the release is free
    more = result.sample(condition={"g": "big"}, n_rows=50, random_state=1)
    assert set(more["g"]) == {"big"} and len(more) == 50
    assert PrivacySource.open("toy").remaining == pytest.approx(2.0)


def test_a_table_of_groups_gets_its_counts_and_the_default_is_the_noisy_count():
    ds = toy()
    PrivacySource.register("toy", epsilon=10.0)
    table = pd.DataFrame({"g": ["small", "big"], "h": ["p", "q"], "n_rows": [30, 70]})
    result = synthesize(
        ds, source="toy", epsilon=5.0, domains=DOMAINS, bounds=BOUNDS, condition=table
    )
    counts = result.data.groupby(["g", "h"]).size().to_dict()
    assert counts == {("big", "q"): 70, ("small", "p"): 30}
    # no n_rows: the group's noisy count from the release (not the real count)
    plain = synthesize(
        ds, source="toy", epsilon=5.0, domains=DOMAINS, bounds=BOUNDS, condition={"g": "small"}
    )
    noisy = plain.released.query("g == 'small'")["count"].clip(lower=0).sum()
    assert len(plain.data) == max(round(noisy), 1)
    assert set(plain.data["g"]) == {"small"}


def test_shuffling_rows_or_rerunning_cannot_reset_the_budget():
    ds = toy()
    PrivacySource.register("toy", epsilon=2.0)
    options = {"domains": DOMAINS, "bounds": BOUNDS, "condition": {"g": "small"}, "n_rows": 10}
    synthesize(ds, source="toy", epsilon=1.0, **options)
    shuffled = ds.replace(ds.frame.sample(frac=1, random_state=1).reset_index(drop=True))
    synthesize(shuffled, source="toy", epsilon=1.0, **options)
    with pytest.raises(BudgetExceededError):
        synthesize(shuffled, source="toy", epsilon=0.5, **options)
    assert PrivacySource.open("toy").remaining == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ({"x": 1.0}, "not a sensitive attribute or the target"),
        ({"g": "huge"}, "not in the public domain of 'g'"),
        (pd.DataFrame({"g": ["small"], "n_rows": [0]}), "positive integer"),
        ([("g", "small")], "condition must be"),
    ],
)
def test_a_bad_condition_is_a_parameter_error_and_spends_nothing(condition, words):
    PrivacySource.register("toy", epsilon=1.0)
    with pytest.raises(ParameterError, match="synthesize") as caught:
        synthesize(
            toy(), source="toy", epsilon=1.0, domains=DOMAINS, bounds=BOUNDS, condition=condition
        )
    assert words in str(caught.value)
    assert PrivacySource.open("toy").remaining == pytest.approx(1.0)


# --------------------------------------------------------------------------- the evaluation
@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    from sklearn.linear_model import LogisticRegression

    ds = toy(3000, seed=1)
    train, test = ds.subset(np.arange(2000)), ds.subset(np.arange(2000, 3000))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(tmp_path_factory.mktemp("eval-home")))
        PrivacySource.register("toy", epsilon=2.0)
        result = augment_eval(
            LogisticRegression(),
            train=train,
            test=test,
            source="toy",
            epsilon=2.0,
            groups=[{"g": "small"}],
            n_rows=300,
            domains=DOMAINS,
            bounds=BOUNDS,
            n_boot=200,
            random_state=0,
        )
        remaining = PrivacySource.open("toy").remaining
    return train, test, result, remaining


def test_the_evaluation_equals_a_hand_computed_refit(evaluated):
    from sklearn.linear_model import LogisticRegression

    train, test, result, remaining = evaluated
    assert remaining == pytest.approx(0.0, abs=1e-9)  # the release was charged
    assert len(result.synthetic) == 300 and set(result.synthetic["g"]) == {"small"}
    before = LogisticRegression().fit(train.X, train.y)
    augmented = pd.concat([train.frame, result.synthetic[train.frame.columns]], ignore_index=True)
    after = LogisticRegression().fit(augmented[["x"]], augmented["y"])
    y = test.y.to_numpy()
    for name, model in (("before", before), ("after", after)):
        p = model.predict_proba(test.X)[:, 1]
        correct = model.predict(test.X) == y
        loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        for (g, h), rows in test.frame.groupby(["g", "h"]).groups.items():
            label = f"g={g} & h={h}"
            mask = test.frame.index.isin(rows)
            got = result.groups.set_index(["group", "metric"])
            assert got.loc[(label, "accuracy"), name] == pytest.approx(correct[mask].mean())
            assert got.loc[(label, "log_loss"), name] == pytest.approx(loss[mask].mean())
            assert bool(got.loc[(label, "accuracy"), "thin"]) == (g == "small")


def test_intervals_are_never_zero_width_and_cover_the_point(evaluated):
    _, _, result, _ = evaluated
    for table in (result.groups, result.criteria):
        for key in ("before", "after", "difference"):
            assert (table[f"{key}_upper"] > table[f"{key}_lower"]).all(), key
            assert (table[f"{key}_lower"] <= table[key] + 1e-12).all()
            assert (table[f"{key}_upper"] >= table[key] - 1e-12).all()
    assert set(result.exposure["model"]) == {"before", "after"}
    assert result.exposure["auc"].between(0, 1).all()


def test_a_collapsed_interval_gets_the_zero_event_bound():
    """A model that predicts the same class before and after (whatever the rows): the accuracy
    difference is exactly 0 on every row, and its interval is the exact zero-event bound."""
    from sklearn.dummy import DummyClassifier

    ds = toy(1200, seed=2)
    PrivacySource.register("toy", epsilon=1.0)
    result = augment_eval(
        DummyClassifier(strategy="constant", constant=1),
        train=ds.subset(np.arange(800)),
        test=ds.subset(np.arange(800, 1200)),
        source="toy",
        epsilon=1.0,
        groups={"g": "small"},
        n_rows=20,
        domains=DOMAINS,
        bounds=BOUNDS,
        membership=False,
        n_boot=100,
        random_state=0,
    )
    acc = result.groups[result.groups["metric"] == "accuracy"]
    half = 1 - 0.025 ** (1 / acc["n_test"].to_numpy())
    assert np.allclose(acc["difference"], 0.0)
    assert np.allclose(acc["difference_upper"], half)
    assert np.allclose(acc["difference_lower"], -half)
    assert result.exposure.empty


def test_augmentation_that_hurts_gets_the_plain_finding():
    """Synthetic rows whose x carries no signal (one bin, [-4, 16), holds every real x: the
    synthetic x is uniform on it whatever the label), ten times the real rows: the shared slope
    flattens and the log loss of the group rises."""
    from sklearn.linear_model import LogisticRegression

    ds = toy(1500, seed=3)
    PrivacySource.register("toy", epsilon=5.0)
    result = augment_eval(
        LogisticRegression(),
        train=ds.subset(np.arange(1000)),
        test=ds.subset(np.arange(1000, 1500)),
        source="toy",
        epsilon=5.0,
        groups={"g": "small", "h": "p"},
        n_rows=10_000,
        domains=DOMAINS,
        bounds={"x": (-4.0, 36.0)},
        bins=2,
        membership=False,
        n_boot=200,
        random_state=0,
    )
    row = result.groups.set_index(["group", "metric"]).loc[("g=small & h=p", "log_loss")]
    assert row["difference_lower"] > 0 and row["verdict"] == "hurt"
    titles = [f.title for f in result.findings]
    assert "Augmentation hurt g=small & h=p" in titles
    hurt = next(f for f in result.findings if f.title == "Augmentation hurt g=small & h=p")
    assert "made the model worse" in hurt.detail and hurt.severity == "warning"


def test_default_thin_groups_come_from_the_noisy_release():
    from sklearn.linear_model import LogisticRegression

    ds = toy(2000, seed=4, small=0.05)
    PrivacySource.register("toy", epsilon=4.0)
    result = augment_eval(
        LogisticRegression(),
        train=ds.subset(np.arange(1500)),
        test=ds.subset(np.arange(1500, 2000)),
        source="toy",
        epsilon=4.0,
        domains=DOMAINS,
        bounds=BOUNDS,
        membership=False,
        n_boot=100,
        random_state=0,
    )
    assert set(result.plan["g"]) == {"small"}  # ~40 rows per (small, h) vs ~700 per (big, h)
    assert (result.plan["n_rows"] == result.plan["noisy_count"].round().clip(lower=1)).all()
    assert len(result.synthetic) == result.plan["n_rows"].sum()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"n_boot": 5}, "n_boot"),
        ({"thin_below": 1.5}, "thin_below"),
        ({"groups": [{"x": 1}]}, "not sensitive attributes"),
        ({"estimator": "logistic"}, "estimator"),
    ],
)
def test_bad_parameters_are_parameter_errors_and_spend_nothing(change, words):
    from sklearn.linear_model import LogisticRegression

    ds = toy(600)
    PrivacySource.register("toy", epsilon=1.0)
    kwargs = {
        "estimator": LogisticRegression(),
        "train": ds.subset(np.arange(400)),
        "test": ds.subset(np.arange(400, 600)),
        "source": "toy",
        "epsilon": 1.0,
        "domains": DOMAINS,
        "bounds": BOUNDS,
    } | change
    with pytest.raises(ParameterError, match=r"augment_eval\(\)") as caught:
        augment_eval(kwargs.pop("estimator"), **kwargs)
    assert words in str(caught.value)
    assert PrivacySource.open("toy").remaining == pytest.approx(1.0)


def test_a_regression_target_is_a_data_error():
    from sklearn.linear_model import LogisticRegression

    ds = toy(600)
    frame = ds.frame.assign(y=ds.frame["x"] * 2.0)
    reg = Dataset(frame, target="y", sensitive=["g", "h"], features=["x"])
    PrivacySource.register("toy", epsilon=1.0)
    with pytest.raises(DataError, match="binary target"):
        augment_eval(
            LogisticRegression(), train=reg, test=reg, source="toy", epsilon=1.0, bounds=BOUNDS
        )


def test_track_records_one_evidence_row_with_its_parameters(tmp_path):
    from sklearn.linear_model import LogisticRegression

    ds = toy(800)
    PrivacySource.register("toy", epsilon=1.0)
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("augment", ledger=ledger) as run:
        augment_eval(
            LogisticRegression(),
            train=ds.subset(np.arange(600)),
            test=ds.subset(np.arange(600, 800)),
            source="toy",
            epsilon=1.0,
            groups={"g": "small"},
            n_rows=40,
            domains=DOMAINS,
            bounds=BOUNDS,
            n_boot=100,
            random_state=3,
        )
    evidence = ledger.evidence(run=run.id)
    # synthesize and the membership attacks inside record nothing of their own
    assert evidence["check_name"].tolist() == ["data.augment_eval"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["n_rows"] == 40 and params["random_state"] == 3 and params["epsilon"] == 1.0


def test_the_command_line(tmp_path):
    from _cli import run

    ds = toy(1500, seed=5)
    ds.frame.iloc[:1000].to_csv(tmp_path / "train.csv", index=False)
    ds.frame.iloc[1000:].to_csv(tmp_path / "test.csv", index=False)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "OMP_NUM_THREADS": "1"}
    assert run("privacy", "register", "toy", "--budget", "2", cwd=tmp_path, env=env).returncode == 0
    args = ["data", "augment-eval", "train.csv", "test.csv", "-t", "y", "-s", "g,h",
            "--source", "toy", "--epsilon", "1", "--bounds", "x=-4:4", "--domain", "g=big,small",
            "--domain", "h=p,q", "--group", "g=small,h=q", "--n-rows", "50", "--n-boot", "100",
            "--out", "out"]  # fmt: skip
    done = run(*args, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "g=small & h=q" in done.stdout and "before" in done.stdout
    written = json.loads((tmp_path / "out" / "augment-eval.json").read_text())
    assert written["type"] == "AugmentEvalResult"
    bad = run(*args[:-2], "--group", "colour=red", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "--group names 'colour'" in bad.stderr


def test_the_command_line_synthesises_rows_of_chosen_groups(tmp_path):
    from _cli import run

    toy(800).frame.to_csv(tmp_path / "data.csv", index=False)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home)}
    assert run("privacy", "register", "toy", "--budget", "1", cwd=tmp_path, env=env).returncode == 0
    args = ["privacy", "synth", "data.csv", "--source", "toy", "-t", "y", "-s", "g,h",
            "--epsilon", "1", "--bounds", "x=-4:4", "--domain", "g=big,small", "--domain",
            "h=p,q", "--condition", "g=small,y=1", "--condition", "g=big,y=0", "--n-rows", "25",
            "--out", "out"]  # fmt: skip
    done = run(*args, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    rows = pd.read_csv(tmp_path / "out" / "synthetic.csv")
    assert rows.groupby(["g", "y"]).size().to_dict() == {("big", 0): 25, ("small", 1): 25}
    again = run(*args, cwd=tmp_path, env=env)  # the budget is spent: refused
    assert again.returncode == 2 and "budget" in again.stderr.lower()


# --------------------------------------------------------------------------- the multi-source plan
def _tuned(a=(0.3, 0.3, 0.5), b=(2.0, 2.0, 3.0), n=(1000, 50, 200), lam=0.0):
    slices = pd.DataFrame({"slice": ["s0", "s1", "s2"], "n_before": n, "a": a, "b": b})
    frames = (pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    return SliceTunerResult(slices, *frames, {}, "one-shot", False, meta={"lam": lam})


def test_one_real_source_agrees_with_slice_tuners_own_allocation():
    tuned = _tuned()
    plan = plan_sources(tuned, budget=300, sources={"pool": {"cost": 1.0}}, lam=0.0)
    expected = allocate_budget(
        np.array([0.3, 0.3, 0.5]), np.array([2.0, 2.0, 3.0]), n=np.array([1000, 50, 200]),
        budget=300, lam=0.0,
    )  # fmt: skip
    got = plan.allocation("pool").to_numpy()
    assert np.abs(got - expected).max() <= 2  # the greedy step is budget / 500
    assert plan.spent <= 300 + 1e-9


def test_the_cheaper_effective_source_is_used_first_and_supply_is_respected():
    tuned = _tuned()
    sources = {
        "pool": {"cost": 1.0, "available": {"s1": 10}},
        "synthetic": {"cost": 0.1, "worth": 0.5},  # 0.2 per effective row: cheaper
    }
    plan = plan_sources(tuned, budget=50, sources=sources)
    assert plan.allocation("pool").to_dict() == {"s0": 0, "s1": 0, "s2": 0}
    assert plan.allocation("synthetic").sum() > 0
    dearer = plan_sources(tuned, budget=50, sources=sources | {"synthetic": {"cost": 5.0}})
    assert dearer.allocation("pool")["s1"] == 10  # all it has, then the dear source
    assert dearer.allocation("pool")[["s0", "s2"]].sum() == 0
    table = dearer.plan.set_index(["slice", "source"])
    gain = dearer.slices.set_index("slice")["expected_gain"]
    assert table.loc["s1", "expected_gain"].sum() == pytest.approx(gain["s1"])
    assert (table["gain_per_cost"] > 0).all()


@pytest.mark.parametrize(
    ("sources", "words"),
    [
        ({}, "at least one source"),
        ({"synthetic": {"cost": 1.0, "worth": 2.0}}, "worth=2"),
        ({"pool": {"cost": -1.0}}, "positive costs"),
        ({"pool": {"cost": {"nope": 3}}}, "names slice(s) ['nope']"),
        ({"pool": {"price": 1.0}}, "keys 'cost', 'worth'"),
    ],
)
def test_plan_sources_parameter_errors(sources, words):
    with pytest.raises(ParameterError, match=r"plan_sources\(\)") as caught:
        plan_sources(_tuned(), budget=10, sources=sources)
    assert words in str(caught.value)


def test_slice_tuner_acquires_from_a_synthetic_generator():
    ds = toy(1600, seed=6, small=0.3)
    PrivacySource.register("toy", epsilon=2.0)
    release = synthesize(ds, source="toy", epsilon=2.0, domains=DOMAINS, bounds=BOUNDS)
    acquire = SyntheticAcquirer(release, "g", random_state=0)
    result = slice_tuner(
        ds.replace(features=["x", "h"]), budget=60, attributes="g", acquire=acquire,
        sizes=(0.5, 1.0), n_repeats=2, random_state=0,
    )  # fmt: skip
    assert result.acquired and int(result.allocation.sum()) == len(acquire.drawn) == 60
    assert not acquire.drawn[["x", "h"]].isna().any().any()  # complete rows (used to be flaky)
    for name, n in result.allocation.items():
        assert (acquire.drawn["g"] == name).sum() == n
    # both sources drawn from one plan
    pool = PoolAcquirer(ds.frame, "g", random_state=0)
    plan = plan_sources(
        result, budget=40,
        sources={"pool": {"available": pool.remaining()}, "synthetic": {"cost": 0.5, "worth": 0.4}},
    )  # fmt: skip
    rows = pool.draw(plan.allocation("pool"))
    assert len(rows) == plan.allocation("pool").sum()
    assert PrivacySource.open("toy").remaining == pytest.approx(0.0, abs=1e-9)  # draws are free


def test_results_round_trip_through_json_and_the_release_is_not_stored(evaluated):
    from raikit import RaikitError, Result

    _, _, result, _ = evaluated
    back = Result.from_json(result.to_json())
    assert back.groups.equals(result.groups) and back.criteria.equals(result.criteria)
    assert len(back.synthetic) == len(result.synthetic)
    PrivacySource.register("toy", epsilon=1.0)
    release = synthesize(
        toy(), source="toy", epsilon=1.0, domains=DOMAINS, bounds=BOUNDS,
        condition={"g": "small"}, n_rows=20,
    )  # fmt: skip
    again = Result.from_json(release.to_json())
    assert again.groups.equals(release.groups)
    with pytest.raises(RaikitError, match="read back from JSON"):
        again.sample(n_rows=5)
