"""Tests of raikit.datasets: bundled real data sets and the synthetic generator."""

from __future__ import annotations

import hashlib
import math
import socket
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from raikit._errors import FileFormatError, ParameterError
from raikit.datasets import (
    _loaders,
    dataset_info,
    list_datasets,
    load_adult,
    load_by_name,
    load_compas,
    load_german_credit,
    make_fairness_synthetic,
)

ADULT_COLUMNS = {
    "age": "int64",
    "workclass": "category",
    "fnlwgt": "int64",
    "education": "category",
    "education_num": "int64",
    "marital_status": "category",
    "occupation": "category",
    "relationship": "category",
    "race": "category",
    "sex": "category",
    "capital_gain": "int64",
    "capital_loss": "int64",
    "hours_per_week": "int64",
    "native_country": "category",
    "income": "int64",
    "split": "category",
}

COMPAS_COLUMNS = {
    "sex": "category",
    "age": "int64",
    "age_cat": "category",
    "race": "category",
    "juv_fel_count": "int64",
    "juv_misd_count": "int64",
    "juv_other_count": "int64",
    "priors_count": "int64",
    "c_charge_degree": "category",
    "decile_score": "int64",
    "score_text": "category",
    "two_year_recid": "int64",
}

GERMAN_COLUMNS = {
    "checking_account": "category",
    "duration_months": "int64",
    "credit_history": "category",
    "purpose": "category",
    "credit_amount": "int64",
    "savings": "category",
    "employment_since": "category",
    "installment_rate": "int64",
    "personal_status": "category",
    "other_debtors": "category",
    "residence_since": "int64",
    "property": "category",
    "age": "int64",
    "other_installment_plans": "category",
    "housing": "category",
    "existing_credits": "int64",
    "job": "category",
    "people_liable": "int64",
    "telephone": "bool",
    "foreign_worker": "bool",
    "sex": "category",
    "age_group": "category",
    "credit": "int64",
}

LOADERS = {
    "adult": (load_adult, ["sex", "race"], "income"),
    "compas": (load_compas, ["race", "sex"], "two_year_recid"),
    "german_credit": (load_german_credit, ["sex", "age_group"], "credit"),
}


def _dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {column: str(dtype) for column, dtype in frame.dtypes.items()}


# ---------------------------------------------------------------------------------- Adult


def test_adult_row_counts_and_split() -> None:
    frame = load_adult(as_frame=True)
    assert frame.shape == (48_842, 16)
    assert frame["split"].value_counts().to_dict() == {"train": 32_561, "test": 16_281}
    train = load_adult(as_frame=True, split="train")
    test = load_adult(as_frame=True, split="test")
    assert train.shape == (32_561, 16)
    assert test.shape == (16_281, 16)
    assert set(train["split"]) == {"train"} and set(test["split"]) == {"test"}
    assert test.index.equals(pd.RangeIndex(16_281))
    # The first records of the raw files, in file order.
    assert train.loc[0, ["age", "fnlwgt", "education"]].tolist() == [39, 77_516, "Bachelors"]
    assert test.loc[0, ["age", "fnlwgt", "education"]].tolist() == [25, 226_802, "11th"]
    # Both parts encode the same way: every category is kept in each part.
    for column in ("workclass", "native_country", "race"):
        assert train[column].cat.categories.equals(test[column].cat.categories)


def test_adult_base_rates() -> None:
    frame = load_adult(as_frame=True)
    assert int(frame["income"].sum()) == 11_687
    # UCI adult.names: "Probability for the label '>50K': 23.93%".
    assert frame["income"].mean() == pytest.approx(11_687 / 48_842)
    assert abs(frame["income"].mean() - 0.2393) < 1e-4
    by_split = frame.groupby("split", observed=True)["income"].sum().to_dict()
    assert by_split == {"train": 7_841, "test": 3_846}
    # 24.78% without the rows that have missing values (45,222 rows), also from adult.names.
    complete = frame.dropna()
    assert len(complete) == 45_222
    assert abs(complete["income"].mean() - 0.2478) < 1e-4
    by_sex = frame.groupby("sex", observed=True)["income"].mean()
    assert by_sex["Female"] == pytest.approx(0.109251, abs=1e-6)
    assert by_sex["Male"] == pytest.approx(0.303767, abs=1e-6)


