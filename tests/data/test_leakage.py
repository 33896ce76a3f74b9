"""``raikit.data.leakage``: duplicates across a split, conflicting labels, leaky features, mismatch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from raikit import Dataset
from raikit._errors import ColumnError, ParameterError
from raikit.data import LeakageResult, leakage
from raikit.data._leakage import _single_feature

FAST = {"n_boot": 200, "cv": 3, "random_state": 0}
# the subprocess imports the raikit under test (PYTHONPATH of a worktree, or the installed one)
ENV = {
    "COLUMNS": "200",
    "PATH": "",
    "OMP_NUM_THREADS": "1",
    "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
}


def _frame(n: int, seed: int) -> pd.DataFrame:
    """Independent rows: two continuous features, a category with missing values, a group."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "colour": rng.choice(["red", "green", "blue", None], n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    frame["y"] = (frame["x"] + rng.normal(size=n) > 0).astype(int)
    return frame


def _overall(result: LeakageResult, kind: str) -> pd.Series:
    d = result.duplicates
    return d[(d["kind"] == kind) & (d["attribute"] == "overall")].iloc[0]


def _severe(result: LeakageResult) -> list:
    return [f for f in result.findings if f.severity in ("warning", "error")]


def test_a_planted_duplicate_across_the_split_is_found_with_exact_counts():
    train_frame, test_frame = _frame(400, 1), _frame(150, 2)
    copied = [3, 50, 51, 199, 399]  # training rows copied into the test data, at its end
    test_frame = pd.concat([test_frame, train_frame.iloc[copied]], ignore_index=True)
    train = Dataset(train_frame, target="y", sensitive="sex")
    test = Dataset(test_frame, target="y", sensitive="sex")
    result = leakage(train=train, test=test, **FAST)
    exact = _overall(result, "exact")
    assert (exact["rows"], exact["duplicated"]) == (155, 5)
    assert exact["share"] == pytest.approx(5 / 155) and exact["expected"] == 0.0
    assert exact["lower"] < 5 / 155 < exact["upper"]
    # per group: the copies' own groups
    by_sex = result.duplicates.query("kind == 'exact' and attribute == 'sex'").set_index("group")
    copies_sex = train_frame.iloc[copied]["sex"].value_counts()
    for sex in ("F", "M"):
        assert by_sex.loc[sex, "duplicated"] == copies_sex.get(sex, 0)
        assert by_sex.loc[sex, "rows"] == (test_frame["sex"] == sex).sum()
    pairs = result.examples[result.examples["kind"] == "exact"]
    assert pairs["test_row"].tolist() == [150, 151, 152, 153, 154]
    assert pairs["train_row"].tolist() == copied
    titles = {f.title: f for f in result.findings}
    found = titles["Test rows with exact duplicates in the training data"]
    assert found.severity == "error" and "5 of 155 test rows" in found.detail
    assert _overall(result, "near")["duplicated"] == 0  # exact copies are not counted twice


def test_one_planted_duplicate_is_a_finding():
    train_frame, test_frame = _frame(800, 3), _frame(200, 4)
    test_frame.iloc[7] = train_frame.iloc[11]
    result = leakage(
        train=Dataset(train_frame, target="y", sensitive="sex"),
        test=Dataset(test_frame, target="y", sensitive="sex"),
        **FAST,
    )
    assert _overall(result, "exact")["duplicated"] == 1
    assert [f.title for f in _severe(result)] == [
        "Test rows with exact duplicates in the training data"
    ]
    assert result.examples.iloc[0][["test_row", "train_row"]].tolist() == [7, 11]


