"""MLClean: duplicates, sanitisation per group, reweighing, the change log, errors and the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from raikit import Dataset
from raikit._errors import ColumnError, DataError, FileFormatError, ParameterError
from raikit._result import Result
from raikit.data import MLCleanResult, clean


def _people(n: int, seed: int) -> pd.DataFrame:
    """Distinct rows: two categoricals, two numerics on very different scales."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "job": rng.choice(["clerk", "nurse", "driver"], n),
            "sex": rng.choice(["F", "M"], n),
            "age": rng.normal(40, 12, n).round(1),
            "income": rng.normal(50_000, 15_000, n).round(0),
            "y": rng.integers(0, 2, n),
        }
    )


def _only_duplicates(data, **params) -> MLCleanResult:
    return clean(data, sanitize="none", reweigh=False, random_state=0, **params)


# --------------------------------------------------------------------------- duplicates
def test_exact_duplicates_found_exactly_after_normalising_text():
    base = _people(300, 0)
    copies = base.iloc[[3, 10, 10, 250]].copy()
    copies["job"] = copies["job"].str.upper() + "  "  # same value after strip + casefold
    frame = pd.concat([base, copies], ignore_index=True)
    result = _only_duplicates(Dataset(frame, target="y", sensitive="sex"), duplicate_tolerance=0)
    merged = result.changes[result.changes["action"] == "merged"]
    assert sorted(merged["row"]) == [300, 301, 302, 303]
    assert merged.set_index("row")["merged_into"].to_dict() == {
        300: 3,
        301: 10,
        302: 10,
        303: 250,
    }
    assert merged["reason"].str.startswith("exact duplicate of row").all()
    assert (merged["score"] == 0).all()
    assert result.n_rows_out == 300
    assert list(result.cleaned.index) == list(range(300))


def test_near_duplicates_with_tiny_noise_are_merged_and_distinct_rows_are_not():
    base = _people(400, 1)
    sd_income = base["income"].std(ddof=0)
    near = base.iloc[:20].copy()
    near["income"] += 0.002 * sd_income  # well inside 0.01 sd
    far = base.iloc[20:40].copy()
    far["income"] += 0.5 * sd_income  # a different person
    frame = pd.concat([base, near, far], ignore_index=True)
    result = _only_duplicates(Dataset(frame, target="y", sensitive="sex"))
    merged = result.changes[result.changes["action"] == "merged"]
    assert sorted(merged["row"]) == list(range(400, 420))
    assert (merged["merged_into"].to_numpy() == np.arange(20)).all()
    assert merged["reason"].str.startswith("near duplicate of row").all()
    np.testing.assert_allclose(merged["score"], 0.002, rtol=0.05)
    # the same data with tolerance 0: only exact copies, so nothing here
    strict = _only_duplicates(Dataset(frame, target="y", sensitive="sex"), duplicate_tolerance=0)
    assert strict.n_merged == 0


def test_different_categories_are_never_merged():
    base = _people(200, 2)
    other = base.copy()
    other["job"] = other["job"].map({"clerk": "nurse", "nurse": "driver", "driver": "clerk"})
    frame = pd.concat([base, other], ignore_index=True)
    result = _only_duplicates(Dataset(frame, target="y", sensitive="sex"), duplicate_tolerance=1.0)
    merged = result.changes[result.changes["action"] == "merged"]
    kept_job = frame["job"].to_numpy()[merged["merged_into"]]
    assert (frame["job"].to_numpy()[merged["row"]] == kept_job).all()


def test_conflicting_duplicate_labels_keep_the_majority_and_say_so():
    base = _people(100, 3)
    base.loc[5, "y"] = 0
    copies = base.iloc[[5, 5, 5]].copy()
    copies["y"] = [1, 1, 1]  # three copies say 1, the original says 0
    frame = pd.concat([base, copies], ignore_index=True)
    result = _only_duplicates(Dataset(frame, target="y", sensitive="sex"))
    merged = result.changes[result.changes["action"] == "merged"].set_index("row")
    # the representative is the first row with the majority label 1 (row 100)
    assert sorted(merged.index) == [5, 101, 102]
    assert set(merged["merged_into"]) == {100}
    assert merged["reason"].str.contains("labels conflict").all()
    assert "kept label 1, this row had 0" in merged.loc[5, "reason"]
    assert result.cleaned.loc[100, "y"] == 1
    assert any("conflicting labels" in f.title for f in result.findings)


