"""counterfactuals(): validity, immutability, ranges, sparsity and proximity, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import Result
from raikit._errors import ColumnError, DataError, ParameterError
from raikit.explain import CounterfactualResult, counterfactuals


@pytest.fixture(scope="module")
def adult_cf(adult_sex):
    train, test, model = adult_sex
    rows = test.X.iloc[:60]
    result = counterfactuals(
        model,
        train,
        rows=rows,
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
    """Without the plausibility check, reverting any single change loses the desired outcome.

    (With it, a change may also stay because reverting it alone makes an implausible row.)
    """
    train, rows, model, _ = adult_cf
    r = counterfactuals(
        model,
        train,
        rows=rows.iloc[:25],
        immutable=["sex", "age", "native_country"],
        ranges={"hours_per_week": (20, 60)},
        n=5,
        min_support=None,
    )
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
    # A grid of cells drawn with the scatter trace (the basic plotly.js bundle has no table):
    # one cell per row and column, the changed ones highlighted.
    grid = figures[0].data[0]
    assert grid.type == "scatter" and grid.marker.symbol == "square"
    assert len(grid.x) == len(grid.text) == len(set(grid.x)) * len(set(grid.y))
    assert "original" in grid.y and "#ffe08a" in grid.marker.color


def test_errors(german, german_logistic):
    row = german.X.iloc[[0]]
    with pytest.raises(ParameterError, match=r"counterfactuals\(\): desired=7 is not a class"):
        counterfactuals(german_logistic, german, rows=row, desired=7)
    with pytest.raises(ColumnError, match="not model inputs"):
        counterfactuals(german_logistic, german, rows=row, immutable=["height"])
    with pytest.raises(ColumnError, match="lacks the model input"):
        counterfactuals(german_logistic, german, rows=row.drop(columns="age"))
    with pytest.raises(ParameterError, match=r"counterfactuals\(\): n must be an integer >= 1"):
        counterfactuals(german_logistic, german, rows=row, n=0)
    with pytest.raises(ParameterError, match=r"counterfactuals\(\): ranges\['age'\]"):
        counterfactuals(german_logistic, german, rows=row, ranges={"age": "old"})


@pytest.fixture(scope="module")
def adult_sex_race():
    """A model that uses sex and race as inputs, and counterfactuals for 30 men, by default."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.datasets import load_adult

    train, test = load_adult(split="train"), load_adult(split="test")
    features = [*train.feature_names, "sex", "race"]
    train, test = train.replace(features=features), test.replace(features=features)
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=40, random_state=0
    ).fit(train.X, train.y)
    men = test.X[test.X["sex"] == "Male"].iloc[:30]
    return train, men, model, counterfactuals(model, train, rows=men, n=5)


def _as_text(frame):
    return frame.astype(object).where(frame.notna(), "<missing>").astype(str)


def test_sensitive_attributes_never_change_by_default(adult_sex_race):
    # Issue 16: a counterfactual changed race, and the model's sensitive inputs were not
    # protected unless listed in immutable=.
    train, men, model, r = adult_sex_race
    cfs = r.counterfactuals
    assert len(cfs) >= 100 and r.metrics["validity"] > 0.8
    assert r.meta["immutable"] == ["sex", "race"] and r.meta["sensitive"] == ["sex", "race"]
    assert not r.changes["feature"].isin(["sex", "race"]).any()
    query = men.loc[cfs["row"]].reset_index(drop=True)
    for column in ("sex", "race"):
        np.testing.assert_array_equal(_as_text(cfs[[column]]), _as_text(query[[column]]))
    # ... and every counterfactual still flips the model's decision
    X_cf = cfs[list(train.X.columns)].astype(train.X.dtypes.to_dict())
    np.testing.assert_array_equal(model.predict(X_cf), 1 - model.predict(query))


def test_combinations_occur_in_the_data(adult_sex_race):
    # Issue 16: counterfactuals for a man proposed relationship "Own-child -> Wife" (2 of 32,561
    # training rows are a male "Wife"). Checked here by hand, pair by pair, with pandas.
    train, men, _model, r = adult_sex_race
    cfs, X = r.counterfactuals, train.X
    pairs = pd.crosstab(X["relationship"], X["sex"])
    for relationship, sex in zip(cfs["relationship"], cfs["sex"], strict=True):
        assert pairs.loc[relationship, sex] >= 5, (relationship, sex)
    # every pair of categorical values involving a changed feature: >= min(5, either count)
    data_text = _as_text(X)
    query_text = _as_text(men.loc[cfs["row"]].reset_index(drop=True))
    cf_text = _as_text(cfs[list(X.columns)])
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    changed = cf_text != query_text
    checked = 0
    for i, a in enumerate(categorical):
        for b in categorical[i + 1 :]:
            rows = changed[a] | changed[b]
            if not rows.any():
                continue
            both = data_text.groupby([a, b]).size()
            count_a, count_b = data_text[a].value_counts(), data_text[b].value_counts()
            for u, v in zip(cf_text.loc[rows, a], cf_text.loc[rows, b], strict=True):
                need = min(5, count_a[u], count_b[v])
                assert both.get((u, v), 0) >= need, (a, u, b, v)
                checked += 1
    assert checked > 500
    # numeric values lie within their range among the data rows with the same relationship
    low = X.groupby("relationship", observed=True)["age"].min()
    high = X.groupby("relationship", observed=True)["age"].max()
    moved = changed["age"] | changed["relationship"]
    ages, rels = cfs.loc[moved, "age"].astype(float), cfs.loc[moved, "relationship"]
    assert (ages >= low[rels].to_numpy()).all() and (ages <= high[rels].to_numpy()).all()


