"""Slice search on UCI Adult (32,561 training rows): raikit's SliceLine vs the ``sliceline`` package.

Run: ``python bench/bench_slices.py [--depths 2 3] [--k 10] [--min-size 32]``

Both searches get the same input: the same columns (the 12 features plus ``sex`` and ``race``),
numeric columns binned into 10 quantile bins by raikit, and the same per-row log loss of a
HistGradientBoostingClassifier trained on the training split. The package is handed the already
binned integer matrix (binning time is charged to raikit only). Prints the time of each, the ratio,
and the overlap of the two top-k lists; then the time of Slice Finder's lattice and tree searches.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--min-size", type=int, default=32)
    args = parser.parse_args()

    import sliceline
    from sklearn.ensemble import HistGradientBoostingClassifier

    from raikit.datasets import load_adult
    from raikit.evaluate import find_slices, row_losses
    from raikit.evaluate._slices import _encode_features

    train = load_adult(split="train")
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=60, random_state=0
    ).fit(train.X, train.y)
    scored = train.with_predictions(model)  # losses from stored scores: no model call is timed
    names = [*train.feature_names, *train.sensitive_names]
    losses = row_losses(None, scored, loss="log_loss")
    enc = _encode_features(train.frame, names, 10)
    print(
        f"Adult train: {train.n_rows:,} rows, {len(enc.names)} columns, {enc.n_items} one-hot "
        f"items (10 quantile bins per numeric column); mean log loss {losses.mean():.4f}; "
        f"sliceline {sliceline.__version__ if hasattr(sliceline, '__version__') else '0.3.0'}, "
        f"numba {'on' if sliceline.slicefinder.NUMBA_AVAILABLE else 'off'}"
    )
    for depth in args.depths:
        start = time.perf_counter()
        ours = find_slices(
            None,
            scored,
            loss="log_loss",
            method="sliceline",
            max_features=depth,
            k=args.k,
            min_size=args.min_size,
            features=names,
        )
        t_ours = time.perf_counter() - start
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            peer = sliceline.Slicefinder(
                alpha=0.95, k=args.k, max_l=depth, min_sup=args.min_size, verbose=False
            ).fit(enc.codes, losses)
            t_peer = time.perf_counter() - start
        theirs = {
            frozenset((enc.names[j], int(v)) for j, v in enumerate(s) if v is not None)
            for s in peer.top_slices_
        }
        mine = {
            frozenset(zip(part["feature"], part["code"].astype(int), strict=True))
            for _, part in ours.predicates.groupby("slice_id")
        }
        same_scores = np.allclose(
            np.sort(ours.slices["score"].to_numpy()),
            np.sort([s["slice_score"] for s in peer.top_slices_statistics_])[-len(ours.slices) :],
            rtol=1e-9,
        )
        print(
            f"depth {depth}: raikit sliceline {t_ours:7.3f} s | sliceline package {t_peer:7.2f} s"
            f" | {t_peer / t_ours:6.1f}x faster | top-{args.k} overlap {len(mine & theirs)}/"
            f"{len(theirs)} (package returned {len(peer.top_slices_)}; scores equal: {same_scores})"
        )
        print("  levels:", ours.levels.to_dict("records"))
    for method in ("lattice", "tree"):
        start = time.perf_counter()
        r = find_slices(
            None, scored, loss="log_loss", method=method, max_features=3, k=args.k, features=names
        )
        print(
            f"slice finder {method:7s} depth 3: {time.perf_counter() - start:6.3f} s, "
            f"{len(r.slices)} significant slice(s); top: {r.slices['slice'].iloc[0]}"
        )


if __name__ == "__main__":
    main()
