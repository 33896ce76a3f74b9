"""Fairness-aware federated training against plain FedAvg on UCI Adult (issue 21).

Adult's original training rows are split among ``--clients`` clients by a Dirichlet draw over
the label (non-IID, ``--concentration``); Flower's simulation engine trains raikit's logistic network
with plain FedAvg and with the FairBatch-style equal-opportunity reweighting
(``fairness="eqopp"``), both from the same seed, rounds and local steps. The reference is
centralized training: scikit-learn's ``LogisticRegression`` on the pooled rows (the same
encoding), which a federation cannot do. Every model is scored on Adult's original test rows
with raikit's group metrics: accuracy and the equal-opportunity gap (the largest difference in
true positive rate between the groups of ``--attribute``), each with its 95% bootstrap interval,
printed side by side with the ratios to FedAvg.

Run::

    python bench/bench_federated.py --clients 5 --concentration 0.5 --rounds 15
"""

from __future__ import annotations

import argparse
import time


def _score(model, test, attribute, n_boot, seed):
    from raikit.metrics import group_metrics

    pred = model.predict(test.X)
    r = group_metrics(
        test.y,
        pred,
        sensitive_features=test.frame[attribute],
        metrics=["accuracy", "true_positive_rate"],
        n_boot=n_boot,
        random_state=seed,
    )
    overall = r.table[(r.table["attribute"] == "overall") & (r.table["metric"] == "accuracy")]
    gap = r.difference(bounds=True)
    gap = gap[gap["metric"] == "true_positive_rate"].iloc[0]
    acc = overall.iloc[0]
    return (acc["value"], acc["lower"], acc["upper"]), (gap["value"], gap["lower"], gap["upper"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--concentration", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--local-epochs", type=int, default=5)
    parser.add_argument("--attribute", default="sex")
    parser.add_argument("--n-boot", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression

    from raikit.datasets import load_adult
    from raikit.federated import federated_train, partition
    from raikit.federated._train import federated_encoder

    train, test = load_adult(split="train"), load_adult(split="test")
    clients = partition(
        train, n_clients=args.clients, concentration=args.concentration, random_state=args.seed
    )
    print(
        f"Adult: {train.n_rows} training rows over {clients.n_clients} clients "
        f"(Dirichlet concentration={args.concentration}); positive share per client:"
    )
    print(clients.label_shares().iloc[:, -1].round(3).to_string())
    rows = {}
    for name, fairness in (("FedAvg", None), ("FedAvg + eqopp reweighting", "eqopp")):
        start = time.perf_counter()
        model = federated_train(
            clients,
            rounds=args.rounds,
            local_epochs=args.local_epochs,
            fairness=fairness,
            attribute=args.attribute,
            random_state=args.seed,
        )
        seconds = time.perf_counter() - start
        rows[name] = (*_score(model, test, args.attribute, args.n_boot, args.seed), seconds)

    class Central:  # the pooled reference, on the federation's encoding
        encoder = federated_encoder(clients.datasets())
        fitted = LogisticRegression(max_iter=1000).fit(encoder.transform(train.X), train.y)

        def predict(self, X):
            return self.fitted.predict(self.encoder.transform(X))

    start = time.perf_counter()
    central = Central()
    rows["centralized (reference)"] = (
        *_score(central, test, args.attribute, args.n_boot, args.seed),
        time.perf_counter() - start,
    )
    base_acc, base_gap = rows["FedAvg"][0][0], rows["FedAvg"][1][0]
    print(
        f"\nTest rows: {test.n_rows}; eqopp gap = max - min true positive rate over "
        f"{args.attribute}; 95% intervals; ratios to FedAvg"
    )
    header = f"{'method':28} {'accuracy [95% CI]':26} {'ratio':>6}  "
    header += f"{'eqopp gap [95% CI]':26} {'ratio':>6} {'seconds':>8}"
    print(header)
    for name, ((a, al, au), (g, gl, gu), seconds) in rows.items():
        print(
            f"{name:28} {a:.4f} [{al:.4f}, {au:.4f}]   {a / base_acc:6.3f}  "
            f"{g:.4f} [{gl:.4f}, {gu:.4f}]   {g / base_gap:6.3f} {seconds:8.1f}"
        )


if __name__ == "__main__":
    main()
