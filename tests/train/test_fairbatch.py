"""FairBatch: the mixing-weight update against the reference rule, the sampler, the classifier."""

import numpy as np
import pandas as pd
import pytest

from raikit import load_model, save_model
from raikit._errors import DataError, ParameterError
from raikit.datasets import load_adult, make_fairness_synthetic
from raikit.train import FairBatchClassifier, FairBatchSampler
from raikit.train._fairbatch import FairBatchState


def _reference_update(lb1, lb2, losses, constraint, alpha):
    """The reference implementation's lb1/lb2 rule (Roh et al.), losses[y][z] for binary y, z."""
    if constraint == "eqopp":
        lb1 += alpha if losses[1][1] > losses[1][0] else -alpha
    elif constraint == "eqodds":
        if abs(losses[1][1] - losses[1][0]) > abs(losses[0][1] - losses[0][0]):
            lb1 += alpha if losses[1][1] > losses[1][0] else -alpha
        else:
            lb2 += alpha if losses[0][1] > losses[0][0] else -alpha
    else:
        if abs(losses[1][1] - losses[1][0]) > abs(losses[0][1] - losses[0][0]):
            lb1 += alpha if losses[1][1] > losses[1][0] else -alpha
        else:
            lb2 += -alpha if losses[0][1] > losses[0][0] else alpha
    return min(max(lb1, 0), 1), min(max(lb2, 0), 1)


