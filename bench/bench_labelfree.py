"""Label-free estimates per group against the realised values, on shifted Adult data.

A gradient-boosting model is trained on 40% of Adult; 20% is the labelled reference its scores are
calibrated on; the remaining rows are the deployment pool, resampled to make three shifts:

- ``covariate shift (Female)``: women's rows drawn by age and education (older, more educated
  women more often), men's rows unchanged. ``P(y | x)`` is unchanged, so the calibration holds.
- ``prevalence shift (by score)``: rows drawn by their score, so the share of positives rises
  while ``P(y | score, group)`` stays: a label shift that keeps the calibration valid.
- ``label shift (P(x|y) fixed)``: positives drawn twice as often as negatives. ``P(y | x)``
  changes, the assumption of every confidence-based estimate is broken: the rows show how far
  the estimate is then off.

For each, ``raikit.evaluate.estimate_performance`` (no labels) is compared with the realised
value per group (``group_metrics`` on the true labels): estimate, interval, realised, covered,
and per scenario the number covered and how far the misses fall outside their intervals.
When ``RAIKIT_NANNYML_PYTHON`` names a Python with nannyml installed (NannyML does not install
beside raikit's pins: it downgrades plotly and python-dateutil), NannyML's CBPE estimate of the
OVERALL accuracy is run there by subprocess and shown beside raikit's.

Run: ``PYTHONPATH=src python bench/bench_labelfree.py``
(``RAIKIT_NANNYML_PYTHON=/path/to/venv/bin/python`` to add NannyML).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from raikit.datasets import load_adult
from raikit.evaluate import estimate_performance
from raikit.metrics import group_metrics

N_ROWS = 8000  # rows of each shifted deployment sample
METRICS = ["accuracy", "true_positive_rate", "false_positive_rate", "precision"]

_NANNYML = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import pandas as pd, nannyml as nml
reference, analysis = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
estimator = nml.CBPE(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                     metrics=["accuracy"], chunk_number=1, problem_type="classification_binary")
estimator.fit(reference)
row = estimator.estimate(analysis.drop(columns="y_true")).filter(period="analysis").to_df().iloc[0]
print(json.dumps({"version": nml.__version__, "value": float(row[("accuracy", "value")]),
                  "lower": float(row[("accuracy", "lower_confidence_boundary")]),
                  "upper": float(row[("accuracy", "upper_confidence_boundary")])}))
"""


def _scored():
    from sklearn.ensemble import HistGradientBoostingClassifier

    ds = load_adult()
    train, rest = ds.split(0.6, random_state=0)  # 40% to train
    reference, pool = rest.split(2 / 3, random_state=1)  # 20% reference, 40% deployment pool
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=100, random_state=0
    ).fit(train.X, train.y)
    return reference.with_predictions(model), pool.with_predictions(model)


def _shifts(pool, rng) -> dict[str, np.ndarray]:
    """Row indices of each shifted sample of the pool."""
    frame = pool.frame
    y = pool.y.to_numpy()
    female = (frame["sex"] == "Female").to_numpy()
    pull = np.exp(0.04 * (frame["age"].to_numpy() - 38) + 0.3 * (frame["education_num"] - 10))
    covariate = np.where(female, pull, 1.0)
    by_score = np.exp(2.0 * pool.y_score.to_numpy())
    label = np.where(y == 1, 2.0, 1.0)
    out = {}
    for name, weight in [
        ("no shift", np.ones(len(frame))),
        ("covariate shift (Female)", covariate),
        ("prevalence shift (by score)", by_score),
        ("label shift (P(x|y) fixed)", label),
    ]:
        out[name] = rng.choice(len(frame), N_ROWS, replace=False, p=weight / weight.sum())
    return out


def _nannyml(reference, current, python: str | None) -> dict | str:
    if not python or not Path(python).exists():
        return "nannyml not installed"
    with tempfile.TemporaryDirectory() as folder:
        for part, name in ((reference, "reference.csv"), (current, "analysis.csv")):
            pd.DataFrame(
                {
                    "y_true": part.y.to_numpy().astype(int),
                    "y_pred": part.y_pred.to_numpy().astype(int),
                    "y_pred_proba": part.y_score.to_numpy(),
                }
            ).to_csv(Path(folder) / name, index=False)
        done = subprocess.run(
            [python, "-c", _NANNYML, str(Path(folder) / "reference.csv"),
             str(Path(folder) / "analysis.csv")],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    if done.returncode != 0:
        return f"nannyml failed: {done.stderr.strip().splitlines()[-1:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 200)
    start = time.perf_counter()
    reference, pool = _scored()
    print(f"reference {reference.n_rows:,} rows, pool {pool.n_rows:,} rows "
          f"(model trained in {time.perf_counter() - start:.1f} s)")  # fmt: skip
    rng = np.random.default_rng(0)
    nannyml_python = os.environ.get("RAIKIT_NANNYML_PYTHON")
    summary = []
    for name, rows in _shifts(pool, rng).items():  # four scenarios
        current = pool.replace(frame=pool.frame.iloc[rows].reset_index(drop=True))
        tic = time.perf_counter()
        result = estimate_performance(
            None, current.replace(target=None), reference=reference, n_boot=1000, random_state=0
        )
        seconds = time.perf_counter() - tic
        truth = group_metrics(
            current.y.to_numpy(),
            current.y_pred.to_numpy(),
            sensitive_features=current.sensitive,
            metrics=METRICS,
            ci=None,
        ).table[["attribute", "group", "metric", "value"]]
        table = result.estimates.merge(truth, on=["attribute", "group", "metric"])
        table = table[table["attribute"].isin(["overall", "sex"])]
        table = table.rename(columns={"value": "realised"})
        table["covered"] = (table["lower"] <= table["realised"]) & (
            table["realised"] <= table["upper"]
        )
        shown = table[["attribute", "group", "metric", "estimate", "lower", "upper", "realised"]]
        positives = float(np.mean(current.y.to_numpy() == result.meta["positive_label"]))
        print(f"\n== {name}: {len(rows):,} rows, {positives:.3f} positive; calibration "
              f"{result.calibrate}; {seconds:.1f} s")  # fmt: skip
        print(pd.concat([shown.round(3), table["covered"]], axis=1).to_string(index=False))
        warnings = [f.title for f in result.findings if f.severity == "warning"]
        print(f"warnings: {'; '.join(warnings) if warnings else 'none'}")
        whole = table[table["attribute"] == "overall"]
        accuracy = whole[whole["metric"] == "accuracy"].iloc[0]
        nm = _nannyml(reference, current, nannyml_python)
        if isinstance(nm, dict):
            print(f"NannyML {nm['version']} CBPE overall accuracy {nm['value']:.3f} "
                  f"[{nm['lower']:.3f}, {nm['upper']:.3f}] vs raikit {accuracy['estimate']:.3f} "
                  f"[{accuracy['lower']:.3f}, {accuracy['upper']:.3f}], realised "
                  f"{accuracy['realised']:.3f}")  # fmt: skip
        else:
            print(nm)
        outside = np.maximum(table["lower"] - table["realised"], table["realised"] - table["upper"])
        summary.append((name, int(table["covered"].sum()), len(table), outside.clip(0).sum()))
    print("\ncovered per scenario (overall and sex groups, 4 metrics), and how far the misses are")
    print("outside their intervals (summed):")
    for name, covered, total, far in summary:
        print(f"  {name:28s} {covered}/{total}  {far:.3f}")


if __name__ == "__main__":
    sys.exit(main())
