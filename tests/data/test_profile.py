"""profile: statistics against pandas/numpy, associations against scipy, proxies against sklearn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from raikit import ColumnError, Dataset, ParameterError, Result
from raikit.data import ProfileResult, profile
from raikit.data._profile import _grouped_auc, _pairwise_corr

NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


@pytest.mark.parametrize("column", NUMERIC)
def test_overall_statistics_match_pandas(adult, adult_profile, column):
    row = adult_profile.columns.loc[column]
    series = adult.frame[column]
    assert row["count"] == series.count() and row["missing"] == 0
    assert row["distinct"] == series.nunique()
    np.testing.assert_allclose(row["mean"], series.mean(), rtol=1e-12)
    np.testing.assert_allclose(row["std"], series.std(), rtol=1e-9)
    expected = np.quantile(series, [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1])
    got = row[["min", "p05", "p25", "median", "p75", "p95", "max"]].to_numpy(dtype=float)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("attribute", ["sex", "race"])
def test_per_group_statistics_match_groupby(adult, adult_profile, attribute):
    grouped = adult.frame.groupby(attribute, observed=True)["hours_per_week"]
    table = adult_profile.by_group("hours_per_week").loc[attribute]
    np.testing.assert_allclose(table["mean"], grouped.mean().loc[table.index], rtol=1e-12)
    np.testing.assert_allclose(table["std"], grouped.std().loc[table.index], rtol=1e-9)
    np.testing.assert_allclose(table["p25"], grouped.quantile(0.25).loc[table.index], rtol=1e-12)
    np.testing.assert_allclose(table["p95"], grouped.quantile(0.95).loc[table.index], rtol=1e-12)
    assert table["distinct"].tolist() == grouped.nunique().loc[table.index].tolist()


def test_intersection_statistics_and_missing_counts(adult, adult_profile):
    frame = adult.frame
    table = adult_profile.by_group("workclass").loc["sex & race"]
    missing = frame["workclass"].isna().groupby([frame["sex"], frame["race"]], observed=True).sum()
    for (sex, race), value in missing.items():
        assert table.loc[f"{sex} & {race}", "missing"] == value
    age = adult_profile.by_group("age").loc["sex & race"]
    expected = frame.groupby(["sex", "race"], observed=True)["age"].median()
    for (sex, race), value in expected.items():
        assert age.loc[f"{sex} & {race}", "median"] == value


def test_missing_values_in_numeric_columns_are_excluded():
    rng = np.random.default_rng(0)
    x = rng.normal(size=500)
    x[rng.random(500) < 0.2] = np.nan
    frame = pd.DataFrame({"x": x, "s": rng.choice(["a", "b"], 500), "y": rng.integers(0, 2, 500)})
    result = profile(Dataset(frame, target="y", sensitive="s"), proxies=False)
    by = result.by_group("x").loc["s"]
    expected = frame.groupby("s")["x"]
    assert by["missing"].tolist() == frame["x"].isna().groupby(frame["s"]).sum().tolist()
    np.testing.assert_allclose(by["median"], expected.median(), rtol=1e-12)
    np.testing.assert_allclose(by["std"], expected.std(), rtol=1e-9)


def test_histograms_match_numpy(adult, adult_profile):
    hist = adult_profile.histograms
    part = hist[(hist["column"] == "age") & (hist["attribute"] == "overall")]
    edges = np.append(part["left"].to_numpy(), part["right"].iloc[-1])
    counts, _ = np.histogram(adult.frame["age"], bins=edges)
    assert part["count"].tolist() == counts.tolist()
    per_group = hist[(hist["column"] == "age") & (hist["attribute"] == "race")]
    sums = per_group.groupby("group")["count"].sum()
    assert sums.to_dict() == adult.frame["race"].value_counts().astype(int).to_dict()
    np.testing.assert_allclose(per_group.groupby("group")["share"].sum(), 1.0, rtol=1e-12)


def test_top_categories_match_value_counts(adult, adult_profile):
    cats = adult_profile.categories
    part = cats[(cats["column"] == "occupation") & (cats["attribute"] == "sex")]
    female = part[part["group"] == "Female"].set_index("category")["count"]
    counts = adult.frame.loc[adult.frame["sex"] == "Female", "occupation"].value_counts()
    for category, value in female.drop(["(other)", "(missing)"], errors="ignore").items():
        assert value == counts[category]
    n_missing = adult.frame.loc[adult.frame["sex"] == "Female", "occupation"].isna().sum()
    assert female["(missing)"] == n_missing
    assert female.sum() == (adult.frame["sex"] == "Female").sum()


def test_associations_match_scipy(adult, adult_profile):
    assoc = adult_profile.associations.set_index(["left", "right", "method"])["value"]
    frame = adult.frame
    pearson = stats.pearsonr(frame["age"], frame["hours_per_week"]).statistic
    spearman = stats.spearmanr(frame["age"], frame["hours_per_week"]).statistic
    np.testing.assert_allclose(assoc[("age", "hours_per_week", "pearson")], pearson, rtol=1e-9)
    np.testing.assert_allclose(assoc[("age", "hours_per_week", "spearman")], spearman, rtol=1e-9)
    table = pd.crosstab(frame["education"], frame["relationship"]).to_numpy()
    cramer = stats.contingency.association(table, method="cramer")
    np.testing.assert_allclose(assoc[("education", "relationship", "cramers_v")], cramer, rtol=1e-9)
    # correlation ratio: sqrt of between-group over total sum of squares
    age = frame["age"]
    means = frame.groupby("marital_status", observed=True)["age"].transform("mean")
    eta = np.sqrt(((means - age.mean()) ** 2).sum() / ((age - age.mean()) ** 2).sum())
    np.testing.assert_allclose(
        assoc[("age", "marital_status", "correlation_ratio")], eta, rtol=1e-9
    )
    # the binary target is paired with numeric features by Pearson (point-biserial)
    pb = stats.pearsonr(frame["education_num"], frame["income"]).statistic
    np.testing.assert_allclose(assoc[("education_num", "income", "pearson")], pb, rtol=1e-9)


def test_pairwise_complete_correlation_matches_pandas():
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(300, 4))
    matrix[:, 1] += matrix[:, 0]
    matrix[rng.random((300, 4)) < 0.15] = np.nan
    corr, counts = _pairwise_corr(matrix)
    expected = pd.DataFrame(matrix).corr().to_numpy()
    np.testing.assert_allclose(corr, expected, rtol=1e-9, atol=1e-12)
    assert counts[0, 1] == (~np.isnan(matrix[:, 0]) & ~np.isnan(matrix[:, 1])).sum()


def test_grouped_auc_equals_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    score = rng.integers(0, 6, 40) / 5  # ties on purpose
    pos = rng.integers(0, 20, 40).astype(float)
    neg = rng.integers(0, 20, 40).astype(float)
    y = np.concatenate([np.ones(int(pos.sum())), np.zeros(int(neg.sum()))])
    s = np.concatenate([np.repeat(score, pos.astype(int)), np.repeat(score, neg.astype(int))])
    np.testing.assert_allclose(_grouped_auc(score, pos, neg), roc_auc_score(y, s), rtol=1e-12)


def test_proxies_on_adult(adult, adult_profile):
    from sklearn.metrics import mutual_info_score

    proxies = adult_profile.proxies.set_index(["attribute", "feature"])
    frame = adult.frame
    mi = mutual_info_score(frame["relationship"].cat.codes, frame["sex"].cat.codes)
    np.testing.assert_allclose(
        proxies.loc[("sex", "relationship"), "mutual_information"], mi, rtol=1e-9
    )
    # Husband/Wife reveal sex: a strong proxy, reported as a finding
    assert proxies.loc[("sex", "relationship"), "auc"] > 0.8
    assert proxies.loc[("sex", "fnlwgt"), "auc"] < 0.6
    assert (
        proxies.loc[("sex", "(all features)"), "auc"] > proxies.loc[("sex", "relationship"), "auc"]
    )
    titles = [f.title for f in adult_profile.findings]
    assert "relationship is a strong proxy for sex" in titles
    assert "fnlwgt is a strong proxy for sex" not in titles


def test_proxy_auc_of_planted_and_independent_features():
    rng = np.random.default_rng(3)
    n = 4000
    s = rng.choice(["a", "b"], n)
    frame = pd.DataFrame(
        {
            "leak": (s == "b") * 2.0 + rng.normal(scale=0.3, size=n),
            "noise": rng.normal(size=n),
            "s": s,
            "y": rng.integers(0, 2, n),
        }
    )
    result = profile(Dataset(frame, target="y", sensitive="s"), proxy_sample=2000)
    proxies = result.proxies.set_index("feature")["auc"]
    assert proxies["leak"] > 0.99
    assert abs(proxies["noise"] - 0.5) < 0.04  # cross-fitted: no optimism from 20 bins
    assert any(f.title == "leak is a strong proxy for s" for f in result.findings)


def test_missingness_and_constant_findings(adult_profile):
    titles = [f.title for f in adult_profile.findings]
    assert any(t.startswith("Missingness of native_country differs by") for t in titles)
    frame = pd.DataFrame({"c": [1] * 50, "x": range(50), "s": ["a", "b"] * 25, "y": [0, 1] * 25})
    result = profile(Dataset(frame, target="y", sensitive="s"), proxies=False)
    assert "c is constant" in [f.title for f in result.findings]


def test_round_trip_html_and_figures(adult_profile, tmp_path):
    back = Result.from_json(adult_profile.to_json())
    assert isinstance(back, ProfileResult)
    pd.testing.assert_frame_equal(back.stats, adult_profile.stats)
    pd.testing.assert_frame_equal(back.proxies, adult_profile.proxies)
    assert back.summary == adult_profile.summary
    page = adult_profile.to_html(tmp_path / "p.html", title="Adult profile")
    assert "Adult profile" in page and "relationship is a strong proxy" in page
    figures = adult_profile.figures()
    assert len(figures) >= 4
    # aggregates only: no trace has one mark per row
    assert max(len(t.x) for f in figures for t in f.data if t.x is not None) < 100


def test_bad_input():
    frame = pd.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"], "y": [0, 1]})
    ds = Dataset(frame, target="y", sensitive="s")
    with pytest.raises(ParameterError, match=r"profile\(\): data must be a raikit Dataset"):
        profile(frame)
    with pytest.raises(ParameterError, match=r"profile\(\): bins must be an integer >= 1; got 0"):
        profile(ds, bins=0)
    with pytest.raises(ParameterError, match=r"profile\(\): proxy_auc must be"):
        profile(ds, proxy_auc=1.5)
    with pytest.raises(ParameterError, match=r"profile\(\): random_state must be"):
        profile(ds, random_state=-1)
    with pytest.raises(ColumnError, match="Unknown profile column 'z'"):
        profile(ds, columns=["z"])
    with pytest.raises(ColumnError, match="Unknown column"):
        profile(ds, proxies=False).by_group("nope")


def test_track_records_one_row_with_every_parameter(tmp_path):
    import json

    import raikit
    from raikit.ledger import Ledger

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=300), "s": rng.choice(["a", "b"], 300)})
    frame["y"] = (frame["x"] > 0).astype(int)
    ds = Dataset(frame, target="y", sensitive="s")
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("profile once", ledger=ledger) as run:
        result = profile(ds, bins=7, proxy_sample=100)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["data.profile"]
    params = json.loads(evidence["params"].iloc[0])
    assert set(params) == {
        "bins",
        "top_k",
        "columns",
        "proxies",
        "proxy_auc",
        "proxy_sample",
        "association_sample",
        "random_state",
    }  # every parameter but the data (linked as the dataset) and the ledger
    assert params["bins"] == 7 and params["proxy_sample"] == 100 and params["top_k"] == 10
    # random_state=None became a fresh seed; replaying it gives the same proxies
    seed = params["random_state"]
    assert isinstance(seed, int)
    again = profile(ds, bins=7, proxy_sample=100, random_state=seed)
    pd.testing.assert_frame_equal(result.proxies, again.proxies)
    assert evidence["dataset_id"].notna().all()


# --------------------------------------------------------------------------- one path
def _mixed_frame(n=3_000, seed=7):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "race": rng.choice(list("ABCDE"), n),
            "x": rng.normal(size=n),  # all distinct: several values per histogram bin
            "k": rng.integers(0, 9, n),
            "c": rng.choice(["u", "v", "w"], n),
            "y": rng.integers(0, 2, n),
        }
    )


def test_profile_never_asks_whether_the_dataset_is_lazy(tmp_path, monkeypatch):
    """One path: the same code runs on a pandas table and on Parquet files (DuckDB)."""
    frame = _mixed_frame()
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    memory = Dataset(frame, target="y", sensitive=["sex", "race"])
    lazy = Dataset(str(tmp_path / "t.parquet"), target="y", sensitive=["sex", "race"], lazy=True)

    def refuse(self):
        raise AssertionError("profile asked Dataset.is_lazy")

    monkeypatch.setattr(Dataset, "is_lazy", property(refuse))
    a = profile(memory, proxies=False, association_sample=0)
    b = profile(lazy, proxies=False, association_sample=0)
    exact = ["rows", "count", "missing", "distinct", "mean", "std", "min", "max"]
    np.testing.assert_allclose(b.stats[exact], a.stats[exact], rtol=1e-10)
    np.testing.assert_allclose(
        b.stats["median"], a.stats["median"], atol=b.meta["quantile_error"]["x"]
    )
    pd.testing.assert_frame_equal(a.histograms, b.histograms)
    pd.testing.assert_frame_equal(a.categories, b.categories)
    assert a.meta["quantile_error"] == {"x": 0.0, "k": 0.0, "y": 0.0}
    assert b.meta["quantile_error"]["x"] > 0 and b.meta["quantiles"] == "histogram"


def test_in_memory_distinct_counts_per_group_are_exact_for_many_valued_columns():
    frame = _mixed_frame()
    result = profile(Dataset(frame, target="y", sensitive=["sex", "race"]), proxies=False)
    by = result.by_group("x")["distinct"]
    want = frame.groupby(["sex", "race"])["x"].nunique()
    for (sex, race), value in want.items():
        assert by.loc[("sex & race", f"{sex} & {race}")] == value


def test_lazy_profile_counts_distinct_values_where_affordable(tmp_path, monkeypatch):
    """Per-group distinct counts of a many-valued column on files are counted only for families
    whose (distinct x groups) is affordable; the others are NaN (the old SQL asked GROUPING() of
    a column missing from the chosen sets and failed)."""
    import raikit.data._profile as profile_module

    frame = _mixed_frame()
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    lazy = Dataset(str(tmp_path / "t.parquet"), target="y", sensitive=["sex", "race"], lazy=True)
    monkeypatch.setattr(profile_module, "_DISTINCT_CELLS", 2 * 3_000)  # sex only: 2 groups
    by = profile(lazy, proxies=False, association_sample=0, columns=["x"]).by_group("x")
    assert by.loc[("sex", "F"), "distinct"] == (frame["sex"] == "F").sum()
    assert by.loc["race", "distinct"].isna().all()
    assert by.loc["sex & race", "distinct"].isna().all()


@pytest.mark.parametrize("where", ["memory", "duckdb"])
def test_columns_named_like_aggregate_outputs_profile_like_ordinary_names(tmp_path, where):
    """Sensitive attributes named ``n`` and ``bin`` and a feature named ``rows`` (names of the
    Dataset's histogram outputs) give the numbers of the same data under ordinary names."""
    frame = _mixed_frame(n=1_500, seed=3)
    plain = profile(
        Dataset(frame, target="y", sensitive=["sex", "race"]),
        proxies=False,
        association_sample=0,
    )
    hostile = frame.rename(columns={"sex": "n", "race": "bin", "x": "rows", "c": "grouping_set"})
    if where == "memory":
        ds = Dataset(hostile, target="y", sensitive=["n", "bin"])
    else:
        hostile.to_parquet(tmp_path / "h.parquet", index=False)
        ds = Dataset(str(tmp_path / "h.parquet"), target="y", sensitive=["n", "bin"], lazy=True)
    got = profile(ds, proxies=False, association_sample=0)
    renamed = {"n": "sex", "bin": "race", "rows": "x", "grouping_set": "c"}
    exact = ["rows", "count", "missing", "distinct", "mean", "std", "min", "max"]
    stats = got.stats.assign(
        column=got.stats["column"].replace(renamed),
        attribute=got.stats["attribute"].replace(
            {"n": "sex", "bin": "race", "n & bin": "sex & race"}
        ),
    )
    key = ["column", "attribute", "group"]
    a = plain.stats.set_index(key).sort_index()
    b = stats.set_index(key).sort_index()
    assert a.index.equals(b.index)
    np.testing.assert_allclose(b[exact], a[exact], rtol=1e-10)
    bound = max(got.meta["quantile_error"].values())
    np.testing.assert_allclose(b["median"], a["median"], atol=bound)
    if where == "memory":
        np.testing.assert_array_equal(b["median"], a["median"])
    assert got.histograms["count"].tolist() == plain.histograms["count"].tolist()
    assert got.categories["count"].tolist() == plain.categories["count"].tolist()


def test_weights_by_hand():
    # x = 1, 2, 3, 4 with weights 1, 1, 1, 5 stands for 1, 2, 3, 4, 4, 4, 4, 4
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "s": ["a", "a", "b", "b"], "w": [1, 1, 1, 5]})
    frame.loc[1, "x"] = np.nan  # one missing value, of weight 1
    weighted = profile(Dataset(frame, target=None, sensitive="s", weight="w"), proxies=False)
    x = weighted.columns.loc["x"]
    assert (x["rows"], x["weight"], x["count"], x["missing"]) == (4, 8.0, 7.0, 1.0)
    assert x["missing_rate"] == pytest.approx(1 / 8)
    repeated = np.array([1.0, 3, 4, 4, 4, 4, 4])
    assert x["mean"] == pytest.approx(repeated.mean())  # 24 / 7
    assert x["std"] == pytest.approx(repeated.std(ddof=1))
    assert x["median"] == 4.0 and x["p25"] == pytest.approx(np.quantile(repeated, 0.25))
    b = weighted.by_group("x").loc[("s", "b")]
    assert (b["rows"], b["weight"], b["mean"]) == (2, 6.0, pytest.approx(23 / 6))
    assert weighted.meta["weight"] == "w" and weighted.roles["w"] == "weight"
    missing = [f for f in weighted.findings if f.title == "x has missing values"]
    assert "1.0 of 8.0 (weighted rows) (12.50%)" in missing[0].detail


