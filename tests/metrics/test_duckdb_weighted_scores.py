"""Weighted score metrics on the DuckDB backend: with both a weight and a score role, the score
histograms count weight, so ROC AUC is scikit-learn's ``roc_auc_score(sample_weight=...)`` within
the histogram's stated bound (exactly when the scores fall in separate bins), and Brier score, log
loss and calibration error are the numpy engine's weighted values."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from raikit import DataError, Dataset
from raikit.metrics import group_metrics_of

pytest.importorskip("duckdb")

SCORES = ["roc_auc", "brier_score", "log_loss", "expected_calibration_error"]
COUNTS = ["count", "selection_rate", "true_positive_rate", "accuracy"]
HOSTILE = "w\"; DROP TABLE t; -- `x` 'y'"  # quotes, backticks, a semicolon, a comment
SEX_RACE = ["sex", "race"]


def _rows(n=3000, *, seed=0, levels=None, weight="w", integer=False):
    """Two attributes, a label, a score that predicts it, and gamma (or integer) weights."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["f", "m"], n)
    race = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    y = rng.integers(0, 2, n)
    if levels is None:
        s = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
    else:  # few distinct scores and a weak signal: many tied (positive, negative) pairs
        s = np.asarray(levels)[np.minimum(rng.integers(0, len(levels), n) + y, len(levels) - 1)]
    w = rng.integers(0, 4, n).astype(float) if integer else rng.gamma(2.0, 0.7, n)
    return pd.DataFrame(
        {"sex": sex, "race": race, "y": y, "p": (s >= 0.5).astype(int), "s": s, weight: w}
    )


def _lazy(path, *, weight="w", **kwargs):
    data = Dataset(
        str(path),
        target="y",
        prediction="p",
        sensitive=SEX_RACE,
        score="s",
        weight=weight,
        lazy=True,
    )
    return group_metrics_of(data, **kwargs)


def _eager(frame, *, weight="w", **kwargs):
    data = Dataset(frame, target="y", prediction="p", sensitive=SEX_RACE, score="s", weight=weight)
    return group_metrics_of(data, backend="numpy", **kwargs)


def _wide(result) -> pd.DataFrame:
    """value per (attribute, group) x metric, the overall slice included, in the result's order."""
    table = result.table
    index = pd.MultiIndex.from_frame(table[["attribute", "group"]].drop_duplicates())
    return table.pivot(index=["attribute", "group"], columns="metric", values="value").loc[index]


def _members(frame, attribute, group) -> np.ndarray:
    rows = np.ones(len(frame), dtype=bool)
    if attribute != "overall":
        for name, value in zip(attribute.split(" & "), group.split(" & "), strict=True):
            rows &= (frame[name] == value).to_numpy()
    return rows


def _key(attribute, group) -> str:
    if attribute == "overall":
        return "overall"
    pairs = zip(attribute.split(" & "), group.split(" & "), strict=True)
    return " & ".join(f"{name}={value}" for name, value in pairs)


def test_weighted_scores_are_numpys_within_the_bin_error(tmp_path):
    """(a) Brier, log loss and ECE equal the in-memory weighted values; ROC AUC is within the
    reported bound of scikit-learn's weighted AUC, and the bound is the weighted same-bin share."""
    frame = _rows()
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    kwargs = dict(metrics=COUNTS + SCORES, ci=None, score_bins=100)
    result = _lazy(tmp_path / "d.parquet", **kwargs)
    lazy, eager = _wide(result), _wide(_eager(frame, **kwargs))
    assert lazy.index.equals(eager.index) and len(lazy) == 12
    exact = [m for m in lazy.columns if m != "roc_auc"]
    pd.testing.assert_frame_equal(lazy[exact], eager[exact], check_exact=False, rtol=1e-12)
    bounds = result.meta["roc_auc_error_bound"]
    errors = []
    for (attribute, group), row in lazy.iterrows():
        part = frame[_members(frame, attribute, group)]
        w, y, s = part["w"].to_numpy(), part["y"].to_numpy(), part["s"].to_numpy()
        expected = roc_auc_score(y, s, sample_weight=w)
        assert eager.loc[(attribute, group), "roc_auc"] == pytest.approx(expected, abs=1e-12)
        # the bound by hand: half the weighted share of (positive, negative) pairs in one bin
        binned = np.minimum(np.floor(s * 100), 99).astype(int)
        pos = np.bincount(binned[y == 1], weights=w[y == 1], minlength=100)
        neg = np.bincount(binned[y == 0], weights=w[y == 0], minlength=100)
        bound = 0.5 * (pos * neg).sum() / (pos.sum() * neg.sum())
        assert bounds[_key(attribute, group)] == pytest.approx(bound, rel=1e-12)
        errors.append(abs(row["roc_auc"] - expected))
        assert errors[-1] <= bound + 1e-12
        assert row["brier_score"] == pytest.approx(brier_score_loss(y, s, sample_weight=w), 1e-12)
        assert row["log_loss"] == pytest.approx(log_loss(y, s, sample_weight=w), rel=1e-12)
    assert max(errors) > 1e-5  # 100 bins of continuous scores: the bound is not idle here
    # the weights matter: unweighted, the same file gives other score metrics
    plain = _wide(_lazy(tmp_path / "d.parquet", weight=None, **kwargs))
    assert (abs(plain[SCORES] - lazy[SCORES]) > 1e-4).all().all()


