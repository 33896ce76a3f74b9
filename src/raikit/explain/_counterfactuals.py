"""``counterfactuals``: diverse minimal-change rows that reach a desired outcome (DiCE's k-d tree
idea: search among observed rows, then make them sparse)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, DataError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import RANDOM_STATE, Interval, validate_params
from raikit.explain._common import FrameCodec, align_columns, as_frame, fitted_model

__all__ = ["CounterfactualResult", "counterfactuals"]


@dataclass(frozen=True, eq=False)
class CounterfactualResult(Result):
    """Counterfactual rows per query row, with their sparsity and proximity.

    Attributes
    ----------
    queries : DataFrame
        One row per query: ``row`` (its label), the inputs, ``prediction``, ``score`` (binary
        classifiers), ``desired`` and ``n_found``.
    counterfactuals : DataFrame
        One row per counterfactual: ``row`` (the query's label), ``cf`` (1..n), the inputs,
        ``prediction``, ``score``, ``n_changed`` (features changed), ``sparsity``
        (1 - n_changed / features) and ``distance`` (mean per-feature distance: ``|change| / MAD`` for
        numeric features, 0/1 for categorical ones, as DiCE's proximity).
    changes : DataFrame
        Tidy: ``row``, ``cf``, ``feature``, ``before``, ``after`` (as text) for each changed cell.
    metrics : dict
        ``validity`` (share of requested counterfactuals found and valid), ``queries_with_cf``,
        ``mean_n_changed``, ``mean_sparsity``, ``mean_distance``, ``diversity`` (mean share of
        features on which two counterfactuals of the same query differ).
    meta : dict
    findings : tuple of Finding

    See Also
    --------
    counterfactuals : computes it.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.explain import counterfactuals
    >>> ds = make_fairness_synthetic(300, random_state=0)
    >>> model = LogisticRegression().fit(ds.X, ds.y)
    >>> r = counterfactuals(model, ds, rows=ds.X.iloc[[0]], n=2)
    >>> bool((r.counterfactuals["prediction"] != r.queries["prediction"].iloc[0]).all())
    True
    """

    queries: pd.DataFrame
    counterfactuals: pd.DataFrame
    changes: pd.DataFrame
    metrics: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    findings: tuple = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        from raikit._sampling import sampling_note

        m = self.metrics
        return (
            f"{len(self.counterfactuals):,} counterfactual(s) for {len(self.queries):,} row(s): "
            f"validity {m['validity']:.1%}, {m['mean_n_changed']:.2f} features changed on average "
            f"(sparsity {m['mean_sparsity']:.2f}), mean distance {m['mean_distance']:.3f}, "
            f"diversity {m['diversity']:.2f}"
            + (
                ""
                if self.meta.get("sampling") is None
                else f"; searched {sampling_note(self.meta['n_rows'], self.meta['n_rows_data'])}"
            )
            + "."
        )

    def for_row(self, row) -> pd.DataFrame:
        """The counterfactuals of one query row (by its label)."""
        return self.counterfactuals[self.counterfactuals["row"] == row]

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit.explain._figures import counterfactual_table

        features = self.meta["features"]
        figures = []
        for _, query in self.queries.head(3).iterrows():  # at most three tables
            cfs = self.for_row(query["row"])
            if len(cfs):
                figures.append(
                    counterfactual_table(
                        query,
                        cfs,
                        features,
                        title=f"Counterfactuals of row {query['row']} (changed cells highlighted)",
                    )
                )
        if len(self.changes):
            share = self.changes.groupby("feature").size() / max(len(self.counterfactuals), 1)
            share = share.sort_values()
            fig = go.Figure(go.Bar(x=share.to_numpy(), y=share.index, orientation="h"))
            fig.update_layout(
                title="How often each feature changes in the counterfactuals",
                xaxis_title="share of counterfactuals",
                xaxis_tickformat=".0%",
                height=max(300, 24 * len(share) + 120),
            )
            figures.append(fig)
        return figures


def _scales(Zp: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    median = np.nanmedian(Zp, axis=0)
    mad = np.nanmedian(np.abs(Zp - median), axis=0)
    std = np.nanstd(Zp, axis=0)
    scale = np.where(mad > 0, mad, np.where(std > 0, std, 1.0))
    return np.where(numeric, scale, 1.0)


def _distance(A: np.ndarray, B: np.ndarray, numeric: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Per-feature distance (…, F): |a - b| / scale for numeric, mismatch for categorical."""
    both_nan = np.isnan(A) & np.isnan(B)
    one_nan = np.isnan(A) ^ np.isnan(B)
    diff = np.where(numeric, np.abs(A - B) / scale, (A != B).astype(float))
    diff = np.where(both_nan, 0.0, np.where(one_nan, 1.0, diff))
    return diff


def _embed(Z: np.ndarray, numeric: np.ndarray, scale, median, n_levels) -> np.ndarray:
    """Rows as vectors whose L1 distance is the counterfactual distance (one-hot × 0.5)."""
    parts = []
    for j in range(Z.shape[1]):  # loop over columns
        z = Z[:, j]
        if numeric[j]:
            parts.append((np.where(np.isnan(z), median[j], z) / scale[j])[:, None])
        else:
            codes = np.where(np.isnan(z), n_levels[j], z).astype(np.int64)
            onehot = np.zeros((len(z), n_levels[j] + 1))
            onehot[np.arange(len(z)), codes] = 0.5
            parts.append(onehot)
    return np.hstack(parts) if parts else np.zeros((len(Z), 0))


class _Plausibility:
    """Which value combinations the data makes plausible (pairs of features, vectorised over rows).

    A pair of categorical values is plausible when at least ``min(min_support, rows with the
    first value, rows with the second)`` rows of the data have both (so a value seen in one row
    is not held to five); a numeric value is plausible next to a categorical value when it lies
    within the range that the numeric feature takes in the data's rows with that value. Missing
    values count as a level of their own. Only pairs that involve a changed feature are checked:
    the query's own combinations are taken as they are.
    """

    def __init__(self, Zp: np.ndarray, numeric: np.ndarray, n_levels: np.ndarray, min_support):
        self.numeric = numeric
        self.n_levels = n_levels
        self.categorical = np.flatnonzero(~numeric)
        self.pairs = {}
        codes = {j: self._codes(Zp[:, j], j) for j in self.categorical}
        for i, a in enumerate(self.categorical):  # loops over pairs of features, not rows
            size_a = n_levels[a] + 1
            count_a = np.bincount(codes[a], minlength=size_a)
            for b in self.categorical[i + 1 :]:
                size_b = n_levels[b] + 1
                count_b = np.bincount(codes[b], minlength=size_b)
                both = np.bincount(codes[a] * size_b + codes[b], minlength=size_a * size_b)
                need = np.minimum(min_support, np.minimum.outer(count_a, count_b))
                self.pairs[a, b] = both.reshape(size_a, size_b) >= need
        self.ranges = {}
        for d in self.categorical:
            for x in np.flatnonzero(numeric):
                values = pd.Series(Zp[:, x]).groupby(codes[d]).agg(["min", "max"])
                low = np.full(n_levels[d] + 1, -np.inf)
                high = np.full(n_levels[d] + 1, np.inf)
                seen = values.dropna()
                low[seen.index.to_numpy()] = seen["min"].to_numpy()
                high[seen.index.to_numpy()] = seen["max"].to_numpy()
                self.ranges[d, x] = (low, high)

    def _codes(self, column: np.ndarray, j: int) -> np.ndarray:
        return np.where(np.isnan(column), self.n_levels[j], column).astype(np.int64)

    def check(self, Z: np.ndarray, changed: np.ndarray) -> np.ndarray:
        """One flag per row of ``Z``: every pair involving a changed feature is plausible."""
        ok = np.ones(len(Z), dtype=bool)
        if len(Z) == 0:
            return ok
        codes = {j: self._codes(Z[:, j], j) for j in self.categorical}
        for (a, b), table in self.pairs.items():
            relevant = changed[:, a] | changed[:, b]
            ok &= ~relevant | table[codes[a], codes[b]]
        for (d, x), (low, high) in self.ranges.items():
            relevant = changed[:, d] | changed[:, x]
            v = Z[:, x]
            inside = np.isnan(v) | ((v >= low[codes[d]]) & (v <= high[codes[d]]))
            ok &= ~relevant | inside
        return ok


def _names(value) -> bool:
    """a list of column names (not a single string)"""
    return not isinstance(value, str) and isinstance(value, Sequence | set | frozenset)


def _sensitive_inputs(features: list[str], *sources) -> list[str]:
    """The model inputs that a Dataset among ``sources`` marks as sensitive."""
    from raikit.dataset import Dataset

    names: list[str] = []
    for source in sources:
        if isinstance(source, Dataset):
            names += [c for c in source.sensitive_names if c in features and c not in names]
    return names


@recorded("explain.counterfactuals")
@validate_params(
    model=fitted_model,
    immutable=_names,
    allow_sensitive=bool,
    ranges=[dict, None],
    min_support=[Interval(int, 1, None), None],
    n=Interval(int, 1, None),
    candidates=[Interval(int, 1, None), None],
    diversity_weight=Interval(float, 0, None),
    max_rows=[Interval(int, 50, None), None],
    random_state=RANDOM_STATE,
)
def counterfactuals(
    model,
    data,
    *,
    rows,
    desired="opposite",
    immutable: Sequence[str] = (),
    allow_sensitive: bool = False,
    ranges: dict | None = None,
    min_support: int | None = 5,
    n: int = 5,
    candidates: int | None = None,
    diversity_weight: float = 0.5,
    max_rows: int | None = None,
    random_state=None,
    pos_label=None,
    ledger=None,
) -> CounterfactualResult:
    """Diverse minimal-change versions of ``rows`` that the model decides as ``desired``.

    The search follows DiCE's k-d tree method: among observed rows of ``data`` that the model
    already decides as desired (and that respect ``ranges``), take the nearest to the query
    (L1 over MAD-scaled numeric features and 0/1 categorical mismatches), copy the immutable
    features from the query, keep the candidates that are still decided as desired, then make each
    sparse by reverting, one feature at a time, every change the outcome does not need. Finally
    ``n`` diverse candidates are picked greedily (low distance, few shared changed features).
    Every step is one batched model call over all query rows.

    Sensitive attributes never change unless asked: when ``data`` (or ``rows``) is a Dataset, its
    ``sensitive`` columns that are model inputs are immutable (``allow_sensitive=True`` lifts
    this). The search prefers observed rows that share the query's immutable categorical
    values, and every counterfactual (and every step of making it sparse) must be plausible
    in the data: each pair of values that involves a changed feature must occur in ``data``
    (categorical pairs in at least ``min(min_support, rows of either value)`` rows, so
    ``relationship=Wife`` goes with ``sex=Female``), and each numeric value must lie within the
    range the feature takes in ``data`` among the rows sharing each categorical value of the
    counterfactual. Numeric values themselves always come from observed rows.

    Parameters
    ----------
    model : fitted classifier (or regressor with a ``(low, high)`` ``desired``)
    data : Dataset or DataFrame
        Observed rows to search (e.g. the training data); fixes the feature domains.
    rows : DataFrame, Series, dict or Dataset
        The query row(s).
    desired : "opposite", a class label, or (low, high)
        ``opposite``: the other class of a binary classifier.
    immutable : list of str
        Features that must not change (e.g. ``("age",)``), besides the sensitive ones.
    allow_sensitive : bool, default False
        Let counterfactuals change the Dataset's sensitive attributes (e.g. to ask "would the
        decision differ for a woman?"); they are immutable otherwise.
    ranges : dict, optional
        Feasible values per feature: ``(low, high)`` for numeric, a list for categorical.
    min_support : int or None, default 5
        Rows of ``data`` that must share a pair of categorical values for a counterfactual to
        use it (fewer when a value itself is rarer). ``None`` turns the plausibility check off.
    n : int, default 5
        Counterfactuals per query row.
    candidates : int, optional
        Nearest observed rows considered per query (default ``max(10 * n, 50)``).
    diversity_weight : float, default 0.5
        Weight of "shares changed features with an already chosen counterfactual" against the
        normalised distance in the greedy choice.
    max_rows : int, optional
        Search at most about this many observed rows of a Dataset ``data``: a sample stratified
        by its sensitive groups (every group keeps some rows), drawn where the rows live for a
        lazy Dataset (``meta["sampling"]``; the plausibility supports then count the sample's
        rows). By default every row is searched.
    random_state : int or None, default None
        Seed of that sample.
    pos_label : optional
        For a binary classifier with ``predict_proba``: the class whose probability is reported
        as ``score``. Inferred only for 0/1, False/True and -1/1 classes; other classes need it.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    CounterfactualResult

    Raises
    ------
    ParameterError
        ``model`` without ``predict``; ``n``, ``candidates``, ``min_support`` or
        ``diversity_weight`` out of range; a bad ``desired`` or ``ranges`` entry.
    ColumnError
        ``immutable`` or ``ranges`` name a column that is not a model input; ``rows`` lack one.
    DataError
        ``data`` has no rows; the model cannot predict them.

    See Also
    --------
    raikit.explain.what_if : the prediction after changes you choose.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit()
    >>> ds = ds.replace(features=["duration_months", "credit_amount", "age"])
    >>> model = LogisticRegression(max_iter=1000).fit(ds.X, ds.y)
    >>> r = counterfactuals(model, ds, rows=ds.X.iloc[[0]], immutable=["age"], n=3)
    >>> bool((r.counterfactuals["prediction"] != r.queries["prediction"].iloc[0]).all())
    True
    >>> bool((r.counterfactuals["age"] == ds.X["age"].iloc[0]).all())
    True

    With a sensitive attribute among the model inputs, it stays as it is:

    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> ds = load_german_credit().replace(features=["duration_months", "credit_amount", "sex"])
    >>> model = HistGradientBoostingClassifier(categorical_features="from_dtype", max_iter=20)
    >>> model = model.fit(ds.X, ds.y)
    >>> r = counterfactuals(model, ds, rows=ds.X.iloc[[0, 1]], n=3)
    >>> r.meta["immutable"], bool((r.changes["feature"] != "sex").all())
    (['sex'], True)
    """
    from raikit.dataset import Dataset

    pool, sampling = _pool(data, max_rows, random_state)
    space = _Space(model, pool, rows, pos_label)
    features = space.features
    immutable = [str(c) for c in immutable]
    bad = [c for c in immutable + list(ranges or {}) if c not in features]
    if bad:
        raise ColumnError(f"{bad} are not model inputs; inputs are {features}.")
    sensitive = _sensitive_inputs(features, data, rows)
    if not allow_sensitive:
        immutable += [c for c in sensitive if c not in immutable]
    k = candidates or max(10 * n, 50)
    target, keys, pool_key, desired_label = _desired(model, desired, space.query_pred)
    mutable = np.array([c not in immutable for c in features])
    plausibility = (
        _Plausibility(space.Zp, space.numeric, space.n_levels, int(min_support))
        if min_support is not None
        else None
    )
    search = _Search(space, pool_key, target, mutable, plausibility)
    neighbours = search.nearest(_eligible(space, ranges), keys, k)
    flat, q_of, valid = search.candidates(neighbours)
    dist = search.make_sparse(flat, q_of, valid)
    changed = dist > 0
    total = dist.mean(axis=1)
    chosen, found_per_query = _choose_diverse(
        flat, changed, total, valid, len(space.Zq), k, n, diversity_weight
    )
    queries, cf_frame, changes = _tables(space, flat, changed, total, chosen, q_of)
    queries["desired"] = desired_label
    queries["n_found"] = found_per_query
    return CounterfactualResult(
        queries=queries,
        counterfactuals=cf_frame,
        changes=changes,
        metrics=_metrics(cf_frame, changed, chosen, q_of, flat, found_per_query, n),
        meta={
            "features": features,
            "immutable": immutable,
            "sensitive": sensitive,
            "allow_sensitive": bool(allow_sensitive),
            "min_support": None if min_support is None else int(min_support),
            "ranges": {key: list(v) for key, v in (ranges or {}).items()},
            "n": int(n),
            "candidates": int(k),
            "n_rows": len(space.Zp),
            "n_rows_data": data.n_rows if isinstance(data, Dataset) else len(space.Zp),
            "sampling": sampling,
            "method": "k-d tree over observed rows + greedy sparsity + diverse choice",
            "plausibility": (
                "off"
                if min_support is None
                else f"pairs of values involving a changed feature occur in data "
                f"(categorical pairs in >= min({int(min_support)}, rows of either value) rows; "
                f"numeric values within their range among rows sharing each categorical value)"
            ),
        },
        findings=tuple(_findings(found_per_query, n, immutable, changes, len(chosen))),
    )


def _pool(data, max_rows, random_state):
    """The observed rows to search (``data`` or its stratified sample) and the sample's record
    (None when every row is searched)."""
    from raikit._sampling import sample_rows
    from raikit.dataset import Dataset

    if max_rows is None or not isinstance(data, Dataset) or data.n_rows <= max_rows:
        return data, None
    sample, positions, _, sampling = sample_rows(
        data, max_rows, random_state=random_state, purpose="counterfactuals()"
    )
    return (sample if len(positions) == sample.n_rows else sample.subset(positions)), sampling


class _Space:
    """The search space: data and queries encoded as float matrices, scales, model calls."""

    def __init__(self, model, data, rows, pos_label) -> None:
        from raikit.explain._common import positive_class

        reference = as_frame(data, name="data", model=model)
        if len(reference) == 0:
            raise DataError("data has no rows to search for counterfactuals.")
        self.model = model
        self.reference = reference
        self.query = align_columns(as_frame(rows, name="rows"), reference, name="rows")
        self.features = [str(c) for c in reference.columns]
        self.codec = codec = FrameCodec(reference)
        self.numeric = numeric = np.array([codec.is_numeric(c) for c in self.features])
        self.Zp = codec.encode(reference)
        self.Zq = codec.encode(self.query)
        self.scale = _scales(self.Zp, numeric)
        median = np.where(numeric, np.nanmedian(np.where(numeric, self.Zp, 0), axis=0), 0)
        self.median = np.nan_to_num(median)
        self.n_levels = np.array(
            [
                0 if numeric[j] else len(codec.categories[c].categories)
                for j, c in enumerate(self.features)
            ]
        )
        self.column = (
            positive_class(model, pos_label)[0] if hasattr(model, "predict_proba") else None
        )
        try:
            self.pool_pred = self.predict(self.Zp)
            self.query_pred = self.predict(self.Zq)
        except Exception as error:
            raise DataError(
                f"The model could not predict the data: {type(error).__name__}: {error}"
            ) from error

    def predict(self, Z: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(self.codec.decode(Z)))

    def score(self, Z: np.ndarray) -> np.ndarray | None:
        """Probability of the positive class (binary classifiers with predict_proba)."""
        if self.column is None or len(Z) == 0:
            return None
        return np.asarray(self.model.predict_proba(self.codec.decode(Z)))[:, self.column]

    def distance(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return _distance(A, B, self.numeric, self.scale)

    def embed(self, Z: np.ndarray) -> np.ndarray:
        return _embed(Z, self.numeric, self.scale, self.median, self.n_levels)


def _desired(model, desired, query_pred):
    """Per query: the desired key, the keys searched, ``pool_key(pred)`` and the label shown."""
    nq = len(query_pred)
    if isinstance(desired, tuple | list) and len(desired) == 2:
        low, high = float(desired[0]), float(desired[1])
        if low > high:
            raise ParameterError(
                f"counterfactuals(): desired range must be (low, high) with low <= high, got "
                f"{desired}."
            )

        def in_range(pred):
            return np.where((pred >= low) & (pred <= high), 0, -1)

        return np.zeros(nq, dtype=np.int64), [0], in_range, [f"[{low:g}, {high:g}]"] * nq
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise ParameterError(
            "counterfactuals(): desired must be (low, high) for a regressor; class labels need a "
            "classifier with classes_."
        )
    classes = np.asarray(classes)
    if isinstance(desired, str) and desired == "opposite":
        if len(classes) != 2:
            raise ParameterError(
                f"counterfactuals(): desired='opposite' needs a binary classifier; this one has "
                f"classes {classes.tolist()}. Pass the desired class label."
            )
        target = 1 - pd.Index(classes).get_indexer(query_pred)
    else:
        if desired not in classes.tolist():
            raise ParameterError(
                f"counterfactuals(): desired={desired!r} is not a class of the model "
                f"{classes.tolist()}."
            )
        target = np.full(nq, classes.tolist().index(desired))

    def class_key(pred):
        return pd.Index(classes).get_indexer(pred)

    return target, sorted(set(target.tolist())), class_key, [str(classes[t]) for t in target]


def _eligible(space: _Space, ranges) -> np.ndarray:
    """Observed rows that respect ``ranges``."""
    eligible = np.ones(len(space.Zp), dtype=bool)
    for feature, allowed in (ranges or {}).items():  # a few constraints
        j = space.features.index(feature)
        if space.numeric[j]:
            try:
                low, high = float(allowed[0]), float(allowed[1])
            except (TypeError, ValueError, IndexError) as error:
                raise ParameterError(
                    f"counterfactuals(): ranges[{feature!r}] must be (low, high) for a numeric "
                    f"feature, got {allowed!r}."
                ) from error
            eligible &= (space.Zp[:, j] >= low) & (space.Zp[:, j] <= high)
        else:
            codes = pd.Categorical(list(allowed), dtype=space.codec.categories[feature]).codes
            eligible &= np.isin(space.Zp[:, j], codes[codes >= 0])
    return eligible


class _Search:
    """Nearest desired rows, immutable features copied from the query, then made sparse."""

    def __init__(self, space: _Space, pool_key, target, mutable, plausibility) -> None:
        self.space, self.pool_key, self.target = space, pool_key, target
        self.mutable, self.plausibility = mutable, plausibility

    def plausible(self, Z: np.ndarray, query_rows: np.ndarray) -> np.ndarray:
        if self.plausibility is None:
            return np.ones(len(Z), dtype=bool)
        return self.plausibility.check(Z, self.space.distance(Z, query_rows) > 0)

    def desired(self, Z: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Rows of ``Z`` (candidates of queries ``q``) decided as desired and plausible."""
        query_rows = self.space.Zq[q]
        hit = self.pool_key(self.space.predict(Z)) == self.target[q]
        return hit & self.plausible(Z, query_rows)

    def nearest(self, eligible: np.ndarray, keys, k: int) -> np.ndarray:
        """(queries, k) indices of the nearest eligible observed rows decided as desired."""
        from sklearn.neighbors import NearestNeighbors

        space = self.space
        # Immutable features are copied from the query, so they do not count in the distance;
        # but rows that share the query's immutable categorical values come first (a mismatch
        # there weighs as much as a change of 100 scale units in every feature), as the
        # combinations built from them are plausible.
        F = len(space.features)
        weight = np.where(self.mutable, 1.0, np.where(space.numeric, 0.0, 100.0 * F))
        weight = np.repeat(weight, np.where(space.numeric, 1, space.n_levels + 1))
        embed_p = space.embed(space.Zp) * weight
        embed_q = space.embed(space.Zq) * weight
        neighbours = np.full((len(space.Zq), k), -1, dtype=np.int64)
        pool_keys = self.pool_key(space.pool_pred)
        for key in keys:  # one search per desired class
            pool_rows = np.flatnonzero(eligible & (pool_keys == key))
            which = np.flatnonzero(self.target == key)
            if len(pool_rows) == 0 or len(which) == 0:
                continue
            m = min(k, len(pool_rows))
            index = NearestNeighbors(n_neighbors=m, metric="manhattan").fit(embed_p[pool_rows])
            _, found = index.kneighbors(embed_q[which])
            neighbours[which, :m] = pool_rows[found]
        return neighbours

    def candidates(self, neighbours: np.ndarray):
        """Flattened candidates (queries * k, F), the query of each, and which are valid."""
        space = self.space
        nq, k = neighbours.shape
        present = neighbours >= 0
        cand = np.where(present[:, :, None], space.Zp[np.maximum(neighbours, 0)], np.nan)
        cand = np.where(self.mutable, cand, space.Zq[:, None, :])  # immutable: the query's
        flat = cand.reshape(-1, len(space.features))
        rows = np.flatnonzero(present.ravel())
        q_of = np.repeat(np.arange(nq), k)
        valid = np.zeros(nq * k, dtype=bool)
        valid[rows] = self.desired(flat[rows], q_of[rows])
        return flat, q_of, valid

    def make_sparse(self, flat: np.ndarray, q_of: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Revert each change the outcome does not need, one feature at a time (batched);
        ``flat`` is updated in place; returns the per-feature distances to the query."""
        query_flat = self.space.Zq[q_of]
        dist = self.space.distance(flat, query_flat)
        n_features = flat.shape[1]
        order = np.argsort(dist[valid].mean(axis=0)) if valid.any() else np.arange(n_features)
        for _ in range(3):  # passes until no change can be reverted (1-minimal), at most three
            reverted = 0
            for j in order:  # loop over features; each step is one batched predict
                try_rows = np.flatnonzero(valid & (dist[:, j] > 0))
                if len(try_rows) == 0:
                    continue
                trial = flat[try_rows].copy()
                trial[:, j] = query_flat[try_rows, j]
                accepted = try_rows[self.desired(trial, q_of[try_rows])]
                flat[accepted, j] = query_flat[accepted, j]
                dist[accepted, j] = 0.0
                reverted += len(accepted)
            if reverted == 0:
                break
        return dist


def _choose_diverse(flat, changed, total, valid, nq, k, n, diversity_weight):
    """Greedy diverse choice per query: low distance, few changed features shared with the
    counterfactuals already chosen. Returns the chosen candidate rows and the count per query."""
    chosen_rows = []
    found_per_query = np.zeros(nq, dtype=np.int64)
    for q in range(nq):  # per query: choose among <= k candidates
        idx = np.arange(q * k, (q + 1) * k)
        idx = idx[valid[idx]]
        if len(idx) == 0:
            continue
        _, first = np.unique(np.nan_to_num(flat[idx], nan=-1e300), axis=0, return_index=True)
        idx = idx[np.sort(first)]
        norm = total[idx] / max(total[idx].max(), 1e-12)
        picked: list[int] = []
        for _ in range(min(n, len(idx))):
            if picked:
                a = changed[idx][:, None, :]
                b = changed[np.array(picked)][None, :, :]
                inter = (a & b).sum(axis=2)
                union = np.maximum((a | b).sum(axis=2), 1)
                overlap = (inter / union).max(axis=1)
            else:
                overlap = np.zeros(len(idx))
            cost = norm + diversity_weight * overlap
            cost[np.isin(idx, picked)] = np.inf
            picked.append(int(idx[np.argmin(cost)]))
        chosen_rows.extend(picked)
        found_per_query[q] = len(picked)
    return np.array(chosen_rows, dtype=np.int64), found_per_query


def _tables(space: _Space, flat, changed, total, chosen, q_of):
    """The queries, the chosen counterfactuals and their changed cells (tidy)."""
    features = space.features
    F = len(features)
    labels = space.query.index.to_numpy()
    cf_frame = (
        space.codec.decode(flat[chosen]) if len(chosen) else space.reference.iloc[:0].copy()
    ).reset_index(drop=True)
    q_chosen = q_of[chosen]
    cf_frame.insert(0, "row", labels[q_chosen])
    cf_frame.insert(1, "cf", _ranks_within(q_chosen))
    cf_frame["prediction"] = space.predict(flat[chosen]) if len(chosen) else []
    scores = space.score(flat[chosen])
    cf_frame["score"] = scores if scores is not None else np.nan
    cf_frame["n_changed"] = changed[chosen].sum(axis=1)
    cf_frame["sparsity"] = 1 - cf_frame["n_changed"] / F
    cf_frame["distance"] = total[chosen]
    queries = space.query.reset_index(drop=True)
    queries.insert(0, "row", labels)
    queries["prediction"] = space.query_pred
    q_scores = space.score(space.Zq)
    queries["score"] = q_scores if q_scores is not None else np.nan
    cell_cf, cell_feature = np.nonzero(changed[chosen])
    before = space.query.reset_index(drop=True)
    after = cf_frame[features]
    changes = pd.DataFrame(
        {
            "row": labels[q_chosen[cell_cf]],
            "cf": cf_frame["cf"].to_numpy()[cell_cf],
            "feature": np.asarray(features, dtype=object)[cell_feature],
            "before": [
                str(before.iat[q, j]) for q, j in zip(q_chosen[cell_cf], cell_feature, strict=True)
            ],
            "after": [str(after.iat[i, j]) for i, j in zip(cell_cf, cell_feature, strict=True)],
        }
    )
    return queries, cf_frame, changes


def _metrics(cf_frame, changed, chosen, q_of, flat, found_per_query, n) -> dict:
    nq = len(found_per_query)
    some = len(chosen) > 0
    nan = float("nan")
    return {
        "validity": float(found_per_query.sum() / (n * nq)) if nq else nan,
        "queries_with_cf": float(np.mean(found_per_query > 0)) if nq else nan,
        "mean_n_changed": float(cf_frame["n_changed"].mean()) if some else nan,
        "mean_sparsity": float(cf_frame["sparsity"].mean()) if some else nan,
        "mean_distance": float(cf_frame["distance"].mean()) if some else nan,
        "diversity": _diversity(changed[chosen], q_of[chosen], flat[chosen]),
    }


def _findings(found_per_query, n, immutable, changes, n_chosen) -> list:
    findings = []
    missing = int((found_per_query < n).sum())
    if missing:
        findings.append(
            Finding(
                "warning" if (found_per_query == 0).any() else "info",
                f"{missing} row(s) got fewer than {n} counterfactuals",
                f"{int((found_per_query == 0).sum())} row(s) got none: no observed row decided as "
                "desired stays so once the immutable features, ranges and plausibility are "
                "respected. Relax immutable/ranges/min_support or pass more data.",
            )
        )
    if immutable and n_chosen:
        top = changes["feature"].value_counts()
        if len(top):
            findings.append(
                Finding(
                    "info",
                    f"Most changed feature: {top.index[0]}",
                    f"{top.iloc[0]} of {n_chosen} counterfactuals change {top.index[0]}; "
                    f"immutable: {immutable}.",
                )
            )
    return findings


def _ranks_within(groups: np.ndarray) -> np.ndarray:
    """1, 2, … within each run of equal values (the chosen rows come grouped by query)."""
    if len(groups) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    out = np.arange(len(groups)) - np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    return out + 1


def _diversity(changed: np.ndarray, groups: np.ndarray, Z: np.ndarray) -> float:
    """Mean share of features on which two counterfactuals of the same query differ."""
    if len(groups) < 2:
        return float("nan")
    same = groups[:, None] == groups[None, :]
    upper = np.triu(same, k=1)
    if not upper.any():
        return float("nan")
    A = np.nan_to_num(Z, nan=-1e300)
    i, j = np.nonzero(upper)
    return float((A[i] != A[j]).mean())