# --------------------------------------------------------------------------- sanitisation
def _separable(n: int, seed: int, flip_rate: float):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    group = np.where(rng.random(n) < 0.5, "a", "b")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    flipped = rng.random(n) < flip_rate
    y_noisy = np.where(flipped, 1 - y, y)
    frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "g": group, "y": y_noisy})
    return frame, flipped


@pytest.mark.parametrize(
    ("sanitize", "contamination", "min_precision", "min_recall"),
    [
        ("loss+distance", 0.1, 0.75, 0.75),
        ("loss", 0.1, 0.8, 0.8),
        ("distance", 0.1, 0.6, 0.6),
        ("loss", "auto", 0.8, 0.8),
    ],
)
def test_injected_label_flips_are_flagged(sanitize, contamination, min_precision, min_recall):
    frame, flipped = _separable(2000, 4, 0.1)
    result = clean(
        Dataset(frame, target="y", sensitive="g"),
        duplicate_tolerance=None,
        contamination=contamination,
        sanitize=sanitize,
        estimator=LogisticRegression(),
        random_state=0,
    )
    removed = result.changes.loc[result.changes["action"] == "removed", "row"].to_numpy()
    precision = flipped[removed].mean()
    recall = flipped[removed].sum() / flipped.sum()
    assert precision >= min_precision, precision
    assert recall >= min_recall, recall


def test_error_counts_by_hand():
    """Confident learning with thresholds re-estimated on the rows a first pass kept.

    First pass: t0 = mean p0 of label 0 = (.9 + .8 + .7 + .1) / 4 = .625, t1 = 3.6 / 6 = .6; it
    flags rows 3, 8 and 9. Second pass: t0 = (.9 + .8 + .7) / 3 = .8, t1 = (.9 + .8 + .9 + .7) / 4
    = .825. Label 0: rows 0, 1 confident in 0, row 3 in 1, row 2 in neither: joint (2, 1),
    calibrated to 4 rows, 4/3 -> 1 error. Label 1: two rows confident in 1, two in 0, two in
    neither: (2, 2) calibrated to 6 rows -> 3 errors."""
    from raikit.data._label_issues import confident_learning
    from raikit.data._mlclean import _error_counts

    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    p1 = np.array([0.1, 0.2, 0.3, 0.9, 0.9, 0.8, 0.9, 0.7, 0.1, 0.2])
    probs = np.column_stack([1 - p1, p1])
    first, _ = confident_learning(labels, probs)
    assert np.flatnonzero(first).tolist() == [3, 8, 9]
    assert _error_counts(labels, probs, 2).tolist() == [1, 3]


def _one_sided(n: int, seed: int, rate: float):
    """Noisy linear rule, two groups; ``rate`` of the label-0 rows flipped to 1 (one direction)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    group = np.where(rng.random(n) < 0.5, "a", "b")
    y = (x[:, 0] + 0.5 * x[:, 1] + 0.5 * rng.normal(size=n) > 0).astype(int)
    flipped = (y == 0) & (rng.random(n) < rate)
    frame = pd.DataFrame(
        {"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "g": group, "y": np.where(flipped, 1, y)}
    )
    return frame, flipped


def test_auto_under_one_sided_noise_spares_the_clean_label():
    """30% of label 0 flipped to 1 and never the reverse: plain confident learning (thresholds
    pulled down by the flips) counts 80-95 correct label-0 rows per group as errors; with the
    re-estimated thresholds "auto" removes about a third as many and more of the flips."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from raikit.data._label_issues import confident_learning
    from raikit.data._mlclean import _error_counts

    frame, flipped = _one_sided(3000, 3, 0.3)
    labels = frame["y"].to_numpy()
    probs = cross_val_predict(
        LogisticRegression(),
        frame[["x0", "x1", "x2"]],
        labels,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        method="predict_proba",
    )
    plain_zero = 0
    for g in ("a", "b"):
        rows = (frame["g"] == g).to_numpy()
        mask, _ = confident_learning(labels[rows], probs[rows])
        plain = np.bincount(labels[rows][mask], minlength=2)
        refined = _error_counts(labels[rows], probs[rows], 2)
        truth = np.bincount(labels[rows][flipped[rows]], minlength=2)
        assert truth[0] == 0
        assert refined[0] < plain[0] / 2
        assert abs(refined[1] - truth[1]) < abs(plain[1] - truth[1])
        plain_zero += plain[0]
    result = clean(
        Dataset(frame, target="y", sensitive="g"),
        duplicate_tolerance=None,
        estimator=LogisticRegression(),
        random_state=0,
    )
    removed = result.changes.loc[result.changes["action"] == "removed", "row"].to_numpy()
    assert (labels[removed] == 0).sum() < plain_zero / 2
    assert flipped[removed].mean() > 0.75