def test_scores_in_separate_bins_give_the_exact_weighted_auc(tmp_path):
    """(a) Scores that take few values, each in its own bin: the histogram loses nothing, so every
    metric equals the in-memory weighted one (and scikit-learn's) to 1e-12. (d) The weight column
    is named with quotes, backticks, a semicolon and a comment."""
    frame = _rows(levels=[0.05, 0.25, 0.45, 0.55, 0.75, 0.95], weight=HOSTILE)
    frame.to_parquet(tmp_path / "few.parquet", index=False)
    kwargs = dict(metrics=COUNTS + SCORES, ci=None, weight=HOSTILE)
    lazy = _lazy(tmp_path / "few.parquet", **kwargs)
    eager = _eager(frame, **kwargs)
    pd.testing.assert_frame_equal(_wide(lazy), _wide(eager), check_exact=False, rtol=0, atol=1e-12)
    expected = roc_auc_score(frame["y"], frame["s"], sample_weight=frame[HOSTILE])
    assert lazy.overall["roc_auc"] == pytest.approx(expected, abs=1e-12)
    assert lazy.overall["count"] == pytest.approx(frame[HOSTILE].sum(), rel=1e-12)
    # ties are real (the bound is positive) but tied pairs are half concordant either way
    assert lazy.meta["roc_auc_error_bound"]["overall"] > 0.01


def test_integer_weights_are_duplicated_rows(tmp_path):
    """(b) A row of weight k is k copies of the row (0: no row), for every value."""
    frame = _rows(n=1500, seed=2, integer=True)
    frame.to_parquet(tmp_path / "weighted.parquet", index=False)
    copies = frame.loc[frame.index.repeat(frame["w"].astype(int))].drop(columns="w")
    copies.to_parquet(tmp_path / "copies.parquet", index=False)
    kwargs = dict(metrics=COUNTS + SCORES, ci=None, score_bins=100)
    weighted = _lazy(tmp_path / "weighted.parquet", **kwargs)
    duplicated = _lazy(tmp_path / "copies.parquet", weight=None, **kwargs)
    assert not duplicated.meta["weighted"] and weighted.meta["n_rows"] == len(frame)
    pd.testing.assert_frame_equal(
        _wide(weighted), _wide(duplicated), check_exact=False, rtol=0, atol=1e-12
    )
    for key, bound in weighted.meta["roc_auc_error_bound"].items():
        assert bound == pytest.approx(duplicated.meta["roc_auc_error_bound"][key], rel=1e-12)


def test_unit_weights_are_no_weights_and_scaling_weights_changes_nothing(tmp_path):
    """(c) Weights of 1 give the unweighted result, intervals included (the same draws: each
    cell's effective rows are its rows). Weights times 1000 or 1/1000 give the same values and
    intervals (the bootstrap draws effective rows, which no scale changes)."""
    frame = _rows(n=2000, seed=3)
    frame.to_parquet(tmp_path / "w.parquet", index=False)
    frame.assign(w=1.0).to_parquet(tmp_path / "ones.parquet", index=False)
    kwargs = dict(metrics=COUNTS + SCORES, ci=0.9, n_boot=200, random_state=7)
    ones = _lazy(tmp_path / "ones.parquet", **kwargs)
    plain = _lazy(tmp_path / "ones.parquet", weight=None, **kwargs)
    assert ones.meta["weighted"] and not plain.meta["weighted"]
    columns = ["value", "lower", "upper"]
    pd.testing.assert_frame_equal(
        ones.table[columns], plain.table[columns], check_exact=False, rtol=1e-12, atol=1e-12
    )
    base = _lazy(tmp_path / "w.parquet", **kwargs)
    assert base.table["upper"].gt(base.table["lower"]).all()
    for factor in (1000.0, 1e-3):
        frame.assign(w=frame["w"] * factor).to_parquet(tmp_path / "scaled.parquet", index=False)
        scaled = _lazy(tmp_path / "scaled.parquet", **kwargs)
        rates = scaled.table["metric"] != "count"
        pd.testing.assert_frame_equal(
            scaled.table.loc[rates, columns],
            base.table.loc[rates, columns],
            check_exact=False,
            rtol=1e-6,
            atol=1e-9,
        )


