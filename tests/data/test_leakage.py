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


def test_a_lazy_table_beyond_the_memory_limit_is_checked_where_its_rows_live(tmp_path, monkeypatch):
    """It was refused (a DataError: load it or sample it); now the counts run in DuckDB and
    the rest on a sample of max_rows rows."""
    import raikit.dataset

    frame = _frame(300, 170)
    frame.to_csv(tmp_path / "big.csv", index=False)
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 100)
    big = Dataset(str(tmp_path / "big.csv"), target="y", sensitive="sex", lazy=True)
    small = Dataset(frame.iloc[:50], target="y", sensitive="sex")
    result = leakage(train=big, test=small, max_rows=100, **FAST)
    assert _overall(result, "exact")[["rows", "duplicated"]].tolist() == [50, 50]
    assert result.meta["sampling"]["train"] == result.meta["sampling"]["train"] | {
        "sampled": 100,
        "population": 300,
    }


# --------------------------------------------------------------------------- scale and lazy tables
def _planted(seed: int, n_train: int = 400, n_test: int = 250):
    """Coarse rows (chance twins within training), copies across the split (some relabelled),
    near copies (tiny noise, upper-cased text), conflicting copies within each side."""
    rng = np.random.default_rng(seed)

    def rows(n):
        return pd.DataFrame(
            {
                "x": rng.normal(size=n).round(2),
                "k": rng.integers(0, 3, n).astype(float),
                "colour": rng.choice(["red", "green", None], n),
                "sex": rng.choice(["F", "M"], n),
                "race": rng.choice(["p", "q", "r"], n, p=[0.6, 0.3, 0.1]),
                "y": rng.integers(0, 2, n),
            }
        )

    train, test = rows(n_train), rows(n_test)
    train.loc[:9, "k"] = np.nan  # missing equals missing
    copies = train.iloc[:40].copy()  # 40 exact copies, 15 of them relabelled
    copies.loc[copies.index[:15], "y"] = 1 - copies["y"].iloc[:15]
    near = train.iloc[40:60].copy()
    near["x"] += rng.uniform(-1e-3, 1e-3, 20)
    near["colour"] = near["colour"].str.upper()
    test = pd.concat([test, copies, near], ignore_index=True)
    train.loc[n_train - 5 :, ["x", "k", "colour"]] = train.loc[100:104, ["x", "k", "colour"]].values
    train.loc[n_train - 5 :, "y"] = 1 - train.loc[100:104, "y"].to_numpy()
    test.loc[n_test - 3 : n_test - 1, ["x", "k", "colour"]] = test.loc[
        :2, ["x", "k", "colour"]
    ].values
    test.loc[n_test - 3 : n_test - 1, "y"] = 1 - test.loc[:2, "y"].to_numpy()
    return train, test


def _by_definition(train: pd.DataFrame, test: pd.DataFrame, names, tolerance: float):
    """The old definitions, by brute force over row pairs: exact (equal values, missing equals
    missing), near (same normalised text and missingness, every numeric within ``tolerance``
    training sds), conflicts (labels differing among equal rows)."""
    numeric = [c for c in names if pd.api.types.is_numeric_dtype(train[c])]
    text = [c for c in names if c not in numeric]
    key = lambda f: f[names].astype(object).where(f[names].notna(), "<NA>").apply(tuple, axis=1)  # noqa: E731
    k_train, k_test = key(train), key(test)
    copies = k_train.value_counts()
    exact = k_test.isin(set(k_train)).to_numpy()
    twins = (k_train.map(copies) >= 2).to_numpy()
    values = [f[numeric].to_numpy(float) for f in (train, test)]
    mean, sd = np.nanmean(values[0], axis=0), np.nanstd(values[0], axis=0)

    def close(a, b):
        za, zb = (a - mean) / sd, (b - mean) / sd
        both_missing = np.isnan(za)[:, None] & np.isnan(zb)[None]
        diff = np.abs(za[:, None] - zb[None])
        return (np.where(both_missing, 0.0, diff) <= tolerance).all(axis=2)

    def same(fa, fb):
        out = np.ones((len(fa), len(fb)), dtype=bool)
        for c in text:
            a = fa[c].str.strip().str.casefold().fillna("<NA>").to_numpy()
            b = fb[c].str.strip().str.casefold().fillna("<NA>").to_numpy()
            out &= a[:, None] == b[None]
        return out

    near_test = close(values[1], values[0]) & same(test, train)
    near_train = close(values[0], values[0]) & same(train, train)
    hits = near_test.any(axis=1)
    near_twins = near_train.sum(axis=1) > 1
    distance = np.where(
        near_test,
        np.abs((values[1] - mean)[:, None] / sd - (values[0] - mean)[None] / sd).max(axis=2),
        np.inf,
    )

    def within(k, y):
        labels = pd.DataFrame({"k": k, "y": y}).groupby("k")["y"].nunique()
        bad = labels[labels >= 2].index
        return len(bad), int(k.isin(bad).sum())

    across = np.array(
        [any(train["y"][k_train == k] != y) for k, y in zip(k_test, test["y"], strict=True)]
    )
    return {
        "exact": exact,
        "twins": twins,
        "near": hits & ~exact,
        "near_twins": near_twins & ~twins,
        "distance": distance,
        "train": within(k_train, train["y"]),
        "test": within(k_test, test["y"]),
        "across": (k_test[across].nunique(), int(across.sum())),
    }


