"""evasion_test(): the black-box attack stays in the feasible set (immutable features, observed
categories, budget, ranges, integers), finds exactly the flips a threshold model allows, beats
random changes with the same queries on Adult, and its mitigation equals a hand refit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from raikit import Dataset, Result
from raikit._errors import ColumnError, DataError, ParameterError
from raikit.evaluate import EvasionResult, evasion_test
from raikit.evaluate._evasion import _adversarial_rows, _robust_rows


class Threshold(ClassifierMixin, BaseEstimator):
    """Class 1 exactly when ``column > t``: the smallest move that flips a row is known."""

    def __init__(self, column: str = "x", t: float = 5.0):
        self.column, self.t = column, t

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        above = (X[self.column].to_numpy(dtype=float) > self.t).astype(float)
        return np.column_stack([1 - above, above])

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


@pytest.fixture(scope="module")
def threshold_data():
    rng = np.random.default_rng(0)
    n = 201
    x = np.linspace(0.0, 10.0, n) + 0.001  # no row exactly on a step of the budget grid
    frame = pd.DataFrame(
        {
            "x": x,
            "z": rng.integers(0, 50, n),
            "c": pd.Categorical(rng.choice(["u", "v", "w"], n)),
            "s": np.where(np.arange(n) % 2 == 0, "a", "b"),
            "y": (x > 5.0).astype(int),
        }
    )
    return Dataset(frame, target="y", sensitive="s", features=["x", "z", "c"])


@pytest.mark.parametrize("budget", [0.05, 0.1, 0.3, 0.6])
def test_threshold_model_flips_exactly_the_rows_within_the_budget(threshold_data, budget):
    model = Threshold().fit(threshold_data.X, threshold_data.y)
    r = evasion_test(model, threshold_data, budgets=[budget], max_steps=3, random_state=0)
    x = threshold_data.frame["x"].to_numpy()
    delta = budget * x.std()  # the budget is a share of the (population) standard deviation
    below = (x <= 5.0) & (np.minimum(x + delta, x.max()) > 5.0)
    above = (x > 5.0) & (np.maximum(x - delta, x.min()) <= 5.0)
    overall = r.at(budget).iloc[0]
    assert overall["n_correct"] == len(x)
    assert round(overall["success_rate"] * len(x)) == int((below | above).sum())


def test_the_smallest_flipping_budget_is_found(threshold_data):
    # the row nearest the threshold needs exactly |x - t| / std; a hair less flips nothing
    model = Threshold().fit(threshold_data.X, threshold_data.y)
    x = threshold_data.frame["x"].to_numpy()
    need = np.abs(x - 5.0).min() / x.std()
    r = evasion_test(model, threshold_data, budgets=[need * 0.999, need * 1.001], random_state=0)
    rates = r.attack[(r.attack["method"] == "attack") & (r.attack["attribute"] == "overall")]
    flipped = np.round(rates["success_rate"].to_numpy() * len(x)).astype(int)
    assert flipped.tolist() == [0, 1]


@pytest.fixture(scope="module")
def adult():
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    from raikit.datasets import load_adult

    train, test = load_adult(split="train"), load_adult(split="test")
    encode = make_column_transformer(
        (
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
            make_column_selector(dtype_include="category"),
        ),
        remainder="passthrough",
    )
    model = make_pipeline(encode, HistGradientBoostingClassifier(max_iter=40, random_state=0))
    return model.fit(train.X, train.y), train, test


@pytest.fixture(scope="module")
def adult_rows(adult):
    model, _, test = adult
    sub = test.subset(np.arange(400))
    added = _adversarial_rows(model, sub, ["age"], 0.2, 1, 4, 0)
    return sub, added


def test_attack_stays_in_the_feasible_set(adult_rows):
    sub, added = adult_rows
    assert len(added) > 50
    original = sub.X.iloc[added["__row__"].to_numpy()].reset_index(drop=True)
    adv = added.drop(columns=["__label__", "__row__"])
    assert (adv["age"].to_numpy() == original["age"].to_numpy()).all()  # immutable
    for c in adv.columns:
        if isinstance(sub.X[c].dtype, pd.CategoricalDtype):
            seen = set(sub.X[c].dropna().astype(str))
            values = adv[c].dropna().astype(str)
            assert set(values) <= seen, c  # observed categories only
            assert adv[c].dtype == sub.X[c].dtype
        else:
            x = sub.X[c].to_numpy(float)
            moved = np.abs(adv[c].to_numpy(float) - original[c].to_numpy(float))
            assert (moved <= 0.2 * np.std(x) + 1e-9).all(), c  # within the budget
            assert adv[c].min() >= x.min() and adv[c].max() <= x.max(), c  # within the range
            assert adv[c].dtype == sub.X[c].dtype  # integer columns stay integers
    # at most one categorical switch per row
    cats = [c for c in adv.columns if isinstance(sub.X[c].dtype, pd.CategoricalDtype)]
    text = lambda frame: frame[cats].astype(object).fillna("<missing>").to_numpy()  # noqa: E731
    switched = (text(adv) != text(original)).sum(axis=1)
    assert switched.max() <= 1 and switched.sum() > 0
    # every returned row really is classified otherwise than its true label
    model_pred = added["__label__"].to_numpy()
    assert len(model_pred) == len(adv)


def test_adversarial_rows_flip_the_model(adult, adult_rows):
    model = adult[0]
    _, added = adult_rows
    adv = added.drop(columns=["__label__", "__row__"])
    assert (model.predict(adv) != added["__label__"].to_numpy()).all()


def test_sensitive_inputs_never_change():
    from sklearn.linear_model import LogisticRegression

    from raikit.datasets import load_german_credit

    ds = load_german_credit()
    frame = ds.frame.assign(sex_code=(ds.frame["sex"] == "male").astype(int))
    ds = Dataset(frame, target=ds.target, sensitive="sex_code")
    ds = ds.replace(features=["duration_months", "credit_amount", "sex_code"])
    model = LogisticRegression(max_iter=1000).fit(ds.X, ds.y)
    r = evasion_test(model, ds, budgets=[2.0], random_state=0)
    assert "sex_code" in r.meta["frozen"] and "sex_code" not in r.meta["moved"]
    assert "sex_code" not in set(r.adversarial_examples["column"])
    added = _adversarial_rows(model, ds, ["sex_code"], 2.0, 1, 5, 0)
    rows = added["__row__"].to_numpy()
    assert (added["sex_code"].to_numpy() == ds.frame["sex_code"].to_numpy()[rows]).all()


@pytest.fixture(scope="module")
def adult_result(adult):
    model, _, test = adult
    return evasion_test(model, test, budgets=[0.5], max_rows=300, max_steps=4, random_state=0)


def test_attack_beats_random_changes_with_the_same_queries(adult):
    # unweighted rows (no stratified sample) so the rates are plain shares of the same rows
    model, _, test = adult
    r = evasion_test(model, test.subset(np.arange(300)), budgets=[0.5], max_steps=4, random_state=0)
    mine, rand = r.at(0.5).iloc[0], r.at(0.5, method="random").iloc[0]
    assert mine["queries"] == rand["queries"] > 0  # equal query count
    assert mine["success_rate"] > rand["success_rate"] + 0.03
    assert mine["median_changed"] < rand["median_changed"]  # and sparser flips


def test_per_group_intervals_and_the_group_verdicts(adult_result):
    a = adult_result.attack
    rates = a[a["n_correct"] > 0]
    assert (rates["success_upper"] > rates["success_lower"]).all()  # never zero width
    assert (rates["robust_upper"] > rates["robust_lower"]).all()
    assert (
        (rates["success_lower"] <= rates["success_rate"])
        & (rates["success_rate"] <= rates["success_upper"])
    ).all()
    groups = adult_result.groups
    assert set(groups["attribute"]) == {"sex", "race"}
    assert set(groups["verdict"]) <= {
        "easier to flip",
        "no detectable difference",
        "not assessable",
    }
    assessed = groups[groups["verdict"] != "not assessable"]
    assert (assessed["lower"] < assessed["gap"]).all() and (
        assessed["gap"] < assessed["upper"]
    ).all()
    # the sample is reweighted to the population: robust accuracy never exceeds accuracy
    assert (a["robust_accuracy"] <= a["accuracy"] + 1e-12).all()
    assert "on a sample of" in adult_result.summary
    assert Result.from_json(adult_result.to_json()).attack.equals(adult_result.attack)


def test_not_assessable_when_groups_are_small(threshold_data):
    model = Threshold().fit(threshold_data.X, threshold_data.y)
    small = threshold_data.subset(np.arange(40))
    r = evasion_test(model, small, budgets=[1.0], random_state=0)
    assert r.groups["verdict"].tolist() == ["not assessable"]
    assert any("not assessable" in f.title for f in r.findings)


def test_mitigation_equals_a_hand_refit():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score

    from raikit.datasets import load_german_credit

    ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    train, test = ds.split(0.3, random_state=0)
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    r = evasion_test(
        model,
        test,
        budgets=[0.3],
        mitigation="adversarial_training",
        train=train,
        max_steps=4,
        random_state=3,
    )
    seeds = r.meta["mitigation_seeds"]
    added = _adversarial_rows(model, train, [], 0.3, 1, 4, seeds[0], every=True)
    label = added.pop("__label__").to_numpy()
    X = pd.concat([train.X, added.drop(columns="__row__")], ignore_index=True)
    refit = clone(model).fit(X, np.concatenate([train.y.to_numpy(), label]))
    m = r.mitigation[r.mitigation["attribute"] == "overall"].set_index("metric")
    assert r.meta["added_rows"] == len(added) > 0
    assert m.loc["clean_accuracy", "before"] == pytest.approx(
        accuracy_score(test.y, model.predict(test.X))
    )
    assert m.loc["clean_accuracy", "after"] == pytest.approx(
        accuracy_score(test.y, refit.predict(test.X))
    )
    _, robust = _robust_rows(refit, test, np.arange(test.n_rows), [], 0.3, 1, 4, seeds[1])
    assert m.loc["robust_accuracy", "after"] == pytest.approx(robust.mean())
    change = m.loc["robust_accuracy"]
    assert change["change"] == pytest.approx(change["after"] - change["before"])
    assert change["lower"] < change["change"] < change["upper"]
    assert "adversarial training" in r.summary


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"budgets": [0.0]}, "budgets"),
        ({"budgets": "0.1"}, "budgets"),
        ({"max_switches": -1}, "max_switches"),
        ({"mitigation": "retrain"}, "mitigation"),
        ({"ci": 1.5}, "ci"),
        ({"mitigation": "adversarial_training"}, "needs train="),
    ],
)
def test_bad_parameters_raise_parameter_error(threshold_data, kwargs, words):
    model = Threshold().fit(threshold_data.X, threshold_data.y)
    with pytest.raises(ParameterError, match="evasion_test") as error:
        evasion_test(model, threshold_data, **kwargs)
    assert words in str(error.value)


def test_model_without_predict_proba_and_bad_columns(threshold_data):
    from sklearn.svm import LinearSVC

    svc = LinearSVC().fit(threshold_data.X[["x", "z"]], threshold_data.y)
    with pytest.raises(
        ParameterError, match="model must be a fitted classifier with predict_proba"
    ):
        evasion_test(svc, threshold_data.replace(features=["x", "z"]))
    model = Threshold().fit(threshold_data.X, threshold_data.y)
    with pytest.raises(ColumnError, match="immutable names"):
        evasion_test(model, threshold_data, immutable=["nope"])
    relabelled = threshold_data.replace(
        threshold_data.frame.assign(y=threshold_data.frame["y"] + 5)
    )
    with pytest.raises(DataError, match="labels the model never saw"):
        evasion_test(model, relabelled)


def test_track_records_one_row_with_its_parameters(tmp_path, threshold_data):
    import raikit
    from raikit.ledger import Ledger

    model = Threshold().fit(threshold_data.X, threshold_data.y)
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("evasion", ledger=ledger) as run:
        r = evasion_test(model, threshold_data, budgets=[0.2], immutable="z", random_state=1)
    assert isinstance(r, EvasionResult)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["evaluate.evasion_test"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["budgets"] == [0.2] and params["immutable"] == "z" and params["max_switches"] == 1


def test_success_never_falls_as_the_budget_grows():
    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.datasets import load_german_credit

    ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(ds.X, ds.y)
    r = evasion_test(model, ds, budgets=[0.02, 0.05, 0.1, 0.2], max_steps=3, random_state=0)
    overall = r.attack[r.attack["attribute"] == "overall"]
    for _, part in overall.groupby("method"):
        rates = part.sort_values("budget")["success_rate"].to_numpy()
        assert (np.diff(rates) >= 0).all() and rates[-1] > rates[0]


def test_a_group_without_rows_is_nan_without_a_warning(threshold_data, recwarn):
    # a categorical sensitive column may declare a group no row has (Adult's race on a subset)
    frame = threshold_data.frame.assign(
        s=pd.Categorical(threshold_data.frame["s"], categories=["a", "b", "c"])
    )
    ds = threshold_data.replace(frame)
    r = evasion_test(Threshold().fit(ds.X, ds.y), ds, budgets=[0.3], random_state=0)
    runtime = [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    assert not runtime, [str(w.message) for w in runtime]
    groups = r.at(0.3).set_index("group")
    assert groups.loc["a", "n"] > 0
    if "c" in groups.index:
        assert groups.loc["c", "n"] == 0 and np.isnan(groups.loc["c", "success_rate"])


def _paired_gain(model, ds, budget):
    """Per row of ``ds`` (its correctly classified rows): flipped by the attack minus flipped by
    random search with the same queries, and that difference's mean with its 95% paired interval."""
    from raikit.evaluate._evasion import (
        _attack_space,
        _greedy,
        _labels,
        _Oracle,
        _random_search,
        _rank_categories,
    )

    classes, y_idx = _labels(model, ds)
    space = _attack_space(ds, ds.X, ds.sensitive_inputs)
    oracle = _Oracle(model, classes)
    proba = oracle(space.frame(np.arange(ds.n_rows), space.num0, space.cat0))
    _rank_categories(space, proba)
    correct = np.flatnonzero(proba.argmax(axis=1) == y_idx)
    attack = _greedy(space, oracle, correct, y_idx[correct], budget, 1, 10)
    rng = np.random.default_rng(0)
    baseline = _random_search(
        space, oracle, correct, y_idx[correct], budget, 1, attack.queries, rng
    )
    d = attack.flipped.astype(float) - baseline.flipped.astype(float)
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
    return attack, baseline, d.mean(), d.mean() - half, d.mean() + half


