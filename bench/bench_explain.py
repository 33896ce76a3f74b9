"""Explainability on UCI Adult: raikit.explain vs calling shap directly, and counterfactuals vs DiCE.

Run: ``python bench/bench_explain.py [--rows 10000] [--cf-rows 1000] [--dice-rows 50]``

1. SHAP attributions for ``--rows`` Adult rows of a 100-tree LightGBM model: ``shap.TreeExplainer``
   called directly vs ``raikit.explain.explain(..., permutation=False)`` (same explainer plus global,
   per-group and proxy analysis). Goal: raikit's overhead under 10%. The permutation-importance
   cross-check is timed separately. Needs ``lightgbm`` (else a scikit-learn GradientBoosting model
   on numeric features is used, and the line says so).
2. Model-agnostic SHAP for ``--agnostic-rows`` Adult rows of a HistGradientBoosting model with
   native categorical splits (which TreeExplainer cannot read): raikit's vectorised permutation
   estimator (what ``explain`` uses) vs ``shap.PermutationExplainer`` with the same budget
   (``max_evals = 2F + 1``, one order and its reverse per row) and the same 50 background rows,
   with the ratio and how far apart the two estimates' mean ``|SHAP|`` per feature are.
3. 10 counterfactuals per row for ``--cf-rows`` Adult test rows of a HistGradientBoosting model
   (goal: under 60 s), with validity, sparsity and proximity; beside ``dice-ml``'s random method on
   the first ``--dice-rows`` of the same rows (if dice-ml is installed; DiCE's rate is extrapolated
   to ``--cf-rows`` rows and marked as such).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def shap_bench(n_rows: int) -> None:
    import shap

    from raikit.datasets import load_adult
    from raikit.explain import explain

    train, test = load_adult(split="train"), load_adult(split="test")
    full = pd.concat([train.frame, test.frame], ignore_index=True)
    ds = train.replace(full.iloc[:n_rows].reset_index(drop=True))
    try:
        import lightgbm

        model = lightgbm.LGBMClassifier(n_estimators=100, verbose=-1, random_state=0)
        model.fit(train.X, train.y)
        label = "LightGBM (100 trees, pandas categoricals)"
    except ImportError:  # pragma: no cover - depends on the environment
        from sklearn.ensemble import GradientBoostingClassifier

        numeric = [c for c in train.feature_names if train.X[c].dtype.kind in "if"]
        ds = ds.replace(features=numeric)
        model = GradientBoostingClassifier(n_estimators=100, random_state=0)
        model.fit(train.X[numeric], train.y)
        label = "scikit-learn GradientBoosting (100 trees, numeric; lightgbm not installed)"
    X = ds.X
    explain(model, ds.subset(np.arange(200)), permutation=False)  # warm-up (imports, JIT)
    times_shap, times_ours = [], []
    for _ in range(2):
        start = time.perf_counter()
        direct = shap.TreeExplainer(model).shap_values(X)
        times_shap.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = explain(model, ds, permutation=False)
        times_ours.append(time.perf_counter() - start)
    t_shap, t_ours = min(times_shap), min(times_ours)
    direct = np.asarray(direct)
    if direct.ndim == 3:
        direct = direct[:, :, 1]
    same = np.allclose(result.attributions.to_numpy(), direct, atol=1e-9)
    print(f"SHAP attributions, {len(X):,} Adult rows, {label}")
    print(f"  shap.TreeExplainer directly : {t_shap:8.2f} s")
    print(f"  raikit.explain (no perm.)   : {t_ours:8.2f} s   overhead {t_ours / t_shap - 1:+.1%}")
    print(f"  identical attributions      : {same}")
    start = time.perf_counter()
    with_perm = explain(model, ds, permutation=True, n_repeats=5)
    t_perm = time.perf_counter() - start
    print(
        f"  with permutation cross-check: {t_perm:8.2f} s   "
        f"(Spearman {with_perm.agreement['spearman']:.2f}, "
        f"top-5 overlap {with_perm.agreement['top_k_overlap']:.0%})"
    )
    print(f"  warnings: {[f.title for f in with_perm.findings if f.severity == 'warning']}")


def agnostic_bench(n_rows: int) -> None:
    import shap
    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.datasets import load_adult
    from raikit.explain._common import FrameCodec
    from raikit.explain._permutation import permutation_shap

    train, test = load_adult(split="train"), load_adult(split="test")
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(train.X, train.y)
    rng = np.random.default_rng(0)
    X = test.X.iloc[rng.choice(test.n_rows, n_rows, replace=False)]
    bg = train.X.iloc[rng.choice(train.n_rows, 50, replace=False)]
    codec = FrameCodec(pd.concat([X, bg]))

    def f(Z):
        return model.predict_proba(codec.decode(Z))[:, 1]

    Z, B = codec.encode(X), codec.encode(bg)
    f(Z[:10])  # warm-up
    start = time.perf_counter()
    ours, _ = permutation_shap(f, Z, B, rng=rng)
    t_ours = time.perf_counter() - start
    explainer = shap.PermutationExplainer(f, shap.maskers.Independent(B, max_samples=50), seed=0)
    explainer(Z[:2], max_evals=2 * Z.shape[1] + 1, silent=True)  # warm-up (numba)
    start = time.perf_counter()
    theirs = explainer(Z, max_evals=2 * Z.shape[1] + 1, silent=True).values
    t_shap = time.perf_counter() - start
    a, b = np.abs(ours).mean(axis=0), np.abs(theirs).mean(axis=0)
    print(
        f"\nModel-agnostic SHAP, {n_rows:,} Adult rows, HistGradientBoosting (native categoricals)"
    )
    print(f"  shap.PermutationExplainer   : {t_shap:8.2f} s")
    print(f"  raikit permutation (vector.): {t_ours:8.2f} s   ratio {t_shap / t_ours:.1f}x faster")
    print(
        f"  mean |SHAP| per feature, largest relative difference: "
        f"{np.max(np.abs(a - b) / np.maximum(b, 1e-12)):.1%} (both estimates are random)"
    )


class _CastModel:
    """DiCE hands the model frames of strings; cast them back to the training dtypes."""

    def __init__(self, model, dtypes):
        self.model, self.dtypes = model, dtypes

    def _cast(self, X):
        X = X[list(self.dtypes)].copy()
        for c, d in self.dtypes.items():
            X[c] = X[c].astype(d) if isinstance(d, pd.CategoricalDtype) else X[c].astype(float)
        return X

    def predict(self, X):
        return self.model.predict(self._cast(X))

    def predict_proba(self, X):
        return self.model.predict_proba(self._cast(X))


def cf_bench(n_rows: int, dice_rows: int) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.datasets import load_adult
    from raikit.explain import counterfactuals

    train, test = load_adult(split="train"), load_adult(split="test")
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=100, random_state=0
    ).fit(train.X, train.y)
    complete = train.X.notna().all(axis=1).to_numpy()  # DiCE cannot handle missing values
    pool = train.subset(np.flatnonzero(complete))
    rows = test.X[test.X.notna().all(axis=1)].iloc[:n_rows]
    immutable = ["age", "native_country"]
    start = time.perf_counter()
    ours = counterfactuals(model, pool, rows=rows, immutable=immutable, n=10)
    t_ours = time.perf_counter() - start
    m = ours.metrics
    print(f"\nCounterfactuals, 10 per row, {len(rows):,} Adult test rows (HistGradientBoosting)")
    print(
        f"  raikit (k-d tree + sparsify): {t_ours:8.2f} s ({len(rows) / t_ours:,.0f} rows/s)  "
        f"validity {m['validity']:.1%}, rows with a CF {m['queries_with_cf']:.1%}, "
        f"features changed {m['mean_n_changed']:.2f}, distance {m['mean_distance']:.3f}, "
        f"diversity {m['diversity']:.2f}"
    )
    try:
        import dice_ml
    except ImportError:
        print("  dice-ml not installed: DiCE comparison skipped")
        return
    head = rows.iloc[:dice_rows]
    sub = counterfactuals(model, pool, rows=head, immutable=immutable, n=10)
    features = list(train.X.columns)
    continuous = [c for c in features if not isinstance(train.X[c].dtype, pd.CategoricalDtype)]
    frame = pool.frame[[*features, "income"]].copy()
    for c in features:
        if c not in continuous:
            frame[c] = frame[c].astype(str)
    data = dice_ml.Data(dataframe=frame, continuous_features=continuous, outcome_name="income")
    wrapped = _CastModel(model, train.X.dtypes.to_dict())
    dice = dice_ml.Dice(data, dice_ml.Model(model=wrapped, backend="sklearn"), method="random")
    query = head.copy()
    for c in features:
        if c not in continuous:
            query[c] = query[c].astype(str)
    start = time.perf_counter()
    out = dice.generate_counterfactuals(
        query,
        total_CFs=10,
        desired_class="opposite",
        features_to_vary=[c for c in features if c not in immutable],
        random_seed=0,
        verbose=False,
    )
    t_dice = time.perf_counter() - start
    # DiCE's counterfactuals scored with raikit's distance (MAD-scaled L1, 0/1 categorical)
    X = pool.X
    mad = {}
    for c in continuous:
        x = X[c].to_numpy(dtype=float)
        d = np.median(np.abs(x - np.median(x)))
        mad[c] = d if d > 0 else x.std()
    found, changed, distance, valid = 0, [], [], 0
    for i, example in enumerate(out.cf_examples_list):  # per query row (DiCE's output objects)
        cfs = example.final_cfs_df
        if cfs is None or len(cfs) == 0:
            continue
        cfs = cfs[features]
        found += len(cfs)
        q = query.iloc[[i]]
        pred = wrapped.predict(cfs)
        valid += int((pred != wrapped.predict(q)[0]).sum())
        for _, cf in cfs.iterrows():  # at most 10
            per = []
            for c in features:
                if c in continuous:
                    per.append(abs(float(cf[c]) - float(q[c].iloc[0])) / mad[c])
                else:
                    per.append(float(str(cf[c]) != str(q[c].iloc[0])))
            per = np.array(per)
            changed.append(int((per > 0).sum()))
            distance.append(per.mean())
    requested = 10 * len(head)
    print(f"  on the first {len(head)} rows, side by side:")
    print(
        f"    raikit : validity {sub.metrics['validity']:.1%}, features changed "
        f"{sub.metrics['mean_n_changed']:.2f}, distance {sub.metrics['mean_distance']:.3f}"
    )
    print(
        f"    DiCE random: {t_dice:8.2f} s ({len(head) / t_dice:.2f} rows/s, extrapolated "
        f"{n_rows / (len(head) / t_dice):,.0f} s for {n_rows:,} rows); validity "
        f"{valid / requested:.1%}, features changed {np.mean(changed):.2f}, distance "
        f"{np.mean(distance):.3f}"
    )
    print(
        f"    speed ratio (raikit rows/s ÷ DiCE rows/s): {(len(rows) / t_ours) / (len(head) / t_dice):,.0f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--cf-rows", type=int, default=1000)
    parser.add_argument("--dice-rows", type=int, default=50)
    parser.add_argument("--agnostic-rows", type=int, default=500)
    args = parser.parse_args()
    shap_bench(args.rows)
    agnostic_bench(args.agnostic_rows)
    cf_bench(args.cf_rows, args.dice_rows)


if __name__ == "__main__":
    main()
