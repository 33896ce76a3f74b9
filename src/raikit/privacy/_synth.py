"""Differentially private synthetic data from noisy marginals released with OpenDP.

Method ``"star"`` (a marginal-based generator in the spirit of MST/PrivBayes): every column is
discretised on a public domain (a categorical's categories, equal-width bins within the public
bounds of a numeric column, plus a "missing" level). The *hub* is the joint cell of the target and
the sensitive attributes. OpenDP releases, in one composed measurement, the hub's marginal and the
2-way marginal of the hub with every other column (Laplace noise on counts, the budget split evenly).
Synthetic rows draw a hub cell, then each column from its noisy conditional given the hub. So every
group-by-label table a fairness study needs (per group, per class) is preserved; dependence
between two non-hub columns only flows through the hub.

The release is charged to the data source's odometer (see :class:`~raikit.privacy.PrivacySource`)
before it is computed, and everything :func:`synthesize` returns (hence everything written to the
ledger, to JSON and to HTML) is computed from the DP release alone: the synthetic rows, the noisy
counts per group and class, and how closely the rows follow the release. Comparisons with the real
data are not DP; :func:`synthesis_utility` computes them as a separate, private report that is
never recorded nor exported.

OpenDP's own MST/AIM (``opendp[mbi]``) would need jax and a polars 1.x pin that conflicts with ours,
so it is not used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import (
    RANDOM_STATE,
    Interval,
    Options,
    check_dataset,
    rng_from,
    validate_params,
)
from raikit.privacy._conditional import (
    MISSING_LEVEL,
    Release,
    draw_codes,
    draw_hub,
    group_fidelity,
    slice_findings,
    slices_of,
)
from raikit.privacy._source import check_epsilon, hint
from raikit.privacy._table import open_source

__all__ = ["SynthesisResult", "synthesis_utility", "synthesize"]

_MISSING = MISSING_LEVEL


@dataclass(frozen=True, eq=False)
class SynthesisResult(Result):
    """DP synthetic data and what was released to build it; everything here is DP.

    Attributes
    ----------
    data : DataFrame
        The synthetic rows (same columns and dtypes as the real table).
    released : DataFrame
        The noisy count of every cell of the target x sensitive attributes, as released
        (``count`` may be negative or fractional: it is noise added to a count).
    marginals : DataFrame
        1-way total-variation distance between the synthetic rows and the noisy release, per
        column, ``overall`` and per sensitive group (``attribute``, ``group``): how closely the
        sampling follows the release (not a comparison with the real data).
    epsilon : float
        Privacy loss of the whole release (OpenDP's privacy map), charged to the source.
    noise_scale : float
        Laplace scale of every released count.
    source : str
        The data source whose budget paid for the release.
    groups : DataFrame
        With ``condition=``: the fidelity of every requested group, synthetic rows against the
        noisy release within the group (no extra budget, nothing non-private): ``slice``,
        ``column``, ``tvd`` (1-way), ``pair_tvd`` (the 2-way table with the target),
        ``released_dependence`` / ``synthetic_dependence`` (Cramer's V of the column with the
        target, in the release and in the rows), ``n_synthetic``. Empty without a condition.

    method : str
        How the data were synthesised.
    findings : tuple of Finding
        What the reader should know about the release.

    See Also
    --------
    synthesize : computes it.
    synthesis_utility : compares it with the real data.

    Notes
    -----
    :meth:`sample` draws more rows (of any group) from the same release at no privacy cost.

    Examples
    --------
    >>> import os, tempfile, pandas as pd
    >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()  # a private registry
    >>> from raikit import Dataset
    >>> from raikit.privacy import PrivacySource, synthesize
    >>> _ = PrivacySource.register("synth", epsilon=2.0)
    >>> frame = pd.DataFrame({"s": ["a", "b"] * 100, "y": [0, 1, 1, 0] * 50})
    >>> ds = Dataset(frame, target="y", sensitive="s")
    >>> r = synthesize(ds, source="synth", epsilon=1.0, domains={"s": ["a", "b"], "y": [0, 1]},
    ...                random_state=0)
    >>> r.epsilon, sorted(r.data.columns)
    (1.0, ['s', 'y'])
    >>> os.environ["HOME"] = home
    """

    data: pd.DataFrame
    released: pd.DataFrame
    marginals: pd.DataFrame
    epsilon: float
    noise_scale: float
    source: str = ""
    method: str = "star"
    findings: tuple = ()
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)

    def sample(
        self,
        *,
        condition=None,
        n_rows: int | None = None,
        complete: bool = False,
        random_state=None,
    ):
        """More synthetic rows from the same DP release: post-processing, no budget spent.

        Parameters
        ----------
        condition : dict or DataFrame, optional
            As for :func:`synthesize`: the group(s) to draw rows of.
        n_rows : int, optional
            Rows to draw (per slice with a condition); default the noisy count released.
        complete : bool, default False
            Draw complete rows only: no column takes its missing level (the rows are drawn from
            the release conditioned on every value being present).
        random_state : int, Generator or None, default None
            Seed of the draw.

        Returns
        -------
        DataFrame
            The rows, with the columns and dtypes of ``data``.

        Raises
        ------
        RaikitError
            The result was read back from JSON (the release itself is not stored).
        ParameterError
            A bad condition (see :func:`synthesize`).

        Examples
        --------
        >>> import os, tempfile
        >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()
        >>> import numpy as np
        >>> from raikit.dataset import Dataset
        >>> from raikit.privacy import PrivacySource, synthesize
        >>> rng = np.random.default_rng(0)
        >>> frame = pd.DataFrame({"x": rng.normal(5, 2, 500), "g": rng.choice(["u", "v"], 500)})
        >>> frame["y"] = (frame["x"] > 5).astype(int)
        >>> ds = Dataset(frame, target="y", sensitive=["g"], features=["x"])
        >>> _ = PrivacySource.register("toy-sample", epsilon=1.0)
        >>> result = synthesize(ds, source="toy-sample", epsilon=1.0, domains={"g": ["u", "v"]},
        ...                     bounds={"x": (-5, 15)}, random_state=0)
        >>> rows = result.sample(condition={"g": "v"}, n_rows=30, random_state=1)
        >>> rows["g"].unique().tolist(), len(rows)
        (['v'], 30)
        >>> os.environ["HOME"] = home
        """
        from raikit._errors import RaikitError

        release = getattr(self, "_release", None)
        if release is None:
            raise RaikitError(
                "SynthesisResult.sample(): this result holds no release (it was read back from "
                "JSON); call synthesize again."
            )
        rng = rng_from(random_state)
        slices = None
        if condition is not None:
            slices = slices_of(
                condition, n_rows, release.hub_names, release.levels, "SynthesisResult.sample"
            )
        hub, _, _ = draw_hub(release, slices, n_rows, rng, complete=complete)
        return _rows(release, draw_codes(release, hub, rng, complete=complete), rng)

    @property
    def summary(self) -> str:
        overall = self.marginals[self.marginals["attribute"] == "overall"]["tvd"]
        return (
            f"{len(self.data):,} synthetic rows at epsilon={self.epsilon:.3g} from source "
            f"{self.source!r} (noise scale {self.noise_scale:.3g}); mean 1-way TVD to the noisy "
            f"release {overall.mean():.3f}"
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        overall = self.marginals[self.marginals["attribute"] == "overall"]
        first = go.Figure(go.Bar(x=overall["column"].tolist(), y=overall["tvd"].tolist()))
        first.update_layout(title="1-way distance (TVD), synthetic rows vs the noisy release")
        keys = [c for c in self.released.columns if c != "count"]
        labels = self.released[keys].astype(str).agg(" | ".join, axis=1).tolist()
        second = go.Figure(go.Bar(x=labels, y=self.released["count"].tolist()))
        second.update_layout(title="Noisy released count per cell (" + " x ".join(keys) + ")")
        return [first, second]


def _discretise(series: pd.Series, name: str, bounds, domains, bins: int, *, missing=True):
    """Integer codes on a public domain, the levels, and how to turn codes back into values.

    The domain is declared (``domains``), ``[False, True]`` for booleans, or equal-width bins
    within the declared bounds; never read off the data, pandas categories included. Values
    outside the domain count as missing (or, where missing is impossible, as no cell at all).
    """
    if name in domains or series.dtype == bool:
        categories = list(domains[name]) if name in domains else [False, True]
        codes = pd.Categorical(series, categories=categories).codes.astype(np.int64)
        if not missing:
            return codes, categories, None
        codes = np.where(codes < 0, len(categories), codes)
        return codes, [*categories, _MISSING], None
    if pd.api.types.is_numeric_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype):
        if name not in bounds:
            raise ParameterError(
                f"Numeric column {name!r} has no bounds. Pass {hint('bounds', name)} "
                "chosen from domain knowledge (not from the data)."
            )
        lo, hi = map(float, bounds[name])
        if not lo < hi:
            raise ParameterError(f"bounds[{name!r}] must have lower < upper, got {bounds[name]}.")
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
    raise ParameterError(
        f"Column {name!r} (dtype {series.dtype}) has no declared public domain: pass "
        f"{hint('domains', name)} with its possible values (known without looking at the data), "
        "or leave the column out."
    )


def _decode(codes, levels, edges, original: pd.Series, rng) -> pd.Series:
    if edges is None:
        has_missing = bool(levels) and levels[-1] is _MISSING
        categories = levels[:-1] if has_missing else levels
        missing = codes == len(categories) if has_missing else np.zeros(len(codes), bool)
        values = pd.Categorical.from_codes(np.where(missing, -1, codes), categories=categories)
        if isinstance(original.dtype, pd.CategoricalDtype):
            return pd.Series(values)
        if original.dtype == bool:
            if not missing.any():
                return pd.Series(np.asarray(values, dtype=bool))
            return pd.Series(np.asarray(values, dtype=object)).astype("boolean")
        try:
            return pd.Series(np.asarray(values, dtype=object)).astype(original.dtype)
        except (TypeError, ValueError):
            return pd.Series(np.asarray(values, dtype=object))
    missing = codes == len(levels) - 1 if _MISSING in levels else np.zeros(len(codes), bool)
    safe = np.where(missing, 0, codes)
    values = rng.uniform(edges[safe], edges[safe + 1])
    if pd.api.types.is_integer_dtype(original.dtype):
        # Integers inside the bin, so the synthetic value stays in the bin it was drawn from.
        last = safe == len(edges) - 2
        low = np.ceil(edges[safe])
        high = np.where(last, np.floor(edges[safe + 1]), np.ceil(edges[safe + 1]) - 1)
        inside = high >= low
        picked = low + np.floor(rng.random(len(safe)) * (high - low + 1))
        values = np.where(inside, picked, np.round(values))
        if not missing.any():
            return pd.Series(values.astype(original.dtype))
        return pd.Series(np.where(missing, np.nan, values)).astype("Int64")
    return pd.Series(np.where(missing, np.nan, values))


def _labels(target: pd.Series) -> list:
    """The label set of a classification target (public: the task defines it)."""
    if isinstance(target.dtype, pd.CategoricalDtype):
        return list(target.cat.categories)
    return np.unique(target.dropna().to_numpy()).tolist()


def _tvd(a: np.ndarray, b: np.ndarray, size: int) -> float:
    pa = np.bincount(a, minlength=size) / max(len(a), 1)
    pb = np.bincount(b, minlength=size) / max(len(b), 1)
    return float(0.5 * np.abs(pa - pb).sum())


@recorded("privacy.synthesize")
@validate_params(
    method=Options("star"),
    domains=[dict, None],
    bounds=[dict, None],
    bins=Interval(int, 2, None),
    n_rows=[Interval(int, 1, None), None],
    condition=[dict, pd.DataFrame, None],
    random_state=RANDOM_STATE,
)
def synthesize(
    data,
    *,
    source,
    epsilon: float,
    method: str = "star",
    domains: dict | None = None,
    bounds: dict | None = None,
    bins: int = 10,
    n_rows: int | None = None,
    condition: dict | pd.DataFrame | None = None,
    random_state=None,
    ledger=None,
) -> SynthesisResult:
    """Differentially private synthetic data, charged to the data source's budget.

    Everything returned is computed from the DP release only (the real data is read once, by the
    OpenDP measurement), so the result, its JSON and HTML, and the ledger entry are DP. To
    compare the synthetic rows with the real data, call :func:`synthesis_utility`: its output is
    not DP and must stay with the data's owner.

    Parameters
    ----------
    data : raikit.Dataset
        The private data: its features, sensitive attributes and target are synthesised.
    source : PrivacySource or str
        The registered data source ``data`` comes from; its odometer pays ``epsilon`` before the
        release is computed (refused when the remaining budget is smaller).
    epsilon : float
        Privacy loss of the whole release (pure DP, at the source's privacy unit).
    method : {"star"}
        Noisy hub-to-column 2-way marginals (see the module notes).
    domains : dict, optional
        ``{column: [values...]}``: the public values of every non-numeric, non-boolean column
        (the sensitive attributes included). Never read off the data, pandas categories included.
        The target's label set is taken as public (declare it here to fix it).
    bounds : dict
        ``{column: (lower, upper)}`` public bounds of every numeric column.
    bins : int, default 10
        Bins per numeric column (at least 2).
    n_rows : int, optional
        Rows to generate; default the noisy total count released with the marginals. With a
        ``condition``: rows per requested group (default: the group's noisy count).
    condition : dict or DataFrame, optional
        Generate rows of chosen groups only: ``{"race": "Black", "sex": "Female"}`` (values of
        the sensitive attributes and/or the target), or a DataFrame of groups, one per row, with
        an optional ``n_rows`` column (rows per group; else ``n_rows``, else the group's noisy
        count). The release is the same as without a condition (the whole table's noisy
        marginals, so a condition changes neither the spend nor what is measured); the rows
        are drawn from the noisy cells of the group. A group's size is never read off the data:
        it is what is asked for, or its noisy count. ``result.groups`` reports each group's
        fidelity against the noisy release.
    random_state : int, Generator or None, default None
        Seed of the sampling of the synthetic rows (the noise of the release is OpenDP's own,
        never seeded); ``None`` draws a fresh seed, recorded in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    SynthesisResult

    Raises
    ------
    ParameterError
        ``method``, ``bins``, ``n_rows`` or ``random_state`` outside its domain; ``data`` is not
        a Dataset; ``epsilon`` is not a usable privacy loss; a column has no declared public
        domain or bounds; ``condition`` names a column that is not a sensitive attribute or the
        target, or a value outside its domain (nothing is spent).
    DataError
        The target is not a classification target.
    BudgetExceededError
        The source's remaining budget is smaller than ``epsilon`` (nothing is spent).

    See Also
    --------
    raikit.privacy.synthesis_utility : compares it with the real data.
    raikit.privacy.PrivateTable : DP queries from the same budget.

    Examples
    --------
    >>> import os, tempfile
    >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()  # a private registry
    >>> from raikit.datasets import load_german_credit
    >>> from raikit.privacy import PrivacySource, synthesize
    >>> ds = load_german_credit()
    >>> _ = PrivacySource.register("german-credit", epsilon=6.0)
    >>> frame = ds.frame
    >>> numeric = [c for c in frame.columns if frame[c].dtype.kind in "iuf"]
    >>> bounds = {c: (0, 20_000) if c == "credit_amount" else (0, 80) for c in numeric}
    >>> # The public codebook of the German credit data lists these values:
    >>> domains = {c: list(frame[c].cat.categories) for c in frame.columns
    ...            if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    >>> result = synthesize(ds, source="german-credit", epsilon=5.0, domains=domains,
    ...                     bounds=bounds, random_state=0)
    >>> result.data.shape[1] == len(ds.feature_names) + len(ds.sensitive_names) + 1
    True
    >>> round(PrivacySource.open("german-credit").remaining, 6)
    1.0
    >>> women = synthesize(ds, source="german-credit", epsilon=1.0, domains=domains,
    ...                    bounds=bounds, condition={"sex": "Female"}, n_rows=200, random_state=0)
    >>> women.data["sex"].unique().tolist(), len(women.data)
    (['Female'], 200)
    >>> round(PrivacySource.open("german-credit").remaining, 6)
    0.0
    >>> os.environ["HOME"] = home
    """
    ds = check_dataset(data, need=["target"], caller="synthesize")
    epsilon = check_epsilon(epsilon, hint("epsilon"), caller="synthesize")
    if ds.task == "regression":
        raise DataError("synthesize needs a classification target (its labels form the hub).")
    privacy = open_source(source)
    hub_names = [ds.target, *ds.sensitive_names]
    others = [c for c in ds.feature_names if c not in hub_names]
    if privacy.privacy_unit in [*others, *hub_names]:
        raise DataError(
            f"Column {privacy.privacy_unit!r} identifies the people of source {privacy.name!r}: "
            "it is never released. Leave it out of the features."
        )
    encoded, hub = _encode(ds, privacy, hub_names, others, domains, bounds, bins)
    levels = {name: encoded[name][1] for name in hub_names}
    slices = None  # checked before anything is spent
    if condition is not None:
        slices = slices_of(condition, n_rows, hub_names, levels, "synthesize")
    released, scale, spent = _release(privacy, encoded, hub, hub_names, others, epsilon, method)
    del hub  # nothing below reads the private data: only the release
    hub_names = list(hub_names)
    release = _as_release(ds, released, encoded, hub_names, others, scale)
    rng = rng_from(random_state)
    hub_cells, owner, info = draw_hub(release, slices, n_rows, rng)
    codes = draw_codes(release, hub_cells, rng)
    index = pd.MultiIndex.from_product([release.levels[n] for n in hub_names], names=hub_names)
    released_table = index.to_frame(index=False).assign(count=np.asarray(released[0], float))
    findings = _small_cells(released_table, hub_names, scale) if slices is None else []
    result = SynthesisResult(
        data=_rows(release, codes, rng),
        released=released_table,
        marginals=_release_fidelity(release, codes, ds),
        epsilon=spent,
        noise_scale=float(scale),
        source=privacy.name,
        method=method,
        findings=tuple(findings + (slice_findings(slices, info, scale) if slices else [])),
        groups=pd.DataFrame()
        if slices is None
        else group_fidelity(release, slices, hub_cells, owner, codes),
    )
    object.__setattr__(result, "_release", release)  # for sample(): not serialised
    return result


def _as_release(ds, released, encoded, hub_names, others, scale) -> Release:
    """The DP release as the sampler reads it (nothing below reads the private data)."""
    hub_sizes = [len(encoded[n][1]) for n in hub_names]
    n_hub = int(np.prod(hub_sizes))
    tables = {
        column: np.clip(np.asarray(counts, dtype=float), 0, None).reshape(n_hub, -1)
        for column, counts in zip(others, released[1:], strict=True)
    }
    columns = [c for c in ds.frame.columns if c in encoded]
    return Release(
        hub_names=list(hub_names),
        hub_sizes=hub_sizes,
        others=list(others),
        levels={c: encoded[c][1] for c in encoded},
        edges={c: encoded[c][2] for c in encoded},
        hub_counts=np.clip(np.asarray(released[0], dtype=float), 0, None),
        tables=tables,
        template=ds.frame[columns].iloc[:0].copy(),
        scale=float(scale),
    )


def _rows(release: Release, codes: dict, rng) -> pd.DataFrame:
    """Synthetic values from codes, with the real table's columns and dtypes."""
    return pd.DataFrame(
        {
            name: _decode(
                codes[name], release.levels[name], release.edges[name], release.template[name], rng
            )
            for name in release.template.columns
        }
    )


def _encode(ds, privacy, hub_names, others, domains, bounds, bins):
    """Every released column coded on its public domain, and the hub cell of every row.

    The hub code is -1 for a row whose target or sensitive value lies outside its domain.
    """
    bounds = dict(bounds or {})
    domains = {name: list(values) for name, values in (domains or {}).items()}
    columns = [*others, *hub_names]
    frame = privacy.prepare(
        ds.frame[[c for c in ds.frame.columns if c in columns or c == privacy.privacy_unit]]
    )
    if ds.target not in domains and frame[ds.target].dtype != bool:
        # The label set of a classification task is public (the task defines it).
        domains[ds.target] = _labels(frame[ds.target])
    encoded = {}
    for name in columns:
        series = frame[name]
        # A missing level only where the dtype can hold missing values (public information).
        can_miss = not (name == ds.target or series.dtype == bool or series.dtype.kind in "iu")
        encoded[name] = _discretise(series, name, bounds, domains, int(bins), missing=can_miss)
    hub = np.zeros(len(frame), dtype=np.int64)
    valid = np.ones(len(frame), dtype=bool)
    for name in hub_names:
        valid &= encoded[name][0] >= 0
        hub = hub * len(encoded[name][1]) + encoded[name][0]
    return encoded, np.where(valid, hub, -1)


def _release(privacy, encoded, hub, hub_names, others, epsilon, method):
    """One composed OpenDP measurement of the hub marginal and every hub x column marginal.

    The spend is committed to the source's odometer before the measurement runs (never
    refunded). Returns the noisy counts, the Laplace scale and the epsilon spent.
    """
    from raikit.privacy._table import _fit_scale, _opendp

    dp = _opendp()
    n_hub = int(np.prod([len(encoded[n][1]) for n in hub_names]))
    frame_domain = dp.user_domain("RaikitSynthFrame", lambda value: isinstance(value, dict))
    metric = dp.symmetric_distance()
    cell_domain = dp.vector_domain(dp.atom_domain(T=dp.i64))
    queries = [(None, n_hub)] + [(c, n_hub * len(encoded[c][1])) for c in others]

    def counter(column, size):
        def cells(data):
            if column is None:
                return data["hub"].copy()
            return np.where(
                data["hub"] >= 0, data["hub"] * len(encoded[column][1]) + data[column], -1
            )

        return dp.t.make_user_transformation(
            frame_domain, metric, cell_domain, metric, cells, lambda d_in: d_in
        ) >> dp.t.then_count_by_categories(categories=list(range(size)), null_category=False)

    transforms = [counter(column, size) for column, size in queries]

    def build(scale):
        return dp.c.make_composition([t >> dp.m.then_laplace(scale) for t in transforms])

    scale, measurement = _fit_scale(build, epsilon, privacy.d_in)
    spent = float(measurement.map(privacy.d_in))
    privacy.spend(
        f"synthesize({method}, {len(others) + len(hub_names)} columns)",
        epsilon=spent,
        noise_scale=float(scale),
        mechanism="discrete laplace (marginals)",
    )
    released = measurement({"hub": hub, **{c: encoded[c][0] for c in others}})
    return released, scale, spent


def _small_cells(released_table: pd.DataFrame, hub_names, scale) -> list[Finding]:
    small = released_table[released_table["count"] < 20 * scale]
    if not len(small):
        return []
    return [
        Finding(
            "warning",
            "Some groups are small against the noise",
            f"{len(small)} of {len(released_table)} cells of "
            f"{' x '.join(hub_names)} have a noisy count under 20 noise scales "
            f"({20 * scale:.3g}): their synthetic rows are mostly noise. Raise epsilon or "
            "merge groups.",
        )
    ]


def _release_fidelity(release: Release, codes, ds):
    """1-way TVD between the synthetic codes and the noisy release, overall and per group."""
    shape = tuple(release.hub_sizes)
    hub_names, tables = release.hub_names, release.tables
    hub_cube = release.hub_counts.reshape(shape)
    rows = []

    def tvd(p, q):
        p = p / p.sum() if p.sum() > 0 else p
        q = q / q.sum() if q.sum() > 0 else q
        return float(0.5 * np.abs(p - q).sum())

    def released_marginal(name, axis_keep=None, group=None):
        """Noisy counts of ``name``'s levels, optionally within one sensitive group."""
        if name in tables:
            cube = tables[name].reshape(*shape, -1)
            if axis_keep is not None:
                cube = np.take(cube, [group], axis=axis_keep)
            return cube.reshape(-1, cube.shape[-1]).sum(axis=0)
        axis = hub_names.index(name)
        cube = hub_cube if axis_keep is None else np.take(hub_cube, [group], axis=axis_keep)
        others = tuple(i for i in range(len(shape)) if i != axis)
        return cube.sum(axis=others)

    for name in [*tables, *hub_names]:
        levels = len(release.levels[name])
        synthetic = np.bincount(codes[name], minlength=levels).astype(float)
        rows.append(("overall", "all", name, tvd(released_marginal(name), synthetic)))
        for attribute in ds.sensitive_names:
            axis = hub_names.index(attribute)
            for g, label in enumerate(release.levels[attribute]):
                mask = codes[attribute] == g
                if not mask.any():
                    continue
                synthetic = np.bincount(codes[name][mask], minlength=levels).astype(float)
                release_counts = released_marginal(name, axis, g)
                rows.append((attribute, str(label), name, tvd(release_counts, synthetic)))
    return pd.DataFrame(rows, columns=["attribute", "group", "column", "tvd"])


@validate_params(
    domains=[dict, None],
    bounds=[dict, None],
    bins=Interval(int, 2, None),
    random_state=RANDOM_STATE,
)
def synthesis_utility(
    result: SynthesisResult,
    data,
    *,
    domains=None,
    bounds=None,
    bins=10,
    test=None,
    random_state=None,
) -> dict[str, pd.DataFrame]:
    """PRIVATE: how the synthetic data compares with the real data. Not DP; never share it.

    The numbers are computed on the real data (exact marginals, a model trained on it), so they
    are not differentially private: this report is for the data's owner only. It is a plain dict
    of DataFrames, deliberately not a Result: it is never recorded in a ledger, and the CLI never
    writes it to a file.

    Parameters
    ----------
    result : SynthesisResult
        What :func:`synthesize` returned.
    data : raikit.Dataset
        The real data the synthetic rows stand for.
    domains, bounds, bins
        As given to :func:`synthesize` (the same public discretisation).
    test : raikit.Dataset, optional
        Real rows to score the utility models on (default ``data``).
    random_state : int, Generator or None, default None
        Seed of the utility models.

    Returns
    -------
    dict
        ``"marginals"``: 1-way TVD real vs synthetic per column, overall and per group;
        ``"pairs"``: 2-way TVD per column pair; ``"utility"``: accuracy on real (``test`` or
        ``data``) data of a model trained on real vs on synthetic rows, overall and per group.

    See Also
    --------
    raikit.privacy.synthesize : makes the data it compares.

    Examples
    --------
    >>> import os, tempfile
    >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()  # a private registry
    >>> import numpy as np
    >>> from raikit.dataset import Dataset
    >>> from raikit.privacy import PrivacySource, synthesis_utility, synthesize
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"x": rng.normal(5, 2, 2000), "g": rng.choice(["u", "v"], 2000)})
    >>> frame["y"] = (frame["x"] > 5).astype(int)
    >>> ds = Dataset(frame, target="y", sensitive=["g"], features=["x"])
    >>> _ = PrivacySource.register("toy", epsilon=5.0)
    >>> options = {"domains": {"g": ["u", "v"]}, "bounds": {"x": (-5, 15)}}
    >>> result = synthesize(ds, source="toy", epsilon=5.0, random_state=0, **options)
    >>> report = synthesis_utility(result, ds, random_state=0, **options)  # for the owner only
    >>> sorted(report)
    ['marginals', 'pairs', 'utility']
    >>> bool(report["marginals"].query("attribute == 'overall'")["tvd"].max() < 0.1)
    True
    >>> os.environ["HOME"] = home
    """
    ds = check_dataset(data, need=["target"], caller="synthesis_utility")
    if test is not None:
        check_dataset(test, need=["target"], name="test", caller="synthesis_utility")
    if isinstance(random_state, np.random.Generator | np.random.RandomState):
        random_state = int(rng_from(random_state).integers(2**31))  # scikit-learn wants an int
    domains = {name: list(values) for name, values in (domains or {}).items()}
    bounds = dict(bounds or {})
    hub_names = [ds.target, *ds.sensitive_names]
    columns = [c for c in result.data.columns if c in ds.frame.columns]
    if ds.target not in domains:
        domains[ds.target] = _labels(ds.frame[ds.target])
    for name in columns:
        series = ds.frame[name]
        if name not in domains and isinstance(series.dtype, pd.CategoricalDtype):
            domains[name] = list(series.cat.categories)
    encoded, codes = {}, {}
    for name in columns:
        can_miss = name not in hub_names[:1]
        encoded[name] = _discretise(
            ds.frame[name], name, bounds, domains, int(bins), missing=can_miss
        )
        codes[name] = _discretise(
            result.data[name], name, bounds, domains, int(bins), missing=can_miss
        )[0]
    real = {n: np.where(encoded[n][0] < 0, 0, encoded[n][0]) for n in columns}
    synthetic = {n: np.where(codes[n] < 0, 0, codes[n]) for n in columns}
    marginals, pairs = _fidelity(
        real, synthetic, {n: len(encoded[n][1]) for n in columns}, columns, ds, encoded
    )
    return {
        "marginals": marginals,
        "pairs": pairs,
        "utility": _utility(ds, result.data, test, random_state),
    }


def _fidelity(real, synthetic, sizes, columns, ds, encoded):
    rows = []
    for name in columns:
        levels = sizes[name]
        rows.append(("overall", "all", name, _tvd(real[name], synthetic[name], levels)))
        for attribute in ds.sensitive_names:
            real_g, syn_g = real[attribute], synthetic[attribute]
            for g, label in enumerate(encoded[attribute][1]):
                a, b = real[name][real_g == g], synthetic[name][syn_g == g]
                if len(a) and len(b):
                    rows.append((attribute, str(label), name, _tvd(a, b, levels)))
    marginals = pd.DataFrame(rows, columns=["attribute", "group", "column", "tvd"])
    pair_rows = []
    for i, a in enumerate(columns):
        for b in columns[i + 1 :]:
            nb = sizes[b]
            pair_rows.append(
                (
                    a,
                    b,
                    _tvd(real[a] * nb + real[b], synthetic[a] * nb + synthetic[b], sizes[a] * nb),
                )
            )
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
