"""Slice search: planted slices are found, SliceLine matches the `sliceline` package, the Welch
test matches scipy, and bad input gets clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from raikit import Dataset, Result
from raikit._errors import ColumnError, DataError, ParameterError
from raikit.evaluate import SliceResult, find_slices, row_losses
from raikit.evaluate._slices import _benjamini_hochberg, _encode_features


def planted(n: int = 6000, seed: int = 0):
    """Labels predicted perfectly except in two planted slices, where 60% of rows are wrong."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "colour": rng.choice(["red", "green", "blue", "black", "white"], n),
            "shape": rng.choice(["circle", "square", "star", "heart"], n),
            "size": rng.normal(50, 10, n),
            "region": rng.choice(["north", "south", "east"], n),
            "group": rng.choice(["a", "b"], n),
        }
    )
    frame["y"] = rng.integers(0, 2, n)
    first = (frame["colour"] == "red") & (frame["shape"] == "star")
    second = (frame["region"] == "east") & (frame["size"] >= np.quantile(frame["size"], 0.9))
    noise = rng.random(n) < 0.02
    wrong = ((first | second) & (rng.random(n) < 0.6)) | noise
    frame["p"] = np.where(wrong, 1 - frame["y"], frame["y"])
    ds = Dataset(frame, target="y", sensitive="group", prediction="p")
    return ds, first.to_numpy(), second.to_numpy()


@pytest.fixture(scope="module")
def planted_data():
    return planted()


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / (a | b).sum()


@pytest.mark.parametrize("method", ["sliceline", "lattice"])
def test_planted_slices_are_found(planted_data, method):
    ds, first, second = planted_data
    # Slice Finder reports a significant parent (colour = red has effect size 0.45 here) and does
    # not expand it, so a threshold above the parents' effect sizes isolates the planted ones.
    r = find_slices(None, ds, loss="zero_one", method=method, k=5, min_size=50, effect_size=1.0)
    masks = [r.mask(ds, i) for i in range(len(r.slices))]
    # Each planted conjunction is reported exactly (Jaccard 1 for the categorical one; the
    # numeric one is a quantile bin, so it matches up to the bin edge: Jaccard > 0.9).
    assert max(_jaccard(m, first) for m in masks) == 1.0
    assert max(_jaccard(m, second) for m in masks) > 0.9
    if method == "sliceline":  # the two planted slices are the two best scores
        top2 = [_jaccard(m, first) + _jaccard(m, second) for m in masks[:2]]
        assert min(top2) > 0.9


def test_tree_finds_a_planted_slice(planted_data):
    ds, first, second = planted_data
    r = find_slices(
        None, ds, loss="zero_one", method="tree", k=5, min_size=50, max_features=3, effect_size=1.0
    )
    assert len(r.slices) >= 1
    m = r.mask(ds, 0)
    assert m.sum() == r.slices["size"].iloc[0]
    # the slice found lies (almost) inside the planted union
    assert (m & (first | second)).sum() / m.sum() > 0.9


def test_no_slice_on_pure_noise():
    rng = np.random.default_rng(3)
    n = 4000
    frame = pd.DataFrame(
        {
            "a": rng.choice(list("abcde"), n),
            "b": rng.normal(size=n),
            "s": rng.choice(["x", "y"], n),
            "y": rng.integers(0, 2, n),
        }
    )
    frame["p"] = np.where(rng.random(n) < 0.2, 1 - frame["y"], frame["y"])
    ds = Dataset(frame, target="y", sensitive="s", prediction="p")
    for fdr in ("alpha_investing", "bh"):
        r = find_slices(None, ds, loss="zero_one", effect_size=0.0, fdr=fdr, min_size=100)
        assert len(r.slices) <= 1, r.slices  # false discoveries are rare at alpha = 0.05
        assert r.findings[0].severity in ("info", "warning")


