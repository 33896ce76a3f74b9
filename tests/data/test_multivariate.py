"""multivariate_drift: a planted correlation change that per-column tests miss, no false alarm
under the null, attribution to the drifting group, the AUC against scikit-learn, the ledger."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from raikit import Dataset, ParameterError, Result
from raikit.data import MultivariateDriftResult, drift, multivariate_drift
from raikit.data._multivariate import block_auc

CORRELATED = [[1.0, 0.9], [0.9, 1.0]]


def _gaussians(rng, n: int, rho: float, columns=("a", "b")) -> pd.DataFrame:
    values = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
    return pd.DataFrame(values, columns=list(columns))


@pytest.fixture(scope="module")
def planted():
    """Same standard normal marginals; correlation 0 in the reference, 0.9 in the current."""
    rng = np.random.default_rng(11)
    return _gaussians(rng, 800, 0.0), _gaussians(rng, 800, 0.9)


def test_classifier_catches_a_correlation_change_every_column_test_misses(planted):
    reference, current = planted
    per_column = drift(reference=reference, current=current)
    assert per_column.drifted_columns == []  # KS sees the same marginals
    assert per_column.columns_table["p_value"].min() > 0.05
    result = multivariate_drift(reference=reference, current=current, random_state=0)
    row = result.overall.set_index("method").loc["classifier"]
    assert row["p_value"] < 0.01 and bool(row["drifted"])
    assert row["lower"] > 0.6  # the AUC interval is far above 0.5
    assert set(result.features["feature"]) == {"a", "b"}
    assert (result.features["auc_drop"] > 0.05).all()  # both columns are needed to separate
    assert result.drifted
    assert any("told apart" in f.title for f in result.findings)


@pytest.mark.parametrize("direction", ["appears", "breaks"])
def test_pca_catches_the_same_change_in_both_directions(planted, direction):
    reference, current = planted if direction == "appears" else planted[::-1]
    result = multivariate_drift(reference=reference, current=current, method="pca", random_state=0)
    row = result.overall.iloc[0]
    assert row["method"] == "pca" and row["p_value"] < 0.01 and bool(row["drifted"])
    # correlation that appears makes rows fit one component better (the error falls); a
    # correlation that breaks makes them fit the reference's main component worse (it rises)
    assert (row["value"] < 0) if direction == "appears" else (row["value"] > 0)
    assert row["lower"] <= row["value"] <= row["upper"]
    assert result.meta["pca_components"] == 1 and result.meta["pca_inputs"] == 2


def test_no_false_alarm_and_p_values_not_anti_conservative():
    rng = np.random.default_rng(3)
    p = {"classifier": [], "pca": []}
    covered = 0
    seeds = range(8)
    for seed in seeds:
        reference, current = _gaussians(rng, 300, 0.5), _gaussians(rng, 300, 0.5)
        result = multivariate_drift(reference=reference, current=current, random_state=seed)
        table = result.overall.set_index("method")
        for method in p:
            p[method].append(table.loc[method, "p_value"])
        covered += table.loc["classifier", "lower"] <= 0.5 <= table.loc["classifier", "upper"]
    for values in p.values():
        values = np.asarray(values)
        # under the null at most one of 8 p-values may fall below 0.05 (expected 0.4)
        assert (values < 0.05).sum() <= 1
        assert np.median(values) > 0.2
    assert covered >= 7


def test_drift_planted_in_one_group_is_attributed_to_that_group():
    rng = np.random.default_rng(5)
    n = 600

    def side(rho_in_f: float) -> pd.DataFrame:
        female = _gaussians(rng, n, rho_in_f).assign(sex="F")
        male = _gaussians(rng, n, 0.0).assign(sex="M")
        return pd.concat([female, male], ignore_index=True)

    reference = Dataset(side(0.0), target=None, sensitive="sex")
    current = Dataset(side(0.9), target=None, sensitive="sex")
    result = multivariate_drift(reference=reference, current=current, random_state=1)
    groups = result.by_group.set_index(["method", "group"])
    for method in ("classifier", "pca"):
        assert bool(groups.loc[(method, "F"), "drifted"])
        assert not bool(groups.loc[(method, "M"), "drifted"])
        assert groups.loc[(method, "M"), "p_adjusted"] > 0.05
    assert groups.loc[("classifier", "F"), "value"] > groups.loc[("classifier", "M"), "value"] + 0.1
    sliced = {f.slice for f in result.findings if f.slice}
    assert "sex=F" in sliced and "sex=M" not in sliced


def test_block_auc_matches_sklearn_and_delong_variance():
    from scipy.stats import mannwhitneyu
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    n = 500
    block = rng.integers(0, 3, n)
    label = rng.integers(0, 2, n)
    score = np.round(rng.normal(size=n) + 0.4 * label, 1)  # ties
    out = block_auc(block, label, score, 3)
    for b in range(3):
        m = block == b
        y, s = label[m], score[m]
        assert out["auc"][b] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        # DeLong's variance, written out pair by pair
        pos, neg = s[y == 1], s[y == 0]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
        variance = v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)
        assert out["variance"][b] == pytest.approx(variance, rel=1e-10)
        expected = mannwhitneyu(pos, neg, alternative="greater", method="asymptotic").pvalue
        assert out["p"][b] == pytest.approx(expected, rel=1e-9)


def test_groups_too_small_are_not_tested():
    rng = np.random.default_rng(2)
    frame = _gaussians(rng, 400, 0.0).assign(g=["tiny"] * 10 + ["big"] * 390)
    ds = Dataset(frame, target=None, sensitive="g")
    result = multivariate_drift(reference=ds, current=ds, random_state=0, min_group_size=30)
    tiny = result.by_group[result.by_group["group"] == "tiny"]
    assert tiny["p_value"].isna().all() and not tiny["drifted"].any()
    assert any("too small" in f.title for f in result.findings)


def test_categorical_and_missing_columns_and_json_round_trip():
    rng = np.random.default_rng(4)
    n = 500
    reference = pd.DataFrame(
        {"x": rng.normal(size=n), "c": rng.choice(["u", "v"], n), "id": np.arange(n).astype(str)}
    )
    current = reference.copy()
    current["c"] = np.where(current["x"] > 0, "u", "v")  # same shares, new dependence on x
    current.loc[::7, "x"] = np.nan
    result = multivariate_drift(reference=reference, current=current, random_state=0)
    assert result.meta["skipped"] == ["id"]  # an identifier is not an input
    assert bool(result.overall.set_index("method").loc["classifier", "drifted"])
    back = Result.from_json(result.to_json())
    assert isinstance(back, MultivariateDriftResult)
    pd.testing.assert_frame_equal(back.table, result.table)
    assert len(result.figures()) == 3
    assert "classifier" in result.summary


def test_large_side_is_sampled_and_said_so(planted):
    reference, current = planted
    result = multivariate_drift(
        reference=reference, current=current, max_rows=300, method="classifier", random_state=0
    )
    assert result.meta["sampled"] == {
        "reference": {"population": 800, "sampled": 300},
        "current": {"population": 800, "sampled": 300},
    }
    assert result.overall["n_reference"].iloc[0] == 300


def test_lazy_dataset_is_sampled_where_it_lives(tmp_path, planted):
    reference, current = planted
    path = tmp_path / "current.parquet"
    current.assign(s=np.where(np.arange(len(current)) % 2, "p", "q")).to_parquet(path)
    lazy = Dataset(str(path), target=None, sensitive="s", lazy=True)
    assert lazy.is_lazy
    ref = Dataset(reference.assign(s=np.where(np.arange(len(reference)) % 2, "p", "q")),
                  target=None, sensitive="s")  # fmt: skip
    result = multivariate_drift(reference=ref, current=lazy, max_rows=400, random_state=0)
    assert result.meta["sampled"]["current"] == {"population": 800, "sampled": 400}
    assert result.drifted


@pytest.mark.parametrize(
    ("kwargs", "keyword"),
    [
        ({"method": "mmd"}, "method"),
        ({"method": []}, "method"),
        ({"cv": 1}, "cv"),
        ({"alpha": 2.0}, "alpha"),
        ({"ci": 1.5}, "ci"),
        ({"max_rows": 10}, "max_rows"),
    ],
)
def test_bad_parameters_raise_parameter_error(planted, kwargs, keyword):
    reference, current = planted
    with pytest.raises(ParameterError, match=rf"multivariate_drift\(\).*{keyword}"):
        multivariate_drift(reference=reference, current=current, **kwargs)


def test_bad_inputs_are_refused(planted):
    from raikit import ColumnError, DataError

    reference, current = planted
    with pytest.raises(ParameterError, match="reference must be"):
        multivariate_drift(reference=reference.to_numpy(), current=current)
    with pytest.raises(DataError, match="at least 20 rows"):
        multivariate_drift(reference=reference.head(5), current=current)
    with pytest.raises(ColumnError, match="lacks"):
        multivariate_drift(reference=reference, current=current, columns=["a", "zz"])


def test_track_records_one_evidence_row(tmp_path, planted):
    import raikit
    from raikit.ledger import Ledger

    reference, current = planted
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("mv", ledger=ledger) as run:
        multivariate_drift(reference=reference, current=current, method="pca", cv=3)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["data.multivariate_drift"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["method"] == "pca" and params["cv"] == 3
    assert isinstance(params["random_state"], int)  # None became a recorded seed


def test_cli_drift_multivariate_writes_both_results(tmp_path, planted):
    import subprocess
    import sys
    from pathlib import Path

    import raikit
    from raikit.data import DriftResult

    source = str(Path(raikit.__file__).resolve().parents[1])  # the raikit under test
    env = {"COLUMNS": "200", "PATH": "", "OMP_NUM_THREADS": "1", "PYTHONPATH": source}
    reference, current = planted
    groups = np.where(np.arange(len(reference)) % 2, "p", "q")
    reference.assign(s=groups).to_csv(tmp_path / "ref.csv", index=False)
    current.assign(s=groups).to_csv(tmp_path / "cur.csv", index=False)
    args = ["drift", "ref.csv", "cur.csv", "-s", "s", "--multivariate", "--out", "out"]
    result = subprocess.run(
        [sys.executable, "-m", "raikit.cli", "data", *args, "--methods", "classifier"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Multivariate drift" in result.stdout and "told apart" in result.stdout
    assert DriftResult.from_json(str(tmp_path / "out" / "drift.json")).drifted_columns == []
    both = MultivariateDriftResult.from_json(str(tmp_path / "out" / "multivariate-drift.json"))
    assert both.overall["method"].tolist() == ["classifier"] and both.drifted
    assert (tmp_path / "out" / "multivariate-drift.html").stat().st_size > 10_000
    bad = subprocess.run(
        [sys.executable, "-m", "raikit.cli", "data", *args, "--methods", "mmd"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert bad.returncode != 0 and "method" in (bad.stdout + bad.stderr)


def test_perfectly_separated_samples_get_an_interval_with_width():
    from scipy.stats import beta

    from raikit.data._multivariate import _auc_interval

    label = np.r_[np.zeros(200, dtype=int), np.ones(150, dtype=int)]
    score = np.r_[np.linspace(0, 0.4, 200), np.linspace(0.6, 1, 150)]
    stats = block_auc(np.zeros(350, dtype=int), label, score, 1)
    assert stats["auc"][0] == 1.0 and stats["variance"][0] == 0.0  # DeLong: no width
    lower, upper = _auc_interval(stats, 1.959964, 0.95)
    # Clopper-Pearson's bounds for 150 successes in 150 trials
    assert lower[0] == pytest.approx(beta.ppf(0.025, 150, 1)) and upper[0] == 1.0
    rng = np.random.default_rng(8)
    reference = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    result = multivariate_drift(
        reference=reference, current=reference + 100.0, method="classifier", random_state=0
    )
    row = result.overall.iloc[0]
    assert row["value"] > 0.99 and row["lower"] < row["upper"] and bool(row["drifted"])


def test_hostile_names_are_escaped_in_the_page(planted):
    reference, current = planted
    evil = "<script>alert(1)</script>"
    names = {"a": evil, "b": "b"}
    groups = np.where(np.arange(len(reference)) % 2, evil, "ok")
    result = multivariate_drift(
        reference=Dataset(reference.rename(columns=names).assign(g=groups), target=None,
                          sensitive="g"),
        current=Dataset(current.rename(columns=names).assign(g=groups), target=None,
                        sensitive="g"),
        random_state=0,
    )  # fmt: skip
    assert evil in set(result.features["feature"])
    page = result.to_html()
    assert evil not in page and "&lt;script&gt;" in page


def test_by_group_false_and_a_list_of_methods(planted):
    reference, current = planted
    groups = np.where(np.arange(len(reference)) % 2, "p", "q")
    ds = {k: Dataset(f.assign(s=groups), target=None, sensitive="s")
          for k, f in (("r", reference), ("c", current))}  # fmt: skip
    result = multivariate_drift(
        reference=ds["r"], current=ds["c"], by_group=False, method=["pca", "pca"], random_state=0
    )
    assert result.table["attribute"].unique().tolist() == ["overall"]
    assert result.table["method"].tolist() == ["pca"] and result.sensitive_names == []
    assert result.features.empty and result.meta["methods"] == ["pca"]
