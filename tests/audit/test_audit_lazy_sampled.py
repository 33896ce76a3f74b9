"""The audit sections that need rows (stress test, membership inference, SHAP, the glass box,
shape constraints, evasion) on lazy Parquet train/test sets: each draws its stratified sample
where the rows live (no full load: MATERIALIZE_LIMIT is 1,000 rows), records it in
``meta["sampling"]``, says so in its summary, and agrees with the in-memory run within sampling
error; a lazy set no larger than the section's ``max_rows`` gives the in-memory numbers exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

import raikit.dataset
from raikit import Dataset, Result
from raikit._errors import DataError
from raikit._sampling import sample_rows
from raikit.audit import _audit, audit
from raikit.datasets import load_adult
from raikit.evaluate import evasion_test, stress_test, verify_constraints
from raikit.explain import _glassbox

NUMERIC = ["age", "education_num", "hours_per_week", "capital_gain"]
CATEGORICAL = ["workclass", "occupation"]
FEATURES = NUMERIC + CATEGORICAL
CONSTRAINTS = {"education_num": "increasing", "age": "increasing", "workclass": "must_not_use"}
LIMIT = 1000  # any full load of more rows raises


def _model(train):
    encode = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), CATEGORICAL),
        remainder="passthrough",
    )
    learner = HistGradientBoostingClassifier(
        max_iter=40, categorical_features=[0, 1], random_state=0
    )
    return make_pipeline(encode, learner).fit(train.X, train.y)


@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    """8,000 Adult rows split 60/40, their Parquet files and a fitted pipeline."""
    full = load_adult()
    rows = np.sort(np.random.default_rng(0).choice(full.n_rows, 8000, replace=False))
    ds = full.subset(rows).replace(features=FEATURES)
    frame = ds.frame[[*FEATURES, *ds.sensitive_names, ds.target]].reset_index(drop=True)
    ds = ds.replace(frame, features=FEATURES)
    train, test = ds.split(0.4, random_state=0)
    folder = tmp_path_factory.mktemp("lazy_sampled")
    files = {}
    for name, part in (("train", train), ("test", test)):
        files[name] = folder / f"{name}.parquet"
        part.frame.to_parquet(files[name])
    return train, test, files, _model(train)


def _lazy(adult, name):
    train, _, files, _ = adult
    return Dataset(
        str(files[name]),
        target=train.target,
        sensitive=train.sensitive_names,
        features=FEATURES,
        name=name,
        lazy=True,
    )


@pytest.fixture
def small_sections(monkeypatch):
    """Audit sample sizes below the test data's (the defaults are for millions of rows)."""
    monkeypatch.setattr(_audit, "_STRESS_ROWS", 1500)
    monkeypatch.setattr(_audit, "_PRIVACY_ROWS", 2000)
    monkeypatch.setattr(_glassbox, "_AUDIT_ROWS", {"train": 2000, "test": 1500})


def _audit_both(adult, monkeypatch, section):
    """The section's results on the in-memory data, then on the lazy files (limit 1,000)."""
    train, test, _, model = adult
    options = dict(
        sections=[section], n_boot=50, random_state=0, constraints=CONSTRAINTS, pos_label=1
    )
    memory = audit(model, train=train, test=test, **options)
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", LIMIT)
    lazy = audit(model, train=_lazy(adult, "train"), test=_lazy(adult, "test"), **options)
    for report in (memory, lazy):
        assert section not in report.meta["skipped"], report.meta["skipped"]
    return memory, lazy