def test_welch_statistics_match_scipy(planted_data):
    ds, _, _ = planted_data
    r = find_slices(None, ds, loss="zero_one", method="lattice", k=3, min_size=50)
    losses = row_losses(None, ds, loss="zero_one")
    for i, row in enumerate(r.slices.itertuples(index=False)):
        m = r.mask(ds, i)
        inside, outside = losses[m], losses[~m]
        ref = stats.ttest_ind(inside, outside, equal_var=False, alternative="greater")
        assert row.size == m.sum()
        assert row.mean_loss == pytest.approx(inside.mean(), abs=1e-12)
        assert row.rest_mean_loss == pytest.approx(outside.mean(), abs=1e-12)
        assert row.t_statistic == pytest.approx(ref.statistic, rel=1e-9)
        assert row.p_value == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
        pooled = np.sqrt((inside.var(ddof=1) + outside.var(ddof=1)) / 2)
        assert row.effect_size == pytest.approx((inside.mean() - outside.mean()) / pooled, rel=1e-9)


def test_benjamini_hochberg_matches_scipy():
    rng = np.random.default_rng(1)
    p = np.concatenate([rng.uniform(size=80), rng.uniform(0, 0.002, size=20)])
    expected = stats.false_discovery_control(p) <= 0.05
    np.testing.assert_array_equal(_benjamini_hochberg(p, 0.05), expected)


def test_sliceline_scores_by_hand(planted_data):
    ds, _, _ = planted_data
    r = find_slices(
        None, ds, loss="zero_one", method="sliceline", k=3, error_weight=0.9, min_size=50
    )
    e = row_losses(None, ds, loss="zero_one")
    for i, row in enumerate(r.slices.itertuples(index=False)):
        m = r.mask(ds, i)
        expected = 0.9 * (e[m].mean() / e.mean() - 1) - 0.1 * (len(e) / m.sum() - 1)
        assert row.score == pytest.approx(expected, rel=1e-12)
    assert r.slices["score"].is_monotonic_decreasing


@pytest.mark.slow
def test_sliceline_matches_the_sliceline_package_on_adult():
    sliceline = pytest.importorskip("sliceline")
    import warnings

    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.datasets import load_adult

    train = load_adult(split="train")
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=30, random_state=0
    ).fit(train.X, train.y)
    r = find_slices(model, train, method="sliceline", max_features=2, k=10, min_size=32)
    names = r.overall["features"]
    enc = _encode_features(train.frame, names, 10)
    e = row_losses(model, train, loss="log_loss")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf = sliceline.Slicefinder(alpha=0.95, k=10, max_l=2, min_sup=32, verbose=False)
        sf.fit(enc.codes, e)
    theirs = {
        frozenset((names[j], int(v)) for j, v in enumerate(s) if v is not None)
        for s in sf.top_slices_
    }
    ours = {
        frozenset(zip(part["feature"], part["code"].astype(int), strict=True))
        for _, part in r.predicates.groupby("slice_id")
    }
    assert ours == theirs  # the exact same top-10 (no ties at the 10th score here)
    np.testing.assert_allclose(
        np.sort(r.slices["score"].to_numpy()),
        np.sort([s["slice_score"] for s in sf.top_slices_statistics_]),
        rtol=1e-9,
    )