@pytest.mark.parametrize("constraint", ["eqopp", "eqodds", "dp"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_update_matches_reference_rule_for_two_groups(constraint, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 400)
    z = rng.integers(0, 2, 400)
    state = FairBatchState(y, z, constraint=constraint, step_size=0.05, rng=rng)
    lb1, lb2 = state.lambdas[1, 1], state.lambdas[0, 1]
    for _ in range(15):
        proba = rng.random(400)
        losses = state.cell_losses(proba)
        # the losses themselves: BCE per cell (dp: against label 1, normalised by group size)
        p_true = np.where(y == 1, proba, 1 - proba)
        loss = -np.log(proba) if constraint == "dp" else -np.log(p_true)
        for yy in (0, 1):
            for zz in (0, 1):
                cell = (y == yy) & (z == zz)
                denom = (z == zz).sum() if constraint == "dp" else cell.sum()
                assert losses[yy, zz] == pytest.approx(loss[cell].sum() / denom, rel=1e-12)
        lb1, lb2 = _reference_update(lb1, lb2, losses, constraint, 0.05)
        state.update(proba)
        assert state.lambdas[1, 1] == pytest.approx(lb1, abs=1e-12)
        assert state.lambdas[0, 1] == pytest.approx(lb2, abs=1e-12)
        np.testing.assert_allclose(state.lambdas.sum(axis=1), 1.0, atol=1e-12)


def test_many_groups_move_towards_the_worst_served():
    y = np.tile([0, 1], 150)
    z = np.repeat([0, 1, 2], 100)
    state = FairBatchState(y, z, constraint="eqopp", step_size=0.01, rng=np.random.default_rng(0))
    proba = np.select([z == 0, z == 1], [0.9, 0.7], 0.5)  # group 2's positives served worst
    before = state.lambdas[1].copy()
    state.update(proba)
    after = state.lambdas[1]
    assert after[2] == pytest.approx(before[2] + 0.01, abs=1e-12)  # largest gap moves by step_size
    assert after[0] < before[0]
    assert after.sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(state.lambdas[0], before * 0 + 1 / 3)  # negatives untouched


def test_sampler_batches_follow_the_mixing_weights():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 1000)
    z = rng.integers(0, 2, 1000)
    sampler = FairBatchSampler(y, z, batch_size=100, random_state=0)
    sampler._state.lambdas[:] = [[0.5, 0.5], [0.9, 0.1]]
    batches = list(sampler)
    assert len(batches) == len(sampler) == 10
    counts = sampler._state.batch_counts()
    for batch in batches:
        b = np.asarray(batch)
        for yy in (0, 1):
            for zz in (0, 1):
                assert ((y[b] == yy) & (z[b] == zz)).sum() == counts[yy, zz]
    expected = np.round(100 * np.bincount(y) / 1000 * 0.9)
    assert counts[1, 0] == expected[1]


def test_sampler_with_a_dataloader_and_sample_weights():
    import torch

    y = np.array([0, 1] * 100)
    z = np.repeat([0, 1], 100)
    w = np.where(np.arange(200) % 4 == 0, 0.0, 1.0)  # a quarter of the rows never drawn
    sampler = FairBatchSampler(y, z, batch_size=20, sample_weight=w, random_state=1)
    data = torch.utils.data.TensorDataset(torch.arange(200))
    drawn = np.concatenate(
        [b[0].numpy() for b in torch.utils.data.DataLoader(data, batch_sampler=sampler)]
    )
    assert len(drawn) == 200 and not np.any(w[drawn] == 0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"constraint": "fair"}, "constraint must be one of"),
        ({"batch_size": 0}, "batch_size"),
        ({"step_size": -1.0}, "step_size"),
    ],
)
def test_sampler_bad_input(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        FairBatchSampler([0, 1, 0, 1], ["a", "a", "b", "b"], **kwargs)


def test_sampler_length_mismatch_and_multiclass_dp():
    with pytest.raises(DataError, match="rows"):
        FairBatchSampler([0, 1, 0, 1], ["a", "b"])
    with pytest.raises(DataError, match="binary"):
        FairBatchSampler([0, 1, 2, 1], ["a", "a", "b", "b"], constraint="dp")


def _tpr_gap(clf, frame):
    y, z, p = frame["y"].to_numpy(), frame["z"].to_numpy(), clf.predict(frame[["x1", "x2", "z"]])
    pos = y == 1
    overall = p[pos].mean()
    return max(abs(p[pos & (z == g)].mean() - overall) for g in (0, 1))


def test_fairbatch_lowers_equal_opportunity_disparity():
    # as in the paper's code, the model sees z as a feature (x and z concatenated)
    train = make_fairness_synthetic(3000, random_state=1, as_frame=True)
    test = make_fairness_synthetic(2000, random_state=2, as_frame=True)
    X, Xt = train[["x1", "x2", "z"]], test[["x1", "x2", "z"]]
    kw = {"epochs": 60, "learning_rate": 0.005, "random_state": 0}
    plain = FairBatchClassifier(step_size=0.0, **kw).fit(
        X, train["y"], sensitive_features=train["z"]
    )
    fair = FairBatchClassifier(step_size=0.005, **kw).fit(
        X, train["y"], sensitive_features=train["z"]
    )
    # measured: 0.044 vs 0.114 (seed 0); the paper's target is ~0.012 after 300+ epochs
    assert _tpr_gap(fair, test) < 0.6 * _tpr_gap(plain, test)
    assert fair.score(Xt, test["y"]) > plain.score(Xt, test["y"]) - 0.03
    # step_size=0 keeps the data's own mix: the sampler is a stratified plain sampler
    z, y = train["z"].to_numpy(), train["y"].to_numpy()
    assert plain.mixing_weights_[1, 1] == pytest.approx(
        ((z == 1) & (y == 1)).sum() / (y == 1).sum()
    )


def test_same_seed_same_model_and_skops_round_trip(tmp_path):
    ds = make_fairness_synthetic(500, random_state=0)
    kw = {"network": "mlp", "hidden_layer_sizes": (8,), "epochs": 5, "random_state": 3}
    a = FairBatchClassifier(**kw).fit(ds.X, ds.y, sensitive_features=ds.sensitive)
    b = FairBatchClassifier(**kw).fit(ds.X, ds.y, sensitive_features=ds.sensitive)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(wa, wb)
    c = FairBatchClassifier(**{**kw, "random_state": 4}).fit(
        ds.X, ds.y, sensitive_features=ds.sensitive
    )
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])
    path = save_model(a, tmp_path / "fb.skops")
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(ds.X), a.predict_proba(ds.X))


def test_numpy_prediction_matches_torch_forward():
    import torch

    ds = make_fairness_synthetic(300, random_state=0)
    clf = FairBatchClassifier(network="mlp", hidden_layer_sizes=(6, 4), epochs=3, random_state=0)
    clf.fit(ds.X, ds.y, sensitive_features=ds.sensitive["z"])
    from raikit.train._torch_models import build_module, load_arrays

    module = build_module("mlp", 2, 1, hidden_layer_sizes=(6, 4), seed=0)
    load_arrays("mlp", module, clf.coefs_, clf.intercepts_, None)
    x = clf.encoder_.transform(ds.X.to_numpy())
    with torch.no_grad():
        p = torch.sigmoid(module(torch.from_numpy(x))[:, 0]).numpy()
    np.testing.assert_allclose(clf.predict_proba(ds.X)[:, 1], p, atol=1e-5)


