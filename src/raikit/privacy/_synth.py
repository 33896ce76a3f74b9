"""Differentially private synthetic data from noisy marginals released with OpenDP.

Method ``"star"`` (a marginal-based generator in the spirit of MST/PrivBayes): every column is
discretised on a public domain (a categorical's categories, equal-width bins within the public
bounds of a numeric column, plus a "missing" level). The *hub* is the joint cell of the target and
the sensitive attributes. OpenDP releases, in one composed measurement, the hub's marginal and the
2-way marginal of the hub with every other column (Laplace noise on counts, the budget split evenly).
Synthetic rows draw a hub cell, then each column from its noisy conditional given the hub. So every
group-by-label table a fairness study needs (per group, per class) is preserved; dependence
between two non-hub columns only flows through the hub.

OpenDP's own MST/AIM (``opendp[mbi]``) would need jax and a polars 1.x pin that conflicts with ours,
so it is not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from raikit._errors import DataError
from raikit._result import Finding, Result

__all__ = ["SynthesisResult", "synthesize"]

_MISSING = "<missing>"


@dataclass(frozen=True, eq=False)
class SynthesisResult(Result):
    """DP synthetic data and how faithful it is to the real data.

    Attributes
    ----------
    data : DataFrame
        The synthetic rows (same columns and dtypes as the real table).
    marginals : DataFrame
        1-way total-variation distance between real and synthetic per column, ``overall`` and per
        sensitive group (``attribute``, ``group``).
    pairs : DataFrame
        2-way total-variation distance per column pair (overall).
    utility : DataFrame
        Accuracy of a model trained on real vs on synthetic data, tested on real data, overall and
        per group (``train_on`` = ``real`` / ``synthetic``).
    epsilon : float
        Privacy loss of the whole release (OpenDP's privacy map).
    noise_scale : float
        Laplace scale of every released count.
    """

    data: pd.DataFrame
    marginals: pd.DataFrame
    pairs: pd.DataFrame
    utility: pd.DataFrame
    epsilon: float
    noise_scale: float
    method: str = "star"
    findings: tuple = ()

    @property
    def summary(self) -> str:
        overall = self.marginals[self.marginals["attribute"] == "overall"]["tvd"]
        acc = self.utility[self.utility["attribute"] == "overall"].set_index("train_on")["accuracy"]
        text = (
            f"{len(self.data):,} synthetic rows at epsilon={self.epsilon:.3g} "
            f"(noise scale {self.noise_scale:.3g}); mean 1-way TVD {overall.mean():.3f}, "
            f"mean 2-way TVD {self.pairs['tvd'].mean():.3f}"
        )
        if {"real", "synthetic"} <= set(acc.index):
            text += (
                f"; accuracy trained on synthetic {acc['synthetic']:.3f} vs real {acc['real']:.3f}"
            )
        return text

    def figures(self) -> list:
        import plotly.graph_objects as go

        overall = self.marginals[self.marginals["attribute"] == "overall"]
        first = go.Figure(go.Bar(x=overall["column"].tolist(), y=overall["tvd"].tolist()))
        first.update_layout(title="1-way marginal distance (TVD), real vs synthetic")
        figures = [first]
        if len(self.utility):
            second = go.Figure()
            for source, part in self.utility.groupby("train_on", sort=False):
                labels = (part["attribute"] + "=" + part["group"].astype(str)).tolist()
                second.add_bar(name=f"trained on {source}", x=labels, y=part["accuracy"].tolist())
            second.update_layout(title="Accuracy on real data, per group", barmode="group")
            figures.append(second)
        return figures


def _discretise(series: pd.Series, name: str, bounds, bins: int, *, missing: bool = True):
    """Integer codes on a public domain, the levels, and how to turn codes back into values."""
    if isinstance(series.dtype, pd.CategoricalDtype) or series.dtype == bool:
        categories = (
            list(series.cat.categories)
            if isinstance(series.dtype, pd.CategoricalDtype)
            else [False, True]
        )
        codes = pd.Categorical(series, categories=categories).codes.astype(np.int64)
        if not missing:  # the target, or a dtype that cannot hold missing values
            return codes, list(categories), None
        codes = np.where(codes < 0, len(categories), codes)
        return codes, [*categories, _MISSING], None
    if pd.api.types.is_numeric_dtype(series):
        if name not in bounds:
            raise DataError(
                f"Numeric column {name!r} has no bounds. Pass bounds={{{name!r}: (lower, upper)}} "
                "chosen from domain knowledge (not from the data)."
            )
        lo, hi = map(float, bounds[name])
        if not lo < hi:
            raise DataError(f"bounds[{name!r}] must have lower < upper, got {bounds[name]}.")
        edges = np.linspace(lo, hi, bins + 1)
        values = series.to_numpy(dtype=float, na_value=np.nan)
        codes = np.clip(
            np.searchsorted(edges, np.clip(values, lo, hi), side="right") - 1, 0, bins - 1
        )
        labels = [f"[{a:.4g}, {b:.4g})" for a, b in pairwise(edges)]
        if not missing:
            return codes.astype(np.int64), labels, edges
        codes = np.where(np.isnan(values), bins, codes).astype(np.int64)
        return codes, [*labels, _MISSING], edges
    raise DataError(
        f"Column {name!r} (dtype {series.dtype}) has no public domain: make it a pandas "
        "'category' with its known categories, or drop it."
    )


def _decode(codes, levels, edges, original: pd.Series, rng) -> pd.Series:
    if edges is None and _MISSING not in levels:
        return pd.Series(np.asarray(levels, dtype=object)[codes]).astype(original.dtype)
    missing = codes == len(levels) - 1 if _MISSING in levels else np.zeros(len(codes), bool)
    if edges is None:
        values = pd.Categorical.from_codes(np.where(missing, -1, codes), categories=levels[:-1])
        if original.dtype == bool:
            return pd.Series(np.asarray(values, dtype=object)).astype("boolean")
        return pd.Series(values).astype(original.dtype)
    safe = np.where(missing, 0, codes)
    values = rng.uniform(edges[safe], edges[safe + 1])
    if pd.api.types.is_integer_dtype(original.dtype):
        values = np.round(values)
        if not missing.any():
            return pd.Series(values.astype(original.dtype))
        return pd.Series(np.where(missing, np.nan, values)).astype("Int64")
    return pd.Series(np.where(missing, np.nan, values))


def _tvd(a: np.ndarray, b: np.ndarray, size: int) -> float:
    pa = np.bincount(a, minlength=size) / max(len(a), 1)
    pb = np.bincount(b, minlength=size) / max(len(b), 1)
    return float(0.5 * np.abs(pa - pb).sum())


def synthesize(
    ds,
    *,
    epsilon: float,
    method: str = "star",
    bounds: dict | None = None,
    bins: int = 10,
    n_rows: int | None = None,
    test=None,
    random_state=None,
    ledger=None,
) -> SynthesisResult:
    """Differentially private synthetic data with a fidelity report, overall and per group.

    Parameters
    ----------
    ds : raikit.Dataset
        The private data: its features, sensitive attributes and target are synthesised.
    epsilon : float
        Privacy loss of the whole release (row-level, pure DP).
    method : {"star"}
        Noisy hub-to-column 2-way marginals (see the module notes).
    bounds : dict
        ``{column: (lower, upper)}`` public bounds of every numeric column.
    bins : int, default 10
        Bins per numeric column.
    n_rows : int, optional
        Rows to generate; default the noisy total count released with the marginals.
    test : raikit.Dataset, optional
        Real held-out data for train-on-synthetic / test-on-real accuracy (default ``ds`` itself,
        which flatters the real-data baseline).
    random_state : int, optional
    ledger : raikit.ledger.Ledger, optional

    Returns
    -------
    SynthesisResult

    Examples
    --------
    >>> from raikit.datasets import load_german_credit
    >>> from raikit.privacy import synthesize
    >>> ds = load_german_credit()
    >>> numeric = [c for c in ds.frame.columns if ds.frame[c].dtype.kind in "iuf"]
    >>> bounds = {c: (0, 20_000) if c == "credit_amount" else (0, 80) for c in numeric}
    >>> result = synthesize(ds, epsilon=5.0, bounds=bounds, random_state=0)
    >>> result.data.shape[1] == len(ds.feature_names) + len(ds.sensitive_names) + 1
    True
    """
    from raikit.privacy._table import _check_epsilon, _fit_scale, _opendp

    epsilon = _check_epsilon(epsilon)
    if method != "star":
        raise DataError(f"method must be 'star', got {method!r}.")
    if int(bins) < 2:
        raise DataError(f"bins must be at least 2, got {bins!r}.")
    bounds = dict(bounds or {})
    rng = np.random.default_rng(random_state)
    frame = ds.frame
    hub_names = [ds.target, *ds.sensitive_names]
    others = [c for c in ds.feature_names if c not in hub_names]
    columns = [*others, *hub_names]

    encoded = {}
    for name in columns:
        series = frame[name]
        if name == ds.target and not isinstance(series.dtype, pd.CategoricalDtype):
            if ds.task == "regression":
                raise DataError(
                    "synthesize needs a classification target (its labels form the hub)."
                )
            # The label set of a classification task is treated as public.
            series = series.astype(pd.CategoricalDtype(np.unique(series.dropna())))
        # A missing level only where the dtype can hold missing values (public information).
        can_miss = not (name == ds.target or series.dtype == bool or series.dtype.kind in "iu")
        encoded[name] = _discretise(series, name, bounds, int(bins), missing=can_miss)
    hub_sizes = [len(encoded[n][1]) for n in hub_names]
    n_hub = int(np.prod(hub_sizes))
    hub = np.zeros(len(frame), dtype=np.int64)
    for name, size in zip(hub_names, hub_sizes, strict=True):
        hub = hub * size + encoded[name][0]

    dp = _opendp()
    frame_domain = dp.user_domain("RaikitSynthFrame", lambda value: isinstance(value, dict))
    metric = dp.symmetric_distance()
    cell_domain = dp.vector_domain(dp.atom_domain(T=dp.i64))
    queries = [(None, n_hub)] + [(c, n_hub * len(encoded[c][1])) for c in others]

    def counter(column, size):
        def cells(data):
            if column is None:
                return data["hub"].copy()
            return data["hub"] * len(encoded[column][1]) + data[column]

        return dp.t.make_user_transformation(
            frame_domain, metric, cell_domain, metric, cells, lambda d_in: d_in
        ) >> dp.t.then_count_by_categories(categories=list(range(size)), null_category=False)

    transforms = [counter(column, size) for column, size in queries]

    def build(scale):
        return dp.c.make_composition([t >> dp.m.then_laplace(scale) for t in transforms])

    scale, measurement = _fit_scale(build, epsilon)
    spent = float(measurement.map(1))
    private = {"hub": hub, **{c: encoded[c][0] for c in others}}
    released = measurement(private)

    hub_counts = np.clip(np.asarray(released[0], dtype=float), 0, None)
    total = max(round(float(hub_counts.sum())), 1)
    size = int(n_rows) if n_rows is not None else total
    hub_p = hub_counts / hub_counts.sum() if hub_counts.sum() > 0 else np.full(n_hub, 1 / n_hub)
    synthetic_hub = rng.choice(n_hub, size=size, p=hub_p)
    codes = {}
    for column, counts in zip(others, released[1:], strict=True):
        levels = len(encoded[column][1])
        table = np.clip(np.asarray(counts, dtype=float), 0, None).reshape(n_hub, levels)
        fallback = table.sum(axis=0) + 1e-12
        empty = table.sum(axis=1) <= 0
        table[empty] = fallback
        cdf = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
        draw = rng.random(size)
        codes[column] = np.minimum((draw[:, None] > cdf[synthetic_hub]).sum(axis=1), levels - 1)
    rest = synthetic_hub
    for name, levels in zip(reversed(hub_names), reversed(hub_sizes), strict=True):
        codes[name] = rest % levels
        rest = rest // levels

    data = pd.DataFrame(
        {
            name: _decode(codes[name], encoded[name][1], encoded[name][2], frame[name], rng)
            for name in frame.columns
            if name in encoded
        }
    )
    data[ds.target] = data[ds.target].astype(frame[ds.target].dtype)
    marginals, pairs = _fidelity(encoded, codes, columns, ds, frame)
    utility = _utility(ds, data, test, random_state)
    findings = []
    worst = marginals[marginals["attribute"] != "overall"].nlargest(1, "tvd")
    if len(worst) and worst["tvd"].iloc[0] > 0.2:
        row = worst.iloc[0]
        findings.append(
            Finding(
                "warning",
                "A group's synthetic marginal is far from the real one",
                f"Column {row['column']} in {row['attribute']}={row['group']} has TVD "
                f"{row['tvd']:.3f}: small groups get more relative noise; raise epsilon or use "
                "fewer bins.",
                slice=f"{row['attribute']}={row['group']}",
            )
        )
    result = SynthesisResult(
        data=data,
        marginals=marginals,
        pairs=pairs,
        utility=utility,
        epsilon=spent,
        noise_scale=float(scale),
        method=method,
        findings=tuple(findings),
    )
    from raikit.ledger import record

    record(
        result,
        check="privacy.synthesize",
        ledger=ledger,
        dataset=ds,
        params={"epsilon": epsilon, "method": method, "bins": int(bins), "n_rows": size},
    )
    return result


def _fidelity(encoded, codes, columns, ds, frame):
    rows = []
    for name in columns:
        levels = len(encoded[name][1])
        rows.append(("overall", "all", name, _tvd(encoded[name][0], codes[name], levels)))
        for attribute in ds.sensitive_names:
            real_g, syn_g = encoded[attribute][0], codes[attribute]
            for g, label in enumerate(encoded[attribute][1]):
                real, syn = encoded[name][0][real_g == g], codes[name][syn_g == g]
                if len(real) and len(syn):
                    rows.append((attribute, str(label), name, _tvd(real, syn, levels)))
    marginals = pd.DataFrame(rows, columns=["attribute", "group", "column", "tvd"])
    pair_rows = []
    for i, a in enumerate(columns):
        for b in columns[i + 1 :]:
            nb = len(encoded[b][1])
            size = len(encoded[a][1]) * nb
            real = encoded[a][0] * nb + encoded[b][0]
            syn = codes[a] * nb + codes[b]
            pair_rows.append((a, b, _tvd(real, syn, size)))
    pairs = pd.DataFrame(pair_rows, columns=["column_a", "column_b", "tvd"])
    return marginals, pairs


def _utility(ds, data, test, random_state) -> pd.DataFrame:
    from sklearn.ensemble import HistGradientBoostingClassifier

    holdout = test if test is not None else ds
    features = [c for c in ds.feature_names if c in data.columns]
    X_test = holdout.frame[features]
    y_test = holdout.frame[ds.target].to_numpy()
    rows = []
    for source, train in (("real", ds.frame), ("synthetic", data)):
        y = train[ds.target].to_numpy()
        if len(np.unique(y)) < 2:
            continue
        X = train[features].copy()
        for c in features:
            if isinstance(ds.frame[c].dtype, pd.CategoricalDtype):
                X[c] = X[c].astype(ds.frame[c].dtype)
            else:
                X[c] = X[c].astype(float)
        model = HistGradientBoostingClassifier(
            categorical_features="from_dtype", random_state=random_state
        ).fit(X, y)
        correct = pd.Series(model.predict(X_test) == y_test)
        rows.append((source, "overall", "all", float(correct.mean()), len(correct)))
        for attribute in ds.sensitive_names:
            by = correct.groupby(holdout.frame[attribute].to_numpy(), observed=True)
            stats = by.agg(["mean", "size"])
            rows += [
                (source, attribute, str(g), float(m), int(n))
                for g, m, n in zip(stats.index, stats["mean"], stats["size"], strict=True)
            ]
    return pd.DataFrame(rows, columns=["train_on", "attribute", "group", "accuracy", "n"])