def test_near_duplicates_after_tiny_noise_and_normalised_text():
    rng = np.random.default_rng(7)
    train_frame, test_frame = _frame(500, 5), _frame(200, 6)
    rows = train_frame.iloc[:12].copy()
    rows[["x", "z"]] += rng.uniform(-1e-3, 1e-3, size=(12, 2))  # far below 0.01 sd
    rows["colour"] = rows["colour"].str.upper().str.pad(8)  # " RED " matches "red"
    test_frame = pd.concat([test_frame, rows], ignore_index=True)
    result = leakage(
        train=Dataset(train_frame, target="y", sensitive="sex"),
        test=Dataset(test_frame, target="y", sensitive="sex"),
        **FAST,
    )
    assert _overall(result, "exact")["duplicated"] == 0
    # the rule by brute force: same normalised colour (missing with missing), every numeric value
    # within 0.01 training standard deviations
    scale = train_frame[["x", "z"]].std(ddof=0).to_numpy()
    diff = np.abs(test_frame[["x", "z"]].to_numpy()[:, None] - train_frame[["x", "z"]].to_numpy())
    close = (diff / scale <= 0.01).all(axis=2)
    norm = [
        f["colour"].str.strip().str.casefold().fillna("(none)") for f in (test_frame, train_frame)
    ]
    same = norm[0].to_numpy()[:, None] == norm[1].to_numpy()[None, :]
    expected = np.flatnonzero((close & same).any(axis=1))
    assert set(range(200, 212)) <= set(expected)  # every planted row, and chance twins if any
    near = _overall(result, "near")
    assert near["duplicated"] == len(expected)
    examples = result.examples[result.examples["kind"] == "near"]
    assert set(examples["test_row"]) <= set(expected)
    assert (examples["distance"] <= 0.01).all() and len(examples) == min(len(expected), 10)
    assert any(f.severity == "error" and "near" in f.title for f in result.findings)
    # a noise larger than the tolerance is not a near duplicate
    far = leakage(
        train=Dataset(train_frame, target="y", sensitive="sex"),
        test=Dataset(test_frame, target="y", sensitive="sex"),
        duplicate_tolerance=1e-5,
        **FAST,
    )
    assert _overall(far, "near")["duplicated"] == 0
    skipped = leakage(
        train=Dataset(train_frame, target="y", sensitive="sex"),
        test=Dataset(test_frame, target="y", sensitive="sex"),
        duplicate_tolerance=None,
        **FAST,
    )
    assert set(skipped.duplicates["kind"]) == {"exact"}


def test_conflicting_labels_are_counted_exactly():
    nan = np.nan
    train_frame = pd.DataFrame(
        {
            "a": [1, 1, 1, 2, 2, 3, nan, nan, 5],
            "b": ["x", "x", "x", "y", "y", "z", "w", "w", "v"],
            "s": ["F", "M", "F", "M", "F", "M", "F", "M", "F"],
            "y": [0, 1, 1, 0, 0, 1, 0, 1, 1],
        }
    )
    test_frame = pd.DataFrame(
        {
            "a": [1, 2, 2, 3, 4, 9],
            "b": ["x", "y", "y", "z", "q", "r"],
            "s": ["F", "M", "F", "M", "F", "M"],
            "y": [0, 1, 0, 1, 0, 1],
        }
    )
    train = Dataset(train_frame, target="y", sensitive="s")
    test = Dataset(test_frame, target="y", sensitive="s")
    result = leakage(train=train, test=test, duplicate_tolerance=None, **FAST)
    table = result.conflicts.set_index("scope")
    # train: (1, x) has labels 0 and 1 over 3 rows; (NaN, w) has 0 and 1 (missing equals missing)
    assert table.loc["train", ["feature_rows", "rows"]].tolist() == [2, 5]
    assert table.loc["train", "share"] == pytest.approx(5 / 9)
    # test: (2, y) has labels 1 and 0
    assert table.loc["test", ["feature_rows", "rows"]].tolist() == [1, 2]
    # across: (1, x, 0) meets training copies labelled 1; (2, y, 1) meets copies labelled 0;
    # (2, y, 0) and (3, z, 1) agree with theirs; (4, q) and (9, r) have no copy
    assert table.loc["across", ["feature_rows", "rows"]].tolist() == [2, 2]
    assert _overall(result, "exact")["duplicated"] == 4
    pairs = result.examples[result.examples["kind"] == "conflict"]
    assert pairs["test_row"].tolist() == [0, 1]
    for t, r in zip(pairs["test_row"], pairs["train_row"], strict=True):
        assert train_frame.loc[r, ["a", "b"]].tolist() == test_frame.loc[t, ["a", "b"]].tolist()
        assert train_frame.loc[r, "y"] != test_frame.loc[t, "y"]
    titles = {f.title: f.severity for f in result.findings}
    assert titles["Identical rows with different labels in the training data"] == "warning"
    assert (
        "Identical rows with different labels between the test data and its duplicates in training"
        in titles
    )