@pytest.mark.parametrize("budget", [0.05, 0.2, 0.5])
def test_attack_beats_random_search_on_the_same_rows(adult, budget):
    # paired on the same 400 Adult test rows, random search given each row's exact query count:
    # the old search (random starts, random categories, restarts) spent 130 to 180 queries a row
    # and beat random by 0.011 at budget 0.05 (Wilson intervals overlapping); now the paired
    # interval of the gain (about +0.035 to +0.08 here) excludes 0 at every budget
    model, _, test = adult
    sub = test.subset(np.arange(400))
    attack, baseline, gain, lower, upper = _paired_gain(model, sub, budget)
    assert (attack.queries == baseline.queries).all()
    assert lower > 0, (gain, lower, upper)
    assert attack.queries.mean() < 80  # a few dozen queries per row, not hundreds


def test_the_validator_flags_exactly_the_improbable_rows():
    from raikit.evaluate._evasion import _Validator

    train = pd.DataFrame(
        {
            "a": pd.Categorical(["u"] * 5 + ["v"] * 5 + ["u"] * 2, categories=["u", "v", "w"]),
            "b": ["p"] * 5 + ["q"] * 5 + ["q"] * 2,
            "x": np.linspace(0.0, 10.0, 12),
        }
    )
    validator = _Validator.fit(train)
    rows = pd.DataFrame(
        {
            "a": pd.Categorical(["u", "u", "v", "u", "w", "v"], categories=["u", "v", "w"]),
            "b": ["p", "q", "p", "p", "p", "q"],
            "x": [5.0, 5.0, 5.0, 10.5, 5.0, -0.0],
        }
    )
    # seen 5 times | seen twice (< 3) | never seen | out of range | category training lacks | ok
    assert validator.flag(rows).tolist() == [False, True, True, True, True, False]


