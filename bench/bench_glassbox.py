"""The glass box on Adult: raikit's ``fit_glassbox`` / ``glassbox_baseline`` against InterpretML's
Explainable Boosting Machine fitted directly with its default settings, and against the boosted
GAM raikit used before (scikit-learn's HistGradientBoosting with
``interaction_cst="no_interactions"``, rebuilt here from its settings: it is an estimator
configuration, not code).

Run: ``python bench/bench_glassbox.py [--rows 0] [--seed 0] [--skip-default]``
(``--rows 5000 --skip-default``: a check in under a minute). ``--rows 0`` uses every training row.

Prints, side by side, fit time, held-out accuracy and AUC of each model, their ratios to raikit's
settings, whether raikit's EBM predicts exactly as an interpret EBM built with the same settings,
and the time of the whole ``glassbox_baseline`` (gap, per-group importances, shapes, n_boot=1000)
around a given black box.

Last runs (seed 0; 2 cores shared with other jobs, load average 10-20, so times are inflated
and only their ratios mean much):

* ``--rows 5000`` (5,000 training rows, 14,653 held out):

  ========================================== ======= ======== ======== =======
  model                                       fit s  x raikit accuracy   AUC
  ========================================== ======= ======== ======== =======
  raikit fit_glassbox (EBM, fast settings)       1.1     1.00   0.8636  0.9180
  interpret EBM, default settings              115.4   105.45   0.8640  0.9185
  former home-made GAM (HGB, no interactions)   21.7    19.81   0.8608  0.9155
  ========================================== ======= ======== ======== =======

  raikit's EBM predicts exactly as interpret's with the same settings. ``glassbox_baseline``
  around a HistGradientBoosting black box (n_boot=1000 on 14,653 held-out rows, EBM fit
  included): 5.2 s; accuracy 0.864 (glass box) vs 0.862, gap -0.002 [-0.006, +0.002]: the glass
  box is as good, overall and in every group of sex and race.
* Every row (34,189 training rows), measured with the same settings outside this script:
  raikit's EBM 2.9 s, accuracy 0.8742, AUC 0.9284; the former boosted GAM 27.4 s, accuracy
  0.8731, AUC 0.9288 (no better, 9x slower: it was removed); interpret's defaults did not finish
  within the 25-minute limit of the run on the loaded machine (its learning rate and rounds with only
  ``interactions=0, outer_bags=1`` changed took 15.8 s, for accuracy 0.8738).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, roc_auc_score

from raikit.datasets import load_adult
from raikit.explain import fit_glassbox, glassbox_baseline


def timed(fit):
    start = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - start


def scores(model, test) -> tuple[float, float]:
    proba = model.predict_proba(test.X)[:, list(model.classes_).index(1)]
    return accuracy_score(test.y, model.predict(test.X)), roc_auc_score(test.y, proba)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=0, help="training rows (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-default", action="store_true", help="skip interpret's defaults")
    args = parser.parse_args()
    from interpret.glassbox import ExplainableBoostingClassifier

    warnings.filterwarnings("ignore", message="Missing values detected")
    train, test = load_adult().split(0.3, random_state=args.seed)
    if args.rows:
        train = train.replace(train.frame.sample(args.rows, random_state=args.seed))
    print(f"Adult: {train.n_rows:,} training rows, {test.n_rows:,} held out\n")

    rows = []
    raikit_ebm, seconds = timed(lambda: fit_glassbox(train, random_state=args.seed))
    rows.append(("raikit fit_glassbox (EBM, fast settings)", seconds, *scores(raikit_ebm, test)))
    same = ExplainableBoostingClassifier(
        interactions=3, max_rounds=1000, outer_bags=1, learning_rate=0.1, n_jobs=1,
        random_state=args.seed,
    )  # fmt: skip
    same.fit(train.X, train.y)
    identical = np.array_equal(same.predict_proba(test.X), raikit_ebm.predict_proba(test.X))
    if not args.skip_default:
        default, seconds = timed(
            lambda: ExplainableBoostingClassifier(random_state=args.seed).fit(train.X, train.y)
        )
        rows.append(("interpret EBM, default settings", seconds, *scores(default, test)))
    gam, seconds = timed(
        lambda: HistGradientBoostingClassifier(
            categorical_features="from_dtype", interaction_cst="no_interactions", max_iter=300,
            learning_rate=0.1, random_state=args.seed,
        ).fit(train.X, train.y)
    )  # fmt: skip
    rows.append(("former home-made GAM (HGB, no interactions)", seconds, *scores(gam, test)))

    base_time, base_acc = rows[0][1], rows[0][2]
    print(f"{'model':46s} {'fit s':>8s} {'x raikit':>9s} {'accuracy':>9s} {'Δacc':>8s} {'AUC':>7s}")
    for name, seconds, accuracy, auc in rows:
        print(
            f"{name:46s} {seconds:8.1f} {seconds / base_time:9.2f} {accuracy:9.4f} "
            f"{accuracy - base_acc:+8.4f} {auc:7.4f}"
        )
    print(f"\nraikit's EBM predicts exactly as interpret's with the same settings: {identical}")

    black = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    black.fit(train.X, train.y)
    result, seconds = timed(lambda: glassbox_baseline(black, train, test=test, random_state=0))
    print(f"\nglassbox_baseline around HistGradientBoosting: {seconds:.1f} s (EBM fit included)")
    print(result.summary)
    print(result.gap[["attribute", "group", "n", "blackbox", "glassbox", "gap", "lower", "upper",
                      "verdict"]].to_string(index=False))  # fmt: skip


if __name__ == "__main__":
    main()
