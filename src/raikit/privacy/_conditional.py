"""Conditional sampling from a DP marginal release: rows of chosen groups, and how well they follow
the release within each group.

Everything here reads the noisy release only (post-processing), so it costs no privacy budget and
releases nothing about the real data beyond the release itself. A condition may fix the *hub*
columns (the target and the sensitive attributes), whose joint cells the release counts; the
other columns are drawn from their noisy conditionals given the hub cell.

The size of a conditioned group is never read off the data: it is the number of rows asked for,
or (when none is asked for) the group's noisy count in the release.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from raikit._errors import ParameterError
from raikit._grouping import SliceKey
from raikit._result import Finding

_N_ROWS = "n_rows"
MISSING_LEVEL = "<missing>"  # the level of a missing value on a public domain


@dataclass(frozen=True)
class Release:
    """What the sampler needs from one DP release (nothing private)."""

    hub_names: list
    hub_sizes: list
    others: list
    levels: dict  # column -> its public levels
    edges: dict  # column -> bin edges (numeric) or None
    hub_counts: np.ndarray  # noisy hub marginal, clipped at 0
    tables: dict  # column -> noisy (hub cell x level) counts, clipped at 0
    template: pd.DataFrame  # zero rows: the real table's columns and dtypes
    scale: float

    @property
    def n_hub(self) -> int:
        return int(np.prod(self.hub_sizes))

    def coords(self) -> np.ndarray:
        """Level index of every hub column, per hub cell (hub columns x cells)."""
        return np.indices(self.hub_sizes).reshape(len(self.hub_sizes), -1)


def slices_of(condition, n_rows, hub_names, levels, caller: str) -> list[tuple[dict, int | None]]:
    """``condition`` (a dict, or a DataFrame of slices with an optional ``n_rows`` column) as a
    list of ``({column: value}, rows or None)``, checked against the public domains (before any
    budget is spent)."""
    if isinstance(condition, dict):
        if not condition:
            raise ParameterError(f"{caller}(): condition is empty; name at least one column.")
        slices = [(dict(condition), n_rows)]
    elif isinstance(condition, pd.DataFrame):
        keys = [c for c in condition.columns if c != _N_ROWS]
        if not keys or not len(condition):
            raise ParameterError(
                f"{caller}(): condition must have at least one slice column and one row, e.g. "
                f"pd.DataFrame({{'race': ['Black'], 'sex': ['Female'], 'n_rows': [500]}})."
            )
        counts = condition[_N_ROWS] if _N_ROWS in condition.columns else None
        slices = []
        for i in range(len(condition)):
            rows = n_rows if counts is None else counts.iloc[i]
            slices.append(({k: condition[k].iloc[i] for k in keys}, rows))
    else:
        raise ParameterError(
            f"{caller}(): condition must be a dict such as {{'race': 'Black'}} or a DataFrame of "
            f"slices with an optional 'n_rows' column, got {type(condition).__name__}."
        )
    checked = []
    for values, rows in slices:
        for column, value in values.items():
            if column not in hub_names:
                raise ParameterError(
                    f"{caller}(): condition names {column!r}, which is not a sensitive attribute "
                    f"or the target; rows can be conditioned on {hub_names} (the "
                    "columns whose joint counts the release holds)."
                )
            if not any(_same(value, level) for level in levels[column]):
                raise ParameterError(
                    f"{caller}(): condition value {value!r} is not in the public domain of "
                    f"{column!r}: {levels[column]}."
                )
        if rows is not None:
            if isinstance(rows, bool) or not float(rows).is_integer() or int(rows) < 1:
                raise ParameterError(
                    f"{caller}(): n_rows of slice {values} must be a positive integer, got {rows!r}."
                )
            rows = int(rows)
        checked.append((values, rows))
    return checked


def _same(value, level) -> bool:
    try:
        return bool(value == level)
    except (TypeError, ValueError):
        return False


def cell_mask(values: dict, release: Release) -> np.ndarray:
    """Which hub cells belong to the slice ``values``."""
    coords = release.coords()
    mask = np.ones(release.n_hub, dtype=bool)
    for column, value in values.items():
        axis = release.hub_names.index(column)
        level = next(i for i, v in enumerate(release.levels[column]) if _same(value, v))
        mask &= coords[axis] == level
    return mask


def _complete_cells(release: Release) -> np.ndarray:
    """Hub cells where no hub column takes its missing level."""
    coords = release.coords()
    keep = np.ones(release.n_hub, dtype=bool)
    for axis, name in enumerate(release.hub_names):
        levels = release.levels[name]
        if levels and levels[-1] == MISSING_LEVEL:
            keep &= coords[axis] != len(levels) - 1
    return keep


def draw_hub(
    release: Release, slices, n_rows, rng, *, complete: bool = False
) -> tuple[np.ndarray, list, list]:
    """Hub cells of the synthetic rows: the whole table, or each slice's cells (``complete``:
    never a cell with a missing value).

    Returns the cells, the slice index of every row (-1 without a condition) and, per slice, its
    noisy count in the release and whether its rows fell back to uniform cells (no noisy mass).
    """
    counts = release.hub_counts
    allowed = _complete_cells(release) if complete else np.ones(release.n_hub, dtype=bool)
    counts = np.where(allowed, counts, 0.0)
    if slices is None:
        size = int(n_rows) if n_rows is not None else max(round(float(counts.sum())), 1)
        p = counts / counts.sum() if counts.sum() > 0 else np.full(release.n_hub, 1 / release.n_hub)
        return rng.choice(release.n_hub, size=size, p=p), np.full(size, -1), []
    cells, owner, info = [], [], []
    for i, (values, rows) in enumerate(slices):
        mask = cell_mask(values, release) & allowed
        if not mask.any():
            mask = cell_mask(values, release)  # a group of missing values, asked for by name
        mass = np.where(mask, counts, 0.0)
        noisy = float(mass.sum())
        size = rows if rows is not None else max(round(noisy), 1)
        empty = noisy <= 0
        p = mask / mask.sum() if empty else mass / noisy
        cells.append(rng.choice(release.n_hub, size=size, p=p))
        owner.append(np.full(size, i))
        info.append({"noisy_count": noisy, "uniform": empty})
    return np.concatenate(cells), np.concatenate(owner), info


def draw_codes(release: Release, hub: np.ndarray, rng, *, complete: bool = False) -> dict:
    """Codes of every column: the hub columns from the cell, the others from their noisy
    conditionals given the cell (``complete``: never the missing level)."""
    codes = {}
    for column in release.others:
        table = release.tables[column].copy()
        if complete and release.levels[column][-1] == MISSING_LEVEL:
            table[:, -1] = 0.0
        levels = table.shape[1]
        table[table.sum(axis=1) <= 0] = table.sum(axis=0) + 1e-12  # an empty cell: the margin
        cdf = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
        draw = rng.random(hub.size)
        codes[column] = np.minimum((draw[:, None] > cdf[hub]).sum(axis=1), levels - 1)
    rest = hub
    for name, levels in zip(reversed(release.hub_names), reversed(release.hub_sizes), strict=True):
        codes[name] = rest % levels
        rest = rest // levels
    return codes


def slice_label(values: dict) -> str:
    """The slice's one text form (:class:`raikit._grouping.SliceKey`), e.g. ``"sex=F & y=1"``."""
    return str(SliceKey(values))