def test_input_validation_catches_attacks_more_often_than_it_flags_clean_rows(adult):
    # on Adult, the attack's category switches make combinations training rarely saw (e.g. a
    # husband who never married); the validator catches them far more often than it flags
    # clean test rows, and the table equals the hand computation
    from raikit.evaluate._evasion import _attacked, _Validator

    model, train, test = adult
    sub = test.subset(np.arange(400))
    r = evasion_test(
        model, sub, budgets=[0.1], mitigation="input_validation", train=train, random_state=0
    )
    clean, flipped, adversarial = _attacked(model, sub, np.arange(400), ["race", "sex"], 0.1, 1, 10)
    validator = _Validator.fit(train.X)
    caught = validator.flag(adversarial)
    refused = validator.flag(sub.X)
    m = r.mitigation[r.mitigation["attribute"] == "overall"].set_index("metric")
    assert m.loc["attacks_caught", "n"] == flipped.sum() > 30
    assert m.loc["attacks_caught", "after"] == pytest.approx(caught.mean())
    assert m.loc["false_alarms", "after"] == pytest.approx(refused.mean())
    assert m.loc["attacks_caught", "lower"] > m.loc["false_alarms", "upper"]
    robust = clean & ~refused
    robust[flipped] &= caught  # a flipped row stays robust only when its attack is caught
    robust[~flipped] = (clean & ~refused)[~flipped]
    assert m.loc["robust_accuracy", "after"] == pytest.approx(robust.mean())
    assert m.loc["clean_accuracy", "after"] == pytest.approx((clean & ~refused).mean())
    assert "input validation" in r.summary and "false alarms" in r.summary


