"""raikit.federated: partitions, counts-based federated metrics, Flower training, CLI.

Flower's simulation starts Ray (about ten seconds on this machine), so the training runs are
module-scoped fixtures: one FedAvg run (convergence to centralized logistic regression) and one
FedProx + eqopp reweighting + client-level DP run; the CLI test runs a third.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import raikit
from raikit import Dataset
from raikit._errors import ColumnError, DataError, ParameterError
from raikit._result import result_from_dict
from raikit.federated import (
    FederatedClassifier,
    FederatedMetricsResult,
    client_counts,
    federated_group_metrics,
    federated_train,
    partition,
)
from raikit.ledger import Ledger
from raikit.metrics import group_metrics


def _frame(n=3000, seed=1):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c": rng.choice(["u", "v", "w"], n),
            "sex": rng.choice(["F", "M"], n),
            "race": rng.choice(["x", "y", "z"], n, p=[0.6, 0.3, 0.1]),
            "region": rng.choice(["north", "south", "west", "east"], n),
        }
    )
    logit = 1.5 * frame["a"] - frame["b"] + 0.5 * (frame["c"] == "u") + 0.3
    frame["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame["p"] = np.where(rng.random(n) < 0.8, frame["y"], 1 - frame["y"])
    return frame


@pytest.fixture(scope="module")
def frame():
    return _frame()


@pytest.fixture(scope="module")
def scored(frame):
    return Dataset(frame, target="y", prediction="p", sensitive=["sex", "race"])


# --------------------------------------------------------------------------- partitions
def test_partition_by_column_is_disjoint_covering_and_pure(scored, frame):
    p = partition(scored, by="region")
    assert p.names == ["east", "north", "south", "west"]
    parts = p.datasets()
    # disjoint and covering: the clients' rows, together, are the table's rows exactly once
    together = pd.concat([d.frame for d in parts]).sort_values("a").reset_index(drop=True)
    pd.testing.assert_frame_equal(together, frame.sort_values("a").reset_index(drop=True))
    for name, d in zip(p.names, parts, strict=True):
        assert set(d.frame["region"]) == {name}
    assert p.sizes().to_dict() == frame["region"].value_counts().to_dict()


def test_dirichlet_split_is_seeded_covering_and_skewed(scored, frame):
    skewed = partition(scored, n_clients=5, concentration=0.1, random_state=0)
    again = partition(scored, n_clients=5, concentration=0.1, random_state=0)
    iid = partition(scored, n_clients=5, concentration=1000.0, random_state=0)
    np.testing.assert_array_equal(skewed.client, again.client)
    assert skewed.sizes().sum() == len(frame) and (skewed.sizes() >= 2).all()
    # Every row once: the clients' label counts add up to the table's.
    shares = skewed.label_shares().mul(skewed.sizes(), axis=0).sum().round().astype(int)
    assert shares.to_dict() == frame["y"].value_counts().sort_index().to_dict()
    positive = frame["y"].mean()
    spread_skewed = (skewed.label_shares()[1] - positive).abs().max()
    spread_iid = (iid.label_shares()[1] - positive).abs().max()
    assert spread_skewed > 0.3 and spread_iid < 0.05


def test_iid_split_balances_clients(scored):
    p = partition(scored, n_clients=3, random_state=1)
    assert p.sizes().tolist() == [1000, 1000, 1000]


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({}, ParameterError, "either by="),
        ({"by": "region", "n_clients": 3}, ParameterError, "not both"),
        ({"by": "region", "concentration": 0.5}, ParameterError, "concentration="),
        ({"n_clients": 1}, ParameterError, "n_clients"),
        ({"n_clients": 3, "concentration": -1.0}, ParameterError, "concentration"),
        ({"by": "nope"}, ColumnError, "'nope'"),
        ({"n_clients": 2000}, DataError, "two rows"),
    ],
)
def test_partition_refuses_bad_requests(scored, kwargs, error, words):
    with pytest.raises(error, match=words):
        partition(scored, **kwargs)


def test_partition_column_with_missing_values_is_refused(frame):
    broken = frame.assign(region=frame["region"].where(frame.index > 5))
    with pytest.raises(DataError, match="missing"):
        partition(Dataset(broken, target="y", sensitive="sex"), by="region")


# --------------------------------------------------------------------------- federated metrics
def test_counts_equal_pooled_metrics_and_intervals_exactly(scored, frame):
    fed = federated_group_metrics(None, partition(scored, by="region"), n_boot=300, random_state=7)
    pooled = group_metrics(
        frame["y"],
        frame["p"],
        sensitive_features=frame[["sex", "race"]],
        n_boot=300,
        random_state=7,
    )
    pd.testing.assert_frame_equal(
        fed.table.drop(columns="slice"), pooled.table.drop(columns="slice")
    )
    assert fed.table["slice"].tolist() == pooled.table["slice"].tolist()
    pd.testing.assert_frame_equal(fed.disparities, pooled.disparities)


def test_counts_of_a_model_equal_pooled_metrics(frame):
    ds = Dataset(frame.drop(columns="p"), target="y", sensitive="sex")
    model = LogisticRegression().fit(pd.get_dummies(ds.X, dtype=float), ds.y)

    class Encoded:  # the model applied by each client to its own rows
        classes_ = model.classes_

        def predict(self, X):
            return model.predict(pd.get_dummies(X, dtype=float))

    clients = partition(ds, n_clients=4, concentration=0.5, random_state=3)
    fed = federated_group_metrics(
        Encoded(), clients, metrics=["accuracy"], n_boot=200, random_state=0
    )
    pred = model.predict(pd.get_dummies(ds.X, dtype=float))
    pooled = group_metrics(
        ds.y,
        pred,
        sensitive_features=frame["sex"],
        metrics=["accuracy"],
        n_boot=200,
        random_state=0,
    )
    pd.testing.assert_frame_equal(fed.table, pooled.table)
    # the per-client view: each client's accuracy on its own rows
    for name, d in zip(clients.names, clients.datasets(), strict=True):
        own = (Encoded().predict(d.X) == d.y.to_numpy()).mean()
        row = fed.clients[(fed.clients["client"] == name) & (fed.clients["metric"] == "accuracy")]
        assert row["value"].item() == pytest.approx(own, abs=1e-12)
        assert row["rows"].item() == len(d)
    worst = fed.clients[fed.clients["metric"] == "accuracy"].sort_values("value")["client"].iloc[0]
    assert fed.worst_client() == worst


def test_client_counts_sum_to_the_table(scored, frame):
    tables = [client_counts(d) for d in partition(scored, by="region").datasets()]
    total = pd.concat(tables).groupby(["sex", "race", "__y", "__p"])["__n"].sum()
    expected = frame.groupby(["sex", "race", "y", "p"]).size()
    assert total.to_numpy().tolist() == expected.to_numpy().tolist()


def test_noisy_release_covers_the_whole_domain_with_integer_noise(scored, frame):
    domain = pd.MultiIndex.from_product(
        [["F", "M"], ["x", "y", "z"], [0, 1], [0, 1]], names=["sex", "race", "__y", "__p"]
    )
    small = Dataset(frame.iloc[:20], target="y", prediction="p", sensitive=["sex", "race"])
    noisy = client_counts(small, epsilon=1.0, domain=domain)
    assert len(noisy) == 24 and noisy["__n"].dtype.kind == "i"
    with pytest.raises(ParameterError, match="domain="):
        client_counts(small, epsilon=1.0)


def test_dp_intervals_are_wider_and_cover_the_pooled_value(scored, frame):
    """30 noisy releases (epsilon=0.5 per client, 4 clients): the 95% intervals of accuracy per
    group must cover the pooled (noise-free) value at about the nominal rate, and be wider."""
    clients = partition(scored, by="region")
    exact = federated_group_metrics(None, clients, metrics=["accuracy"], n_boot=300, random_state=0)
    truth = exact.table.set_index(["attribute", "group"])["value"]
    width = (exact.table["upper"] - exact.table["lower"]).to_numpy()
    domains = {"sex": ["F", "M"], "race": ["x", "y", "z"], "y": [0, 1]}
    covered, widths = [], []
    for seed in range(30):
        noisy = federated_group_metrics(
            None,
            clients,
            metrics=["accuracy"],
            epsilon=0.5,
            domains=domains,
            n_boot=200,
            random_state=seed,
        )
        t = noisy.table.set_index(["attribute", "group"])
        covered.append(((t["lower"] <= truth) & (truth <= t["upper"])).to_numpy())
        widths.append((t["upper"] - t["lower"]).to_numpy())
    coverage = np.mean(covered)
    assert coverage >= 0.9, coverage
    assert (np.mean(widths, axis=0) > width).all()
    assert noisy.meta["epsilon"] == 0.5 and "Laplace" in noisy.meta["noise"]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"epsilon": -1.0}, "epsilon"),
        ({"ci": 1.5}, "ci"),
        ({"n_boot": 0}, "n_boot"),
        ({"epsilon": 1.0}, "domains="),
        ({"epsilon": 1.0, "domains": {"sex": ["F", "M"]}}, "'race'"),
    ],
)
def test_federated_metrics_parameter_errors(scored, kwargs, words):
    with pytest.raises(ParameterError, match=f"federated_group_metrics.*{words}"):
        federated_group_metrics(None, partition(scored, by="region"), **kwargs)


def test_federated_metrics_needs_a_partition_and_predictions(scored, frame):
    with pytest.raises(ParameterError, match="Partition"):
        federated_group_metrics(None, scored)
    unscored = Dataset(frame, target="y", sensitive="sex")
    with pytest.raises(ParameterError, match="prediction"):
        federated_group_metrics(None, partition(unscored, by="region"))


def test_track_records_one_evidence_row_with_the_per_client_table(tmp_path, scored):
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("federated", ledger=ledger) as run:
        federated_group_metrics(None, partition(scored, by="region"), n_boot=50, random_state=0)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["federated.group_metrics"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["n_boot"] == 50 and params["epsilon"] is None
    result = json.loads(evidence["result"].iloc[0]) if "result" in evidence else None
    if result is not None:
        assert {r for r in result["fields"]} >= {"clients", "table"}


# --------------------------------------------------------------------------- training
def _training_frame(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    logit = X @ np.array([1.5, -1.0, 0.5]) + 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    sex = np.where(rng.random(n) < 0.3, "F", "M")
    return pd.DataFrame(X, columns=["a", "b", "c"]).assign(sex=sex, y=y)


@pytest.fixture(scope="module")
def fedavg():
    ds = Dataset(_training_frame(), target="y", sensitive="sex")
    clients = partition(ds, n_clients=3, random_state=0)
    rounds_seen = []
    model = federated_train(
        clients,
        rounds=12,
        local_epochs=5,
        learning_rate=1.0,
        random_state=0,
        progress=lambda done, total: rounds_seen.append((done, total)),
    )
    return ds, model, rounds_seen


def test_fedavg_converges_to_centralized_logistic_regression(fedavg):
    """Measured: after 12 rounds of 5 full-batch steps (lr 1.0) on 3 IID clients the weights are
    within 0.008 (intercept 0.002) of unpenalised logistic regression on the pooled rows (same
    encoding) and the predictions agree on 99.9% of rows; the tolerance is 0.02."""
    ds, model, _ = fedavg
    X = model.encoder_.transform(ds.X)
    central = LogisticRegression(C=1e6, max_iter=1000).fit(X, ds.y)
    np.testing.assert_allclose(model.coefs_[0].ravel(), central.coef_.ravel(), atol=0.02)
    assert model.intercepts_[0][0] == pytest.approx(central.intercept_[0], abs=0.02)
    assert (model.predict(ds.X) == central.predict(X)).mean() >= 0.99
    assert model.predict_proba(ds.X).shape == (len(ds), 2)


def test_history_has_a_row_per_round_and_loss_falls(fedavg):
    _, model, rounds_seen = fedavg
    h = model.history_
    assert h["round"].tolist() == list(range(1, 13))
    assert (h["clients"] == 3).all()
    assert h["loss"].iloc[-1] < h["loss"].iloc[0] - 0.05
    assert rounds_seen == [(r, 12) for r in range(1, 13)]
    assert model.privacy_ == {}


@pytest.fixture(scope="module")
def fair_private():
    frame = _training_frame(seed=2)
    ds = Dataset(frame, target="y", sensitive="sex")
    clients = partition(ds, n_clients=3, concentration=1.0, random_state=0)
    model = federated_train(
        clients,
        strategy="fedprox",
        proximal_mu=0.1,
        fairness="eqopp",
        rounds=4,
        noise_multiplier=0.8,
        clipping_norm=2.0,
        random_state=0,
    )
    return ds, model


def test_fedprox_with_reweighting_and_client_level_dp(fair_private):
    from opacus.accountants import RDPAccountant

    ds, model = fair_private
    accountant = RDPAccountant()
    for _ in range(4):
        accountant.step(noise_multiplier=0.8, sample_rate=1.0)
    assert model.privacy_["epsilon"] == pytest.approx(accountant.get_epsilon(1e-5))
    assert model.privacy_["delta"] == 1e-5
    assert "max_weight" in model.history_ and (model.history_["max_weight"] > 0).all()
    assert len(model.history_) == 4
    assert set(model.predict(ds.X)) <= {0, 1}


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"strategy": "fedsgd"}, "strategy"),
        ({"rounds": 0}, "rounds"),
        ({"network": "cnn"}, "network"),
        ({"noise_multiplier": 0.0}, "noise_multiplier"),
        ({"fairness": "dp"}, "fairness"),
        ({"network": "sgd", "strategy": "fedprox"}, "proximal"),
    ],
)
def test_federated_train_parameter_errors(scored, kwargs, words):
    clients = partition(scored, by="region")
    with pytest.raises(ParameterError, match=f"federated_train.*{words}"):
        federated_train(clients, **kwargs)


def test_federated_train_refuses_wrong_inputs(scored, frame):
    with pytest.raises(ParameterError, match="Partition"):
        federated_train(scored)
    with pytest.raises(ParameterError, match="attribute='nope'"):
        federated_train(partition(scored, by="region"), attribute="nope")
    multi = Dataset(frame.assign(y=frame["region"]), target="y", sensitive="sex")
    with pytest.raises(DataError, match="binary"):
        federated_train(partition(multi, n_clients=2, random_state=0))
    with pytest.raises(ParameterError, match="federated_train"):
        FederatedClassifier().fit(frame[["a"]], frame["y"])


# --------------------------------------------------------------------------- CLI
def test_cli_simulate_on_adult(tmp_path):
    from tests._cli import run

    out = tmp_path / "fed.json"
    done = run(
        "federated",
        "simulate",
        "--data",
        "adult",
        "--partition-by",
        "label",
        "--clients",
        "2",
        "--rounds",
        "2",
        "--max-rows",
        "3000",
        "--method",
        "fair",
        "--network",
        "sgd",
        "--json",
        str(out),
        env={"PATH": os.environ.get("PATH", "")},  # Ray starts its processes through PATH
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Federated rounds" in done.stdout and "2/2" in done.stdout
    assert "client 0" in done.stdout and "client 1" in done.stdout
    saved = result_from_dict(json.loads(out.read_text()))  # reads back without an import
    assert isinstance(saved, FederatedMetricsResult)
    # scikit-learn's SGD, warm-started each round, beats the majority class (0.76 on Adult)
    assert saved.overall["accuracy"] > 0.8


def test_cli_refuses_an_unknown_method():
    from tests._cli import run

    done = run("federated", "simulate", "--method", "magic", "--rounds", "1")
    assert done.returncode == 2 and "--method" in done.stderr


# --------------------------------------------------------------------------- audit section
def test_audit_section_reports_each_client_and_skips_without_a_column(frame):
    from raikit.audit import audit

    ds = Dataset(frame.drop(columns="p"), target="y", sensitive="sex", features=["a", "b"])
    train, test = ds.split(0.5, random_state=0)
    model = LogisticRegression().fit(train.X, train.y)
    report = audit(
        model,
        train=train,
        test=test,
        sections=["federated"],
        clients="region",
        n_boot=100,
        random_state=0,
    )
    result = report.results["federated.group_metrics"]
    accuracy = result.clients[result.clients["metric"] == "accuracy"].set_index("client")
    correct = model.predict(test.X) == test.y.to_numpy()
    expected = pd.Series(correct).groupby(test.frame["region"].to_numpy()).mean()
    np.testing.assert_allclose(accuracy["value"].sort_index(), expected.sort_index(), atol=1e-12)
    assert result.worst_client() == expected.idxmin()
    plain = audit(model, train=train, test=test, sections=["federated"], n_boot=100, random_state=0)
    assert "federated.group_metrics" not in plain.results
    assert "clients='region'" in plain.meta["skipped"]["federated"]


def test_cli_audit_with_clients_runs_the_federated_section(tmp_path, frame):
    from tests._cli import run

    from raikit import save_model

    data = frame.drop(columns="p")
    data.iloc[:1500].to_csv(tmp_path / "train.csv", index=False)
    data.iloc[1500:].to_csv(tmp_path / "test.csv", index=False)
    save_model(LogisticRegression().fit(data[["a", "b"]], data["y"]), tmp_path / "m.skops")
    done = run(
        "audit", "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"),
        "--model", str(tmp_path / "m.skops"), "--target", "y", "--sensitive", "sex",
        "--features", "a,b", "--clients", "region", "--n-boot", "50",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = result_from_dict(json.loads((tmp_path / "out" / "audit.json").read_text()))
    result = report.results["federated.group_metrics"]
    assert sorted(result.clients["client"].unique()) == ["east", "north", "south", "west"]
    assert "federated" not in report.meta.get("skipped", {})
