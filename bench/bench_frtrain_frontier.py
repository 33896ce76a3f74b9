"""Accuracy / disparate-impact FRONTIERS of FR-Train, FairBatch and reductions on poisoned data.

Run: ``python bench/bench_frtrain_frontier.py [--seeds 5] [--epochs 10000] [--save runs.json]``
(``--load runs.json`` re-prints the analysis of a saved run without training again).

Issue #5 asks whether FR-Train, trained on data with 10% of its labels flipped adversarially,
"keeps accuracy and fairness better" than FairBatch or the reductions approach on the same
poisoned data. ``bench/bench_frtrain.py`` compares one point per method; a single point at a
default strength cannot show a better *trade-off*, so here every method's fairness strength is
swept on the same data and the frontiers are compared.

Setup (as ``bench_frtrain.py``, the FR-Train paper's synthetic experiment): per seed,
``make_fairness_synthetic(3000)`` split into 1,800 training rows, a 200-row clean validation
set (given to FR-Train only, as in the paper) and 1,000 test rows; 10% of the training labels
flipped by ``flip_labels(method="paudice")``; every method sees the same poisoned rows and the
same test set; features x1, x2, z; DI is the disparate-impact ratio of the predictions on the
test set (1 = parity). Strength sweeps (no other hyper-parameter is tuned, on test or otherwise):

* FR-Train: ``lambda_f`` in {0, .1, .2, .3, .4, .52} at the authors' ``lambda_r = .4``,
  10,000 epochs (500 of pre-training), the authors' schedule; ``lambda_f + lambda_r < 1``
  bounds ``lambda_f`` below .6.
* FairBatch dp: FairBatch has no constraint level for dp — it moves the minibatch mix towards
  parity by ``alpha`` per epoch — so its step ``alpha`` in {0, 1e-4, 2e-4, 3e-4, 5e-4, 1e-3,
  5e-3 (the authors')} at the authors' 450 epochs, batch 100, Adam 1e-3 is the strength knob:
  ``alpha = 0`` is plain stratified training, small steps stop short of parity in 450 epochs.
* ExponentiatedGradient dp ("ExpGrad"): Fairlearn's ``eps`` in {.01, .03, .1, .3, 1.0} through
  raikit's ``FairlearnClassifier``, as the issue asked. Since Fairlearn 0.5 this ``eps`` only
  caps the multipliers (B = 1/eps); the constraint stays at ``DemographicParity``'s default
  difference bound of .01, so this sweep barely moves (all five points sit at DI .88-.93).
* "ExpGrad-b": the real strength knob, ``ExponentiatedGradient(LogisticRegression,
  DemographicParity(difference_bound=b))`` with b in {.01, .05, .1, .15, .2, .3}, Fairlearn
  directly on standardised features, randomised predictions seeded per run.
* GridSearch dp (the other reductions method; Fairlearn's own way of tracing a trade-off): the 41
  Lagrange multipliers of ``grid_size=41`` (-2 to 2 by .1), each model one point; only its
  frontier is printed.

Output: per method the (accuracy, DI) points as mean ± sd over seeds and each method's Pareto
frontier of the mean points (``*``); a dominance verdict computed in code — for each FR-Train
point, which competitor points have accuracy >= and DI >= (on the means, and in how many seeds
on that seed's points), and the reverse; and the accuracy each method reaches at DI >= .8
interpolated linearly along its frontier. A randomised mix of two neighbouring classifiers has
exactly the interpolated accuracy and positive rates between theirs, so its DI is between
theirs but not exactly on the line; take that number as a close approximation.
``--clean-to-all`` is a control: the competitors also train on the 200 clean rows.

Last run (5 seeds, 2026-11-23, about 13 minutes on one core; accuracy / DI, mean ± sd;
``*`` = on the method's frontier):

    logistic, poisoned        .806 ± .029 / .207 ± .064
    FR-Train lf=0             .841 ± .015 / .370 ± .062      (robustness only)
    FR-Train lf=.1            .848 ± .016 / .480 ± .043  *   paper .842 / .657
    FR-Train lf=.2            .838 ± .022 / .567 ± .039  *
    FR-Train lf=.3            .821 ± .020 / .651 ± .018  *
    FR-Train lf=.4            .797 ± .019 / .738 ± .018  *
    FR-Train lf=.52           .735 ± .064 / .864 ± .060  *   paper .814 / .827 (one seed collapses)
    FairBatch alpha=0 .. 5e-4 .807/.206, .805/.244, .800/.290, .789/.341, .766/.509  (all *)
    FairBatch alpha=1e-3      .715 ± .037 / .943 ± .042  *
    FairBatch alpha=5e-3      .697 ± .037 / .924 ± .050
    ExpGrad eps=.01 .. 1.0    .709-.717 / .882-.932
    ExpGrad-b b=.01 .. .3     .714/.903, .735/.744, .755/.583, .773/.471, .788/.374,
                              .811/.235  (all *)
    GridSearch frontier       .684/.727, .753/.721, .784/.457, .806/.301, .806/.205

Verdict on the same poisoned data (competitors without the clean rows):

* No FR-Train mean point is dominated by any FairBatch, ExpGrad, ExpGrad-b or GridSearch point;
  per seed, one of the 30 FR-Train points (lf=.4, one seed) is dominated by a GridSearch model.
* Every competitor point with DI below .73 is dominated by some FR-Train point on the means
  (in 3-5 of the 5 seeds): FairBatch alpha <= 5e-4, ExpGrad-b b >= .1, GridSearch's frontier.
  ExpGrad-b b=.05 (.735/.744) is not (FR-Train lf=.4 has .797 but DI .738), only in 3 seeds.
  The fair competitor points (DI .88-.94: FairBatch alpha >= 1e-3, ExpGrad, ExpGrad-b b=.01)
  are not dominated on the means: they are fairer than FR-Train's fairest mean point (.864),
  at .70-.72 accuracy against its .735.
* Best accuracy at DI >= t, interpolated along each frontier of the mean points:

      t              .4     .5     .6     .7     .8     .9
      FR-Train     .848   .846   .831   .807   .767     -
      FairBatch    .781   .767   .755   .743   .732   .720
      ExpGrad      .717   .717   .717   .717   .717   .714
      ExpGrad-b    .784   .768   .753   .741   .728   .714
      GridSearch   .792   .779   .767   .755     -      -

  At DI >= .8 on per-seed frontiers (mean ± sd): FR-Train .775 ± .017, FairBatch .732 ± .035,
  ExpGrad .723 ± .019, ExpGrad-b .729 ± .019, GridSearch .729 ± .005 (2 of 5 seeds reach
  it). Paper: FR-Train .814 at DI .827.

Control, ``--clean-to-all`` (competitors train on the 1,800 poisoned + 200 clean rows, FR-Train
unchanged): the competitors gain about .02 accuracy; best accuracy at DI >= .5 / .6 / .7 / .8
becomes FairBatch .788 / .775 / .762 / .749, ExpGrad-b .793 / .777 / .764 / .749, GridSearch
.798 / .785 / .772 / .743 against FR-Train's .846 / .831 / .807 / .767. FR-Train's lf=.52 mean
point (.735/.864, dragged down by its collapsed seed) is then dominated on the means by ExpGrad
(.737/.884), though in none of the seeds; FR-Train's other points remain undominated.

So, on this reproduction, FR-Train's frontier lies above the competitors' wherever they overlap:
by .05-.08 accuracy at equal DI between .4 and .7 and by .035 at DI .8 (.02-.05 and .02 when the
competitors also get the clean rows). That supports the issue's claim of a better trade-off
under poisoning. It does not reproduce the paper's absolute numbers: the paper's two points
(.842/.657, .814/.827) lie above our FR-Train frontier (at DI .65 we get about .82, at .83
about .75), and no competitor point dominates them either. The fairest end of FR-Train is
unstable (lf=.52: one seed of five collapses to .615 / .972), and the competitors reach higher
DI (.93-.94) than any FR-Train setting does on average.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from itertools import pairwise

import numpy as np
import pandas as pd
import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sklearn.linear_model import LogisticRegression

from raikit.datasets import make_fairness_synthetic
from raikit.train import FairBatchClassifier, FairlearnClassifier, FRTrainClassifier, flip_labels

COLS = ["x1", "x2", "z"]
PAPER = [("paper FR-Train lf=.10", 0.842, 0.657), ("paper FR-Train lf=.52", 0.814, 0.827)]
LAMBDA_F = [0.0, 0.1, 0.2, 0.3, 0.4, 0.52]
ALPHAS = [0.0, 1e-4, 2e-4, 3e-4, 5e-4, 1e-3, 5e-3]
EPS = [0.01, 0.03, 0.1, 0.3, 1.0]
BOUNDS = [0.01, 0.05, 0.1, 0.15, 0.2, 0.3]
GRID = 41
TARGET_DI = 0.8
console = Console()


def disparate_impact(pred, z):
    """min(P(yhat=1|z=0) / P(yhat=1|z=1), inverse); 0 when a group gets no positives."""
    a, b = pred[z == 0].mean(), pred[z == 1].mean()
    return float(min(a / b, b / a)) if a > 0 and b > 0 else 0.0


class ExpGradBound:
    """Fairlearn's ExponentiatedGradient with DemographicParity(difference_bound=bound).

    Since Fairlearn 0.5 ``ExponentiatedGradient(eps=...)`` only bounds the multipliers (the
    constraint itself stays at DemographicParity's default difference bound of .01), so the
    constraint level is set on the moment. Features are standardised as raikit's adapter does;
    predictions are Fairlearn's randomised ones, seeded.
    """

    def __init__(self, bound, random_state):
        self.bound, self.random_state = bound, random_state

    def fit(self, X, y, *, sensitive_features):
        from fairlearn.reductions import DemographicParity, ExponentiatedGradient
        from sklearn.preprocessing import StandardScaler

        self.scaler_ = StandardScaler().fit(X)
        moment = DemographicParity(difference_bound=self.bound)
        self.eg_ = ExponentiatedGradient(LogisticRegression(max_iter=1000), moment)
        self.eg_.fit(
            self.scaler_.transform(X), np.asarray(y), sensitive_features=sensitive_features
        )
        return self

    def predict(self, X):
        return self.eg_.predict(self.scaler_.transform(X), random_state=self.random_state)


def runs(epochs):
    """(method, setting, factory) for every fit; GridSearch is one fit giving GRID points."""
    out = [("logistic", "poisoned", lambda seed: LogisticRegression())]
    for lf in LAMBDA_F:
        out.append(
            (
                "FR-Train",
                f"lf={lf:g}",
                lambda seed, lf=lf: FRTrainClassifier(
                    lambda_f=lf, lambda_r=0.4, epochs=epochs, random_state=seed
                ),
            )
        )
    for alpha in ALPHAS:
        out.append(
            (
                "FairBatch",
                f"alpha={alpha:g}",
                lambda seed, alpha=alpha: FairBatchClassifier(
                    constraint="dp",
                    step_size=alpha,
                    epochs=450,
                    learning_rate=1e-3,
                    random_state=seed,
                ),
            )
        )
    for eps in EPS:
        out.append(
            (
                "ExpGrad",
                f"eps={eps:g}",
                lambda seed, eps=eps: FairlearnClassifier(
                    method="expgrad", constraint="dp", eps=eps, random_state=seed
                ),
            )
        )
    for bound in BOUNDS:
        out.append(
            (
                "ExpGrad-b",
                f"bound={bound:g}",
                lambda seed, bound=bound: ExpGradBound(bound, random_state=seed),
            )
        )
    out.append(
        (
            "GridSearch",
            "grid",
            lambda seed: FairlearnClassifier(method="gridsearch", constraint="dp", grid_size=GRID),
        )
    )
    return out


def train_all(n_seeds, epochs, clean_to_all=False):
    """Fit every run on every seed; returns {method: {setting: [[acc, di, seconds], ...]}}.

    ``clean_to_all`` appends the 200 clean rows to the training data of every method but
    FR-Train (which gets them as its clean validation set either way).
    """
    plan = runs(epochs)
    results: dict = {}
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("fits", total=n_seeds * len(plan))
        for seed in range(n_seeds):
            frame = make_fairness_synthetic(3000, random_state=seed, as_frame=True)
            train, clean, test = frame.iloc[:1800], frame.iloc[1800:2000], frame.iloc[2000:]
            y_bad, _ = flip_labels(
                train[COLS], train["y"], share=0.1, method="paudice", random_state=seed
            )
            y, z = test["y"].to_numpy(), test["z"].to_numpy()
            x_fit, y_fit = train[COLS], np.asarray(y_bad)
            if clean_to_all:
                x_fit = pd.concat([train[COLS], clean[COLS]])
                y_fit = np.concatenate([y_fit, clean["y"].to_numpy()])
            for method, setting, make in plan:
                progress.update(task, description=f"seed {seed} {method} {setting}")
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = make(seed)
                    if method == "logistic":
                        model.fit(x_fit, y_fit)
                    elif method == "FR-Train":
                        model.fit(
                            train[COLS],
                            y_bad,
                            sensitive_features=train["z"],
                            clean_validation=(clean[COLS], clean["y"], clean["z"]),
                        )
                    else:
                        model.fit(x_fit, y_fit, sensitive_features=x_fit["z"])
                seconds = time.perf_counter() - start
                if method == "GridSearch":
                    # every multiplier's model is one point of the reductions trade-off
                    x_test = model.encoder_.transform(test[COLS])
                    preds = [np.asarray(h.predict(x_test)) for h in model.mitigator_.predictors_]
                    lambdas = model.mitigator_.lambda_vecs_
                    # net multiplier, group 0 minus group 1 (the grid puts it on one of them)
                    net = [
                        (lambdas[i].iloc[0] - lambdas[i].iloc[2])
                        - (lambdas[i].iloc[1] - lambdas[i].iloc[3])
                        for i in range(len(preds))
                    ]
                    # named by multiplier: the grid's column order differs between seeds
                    names = [f"lambda={round(v, 2) + 0.0:+.2f}" for v in net]
                else:
                    preds, names = [np.asarray(model.predict(test[COLS]))], [setting]
                for name, pred in zip(names, preds, strict=True):
                    point = [float((pred == y).mean()), disparate_impact(pred, z), seconds]
                    results.setdefault(method, {}).setdefault(name, []).append(point)
                progress.advance(task)
            progress.console.print(f"seed {seed} done")
    return results


def pareto(points):
    """Indices of the points no other point dominates (accuracy >= and DI >=, one strictly)."""
    keep = []
    for i, (a, d) in enumerate(points):
        if not any(
            a2 >= a and d2 >= d and (a2 > a or d2 > d)
            for j, (a2, d2) in enumerate(points)
            if j != i
        ):
            keep.append(i)
    return sorted(keep, key=lambda i: points[i][1])


def accuracy_at(points, target=TARGET_DI):
    """Best accuracy at DI >= target along the frontier (linear between frontier points)."""
    front = [points[i] for i in pareto(points)]  # DI increasing, accuracy decreasing
    above = [a for a, d in front if d >= target]
    if not above:
        return float("nan")
    best = max(above)
    for (a0, d0), (a1, d1) in pairwise(front):
        if d0 < target <= d1:
            best = max(best, a0 + (a1 - a0) * (target - d0) / (d1 - d0))
    return best


def dominates(p, q):
    """p dominates q: accuracy >= and DI >= (the brief's weak dominance)."""
    return p[0] >= q[0] and p[1] >= q[1]


def analyse(results, n_seeds):
    methods = [m for m in results if m != "logistic"]
    means = {
        m: {s: np.asarray(v)[:, :2].mean(axis=0) for s, v in results[m].items()} for m in results
    }
    print(f"\n10% Paudice label flips, {n_seeds} seeds, 1,000 test rows; mean ± sd over seeds")
    print(f"{'method':<11}{'setting':<16}{'accuracy':>14}{'DI ratio':>14}{'s/fit':>8}  frontier")
    for m in results:
        pts = [tuple(means[m][s]) for s in results[m]]
        front = set(pareto(pts))
        hidden = 0
        for i, (s, v) in enumerate(results[m].items()):
            if m == "GridSearch" and i not in front:
                hidden += 1  # 41 grid models: show the frontier, count the rest
                continue
            v = np.asarray(v)
            acc, di, sec = v.mean(axis=0)
            sd = v.std(axis=0)
            star = "  *" if i in front and m != "logistic" else ""
            print(f"{m:<11}{s:<16}{acc:>8.3f}±{sd[0]:.3f}{di:>8.3f}±{sd[1]:.3f}{sec:>8.1f}{star}")
        if hidden:
            print(f"{m:<11}({hidden} more grid models, each dominated by a frontier one)")
    for name, acc, di in PAPER:
        print(f"{name:<27}{acc:>8.3f}      {di:>8.3f}")

    print("\nDominance (accuracy >= and DI >=), on mean points; [seeds: in how many of the")
    print("seeds some point of the other method dominates this setting's point of that seed]")
    fr = results["FR-Train"]
    rivals = [m for m in methods if m != "FR-Train"]
    for s in fr:
        p = means["FR-Train"][s]
        by = []
        for m in rivals:
            hits = [r for r in results[m] if dominates(means[m][r], p)]
            seeds = sum(
                any(dominates(results[m][r][k], fr[s][k]) for r in results[m])
                for k in range(n_seeds)
            )
            by.append(f"{m}: {', '.join(hits) if hits else 'none'} [{seeds}/{n_seeds}]")
        print(f"  FR-Train {s:<8} ({p[0]:.3f}/{p[1]:.3f}) dominated by  " + "; ".join(by))
    grid = list(results.get("GridSearch", {}))
    grid_front = {grid[i] for i in pareto([tuple(means["GridSearch"][r]) for r in grid])}
    for m in rivals:
        for r in results[m]:
            q = means[m][r]
            hits = [s for s in fr if dominates(means["FR-Train"][s], q)]
            seeds = sum(
                any(dominates(fr[s][k], results[m][r][k]) for s in fr) for k in range(n_seeds)
            )
            if m == "GridSearch" and r not in grid_front:
                continue
            print(
                f"  {m} {r:<14} ({q[0]:.3f}/{q[1]:.3f}) dominated by FR-Train: "
                f"{', '.join(hits) if hits else 'none'} [{seeds}/{n_seeds}]"
            )
    for name, acc, di in PAPER:
        hits = [f"{m} {r}" for m in rivals for r in results[m] if dominates(means[m][r], (acc, di))]
        print(f"  {name} ({acc:.3f}/{di:.3f}) dominated by: {', '.join(hits) or 'none'}")

    print(f"\nAccuracy at DI >= {TARGET_DI} along each frontier (interpolated)")
    print(f"{'method':<12}{'mean points':>12}{'per seed, mean ± sd':>24}   seeds reaching it")
    for m in methods:
        pts = [tuple(means[m][s]) for s in results[m]]
        per_seed = [
            accuracy_at([tuple(v[k][:2]) for v in results[m].values()]) for k in range(n_seeds)
        ]
        ok = [a for a in per_seed if np.isfinite(a)]
        spread = f"{np.mean(ok):.3f} ± {np.std(ok):.3f}" if ok else "not reached"
        at = accuracy_at(pts)
        at = f"{at:.3f}" if np.isfinite(at) else "-"
        print(f"{m:<12}{at:>12}{spread:>24}   {len(ok)}/{n_seeds}")
    print(f"{'paper FR-Train':<12}{PAPER[1][1]:>12.3f}   (its lf=.52 point, DI {PAPER[1][2]})")

    levels = [0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    print("\nBest accuracy at DI >= t along the frontier of the mean points ('-': not reached)")
    print(f"{'method':<12}" + "".join(f"{'t=' + format(t, 'g'):>8}" for t in levels))
    for m in methods:
        pts = [tuple(means[m][s]) for s in results[m]]
        cells = [accuracy_at(pts, t) for t in levels]
        print(f"{m:<12}" + "".join(f"{c:>8.3f}" if np.isfinite(c) else f"{'-':>8}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10000)
    parser.add_argument("--save", help="write the raw per-seed points to this JSON file")
    parser.add_argument(
        "--clean-to-all",
        action="store_true",
        help="also give the 200 clean rows to the competitors, appended to their training data",
    )
    parser.add_argument("--load", help="analyse a saved JSON file instead of training")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.load:
        with open(args.load) as fh:
            saved = json.load(fh)
        results, n_seeds = saved["results"], saved["seeds"]
    else:
        results, n_seeds = train_all(args.seeds, args.epochs, args.clean_to_all), args.seeds
        if args.save:
            with open(args.save, "w") as fh:
                json.dump({"seeds": n_seeds, "epochs": args.epochs, "results": results}, fh)
    analyse(results, n_seeds)


if __name__ == "__main__":
    main()