def test_weighted_histogram_intervals_agree_with_the_numpy_engine(tmp_path):
    """Two different bootstraps of the same weighted statistics (quantile strata of the rows in
    memory, merged score bins on disk): their interval widths agree."""
    frame = _rows(n=4000, seed=4)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    kwargs = dict(metrics=SCORES, ci=0.95, n_boot=400, random_state=4)
    widths = [
        r.table.set_index(["attribute", "group", "metric"]).eval("upper - lower")
        for r in (_lazy(tmp_path / "d.parquet", **kwargs), _eager(frame, **kwargs))
    ]
    for attribute, group in [("overall", "overall"), ("sex", "f"), ("race", "c")]:
        for metric in SCORES:
            ratio = widths[0][(attribute, group, metric)] / widths[1][(attribute, group, metric)]
            assert 0.75 < ratio < 1.33, (attribute, group, metric, ratio)


@pytest.mark.parametrize("value", [-0.5, np.inf, np.nan, None], ids=["neg", "inf", "nan", "null"])
def test_bad_weights_raise_a_data_error_naming_the_column(tmp_path, value):
    """(e) A missing, negative or infinite weight with a score role: a DataError that names the
    weight column (a hostile name, quoted as given), not a number."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = _rows(n=300, weight=HOSTILE)
    weights = frame.pop(HOSTILE).astype(object)
    weights[[3, 7]] = value
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # from_pandas=False keeps a NaN a NaN (not a null): both must be refused
    column = pa.array(weights.tolist(), type=pa.float64(), from_pandas=False)
    pq.write_table(table.append_column(HOSTILE, column), tmp_path / "bad.parquet")
    # DuckDB cannot count NaN in a Parquet column whose statistics skip them: "some", not 2
    many = "some" if value is np.nan else "2"
    message = rf"weight column {re.escape(repr(HOSTILE))} has {many} missing, infinite or negative"
    with pytest.raises(DataError, match=message):
        _lazy(tmp_path / "bad.parquet", weight=HOSTILE, ci=None)


def test_weights_that_are_zero_or_not_numbers_raise(tmp_path):
    frame = _rows(n=300)
    frame.assign(w=0.0).to_parquet(tmp_path / "zero.parquet", index=False)
    with pytest.raises(DataError, match="weight column 'w' sums to 0"):
        _lazy(tmp_path / "zero.parquet", ci=None)
    frame.assign(w="heavy").to_csv(tmp_path / "text.csv", index=False)
    with pytest.raises(DataError, match=r"weight column 'w' of .* has DuckDB type VARCHAR"):
        _lazy(tmp_path / "text.csv", ci=None)


def test_cli_metrics_takes_a_weight_column(tmp_path):
    """`raikit metrics --weight` on DuckDB: the weighted result of the API, saved as JSON."""
    from typer.testing import CliRunner

    from raikit import Result
    from raikit.cli import app

    frame = _rows(n=800, seed=5, weight=HOSTILE)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    arguments = ["metrics", str(tmp_path / "d.parquet"), "-t", "y", "-p", "p", "-s", "sex,race"]
    arguments += ["--score", "s", "--weight", HOSTILE, "--backend", "duckdb", "--ci", "0.9"]
    arguments += ["--n-boot", "50", "--json", str(tmp_path / "m.json")]
    outcome = CliRunner().invoke(app, arguments)
    assert outcome.exit_code == 0, outcome.output
    saved = Result.from_json(str(tmp_path / "m.json"))
    direct = _lazy(tmp_path / "d.parquet", weight=HOSTILE, ci=0.9, n_boot=50, random_state=0)
    assert saved.meta["weighted"] and saved.meta["backend"] == "duckdb"
    pd.testing.assert_frame_equal(saved.table, direct.table, check_exact=False, rtol=1e-12)


def test_memory_limit_is_a_literal_never_sql(tmp_path):
    """The one setting written into DuckDB's SQL by the caller: a value with a quote and a
    second statement is refused as a bad size (it ran the statement before)."""
    from raikit import ParameterError

    _rows(n=200).to_parquet(tmp_path / "d.parquet", index=False)
    marker = tmp_path / "written.csv"
    attack = f"1GB'; COPY (SELECT 1) TO '{marker}'; --"
    with pytest.raises(ParameterError, match=r"memory_limit=.* is not a memory size"):
        _lazy(tmp_path / "d.parquet", ci=None, memory_limit=attack)
    assert not marker.exists()
    assert _lazy(tmp_path / "d.parquet", ci=None, memory_limit="256MB").meta["weighted"]