def test_custom_module_and_multiclass_eqodds():
    import torch

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = np.argmax(X, axis=1)
    z = rng.integers(0, 3, 300)
    net = torch.nn.Sequential(torch.nn.Linear(3, 3))
    clf = FairBatchClassifier(
        network=net, constraint="eqodds", epochs=30, learning_rate=0.05, random_state=0
    )
    clf.fit(X, y, sensitive_features=z)
    assert clf.state_ is not None and clf.mixing_weights_.shape == (3, 3)
    assert clf.score(X, y) > 0.85
    with pytest.raises(DataError, match="binary"):
        FairBatchClassifier(constraint="eqopp", epochs=1).fit(X, y, sensitive_features=z)


def test_class_weight_balanced_changes_label_shares():
    y = np.array([1] * 20 + [0] * 80)
    X = np.arange(100, dtype=float)[:, None]
    clf = FairBatchClassifier(class_weight="balanced", epochs=1, batch_size=10, random_state=0)
    from raikit.train._fairbatch import FairBatchState  # noqa: F401

    clf.fit(X, y, sensitive_features=np.zeros(100))
    with pytest.raises(ParameterError, match="class_weight"):
        FairBatchClassifier(class_weight={5: 2.0}, epochs=1).fit(
            X, y, sensitive_features=np.zeros(100)
        )


@pytest.mark.parametrize(
    "fit_kwargs, message",
    [
        ({"sensitive_features": np.zeros(3)}, "rows"),
        ({"sensitive_features": np.array([np.nan] * 10, dtype=object)}, "missing"),
        ({"sensitive_features": np.zeros(10), "sample_weight": -np.ones(10)}, "non-negative"),
    ],
)
def test_classifier_bad_input(fit_kwargs, message):
    X = np.arange(20, dtype=float).reshape(10, 2)
    y = np.array([0, 1] * 5)
    with pytest.raises(DataError, match=message):
        FairBatchClassifier(epochs=1).fit(X, y, **fit_kwargs)


def test_dataframe_with_categoricals_and_wrong_columns_at_predict():
    frame = pd.DataFrame(
        {"a": [1.0, 2.0, np.nan, 4.0] * 10, "b": pd.Categorical(["x", "y", None, "x"] * 10)}
    )
    y = np.array([0, 1, 1, 0] * 10)
    clf = FairBatchClassifier(epochs=2, random_state=0).fit(
        frame, y, sensitive_features=frame["b"].astype(object).fillna("none")
    )
    assert clf.predict_proba(frame).shape == (40, 2)
    with pytest.raises(DataError, match="missing the column"):
        clf.predict(frame[["a"]])