def test_the_fast_path_equals_the_definition_on_planted_duplicates_and_conflicts():
    train_frame, test_frame = _planted(3)
    names = ["x", "k", "colour"]
    kw = {"target": "y", "sensitive": ["sex", "race"], "features": names}
    result = leakage(
        train=Dataset(train_frame, **kw), test=Dataset(test_frame, **kw), max_rows=None, **FAST
    )
    truth = _by_definition(train_frame, test_frame, names, 0.01)
    assert truth["exact"].sum() >= 40 and truth["near"].sum() >= 20  # the plants are there
    d = result.duplicates.set_index(["kind", "attribute", "group"])
    for kind, flags, twins in (
        ("exact", truth["exact"], truth["twins"]),
        ("near", truth["near"], truth["near_twins"]),
    ):
        assert d.loc[(kind, "overall", "overall"), "duplicated"] == flags.sum()
        assert d.loc[(kind, "overall", "overall"), "expected"] == pytest.approx(twins.mean())
        for group in ("p", "q", "r"):
            in_group = (test_frame["race"] == group).to_numpy()
            assert d.loc[(kind, "race", group), "duplicated"] == flags[in_group].sum()
    conflicts = result.conflicts.set_index("scope")
    for scope in ("train", "test", "across"):
        assert tuple(conflicts.loc[scope, ["feature_rows", "rows"]]) == truth[scope], scope
    assert truth["train"][1] >= 10 and truth["across"][1] >= 15
    near = result.examples[result.examples["kind"] == "near"]
    assert len(near) == 10
    for row in near.itertuples():  # the nearest training row, the first among equally near
        best = truth["distance"][row.test_row]
        assert row.distance == pytest.approx(best.min(), abs=1e-12)
        assert row.train_row == np.flatnonzero(np.isclose(best, best.min(), rtol=0, atol=1e-12))[0]


def _lazy_pair(tmp_path, train_frame, test_frame, **kw):
    paths = tmp_path / "train.parquet", tmp_path / "test.parquet"
    train_frame.to_parquet(paths[0])
    test_frame.to_parquet(paths[1])
    return (Dataset(str(p), lazy=True, name=p.stem, **kw) for p in paths)


def test_on_lazy_tables_the_exact_counts_equal_the_in_memory_ones_without_loading(
    tmp_path, monkeypatch
):
    import raikit.dataset

    train_frame, test_frame = _planted(4, n_train=3000, n_test=1500)
    kw = {"target": "y", "sensitive": ["sex", "race"], "features": ["x", "k", "colour"]}
    in_memory = leakage(
        train=Dataset(train_frame, **kw), test=Dataset(test_frame, **kw), max_rows=500, **FAST
    )
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1000)  # a full load would raise
    lazy_train, lazy_test = _lazy_pair(tmp_path, train_frame, test_frame, **kw)
    lazy = leakage(train=lazy_train, test=lazy_test, max_rows=500, **FAST)
    exact = [r.duplicates[r.duplicates["kind"] == "exact"] for r in (in_memory, lazy)]
    pd.testing.assert_frame_equal(exact[0], exact[1])
    pd.testing.assert_frame_equal(in_memory.conflicts, lazy.conflicts)
    assert lazy.conflicts.set_index("scope").loc["across", "rows"] >= 15
    # the sampled parts: said in meta and in the summary
    sampling = lazy.meta["sampling"]
    assert sampling["train"] == sampling["train"] | {"sampled": 500, "population": 3000}
    assert {s["race"] for s in sampling["train"]["strata"]} == {"p", "q", "r"}
    assert sampling["sampled"] == [
        "near duplicates",
        "single features",
        "the train/test classifier",
    ]
    assert "on a sample of 500 of 3,000 rows, stratified by group" in lazy.summary
    assert (lazy.features["n"] == 500).all() and lazy.examples.empty
    near = lazy.duplicates[lazy.duplicates["kind"] == "near"]
    assert near.iloc[0]["rows"] == 500
    assert in_memory.meta["sampling"] is None
    # a lazy side beside an in-memory one: the in-memory rows go to DuckDB
    mixed = leakage(train=lazy_train, test=Dataset(test_frame, **kw), max_rows=500, **FAST)
    pd.testing.assert_frame_equal(in_memory.conflicts, mixed.conflicts)
    assert mixed.duplicates.iloc[0]["duplicated"] == exact[0].iloc[0]["duplicated"]
    back = LeakageResult.from_dict(json.loads(json.dumps(lazy.to_dict())))
    assert back.summary == lazy.summary