def test_the_mitigation_finding_says_plainly_when_it_hurt():
    # the first adversarial training lowered Adult's robust accuracy by 0.115 and its finding
    # still read "robust accuracy gained"
    from raikit.evaluate._evasion import _mitigation_finding

    m = pd.DataFrame(
        {"before": [0.87, 0.67], "after": [0.88, 0.55], "change": [0.01, -0.12]},
        index=["clean_accuracy", "robust_accuracy"],
    ).assign(lower=lambda d: d["change"] - 0.03, upper=lambda d: d["change"] + 0.03)
    hurt = _mitigation_finding(m, "95% CI", 0.95, "adversarial_training")
    assert hurt.title == "Adversarial training made the model LESS robust"
    assert hurt.severity == "warning"
    m.loc["robust_accuracy", ["change", "lower", "upper"]] = [0.01, -0.02, 0.04]
    assert (
        "did not detectably help" in _mitigation_finding(m, "", 0.95, "adversarial_training").title
    )
    m.loc["robust_accuracy", ["change", "lower", "upper"]] = [0.05, 0.02, 0.08]
    assert _mitigation_finding(m, "", 0.95, "input_validation").title == (
        "Input validation made the model more robust"
    )


def test_versus_random_is_the_paired_gain_on_the_same_rows(adult):
    # the result carries the paired comparison itself: attack minus random on the same correct
    # rows, equal to the difference of the two success rates, with an interval above 0 at 0.5
    model, _, test = adult
    r = evasion_test(model, test.subset(np.arange(400)), budgets=[0.05, 0.5], random_state=0)
    v = r.versus_random.set_index(["budget", "attribute", "group"])
    for budget in (0.05, 0.5):
        mine, rand = r.at(budget).iloc[0], r.at(budget, method="random").iloc[0]
        row = v.loc[(budget, "overall", "overall")]
        assert row["n"] == mine["n_correct"]
        assert row["attack"] == pytest.approx(mine["success_rate"])
        assert row["random"] == pytest.approx(rand["success_rate"])
        assert row["gain"] == pytest.approx(mine["success_rate"] - rand["success_rate"])
        assert row["lower"] > 0
    assert not any("did not beat random" in f.title for f in r.findings)
    back = Result.from_json(r.to_json())
    assert back.versus_random.equals(r.versus_random)


def test_a_finding_says_when_the_attack_does_not_beat_random(threshold_data):
    # a budget too small to reach the threshold from any row: neither search flips anything
    model = Threshold().fit(threshold_data.X, threshold_data.y)
    r = evasion_test(model, threshold_data, budgets=[1e-4], random_state=0)
    gain = r.versus_random.set_index("attribute").loc["overall"]
    assert gain["attack"] == gain["random"] == gain["gain"] == 0 and gain["lower"] <= 0
    assert any("did not beat random" in f.title for f in r.findings)