def test_sensitive_attributes_change_only_when_asked(adult_sex_race):
    train, men, model, _ = adult_sex_race
    rows = men.iloc[:15]
    allowed = counterfactuals(model, train, rows=rows, n=5, allow_sensitive=True)
    assert allowed.meta["immutable"] == [] and allowed.meta["allow_sensitive"] is True
    assert allowed.changes["feature"].isin(["sex", "race"]).any()  # now they may change
    # a plain DataFrame carries no roles: nothing is marked sensitive, immutable= still holds
    frame = counterfactuals(model, train.X, rows=rows, n=3, immutable=["race"])
    assert frame.meta["sensitive"] == [] and "race" not in set(frame.changes["feature"])
    with pytest.raises(ParameterError, match=r"counterfactuals\(\): min_support must be"):
        counterfactuals(model, train, rows=rows, min_support=0)


def test_score_is_the_probability_of_pos_label(approval):
    # 'approved' sorts first: the old hard-coded column 1 reported P('denied')
    ds, model = approval
    rows = ds.X.iloc[:5]
    with pytest.raises(DataError, match="pos_label"):
        counterfactuals(model, ds, rows=rows, n=2)
    r = counterfactuals(model, ds, rows=rows, n=2, pos_label="approved")
    np.testing.assert_allclose(
        r.queries["score"], model.predict_proba(rows)[:, 0], rtol=0, atol=1e-12
    )
    features = list(ds.X.columns)
    cf_X = r.counterfactuals[features].astype(ds.X.dtypes.to_dict())
    np.testing.assert_allclose(
        r.counterfactuals["score"], model.predict_proba(cf_X)[:, 0], rtol=0, atol=1e-12
    )


def test_track_records_one_counterfactual_row(tmp_path, german, german_logistic):
    import json

    import raikit
    from raikit.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("cf", ledger=ledger) as run:
        counterfactuals(german_logistic, german, rows=german.X.iloc[[0, 1]], n=2, immutable=["age"])
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["explain.counterfactuals"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["n"] == 2 and params["immutable"] == ["age"] and params["desired"] == "opposite"


def test_a_lazy_search_space_is_sampled_where_it_lives(adult_sex, tmp_path, monkeypatch):
    """Issue 24: counterfactuals over a lazy Dataset of any size search a stratified sample
    drawn where its rows live (no full load), keep every group, and say so."""
    import raikit.dataset
    from raikit import Dataset

    train, test, model = adult_sex
    path = tmp_path / "train.parquet"
    train.frame.reset_index(drop=True).to_parquet(path)
    lazy = Dataset(
        str(path),
        target=train.target,
        sensitive=train.sensitive_names,
        features=train.feature_names,
        lazy=True,
    )
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 5_000)
    rows = test.X.iloc[:20]
    with pytest.raises(DataError, match="sample"):  # every row: more than the limit
        counterfactuals(model, lazy, rows=rows, n=3)
    r = counterfactuals(model, lazy, rows=rows, n=3, max_rows=3_000, random_state=0)
    sampling = r.meta["sampling"]
    assert int(sampling["population"].sum()) == train.n_rows == r.meta["n_rows_data"]
    assert r.meta["n_rows"] == int(sampling["sampled"].sum()) <= 3_100
    assert (sampling["sampled"] >= np.minimum(30, sampling["population"])).all()
    assert f"of {train.n_rows:,} rows, stratified by group" in r.summary
    X_cf = r.counterfactuals[list(train.X.columns)].astype(train.X.dtypes.to_dict())
    queries = rows.loc[r.counterfactuals["row"]]
    np.testing.assert_array_equal(model.predict(X_cf), 1 - model.predict(queries))
    assert r.metrics["validity"] > 0.5
    # a seed draws the same sample; in memory, max_rows above the rows changes nothing
    again = counterfactuals(model, lazy, rows=rows, n=3, max_rows=3_000, random_state=0)
    pd.testing.assert_frame_equal(again.counterfactuals, r.counterfactuals)
    small = train.subset(np.arange(2_000))
    whole = counterfactuals(model, small, rows=rows, n=3)
    bounded = counterfactuals(model, small, rows=rows, n=3, max_rows=2_000)
    pd.testing.assert_frame_equal(whole.counterfactuals, bounded.counterfactuals)
    assert bounded.meta["sampling"] is None and "sample" not in bounded.summary
    memory = counterfactuals(model, train, rows=rows, n=3, max_rows=3_000, random_state=0)
    assert memory.meta["n_rows"] == int(memory.meta["sampling"]["sampled"].sum()) <= 3_100
    assert int(memory.meta["sampling"]["population"].sum()) == train.n_rows
