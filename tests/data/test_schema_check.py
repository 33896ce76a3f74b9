"""infer_schema / validate: TFDV-style anomalies on real data, JSON round trip, bad schemas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import FileFormatError, ParameterError, Result
from raikit._schema import Schema
from raikit.data import ValidationResult, infer_schema, validate


@pytest.fixture(scope="module")
def compas():
    from raikit.datasets import load_compas

    return load_compas()


@pytest.fixture(scope="module")
def schema_file(compas, tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "compas.json"
    infer_schema(compas).to_json(path)
    return path


def anomalies(result) -> set[tuple[str, str, str]]:
    return set(map(tuple, result.anomalies[["column", "anomaly", "severity"]].values.tolist()))


def test_schema_round_trip_and_clean_data_validates(compas, schema_file):
    schema = Schema.from_json(str(schema_file))
    assert schema == infer_schema(compas)
    assert schema["age"].min == compas.frame["age"].min()
    assert schema.roles["sensitive"] == ["race", "sex"]
    result = validate(compas, schema_file)
    assert result.anomalies.empty and result.valid
    assert set(result.columns["status"]) == {"ok"}
    assert result.summary == "6,172 rows match the schema: no anomaly."


def test_schema_of_a_dataframe_has_no_roles(compas):
    schema = infer_schema(compas.frame)
    assert schema.roles == {} and schema["race"].kind == "categorical"


def test_new_category_and_out_of_range(compas, schema_file):
    new = compas.frame.copy()
    new["race"] = new["race"].astype(object)
    new.loc[:4, "race"] = "Martian"  # 5 rows: below the 1 % value tolerance -> warning
    new.loc[:199, "age"] = 150  # 200 rows (3.2 %): above it -> error
    result = validate(new, schema_file)
    assert anomalies(result) == {
        ("race", "new_category", "warning"),
        ("age", "out_of_range", "error"),
    }
    rows = result.anomalies.set_index("column")
    assert rows.loc["race", "count"] == 5 and rows.loc["race", "examples"] == "Martian"
    assert rows.loc["age", "count"] == 200
    np.testing.assert_allclose(rows.loc["age", "share"], 200 / len(new))
    assert rows.loc["age", "expected"] == "[18, 96]"
    assert not result.valid
    status = result.columns.set_index("column")["status"]
    assert status["age"] == "error" and status["race"] == "warning" and status["sex"] == "ok"


def test_missing_unknown_and_type_change(compas, schema_file):
    new = compas.frame.drop(columns=["sex", "juv_fel_count"]).copy()
    new["score"] = 1.0
    new["priors_count"] = "many"
    result = validate(new, schema_file)
    assert anomalies(result) == {
        ("sex", "missing_column", "error"),  # a sensitive attribute
        ("juv_fel_count", "missing_column", "error"),  # a feature
        ("score", "unknown_column", "warning"),
        ("priors_count", "type_change", "error"),
    }


def test_missing_values(compas, schema_file):
    new = compas.frame.copy()
    new["age"] = new["age"].astype(float)
    new.loc[:9, "age"] = np.nan  # the schema saw no missing age: unexpected
    result = validate(new, schema_file)
    assert ("age", "unexpected_missing", "warning") in anomalies(result)
    new.loc[:999, "age"] = np.nan
    assert ("age", "unexpected_missing", "error") in anomalies(validate(new, schema_file))


def test_missing_rate_increase_on_adult():
    from raikit.datasets import load_adult

    train, test = load_adult(split="train"), load_adult(split="test")
    schema = infer_schema(train)
    frame = test.frame.copy()
    frame.loc[frame.index[:3000], "workclass"] = np.nan  # 5.6 % -> ~24 % missing
    result = validate(frame, schema)
    rows = result.anomalies.set_index(["column", "anomaly"])
    assert rows.loc[("workclass", "missing_rate_increase"), "severity"] == "warning"
    assert ("occupation", "missing_rate_increase") not in rows.index  # unchanged rate


def test_boolean_target_with_a_third_value(compas, schema_file):
    new = compas.frame.copy()
    new.loc[0, "two_year_recid"] = 2
    assert ("two_year_recid", "new_category", "warning") in anomalies(validate(new, schema_file))


def test_round_trip_html_and_bad_schema_files(compas, schema_file, tmp_path):
    new = compas.frame.copy()
    new.loc[:3, "age"] = 500
    result = validate(new, schema_file)
    back = Result.from_json(result.to_json())
    assert isinstance(back, ValidationResult)
    pd.testing.assert_frame_equal(back.anomalies, result.anomalies)
    assert "Anomalies per column" in result.to_html() and len(result.figures()) == 1
    with pytest.raises(FileFormatError, match="not found"):
        validate(new, tmp_path / "absent.json")
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"columns": [{"name": 1}]', encoding="utf-8")
    with pytest.raises(FileFormatError, match="Cannot read the schema"):
        validate(new, corrupt)


def test_bad_parameters_and_inputs(compas, schema_file):
    with pytest.raises(
        ParameterError, match=r"validate\(\): missing_tolerance must be a number in \[0, 1\]"
    ):
        validate(compas, schema_file, missing_tolerance=2)
    with pytest.raises(ParameterError, match=r"validate\(\): value_tolerance must be"):
        validate(compas, schema_file, value_tolerance=-0.1)
    with pytest.raises(
        ParameterError, match=r"validate\(\): data must be a raikit Dataset or a DataFrame"
    ):
        validate([1, 2], schema_file)
    with pytest.raises(ParameterError, match=r"infer_schema\(\): data must be"):
        infer_schema("compas.csv")


def test_value_tolerance_sets_the_severity(compas, schema_file):
    new = compas.frame.copy()
    new.loc[:99, "age"] = 500  # 100 of 6,172 rows: 1.6 %
    strict = validate(new, schema_file, value_tolerance=0.01).anomalies.set_index("column")
    loose = validate(new, schema_file, value_tolerance=0.02).anomalies.set_index("column")
    assert strict.loc["age", "severity"] == "error" and loose.loc["age", "severity"] == "warning"
    assert strict.loc["age", "count"] == 100
    assert strict.loc["age", "share"] == pytest.approx(100 / compas.n_rows)