def test_defaults():
    import inspect

    params = inspect.signature(clean).parameters
    assert (params["sanitize"].default, params["contamination"].default) == ("loss", "auto")
    assert params["random_state"].default is None


def test_small_clean_minority_is_not_flagged_disproportionately():
    """A 10% group whose label follows the opposite rule: a group-blind sanitiser takes it for
    noise; scoring within (group, label) cells keeps its flag rate at the contamination."""
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.normal(size=(n, 2))
    minority = rng.random(n) < 0.1
    y = np.where(minority, x[:, 0] < 0, x[:, 0] > 0).astype(int)
    frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "g": np.where(minority, "m", "M"), "y": y})
    rates = {}
    for per_group in (True, False):
        result = clean(
            Dataset(frame, target="y", sensitive="g"),
            duplicate_tolerance=None,
            contamination=0.1,
            sanitize="loss",
            per_group=per_group,
            reweigh=False,
            estimator=LogisticRegression(),
            random_state=0,
        )
        table = result.by_group.set_index("group")
        rates[per_group] = table["removal_rate"].to_dict()
    assert rates[True]["g=m"] == pytest.approx(0.1, abs=0.01)
    assert rates[True]["g=M"] == pytest.approx(0.1, abs=0.01)
    assert rates[False]["g=m"] > 3 * rates[False]["g=M"]
    assert rates[False]["g=m"] > 0.4