def _held_out_gaps(y, pred, z):
    """Equal-opportunity, equalized-odds and demographic-parity differences of hard predictions."""
    rate = {
        k: [pred[m & (z == g)].mean() for g in (0, 1)]
        for k, m in {"pos": y == 1, "neg": y == 0, "all": np.ones(len(y), bool)}.items()
    }
    eqopp = abs(rate["pos"][1] - rate["pos"][0])
    return {
        "eqopp": eqopp,
        "eqodds": max(eqopp, abs(rate["neg"][1] - rate["neg"][0])),
        "dp": abs(rate["all"][1] - rate["all"][0]),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_halves_the_equal_opportunity_gap_on_held_out_zafar_data(seed):
    # Issue 16: the former default (100 epochs at 5e-4) cut the gap of logistic regression only
    # from 0.166 to 0.097; measured here on 10,000 held-out rows it left it at 0.162 (seed 1) and
    # 0.180 (seed 2) against 0.200 and 0.169. The default now trains until the gap settles.
    from sklearn.linear_model import LogisticRegression

    cols = ["x1", "x2", "z"]  # the model sees z, as in the paper's code
    train = make_fairness_synthetic(2000, random_state=seed, as_frame=True)
    test = make_fairness_synthetic(10_000, random_state=100 + seed, as_frame=True)
    y, z = test["y"].to_numpy(), test["z"].to_numpy()
    plain = LogisticRegression().fit(train[cols], train["y"]).predict(test[cols])
    clf = FairBatchClassifier(constraint="eqopp", random_state=seed)
    clf.fit(train[cols], train["y"], sensitive_features=train["z"])
    fair = clf.predict(test[cols])
    before, after = _held_out_gaps(y, plain, z)["eqopp"], _held_out_gaps(y, fair, z)["eqopp"]
    # measured (seeds 0, 1, 2): 0.187 -> 0.022, 0.200 -> 0.011, 0.169 -> 0.015;
    # accuracy cost 1.2, 1.8 and 2.0 points, after 226-242 epochs
    assert after < 0.5 * before
    assert (plain == y).mean() - (fair == y).mean() < 0.03
    assert clf.n_epochs_ < clf.max_epochs  # stopped by the rule, not by the cap
    assert len(clf.gap_history_) == clf.n_epochs_ + 1
    # the training gap the rule watched ended far below where it started
    assert clf.gap_history_[-20:].mean() < 0.5 * clf.gap_history_[:20].max()


def test_fairness_gap_and_loss_by_hand():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    z = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    p = np.array([0.9, 0.7, 0.4, 0.6, 0.2, 0.4, 0.1, 0.1])  # P(y = 1)
    w = np.array([1, 3, 1, 1, 1, 1, 2, 2], dtype=float)
    gaps = {}
    for constraint in ("eqopp", "eqodds", "dp"):
        state = FairBatchState(y, z, constraint=constraint, sample_weight=w)
        gaps[constraint] = state.fairness_gap(p)
        expected_loss = -(w * np.log(np.where(y == 1, p, 1 - p))).sum() / w.sum()
        assert state.mean_loss(p) == pytest.approx(expected_loss, rel=1e-12)
    tpr0, tpr1 = (0.9 + 3 * 0.7) / 4, (0.4 + 0.6) / 2  # weighted mean P(y=1) among positives
    tnr0, tnr1 = (0.8 + 0.6) / 2, (2 * 0.9 + 2 * 0.9) / 4
    sel0, sel1 = (0.9 + 3 * 0.7 + 0.2 + 0.4) / 6, (0.4 + 0.6 + 2 * 0.1 + 2 * 0.1) / 6
    assert gaps["eqopp"] == pytest.approx(tpr0 - tpr1, rel=1e-12)
    assert gaps["eqodds"] == pytest.approx(max(tpr0 - tpr1, tnr1 - tnr0), rel=1e-12)
    assert gaps["dp"] == pytest.approx(sel0 - sel1, rel=1e-12)


def test_epochs_rule_and_its_parameters():
    ds = make_fairness_synthetic(400, random_state=0)
    fixed = FairBatchClassifier(epochs=7, random_state=0).fit(
        ds.X, ds.y, sensitive_features=ds.sensitive
    )
    assert fixed.n_epochs_ == 7 and len(fixed.gap_history_) == 0
    # step_size = 0: the weights never move, so the loss alone decides; a short window stops early
    short = FairBatchClassifier(
        step_size=0.0, n_iter_no_change=5, learning_rate=0.05, random_state=0
    )
    short.fit(ds.X, ds.y, sensitive_features=ds.sensitive)
    assert 10 <= short.n_epochs_ < 100
    assert len(short.loss_history_) == short.n_epochs_ + 1
    # the last window's mean loss did not beat the previous window's by more than tol
    last, previous = short.loss_history_[-5:].mean(), short.loss_history_[-10:-5].mean()
    assert last >= previous - short.tol
    capped = FairBatchClassifier(max_epochs=3, random_state=0).fit(
        ds.X, ds.y, sensitive_features=ds.sensitive
    )
    assert capped.n_epochs_ == 3
    for params, message in [
        ({"epochs": "forever"}, "epochs must be 'auto' or a positive integer"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"n_iter_no_change": 1.5}, "n_iter_no_change"),
        ({"tol": -1.0}, "tol"),
    ]:
        with pytest.raises(ParameterError, match=message):
            FairBatchClassifier(**params).fit(ds.X, ds.y, sensitive_features=ds.sensitive)


def test_training_leaves_torch_threads_alone():
    import torch

    threads = torch.get_num_threads()
    ds = make_fairness_synthetic(200, random_state=0)
    FairBatchClassifier(epochs=2, random_state=0).fit(ds.X, ds.y, sensitive_features=ds.sensitive)
    assert torch.get_num_threads() == threads


@pytest.mark.slow
def test_adult_trains_within_budget():
    import time

    train = load_adult(split="train")
    start = time.perf_counter()
    clf = FairBatchClassifier(constraint="eqopp", epochs=10, random_state=0)
    clf.fit(train.X, train.y, sensitive_features=train.sensitive["sex"])
    assert time.perf_counter() - start < 30
    test = load_adult(split="test")
    assert clf.score(test.X, test.y) > 0.83  # logistic regression on Adult reaches ~0.85