def test_adult_lattice_with_real_model(adult_scored):
    r = find_slices(None, adult_scored, method="lattice", k=5)
    assert 1 <= len(r.slices) <= 5
    assert (r.slices["effect_size"] >= 0.4).all()
    assert (r.slices["size"] >= max(30, adult_scored.n_rows // 200)).all()
    assert (r.slices["mean_loss"] > r.overall["mean_loss"]).all()
    assert r.findings[0].severity == "warning"


def test_result_round_trips_and_renders(planted_data):
    ds, _, _ = planted_data
    r = find_slices(None, ds, loss="zero_one", method="sliceline", k=3, min_size=50)
    back = Result.from_json(r.to_json())
    assert isinstance(back, SliceResult)
    pd.testing.assert_frame_equal(back.slices, r.slices)
    np.testing.assert_array_equal(back.mask(ds, 0), r.mask(ds, 0))
    figures = r.figures()
    assert len(figures) == 2 and len(figures[0].data[0].x) == len(r.slices)
    assert "Summary" in r.to_html() and r.summary.startswith("3 problematic")


def test_dataframe_input_without_sensitive(planted_data):
    ds, first, _ = planted_data
    frame = ds.frame.drop(columns=["p"])
    losses = np.where(first, 1.0, 0.0)

    def planted_loss(y_true, y_pred):
        return losses

    from sklearn.dummy import DummyClassifier

    model = DummyClassifier().fit(frame[["colour"]], frame["y"])
    r = find_slices(
        model,
        frame,
        target="y",
        loss=planted_loss,
        method="sliceline",
        features=["colour", "shape", "region"],
        k=1,
    )
    assert r.slices["slice"].iloc[0] == "colour = red & shape = star"


def test_bad_input_gets_clear_errors(planted_data):
    ds, _, _ = planted_data
    with pytest.raises(ParameterError, match=r"find_slices\(\): method must be one of"):
        find_slices(None, ds, loss="zero_one", method="apriori")
    with pytest.raises(
        ParameterError, match=r"find_slices\(\): alpha must be a number in \(0, 1\)"
    ):
        find_slices(None, ds, loss="zero_one", alpha=1.5)
    with pytest.raises(DataError, match="needs scores"):
        find_slices(None, ds, loss="log_loss")
    with pytest.raises(ParameterError, match=r"find_slices\(\): loss must be one of"):
        find_slices(None, ds, loss="hinge")
    with pytest.raises(ParameterError, match=r"row_losses\(\): loss must be one of"):
        row_losses(None, ds, loss="hinge")
    with pytest.raises(ParameterError, match=r"find_slices\(\): k must be an integer >= 1"):
        find_slices(None, ds, loss="zero_one", k=0)
    with pytest.raises(ParameterError, match=r"find_slices\(\): error_weight must be"):
        find_slices(None, ds, loss="zero_one", method="sliceline", error_weight=0)
    with pytest.raises(ColumnError, match="nope"):
        find_slices(None, ds, loss="zero_one", features=["nope"])
    with pytest.raises(ParameterError, match="min_size"):
        find_slices(None, ds, loss="zero_one", min_size=10**6)
    with pytest.raises(ParameterError, match="min_size must be an integer >= 2"):
        find_slices(None, ds, loss="zero_one", min_size=1)
    with pytest.raises(DataError, match="non-negative"):
        find_slices(None, ds, loss=lambda y, p: -np.ones(len(y)))
    with pytest.raises(ParameterError, match="one value per row"):
        find_slices(None, ds, loss=lambda y, p: np.ones(3))
    with pytest.raises(ColumnError, match="target"):
        find_slices(None, ds.frame, loss="zero_one")
    with pytest.raises(ParameterError, match="predict_proba"):
        from sklearn.svm import LinearSVC

        X = ds.frame[["size"]]
        find_slices(LinearSVC().fit(X, ds.y), ds.replace(features=["size"]))


def test_ci_sets_the_level_of_the_slice_intervals(planted_data):
    ds, _, _ = planted_data
    kwargs = {"loss": "zero_one", "method": "lattice", "k": 3, "min_size": 50}
    wide = find_slices(None, ds, **kwargs).slices
    narrow = find_slices(None, ds, ci=0.5, **kwargs).slices
    assert len(wide) > 0
    ratio = (narrow["upper"] - narrow["lower"]) / (wide["upper"] - wide["lower"])
    np.testing.assert_allclose(ratio, stats.norm.ppf(0.75) / stats.norm.ppf(0.975), rtol=1e-12)


def test_string_labels_score_column_needs_pos_label():
    frame = pd.DataFrame(
        {
            "s": list("aabbab"),
            "y": ["approved", "denied", "approved", "denied", "denied", "approved"],
            "p": [0.9, 0.2, 0.6, 0.7, 0.4, 0.3],  # probability of 'approved'
        }
    )
    ds = Dataset(frame, target="y", sensitive="s", score="p")
    with pytest.raises(DataError, match="pos_label"):
        row_losses(None, ds, loss="log_loss")
    approved = (frame["y"] == "approved").to_numpy()
    p = frame["p"].to_numpy()
    expected = -np.where(approved, np.log(p), np.log(1 - p))
    got = row_losses(None, ds, loss="log_loss", pos_label="approved")
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_callable_loss_gets_the_probability_of_pos_label(approval):
    ds, model = approval
    seen = {}

    def brier(y, p):
        seen["p"] = p
        return (p - (y == "approved")) ** 2

    with pytest.raises(DataError, match="pos_label"):
        row_losses(model, ds, loss=brier)
    losses = row_losses(model, ds, loss=brier, pos_label="approved")
    proba = model.predict_proba(ds.X)[:, 0]  # 'approved' is classes_[0]
    np.testing.assert_allclose(seen["p"], proba, rtol=0, atol=0)
    np.testing.assert_allclose(losses, (proba - (ds.y == "approved")) ** 2, rtol=1e-12)
    r = find_slices(model, ds, loss=brier, pos_label="approved", k=2, min_size=50)
    assert r.overall["pos_label"] == "approved" and "'approved'" in r.summary


def test_track_records_one_row_with_every_parameter(tmp_path, planted_data):
    import json

    import raikit
    from raikit.ledger import Ledger

    ds, _, _ = planted_data
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("slices", ledger=ledger) as run:
        find_slices(None, ds, loss="zero_one", method="tree", k=2, min_size=50)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["evaluate.find_slices"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["method"] == "tree" and params["k"] == 2 and params["min_size"] == 50
    assert params["fdr"] == "alpha_investing" and isinstance(params["random_state"], int)


def test_tree_search_is_reproducible_from_the_recorded_seed(planted_data):
    ds, _, _ = planted_data
    kwargs = {"loss": "zero_one", "method": "tree", "k": 3, "min_size": 50}
    a = find_slices(None, ds, random_state=5, **kwargs)
    b = find_slices(None, ds, random_state=5, **kwargs)
    assert len(a.slices) > 0
    pd.testing.assert_frame_equal(a.slices, b.slices)
    # a Generator is accepted too (scikit-learn's tree gets an integer drawn from it)
    c = find_slices(None, ds, random_state=np.random.default_rng(5), **kwargs)
    assert c.slices["slice"].iloc[0] == a.slices["slice"].iloc[0]


# --------------------------------------------------------------------------- the weight role
def _weighted_frame(n=1500, seed=4):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "colour": rng.choice(["red", "green", "blue"], n),
            "shape": rng.choice(["circle", "square", "star"], n),
            "group": rng.choice(["a", "b"], n),
            "y": rng.integers(0, 2, n),
            "w": rng.integers(0, 4, n),
        }
    )
    bad = (frame["colour"] == "red") & (frame["shape"] == "star")
    flip = bad & (rng.random(n) < 0.6) | (rng.random(n) < 0.05)
    frame["p"] = np.where(flip, 1 - frame["y"], frame["y"])
    return frame


def _weighted_ds(frame, weight="w"):
    return Dataset(frame, target="y", sensitive="group", prediction="p", weight=weight)


def test_integer_weights_give_the_slices_of_duplicated_rows():
    frame = _weighted_frame()
    kwargs = {"loss": "zero_one", "features": ["colour", "shape"], "min_size": 40}
    got = find_slices(None, _weighted_ds(frame), **kwargs)
    repeated = frame.loc[frame.index.repeat(frame["w"])]
    want = find_slices(None, _weighted_ds(repeated, weight=None), **kwargs)
    assert len(want.slices) >= 1
    assert got.slices["slice"].tolist() == want.slices["slice"].tolist()
    columns = ["size", "mean_loss", "lower", "upper", "rest_mean_loss", "effect_size", "p_value"]
    np.testing.assert_allclose(
        got.slices[columns].to_numpy(float), want.slices[columns].to_numpy(float)
    )
    assert got.overall["mean_loss"] == pytest.approx(want.overall["mean_loss"])


def test_weighted_slice_statistics_by_hand():
    frame = _weighted_frame(seed=6).assign(w=lambda f: np.where(f["colour"] == "red", 0.5, 2.0))
    result = find_slices(
        None, _weighted_ds(frame), loss="zero_one", features=["colour", "shape"], min_size=30
    )
    top = result.slices.iloc[0]
    assert top["slice"] == "colour = red"  # significant at level 1, so not expanded
    inside = frame["colour"] == "red"
    loss, w = (frame["p"] != frame["y"]).astype(float), frame["w"]
    assert top["size"] == pytest.approx(w[inside].sum())
    assert top["mean_loss"] == pytest.approx(np.average(loss[inside], weights=w[inside]))
    assert top["rest_mean_loss"] == pytest.approx(np.average(loss[~inside], weights=w[~inside]))
    assert result.overall["mean_loss"] == pytest.approx(np.average(loss, weights=w))
    assert result.overall["weight_column"] == "w"


def _blocks_frame(blocks=80, seed=4):
    """Blocks of 17 rows share colour, shape and an integer weight (0 to 4); ``x`` runs 0..16 in
    every block, so it is uniform with or without the weights and its quantile bins (edges 4, 8
    and 12 at ``n_bins=4``) are the same on the repeated rows. Errors are planted in
    ``colour = red & shape = star`` and ``colour = blue & x >= 12``; blue blocks weigh more."""
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], blocks)
    shape = rng.choice(["circle", "square", "star"], blocks)
    w = np.where(colour == "blue", rng.integers(2, 5, blocks), rng.integers(0, 3, blocks))
    frame = pd.DataFrame(
        {
            "colour": np.repeat(colour, 17),
            "shape": np.repeat(shape, 17),
            "x": np.tile(np.arange(17), blocks),
            "w": np.repeat(w, 17),
        }
    )
    n = len(frame)
    frame["group"] = rng.choice(["a", "b"], n)
    frame["y"] = rng.integers(0, 2, n)
    bad = (frame["colour"] == "red") & (frame["shape"] == "star")
    odd = (frame["colour"] == "blue") & (frame["x"] >= 12)
    flip = (bad & (rng.random(n) < 0.5)) | (odd & (rng.random(n) < 0.4)) | (rng.random(n) < 0.05)
    frame["p"] = np.where(flip, 1 - frame["y"], frame["y"])
    return frame


