"""drift: statistics against scipy, injected shifts on real data, false-alarm rate over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from raikit import ColumnError, DataError, Dataset, ParameterError, Result
from raikit.data import DriftResult, drift
from raikit.data._drift import adjust_pvalues, distribution_distances


@pytest.fixture(scope="module")
def compas():
    from raikit.datasets import load_compas

    return load_compas()


@pytest.fixture(scope="module")
def adult_split():
    from raikit.datasets import load_adult

    return load_adult(split="train"), load_adult(split="test")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ks_and_wasserstein_per_group_match_scipy(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    values = np.round(rng.normal(size=n) * 3)  # many ties
    is_current = rng.random(n) < 0.4
    values[is_current] += 0.5 * rng.random(is_current.sum())
    codes = rng.integers(0, 4, n)
    frame = pd.DataFrame({"x": values, "g": codes})
    result = drift(
        reference=Dataset(frame[~is_current], target=None, sensitive="g"),
        current=frame[is_current],
        tests="ks",
    )
    table = result.table.set_index(["attribute", "group"])
    assert result.meta["ks"] == "exact" and result.meta["ks_error_bound"] == {"x": 0.0}
    for g in range(4):
        a = values[(codes == g) & ~is_current]
        b = values[(codes == g) & is_current]
        expected = stats.ks_2samp(a, b, method="asymp")
        row = table.loc[("g", str(g))]
        np.testing.assert_allclose(row["statistic"], expected.statistic, rtol=1e-12)
        np.testing.assert_allclose(row["p_value"], expected.pvalue, rtol=1e-9)
        np.testing.assert_allclose(row["wasserstein"], stats.wasserstein_distance(a, b), rtol=1e-9)
        assert (row["n_reference"], row["n_current"]) == (a.size, b.size)


def test_categorical_distances_match_scipy():
    rng = np.random.default_rng(4)
    ref = rng.integers(0, 200, size=(3, 6))
    cur = rng.integers(0, 200, size=(3, 6))
    cur[1, 2] = ref[1, 2] = 0  # a category absent from one group
    stat, p, js, psi, linf = distribution_distances(ref, cur)
    for g in range(3):
        table = np.vstack([ref[g], cur[g]])
        table = table[:, table.sum(axis=0) > 0]
        chi = stats.chi2_contingency(table, correction=False)
        np.testing.assert_allclose(stat[g], chi.statistic, rtol=1e-9)
        np.testing.assert_allclose(p[g], chi.pvalue, rtol=1e-9)
        np.testing.assert_allclose(js[g], jensenshannon(ref[g], cur[g], base=2), rtol=1e-9)
        a, b = ref[g] / ref[g].sum(), cur[g] / cur[g].sum()
        np.testing.assert_allclose(linf[g], np.abs(a - b).max(), rtol=1e-12)
        a, b = np.maximum(a, 1e-4), np.maximum(b, 1e-4)
        np.testing.assert_allclose(psi[g], ((b - a) * np.log(b / a)).sum(), rtol=1e-12)


def test_multiple_testing_corrections():
    p = np.array([0.001, 0.02, 0.03, 0.2, np.nan, 0.04])
    ok = ~np.isnan(p)
    bh = adjust_pvalues(p, "fdr_bh")
    np.testing.assert_allclose(bh[ok], stats.false_discovery_control(p[ok], method="bh"))
    assert np.isnan(bh[4])
    holm = adjust_pvalues(p, "holm")
    # Holm by hand: sorted 0.001, 0.02, 0.03, 0.04, 0.2 times 5, 4, 3, 2, 1, then running max
    np.testing.assert_allclose(holm[ok], [0.005, 0.08, 0.09, 0.2, 0.09])
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni")[ok], [0.005, 0.1, 0.15, 1, 0.2])
    with pytest.raises(ParameterError, match=r"adjust_pvalues\(\): method must be one of"):
        adjust_pvalues(p, "bh")


def test_same_data_does_not_drift(adult_split):
    train, _ = adult_split
    result = drift(reference=train, current=train)
    assert not result.table["drifted"].any()
    assert np.allclose(result.columns_table["statistic"], 0)


def test_shift_injected_into_one_column(adult_split):
    train, test = adult_split
    shifted = test.frame.copy()
    shifted["hours_per_week"] = shifted["hours_per_week"] + 3
    result = drift(reference=train, current=test.replace(shifted))
    assert result.drifted_columns == ["hours_per_week"]
    row = result.columns_table.set_index("column").loc["hours_per_week"]
    assert row["test"] == "ks" and row["p_adjusted"] < 1e-10
    np.testing.assert_allclose(row["wasserstein"], 3.0, atol=0.1)  # a pure shift moves W1 by 3
    assert result.findings[0].title == "hours_per_week drifted"


def test_shift_injected_into_one_group_only(adult_split):
    train, test = adult_split
    shifted = test.frame.copy()
    black = (shifted["race"] == "Black").to_numpy()
    shifted.loc[black, "age"] = shifted.loc[black, "age"] + 6
    result = drift(reference=train, current=test.replace(shifted))
    groups = result.by_group.set_index(["attribute", "group", "column"])
    assert groups.loc[("race", "Black", "age"), "drifted"]
    others = groups.xs("age", level="column").loc["race"].drop("Black")
    assert not others["drifted"].any()
    finding = [f for f in result.findings if f.slice == "race=Black"]
    assert finding and "age drifted within 1 of" in finding[0].title


def test_new_category_in_current_drifts(compas):
    current = compas.frame.copy()
    current["c_charge_degree"] = current["c_charge_degree"].astype(object)
    current.loc[current.index[:400], "c_charge_degree"] = "X"
    result = drift(reference=compas, current=current, by_group=False)
    assert result.drifted_columns == ["c_charge_degree"]
    row = result.columns_table.set_index("column").loc["c_charge_degree"]
    np.testing.assert_allclose(row["linf"], 400 / len(current), atol=0.02)


@pytest.mark.slow
def test_false_alarm_rate_on_random_splits_is_near_nominal():
    """Random halves of Adult come from one distribution: over 40 seeds x 13 columns the raw
    rejection rate at 0.05 must stay near 0.05 (KS is conservative on tied values), and BH must
    keep the share of seeds with any drifted column near 0.05."""
    from raikit.datasets import load_adult

    ds = load_adult()
    raw, any_drift = [], []
    for seed in range(40):
        half = np.random.default_rng(seed).random(ds.n_rows) < 0.5
        table = drift(
            reference=ds.subset(half), current=ds.subset(~half), by_group=False
        ).columns_table
        raw.append((table["p_value"] < 0.05).mean())
        any_drift.append(table["drifted"].any())
    assert 0.02 <= np.mean(raw) <= 0.08
    assert np.mean(any_drift) <= 0.125  # 5/40; nominal 0.05 (binomial 95% upper bound ~0.11)


def test_false_alarm_rate_per_group(compas):
    raw, any_drift = [], []
    for seed in range(30):
        half = np.random.default_rng(seed).random(compas.n_rows) < 0.5
        result = drift(reference=compas.subset(half), current=compas.subset(~half))
        p = result.by_group["p_value"].dropna()
        raw.append((p < 0.05).mean())
        any_drift.append(result.table["drifted"].any())
    assert np.mean(raw) <= 0.08
    assert np.mean(any_drift) <= 0.15


def _by_sex(frame):
    return Dataset(frame, target=None, sensitive="sex")


def test_forced_tests(compas):
    frame = compas.frame
    ks = drift(
        reference=_by_sex(frame.iloc[:3000]), current=frame.iloc[3000:], tests="ks", by_group=False
    )
    chi = drift(
        reference=_by_sex(frame.iloc[:3000]),
        current=frame.iloc[3000:],
        tests="chi2",
        by_group=False,
    )
    assert set(ks.columns_table.set_index("column").loc[["age", "priors_count"], "test"]) == {"ks"}
    assert set(chi.columns_table["test"]) == {"chi2"}
    # chi-square on the reference deciles of age: 10 bins, so 9 degrees of freedom at most
    age = chi.columns_table.set_index("column").loc["age"]
    edges = np.unique(np.quantile(frame["age"].iloc[:3000], np.linspace(0, 1, 11)[1:-1]))
    bins = np.searchsorted(edges, frame["age"], side="right")
    table = pd.crosstab(np.arange(len(frame)) >= 3000, bins).to_numpy()
    expected = stats.chi2_contingency(table, correction=False)
    np.testing.assert_allclose(age["statistic"], expected.statistic, rtol=1e-9)
    np.testing.assert_allclose(age["p_value"], expected.pvalue, rtol=1e-9)


def test_identifier_columns_are_skipped(compas):
    frame = compas.frame.assign(person=[f"p{i}" for i in range(compas.n_rows)])
    result = drift(
        reference=_by_sex(frame.iloc[:3000]), current=frame.iloc[3000:], columns=["person", "age"]
    )
    assert result.columns_table["column"].tolist() == ["age"]
    assert result.meta["skipped"] == ["person"]
    assert result.findings[-1].title == "1 column(s) not tested"
    with pytest.raises(DataError, match="No column can be compared"):
        drift(reference=_by_sex(frame.iloc[:3000]), current=frame.iloc[3000:], columns=["person"])


def test_min_effect_ignores_significant_but_tiny_drift(adult_split):
    train, test = adult_split
    shifted = test.frame.copy()
    shifted["fnlwgt"] = shifted["fnlwgt"] * 1.02
    plain = drift(reference=train, current=test.replace(shifted), by_group=False)
    strict = drift(reference=train, current=test.replace(shifted), by_group=False, min_effect=0.2)
    assert "fnlwgt" in plain.drifted_columns and strict.drifted_columns == []


def test_dataframes_with_sensitive_and_round_trip(compas):
    frame = compas.frame
    # the groups come from whichever side is a Dataset (here the current one)
    result = drift(
        reference=frame.iloc[:3000],
        current=_by_sex(frame.iloc[3000:]),
        columns=["age", "priors_count", "race"],
    )
    assert set(result.table["attribute"]) == {"overall", "sex"}
    plain = drift(
        reference=frame.iloc[:3000],
        current=frame.iloc[3000:],
        columns=["age", "priors_count", "race"],
    )  # two DataFrames: compared overall only
    assert set(plain.table["attribute"]) == {"overall"}
    pd.testing.assert_frame_equal(
        plain.columns_table.reset_index(drop=True),
        result.columns_table.reset_index(drop=True),
    )
    back = Result.from_json(result.to_json())
    assert isinstance(back, DriftResult)
    pd.testing.assert_frame_equal(back.table, result.table)
    assert len(result.figures()) == 2 and "Drift per column" in result.to_html()


def test_bad_input(compas):
    frame = compas.frame
    # A default column missing from one table is not compared and is reported as a warning
    # (it used to be an error, which made serving data without a label unusable); a column
    # named by the caller must be in both tables.
    lacking = drift(reference=compas, current=frame.drop(columns=["age"]), by_group=False)
    assert "age" not in set(lacking.table["column"])
    assert lacking.meta["not_compared"] == {"missing_from_current": ["age"]}
    assert [f.severity for f in lacking.findings if "missing from" in f.title] == ["warning"]
    with pytest.raises(ColumnError, match="current data lacks column"):
        drift(
            reference=compas, current=frame.drop(columns=["age"]), columns=["age", "priors_count"]
        )
    with pytest.raises(ColumnError, match="reference data lacks column"):
        drift(reference=frame.drop(columns=["age"]), current=frame, columns=["age"])
    with pytest.raises(ColumnError, match=r"current data lacks column\(s\) \['race'\]"):
        drift(
            reference=compas, current=frame.drop(columns=["race"])
        )  # sensitive attributes are always needed
    bad = frame.copy()
    bad["age"] = bad["age"].astype(str) + " years"
    with pytest.raises(DataError, match="numeric in one table"):
        drift(reference=compas, current=bad)
    with pytest.raises(ParameterError, match=r"drift\(\): alpha must be a number in \(0, 1\)"):
        drift(reference=compas, current=frame, alpha=5)
    with pytest.raises(ParameterError, match=r"drift\(\): tests must be one of 'auto'"):
        drift(reference=compas, current=frame, tests="t-test")
    with pytest.raises(ParameterError, match=r"drift\(\): tests maps columns to 'ks' or 'chi2'"):
        drift(reference=compas, current=frame, tests={"age": "t"})
    with pytest.raises(ParameterError, match=r"drift\(\): correction must be one of"):
        drift(reference=compas, current=frame, correction="bh")
    with pytest.raises(TypeError):  # the pair is keyword-only
        drift(compas, frame)
    with pytest.raises(ParameterError, match=r"drift\(\): tests\['c_charge_degree'\] is 'ks'"):
        drift(
            reference=compas,
            current=frame,
            tests={"c_charge_degree": "ks"},
            columns=["c_charge_degree", "age"],
            by_group=False,
        )
    with pytest.raises(DataError, match="rows on both sides"):
        drift(reference=compas, current=frame.iloc[:0])
    with pytest.raises(ParameterError, match=r"must be a raikit\.Dataset or a DataFrame"):
        drift(reference=[1, 2], current=frame)


# --------------------------------------------------------------------------- the weight role
def _weighted_side(seed, shift, n=400):
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue", None], n, p=[0.4, 0.3, 0.2, 0.1])
    return pd.DataFrame(
        {
            "x": (rng.normal(shift, 1, n)).round(2),
            "k": rng.integers(0, 4, n),
            "c": colour,
            "s": rng.choice(["a", "b"], n),
            "w": rng.integers(0, 4, n),
        }
    )


def test_integer_weights_give_the_distances_of_duplicated_rows():
    ref, cur = _weighted_side(0, 0.0), _weighted_side(1, 0.3)

    def side(frame, weighted):
        if not weighted:
            frame = frame.loc[frame.index.repeat(frame["w"])]
        return Dataset(frame, target=None, sensitive=["s"], weight="w" if weighted else None)

    columns = ["x", "k", "c"]
    got = drift(reference=side(ref, True), current=side(cur, True), columns=columns).table
    want = drift(reference=side(ref, False), current=side(cur, False), columns=columns).table
    assert got[["attribute", "group", "column", "test"]].equals(
        want[["attribute", "group", "column", "test"]]
    )
    missing = ["missing_reference", "missing_current"]
    np.testing.assert_allclose(got[missing].to_numpy(float), want[missing].to_numpy(float))
    ks = got["test"] == "ks"
    assert ks.sum() == 3  # x overall and in both groups
    for name in ("statistic", "wasserstein", "effect"):
        np.testing.assert_allclose(got.loc[ks, name], want.loc[ks, name], rtol=1e-9)
    # categorical tables (k, c): the weighted shares, hence JS, PSI and L-infinity, are the same;
    # x's decile distances are not compared (weighted deciles are inverted-CDF quantiles)
    chi2 = got["test"] == "chi2"
    shares = ["js_distance", "psi", "linf"]
    np.testing.assert_allclose(got.loc[chi2, shares], want.loc[chi2, shares])
    # the tests count effective rows, fewer than the sum of the weights
    assert (got["n_reference"] < want["n_reference"]).all()


def test_weighted_ks_wasserstein_and_shares_by_hand():
    ref = Dataset(
        pd.DataFrame({"x": [1.0, 2, 3], "c": ["a", "b", "b"], "w": [1.0, 1, 2], "s": "g"}),
        target=None,
        sensitive=["s"],
        weight="w",
    )
    cur = Dataset(
        pd.DataFrame({"x": [2.0, 3], "c": ["b", "a"], "w": [1.0, 3], "s": "g"}),
        target=None,
        sensitive=["s"],
        weight="w",
    )
    table = drift(
        reference=ref, current=cur, columns=["x", "c"], tests={"x": "ks"}, by_group=False
    ).table.set_index("column")
    # weighted CDFs: reference 1/4, 1/2, 1 and current 0, 1/4, 1 at x = 1, 2, 3
    assert table.loc["x", "statistic"] == pytest.approx(0.25)
    assert table.loc["x", "wasserstein"] == pytest.approx(0.5)
    assert table.loc["x", "wasserstein"] == pytest.approx(
        stats.wasserstein_distance([1, 2, 3], [2, 3], [1, 1, 2], [1, 3])
    )
    assert table.loc["x", "n_reference"] == pytest.approx(16 / 6)  # (sum w)^2 / sum w^2
    assert table.loc["x", "n_current"] == pytest.approx(16 / 10)
    # shares of c: reference a 1/4, b (1 + 2)/4; current b 1/4, a 3/4
    assert table.loc["c", "linf"] == pytest.approx(0.5)
    assert table.loc["c", "js_distance"] == pytest.approx(
        jensenshannon([1 / 4, 3 / 4], [3 / 4, 1 / 4], base=2)
    )


def test_a_weighted_side_faces_an_unweighted_one_row_for_row():
    ref = _weighted_side(2, 0.0).assign(w=1.0)
    cur = _weighted_side(3, 0.5)
    plain = drift(
        reference=Dataset(ref, target=None, sensitive=["s"]), current=cur, columns=["x", "c"]
    ).table
    ones = drift(
        reference=Dataset(ref, target=None, sensitive=["s"], weight="w"),
        current=cur,
        columns=["x", "c"],
    ).table
    columns = ["statistic", "p_value", "wasserstein", "effect", "n_reference", "n_current"]
    np.testing.assert_allclose(ones[columns].to_numpy(float), plain[columns].to_numpy(float))
    c = plain["column"] == "c"  # x's PSI bins are weighted (inverted-CDF) deciles
    shares = ["psi", "js_distance", "linf"]
    np.testing.assert_allclose(ones.loc[c, shares], plain.loc[c, shares])


def _parquet(tmp_path, frame, name, **roles):
    path = tmp_path / f"{name}.parquet"
    frame.to_parquet(path, index=False)
    return Dataset(path, target=None, lazy=True, **roles)


def test_lazy_weighted_drift_equals_in_memory_weighted_drift(tmp_path):
    """Weights flow on DuckDB as in memory (there used to be a warning that they were ignored):
    the same numbers on categories, KS and Wasserstein within their guaranteed bounds."""
    ref, cur = _weighted_side(4, 0.0, n=3000), _weighted_side(5, 0.3, n=3000)
    rng = np.random.default_rng(6)
    ref["w"] = ref["w"] + rng.random(len(ref))  # fractional weights
    ref["x"], cur["x"] = rng.normal(0, 1, len(ref)), rng.normal(0.3, 1, len(cur))  # continuous
    roles = {"sensitive": ["s"], "weight": "w"}
    columns = ["x", "k", "c"]
    memory = drift(
        reference=Dataset(ref, target=None, **roles),
        current=Dataset(cur, target=None, **roles),
        columns=columns,
    )
    lazy = drift(
        reference=_parquet(tmp_path, ref, "ref", **roles),
        current=_parquet(tmp_path, cur, "cur", **roles),
        columns=columns,
    )
    a, b = memory.table, lazy.table
    assert a[["attribute", "group", "column", "test"]].equals(
        b[["attribute", "group", "column", "test"]]
    )
    assert not any("ignored" in f.title for f in lazy.findings)
    chi2 = a["test"] == "chi2"  # k and c: exact on both backends
    assert set(a.loc[chi2, "column"]) == {"k", "c"}
    for name in ("statistic", "p_value", "psi", "js_distance", "linf", "n_reference"):
        np.testing.assert_allclose(b.loc[chi2, name], a.loc[chi2, name], rtol=1e-9, err_msg=name)
    shares = ["missing_reference", "missing_current", "n_reference", "n_current"]
    np.testing.assert_allclose(b[shares].to_numpy(float), a[shares].to_numpy(float), rtol=1e-9)
    ks = a["test"] == "ks"
    ks_bound = lazy.meta["ks_error_bound"]["x"]
    w_bound = lazy.meta["wasserstein_error_bound"]["x"]
    assert memory.meta["ks_error_bound"] == {"x": 0.0} and ks_bound > 0
    gap = b.loc[ks, "statistic"].to_numpy() - a.loc[ks, "statistic"].to_numpy()
    assert (gap <= 1e-12).all() and (gap >= -ks_bound - 1e-12).all()  # a lower bound
    w_gap = np.abs(b.loc[ks, "wasserstein"].to_numpy() - a.loc[ks, "wasserstein"].to_numpy())
    assert (w_gap <= w_bound + 1e-12).all()
    # the weighted KS is not the unweighted one (the weights are really applied)
    plain = drift(
        reference=_parquet(tmp_path, ref, "ref_plain", sensitive=["s"]),
        current=_parquet(tmp_path, cur, "cur_plain", sensitive=["s"]),
        columns=columns,
    ).table
    assert not np.allclose(plain.loc[chi2, "psi"], b.loc[chi2, "psi"])


def test_integer_weights_equal_duplicated_rows_on_duckdb(tmp_path):
    ref, cur = _weighted_side(7, 0.0, n=2000), _weighted_side(8, 0.2, n=2000)
    columns = ["x", "k", "c"]
    weighted = drift(
        reference=_parquet(tmp_path, ref, "ref", sensitive=["s"], weight="w"),
        current=_parquet(tmp_path, cur, "cur", sensitive=["s"], weight="w"),
        columns=columns,
    ).table
    repeated = drift(
        reference=_parquet(tmp_path, ref.loc[ref.index.repeat(ref["w"])], "ref2", sensitive=["s"]),
        current=_parquet(tmp_path, cur.loc[cur.index.repeat(cur["w"])], "cur2", sensitive=["s"]),
        columns=columns,
    ).table
    assert weighted[["attribute", "group", "column"]].equals(
        repeated[["attribute", "group", "column"]]
    )
    # shares (the chi-square statistic counts effective rows, fewer than the repeated rows)
    same = ["psi", "js_distance", "linf", "missing_reference", "missing_current"]
    categorical = weighted["column"] != "x"
    assert (weighted.loc[categorical, "missing_reference"] > 0).any()  # c has missing values
    same_ks = ["statistic", "wasserstein", "missing_reference", "missing_current"]
    np.testing.assert_allclose(
        weighted.loc[categorical, same].to_numpy(float),
        repeated.loc[categorical, same].to_numpy(float),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        weighted.loc[~categorical, same_ks].to_numpy(float),
        repeated.loc[~categorical, same_ks].to_numpy(float),
        rtol=1e-9,
    )


def test_in_memory_reference_against_a_duckdb_current(tmp_path, compas):
    frame = compas.frame
    reference = Dataset(frame.iloc[:3000], target=None, sensitive=["sex", "race"])
    shifted = frame.iloc[3000:].assign(age=frame["age"].iloc[3000:] + 2)
    columns = ["age", "priors_count", "c_charge_degree"]
    memory = drift(reference=reference, current=shifted, columns=columns)
    mixed = drift(
        reference=reference,
        current=_parquet(tmp_path, shifted, "current", sensitive=["sex", "race"]),
        columns=columns,
    )
    a, b = memory.table, mixed.table
    assert a[["attribute", "group", "column"]].equals(b[["attribute", "group", "column"]])
    assert set(a["attribute"]) == {"overall", "sex", "race", "sex & race"}
    # integer columns: one value per bin on DuckDB too, so even KS and Wasserstein are exact
    assert mixed.meta["ks_error_bound"] == {"age": 0.0, "priors_count": 0.0}
    numbers = ["statistic", "p_value", "wasserstein", "effect", "psi", "js_distance", "linf"]
    numbers += ["n_reference", "n_current", "missing_reference", "missing_current"]
    np.testing.assert_allclose(
        b[numbers].to_numpy(float), a[numbers].to_numpy(float), rtol=1e-9, atol=1e-15
    )
    assert mixed.drifted_columns == memory.drifted_columns == ["age"]


HOSTILE = ['we"ird; DROP TABLE t; --', "it's", "back`tick", "tab\tnew\nline", "naïve 名前"]


@pytest.mark.parametrize("lazy", [False, True])
def test_hostile_column_names(tmp_path, lazy):
    rng = np.random.default_rng(9)
    x, c, s, w = HOSTILE[:4]

    def side(shift, n=600):
        return pd.DataFrame(
            {
                x: rng.normal(shift, 1, n).round(1),
                c: rng.choice(["a'", 'b"', "c`"], n),
                s: rng.choice([HOSTILE[4], "other"], n),
                w: rng.integers(1, 3, n),
            }
        )

    ref, cur = side(0.0), side(1.0)
    roles = {"sensitive": [s], "weight": w}
    if lazy:
        pair = (_parquet(tmp_path, ref, "ref", **roles), _parquet(tmp_path, cur, "cur", **roles))
    else:
        pair = (Dataset(ref, target=None, **roles), Dataset(cur, target=None, **roles))
    table = drift(reference=pair[0], current=pair[1], columns=[x, c]).table
    assert set(table["column"]) == {x, c}
    assert set(table["group"]) == {"overall", HOSTILE[4], "other"}
    row = table[(table["column"] == x) & (table["attribute"] == "overall")].iloc[0]
    assert row["drifted"] and row["wasserstein"] == pytest.approx(1.0, abs=0.2)


def test_dataframe_sides_with_missing_values_in_their_first_or_sensitive_column():
    """A DataFrame side becomes a Dataset internally: a missing value in its first column (two
    DataFrames) or in a sensitive attribute with the reference's missing_group is no error."""
    rng = np.random.default_rng(10)
    frame = pd.DataFrame({"s": rng.choice(["a", None], 300), "x": rng.normal(size=300)})
    plain = drift(reference=frame.iloc[:150], current=frame.iloc[150:], columns=["x"])
    expected = stats.ks_2samp(frame["x"].iloc[:150], frame["x"].iloc[150:])
    assert plain.table["statistic"].iloc[0] == pytest.approx(expected.statistic, rel=1e-12)
    reference = Dataset(frame.iloc[:150], target=None, sensitive="s", missing_group="(none)")
    grouped = drift(reference=reference, current=frame.iloc[150:], columns=["x"]).table
    assert set(grouped["group"]) == {"overall", "a", "(none)"}
    assert grouped["n_reference"].iloc[1:].sum() == 150