def _agree(a, b, half_a, half_b, *, widen=2.0):
    """Two estimates from independent samples agree when they differ by less than twice the
    larger interval half-width (about 2.8 standard errors of their difference)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    bound = widen * np.maximum(np.asarray(half_a, float), np.asarray(half_b, float))
    assert np.all(np.abs(a - b) <= bound), (a, b, bound)


def _agree_ci(a, b, value, lower, upper, *, slack=0.0):
    """``_agree`` on ``value`` of ``a`` and ``b`` (rows or frames), each with the half-width of
    its own ``[lower, upper]`` interval, plus ``slack`` times the value."""

    def half(r):
        return (r[upper] - r[lower]) / 2 + slack * r[value]

    _agree(a[value], b[value], half(a), half(b))


def _sides(both):
    """The in-memory (``_m``) and lazy (``_z``) columns of a merged frame, under their names."""
    return tuple(
        both[[c for c in both if c.endswith(end)]].rename(columns=lambda c: c[:-2])
        for end in ("_m", "_z")
    )


def _strata_total(sampling) -> int:
    return int(sampling["population"].sum())


def test_robustness_samples_the_lazy_test_set_where_it_lives(adult, monkeypatch, small_sections):
    memory, lazy = _audit_both(adult, monkeypatch, "robustness")
    m, z = (r.results["evaluate.stress_test"] for r in (memory, lazy))
    test = adult[1]
    for r in (m, z):
        assert r.meta["n_rows"] == test.n_rows and r.meta["perturbed_rows"] < test.n_rows
        assert _strata_total(r.meta["sampling"]) == test.n_rows
        assert f"of {test.n_rows:,} rows, stratified by group and reweighted" in r.summary
    # every (sex x race) stratum keeps at least min(30, its size) rows
    strata = z.meta["sampling"]
    assert (strata["sampled"] >= np.minimum(30, strata["population"])).all()
    keys = ["perturbation", "level", "attribute", "group"]
    both = m.perturbations.merge(z.perturbations, on=keys, suffixes=("_m", "_z"))
    overall = both[both["attribute"] == "overall"]
    assert len(overall) == 9
    _agree_ci(*_sides(overall), "flip_rate", "flip_lower", "flip_upper")
    # accuracy of ~1,500 rows: standard error about 0.01
    _agree(overall["accuracy_m"], overall["accuracy_z"], 0.03, 0.03)


def test_privacy_samples_both_lazy_sides(adult, monkeypatch, small_sections):
    memory, lazy = _audit_both(adult, monkeypatch, "privacy")
    m, z = (r.results["privacy.membership_inference"] for r in (memory, lazy))
    train, test = adult[0], adult[1]
    for r in (m, z):
        assert _strata_total(r.meta["sampling"]["members"]) == train.n_rows
        assert _strata_total(r.meta["sampling"]["non_members"]) == test.n_rows
        assert r.meta["n_train"] == train.n_rows and r.meta["n_test"] == test.n_rows
    a, b = m.attacks.iloc[0], z.attacks.iloc[0]
    _agree_ci(a, b, "auc", "auc_lower", "auc_upper")
    # the weighted AUCs per group come from the same strata
    groups = m.by_group.merge(z.by_group, on=["attack", "attribute", "group"])
    assert len(groups) == len(m.by_group)


def test_explainability_runs_on_the_lazy_sample(adult, monkeypatch):
    memory, lazy = _audit_both(adult, monkeypatch, "explainability")
    m, z = (r.results["explain.explain"] for r in (memory, lazy))
    test = adult[1]
    for r in (m, z):
        assert r.meta["n_rows_data"] == test.n_rows and r.meta["n_rows"] < test.n_rows
        assert _strata_total(r.meta["sampling"]) == test.n_rows
        assert "stratified by group and reweighted" in r.summary
    assert len(z.attributions) == z.meta["n_rows"]
    both = m.importance.merge(z.importance, on="feature", suffixes=("_m", "_z"))
    assert len(both) == len(FEATURES)
    # mean |SHAP| per feature: two samples of 500 rows and two background draws
    _agree_ci(*_sides(both), "mean_abs", "lower", "upper", slack=0.1)
    top = both.sort_values("mean_abs_m")["feature"].iloc[-1]
    assert both.set_index("feature").loc[top, "rank_z"] <= 2


def test_glassbox_samples_both_lazy_sides(adult, monkeypatch, small_sections):
    memory, lazy = _audit_both(adult, monkeypatch, "glassbox")
    m, z = (r.results["explain.glassbox_baseline"] for r in (memory, lazy))
    train, test = adult[0], adult[1]
    for r in (m, z):
        assert _strata_total(r.meta["sampling"]["train"]) == train.n_rows
        assert _strata_total(r.meta["sampling"]["test"]) == test.n_rows
        assert r.meta["n_test"] < test.n_rows
        assert "samples by group" in r.summary
    a, b = m.gap.iloc[0], z.gap.iloc[0]
    assert a["group"] == b["group"] == "overall"
    _agree_ci(a, b, "blackbox", "blackbox_lower", "blackbox_upper")
    _agree_ci(a, b, "gap", "lower", "upper")


def test_shape_constraints_sample_the_lazy_rows_on_the_full_grid(adult, monkeypatch):
    memory, lazy = _audit_both(adult, monkeypatch, "shape_constraints")
    m, z = (r.results["evaluate.verify_constraints"] for r in (memory, lazy))
    test = adult[1]
    for r in (m, z):
        assert r.meta["population"] == test.n_rows and r.meta["n_rows"] < test.n_rows
        assert _strata_total(r.meta["sampling"]) == test.n_rows
        assert f"of {test.n_rows:,} rows, stratified by group and reweighted" in r.summary
    back = Result.from_json(z.to_json())  # the record is a table now, not the summary's clause
    assert back.summary == z.summary and back.meta["sampling"].equals(z.meta["sampling"])
    a, b = m.table.set_index("feature"), z.table.set_index("feature")
    assert (a["status"] == "not an input").sum() == 0
    # the grid spans every row (exact quantiles where the rows live): as many evaluations
    assert (a["evaluations"] / a["n_rows"]).equals(b["evaluations"] / b["n_rows"])
    _agree_ci(a, b, "share", "lower", "upper")


def test_evasion_samples_the_lazy_test_set(adult, monkeypatch):
    memory, lazy = _audit_both(adult, monkeypatch, "evasion")
    m, z = (r.results["evaluate.evasion_test"] for r in (memory, lazy))
    test = adult[1]
    for r in (m, z):
        assert r.meta["n_rows"] == test.n_rows and r.meta["attacked_rows"] < test.n_rows
        assert _strata_total(r.meta["sampling"]) == test.n_rows
        assert "stratified by group and reweighted" in r.summary
    # the attack may move the same features within the same ranges (aggregates of every row)
    assert m.meta["moved"] == z.meta["moved"]
    a, b = m.at(0.1).iloc[0], z.at(0.1).iloc[0]
    _agree(a["accuracy"], b["accuracy"], 0.08, 0.08)  # 300 rows: standard error about 0.025
    _agree_ci(a, b, "success_rate", "success_lower", "success_upper")


@pytest.fixture(scope="module")
def small(adult, tmp_path_factory):
    """600 test rows in memory and as a lazy Parquet file."""
    _, test, _, model = adult
    part = test.subset(np.arange(600))
    path = tmp_path_factory.mktemp("lazy_small") / "small.parquet"
    part.frame.reset_index(drop=True).to_parquet(path)
    memory = part.replace(part.frame.reset_index(drop=True))
    lazy = Dataset(
        str(path),
        target=test.target,
        sensitive=test.sensitive_names,
        features=FEATURES,
        lazy=True,
    )
    return memory, lazy, model


def test_a_lazy_set_within_max_rows_gives_the_in_memory_numbers_exactly(small, monkeypatch):
    memory, lazy, model = small
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 100)  # 600 rows are "too many"
    options = dict(noise=[0.1], swap_rate=[0.1], missing_rate=[], random_state=0)
    a = stress_test(model, memory, max_rows=600, **options)
    b = stress_test(model, lazy, max_rows=600, **options)
    pd.testing.assert_frame_equal(a.perturbations, b.perturbations)
    assert b.meta["sampling"] is None and "sample" not in b.summary
    a = verify_constraints(model, memory, constraints=CONSTRAINTS, max_rows=600, random_state=0)
    b = verify_constraints(model, lazy, constraints=CONSTRAINTS, max_rows=600, random_state=0)
    pd.testing.assert_frame_equal(a.table, b.table)
    a = evasion_test(model, memory, budgets=[0.1], max_steps=2, max_rows=600, random_state=0)
    b = evasion_test(model, lazy, budgets=[0.1], max_steps=2, max_rows=600, random_state=0)
    pd.testing.assert_frame_equal(a.attack, b.attack)
    # without max_rows the rows are not bounded: the limit holds, with the advice to sample
    fresh = Dataset(str(lazy.source), target="income", sensitive=["sex", "race"], lazy=True)
    with pytest.raises(DataError, match="stratified sample"):
        verify_constraints(model, fresh, constraints=CONSTRAINTS, max_rows=None)


def test_sample_rows_of_a_lazy_weighted_set_keeps_its_weights(small, tmp_path, monkeypatch):
    memory, _, _ = small
    frame = memory.frame.assign(w=np.where(memory.frame["sex"] == "Male", 2.0, 0.5))
    path = tmp_path / "weighted.parquet"
    frame.to_parquet(path)
    lazy = Dataset(
        str(path),
        target="income",
        sensitive=["sex", "race"],
        features=FEATURES,
        weight="w",
        lazy=True,
    )
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 100)
    data, positions, weights, sampling = sample_rows(lazy, 200, random_state=0, purpose="t")
    assert not data.is_lazy and data.weight == "w" and data.feature_names == FEATURES
    assert positions.tolist() == list(range(data.n_rows))
    # the strata's weights (population / sampled), the rows' own weights apart
    per_row = data.frame.merge(sampling, on=["sex", "race"], how="left")["weight"]
    np.testing.assert_allclose(weights, per_row.to_numpy())
    np.testing.assert_allclose(data.weights, np.where(data.frame["sex"] == "Male", 2.0, 0.5))
    assert _strata_total(sampling) == 600
    assert weights @ np.ones(len(weights)) == pytest.approx(600)


def test_an_explanation_that_fails_says_why(adult, monkeypatch):
    """The section once returned nothing on any error ("It gave no result"): it now names it."""
    from raikit.explain import _explain

    train, test, _, model = adult

    def broken(*args, **kwargs):
        raise DataError("shap could not explain this model")

    monkeypatch.setattr(_explain, "explain", broken)
    report = audit(
        model, train=train, test=test, sections=["explainability"], n_boot=20, random_state=0
    )
    reason = report.meta["skipped"]["explainability"]
    assert "SHAP could not explain the model" in reason and "shap could not explain" in reason


@pytest.mark.filterwarnings("ignore:PySpark does not yet:FutureWarning")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_a_spark_dataframe_is_sampled_by_spark(adult, spark, monkeypatch):
    _, test, _, model = adult
    frame = test.frame.reset_index(drop=True)
    for column in CATEGORICAL + test.sensitive_names:  # Spark reads strings, not categories
        frame[column] = frame[column].astype(str)
    data = Dataset(
        spark.createDataFrame(frame),
        target=test.target,
        sensitive=test.sensitive_names,
        features=FEATURES,
    )
    assert data.is_lazy
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", LIMIT)
    shapes = verify_constraints(model, data, constraints=CONSTRAINTS, max_rows=300, random_state=0)
    attack = evasion_test(model, data, budgets=[0.1], max_steps=2, max_rows=300, random_state=0)
    for r in (shapes, attack):
        assert _strata_total(r.meta["sampling"]) == test.n_rows
        assert "stratified by group and reweighted" in r.summary
    # the grid and the attack's ranges come from every row: the in-memory ones
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 5_000_000)
    memory = test.replace(frame, features=FEATURES)
    same = verify_constraints(model, memory, constraints=CONSTRAINTS, max_rows=300, random_state=0)
    ratio = shapes.table["evaluations"] / shapes.table["n_rows"]
    assert ratio.equals(same.table["evaluations"] / same.table["n_rows"])
    again = evasion_test(model, memory, budgets=[0.1], max_steps=2, max_rows=300, random_state=0)
    assert attack.meta["moved"] == again.meta["moved"]