@pytest.mark.parametrize("method", ["lattice", "tree", "sliceline"])
def test_every_method_gives_integer_weights_the_slices_of_duplicated_rows(method):
    # A mathematical property of frequency weights: weight 3 is the row three times (0: no row).
    # It covers the tree's ordinal splits on a binned numeric column and min_size in weight.
    frame = _blocks_frame()
    kwargs = {
        "loss": "zero_one",
        "method": method,
        "features": ["colour", "shape", "x"],
        "n_bins": 4,
        "max_features": 3,
        "min_size": 60,
        "random_state": 0,
    }
    got = find_slices(None, _weighted_ds(frame), **kwargs)
    repeated = frame.loc[frame.index.repeat(frame["w"])].reset_index(drop=True)
    want = find_slices(None, _weighted_ds(repeated, weight=None), **kwargs)
    assert len(want.slices) >= 2
    pd.testing.assert_frame_equal(got.bins, want.bins)  # the premise: the same bins
    pd.testing.assert_frame_equal(got.slices, want.slices, check_exact=True)
    pd.testing.assert_frame_equal(got.predicates, want.predicates)
    pd.testing.assert_frame_equal(got.levels, want.levels)
    assert got.overall["mean_loss"] == want.overall["mean_loss"]
    # the weights change the answer: ignoring them finds other slices or other sizes
    plain = find_slices(None, _weighted_ds(frame, weight=None), **kwargs)
    assert not plain.slices[["slice", "size"]].equals(got.slices[["slice", "size"]])


