"""learning_curve(): fold scores reproduce a hand-run cross-validation; error bars over folds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.model_selection import StratifiedKFold

from raikit import Result
from raikit._errors import DataError, ParameterError
from raikit.evaluate import LearningCurveResult, learning_curve


@pytest.fixture(scope="module")
def compas_curve(compas_split, make_logistic):
    train, _ = compas_split
    return learning_curve(make_logistic(), train, sizes=[0.2, 1.0], cv=3, random_state=0)


def test_full_size_matches_manual_cross_validation(compas_split, compas_curve, make_logistic):
    train, _ = compas_split
    y = train.y.to_numpy()
    folds = StratifiedKFold(3, shuffle=True, random_state=0).split(np.zeros(len(y)), y)
    accuracies = []
    women = []
    for train_idx, test_idx in folds:
        model = make_logistic().fit(train.X.iloc[train_idx], y[train_idx])
        pred = model.predict(train.X.iloc[test_idx])
        accuracies.append((pred == y[test_idx]).mean())
        female = train.frame["sex"].to_numpy()[test_idx] == "Female"
        women.append((pred[female] == y[test_idx][female]).mean())
    curve = compas_curve.curve.set_index(["attribute", "group", "fraction"])
    full = curve.loc[("overall", "overall", 1.0)]
    assert full["mean"] == pytest.approx(np.mean(accuracies), abs=1e-12)
    assert full["std"] == pytest.approx(np.std(accuracies, ddof=1), abs=1e-12)
    half = stats.t.ppf(0.975, 2) * np.std(accuracies, ddof=1) / np.sqrt(3)
    assert full["upper"] - full["mean"] == pytest.approx(half, abs=1e-12)
    assert curve.loc[("sex", "Female", 1.0)]["mean"] == pytest.approx(np.mean(women), abs=1e-12)


def test_sizes_figures_round_trip(compas_curve):
    overall = compas_curve.curve[compas_curve.curve["attribute"] == "overall"]
    assert overall["train_size"].tolist() == sorted(overall["train_size"].tolist())
    assert overall["n_folds"].tolist() == [3, 3]
    figures = compas_curve.figures()
    assert len(figures) == 3  # race, sex, and their intersection
    assert all(trace.error_y.array is not None for trace in figures[0].data)
    back = Result.from_json(compas_curve.to_json())
    assert isinstance(back, LearningCurveResult)


def test_bad_input(compas_split, make_logistic):
    train, _ = compas_split
    with pytest.raises(ParameterError, match=r"learning_curve\(\): cv must be an integer >= 2"):
        learning_curve(make_logistic(), train, cv=1)
    with pytest.raises(ParameterError, match=r"learning_curve\(\): sizes must be"):
        learning_curve(make_logistic(), train, sizes=[0, 0.5])
    with pytest.raises(
        ParameterError, match="estimator must be an unfitted scikit-learn estimator"
    ):
        learning_curve("tree", train)
    with pytest.raises(ParameterError, match=r"learning_curve\(\): ci must be"):
        learning_curve(make_logistic(), train, ci=0.0)
    with pytest.raises(ParameterError, match="asks for"):
        learning_curve(make_logistic(), train, sizes=[10**6], cv=2)


def test_string_labels_use_pos_label_and_its_probability_column(approval):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    ds, _ = approval
    kwargs = {"sizes": [1.0], "cv": 3, "metric": "roc_auc", "random_state": 0}
    with pytest.raises(DataError, match="pos_label"):
        learning_curve(LogisticRegression(), ds, **kwargs)
    r = learning_curve(LogisticRegression(), ds, pos_label="approved", **kwargs)
    assert r.pos_label == "approved" and "'approved'" in r.summary
    y = ds.y.to_numpy()
    aucs = []
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0).split(np.zeros(len(y)), y)
    for train_idx, test_idx in folds:
        model = LogisticRegression().fit(ds.X.iloc[train_idx], y[train_idx])
        score = model.predict_proba(ds.X.iloc[test_idx])[:, 0]  # 'approved' is classes_[0]
        aucs.append(roc_auc_score(y[test_idx] == "approved", score))
    overall = r.curve[r.curve["attribute"] == "overall"].iloc[0]
    assert overall["mean"] == pytest.approx(np.mean(aucs), abs=1e-12)
    assert overall["mean"] > 0.7  # column 1 would give 1 - AUC


def test_ci_sets_the_level_of_the_fold_interval(compas_split, make_logistic, compas_curve):
    train, _ = compas_split
    narrow = learning_curve(
        make_logistic(), train, sizes=[0.2, 1.0], cv=3, random_state=0, ci=0.5
    ).curve
    wide = compas_curve.curve
    ratio = (narrow["upper"] - narrow["lower"]) / (wide["upper"] - wide["lower"])
    df = np.maximum(wide["n_folds"] - 1, 1)
    expected = stats.t.ppf(0.75, df) / stats.t.ppf(0.975, df)
    defined = ratio.notna()  # a group whose metric is undefined in every fold has no interval
    assert defined.sum() >= len(wide) // 2 and (wide["n_folds"] == 3).sum() >= len(wide) // 2
    np.testing.assert_allclose(ratio[defined], expected[defined], rtol=1e-12)
