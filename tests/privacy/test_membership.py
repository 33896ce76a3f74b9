"""Membership inference on Adult: an overfit tree leaks, a regularised model does not."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from raikit import DataError, ParameterError, Result
from raikit.datasets import load_adult
from raikit.privacy import membership_inference

NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


@pytest.fixture(scope="module")
def adult():
    train, test = load_adult(split="train"), load_adult(split="test")
    return train.replace(features=NUMERIC), test.replace(test.frame, features=NUMERIC)


@pytest.mark.slow
def test_overfit_tree_leaks_clearly_more_than_a_regularised_model(adult):
    train, test = adult
    tree = DecisionTreeClassifier(random_state=0).fit(train.X, train.y)
    logit = make_pipeline(StandardScaler(), LogisticRegression(C=0.1)).fit(train.X, train.y)
    leaky = membership_inference(tree, train=train, test=test, max_rows=4000, n_boot=200)
    safe = membership_inference(logit, train=train, test=test, max_rows=4000, n_boot=200)
    leaky_auc = leaky.attacks.set_index("attack")["auc"]
    safe_auc = safe.attacks.set_index("attack")
    # Measured: tree AUC about 0.62, logistic regression about 0.50 (no leak).
    assert leaky_auc.min() > 0.58
    assert (safe_auc["auc_lower"] < 0.5).all() and (safe_auc["auc"] < 0.53).all()
    assert leaky_auc["threshold"] - safe_auc.loc["threshold", "auc"] > 0.08
    assert leaky.verdict == "high" and safe.verdict == "low"
    assert any(f.severity == "error" for f in leaky.findings)
    # The training rows listed as most exposed are those the tree fits perfectly.
    assert (leaky.exposed["loss"] < 1e-6).all()


def test_threshold_attack_auc_matches_sklearn_by_hand():
    rng = np.random.default_rng(0)
    import pandas as pd

    from raikit import Dataset

    frame = pd.DataFrame({"x": rng.normal(size=600), "s": rng.choice(["a", "b"], 600)})
    frame["y"] = (frame["x"] + rng.normal(scale=1.0, size=600) > 0).astype(int)
    ds = Dataset(frame, target="y", sensitive="s", features=["x"])
    train, holdout = ds.subset(np.arange(300)), ds.subset(np.arange(300, 600))
    model = LogisticRegression().fit(train.X, train.y)
    report = membership_inference(
        model, train=train, test=holdout, attacks=("threshold",), n_boot=50
    )
    proba = np.r_[
        model.predict_proba(train.X)[np.arange(300), train.y],
        model.predict_proba(holdout.X)[np.arange(300), holdout.y],
    ]
    expected = roc_auc_score(np.r_[np.ones(300), np.zeros(300)], np.log(proba))
    assert report.attacks["auc"].iloc[0] == pytest.approx(expected, abs=1e-12)
    back = Result.from_json(report.to_json())
    assert back.attacks.equals(report.attacks) and len(report.figures()) == 2


def test_bad_input(adult):
    train, test = adult
    tree = DecisionTreeClassifier(max_depth=2).fit(train.X, train.y)
    with pytest.raises(ParameterError, match=r"membership_inference\(\): attacks must be"):
        membership_inference(tree, train=train, test=test, attacks=("lira",))
    with pytest.raises(ParameterError, match=r"membership_inference\(\): attacks must be"):
        membership_inference(tree, train=train, test=test, attacks="threshold")
    with pytest.raises(ParameterError, match=r"membership_inference\(\): ci must be"):
        membership_inference(tree, train=train, test=test, ci=95)
    with pytest.raises(ParameterError, match=r"membership_inference\(\): max_rows must be"):
        membership_inference(tree, train=train, test=test, max_rows=10)
    with pytest.raises(TypeError):  # the pair is keyword-only
        membership_inference(tree, train, test)
    with pytest.raises(ParameterError, match=r"test must be a raikit Dataset"):
        membership_inference(tree, train=train, test=test.frame)
    with pytest.raises(DataError, match="too few rows to attack"):
        membership_inference(tree, train=train.subset(np.arange(20)), test=test)
    other = test.replace(features=["age"])
    with pytest.raises(DataError, match=r"not the model.s inputs: missing \[.fnlwgt."):
        membership_inference(tree, train=train, test=other)


@pytest.mark.slow
def test_privacy_report_command(adult, tmp_path):
    import json
    import subprocess
    import sys

    from raikit import save_model

    train, test = adult
    train.frame.iloc[:3000].to_csv(tmp_path / "train.csv", index=False)
    test.frame.iloc[:3000].to_csv(tmp_path / "holdout.csv", index=False)
    model = DecisionTreeClassifier(random_state=0).fit(train.X.iloc[:3000], train.y.iloc[:3000])
    save_model(model, tmp_path / "tree.skops")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "raikit.cli",
            "privacy",
            "report",
            "--train",
            str(tmp_path / "train.csv"),
            "--holdout",
            str(tmp_path / "holdout.csv"),
            "--model",
            str(tmp_path / "tree.skops"),
            "--target",
            "income",
            "--sensitive",
            "sex,race",
            "--features",
            ",".join(NUMERIC),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert "Membership-inference risk high" in result.stdout
    report = json.loads((tmp_path / "out" / "privacy.json").read_text())
    assert report["type"] == "PrivacyReport"


def test_string_labels_need_no_pos_label():
    """The attack scores the probability of each row's own label: no label is 'positive'."""
    import pandas as pd

    from raikit import Dataset

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=600), "s": rng.choice(["a", "b"], 600)})
    frame["y"] = np.where(frame["x"] + rng.normal(size=600) > 0, "denied", "approved")
    ds = Dataset(frame, target="y", sensitive="s", features=["x"])
    train, holdout = ds.subset(np.arange(300)), ds.subset(np.arange(300, 600))
    model = LogisticRegression().fit(train.X, train.y)
    report = membership_inference(
        model, train=train, test=holdout, attacks=("threshold",), n_boot=50
    )
    own = [
        model.predict_proba(d.X)[np.arange(300), (d.y == "denied").to_numpy().astype(int)]
        for d in (train, holdout)
    ]
    expected = roc_auc_score(np.r_[np.ones(300), np.zeros(300)], np.log(np.r_[own[0], own[1]]))
    assert report.attacks["auc"].iloc[0] == pytest.approx(expected, abs=1e-12)
    assert set(report.by_class["class"]) == {"approved", "denied"}