@pytest.mark.parametrize("method", ["lattice", "tree", "sliceline"])
def test_weights_of_one_are_no_weights(planted_data, method):
    ds = planted_data[0]
    ones = ds.replace(ds.frame.assign(one=1.0), weight="one")
    kwargs = {"loss": "zero_one", "method": method, "k": 5, "random_state": 3}
    got, want = find_slices(None, ones, **kwargs), find_slices(None, ds, **kwargs)
    assert len(want.slices) >= 1
    pd.testing.assert_frame_equal(got.slices, want.slices, check_exact=True)
    pd.testing.assert_frame_equal(got.levels, want.levels)


def _tiny_weighted(scale=1.0):
    """Eight rows; weighted errors (by hand): total weight 10, error 2 + 0.5 + 1 = 3.5."""
    frame = pd.DataFrame(
        {
            "colour": ["red"] * 4 + ["blue"] * 4,
            "shape": ["star", "star", "circle", "circle"] * 2,
            "y": [1, 1, 1, 1, 0, 0, 0, 0],
            "p": [0, 1, 0, 1, 0, 0, 1, 0],  # wrong on rows 0, 2 and 6
            "w": np.array([2, 1, 0.5, 0.5, 1, 1, 1, 3]) * scale,
        }
    )
    return Dataset(frame, target="y", sensitive="colour", prediction="p", weight="w")


