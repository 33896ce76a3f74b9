"""representation: shares, base rates and intervals against pandas/scipy; reference populations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from raikit import ColumnError, Dataset, ParameterError, Result
from raikit.data import RepresentationResult, representation, required_sample_size


@pytest.fixture(scope="module")
def compas():
    from raikit.datasets import load_compas

    return load_compas()


@pytest.fixture(scope="module")
def result(compas):
    return representation(compas)


def test_shares_and_base_rates_match_pandas(compas, result):
    groups = result.groups.set_index(["attribute", "group"])
    frame = compas.frame
    for race, count in frame["race"].value_counts().items():
        assert groups.loc[("race", race), "count"] == count
        np.testing.assert_allclose(groups.loc[("race", race), "share"], count / len(frame))
    rates = frame.groupby(["race", "sex"], observed=True)["two_year_recid"].mean()
    for (race, sex), rate in rates.items():
        np.testing.assert_allclose(groups.loc[("race & sex", f"{race} & {sex}"), "base_rate"], rate)
    np.testing.assert_allclose(result.overall_base_rate, frame["two_year_recid"].mean())


def test_wilson_intervals_match_scipy(compas, result):
    groups = result.groups.set_index(["attribute", "group"])
    for race in ("Asian", "Caucasian", "Native American"):
        part = compas.frame.loc[compas.frame["race"] == race, "two_year_recid"]
        ci = stats.binomtest(int(part.sum()), len(part)).proportion_ci(method="wilson")
        np.testing.assert_allclose(groups.loc[("race", race), "base_rate_lower"], ci.low, rtol=1e-9)
        np.testing.assert_allclose(
            groups.loc[("race", race), "base_rate_upper"], ci.high, rtol=1e-9
        )


def test_required_sample_size():
    assert required_sample_size(0.1) == 385  # 1.96^2 * 0.25 / 0.05^2 = 384.1
    for width, p in [(0.1, 0.5), (0.05, 0.8), (0.2, 0.9)]:
        n = required_sample_size(width, p=p)
        z = stats.norm.ppf(0.975)
        assert 2 * z * np.sqrt(p * (1 - p) / n) <= width  # wide enough at n ...
        assert 2 * z * np.sqrt(p * (1 - p) / (n - 1)) > width  # ... and not at n - 1
    with pytest.raises(ParameterError, match=r"required_sample_size\(\): ci_width must be"):
        required_sample_size(1.5)
    with pytest.raises(ParameterError, match=r"required_sample_size\(\): ci must be"):
        required_sample_size(0.1, ci=95)
    # the confidence level is honoured: 99% needs (2.576 / 1.96)^2 times the rows
    z = stats.norm.ppf(0.995)
    assert required_sample_size(0.1, ci=0.99) == int(np.ceil(z * z * 0.25 / 0.05**2))


def test_small_groups_need_more_rows(result):
    groups = result.groups.set_index(["attribute", "group"])
    assert groups.loc[("race", "Asian"), "additional_needed"] == 385 - 31
    assert groups.loc[("race", "Caucasian"), "additional_needed"] == 0
    assert any(f.title == "3 race group(s) too small to evaluate" for f in result.findings)


def test_balance_measures_against_uniform(compas, result):
    balance = result.balance.set_index(["attribute", "against"])
    p = compas.frame["race"].value_counts().sort_index().to_numpy() / compas.n_rows
    q = np.full(len(p), 1 / len(p))
    row = balance.loc[("race", "uniform")]
    np.testing.assert_allclose(row["total_variation"], np.abs(p - q).sum() / 2)
    np.testing.assert_allclose(row["js_distance"], jensenshannon(p, q, base=2), rtol=1e-9)
    np.testing.assert_allclose(row["kl_divergence"], stats.entropy(p, q), rtol=1e-9)
    np.testing.assert_allclose(row["normalized_entropy"], stats.entropy(p) / np.log(len(p)))
    np.testing.assert_allclose(row["chi2_pvalue"], stats.chisquare(p * compas.n_rows).pvalue)
    # label parity over groups with >= 30 rows (Native American, 11 rows, is left out)
    rates = compas.frame.groupby("race", observed=True)["two_year_recid"].agg(["mean", "size"])
    rates = rates[rates["size"] >= 30]["mean"]
    np.testing.assert_allclose(row["base_rate_ratio"], rates.min() / rates.max())


def test_reference_population(compas):
    reference = {"sex": {"Female": 51, "Male": 49}, "race": {"Caucasian": 0.6, "Klingon": 0.1}}
    result = representation(compas, expected_shares=reference)
    groups = result.groups.set_index(["attribute", "group"])
    np.testing.assert_allclose(groups.loc[("sex", "Female"), "reference_share"], 0.51)
    female_share = (compas.frame["sex"] == "Female").mean()
    np.testing.assert_allclose(groups.loc[("sex", "Female"), "share_ratio"], female_share / 0.51)
    assert groups.loc[("race", "Klingon"), "count"] == 0
    titles = [f.title for f in result.findings]
    assert "sex=Female is under-represented" in titles
    assert "race=Klingon is absent from the data" in titles
    against = result.balance.set_index(["attribute", "against"])
    assert ("sex", "reference") in against.index and (
        "race & sex",
        "reference",
    ) not in against.index
    back = Result.from_json(result.to_json())
    assert isinstance(back, RepresentationResult)
    pd.testing.assert_frame_equal(back.groups, result.groups)
    assert len(result.figures()) >= 3


def test_reference_from_a_dataset(compas):
    half = compas.subset(np.arange(compas.n_rows) % 2 == 0)
    result = representation(half, reference=compas)
    ratio = result.groups.set_index(["attribute", "group"]).loc[("sex", "Male"), "share_ratio"]
    assert abs(ratio - 1) < 0.05


def test_bad_reference_and_input(compas):
    with pytest.raises(ParameterError, match="not sensitive attributes"):
        representation(compas, expected_shares={"age": {"young": 1.0}})
    with pytest.raises(ParameterError, match="non-negative"):
        representation(compas, expected_shares={"sex": {"Female": -1, "Male": 2}})
    with pytest.raises(ParameterError, match=r"expected_shares\['sex'\] must map each group"):
        representation(compas, expected_shares={"sex": [0.5, 0.5]})
    with pytest.raises(ParameterError, match="needs columns"):
        representation(compas, expected_shares=pd.DataFrame({"a": [1]}))
    with pytest.raises(ParameterError, match=r"representation\(\): data must be a raikit Dataset"):
        representation(compas.frame)
    # one name per idea: a dict of shares is not a reference Dataset, and not both at once
    with pytest.raises(ParameterError, match=r"representation\(\): reference must be a raikit"):
        representation(compas, reference={"sex": {"Female": 0.5, "Male": 0.5}})
    with pytest.raises(ParameterError, match="not both"):
        representation(compas, expected_shares={"sex": {"Female": 1}}, reference=compas)
    with pytest.raises(ParameterError, match=r"representation\(\): ci must be a number in"):
        representation(compas, ci=1.0)
    with pytest.raises(ColumnError, match="reference Dataset has no column 'race'"):
        representation(
            compas, reference=Dataset(compas.frame[["sex"]], target=None, sensitive="sex")
        )


def test_ci_sets_the_base_rate_intervals(compas):
    wide = representation(compas, ci=0.99).groups.set_index(["attribute", "group"])
    part = compas.frame.loc[compas.frame["race"] == "Asian", "two_year_recid"]
    ci = stats.binomtest(int(part.sum()), len(part)).proportion_ci(0.99, method="wilson")
    np.testing.assert_allclose(wide.loc[("race", "Asian"), "base_rate_lower"], ci.low, rtol=1e-9)
    assert wide.loc[("race", "Asian"), "needed_n"] == required_sample_size(0.1, ci=0.99)


def test_unlabelled_data_has_no_base_rate():
    frame = pd.DataFrame({"s": ["a"] * 40 + ["b"] * 10, "x": range(50)})
    result = representation(Dataset(frame, target=None, sensitive="s"))
    assert result.groups["base_rate"].isna().all()
    assert result.groups["count"].tolist() == [40, 10]
    assert "base rate" not in result.summary


def test_string_labels_base_rate_is_the_share_of_pos_label():
    frame = pd.DataFrame(
        {
            "s": ["a"] * 40 + ["b"] * 10,
            "y": ["approved"] * 10 + ["denied"] * 30 + ["approved"] * 6 + ["denied"] * 4,
        }
    )
    ds = Dataset(frame, target="y", sensitive="s")
    # Without pos_label: no base rate (the old code took the alphabetically last, 'denied').
    unknown = representation(ds)
    assert unknown.groups["base_rate"].isna().all() and unknown.meta["pos_label"] is None
    assert any("pos_label" in f.detail and "--pos-label" in f.detail for f in unknown.findings)
    result = representation(ds, pos_label="approved")
    rates = result.groups.set_index("group")["base_rate"]
    assert rates["a"] == pytest.approx(10 / 40) and rates["b"] == pytest.approx(6 / 10)
    assert result.overall_base_rate == pytest.approx(16 / 50)
    assert result.meta["pos_label"] == "approved"
    with pytest.raises(ParameterError, match="pos_label='granted' is not one of the labels"):
        representation(ds, pos_label="granted")


# --------------------------------------------------------------------------- the weight role
def _weighted_table(seed=3, n=300):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "s": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "r": rng.choice(["u", "v"], n),
            "y": rng.integers(0, 2, n),
            "w": rng.integers(0, 4, n),
        }
    )


def test_integer_weights_give_the_shares_of_duplicated_rows():
    frame = _weighted_table()
    weighted = Dataset(frame, target="y", sensitive=["s", "r"], weight="w")
    repeated = Dataset(frame.loc[frame.index.repeat(frame["w"])], target="y", sensitive=["s", "r"])
    shares = {"s": {"a": 0.4, "b": 0.4, "c": 0.2}}
    got = representation(weighted, expected_shares=shares).groups
    want = representation(repeated, expected_shares=shares).groups
    columns = ["count", "share", "share_ratio", "base_rate", "base_rate_ratio"]
    assert got["group"].tolist() == want["group"].tolist()
    np.testing.assert_allclose(got[columns].to_numpy(float), want[columns].to_numpy(float))
    # without weights the effective count is the row count, so the intervals are narrower there
    assert (want["effective_n"] == want["count"]).all()
    assert (got["effective_n"] < got["count"]).all()


def test_weighted_shares_and_intervals_by_hand():
    frame = pd.DataFrame(
        {"s": ["a", "a", "b", "b", "b"], "y": [1, 0, 1, 0, 0], "w": [3.0, 1, 1, 1, 3]}
    )
    result = representation(Dataset(frame, target="y", sensitive=["s"], weight="w"))
    g = result.groups.set_index("group")
    np.testing.assert_allclose(g["count"], [4, 5])
    np.testing.assert_allclose(g["share"], [4 / 9, 5 / 9])
    np.testing.assert_allclose(g["base_rate"], [3 / 4, 1 / 5])
    assert result.overall_base_rate == pytest.approx(4 / 9)
    effective = np.array([16 / 10, 25 / 11])  # (sum w)^2 / sum w^2
    np.testing.assert_allclose(g["effective_n"], effective)
    z = stats.norm.ppf(0.975)
    p = np.array([3 / 4, 1 / 5])
    centre = (p + z * z / (2 * effective)) / (1 + z * z / effective)
    half = (
        z / (1 + z * z / effective) * np.sqrt(p * (1 - p) / effective + z * z / (4 * effective**2))
    )
    np.testing.assert_allclose(g["base_rate_lower"], centre - half)
    np.testing.assert_allclose(g["base_rate_upper"], centre + half)
    assert g["additional_needed"].tolist() == [385 - 1, 385 - 2]  # ceil(385 - n_eff)
    assert result.meta["weight"] == "w"


def test_constant_weights_change_only_the_counts():
    frame = _weighted_table(seed=5)
    plain = representation(Dataset(frame, target="y", sensitive=["s"])).groups
    doubled = representation(
        Dataset(frame.assign(w=2.5), target="y", sensitive=["s"], weight="w")
    ).groups
    np.testing.assert_allclose(doubled["count"], 2.5 * plain["count"])
    rest = ["share", "effective_n", "base_rate_lower", "base_rate_upper", "additional_needed"]
    np.testing.assert_allclose(doubled[rest].to_numpy(float), plain[rest].to_numpy(float))


def test_a_lazy_dataset_applies_its_weights_as_in_memory(tmp_path):
    # the weight role flows through the one aggregate on every backend: DuckDB over a Parquet
    # file gives the in-memory weighted counts, shares, effective sizes and base rates
    frame = _weighted_table(seed=7)
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, index=False)
    lazy = representation(Dataset(path, target="y", sensitive=["s"], weight="w", lazy=True))
    memory = representation(Dataset(frame, target="y", sensitive=["s"], weight="w"))
    columns = ["count", "effective_n", "share", "base_rate", "base_rate_lower", "base_rate_upper"]
    assert lazy.groups["group"].tolist() == memory.groups["group"].tolist()
    np.testing.assert_allclose(
        lazy.groups[columns].to_numpy(float), memory.groups[columns].to_numpy(float), rtol=1e-12
    )
    assert lazy.overall_base_rate == pytest.approx(memory.overall_base_rate, rel=1e-12)
    assert not any("unweighted" in f.detail for f in lazy.findings)


def test_integer_weights_equal_repeated_rows_on_duckdb(tmp_path):
    frame = _weighted_table(seed=11)
    frame["w"] = np.random.default_rng(0).integers(0, 4, len(frame))
    weighted_path, repeated_path = tmp_path / "w.parquet", tmp_path / "r.parquet"
    frame.to_parquet(weighted_path, index=False)
    frame.loc[frame.index.repeat(frame["w"])].to_parquet(repeated_path, index=False)
    weighted = representation(
        Dataset(weighted_path, target="y", sensitive=["s", "r"], weight="w", lazy=True)
    ).groups
    repeated = representation(
        Dataset(repeated_path, target="y", sensitive=["s", "r"], lazy=True)
    ).groups
    assert weighted["attribute"].tolist() == repeated["attribute"].tolist()
    assert weighted["group"].tolist() == repeated["group"].tolist()
    assert (weighted["attribute"] == "s & r").sum() == 6
    columns = ["count", "share", "base_rate"]
    np.testing.assert_allclose(
        weighted[columns].to_numpy(float), repeated[columns].to_numpy(float), rtol=1e-12
    )