def test_auto_never_empties_a_small_group():
    """Eight rows of a tiny group all contradict the majority's rule: confident learning on the
    population would flag every one; the tiny group takes the population's rate instead and no
    cell loses more than half its rows."""
    frame, _ = _separable(1500, 13, 0.05)
    tiny = frame.iloc[:8].copy()
    tiny["g"] = "tiny"
    tiny["y"] = 1 - ((tiny["x0"] + 0.5 * tiny["x1"]) > 0).astype(int)
    frame = pd.concat([frame, tiny], ignore_index=True)
    result = clean(
        Dataset(frame, target="y", sensitive="g"),
        duplicate_tolerance=None,
        estimator=LogisticRegression(),
        random_state=0,
    )
    cells = result.by_cell[result.by_cell["group"] == "g=tiny"]
    assert (cells["rows_out"] >= cells["rows_in"] - cells["rows_in"] // 2).all()
    assert cells["rows_out"].sum() >= 6
    assert result.meta["contamination"] == "auto"


def test_top_share_is_removed_in_every_cell():
    frame, _ = _separable(1000, 6, 0.05)
    result = clean(
        Dataset(frame, target="y", sensitive="g"),
        duplicate_tolerance=None,
        contamination=0.2,
        sanitize="distance",
        reweigh=False,
        random_state=0,
    )
    cells = result.by_cell
    expected = np.floor(cells["rows_in"] * 0.2 + 0.5).astype(int)
    assert (cells["removed"] == expected).all()


# --------------------------------------------------------------------------- reweighing
def test_weights_equal_kamiran_calders_by_hand():
    frame = pd.DataFrame(
        {
            "x": np.arange(10.0),
            "s": ["a"] * 6 + ["b"] * 4,
            "y": [1, 1, 1, 1, 0, 0, 1, 0, 0, 0],
        }
    )
    result = clean(
        Dataset(frame, target="y", sensitive="s"), duplicate_tolerance=None, sanitize="none"
    )
    # n = 10; P(a) = .6, P(b) = .4, P(y=1) = .5; P(a,1) = .4, P(a,0) = .2, P(b,1) = .1, P(b,0) = .3
    by_hand = {("a", 1): 0.6 * 0.5 / 0.4, ("a", 0): 0.6 * 0.5 / 0.2}
    by_hand |= {("b", 1): 0.4 * 0.5 / 0.1, ("b", 0): 0.4 * 0.5 / 0.3}
    expected = [by_hand[(s, y)] for s, y in zip(frame["s"], frame["y"], strict=True)]
    np.testing.assert_allclose(result.sample_weight, expected, rtol=1e-12)
    assert result.sample_weight.sum() == pytest.approx(10)
    reweighed = result.changes[result.changes["action"] == "reweighed"]
    assert len(reweighed) == 10
    assert "4 x 5 / (10 x 1)" in reweighed.set_index("row").loc[6, "reason"]


def test_weights_are_computed_after_cleaning():
    frame, _ = _separable(600, 7, 0.1)
    frame = pd.concat([frame, frame.iloc[:30]], ignore_index=True)  # 30 exact copies
    result = clean(
        Dataset(frame, target="y", sensitive="g"),
        estimator=LogisticRegression(),
        cv=3,
        random_state=0,
    )
    kept = result.cleaned
    n = len(kept)
    joint = kept.groupby(["g", "y"]).size() / n
    p_g = kept.groupby("g").size() / n
    p_y = kept.groupby("y").size() / n
    expected = [p_g[g] * p_y[y] / joint[(g, y)] for g, y in zip(kept["g"], kept["y"], strict=True)]
    np.testing.assert_allclose(result.sample_weight, expected, rtol=1e-12)
    assert result.n_merged == 30
    by_cell = result.by_cell.set_index(["group", "label"])
    assert by_cell["rows_out"].sum() == n


def test_no_reweigh_keeps_unit_weights():
    frame, _ = _separable(300, 8, 0.0)
    result = clean(
        Dataset(frame, target="y", sensitive="g"),
        duplicate_tolerance=None,
        sanitize="none",
        reweigh=False,
    )
    assert (result.sample_weight == 1).all()
    assert result.n_reweighed == 0 and len(result.changes) == 0


# --------------------------------------------------------------------------- the change log
@pytest.fixture(scope="module")
def dirty_result():
    frame, _ = _separable(800, 9, 0.1)
    frame.index = pd.Index([f"id{i}" for i in range(len(frame))])
    copies = frame.iloc[:40].copy()
    copies["x2"] += 1e-6
    copies.index = [f"copy{i}" for i in range(40)]
    frame = pd.concat([frame, copies])
    result = clean(
        Dataset(frame, target="y", sensitive="g"),
        estimator=LogisticRegression(),
        cv=3,
        random_state=0,
    )
    return frame, result


def test_every_row_is_accounted_for(dirty_result):
    frame, result = dirty_result
    changes = result.changes
    gone = changes[changes["action"].isin(["merged", "removed"])]
    assert result.n_rows_in == len(frame)
    assert result.n_rows_in == result.n_rows_out + result.n_merged + result.n_removed
    assert gone["row"].is_unique
    assert len(gone) == result.n_merged + result.n_removed
    kept_positions = np.setdiff1d(np.arange(len(frame)), gone["row"])
    # the Dataset numbers its rows 0..n-1; the cleaned rows keep those positions
    assert list(result.cleaned.index) == list(kept_positions)
    assert result.n_merged >= 40
    assert (gone["weight"] == 0).all()
    reweighed = changes[changes["action"] == "reweighed"]
    assert set(reweighed["row"]) <= set(kept_positions)
    assert (
        result.by_group["rows_in"] == result.by_group[["merged", "removed", "rows_out"]].sum(axis=1)
    ).all()
    assert set(changes.columns) == {
        "row",
        "action",
        "reason",
        "group",
        "label",
        "score",
        "weight",
        "merged_into",
    }
    assert set(changes["group"]) <= {"g=a", "g=b"}


def test_json_round_trip_is_lossless(dirty_result):
    _, result = dirty_result
    again = Result.from_json(result.to_json())
    assert isinstance(again, MLCleanResult)
    for name in ("cleaned", "changes", "by_group", "by_cell", "score_histograms"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(result, name))
    assert again.summary == result.summary
    assert again.findings == result.findings
    assert again.meta == result.meta
    np.testing.assert_array_equal(again.sample_weight, result.sample_weight)


def test_html_figures_and_files(dirty_result, tmp_path):
    _, result = dirty_result
    figures = result.figures()
    assert len(figures) >= 3
    for fig in figures:  # aggregates only: one mark per group or bin, never per row
        for trace in fig.data:
            assert len(trace.x) <= 40
    page = result.to_html(tmp_path / "clean.html")
    assert "Changes summary" in page and "id0" not in page
    csv = result.write_changes(tmp_path / "changes.csv")
    pd.testing.assert_frame_equal(pd.read_csv(csv), result.changes, check_dtype=False)
    parquet = result.write_changes(tmp_path / "changes.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), result.changes, check_dtype=False)
    cleaned = pd.read_csv(result.write_cleaned(tmp_path / "cleaned.csv"))
    np.testing.assert_allclose(cleaned["weight"], result.sample_weight)
    with pytest.raises(FileFormatError, match=r"\.csv"):
        result.write_changes(tmp_path / "changes.xlsx")
    ds = result.dataset
    assert ds.n_rows == result.n_rows_out and "weight" not in ds.feature_names


def test_dataset_input_keeps_roles():
    from raikit.datasets import load_german_credit

    ds = load_german_credit()
    result = clean(ds, contamination=0.05, cv=3, estimator=None, random_state=0)
    assert result.target == ds.target and result.sensitive_names == ds.sensitive_names
    assert result.dataset.feature_names == ds.feature_names
    assert (result.by_group["removal_rate"] - 0.05).abs().max() < 0.03


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"contamination": 0.7}, "contamination"),
        ({"contamination": "most"}, "contamination"),
        ({"contamination": "auto", "sanitize": "distance"}, "auto"),
        ({"sanitize": "magic"}, "sanitize"),
        ({"duplicate_tolerance": -1}, "duplicate_tolerance"),
        ({"cv": 1}, "cv"),
        ({"weight_column": ""}, "weight_column"),
    ],
)
def test_bad_parameters(params, match):
    frame, _ = _separable(100, 10, 0.0)
    with pytest.raises(ParameterError, match=match):
        clean(Dataset(frame, target="y", sensitive="g"), **params)


