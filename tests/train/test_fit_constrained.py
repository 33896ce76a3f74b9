"""fit_constrained: each library's mechanism, pipelines mapped to their transformed columns,
must-not-use features left out, and the errors that say what no library can do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from raikit import ColumnError, ParameterError
from raikit.evaluate import verify_constraints
from raikit.train import ShapeConstraints, fit_constrained

NUMERIC = ["duration_months", "credit_amount", "age", "installment_rate"]
SPEC = {"duration_months": "decreasing", "credit_amount": "decreasing", "sex": "must_not_use"}


@pytest.fixture(scope="module")
def credit():
    from raikit.datasets import load_german_credit

    return load_german_credit().replace(features=[*NUMERIC, "purpose", "sex"])


def _kept(model, ds, spec=SPEC):
    r = verify_constraints(model, ds, constraints=spec, max_rows=300, random_state=0)
    return r.table.set_index("feature")


def test_hgb_gets_monotonic_cst_and_keeps_it(credit):
    model = fit_constrained(HistGradientBoostingClassifier(max_iter=30), credit, constraints=SPEC)
    assert list(model.feature_names_in_) == [*NUMERIC, "purpose"]  # sex left out
    assert model.monotonic_cst == [-1, -1, 0, 0, 0]
    table = _kept(model, credit)
    assert table.loc[["duration_months", "credit_amount"], "n_violating"].tolist() == [0, 0]
    assert table.loc["sex", "status"] == "not an input"
    # the model ignores the column: with or without it, and with it shuffled, the same predictions
    frame = credit.frame[[*NUMERIC, "purpose", "sex"]]
    shuffled = frame.assign(sex=frame["sex"].sample(frac=1, random_state=0).to_numpy())
    expected = model.predict_proba(frame.drop(columns="sex"))
    np.testing.assert_array_equal(model.predict_proba(shuffled), expected)


def test_the_users_estimator_is_not_changed(credit):
    hgb = HistGradientBoostingClassifier(max_iter=10)
    fit_constrained(hgb, credit, constraints=SPEC, random_state=0)
    assert hgb.monotonic_cst is None and not hasattr(hgb, "n_iter_")


def test_pipeline_maps_declared_columns_to_transformed_ones(credit):
    columns = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["purpose"]),
        (StandardScaler(), NUMERIC),
    )
    pipe = make_pipeline(columns, HistGradientBoostingClassifier(max_iter=30))
    model = fit_constrained(pipe, credit, constraints=SPEC, random_state=0)
    n_purpose = credit.frame["purpose"].nunique()
    # one-hot purpose first, then the scaled numbers in their order
    assert model[-1].monotonic_cst == [0] * n_purpose + [-1, -1, 0, 0]
    table = _kept(model, credit)
    assert table.loc[["duration_months", "credit_amount"], "n_violating"].tolist() == [0, 0]


def test_a_one_hot_encoded_number_cannot_be_monotone(credit):
    columns = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["age"]),
        remainder="passthrough",
    )
    pipe = make_pipeline(columns, HistGradientBoostingClassifier(max_iter=5))
    ds = credit.replace(features=NUMERIC)
    with pytest.raises(ParameterError, match="encodes 'age' into other than one increasing"):
        fit_constrained(pipe, ds, constraints={"age": "increasing"})


def test_lightgbm_gets_monotone_constraints_and_keeps_them(credit):
    from lightgbm import LGBMClassifier

    ds = credit.replace(features=NUMERIC)
    model = fit_constrained(
        LGBMClassifier(n_estimators=40, verbose=-1), ds, constraints=SPEC, random_state=0
    )
    assert model.get_params()["monotone_constraints"] == [-1, -1, 0, 0]
    table = _kept(model, ds)
    assert table.loc[["duration_months", "credit_amount"], "n_violating"].tolist() == [0, 0]


def test_ebm_is_monotonized_and_keeps_it(credit):
    from interpret.glassbox import ExplainableBoostingClassifier

    ds = credit.replace(features=NUMERIC)
    ebm = ExplainableBoostingClassifier(outer_bags=2, max_rounds=200, n_jobs=1)
    model = fit_constrained(ebm, ds, constraints=SPEC, random_state=0)
    # no pair term keeps a constrained feature (monotonize reaches main terms only)
    constrained = {0, 1}
    assert all(len(t) == 1 or not constrained & set(t) for t in model.term_features_)
    table = _kept(model, ds)
    assert table.loc[["duration_months", "credit_amount"], "n_violating"].tolist() == [0, 0]


def test_what_no_library_enforces_is_refused_with_the_way_out(credit):
    with pytest.raises(ParameterError, match=r"no installed library enforces concave.*verify_c"):
        fit_constrained(HistGradientBoostingClassifier(), credit, constraints={"age": "concave"})
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ParameterError, match=r"LogisticRegression.*HistGradientBoosting"):
        fit_constrained(LogisticRegression(), credit, constraints={"age": "increasing"})
    with pytest.raises(ParameterError, match=r"'purpose'.*categorical"):
        fit_constrained(
            HistGradientBoostingClassifier(), credit, constraints={"purpose": "increasing"}
        )


def test_unknown_and_non_input_columns_name_what_is_available(credit):
    with pytest.raises(ColumnError, match=r"\['income'\].*columns available: \['checking"):
        fit_constrained(
            HistGradientBoostingClassifier(), credit, constraints={"income": "increasing"}
        )
    with pytest.raises(ColumnError, match=r"\['savings'\] are not model inputs; inputs are"):
        fit_constrained(
            HistGradientBoostingClassifier(), credit, constraints={"savings": "increasing"}
        )
    with pytest.raises(ParameterError, match=r"fit_constrained\(\).*constraints"):
        fit_constrained(HistGradientBoostingClassifier(), credit, constraints="age")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "at least one feature"),
        ({"age": "up"}, "'up' is not a shape"),
        ({"": "increasing"}, "non-empty strings"),
        ({3: "increasing"}, "non-empty strings"),
    ],
)
def test_shape_constraints_refuse_bad_specs(spec, message):
    with pytest.raises(ParameterError, match=message):
        ShapeConstraints(spec)


def test_shape_constraints_read_the_spellings_users_reach_for():
    spec = ShapeConstraints({"a": 1, "b": "-1", "c": "Must-Not-Use", "d": " Convex "})
    assert spec.to_dict() == {
        "a": "increasing",
        "b": "decreasing",
        "c": "must_not_use",
        "d": "convex",
    }
    assert spec.monotone == {"a": 1, "b": -1} and spec.curvature == {"d": "convex"}
    assert spec.text() == "a: increasing; b: decreasing; c: must not use; d: convex"
    assert np.isin(spec.features, ["a", "b", "c", "d"]).all()
    assert isinstance(pd.DataFrame([spec.to_dict()]), pd.DataFrame)
