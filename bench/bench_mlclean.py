"""MLClean on Adult: how much of the accuracy and fairness lost to poisoning and duplicates it recovers.

Run: ``python bench/bench_mlclean.py [--seeds 3] [--targeted] [--hgb]``

Setup (our reading of Tae et al., DEEM 2019, Section 5; the paper has no public code):

* UCI Adult, the standard train (32,561 rows) / test (16,281 rows) split; the model sees the 12
  features without sex and race; fairness is measured by sex on the clean test set.
* Poisoning: 10% of the training labels flipped at random (``--targeted`` instead flips, within the
  same 10% budget, favourable labels of women to unfavourable and unfavourable labels of men to
  favourable, the flip that widens the gap most).
* Duplicates: 5% more rows, near copies (fnlwgt moved by up to +-500, about 0.005 sd) of random
  men with the favourable label in the poisoned data, so that they inflate the privileged group's
  base rate.
* Models: logistic regression on one-hot / standardised features (``--hgb`` adds histogram gradient
  boosting), trained on the clean data, the dirty data, the dirty data with reweighing alone, and
  the dirty data cleaned by MLClean (``sensitive=sex``; ``contamination`` 0.1 per cell and
  ``"auto"``; ``sanitize="loss"``, the default, and ``"loss+distance"``) with its weights and, as
  the ablation, without them.
* Reported: test accuracy, demographic-parity difference and equal-opportunity difference by sex
  (``raikit.metrics``), mean +- sd over seeds, and the share of the clean-to-dirty loss recovered
  ((cleaned - dirty) / (clean - dirty); above 100% for fairness means fairer than the clean model,
  which reweighing does).

The paper reports its results as a figure, not a table; its claim is qualitative: MLClean, running
the three steps together, recovers most of the accuracy and fairness lost to the dirty data and
beats running them separately. Our numbers are printed beside that claim.

Our results (3 seeds, ``--hgb``; share of the loss recovered, logreg / hgb). "Before" is the
first version (2026-11-23, plain confident-learning quotas, ``sanitize="loss+distance"`` default);
"after" the current default (quotas with re-estimated thresholds, ``sanitize="loss"``):

==========================  ==================  ==================  ==================
targeted flips              accuracy            DP gap              EO gap
==========================  ==================  ==================  ==================
dirty (points / gap)        -2.8 / -1.8 points  0.17 -> 0.36 / 0.31 0.06 -> 0.44 / 0.31
reweighing only             46% / 47%           133% / 129%         88% / 91%
before: auto, loss+dist.    50% / -13%          81% / 54%           105% / 93%
before: auto, loss          68% / 18%           81% / 48%           103% / 82%
after: auto, loss+dist.     70% / 49%           107% / 99%          109% / 118%
after: auto, loss (default) 81% / 62%           107% / 98%          111% / 117%
==========================  ==================  ==================  ==================

==========================  ==================  ==================  ==================
random flips                accuracy            DP gap              EO gap
==========================  ==================  ==================  ==================
dirty (points / gap)        -0.3 / -0.5 points  0.17 -> 0.20 / 0.20 0.06 -> 0.13 / 0.12
reweighing only             -340% / -46%        385% / 264%         -12% / 53%
before: auto, loss+dist.    -240% / -133%       171% / 120%         128% / 163%
before: auto, loss          -35% / -53%         187% / 122%         131% / 160%
after: auto, loss+dist.     -142% / -73%        226% / 193%         96% / 108%
after: auto, loss (default) 4% / -18%           235% / 192%         96% / 111%
==========================  ==================  ==================  ==================

(Recovery above 100% means a smaller gap than the clean model's; under random flips there is
little accuracy to recover, so the shares swing on small differences: the default now changes
test accuracy by +0.01 / -0.08 points against the dirty data, the first version by -0.63 / -0.60.)

Where gradient boosting's accuracy went (issue #9): not to the weights (with them it scored
0.3 points higher than without) but to the removals. Per (sex, label) cell under targeted flips,
the plain confident-learning quota removed on average 1,711 male label-0 rows and 138 female
label-1 rows, cells that hold no flip at all: the out-of-fold model, trained on the poisoned
labels, gives many correct but hard male negatives a high probability of the positive label, and
the flips (a third of the male positives) pull the positive label's mean self-confidence, its
threshold, down, so those negatives count as errors. Removing them taught the model that men are
positive even more often than the poison did. Re-estimating each label's threshold on the rows a
first pass kept cuts those removals to 741 and 133, raises the male label-1 removals to 3,196
(precision 0.71, recall 0.75) and overall precision from 0.45 to 0.55 at about the same recall.
Under random flips it also removes fewer correct rows (male label 0: 1,066 removed, was 1,503).
Tried and not adopted (validation split, seed 0, with the plain quotas): relabelling the flagged
rows instead of removing them (hgb accuracy 0.8506 vs 0.8537 removing; the flagged set is only
about half flips, and a relabelled correct row becomes a wrong one), and a second round of
out-of-fold scoring fitted on the rows the first round kept (more rows removed each round, at
lower precision: it learns from data without the hard rows, so they look even more suspicious;
with the first round's quota kept, precision moved by at most 0.01 at twice the run time).
The default was chosen on a validation split of 20% of the Adult training rows (clean labels; the
other 80% poisoned as above), 3 seeds, before this test-set run: there the re-estimated
thresholds with ``"loss"`` recovered 93% / 71% of the accuracy under targeted flips (plain
quotas with ``"loss+distance"``: 61% / 3%) and lost none under random flips.

* The paper's qualitative claim holds on targeted flips with the default: most of the lost
  accuracy (81% / 62%) and all of the lost fairness is recovered, and MLClean beats reweighing
  alone on accuracy (46% / 47%) with about the same fairness. Copies are merged (1,628 of 1,628
  per seed, plus about 108 near-identical Adult rows: exact duplicates and rows within 0.01 sd).
* Still not recovered: about 741 correct male label-0 rows are removed per run under targeted
  flips, and 45% of the removed rows under random flips are correct. A fixed 10% per cell is
  clearly worse than ``auto`` (noise is not spread evenly over the cells).
* MLClean takes 3-5 s on 34,189 rows (5 gradient-boosting fits dominate).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from raikit import Dataset
from raikit.data import clean as mlclean
from raikit.datasets import load_adult
from raikit.metrics import demographic_parity_difference, equal_opportunity_difference
from raikit.train import reweighing_weights

METRICS = ("accuracy", "dp_diff", "eo_diff")
PAPER_CLAIM = "most of the accuracy and fairness lost to the dirty data is recovered"


def poison(frame: pd.DataFrame, rng, *, rate: float, dup_rate: float, targeted: bool):
    """Flip ``rate`` of the labels and append ``dup_rate`` near copies of privileged positives."""
    frame = frame.copy().reset_index(drop=True)
    n = len(frame)
    y = frame["income"].to_numpy().copy()
    budget = round(rate * n)
    if targeted:
        female = (frame["sex"] == "Female").to_numpy()
        candidates = np.flatnonzero((female & (y == 1)) | (~female & (y == 0)))
        flip = rng.choice(candidates, size=min(budget, candidates.size), replace=False)
    else:
        flip = rng.choice(n, size=budget, replace=False)
    y[flip] = 1 - y[flip]
    frame["income"] = y
    source = np.flatnonzero(((frame["sex"] == "Male") & (frame["income"] == 1)).to_numpy())
    picks = rng.choice(source, size=round(dup_rate * n), replace=True)
    copies = frame.iloc[picks].copy()
    copies["fnlwgt"] = copies["fnlwgt"] + rng.integers(-500, 501, size=len(copies))
    dirty = pd.concat([frame, copies], ignore_index=True)
    return dirty, flip


def model(kind: str):
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if kind == "hgb":
        return HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    encode = ColumnTransformer(
        [
            ("num", StandardScaler(), make_column_selector(dtype_include="number")),
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_include="category"),
            ),
        ]
    )
    return make_pipeline(encode, LogisticRegression(max_iter=2000))


def score(kind, X, y, weight, test):
    clf = model(kind)
    step = clf.steps[-1][0] + "__sample_weight" if hasattr(clf, "steps") else "sample_weight"
    clf.fit(X, y, **({step: weight} if weight is not None else {}))
    pred = clf.predict(test.X)
    sex = test.frame["sex"].astype(str).to_numpy()
    truth = test.y.to_numpy()
    return (
        float((pred == truth).mean()),
        demographic_parity_difference(truth, pred, sensitive_features=sex),
        equal_opportunity_difference(truth, pred, sensitive_features=sex),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--targeted", action="store_true", help="Targeted flips (see docstring).")
    parser.add_argument("--hgb", action="store_true", help="Also gradient boosting.")
    args = parser.parse_args()
    train, test = load_adult(split="train"), load_adult(split="test")
    features = list(train.feature_names)
    kinds = ["logreg"] + (["hgb"] if args.hgb else [])
    # each MLClean run is scored with its weights and, as the ablation, without them
    variants = {
        "MLClean (0.1)": {"contamination": 0.1},
        "MLClean (auto, loss+distance)": {"contamination": "auto", "sanitize": "loss+distance"},
        "MLClean (auto, loss; default)": {"contamination": "auto", "sanitize": "loss"},
    }
    rows = []
    detection = []
    cell_rows = []
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        base = train.frame[[*features, "sex", "income"]]
        dirty, flipped = poison(base, rng, rate=0.10, dup_rate=0.05, targeted=args.targeted)
        n_train = len(base)
        for kind in kinds:
            rows.append(
                (kind, "clean", seed, *score(kind, base[features], base["income"], None, test))
            )
            rows.append(
                (kind, "dirty", seed, *score(kind, dirty[features], dirty["income"], None, test))
            )
            weight = reweighing_weights(dirty["income"], dirty["sex"])
            rows.append(
                (
                    kind,
                    "dirty, reweighing only",
                    seed,
                    *score(kind, dirty[features], dirty["income"], weight, test),
                )
            )
        for name, params in variants.items():
            start = time.perf_counter()
            result = mlclean(
                Dataset(dirty, target="income", sensitive=["sex"]), random_state=seed, **params
            )
            seconds = time.perf_counter() - start
            cleaned = result.cleaned
            changes = result.changes
            removed = changes.loc[changes["action"] == "removed", "row"].to_numpy()
            merged = changes.loc[changes["action"] == "merged", "row"].to_numpy()
            is_flip = np.zeros(len(dirty), bool)
            is_flip[flipped] = True
            is_copy = np.arange(len(dirty)) >= n_train
            # precision / recall of the removals per (sex, given label) cell of the original rows
            given = dirty["income"].to_numpy()
            sex = dirty["sex"].astype(str).to_numpy()
            gone = np.zeros(len(dirty), bool)
            gone[removed] = True
            for s in np.unique(sex):
                for label in (0, 1):
                    in_cell = (sex == s) & (given == label) & ~is_copy
                    cell_rows.append(
                        (
                            name,
                            s,
                            label,
                            in_cell.sum(),
                            (in_cell & is_flip).sum(),
                            (in_cell & gone).sum(),
                            (in_cell & gone & is_flip).sum(),
                        )
                    )
            # a removed copy of a flipped row is also a removed flip
            detection.append(
                (
                    name,
                    seed,
                    seconds,
                    is_flip[removed].mean() if removed.size else np.nan,
                    is_flip[removed].sum() / max(is_flip.sum(), 1),
                    merged.size,
                    is_copy[merged].sum(),
                    is_copy.sum(),
                )
            )
            for kind in kinds:
                for label, weight in ((name, result.sample_weight), (f"{name}, no weights", None)):
                    rows.append(
                        (
                            kind,
                            label,
                            seed,
                            *score(kind, cleaned[features], cleaned["income"], weight, test),
                        )
                    )
        print(f"seed {seed} done", flush=True)
    table = pd.DataFrame(rows, columns=["model", "data", "seed", "accuracy", "dp_diff", "eo_diff"])
    poison_kind = "targeted" if args.targeted else "random"
    print(
        f"\nAdult, 10% {poison_kind} label flips + 5% near duplicates of privileged positives; "
        f"{args.seeds} seed(s); test set clean. Paper (Tae et al. 2019): {PAPER_CLAIM}."
    )
    for kind in kinds:
        part = table[table["model"] == kind]
        means = part.groupby("data", sort=False)[["accuracy", "dp_diff", "eo_diff"]].agg(
            ["mean", "std"]
        )
        clean = means.loc["clean"]
        dirty = means.loc["dirty"]
        print(f"\n{kind}")
        print(
            f"{'data':<40}{'accuracy':>16}{'DP diff (sex)':>18}{'EO diff (sex)':>18}"
            f"{'acc recovered':>15}{'DP recovered':>14}{'EO recovered':>14}"
        )
        for data, row in means.iterrows():
            cells = [f"{row[(m, 'mean')]:.4f} ± {row[(m, 'std')]:.4f}" for m in METRICS]
            shares = []
            for metric in METRICS:
                lost = clean[(metric, "mean")] - dirty[(metric, "mean")]
                got = row[(metric, "mean")] - dirty[(metric, "mean")]
                plain = abs(lost) < 1e-9 or data in ("clean", "dirty")
                shares.append("" if plain else f"{got / lost:.0%}")
            print(
                f"{data:<40}{cells[0]:>16}{cells[1]:>18}{cells[2]:>18}"
                f"{shares[0]:>15}{shares[1]:>14}{shares[2]:>14}"
            )
        # the peer measured in this run: reweighing alone on the same dirty data
        default = next((d for d in means.index if "default" in str(d)), None)
        lost = clean[("accuracy", "mean")] - dirty[("accuracy", "mean")]
        if default is not None and abs(lost) > 1e-9:
            ours = means.loc[default, ("accuracy", "mean")] - dirty[("accuracy", "mean")]
            peer = means.loc["dirty, reweighing only", ("accuracy", "mean")]
            peer -= dirty[("accuracy", "mean")]
            print(
                f"ratio of lost accuracy recovered, {default} / reweighing alone: "
                f"{ours / peer:.2f}x"
                if abs(peer) > 1e-9
                else "reweighing alone recovers none"
            )
    det = pd.DataFrame(
        detection,
        columns=[
            "variant",
            "seed",
            "seconds",
            "precision",
            "recall",
            "merged",
            "copies merged",
            "copies",
        ],
    )
    print("\nSanitisation vs the injected flips, and duplicates merged vs copies injected (mean)")
    print(
        det.groupby("variant", sort=False)[
            ["seconds", "precision", "recall", "merged", "copies merged", "copies"]
        ]
        .mean()
        .round(3)
        .to_string()
    )
    per_cell = (
        pd.DataFrame(
            cell_rows, columns=["variant", "sex", "label", "rows", "flips", "removed", "hits"]
        )
        .groupby(["variant", "sex", "label"], sort=False)
        .mean()
    )
    per_cell["precision"] = per_cell["hits"] / per_cell["removed"].where(per_cell["removed"] > 0)
    per_cell["recall"] = per_cell["hits"] / per_cell["flips"].where(per_cell["flips"] > 0)
    print("\nRemovals vs injected flips per (sex, given label) cell (mean over seeds)")
    print(per_cell.round(3).to_string())


if __name__ == "__main__":
    with threadpool_limits(limits=1, user_api="openmp"):
        main()