def _repeated(frame, weight):
    out = frame.loc[frame.index.repeat(frame[weight].astype(int))].drop(columns=weight)
    return out.reset_index(drop=True)


def test_integer_weights_profile_the_rows_repeated(adult):
    """Frequency weights: every weighted statistic, histogram, category share, association
    and proxy mutual information equals that of the table with each row repeated."""
    rng = np.random.default_rng(5)
    frame = adult.frame.sample(3_000, random_state=1).reset_index(drop=True)
    frame["w"] = rng.integers(1, 4, len(frame)).astype(float)
    roles = {"target": adult.target, "sensitive": list(adult.sensitive_names)}
    got = profile(Dataset(frame, **roles, weight="w"), proxy_sample=0, random_state=0)
    want = profile(Dataset(_repeated(frame, "w"), **roles), proxy_sample=0, random_state=0)
    keys = ["attribute", "group", "column"]
    columns = [
        "count",
        "missing",
        "missing_rate",
        "distinct",
        "mean",
        "std",
        "min",
        "p05",
        "median",
        "p95",
        "max",
    ]
    a = got.stats[got.stats["column"] != "w"].set_index(keys)[columns]
    b = want.stats.set_index(keys)[columns]
    pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)
    for table in ("histograms", "categories"):
        mine = getattr(got, table)
        mine = mine[mine["column"] != "w"].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, getattr(want, table), check_dtype=False, rtol=1e-9)
    pd.testing.assert_series_equal(got.associations["value"], want.associations["value"], rtol=1e-9)
    mi = ["attribute", "feature", "mutual_information"]
    pd.testing.assert_frame_equal(got.proxies[mi], want.proxies[mi], rtol=1e-9)