def test_adult_columns_dtypes_and_missing_values() -> None:
    frame = load_adult(as_frame=True)
    assert _dtypes(frame) == ADULT_COLUMNS
    assert set(frame["income"].unique()) == {0, 1}
    missing = frame.isna().sum()
    assert missing[missing > 0].to_dict() == {
        "workclass": 2_799,
        "occupation": 2_809,
        "native_country": 857,
    }
    assert frame["sex"].cat.categories.tolist() == ["Female", "Male"]
    assert frame["race"].cat.categories.tolist() == [
        "Amer-Indian-Eskimo",
        "Asian-Pac-Islander",
        "Black",
        "Other",
        "White",
    ]
    # education categories follow education_num.
    assert frame["education"].cat.categories[[0, -1]].tolist() == ["Preschool", "Doctorate"]
    pairs = frame[["education", "education_num"]].drop_duplicates()
    assert len(pairs) == 16
    codes = pairs["education"].cat.codes.to_numpy()
    assert np.array_equal(codes + 1, pairs["education_num"].to_numpy())
    # Whitespace and the trailing '.' of the test labels are gone.
    assert not frame["native_country"].dropna().str.startswith(" ").any()


def test_adult_rejects_unknown_split() -> None:
    with pytest.raises(ValueError, match="split must be"):
        load_adult(split="validation")  # type: ignore[call-overload]


# ---------------------------------------------------------------------------------- COMPAS


def test_compas_rows_columns_and_base_rates() -> None:
    frame = load_compas(as_frame=True)
    assert frame.shape == (6_172, 12)
    assert _dtypes(frame) == COMPAS_COLUMNS
    assert not frame.isna().any().any()
    assert int(frame["two_year_recid"].sum()) == 2_809
    assert frame["two_year_recid"].mean() == pytest.approx(0.455120, abs=1e-6)
    # ProPublica: 52% of Black and 39% of white defendants reoffended within two years.
    by_race = frame.groupby("race", observed=True)["two_year_recid"].mean()
    assert by_race["African-American"] == pytest.approx(0.52315, abs=1e-5)
    assert by_race["Caucasian"] == pytest.approx(0.39087, abs=1e-5)
    assert frame["race"].value_counts().to_dict() == {
        "African-American": 3_175,
        "Caucasian": 2_103,
        "Hispanic": 509,
        "Other": 343,
        "Asian": 31,
        "Native American": 11,
    }
    assert frame["sex"].value_counts().to_dict() == {"Male": 4_997, "Female": 1_175}
    assert frame["score_text"].cat.categories.tolist() == ["Low", "Medium", "High"]
    assert frame["score_text"].value_counts().to_dict() == {
        "Low": 3_421,
        "Medium": 1_607,
        "High": 1_144,
    }
    assert set(frame["c_charge_degree"]) == {"F", "M"}  # 'O' charges were filtered out
    assert frame["decile_score"].between(1, 10).all()
    # score_text is the band of decile_score: Low 1-4, Medium 5-7, High 8-10.
    bands = pd.cut(frame["decile_score"], [0, 4, 7, 10], labels=["Low", "Medium", "High"])
    assert (bands.astype(str) == frame["score_text"].astype(str)).all()


def test_compas_two_year_population_is_the_whole_file() -> None:
    frame = load_compas(population="two_year", as_frame=True)
    assert frame.shape == (7_214, 13)
    assert _dtypes(frame) == {**COMPAS_COLUMNS, "days_b_screening_arrest": "Int64"}
    assert frame.isna().sum()[lambda n: n > 0].to_dict() == {"days_b_screening_arrest": 307}
    assert int(frame["two_year_recid"].sum()) == 3_251
    assert frame["two_year_recid"].mean() == pytest.approx(0.4507, abs=5e-5)
    by_race = frame.groupby("race", observed=True)["two_year_recid"].mean()
    assert by_race["African-American"] == pytest.approx(1_901 / 3_696)  # 0.5143
    assert by_race["Caucasian"] == pytest.approx(966 / 2_454)  # 0.3936
    assert frame["race"].value_counts().to_dict() == {
        "African-American": 3_696,
        "Caucasian": 2_454,
        "Hispanic": 637,
        "Other": 377,
        "Asian": 32,
        "Native American": 18,
    }
    # ProPublica: 'Low' 3,897, 'Medium' 1,914, 'High' 1,403 in compas-scores-two-years.csv.
    assert frame["score_text"].value_counts().to_dict() == {
        "Low": 3_897,
        "Medium": 1_914,
        "High": 1_403,
    }
    ds = load_compas(population="two_year")
    assert ds.name == "compas_two_year" and ds.n_rows == 7_214
    # The filter column and the COMPAS outputs are kept but are not features.
    assert ds.feature_names == load_compas().feature_names
    assert load_by_name("compas", population="two_year", as_frame=True).equals(frame)


