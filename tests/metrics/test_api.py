"""The shape of the metrics API (issue 18): Fairlearn's spelling and values, weights everywhere,
declarative parameter errors, one evidence row per call, and no import above the bottom layer."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

import raikit
from raikit import DataError, Dataset, ParameterError
from raikit.ledger import Ledger
from raikit.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    group_metrics,
    group_metrics_of,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "raikit"
COUNT = ["selection_rate", "accuracy", "true_positive_rate", "false_positive_rate", "precision"]


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(11)
    n = 3000
    sex = rng.choice(["F", "M"], n, p=[0.4, 0.6])
    race = rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < np.where(sex == "F", 0.35, 0.5)).astype(int)
    score = np.clip(0.5 * y + 0.5 * rng.random(n) + np.where(race == "C", 0.1, 0.0), 0, 1)
    pred = (score > 0.5).astype(int)
    weight = rng.integers(1, 5, n)
    return pd.DataFrame(
        {"sex": sex, "race": race, "y": y, "pred": pred, "score": score, "w": weight}
    )


# --------------------------------------------------------------------------- Fairlearn
@pytest.mark.parametrize("columns", [["sex"], ["sex", "race"]])
@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
@pytest.mark.parametrize("weighted", [False, True])
def test_fairness_functions_take_fairlearns_call_and_agree(rows, columns, method, weighted):
    import fairlearn.metrics as fl

    s = rows[columns] if len(columns) > 1 else rows[columns[0]]
    kwargs = {"sensitive_features": s, "method": method}
    if weighted:
        kwargs["sample_weight"] = rows["w"].to_numpy()
    pairs = [
        (demographic_parity_difference, fl.demographic_parity_difference),
        (demographic_parity_ratio, fl.demographic_parity_ratio),
        (equalized_odds_difference, fl.equalized_odds_difference),
        (equalized_odds_ratio, fl.equalized_odds_ratio),
    ]
    for ours, theirs in pairs:
        expected = theirs(rows["y"], rows["pred"], **kwargs)
        assert ours(rows["y"], rows["pred"], **kwargs) == pytest.approx(expected, abs=1e-12)
    if hasattr(fl, "equal_opportunity_difference"):
        expected = fl.equal_opportunity_difference(rows["y"], rows["pred"], **kwargs)
        got = equal_opportunity_difference(rows["y"], rows["pred"], **kwargs)
        assert got == pytest.approx(expected, abs=1e-12)


def test_fairness_functions_refuse_the_old_keyword_and_bad_methods(rows):
    with pytest.raises(TypeError):
        demographic_parity_difference(rows["y"], rows["pred"], sensitive=rows["sex"])
    with pytest.raises(ParameterError, match=r"equalized_odds_difference\(\): method must be"):
        equalized_odds_difference(
            rows["y"], rows["pred"], sensitive_features=rows["sex"], method="worst"
        )


# --------------------------------------------------------------------------- weights
def test_weighted_count_metrics_match_metricframe(rows):
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate

    weights = rows["w"].to_numpy().astype(float) * 0.37  # not integers
    ours = group_metrics(
        rows["y"],
        rows["pred"],
        sensitive_features=rows[["sex", "race"]],
        sample_weight=weights,
        metrics=[*COUNT, "count"],
        ci=None,
    )
    functions = {
        "selection_rate": selection_rate,
        "accuracy": skm.accuracy_score,
        "true_positive_rate": skm.recall_score,
        "false_positive_rate": false_positive_rate,
        "precision": skm.precision_score,
    }
    frame = MetricFrame(
        metrics=functions,
        y_true=rows["y"],
        y_pred=rows["pred"],
        sensitive_features=rows[["sex", "race"]],
        sample_params={name: {"sample_weight": weights} for name in functions},
    )
    for name in functions:
        assert ours.overall[name] == pytest.approx(frame.overall[name], abs=1e-12)
        theirs = frame.by_group[name]
        for (sex, race), value in theirs.items():
            got = ours.by_group.loc[("sex & race", f"{sex} & {race}"), name]
            assert got == pytest.approx(value, abs=1e-12)
    assert ours.overall["count"] == pytest.approx(weights.sum())
    assert ours.meta["weighted"] and ours.meta["n_rows"] == len(rows)


def test_weighted_score_and_regression_metrics_match_sklearn(rows):
    w = rows["w"].to_numpy() * 0.5
    r = group_metrics(
        rows["y"],
        rows["pred"],
        sensitive_features=rows["race"],
        score=rows["score"],
        sample_weight=w,
        metrics=["roc_auc", "brier_score", "log_loss"],
        ci=None,
    )
    for race, part in rows.groupby("race"):
        pw = w[part.index]
        got = r.by_group.loc[("race", race)]
        assert got["roc_auc"] == pytest.approx(
            skm.roc_auc_score(part["y"], part["score"], sample_weight=pw), abs=1e-12
        )
        assert got["brier_score"] == pytest.approx(
            skm.brier_score_loss(part["y"], part["score"], sample_weight=pw), abs=1e-12
        )
        assert got["log_loss"] == pytest.approx(
            skm.log_loss(part["y"], part["score"], sample_weight=pw), abs=1e-9
        )
    target = rows["score"] * 10 + rows["y"]
    guess = rows["score"] * 9 + 0.5
    reg = group_metrics(
        target, guess, sensitive_features=rows["sex"], sample_weight=w, task="regression", ci=None
    )
    for sex, part in rows.groupby("sex"):
        pw = w[part.index]
        got = reg.by_group.loc[("sex", sex)]
        t, g = target[part.index], guess[part.index]
        assert got["mean_absolute_error"] == pytest.approx(
            skm.mean_absolute_error(t, g, sample_weight=pw), rel=1e-12
        )
        assert got["mean_squared_error"] == pytest.approx(
            skm.mean_squared_error(t, g, sample_weight=pw), rel=1e-12
        )
        assert got["r2"] == pytest.approx(skm.r2_score(t, g, sample_weight=pw), rel=1e-10)


def test_integer_weights_equal_duplicated_rows(rows):
    """The point estimates of weight k are those of the row repeated k times (every metric,
    every slice, every disparity)."""
    repeated = rows.loc[rows.index.repeat(rows["w"])].reset_index(drop=True)
    kwargs = {"metrics": [*COUNT, "count", "roc_auc", "brier_score"], "ci": None}
    weighted = group_metrics(
        rows["y"],
        rows["pred"],
        sensitive_features=rows[["sex", "race"]],
        score=rows["score"],
        sample_weight=rows["w"],
        **kwargs,
    )
    duplicated = group_metrics(
        repeated["y"],
        repeated["pred"],
        sensitive_features=repeated[["sex", "race"]],
        score=repeated["score"],
        **kwargs,
    )
    pd.testing.assert_frame_equal(weighted.table, duplicated.table, rtol=1e-12, atol=1e-12)
    pd.testing.assert_frame_equal(
        weighted.disparities, duplicated.disparities, rtol=1e-12, atol=1e-12
    )


def test_constant_weights_change_counts_only_and_intervals_use_effective_rows(rows):
    """Weights of 3 everywhere carry no more information than weights of 1: the same rates and
    the same intervals (the bootstrap draws effective rows), only the count is 3x."""
    kwargs = {"metrics": [*COUNT, "count", "roc_auc"], "n_boot": 200, "random_state": 5}
    args = (rows["y"], rows["pred"])
    plain = group_metrics(*args, sensitive_features=rows["sex"], score=rows["score"], **kwargs)
    tripled = group_metrics(
        *args,
        sensitive_features=rows["sex"],
        score=rows["score"],
        sample_weight=np.full(len(rows), 3.0),
        **kwargs,
    )
    rates = plain.table["metric"] != "count"
    for column in ("value", "lower", "upper"):
        np.testing.assert_allclose(
            tripled.table.loc[rates, column], plain.table.loc[rates, column], atol=1e-9
        )
    np.testing.assert_allclose(
        tripled.table.loc[~rates, "value"], 3 * plain.table.loc[~rates, "value"], rtol=1e-12
    )
    # duplicated rows, by contrast, would shrink every interval by about sqrt(3)
    assert (tripled.table.loc[rates, "upper"] - tripled.table.loc[rates, "lower"]).min() > 0


def test_unequal_weights_widen_the_intervals(rows):
    """Kish: the same total weight spread unevenly is fewer effective rows, so wider intervals."""
    rng = np.random.default_rng(0)
    uneven = rng.choice([0.1, 5.0], len(rows), p=[0.9, 0.1])
    kwargs = {"metrics": ["selection_rate"], "n_boot": 400, "random_state": 1}
    args = (rows["y"], rows["pred"])
    plain = group_metrics(*args, sensitive_features=rows["sex"], **kwargs)
    skewed = group_metrics(*args, sensitive_features=rows["sex"], sample_weight=uneven, **kwargs)
    width = {
        k: (r.by_group_upper - r.by_group_lower)["selection_rate"]
        for k, r in (("plain", plain), ("skewed", skewed))
    }
    assert (width["skewed"] > 1.5 * width["plain"]).all()


@pytest.mark.parametrize(
    ("weights", "match"),
    [([1, -1, 1, 1], "negative"), ([1, np.nan, 1, 1], "missing"), ([0, 0, 0, 0], "sums to 0")],
)
def test_bad_weights_are_data_errors(weights, match):
    with pytest.raises(DataError, match=match):
        group_metrics(
            [0, 1, 1, 0], [0, 1, 0, 0], sensitive_features=list("aabb"), sample_weight=weights
        )


# --------------------------------------------------------------------------- the Dataset role
@pytest.fixture
def weighted_ds(rows):
    return Dataset(
        rows, target="y", prediction="pred", score="score", sensitive=["sex"], weight="w"
    )


def test_the_weight_role_reaches_group_metrics_of(weighted_ds, rows):
    assert "w" not in weighted_ds.feature_names and weighted_ds.roles["weight"] == "w"
    via_dataset = group_metrics_of(weighted_ds, ci=None)
    direct = group_metrics(
        rows["y"],
        rows["pred"],
        sensitive_features=rows[["sex"]],
        score=rows["score"],
        sample_weight=rows["w"],
        ci=None,
    )
    pd.testing.assert_frame_equal(via_dataset.table, direct.table)


def test_the_weight_role_survives_replace_split_subset_and_sample(weighted_ds, rows):
    assert weighted_ds.replace(name="other").weight == "w"
    train, test = weighted_ds.split(0.3, random_state=0)
    assert train.weight == test.weight == "w"
    assert np.array_equal(np.sort(np.r_[train.weights, test.weights]), np.sort(rows["w"]))
    part = weighted_ds.subset(np.arange(10))
    assert part.weights.tolist() == rows["w"].iloc[:10].astype(float).tolist()
    sample = weighted_ds.sample(500, stratify="sensitive", min_per_group=50, random_state=0)
    assert sample.weight == "w"
    # each row's weight is its own times population / sampled of its stratum
    for row in sample.sampling.itertuples(index=False):
        mine = sample.frame["sex"] == row.sex
        original = rows.loc[rows["sex"] == row.sex, "w"]
        assert sample.weights[mine.to_numpy()].sum() == pytest.approx(
            original.mean() * row.population, rel=0.1
        )


def test_a_stratified_sample_re_weights_totals_to_the_population(rows):
    ds = Dataset(rows, target="y", prediction="pred", sensitive=["sex", "race"])
    sample = ds.sample(300, stratify="sensitive", min_per_group=40, random_state=1)
    assert sample.weight == "sample_weight" and "sample_weight" not in sample.feature_names
    totals = pd.Series(sample.weights).groupby([sample.frame["sex"], sample.frame["race"]]).sum()
    population = rows.groupby(["sex", "race"]).size()
    np.testing.assert_allclose(totals.sort_index(), population.sort_index().astype(float))
    # the re-weighted selection rate: each stratum's sample rate at its population share
    r = group_metrics_of(sample, metrics=["selection_rate", "count"], ci=None)
    assert r.overall["count"] == pytest.approx(len(rows))
    sampled = sample.frame.groupby(["sex", "race"])["pred"].mean()
    share = population / population.sum()
    expected = float((sampled.sort_index() * share.sort_index()).sum())
    assert r.overall["selection_rate"] == pytest.approx(expected, abs=1e-12)
    assert r.overall["selection_rate"] != pytest.approx(sample.frame["pred"].mean(), abs=1e-3)


def test_bad_weight_columns_are_refused(rows):
    bad = rows.assign(w=rows["w"] - 3)
    with pytest.raises(DataError, match="negative"):
        Dataset(bad, target="y", sensitive="sex", weight="w")
    with pytest.raises(raikit.ColumnError, match="one role"):
        Dataset(rows, target="y", sensitive="sex", weight="y")


# --------------------------------------------------------------------------- the boundary
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ci": 1.5}, r"group_metrics\(\): ci must be a number in \(0, 1\) or None; got 1.5"),
        ({"n_boot": 1}, r"group_metrics\(\): n_boot must be an integer >= 2"),
        ({"task": "ranking"}, r"group_metrics\(\): task must be one of 'auto'"),
        ({"random_state": -1}, r"group_metrics\(\): random_state must be"),
    ],
)
def test_parameter_errors_name_the_function_and_keyword(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        group_metrics([0, 1], [0, 1], sensitive_features=["a", "b"], **kwargs)


def test_group_metrics_of_refuses_what_is_not_a_dataset_or_a_bad_backend(weighted_ds):
    with pytest.raises(
        ParameterError, match=r"group_metrics_of\(\): data must be a raikit Dataset"
    ):
        group_metrics_of(pd.DataFrame({"y": [0, 1]}))
    with pytest.raises(ParameterError, match=r"group_metrics_of\(\): backend must be one of"):
        group_metrics_of(weighted_ds, backend="beam")
    with pytest.raises(ParameterError, match="backend='duckdb' reads files"):
        group_metrics_of(weighted_ds, backend="duckdb")


def test_track_records_one_row_with_every_parameter(tmp_path, weighted_ds):
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("metrics", ledger=ledger) as run:
        group_metrics_of(weighted_ds, metrics=["accuracy"], n_boot=20)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["metrics.group_metrics"]
    params = json.loads(evidence["params"].iloc[0])
    assert {"metrics", "ci", "n_boot", "random_state", "backend", "min_group_size"} <= set(params)
    assert params["ci"] == 0.95 and params["n_boot"] == 20
    assert isinstance(params["random_state"], int)  # None became a replayable seed
    # the fairness one-number functions compute through group_metrics but record nothing
    with raikit.track("fairness", ledger=ledger) as run:
        demographic_parity_difference([0, 1, 1, 0], [0, 1, 0, 0], sensitive_features=list("aabb"))
        group_metrics([0, 1, 1, 0], [0, 1, 0, 0], sensitive_features=list("aabb"), ci=None)
    assert ledger.evidence(run=run.id)["check_name"].tolist() == ["metrics.group_metrics"]


STAGES = {
    "ledger",
    "data",
    "train",
    "evaluate",
    "explain",
    "privacy",
    "review",
    "monitor",
    "audit",
    "cards",
    "report",
    "server",
    "cli",
}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):  # function-level imports count as much as module-level ones
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize(
    "path",
    [*sorted((SRC / "metrics").glob("*.py")), SRC / "dataset.py"],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_the_bottom_layer_imports_no_stage_and_no_ledger(path):
    bad = sorted(
        name
        for name in _imported_modules(path)
        if name.startswith("raikit.") and name.split(".")[1] in STAGES
    )
    assert not bad, f"{path.name} imports {bad}"


def test_the_import_check_would_catch_a_ledger_import(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("def f():\n    from raikit.ledger import record\n    import raikit.cli\n")
    assert {"raikit.ledger.record", "raikit.cli"} <= _imported_modules(sample)


# --------------------------------------------------------------------------- the slice key
def test_findings_name_slices_by_their_one_structured_key():
    from raikit._grouping import SliceKey

    y = [1, 0, 1, 0, 1, 1]
    r = group_metrics(
        y,
        y,
        sensitive_features={"sex": list("FFFMMM"), "race": list("ABAABB")},
        metrics=["selection_rate"],
        ci=None,
    )
    slices = {f.slice for f in r.findings if f.title.startswith("Small group")}
    expected = {
        SliceKey(sex="F", race="A"),
        SliceKey(sex="M", race="B"),
        SliceKey(sex="F"),
        SliceKey(race="B"),
    }
    assert {str(k) for k in expected} <= slices
    assert "sex & race=F & A" not in slices  # the old, ambiguous form
    key = SliceKey(sex="F", race="A")
    assert key == SliceKey({"sex": "F", "race": "A"}) and hash(key) == hash(SliceKey(key))
    assert dict(key) == {"sex": "F", "race": "A"} and key.label == "F & A"
    with pytest.raises(AttributeError):
        key._items = ()


def test_stratifying_groups_missing_values_under_the_one_label(rows):
    from raikit._grouping import MISSING

    holes = rows.assign(race=rows["race"].where(rows.index % 7 != 0))
    ds = Dataset(holes, target="y", sensitive=["sex"], features=["score"])
    sample = ds.sample(200, stratify=["race"], min_per_group=20, random_state=0)
    assert MISSING in set(sample.sampling["race"])
    with pytest.raises(DataError, match="missing value"):  # as sensitive, refused by default
        Dataset(holes, target="y", sensitive=["race"])