def test_bad_data():
    frame, _ = _separable(100, 11, 0.0)
    with pytest.raises(ParameterError, match=r"clean\(\): data must be a raikit\.Dataset"):
        clean(frame.to_numpy())
    with pytest.raises(ParameterError, match=r"Dataset\(frame, target="):
        clean(frame)  # column names belong to the Dataset, not to clean()
    with pytest.raises(DataError, match="needs labels"):
        clean(Dataset(frame, target=None, sensitive="g"))
    with pytest.raises(ColumnError, match="Unknown target column 'label'"):
        clean(Dataset(frame, target="label", sensitive="g"))
    missing = frame.astype({"y": float})
    missing.loc[3, "y"] = np.nan
    with pytest.raises(DataError, match="missing value"):
        clean(Dataset(missing, target="y", sensitive="g"))
    with pytest.raises(DataError, match="continuous"):
        clean(Dataset(frame, target="x0", sensitive="g"))
    with pytest.raises(DataError, match="single value"):
        clean(Dataset(frame.assign(y=1), target="y", sensitive="g"))
    with pytest.raises(ColumnError, match="weight_column"):
        clean(Dataset(frame.assign(weight=1.0), target="y", sensitive="g"))
    tiny = frame.copy()
    tiny["y"] = 0
    tiny.loc[:2, "y"] = 1  # three rows of label 1, fewer than 5 folds
    with pytest.raises(DataError, match="fewer than cv=5"):
        clean(Dataset(tiny, target="y", sensitive="g"), duplicate_tolerance=None)
    text = frame.assign(note=["free text"] * len(frame))
    with pytest.raises(DataError, match="could not fit"):
        clean(Dataset(text, target="y", sensitive="g"), estimator=LogisticRegression())