def test_weighted_profile_on_duckdb_matches_memory(tmp_path):
    rng = np.random.default_rng(2)
    n = 2_000
    frame = pd.DataFrame(
        {
            "x": rng.gamma(2.0, 10.0, n),
            "c": rng.choice(["u", "v", "w"], n),
            "s": rng.choice(["a", "b"], n),
            "w": rng.uniform(0.1, 5, n),
        }
    )
    frame.loc[rng.random(n) < 0.1, "x"] = np.nan
    frame.to_parquet(tmp_path / "f.parquet")
    roles = {"target": None, "sensitive": "s", "weight": "w"}
    eager = profile(Dataset(frame, **roles), proxies=False, association_sample=0)
    lazy = profile(
        Dataset(str(tmp_path / "f.parquet"), lazy=True, **roles),
        proxies=False,
        association_sample=0,
    )
    keys = ["attribute", "group", "column"]
    a, b = eager.stats.set_index(keys), lazy.stats.set_index(keys)
    exact = ["rows", "weight", "count", "missing", "mean", "std"]
    np.testing.assert_allclose(b[exact], a[exact], rtol=1e-9)
    bound = lazy.meta["quantile_error"]["x"]
    x = (slice(None), slice(None), "x")
    diff = (b.loc[x, ["p05", "median", "p95"]] - a.loc[x, ["p05", "median", "p95"]]).abs()
    assert (diff.to_numpy() <= bound + 1e-9).all() and bound > 0
    np.testing.assert_allclose(lazy.categories["count"], eager.categories["count"], rtol=1e-9)
    np.testing.assert_allclose(lazy.histograms["count"], eager.histograms["count"], rtol=1e-9)
    # the weighted mean moves with the weights: not the stored rows' mean
    present = frame.dropna(subset=["x"])
    assert a.loc[("overall", "overall", "x"), "mean"] == pytest.approx(
        np.average(present["x"], weights=present["w"])
    )