def test_a_leaky_feature_is_flagged_and_an_honest_one_is_not():
    rng = np.random.default_rng(11)
    n = 3000
    frame = _frame(n, 12)
    flip = rng.random(n) < 0.01
    frame["leak"] = np.where(flip, 1 - frame["y"], frame["y"]).astype(float)  # target, 1% noise
    train = Dataset(frame.iloc[:2000], target="y", sensitive="sex")
    test = Dataset(frame.iloc[2000:], target="y", sensitive="sex")
    result = leakage(train=train, test=test, **FAST)
    features = result.features.set_index("feature")
    leak = features.loc["leak"]
    # a two-valued feature: AUC = (TPR + TNR) / 2, the flips being the misses (about 0.99)
    y, flipped = frame["y"].to_numpy()[:2000], flip[:2000]
    miss_pos, miss_neg = flipped[y == 1].mean(), flipped[y == 0].mean()
    # (cross-fitting adds fold noise between rows of the same value: a little below it)
    assert leak["auc"] == pytest.approx(1 - (miss_pos + miss_neg) / 2, abs=0.01)
    assert leak["lower"] > 0.95 and leak["upper"] <= 1.0
    assert 0.65 < features.loc["x", "auc"] < 0.85  # informative, honestly so
    assert features.loc["z", "auc"] < 0.6
    flagged = [f for f in result.findings if "alone predicts" in f.title]
    assert [(f.severity, f.title.split(" alone")[0]) for f in flagged] == [
        ("error", "Feature leak")
    ]