def _cramers_v(table: np.ndarray) -> float:
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    total = table.sum()
    if total <= 0 or min(table.shape) < 2:
        return 0.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (total * (min(table.shape) - 1))))


def _tvd(p: np.ndarray, q: np.ndarray) -> float:
    p = p / p.sum() if p.sum() > 0 else p
    q = q / q.sum() if q.sum() > 0 else q
    return float(0.5 * np.abs(p - q).sum())


def group_fidelity(release: Release, slices, hub, owner, codes) -> pd.DataFrame:
    """Per slice: 1-way TVD of every column and the (target, column) dependence, synthetic rows
    against the noisy release within the slice. Reads the release and the synthetic rows only."""
    target = release.hub_names[0]
    t_axis_codes = release.coords()[0]
    rows = []
    for i, (values, _) in enumerate(slices):
        mask = cell_mask(values, release)
        mine = owner == i
        label = slice_label(values)
        n_target = release.hub_sizes[0]
        for column in [*release.others, *release.hub_names]:
            if column in values:
                continue
            n_levels = len(release.levels[column])
            synthetic = np.bincount(
                t_axis_codes[hub[mine]] * n_levels + codes[column][mine],
                minlength=n_target * n_levels,
            ).reshape(n_target, n_levels)
            if column in release.tables:
                cube = release.tables[column][mask]  # cells of the slice x levels
                released = np.zeros((n_target, n_levels))
                np.add.at(released, t_axis_codes[mask], cube)
            else:
                axis = release.hub_names.index(column)
                released = np.zeros((n_target, n_levels))
                np.add.at(
                    released,
                    (t_axis_codes[mask], release.coords()[axis][mask]),
                    release.hub_counts[mask],
                )
            rows.append(
                (
                    label,
                    column,
                    _tvd(released.sum(axis=0), synthetic.sum(axis=0).astype(float)),
                    np.nan if column == target else _tvd(released.ravel(), synthetic.ravel()),
                    np.nan if column == target else _cramers_v(released),
                    np.nan if column == target else _cramers_v(synthetic.astype(float)),
                    int(mine.sum()),
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "slice",
            "column",
            "tvd",
            "pair_tvd",
            "released_dependence",
            "synthetic_dependence",
            "n_synthetic",
        ],
    )


def slice_findings(slices, info, scale: float) -> list[Finding]:
    """A warning for every slice whose noisy count is small against the noise."""
    findings = []
    for (values, _), facts in zip(slices, info, strict=True):
        label = slice_label(values)
        if facts["uniform"]:
            findings.append(
                Finding(
                    "warning",
                    f"No released mass for {label}",
                    "The group's noisy count is zero or below: its synthetic rows are spread "
                    "uniformly over the group's cells (labels included) and carry no information "
                    "about it. Raise epsilon or merge groups.",
                    slice=label,
                )
            )
        elif facts["noisy_count"] < 20 * scale:
            findings.append(
                Finding(
                    "warning",
                    f"{label} is small against the noise",
                    f"Its noisy count {facts['noisy_count']:.1f} is under 20 noise scales "
                    f"({20 * scale:.3g}): its synthetic rows are mostly noise. Raise epsilon or "
                    "merge groups.",
                    slice=label,
                )
            )
    return findings