def test_track_records_one_row_with_its_parameters(tmp_path):
    """One evidence row per call (its two group_metrics calls per attack record nothing), with
    every parameter and the seed that replays it."""
    import json

    import pandas as pd

    import raikit
    from raikit import Dataset
    from raikit.ledger import Ledger

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=400), "s": rng.choice(["a", "b"], 400)})
    frame["y"] = (frame["x"] + rng.normal(size=400) > 0).astype(int)
    ds = Dataset(frame, target="y", sensitive="s", features=["x"])
    train, test = ds.subset(np.arange(200)), ds.subset(np.arange(200, 400))
    model = LogisticRegression().fit(train.X, train.y)
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("privacy", ledger=ledger) as run:
        first = membership_inference(
            model, train=train, test=test, attacks=["threshold"], n_boot=40
        )
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["privacy.membership_inference"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["attacks"] == ["threshold"] and params["n_boot"] == 40
    assert params["max_rows"] == 20_000 and params["ci"] == 0.95
    again = membership_inference(
        model,
        train=train,
        test=test,
        attacks=["threshold"],
        n_boot=40,
        random_state=params["random_state"],
    )
    pd.testing.assert_frame_equal(first.attacks, again.attacks)
    pd.testing.assert_frame_equal(first.exposed, again.exposed)


def test_a_generator_seed_gives_a_json_report():
    """A numpy Generator is accepted; the report records the integer seed it drew (JSON-safe)."""
    import pandas as pd

    from raikit import Dataset

    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"x": rng.normal(size=300), "s": rng.choice(["a", "b"], 300)})
    frame["y"] = (frame["x"] > 0).astype(int)
    ds = Dataset(frame, target="y", sensitive="s", features=["x"])
    train, test = ds.subset(np.arange(150)), ds.subset(np.arange(150, 300))
    model = LogisticRegression().fit(train.X, train.y)
    report = membership_inference(
        model,
        train=train,
        test=test,
        attacks=["threshold"],
        n_boot=30,
        ci=0.9,
        random_state=np.random.default_rng(1),
    )
    assert isinstance(report.meta["random_state"], int)
    assert report.meta["ci"] == 0.9 and "90% CI" in report.figures()[1].layout.title.text
    assert Result.from_json(report.to_json()).meta == report.meta