def test_the_one_feature_auc_equals_scikit_learns_on_its_out_of_fold_scores():
    rng = np.random.default_rng(3)
    n, cv, kx, ky = 1200, 4, 6, 3
    x = rng.integers(kx, size=n)
    y = (x // 2 + rng.integers(2, size=n)) % ky
    fold = rng.integers(cv, size=n)
    auc, lower, upper, _ = _single_feature(x, kx, y, ky, fold, cv, 300, 0.95, rng)
    # the model: P(y | bin) on the other folds, smoothed toward the prior
    prior = np.bincount(y, minlength=ky) / n
    scores = np.zeros((n, ky))
    for f in range(cv):
        other = fold != f
        counts = np.zeros((kx, ky))
        np.add.at(counts, (x[other], y[other]), 1)
        rate = (counts + prior) / (counts.sum(axis=1, keepdims=True) + 1)
        scores[fold == f] = rate[x[fold == f]]
    reference = np.mean([roc_auc_score(y == c, scores[:, c]) for c in range(ky)])
    assert auc == pytest.approx(reference, abs=1e-12)
    assert lower < auc < upper


def test_no_false_alarm_on_clean_independent_splits():
    for seed in range(3):
        frame = _frame(2000, 20 + seed)
        frame.loc[frame.sample(frac=0.1, random_state=seed).index, "z"] = np.nan
        train = Dataset(frame.iloc[:1500], target="y", sensitive="sex")
        test = Dataset(frame.iloc[1500:], target="y", sensitive="sex")
        result = leakage(train=train, test=test, n_boot=200, random_state=seed)
        assert _severe(result) == [], result.findings
        assert result.mismatch["lower"].iloc[0] < 0.5 < result.mismatch["upper"].iloc[0] + 0.05


def test_a_shifted_test_set_is_told_apart():
    train_frame, test_frame = _frame(800, 30), _frame(400, 31)
    test_frame["x"] += 3.0
    result = leakage(
        train=Dataset(train_frame, target="y", sensitive="sex"),
        test=Dataset(test_frame, target="y", sensitive="sex"),
        **FAST,
    )
    assert result.mismatch["lower"].iloc[0] > 0.9
    # the shifted column is the one that tells the sides apart, and the finding names it
    assert result.mismatch["separating"].iloc[0].split(", ")[0] == "x"
    error = [f for f in result.findings if f.severity == "error" and "tells test rows" in f.title]
    assert len(error) == 1 and "tell them apart most: x" in error[0].detail


def test_an_identifier_is_a_finding_of_its_own():
    frame = _frame(600, 40)
    frame["customer_id"] = np.arange(600) * 7 + 1000
    train = Dataset(frame.iloc[:450], target="y", sensitive="sex")
    test = Dataset(frame.iloc[450:], target="y", sensitive="sex")
    result = leakage(train=train, test=test, **FAST)
    features = result.features.set_index("feature")
    assert features["id_like"].to_dict() == {
        "x": False,
        "z": False,
        "colour": False,
        "customer_id": True,
    }
    ids = [f for f in result.findings if "identifier" in f.title]
    assert len(ids) == 1 and "customer_id" in ids[0].title


def test_sensitive_attributes_count_only_when_they_are_features():
    frame = _frame(300, 50)
    train = Dataset(frame.iloc[:200], target="y", sensitive="sex")
    test = Dataset(frame.iloc[200:], target="y", sensitive="sex")
    assert leakage(train=train, test=test, **FAST).meta["columns"] == ["x", "z", "colour"]
    with_sex = train.replace(features=["x", "sex"])
    assert leakage(train=with_sex, test=test, **FAST).meta["columns"] == ["x", "sex"]
    chosen = leakage(train=train, test=test, columns=["colour", "y"], **FAST)
    assert chosen.meta["columns"] == ["colour"]  # the target is never compared


def test_hostile_column_names_are_escaped_in_html():
    frame = _frame(400, 60)
    evil = "<script>alert('x')</script>"
    frame[evil] = frame["y"].astype(float)
    train = Dataset(frame.iloc[:300], target="y", sensitive="sex")
    test = Dataset(pd.concat([frame.iloc[300:], frame.iloc[:3]]), target="y", sensitive="sex")
    result = leakage(train=train, test=test, **FAST)
    assert any(evil in f.title for f in result.findings)
    page = result.to_html()
    assert evil not in page and "&lt;script&gt;" in page
    assert evil not in result._repr_html_()
    back = LeakageResult.from_json(result.to_json())
    pd.testing.assert_frame_equal(back.duplicates, result.duplicates)
    pd.testing.assert_frame_equal(back.features, result.features)
    assert back.findings == result.findings


def test_unlabelled_test_data_and_a_lazy_training_file(tmp_path):
    frame = _frame(300, 70)
    path = tmp_path / "train.csv"
    frame.iloc[:200].to_csv(path, index=False)
    train = Dataset(str(path), target="y", sensitive="sex", lazy=True)
    test = Dataset(frame.iloc[195:].drop(columns="y"), target=None, sensitive="sex")
    result = leakage(train=train, test=test, duplicate_tolerance=None, **FAST)
    assert _overall(result, "exact")["duplicated"] == 5
    assert result.conflicts["scope"].tolist() == ["train"]


def test_bad_arguments_are_parameter_errors():
    frame = _frame(100, 80)
    ds = Dataset(frame, target="y", sensitive="sex")
    with pytest.raises(ParameterError, match=r"leakage\(\): leak_auc must be"):
        leakage(train=ds, test=ds, leak_auc=2.0)
    with pytest.raises(ParameterError, match=r"leakage\(\): duplicate_tolerance must be"):
        leakage(train=ds, test=ds, duplicate_tolerance=-1.0)
    with pytest.raises(ParameterError, match=r"leakage\(\): cv must be"):
        leakage(train=ds, test=ds, cv=1)
    with pytest.raises(ParameterError, match=r"leakage\(\): test must be a raikit Dataset"):
        leakage(train=ds, test=frame)
    with pytest.raises(TypeError):
        leakage(ds, ds)  # the pair is keyword-only
    other = Dataset(frame.drop(columns="z"), target="y", sensitive="sex")
    with pytest.raises(ColumnError, match="the test data lacks column"):
        leakage(train=ds, test=other)


def test_track_records_one_evidence_row(tmp_path):
    import raikit
    from raikit.ledger import Ledger

    frame = _frame(300, 90)
    train = Dataset(frame.iloc[:200], target="y", sensitive="sex")
    test = Dataset(frame.iloc[200:], target="y", sensitive="sex")
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("leakage once", ledger=ledger) as run:
        leakage(train=train, test=test, cv=3, n_boot=100)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["data.leakage"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["cv"] == 3 and params["n_boot"] == 100 and params["leak_auc"] == 0.95
    assert isinstance(params["random_state"], int)  # None became a recorded seed


def test_the_command_line(tmp_path):
    frame = _frame(400, 100)
    frame.iloc[:300].to_csv(tmp_path / "train.csv", index=False)
    pd.concat([frame.iloc[300:], frame.iloc[:4]]).to_csv(tmp_path / "test.csv", index=False)
    args = ["--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv")]
    result = subprocess.run(
        [sys.executable, "-m", "raikit.cli", "data", "leakage", *args, "--target", "y",
         "--sensitive", "sex", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # an error finding: the copied rows
    assert "Test rows with exact duplicates in the training data" in result.stdout
    saved = LeakageResult.from_json(str(tmp_path / "out" / "leakage.json"))
    assert _overall(saved, "exact")["duplicated"] == 4
    assert (tmp_path / "out" / "leakage.html").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "raikit.cli", "data", "leakage", *args, "--sensitive", "sex",
         "--leak-auc", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
    )  # fmt: skip
    assert bad.returncode != 0 and "--leak-auc" in bad.stdout + bad.stderr


def test_the_audit_runs_it_under_practical_accuracy():
    from sklearn.linear_model import LogisticRegression

    import raikit

    frame = _frame(600, 110).drop(columns="colour")
    train = Dataset(frame.iloc[:400], target="y", sensitive="sex")
    test = Dataset(pd.concat([frame.iloc[400:], frame.iloc[:20]]), target="y", sensitive="sex")
    model = LogisticRegression().fit(train.X, train.y)
    report = raikit.audit(
        model, train=train, test=test, sections=["data_leakage"], n_boot=100, random_state=0
    )
    result = report.results["data.leakage"]
    assert _overall(result, "exact")["duplicated"] == 20
    assert report.meta["sections"]["data.leakage"] == "data_leakage"
    accuracy = report.scorecard.set_index("principle").loc["practical_accuracy"]
    assert "data.leakage" in accuracy["evidence"]
    page = report.to_html()
    assert "Does the test data leak into training, or a feature into the target?" in page


def test_a_numeric_target_is_judged_above_and_below_its_median():
    rng = np.random.default_rng(120)
    frame = _frame(1200, 121)
    frame["y"] = frame["x"] * 10 + rng.normal(size=1200)  # a regression target
    frame["copy"] = frame["y"] + rng.normal(scale=0.01, size=1200)  # the target, recorded again
    train = Dataset(frame.iloc[:900], target="y", sensitive="sex")
    assert train.task == "regression"
    test = Dataset(frame.iloc[900:], target="y", sensitive="sex")
    result = leakage(train=train, test=test, duplicate_tolerance=None, **FAST)
    features = result.features.set_index("feature")
    assert features.loc["copy", "lower"] > 0.95 and features.loc["z", "auc"] < 0.6
    assert result.conflicts["rows"].tolist() == [0, 0, 0]  # continuous rows: no identical pairs


def test_the_finding_names_the_group_with_most_copies():
    train_frame, test_frame = _frame(400, 130), _frame(200, 131)
    women = train_frame.index[train_frame["sex"] == "F"][:6]
    test_frame = pd.concat([test_frame, train_frame.loc[women]], ignore_index=True)
    result = leakage(
        train=Dataset(train_frame, target="y", sensitive="sex"),
        test=Dataset(test_frame, target="y", sensitive="sex"),
        **FAST,
    )
    found = next(f for f in result.findings if "exact duplicates" in f.title)
    n_women = int((test_frame["sex"] == "F").sum())
    assert f"Most in the group F of sex: 6 of {n_women} ({6 / n_women:.2%})." in found.detail


def test_a_few_conflicting_labels_among_many_rows_are_context_not_a_warning():
    train_frame, test_frame = _frame(600, 140), _frame(200, 141)
    twin = train_frame.iloc[[0]].assign(y=1 - train_frame["y"].iloc[0])  # 2 of 601 rows
    train_frame = pd.concat([train_frame, twin], ignore_index=True)
    result = leakage(
        train=Dataset(train_frame, target="y", sensitive="sex"),
        test=Dataset(test_frame, target="y", sensitive="sex"),
        **FAST,
    )
    assert result.conflicts.set_index("scope").loc["train", ["feature_rows", "rows"]].tolist() == [
        1,
        2,
    ]
    found = [f for f in result.findings if "different labels" in f.title]
    assert [f.severity for f in found] == ["info"] and "2 rows (0.33%) in 1 set(s)" in found[
        0
    ].detail
    assert _severe(result) == []


def test_max_rows_bounds_the_models_and_never_the_counts():
    train_frame, test_frame = _frame(900, 150), _frame(300, 151)
    test_frame = pd.concat([test_frame, train_frame.iloc[-3:]], ignore_index=True)
    train = Dataset(train_frame, target="y", sensitive="sex")
    test = Dataset(test_frame, target="y", sensitive="sex")
    small = leakage(train=train, test=test, max_rows=200, **FAST)
    assert (small.features["n"] == 200).all()
    assert small.mismatch[["train_rows", "test_rows"]].iloc[0].tolist() == [200, 200]
    assert _overall(small, "exact")[["rows", "duplicated"]].tolist() == [303, 3]  # every row
    everything = leakage(train=train, test=test, max_rows=None, **FAST)
    assert everything.mismatch[["train_rows", "test_rows"]].iloc[0].tolist() == [900, 303]


def test_a_perfect_feature_still_has_an_interval_of_positive_width():
    frame = _frame(400, 160)
    frame["copy"] = frame["y"] * 2.0 - 1.0  # the target itself, recoded
    train = Dataset(frame.iloc[:300], target="y", sensitive="sex")
    test = Dataset(frame.iloc[300:], target="y", sensitive="sex")
    row = leakage(train=train, test=test, **FAST).features.set_index("feature").loc["copy"]
    assert row["auc"] == 1.0 and row["upper"] == 1.0
    m = int(min(frame["y"].iloc[:300].sum(), (1 - frame["y"].iloc[:300]).sum()))
    from raikit.metrics._stats import wilson_interval

    assert row["lower"] == pytest.approx(float(wilson_interval(m, m)[0]))
    assert 0.95 < row["lower"] < 1.0


def test_a_lazy_table_beyond_the_memory_limit_is_refused_with_a_way_out(tmp_path, monkeypatch):
    import raikit.dataset
    from raikit._errors import DataError

    frame = _frame(300, 170)
    frame.to_csv(tmp_path / "big.csv", index=False)
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 100)
    big = Dataset(str(tmp_path / "big.csv"), target="y", sensitive="sex", lazy=True)
    small = Dataset(frame.iloc[:50], target="y", sensitive="sex")
    with pytest.raises(DataError, match=r"leakage\(\) needs the rows in memory.*ds\.sample"):
        leakage(train=big, test=small, **FAST)