# --------------------------------------------------------------------------- CLI
def test_cli_clean(tmp_path):
    from typer.testing import CliRunner

    from raikit.cli import app

    frame, _ = _separable(400, 12, 0.1)
    frame = pd.concat([frame, frame.iloc[:10]], ignore_index=True)
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "clean"
    runner = CliRunner()
    args = ["data", "clean", str(path), "--target", "y", "--sensitive", "g"]
    done = runner.invoke(app, [*args, "--cv", "3", "--format", "parquet", "--out", str(out)])
    assert done.exit_code == 0, done.output
    cleaned = pd.read_parquet(out / "cleaned.parquet")
    changes = pd.read_parquet(out / "changes.parquet")
    result = Result.from_json(str(out / "clean.json"))
    assert len(cleaned) == result.n_rows_out == len(frame) - result.n_merged - result.n_removed
    assert result.n_merged == 10
    np.testing.assert_allclose(cleaned["weight"], result.sample_weight)
    assert len(changes) == len(result.changes)
    assert (out / "clean.html").exists()
    plain = runner.invoke(
        app,
        [*args, "--contamination", "0", "--no-reweigh", "--out", str(tmp_path / "plain")],
    )
    assert plain.exit_code == 0, plain.output
    again = pd.read_csv(tmp_path / "plain" / "cleaned.csv")
    assert len(again) == len(frame) - 10 and (again["weight"] == 1).all()
    bad = runner.invoke(app, [*args, "--contamination", "lots", "--out", str(out)])
    assert bad.exit_code != 0
    # raikit.cli.main turns a raikit error into one line and exit code 2
    assert isinstance(bad.exception, ParameterError) and "--contamination" in str(bad.exception)


# --------------------------------------------------------------------------- Adult end to end
@pytest.mark.slow
def test_adult_near_copies_are_merged():
    from raikit.datasets import load_adult

    train = load_adult(split="train")
    frame = train.frame
    rng = np.random.default_rng(0)
    picks = rng.choice(len(frame), 300, replace=False)
    copies = frame.iloc[picks].copy()
    copies["fnlwgt"] += rng.integers(-300, 301, 300)
    dirty = pd.concat([frame, copies], ignore_index=True)
    ds = Dataset(dirty, target="income", sensitive=["sex", "race"], features=train.feature_names)
    result = clean(ds, sanitize="distance", contamination=0.05, random_state=0)
    merged = result.changes[result.changes["action"] == "merged"]
    copy_rows = set(range(len(frame), len(dirty)))
    assert len(copy_rows & set(merged["row"])) >= 295
    assert result.n_merged < 300 + 200  # Adult has some genuine near-identical rows
    assert result.n_rows_in == result.n_rows_out + result.n_merged + result.n_removed


def test_cleaning_does_not_reach_into_the_training_stage():
    """The data stage comes before training: clean() and its reweighing never import raikit.train."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from raikit.data import clean\n"
        "from raikit.datasets import load_german_credit\n"
        "clean(load_german_credit(), contamination=0.05, cv=2, random_state=0)\n"
        "print(sorted(m for m in sys.modules if m.startswith('raikit.train')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_reweighing_weights_have_one_home():
    from raikit._fair_groups import reweighing_weights as core
    from raikit.train import reweighing_weights

    assert reweighing_weights is core


def test_cleaned_dataset_carries_the_weights_as_its_weight_role():
    # Kamiran-Calders weights make the label independent of the group, so every group's weighted
    # base rate in the cleaned Dataset equals the weighted overall base rate: the weight role flows
    from raikit.data import representation
    from raikit.datasets import load_german_credit

    result = clean(load_german_credit(), contamination=0.05, cv=3, estimator=None, random_state=0)
    ds = result.dataset
    assert ds.weight == result.meta["weight_column"]
    np.testing.assert_allclose(ds.weights, result.sample_weight)
    summary = representation(ds)
    rates = summary.groups["base_rate"].to_numpy(float)
    np.testing.assert_allclose(rates, summary.overall_base_rate, rtol=1e-9)
    assert np.ptp(representation(ds.replace(weight=None)).groups["base_rate"]) > 0.01
