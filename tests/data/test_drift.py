"""drift: statistics against scipy, injected shifts on real data, false-alarm rate over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from raikit import ColumnError, DataError, Dataset, ParameterError, Result
from raikit.data import DriftResult, drift
from raikit.data._drift import _ks_wasserstein, adjust_pvalues, distribution_distances, ks_pvalue


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
    ks, w, n_ref, n_cur = _ks_wasserstein(values, is_current, codes, 4)
    p = ks_pvalue(ks, n_ref, n_cur)
    for g in range(4):
        a = values[(codes == g) & ~is_current]
        b = values[(codes == g) & is_current]
        expected = stats.ks_2samp(a, b, method="asymp")
        np.testing.assert_allclose(ks[g], expected.statistic, rtol=1e-12)
        np.testing.assert_allclose(p[g], expected.pvalue, rtol=1e-9)
        np.testing.assert_allclose(w[g], stats.wasserstein_distance(a, b), rtol=1e-9)
        assert (n_ref[g], n_cur[g]) == (a.size, b.size)


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
    with pytest.raises(DataError, match="categorical; the KS test"):
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


def test_a_lazy_weighted_side_says_its_weights_are_not_applied(tmp_path):
    frame = _weighted_side(4, 0.0)
    path = tmp_path / "ref.parquet"
    frame.to_parquet(path, index=False)
    lazy = Dataset(path, target=None, sensitive=["s"], weight="w", lazy=True)
    result = drift(
        reference=lazy,
        current=Dataset(_weighted_side(5, 0.0), target=None, sensitive=["s"]),
        columns=["x"],
    )
    assert any(
        f.severity == "warning" and "'w'" in f.detail and "unweighted" in f.detail
        for f in result.findings
    )