class _Memoriser:
    """Recalls the label of every row whose ``hint`` holds it (1% of the training rows: group
    B's), and says 0.5 for every other row."""

    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        hint = X["hint"].to_numpy(float)
        p = np.where(hint == 1, 0.99, np.where(hint == 0, 0.01, 0.5))
        return np.column_stack([1 - p, p])


def _memorised_minority(n=20_000, seed=0):
    import pandas as pd

    from raikit import Dataset

    rng = np.random.default_rng(seed)
    s = np.tile(np.where(np.arange(n) < n // 100, "B", "A"), 2)
    y = rng.integers(0, 2, 2 * n)
    member = np.arange(2 * n) < n
    hint = np.where(member & (s == "B"), y, 0.5)
    frame = pd.DataFrame({"hint": hint, "s": s, "y": y})
    ds = Dataset(frame, target="y", sensitive="s", features=["hint"])
    return ds.subset(np.arange(n)), ds.subset(np.arange(n, 2 * n))


def test_max_rows_attacks_stratified_samples_and_reweights_them():
    train, test = _memorised_minority()
    model = _Memoriser()
    kwargs = {"attacks": ["threshold"], "n_boot": 200, "random_state": 0}
    full = membership_inference(model, train=train, test=test, **kwargs)
    sampled = membership_inference(model, train=train, test=test, max_rows=100, **kwargs)
    # B's members always beat a non-member (their loss is 0.01, everyone else's 0.69); A's tie:
    # the population AUC is B's share of the members (1%) x 1 + 99% x 0.5
    truth = 0.01 * 1 + 0.99 * 0.5
    assert full.attacks.loc[0, "auc"] == pytest.approx(truth)
    assert full.meta["sampling"] == {"members": None, "non_members": None}
    assert "sample" not in full.summary
    # every group kept on both sides: 30 rows each first, the other 40 in proportion to what
    # is left (all to A); the weighted AUC is the population's exactly
    for side in ("members", "non_members"):
        strata = sampled.meta["sampling"][side].set_index("s")
        assert strata["sampled"].to_dict() == {"A": 70, "B": 30}
        assert strata["population"].to_dict() == {"A": 19_800, "B": 200}
    assert sampled.meta["n_members"] == sampled.meta["n_non_members"] == 100
    row = sampled.attacks.iloc[0]
    assert row["auc"] == pytest.approx(truth)
    # advantage: the share of the members' weight that is B's (TPR 1%, FPR 0)
    assert row["advantage"] == pytest.approx(0.01)
    # the unweighted sample (30 of its 100 members are B's) would say 0.65, outside the interval
    naive = 0.3 * 1 + 0.7 * 0.5
    assert row["auc_lower"] <= truth <= row["auc_upper"] < naive
    assert (
        row["auc_upper"] - row["auc_lower"]
        > full.attacks.loc[0, "auc_upper"] - (full.attacks.loc[0, "auc_lower"])
    )
    # B keeps its 30 rows per side, so its exposure is measured and reported
    by_group = sampled.by_group.set_index("group")
    assert by_group.loc["B", "value"] == pytest.approx(1.0)
    assert by_group.loc["A", "value"] == pytest.approx(0.5)
    assert any(f.slice == "s=B" for f in sampled.findings)
    assert (
        "100 members vs as many non-members, on samples of the 20,000 training and 20,000 test "
        "rows, stratified by group and reweighted" in sampled.summary
    )
    # the sampling record survives the JSON the ledger stores
    back = type(sampled).from_json(sampled.to_json())
    assert back.summary == sampled.summary
    assert back.meta["sampling"]["members"].equals(sampled.meta["sampling"]["members"])


def test_small_data_is_attacked_as_before():
    """Below max_rows nothing is stratified or weighted: the members are a uniform sample of the
    training rows the size of the test set, the AUC the plain unweighted one."""
    train, test = _memorised_minority(n=2_000)
    train = train.subset(np.arange(1_500))  # 1,500 training rows, 2,000 test rows
    report = membership_inference(
        _Memoriser(), train=train, test=test, attacks=["threshold"], n_boot=50, random_state=0
    )
    assert report.meta["sampling"] == {"members": None, "non_members": None}
    assert report.meta["n_members"] == report.meta["n_non_members"] == 1_500
    # every member is attacked: B's 20 of 1,500 always win, the rest tie
    assert report.attacks.loc[0, "auc"] == pytest.approx(20 / 1_500 + (1 - 20 / 1_500) * 0.5)