def test_compas_default_population_is_propublicas_filter_of_the_whole_file() -> None:
    whole = load_compas(population="two_year", as_frame=True)
    days = whole["days_b_screening_arrest"]
    # ProPublica's dplyr filter; a missing days_b_screening_arrest fails it as NA does in R.
    keep = (days <= 30).fillna(False) & (days >= -30).fillna(False)
    keep &= (whole["c_charge_degree"] != "O") & (whole["score_text"] != "N/A")
    expected = whole.loc[keep, list(COMPAS_COLUMNS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(load_compas(as_frame=True), expected)
    assert load_compas(population="propublica_logistic", as_frame=True).equals(expected)
    info = dataset_info("compas")
    assert info["default_population"] == "propublica_logistic"
    populations = info["populations"]
    assert {k: v["n_rows"] for k, v in populations.items()} == {
        "propublica_logistic": 6_172,
        "two_year": 7_214,
    }
    steps = populations["propublica_logistic"]["filters"]
    assert [(f["condition"], f["n_rows"]) for f in steps] == [
        ("days_b_screening_arrest <= 30", 6_623),
        ("days_b_screening_arrest >= -30", 6_172),
        ("is_recid != -1", 6_172),
        ("c_charge_degree != 'O'", 6_172),
        ("score_text != 'N/A'", 6_172),
    ]
    assert int((days <= 30).fillna(False).sum()) == 6_623
    assert populations["two_year"]["filters"] == []
    for name, spec in populations.items():
        frame = load_compas(population=name, as_frame=True)
        assert frame.columns.tolist() == spec["columns"]
        assert frame["two_year_recid"].mean() == pytest.approx(spec["base_rate"], abs=1e-6)


def test_compas_two_year_reproduces_propublicas_published_error_rates() -> None:
    """ProPublica, "How We Analyzed the COMPAS Recidivism Algorithm" (2016): with a Medium or
    High score as the prediction of two-year recidivism, Black defendants: 805 false positives,
    990 true negatives, 532 false negatives and 1,369 true positives (FPR 44.85%, FNR 27.99%);
    white defendants: 349, 1,139, 461 and 505 (FPR 23.45%, FNR 47.72%); all 7,214 defendants:
    1,282, 2,681, 1,216 and 2,035 (FPR 32.35%, FNR 37.40%)."""
    from raikit.metrics import count_metric, group_metrics

    frame = load_compas(population="two_year", as_frame=True)
    cells = [
        count_metric(lambda tn, fp, fn, tp: tn, name="tn"),
        count_metric(lambda tn, fp, fn, tp: fp, name="fp"),
        count_metric(lambda tn, fp, fn, tp: fn, name="fn"),
        count_metric(lambda tn, fp, fn, tp: tp, name="tp"),
    ]
    result = group_metrics(
        frame["two_year_recid"],
        (frame["decile_score"] >= 5).astype("int64"),
        sensitive_features=frame["race"],
        metrics=[*cells, "false_positive_rate", "false_negative_rate"],
        pos_label=1,
    )
    race = result.by_group.loc["race"]
    counts = race[["tn", "fp", "fn", "tp"]].astype(int)
    assert counts.loc["African-American"].tolist() == [990, 805, 532, 1_369]
    assert counts.loc["Caucasian"].tolist() == [1_139, 349, 461, 505]
    assert result.overall[["tn", "fp", "fn", "tp"]].astype(int).tolist() == [
        2_681,
        1_282,
        1_216,
        2_035,
    ]
    rates = race[["false_positive_rate", "false_negative_rate"]].round(4)
    assert rates.loc["African-American"].tolist() == [0.4485, 0.2799]
    assert rates.loc["Caucasian"].tolist() == [0.2345, 0.4772]
    overall = result.overall[["false_positive_rate", "false_negative_rate"]].round(4)
    assert overall.tolist() == [0.3235, 0.3740]
    # The filtered default population does not give the published table.
    default = load_compas(as_frame=True)
    black = default[default["race"] == "African-American"]
    assert int(((black["decile_score"] >= 5) & (black["two_year_recid"] == 0)).sum()) != 805


@pytest.mark.parametrize("population", ["violent", "", "TWO_YEAR", ["two_year"], 1])
def test_compas_rejects_unknown_populations(population: object) -> None:
    with pytest.raises(ParameterError, match=r"population= one of .*propublica_logistic"):
        load_compas(population=population)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="two_year"):
        load_by_name("compas", population=population)


def test_compas_refuses_a_table_that_disagrees_with_its_filter_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tampered = dataset_info("compas")
    tampered["populations"]["propublica_logistic"]["filters"][1]["n_rows"] = 6_000
    real = _loaders._metadata
    monkeypatch.setattr(
        _loaders, "_metadata", lambda name: tampered if name == "compas" else real(name)
    )
    with pytest.raises(FileFormatError, match="days_b_screening_arrest >= -30 leaves 6172 rows"):
        load_compas()
    assert load_compas(population="two_year", as_frame=True).shape == (7_214, 13)


def test_datasets_list_command_shows_the_populations() -> None:
    import os
    import subprocess
    import sys

    # A fresh process: the CLI's console reads COLUMNS when it is created, at import.
    env = {**os.environ, "COLUMNS": "400"}
    out = subprocess.run(
        [sys.executable, "-m", "raikit.cli", "datasets", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert "propublica_logistic (default): 6,172 rows; two_year: 7,214 rows" in out.stdout


# ---------------------------------------------------------------------------------- German


def test_german_rows_columns_and_base_rates() -> None:
    frame = load_german_credit(as_frame=True)
    assert frame.shape == (1_000, 23)
    assert _dtypes(frame) == GERMAN_COLUMNS
    assert not frame.isna().any().any()
    assert int(frame["credit"].sum()) == 700
    assert frame["credit"].mean() == 0.7
    assert frame["sex"].value_counts().to_dict() == {"Male": 690, "Female": 310}
    assert frame["age_group"].value_counts().to_dict() == {"25+": 851, "<25": 149}
    assert ((frame["age"] >= 25) == (frame["age_group"] == "25+")).all()
    female = frame["personal_status"].astype(str).str.startswith("female")
    assert (female == (frame["sex"] == "Female")).all()
    # First record of german.data: A11 6 A34 A43 1169 ... A93 ... 67 ... A192 A201 1.
    first = frame.iloc[0]
    assert first["checking_account"] == "< 0 DM"
    assert first["duration_months"] == 6
    assert first["purpose"] == "radio/television"
    assert first["credit_amount"] == 1_169
    assert first["personal_status"] == "male: single"
    assert first["age"] == 67
    assert bool(first["telephone"]) and bool(first["foreign_worker"])
    assert first["credit"] == 1
    assert int(frame["foreign_worker"].sum()) == 963


# ---------------------------------------------------------------------------------- all


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_sensitive_columns_have_no_missing_values(name: str) -> None:
    loader, sensitive, target = LOADERS[name]
    frame = loader(as_frame=True)
    assert frame[sensitive].notna().all().all()
    assert frame[target].isin([0, 1]).all()
    assert dataset_info(name)["sensitive"] == sensitive


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_shipped_table_matches_its_metadata(name: str) -> None:
    info = dataset_info(name)
    data = resources.files("raikit.datasets").joinpath("data", info["data_file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == info["data_sha256"]
    assert data[4:8] == b"\x00\x00\x00\x00"  # gzip mtime=0: byte-reproducible
    assert info["licence"] and info["source_url"].startswith("https://")
    assert info["cleaning"] and all(isinstance(step, str) for step in info["cleaning"])
    assert info["positive_label"] == 1
    frame = LOADERS[name][0](as_frame=True)
    assert len(frame) == info["n_rows"]
    assert frame[info["target"]].mean() == pytest.approx(info["base_rate"], abs=1e-6)


def test_list_datasets() -> None:
    table = list_datasets()
    assert table.columns.tolist() == [
        "name",
        "title",
        "rows",
        "populations",
        "target",
        "sensitive",
        "licence",
        "source",
        "loader",
    ]
    assert table["name"].tolist() == ["adult", "compas", "german_credit"]
    assert table["rows"].tolist() == [48_842, 6_172, 1_000]
    assert table["populations"].tolist() == [
        "",
        "propublica_logistic (default): 6,172 rows; two_year: 7,214 rows",
        "",
    ]
    assert table["sensitive"].tolist() == ["sex, race", "race, sex", "sex, age_group"]
    assert table.loc[table["name"] == "adult", "licence"].item() == "CC BY 4.0"
    assert table.loc[table["name"] == "german_credit", "licence"].item() == "CC BY 4.0"


def test_dataset_info_returns_a_copy_and_rejects_unknown_names() -> None:
    info = dataset_info("compas")
    info["cleaning"].clear()
    assert dataset_info("compas")["cleaning"]
    assert dataset_info("compas")["n_rows_raw"] == {"compas-scores-two-years.csv": 7_214}
    with pytest.raises(ValueError, match="Unknown data set"):
        dataset_info("iris")
    with pytest.raises(ValueError, match="Unknown data set"):
        load_by_name("iris")


def test_load_dataset_dispatches_to_the_loader() -> None:
    frame = load_by_name("adult", as_frame=True, split="test")
    assert frame.equals(load_adult(as_frame=True, split="test"))
    assert load_by_name("german_credit", as_frame=True).shape == (1_000, 23)


def test_loading_performs_no_network_access(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("raikit.datasets tried to open a network connection")

    _loaders._metadata.cache_clear()  # read the metadata again under the patch
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert len(load_adult(as_frame=True)) == 48_842
    assert len(load_compas(as_frame=True)) == 6_172
    assert len(load_compas(population="two_year", as_frame=True)) == 7_214
    assert len(load_german_credit(as_frame=True)) == 1_000
    assert len(list_datasets()) == 3
    assert len(make_fairness_synthetic(100, random_state=0, as_frame=True)) == 100


# ---------------------------------------------------------------------------------- Dataset


def test_loaders_return_datasets() -> None:
    adult = load_adult()
    assert adult.n_rows == 48_842
    assert adult.target == "income" and adult.sensitive_names == ["sex", "race"]
    assert adult.name == "adult"
    assert "split" not in adult.feature_names
    assert set(adult.feature_names).isdisjoint({"income", "sex", "race"})
    assert list(adult.sensitive.columns) == ["sex", "race"]
    assert adult.y.mean() == pytest.approx(11_687 / 48_842)

    train = load_adult(split="train")
    assert train.n_rows == 32_561 and train.name == "adult_train"

    compas = load_compas()
    assert compas.n_rows == 6_172
    assert compas.feature_names == [
        "age",
        "age_cat",
        "juv_fel_count",
        "juv_misd_count",
        "juv_other_count",
        "priors_count",
        "c_charge_degree",
    ]
    assert "decile_score" in compas.frame.columns  # kept for auditing COMPAS itself

    german = load_german_credit()
    assert german.n_rows == 1_000
    assert german.sensitive_names == ["sex", "age_group"]
    assert german.X.shape == (1_000, 20)
    assert german.y.mean() == 0.7


# ---------------------------------------------------------------------------------- synthetic


def test_synthetic_is_deterministic_for_a_seed() -> None:
    first = make_fairness_synthetic(500, random_state=42, as_frame=True)
    second = make_fairness_synthetic(500, random_state=42, as_frame=True)
    pd.testing.assert_frame_equal(first, second)
    other = make_fairness_synthetic(500, random_state=43, as_frame=True)
    assert not first.equals(other)
    from_generator = make_fairness_synthetic(
        500, random_state=np.random.default_rng(42), as_frame=True
    )
    pd.testing.assert_frame_equal(first, from_generator)
    from_random_state = make_fairness_synthetic(
        500, random_state=np.random.RandomState(0), as_frame=True
    )
    again = make_fairness_synthetic(500, random_state=np.random.RandomState(0), as_frame=True)
    pd.testing.assert_frame_equal(from_random_state, again)


def test_synthetic_does_not_touch_the_global_seed() -> None:
    # This test uses the legacy global state on purpose: the generator must ignore it.
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    make_fairness_synthetic(200, random_state=1, as_frame=True)
    make_fairness_synthetic(200, as_frame=True)
    assert np.array_equal(np.random.get_state()[1], before)
    # Seeding the global state does not make unseeded calls repeat.
    np.random.seed(0)
    a = make_fairness_synthetic(200, as_frame=True)
    np.random.seed(0)
    b = make_fairness_synthetic(200, as_frame=True)
    assert not a.equals(b)


def test_synthetic_shape_and_dtypes() -> None:
    frame = make_fairness_synthetic(7, random_state=0, as_frame=True)
    assert frame.columns.tolist() == ["x1", "x2", "z", "y"]
    assert _dtypes(frame) == {"x1": "float64", "x2": "float64", "z": "int64", "y": "int64"}
    assert len(frame) == 7 and int(frame["y"].sum()) == 3
    assert set(frame["z"]).issubset({0, 1})
    default = make_fairness_synthetic(random_state=0, as_frame=True)
    assert len(default) == 2_000 and int(default["y"].sum()) == 1_000
    with pytest.raises(ValueError, match="at least 2"):
        make_fairness_synthetic(1)
    with pytest.raises(TypeError, match="random_state"):
        make_fairness_synthetic(10, random_state="seed")  # type: ignore[call-overload]


def test_synthetic_statistics_match_the_generative_model() -> None:
    frame = make_fairness_synthetic(20_000, random_state=0, as_frame=True)
    assert int(frame["y"].sum()) == 10_000
    x = frame[["x1", "x2"]].to_numpy()
    pos, neg = x[frame["y"].to_numpy() == 1], x[frame["y"].to_numpy() == 0]
    # Standard error of each mean is at most sqrt(10 / 10,000) ~ 0.032.
    np.testing.assert_allclose(pos.mean(axis=0), [2.0, 2.0], atol=0.12)
    np.testing.assert_allclose(neg.mean(axis=0), [-2.0, -2.0], atol=0.12)
    np.testing.assert_allclose(np.cov(pos.T), [[5.0, 1.0], [1.0, 5.0]], atol=0.4)
    np.testing.assert_allclose(np.cov(neg.T), [[10.0, 1.0], [1.0, 3.0]], atol=0.5)
    # z is tied to y through x: with disc_factor = pi/4, P(z=1 | y=1) ~ 0.639 and
    # P(z=1 | y=0) ~ 0.270 (Monte Carlo with 2,000,000 rows), so corr(z, y) ~ 0.37.
    # The standard error of each share is ~0.005 at 10,000 rows.
    z_rate = frame.groupby("y")["z"].mean()
    assert z_rate[1] == pytest.approx(0.639, abs=0.03)
    assert z_rate[0] == pytest.approx(0.270, abs=0.03)
    corr = np.corrcoef(frame["z"], frame["y"])[0, 1]
    assert 0.32 < corr < 0.42
    # A smaller rotation ties z to y more closely (Zafar et al. use pi/4 and pi/8).
    closer = make_fairness_synthetic(20_000, disc_factor=math.pi / 8, random_state=0, as_frame=True)
    assert np.corrcoef(closer["z"], closer["y"])[0, 1] > corr + 0.1


def test_synthetic_returns_a_dataset() -> None:
    ds = make_fairness_synthetic(300, random_state=3)
    assert ds.n_rows == 300
    assert ds.target == "y" and ds.sensitive_names == ["z"]
    assert ds.feature_names == ["x1", "x2"]
    pd.testing.assert_frame_equal(
        ds.frame, make_fairness_synthetic(300, random_state=3, as_frame=True)
    )
