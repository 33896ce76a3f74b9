"""counterfactuals(): validity, immutability, ranges, sparsity and proximity, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import Result
from raikit._errors import ColumnError, DataError
from raikit.explain import CounterfactualResult, counterfactuals


@pytest.fixture(scope="module")
def adult_cf(adult_sex):
    train, test, model = adult_sex
    rows = test.X.iloc[:60]
    result = counterfactuals(
        model,
        rows,
        data=train,
        immutable=["sex", "age", "native_country"],
        ranges={"hours_per_week": (20, 60)},
        n=5,
    )
    return train, rows, model, result


def test_every_counterfactual_is_valid_and_respects_constraints(adult_cf):
    train, rows, model, r = adult_cf
    cfs = r.counterfactuals
    assert len(cfs) > 0 and r.metrics["validity"] > 0.5
    features = list(train.X.columns)
    X_cf = cfs[features].astype(train.X.dtypes.to_dict())
    pred = model.predict(X_cf)
    original = model.predict(rows)
    by_row = pd.Series(original, index=rows.index)
    np.testing.assert_array_equal(pred, 1 - by_row.loc[cfs["row"]].to_numpy())
    np.testing.assert_array_equal(pred, cfs["prediction"])
    query = rows.loc[cfs["row"]].reset_index(drop=True)
    for column in ("sex", "age", "native_country"):
        same = (query[column].astype(object) == X_cf[column].astype(object)) | (
            query[column].isna() & X_cf[column].isna()
        )
        assert same.all(), column
    moved = query["hours_per_week"] != X_cf["hours_per_week"]
    assert X_cf.loc[moved, "hours_per_week"].between(20, 60).all()


def test_sparsity_and_proximity_by_hand(adult_cf):
    train, rows, _model, r = adult_cf
    features = list(train.X.columns)
    cfs = r.counterfactuals
    query = rows.loc[cfs["row"]].reset_index(drop=True)
    differ = pd.DataFrame(
        {
            c: ~(
                (query[c].astype(object) == cfs[c].astype(object))
                | (query[c].isna() & cfs[c].isna())
            )
            for c in features
        }
    )
    np.testing.assert_array_equal(differ.sum(axis=1), cfs["n_changed"])
    np.testing.assert_allclose(cfs["sparsity"], 1 - cfs["n_changed"] / len(features), rtol=1e-12)
    # distance: |change| / MAD (std when MAD is 0) for numeric, 0/1 for categorical, averaged
    X = train.X
    parts = []
    for c in features:
        if isinstance(X[c].dtype, pd.CategoricalDtype):
            parts.append(differ[c].astype(float))
        else:
            x = X[c].to_numpy(dtype=float)
            mad = np.median(np.abs(x - np.median(x)))
            scale = mad if mad > 0 else x.std()
            parts.append((query[c].astype(float) - cfs[c].astype(float)).abs() / scale)
    np.testing.assert_allclose(cfs["distance"], np.mean(parts, axis=0), rtol=1e-9)
    # changes table lists exactly the changed cells
    assert len(r.changes) == int(cfs["n_changed"].sum())


def test_counterfactuals_are_one_minimal(adult_cf):
    """Reverting any single change of a counterfactual loses the desired outcome."""
    train, rows, model, r = adult_cf
    cfs = r.counterfactuals.head(80)
    features = list(train.X.columns)
    dtypes = train.X.dtypes.to_dict()
    for change in r.changes.merge(cfs[["row", "cf"]]).itertuples(index=False):
        cf = cfs[(cfs["row"] == change.row) & (cfs["cf"] == change.cf)][features]
        cf = cf.astype(dtypes).reset_index(drop=True)
        cf[change.feature] = rows.loc[[change.row], change.feature].to_numpy()
        cf = cf.astype(dtypes)
        assert model.predict(cf)[0] == model.predict(rows.loc[[change.row]])[0]


def test_serialisation_and_figures(adult_cf):
    *_, r = adult_cf
    back = Result.from_json(r.to_json())
    assert isinstance(back, CounterfactualResult)
    pd.testing.assert_frame_equal(back.changes, r.changes)
    figures = r.figures()
    assert figures and figures[0].data[0].type == "table"
    assert "#ffe08a" in str(figures[0].data[0].cells.fill.color)


def test_errors(german, german_logistic):
    row = german.X.iloc[[0]]
    with pytest.raises(DataError, match="not a class"):
        counterfactuals(german_logistic, row, data=german, desired=7)
    with pytest.raises(ColumnError, match="not model inputs"):
        counterfactuals(german_logistic, row, data=german, immutable=["height"])
    with pytest.raises(ColumnError, match="lacks the model input"):
        counterfactuals(german_logistic, row.drop(columns="age"), data=german)
    with pytest.raises(DataError, match="n must be"):
        counterfactuals(german_logistic, row, data=german, n=0)
    with pytest.raises(DataError, match="ranges"):
        counterfactuals(german_logistic, row, data=german, ranges={"age": "old"})