def test_the_audit_section_runs_on_lazy_tables(tmp_path, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    import raikit.dataset
    from raikit.audit import audit

    train_frame, test_frame = _planted(5, n_train=12_000, n_test=11_000)  # above max_rows
    kw = {"target": "y", "sensitive": ["sex", "race"], "features": ["x", "k"]}
    model = LogisticRegression().fit(train_frame[["x", "k"]].fillna(0), train_frame["y"])
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 5000)
    train_frame["k"] = train_frame["k"].fillna(0)
    test_frame["k"] = test_frame["k"].fillna(0)
    lazy_train, lazy_test = _lazy_pair(tmp_path, train_frame, test_frame, **kw)
    report = audit(
        model,
        train=lazy_train,
        test=lazy_test,
        sections=["data_leakage"],
        n_boot=50,
        random_state=0,
    )
    found = report.results["data.leakage"]
    in_memory = leakage(train=Dataset(train_frame, **kw), test=Dataset(test_frame, **kw), **FAST)
    first = [r.duplicates.iloc[0][["rows", "duplicated"]].tolist() for r in (found, in_memory)]
    assert first[0] == first[1] and first[0][1] >= 40


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:PySpark does not yet:FutureWarning")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_on_spark_the_exact_counts_equal_the_in_memory_ones(spark):
    pytest.importorskip("pyspark")
    train_frame, test_frame = _planted(6, n_train=600, n_test=300)
    kw = {"target": "y", "sensitive": ["sex", "race"], "features": ["x", "k", "colour"]}
    in_memory = leakage(
        train=Dataset(train_frame, **kw), test=Dataset(test_frame, **kw), max_rows=200, **FAST
    )
    on_spark = leakage(
        train=Dataset(spark.createDataFrame(train_frame), **kw),
        test=Dataset(spark.createDataFrame(test_frame), **kw),
        max_rows=200,
        **FAST,
    )
    exact = [r.duplicates[r.duplicates["kind"] == "exact"] for r in (in_memory, on_spark)]
    pd.testing.assert_frame_equal(exact[0], exact[1])
    pd.testing.assert_frame_equal(in_memory.conflicts, on_spark.conflicts)
    assert exact[0].iloc[0]["duplicated"] >= 40


def test_hostile_column_names_reach_sql_quoted(tmp_path, monkeypatch):
    import raikit.dataset
    from raikit.data import scan_pii

    hostile = ['x"; DROP TABLE t; --', "k`) OR 1=1 --", "colour'\\"]
    train_frame, test_frame = _planted(8, n_train=1500, n_test=1200)
    renamed = dict(zip(["x", "k", "colour"], hostile, strict=True)) | {"sex": "s\"e'x`"}
    train_frame, test_frame = (f.rename(columns=renamed) for f in (train_frame, test_frame))
    kw = {"target": "y", "sensitive": ["s\"e'x`"], "features": hostile}
    in_memory = leakage(
        train=Dataset(train_frame, **kw), test=Dataset(test_frame, **kw), max_rows=300, **FAST
    )
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1000)
    lazy_train, lazy_test = _lazy_pair(tmp_path, train_frame, test_frame, **kw)
    lazy = leakage(train=lazy_train, test=lazy_test, max_rows=300, **FAST)
    exact = [r.duplicates[r.duplicates["kind"] == "exact"] for r in (in_memory, lazy)]
    pd.testing.assert_frame_equal(exact[0], exact[1])
    pd.testing.assert_frame_equal(in_memory.conflicts, lazy.conflicts)
    risk = scan_pii(lazy_train, quasi_identifiers=hostile[1:], random_state=0).risk
    expected = scan_pii(Dataset(train_frame, **kw), quasi_identifiers=hostile[1:], random_state=0)
    pd.testing.assert_frame_equal(risk, expected.risk)
