"""DP-SGD on Adult: accuracy vs epsilon, raikit's DPClassifier vs a hand-written Opacus loop.

Run: ``python bench/bench_dp_training.py [--epochs E] [--model logistic|mlp]``

For epsilon in {0.5, 1, 3, 8, inf} it trains on Adult's train split (the five numeric features,
scaled with public census ranges) and tests on the test split. Side by side in one run:

* ``DPClassifier`` (raikit, Opacus underneath, RDP accountant, Poisson sampling);
* the same network trained by a plain Opacus loop written by hand (``PrivacyEngine`` +
  ``make_private_with_epsilon``) -- the peer: the ratio shows raikit's overhead;
* scikit-learn ``LogisticRegression`` (non-private) as the accuracy ceiling for this model class.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np

RANGES = {
    "age": (17, 90),
    "education_num": (1, 16),
    "capital_gain": (0, 99_999),
    "capital_loss": (0, 4_356),
    "hours_per_week": (1, 99),
}


def features(frame):
    columns = []
    for name, (lo, hi) in RANGES.items():
        values = frame[name].to_numpy(dtype=float)
        scaled = np.log1p(values) / np.log1p(hi) if name.startswith("capital") else None
        columns.append(scaled if scaled is not None else (values - lo) / (hi - lo))
    return np.column_stack(columns).astype(np.float32), frame["income"].to_numpy()


def opacus_by_hand(X, y, X_test, y_test, epsilon, epochs, batch_size=1024, lr=0.5, seed=0):
    import torch
    from opacus import PrivacyEngine

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = torch.nn.Linear(X.shape[1], 2)
    data = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y.astype(np.int64)))
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    if not math.isinf(epsilon):
        engine = PrivacyEngine(accountant="rdp")
        model, optimizer, loader = engine.make_private_with_epsilon(
            module=model,
            optimizer=optimizer,
            data_loader=loader,
            target_epsilon=epsilon,
            target_delta=1e-5,
            epochs=epochs,
            max_grad_norm=1.0,
            noise_generator=generator,
        )
    loss = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        for xb, yb in loader:
            if len(yb) == 0:
                continue
            optimizer.zero_grad()
            loss(model(xb), yb).backward()
            optimizer.step()
    with torch.no_grad():
        predicted = model(torch.from_numpy(X_test)).argmax(dim=1).numpy()
    return float((predicted == y_test).mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--model", default="logistic")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    from sklearn.linear_model import LogisticRegression

    from raikit.datasets import load_adult
    from raikit.privacy import DPClassifier

    X, y = features(load_adult(split="train").frame)
    X_test, y_test = features(load_adult(split="test").frame)
    start = time.perf_counter()
    ceiling = LogisticRegression(max_iter=1000).fit(X, y).score(X_test, y_test)
    sk_time = time.perf_counter() - start
    print(f"Adult: {len(X):,} train rows, {len(X_test):,} test rows, {X.shape[1]} numeric features")
    print(
        f"majority class {max(y_test.mean(), 1 - y_test.mean()):.4f}; sklearn "
        f"LogisticRegression (non-private) {ceiling:.4f} in {sk_time:.2f}s"
    )
    print(
        f"{'epsilon':>8} {'spent':>8} {'sigma':>7} {'raikit acc':>10} {'raikit s':>9} "
        f"{'opacus acc':>10} {'opacus s':>9} {'time ratio':>10}"
    )
    for epsilon in (0.5, 1.0, 3.0, 8.0, math.inf):
        start = time.perf_counter()
        clf = DPClassifier(
            network=args.model,
            target_epsilon=epsilon,
            epochs=args.epochs,
            target_delta=1e-5,
            random_state=0,
        ).fit(X, y)
        ours = time.perf_counter() - start
        accuracy = clf.score(X_test, y_test)
        start = time.perf_counter()
        peer_accuracy = opacus_by_hand(X, y, X_test, y_test, epsilon, args.epochs)
        peer = time.perf_counter() - start
        print(
            f"{epsilon:>8g} {clf.epsilon_:>8.3f} {clf.noise_multiplier_:>7.3f} "
            f"{accuracy:>10.4f} {ours:>9.2f} {peer_accuracy:>10.4f} {peer:>9.2f} "
            f"{ours / peer:>10.2f}"
        )


if __name__ == "__main__":
    main()