def test_sliceline_weighted_scores_by_hand():
    result = find_slices(
        None,
        _tiny_weighted(),
        loss="zero_one",
        method="sliceline",
        k=3,
        min_size=2,
        features=["colour", "shape"],
    )
    # average error 3.5 / 10; red & star: error 2 of weight 3; red: 2.5 of 4; star: 2 of 5.
    # score = 0.95 (rate / 0.35 - 1) - 0.05 (10 / size - 1); circle, blue and blue & circle
    # have rates below 0.35 (negative scores); red & circle weighs 1 < min_size = 2.
    table = result.slices
    assert table["slice"].tolist() == [
        "colour = red & shape = star",
        "colour = red",
        "shape = star",
    ]
    assert table["size"].tolist() == [3, 4, 5]
    np.testing.assert_allclose(table["mean_loss"], [2 / 3, 0.625, 0.4], rtol=1e-12)
    np.testing.assert_allclose(
        table["score"], [0.95 * (2 / 3 / 0.35 - 1) - 0.05 * (10 / 3 - 1), 0.671428571, 0.085714286]
    )
    np.testing.assert_allclose(table["rest_mean_loss"], [1.5 / 7, 1 / 6, 1.5 / 5], rtol=1e-12)
    assert result.overall["mean_loss"] == pytest.approx(0.35)


def test_tree_weighted_slice_by_hand():
    # weights x 7.5 (total 75, min_size 15): the tree splits on colour (weighted squared error
    # 7.03 + 6.25 against 9 + 7.88 for shape); red (weight 30, error 18.75) is the only node
    # worse than the rest; red & circle weighs 7.5 < 15, so red is not split.
    result = find_slices(
        None,
        _tiny_weighted(scale=7.5),
        loss="zero_one",
        method="tree",
        min_size=15,
        features=["colour", "shape"],
        random_state=0,
    )
    top = result.slices.iloc[0]
    assert (len(result.slices), top["slice"], top["size"]) == (1, "colour = red", 30)
    assert top["mean_loss"] == pytest.approx(18.75 / 30, rel=1e-12)
    assert top["rest_mean_loss"] == pytest.approx(7.5 / 45, rel=1e-12)
    var_in, var_out = (18.75 - 18.75 * 0.625) / 29, (7.5 - 7.5 / 6) / 44  # frequency weights
    assert top["effect_size"] == pytest.approx((0.625 - 1 / 6) / np.sqrt((var_in + var_out) / 2))
    t = (0.625 - 1 / 6) / np.sqrt(var_in / 30 + var_out / 45)
    assert top["t_statistic"] == pytest.approx(t)


def test_weights_summing_below_the_default_min_size_say_how_to_fix_it():
    # normalised weights (here summing to 10) are not frequencies: the default min_size of 30
    # rows cannot apply, and the message says so instead of blaming a min_size never passed
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.choice(["x", "y"], 400),
            "s": rng.choice(["f", "m"], 400),
            "y": rng.integers(0, 2, 400),
        }
    )
    frame["p"] = np.where(frame["a"] == "x", 1 - frame["y"], frame["y"])
    frame["w"] = 10 / 400
    ds = Dataset(frame, target="y", prediction="p", sensitive="s", weight="w", features=["a"])
    with pytest.raises(ParameterError, match=r"sum to 10.*frequency weights.*min_size="):
        find_slices(None, ds, loss="zero_one")
    found = find_slices(None, ds, loss="zero_one", min_size=2, k=1)
    assert found.overall["min_size"] == 2
    assert found.slices["slice"].iloc[0] == "a = x"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a", "b", None, "1", "a"], [0, -1, 2, 1, 0]),
        (pd.Categorical(["a", "zz", None, "a"]), [0, -1, 2, 0]),
        (pd.array([1, None, 3], dtype="Int64"), [1, 2, -1]),
        ([1.0, np.nan, 1.0], [-1, 2, -1]),  # "1.0" is not the learned text "1"
    ],
)
def test_masks_reencode_each_value_by_its_text(values, expected):
    """A slice's category predicates match new rows by the value's text; unseen values get no
    bin (-1) and missing ones the missing bin, whatever the column's dtype."""
    from raikit.evaluate._slices import _reencode

    bins = pd.DataFrame(
        {
            "feature": ["c"] * 3,
            "code": [0, 1, 2],
            "label": ["c = a", "c = 1", "c = (missing)"],
            "kind": ["category", "category", "missing"],
            "low": np.nan,
            "high": np.nan,
        }
    )
    np.testing.assert_array_equal(_reencode(bins, pd.DataFrame({"c": values}), "c"), expected)
