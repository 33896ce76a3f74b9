"""FairBatch: the paper's synthetic results, COMPAS, and the sampler's training-time overhead.

Run: ``python bench/bench_fairbatch.py [--seeds 10] [--epochs N]``

* Synthetic data of Zafar et al. as in the FairBatch paper (``make_fairness_synthetic``; 3,000 rows
  per seed, 2,000 train / 1,000 test; the model sees x1, x2 and z as the paper's code does), logistic
  regression, batch 100, alpha 0.005: accuracy and disparity (largest distance of a group's rate
  from the overall rate) for eqopp / eqodds / dp, mean of ``--seeds`` seeds, printed beside the
  paper's Table (ICLR 2021): eqopp .855/.012, eqodds .856/.038, dp .794/.040.
  The authors' notebook trains 300 (eqopp), 400 (eqodds) and 450 (dp) epochs, and its model
  outputs ``(tanh(l) + 1) / 2 = sigmoid(2 l)``: Adam's step 5e-4 on its weights is the same
  trajectory as a step of 1e-3 on the weights of our ``sigmoid(l)`` model, which we use. The
  authors fix one data draw and vary the seed of initialisation and batches; here each seed also
  draws new data, so the spread includes sampling noise. ``--epochs`` overrides all three.
  Last run (10 seeds, accuracy / disparity, paper in brackets): eqopp .855/.011 (.855/.012),
  eqodds .860/.028 (.856/.038), dp .785/.031 (.794/.040); without FairBatch .871/.126,
  .870/.133, .870/.230. The dp update is the reference's (loss against the positive label,
  cell sums divided by group size, positives of the worse-served group up and its negatives
  down); the earlier gap (.805/.058) came from training dp for 300 epochs at half the step.
  Rows ``default`` fit ``FairBatchClassifier(constraint=...)`` with nothing else set
  (``epochs="auto"``: train until the training gap, the loss and the mixing weights settle;
  Adam 1e-3); ``former`` uses the defaults before issue 16 (100 epochs at 5e-4). Last run
  (5 seeds, ``--only synthetic``; epochs / accuracy / disparity): eqopp default 255 / .851 /
  .008 vs former 100 / .857 / .128 (plain .874 / .127); eqodds default 303 / .858 / .025 vs
  former .854 / .175 (plain .872 / .127); dp default 294 / .777 / .031 vs former .854 / .225
  (plain .872 / .232). The default matches the authors' fixed epoch counts (.852 / .012,
  .858 / .024, .775 / .029 in the same run) in fewer epochs.
* COMPAS (sensitive: sex; 70/30 split), the same model with and without FairBatch, with sex
  as a model input (the paper's setup) and without it.
* Overhead: seconds per epoch of FairBatch vs the same model and loop with a plain shuffled
  sampler (goal <= 1.3x), measured side by side.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from raikit.datasets import load_compas, make_fairness_synthetic
from raikit.train import FairBatchClassifier
from raikit.train._fairbatch import train_loop
from raikit.train._torch_models import build_module

PAPER = {"eqopp": (0.855, 0.012), "eqodds": (0.856, 0.038), "dp": (0.794, 0.040)}


def disparity(y, pred, z, constraint):
    labels = {"eqopp": [1], "eqodds": [0, 1], "dp": [None]}[constraint]
    gaps = []
    for label in labels:
        rows = np.ones(len(y), bool) if label is None else y == label
        overall = pred[rows].mean()
        gaps += [abs(pred[rows & (z == g)].mean() - overall) for g in np.unique(z)]
    return max(gaps)


AUTHORS_EPOCHS = {"eqopp": 300, "eqodds": 400, "dp": 450}


def synthetic(seeds: int, epochs: int | None) -> None:
    print(f"Synthetic (Zafar et al.), mean ± sd over {seeds} seeds, Adam 1e-3 (see docstring)")
    print(
        f"{'constraint':<10}{'method':<12}{'epochs':>7}{'accuracy':>12}{'disparity':>13}"
        f"   paper (acc / disp)"
    )
    for constraint in ("eqopp", "eqodds", "dp"):
        n_epochs = epochs or AUTHORS_EPOCHS[constraint]
        scores = {name: [] for name in ("plain", "fairbatch", "default", "former")}
        trained = {name: [] for name in scores}
        for seed in range(seeds):
            frame = make_fairness_synthetic(3000, random_state=seed, as_frame=True)
            train, test = frame.iloc[:2000], frame.iloc[2000:]
            cols = ["x1", "x2", "z"]
            runs = {
                "plain": {"step_size": 0.0, "epochs": n_epochs},
                "fairbatch": {"epochs": n_epochs},
                "default": {},  # FairBatchClassifier's own defaults: epochs="auto"
                "former": {"epochs": 100, "learning_rate": 5e-4},  # the defaults until issue 16
            }
            for name, params in runs.items():
                clf = FairBatchClassifier(constraint=constraint, random_state=seed, **params)
                clf.fit(train[cols], train["y"], sensitive_features=train["z"])
                pred = clf.predict(test[cols])
                y, z = test["y"].to_numpy(), test["z"].to_numpy()
                scores[name].append(((pred == y).mean(), disparity(y, pred, z, constraint)))
                trained[name].append(clf.n_epochs_)
        for name, values in scores.items():
            acc, disp = np.mean(values, axis=0)
            sd = np.std(values, axis=0)
            paper = "   {:.3f} / {:.3f}".format(*PAPER[constraint]) if name == "fairbatch" else ""
            print(
                f"{constraint:<10}{name:<12}{np.mean(trained[name]):>7.0f}{acc:>7.3f}±{sd[0]:.3f}"
                f"{disp:>8.3f}±{sd[1]:.3f}{paper}"
            )


def compas(epochs: int) -> None:
    ds = load_compas()
    train, test = ds.split(0.3, random_state=0)
    print(f"\nCOMPAS (sensitive: sex), {epochs} epochs, learning rate 5e-3")
    for with_z in (True, False):
        Xtr, Xte = train.X, test.X
        if with_z:  # the paper's setup: the model sees the sensitive attribute
            Xtr = Xtr.assign(sex=train.sensitive["sex"])
            Xte = Xte.assign(sex=test.sensitive["sex"])
        print(f"  sex as a model input: {with_z}")
        for constraint in ("eqopp", "eqodds"):
            for name, alpha in (("plain", 0.0), ("fairbatch", 0.005)):
                clf = FairBatchClassifier(
                    constraint=constraint,
                    step_size=alpha,
                    epochs=epochs,
                    learning_rate=5e-3,
                    random_state=0,
                ).fit(Xtr, train.y, sensitive_features=train.sensitive["sex"])
                pred = clf.predict(Xte)
                y, z = np.asarray(test.y), np.asarray(test.sensitive["sex"])
                print(
                    f"  {constraint:<10}{name:<12}accuracy {np.mean(pred == y):.3f}  "
                    f"disparity {disparity(y, pred, z, constraint):.3f}"
                )


def overhead(epochs: int) -> None:
    ds = load_compas()
    clf = FairBatchClassifier(epochs=1, random_state=0).fit(
        ds.X, ds.y, sensitive_features=ds.sensitive["sex"]
    )
    X = torch.from_numpy(clf.encoder_.transform(ds.X))
    y = torch.from_numpy(np.asarray(ds.y).astype(np.int64))
    n = len(y)
    rng = np.random.default_rng(0)
    n_batches = n // 100

    def plain_draw():
        return rng.permutation(n)[: n_batches * 100].reshape(n_batches, 100)

    times = {}
    for name in ("plain", "fairbatch", "plain", "fairbatch"):  # interleaved, best of two
        start = time.perf_counter()
        if name == "plain":
            module = build_module("logistic", X.shape[1], 1, seed=0)
            train_loop(
                module,
                X,
                y,
                1,
                epochs=epochs,
                learning_rate=5e-4,
                before_epoch=None,
                draw_epoch=plain_draw,
            )
        else:
            FairBatchClassifier(epochs=epochs, constraint="eqodds", random_state=0).fit(
                ds.X, ds.y, sensitive_features=ds.sensitive["sex"]
            )
        times[name] = min(times.get(name, np.inf), time.perf_counter() - start)
    print(f"\nOverhead on COMPAS ({n} rows, {epochs} epochs, batch 100, logistic):")
    print(f"  plain sampler : {times['plain']:.2f} s")
    print(f"  FairBatch     : {times['fairbatch']:.2f} s (incl. encoding and validation)")
    print(f"  ratio         : {times['fairbatch'] / times['plain']:.2f}x (goal <= 1.3x)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--only", choices=["synthetic", "compas", "overhead"], default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.only in (None, "overhead"):
        overhead(30)
    if args.only in (None, "compas"):
        compas(100)
    if args.only in (None, "synthetic"):
        synthetic(args.seeds, args.epochs)


if __name__ == "__main__":
    main()
