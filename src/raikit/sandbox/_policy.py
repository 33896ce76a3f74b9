"""What may leave a sandbox: the export policy and its checks."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from raikit._errors import ParameterError
from raikit._result import Result
from raikit.sandbox._common import PolicyError

__all__ = ["ExportPolicy"]

#: Column names read as "the number of rows behind this line" by the group-size rule.
COUNT_COLUMNS = ("count", "n", "n_rows", "rows", "size", "support", "n_obs", "group_size")
_KEYS = ("min_group_size", "allow_raw_rows", "max_rows", "dp")
_DP_KEYS = ("source", "max_epsilon")


@dataclass(frozen=True)
class ExportPolicy:
    """The data owner's rules for what may leave a sandbox.

    Parameters
    ----------
    min_group_size : int, default 10
        ``k``: no exported table may describe a group of fewer than ``k`` rows (a count column
        such as ``count``/``n``, or the ``count`` metric of a tidy metrics table, between 1 and
        ``k - 1`` refuses the export). 1 turns the rule off.
    allow_raw_rows : bool, default False
        Row-level data may leave. When False (the default), only the Result of a check may be
        exported, and none of its tables or arrays may have one line per row of a table read in
        the session or of a Dataset given to a check (local explanations of the test rows, say),
        nor more than ``max_rows`` lines.
    max_rows : int, optional
        The longest table or array an export may hold.
    dp : dict, optional
        ``{"source": NAME, "max_epsilon": EPS}``: every export must be a differentially private
        release (a :class:`raikit.privacy.PrivateAnswer`, from :meth:`Sandbox.private_table`)
        charged to the registered privacy source ``NAME``, each of at most ``EPS``. Noisy
        answers are exempt from the group-size rule (the noise, not ``k``, protects them).

    Raises
    ------
    ParameterError
        A rule with a value out of its range (``load`` also: an unknown rule).

    See Also
    --------
    raikit.sandbox.open_sandbox : fixes a session's policy when it opens.
    raikit.sandbox.PolicyError : what a refused export raises.
    raikit.sandbox.Sandbox.export : where the policy is checked.

    Examples
    --------
    >>> from raikit.sandbox import ExportPolicy
    >>> policy = ExportPolicy.load({"min_group_size": 20, "dp": {"source": "adult"}})
    >>> policy.min_group_size, policy.dp["source"]
    (20, 'adult')
    >>> ExportPolicy.load({"min_group": 5})
    Traceback (most recent call last):
    ...
    raikit._errors.ParameterError: Export policy: unknown rule 'min_group'; ...
    """

    min_group_size: int = 10
    allow_raw_rows: bool = False
    max_rows: int | None = None
    dp: dict | None = None

    def __post_init__(self) -> None:
        k = self.min_group_size
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ParameterError(
                f"Export policy: min_group_size must be an integer >= 1, got {k!r}."
            )
        if not isinstance(self.allow_raw_rows, bool):
            raise ParameterError(
                f"Export policy: allow_raw_rows must be true or false, got {self.allow_raw_rows!r}."
            )
        if self.max_rows is not None and (
            isinstance(self.max_rows, bool)
            or not isinstance(self.max_rows, int)
            or self.max_rows < 1
        ):
            raise ParameterError(
                f"Export policy: max_rows must be an integer >= 1, got {self.max_rows!r}."
            )
        if self.dp is not None:
            self._check_dp(self.dp)

    @staticmethod
    def _check_dp(dp) -> None:
        if not isinstance(dp, dict) or not isinstance(dp.get("source"), str):
            raise ParameterError(
                "Export policy: dp must be a mapping with the registered privacy source, e.g. "
                f"{{'source': 'adult', 'max_epsilon': 0.5}}; got {dp!r}."
            )
        unknown = sorted(set(dp) - set(_DP_KEYS))
        if unknown:
            raise ParameterError(
                f"Export policy: unknown dp setting {unknown[0]!r}; use {_DP_KEYS}."
            )
        eps = dp.get("max_epsilon")
        if eps is not None and not (
            isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0
        ):
            raise ParameterError(f"Export policy: dp.max_epsilon must be > 0, got {eps!r}.")

    @classmethod
    def load(cls, policy=None) -> ExportPolicy:
        """A policy from ``None`` (the defaults), a mapping, a YAML file or a policy.

        Parameters
        ----------
        policy : ExportPolicy, dict, str or Path, optional

        Returns
        -------
        ExportPolicy

        Raises
        ------
        ParameterError
            An unknown rule or a value out of range.
        """
        if policy is None:
            return cls()
        if isinstance(policy, cls):
            return policy
        if isinstance(policy, (str, Path)):
            import yaml

            try:
                policy = yaml.safe_load(Path(policy).read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise ParameterError(
                    f"Export policy file {str(policy)!r} cannot be read: {exc}"
                ) from None
        if not isinstance(policy, dict):
            raise ParameterError(
                f"Export policy must be a mapping of rules, got {type(policy).__name__}."
            )
        for key in policy:
            if key not in _KEYS:
                raise ParameterError(
                    f"Export policy: unknown rule {key!r}; the rules are {', '.join(_KEYS)}."
                )
        return cls(**policy)

    def to_dict(self) -> dict:
        """The rules as plain JSON values.

        Examples
        --------
        >>> ExportPolicy().to_dict()["min_group_size"]
        10
        """
        return dataclasses.asdict(self)

    # ----------------------------------------------------------------- the checks
    def check(self, obj, *, data_rows=()) -> None:
        """Raise :class:`PolicyError` if ``obj`` may not leave; return None if it may.

        Parameters
        ----------
        obj : Result, DataFrame or other
            What would be exported.
        data_rows : iterable of int
            Row counts of the tables read in the session (a table or array of exactly that many
            lines is row-level data).

        Examples
        --------
        >>> import pandas as pd
        >>> ExportPolicy().check(pd.DataFrame({"age": [31, 45]}))
        Traceback (most recent call last):
        ...
        raikit.sandbox._common.PolicyError: Export refused by rule 'no raw rows': ...
        """
        is_result = isinstance(obj, Result)
        if not is_result and not self.allow_raw_rows:
            raise PolicyError(
                f"Export refused by rule 'no raw rows': a {type(obj).__name__} is not the Result "
                "of a check. Export an aggregate instead: run a check (group_metrics, evaluate, "
                "audit, ...) with Sandbox.run and export its Result."
            )
        if self.dp is not None:
            self._check_private(obj)
        tables = list(_tables(obj, "result" if is_result else "table"))
        if not self.allow_raw_rows or self.max_rows is not None:
            self._check_lengths(tables, {int(n) for n in data_rows if int(n) > 1})
        if self.min_group_size > 1 and not _is_private(obj):
            for where, frame in tables:
                if isinstance(frame, pd.DataFrame):
                    self._check_groups(where, frame)

    def _check_private(self, obj) -> None:
        source, cap = self.dp["source"], self.dp.get("max_epsilon")
        fix = (
            f"answer with Sandbox.private_table(name, source={source!r}, ...) and export that "
            f"differentially private answer (it is charged to {source!r}'s budget)"
        )
        if not _is_private(obj):
            raise PolicyError(
                f"Export refused by rule 'dp': the policy only lets differentially private releases "
                f"leave, and a {type(obj).__name__} is not one. To comply, {fix}."
            )
        if obj.source != source:
            raise PolicyError(
                f"Export refused by rule 'dp': the answer was charged to source {obj.source!r}, "
                f"the policy names {source!r}. To comply, {fix}."
            )
        if cap is not None and obj.epsilon > cap * (1 + 1e-9):
            raise PolicyError(
                f"Export refused by rule 'dp.max_epsilon': the answer spent epsilon="
                f"{obj.epsilon:.4g}, above the policy's {cap:.4g}. Ask again with epsilon <= {cap:.4g}."
            )

    def _check_lengths(self, tables, data_rows: set[int]) -> None:
        for where, frame in tables:
            n = len(frame)
            if not self.allow_raw_rows and n in data_rows:
                raise PolicyError(
                    f"Export refused by rule 'no raw rows': {where} has {n:,} lines, one per row "
                    "of a table read in the sandbox. Export aggregates only (counts, rates, metrics "
                    "per group), e.g. drop per-row arrays from the result."
                )
            if self.max_rows is not None and n > self.max_rows:
                raise PolicyError(
                    f"Export refused by rule 'max_rows': {where} has {n:,} lines, more than the "
                    f"policy's {self.max_rows:,}. Aggregate further before exporting."
                )

    def _check_groups(self, where: str, frame: pd.DataFrame) -> None:
        k = self.min_group_size
        counts = []
        names = set(map(str, frame.columns))
        if {"metric", "value"} <= names and names & {"group", "slice"} and "kind" not in names:
            counts.append(frame.loc[frame["metric"].astype(str) == "count", "value"])
        counts += [frame[c] for c in frame.columns if str(c).lower() in COUNT_COLUMNS]
        for series in counts:
            values = pd.to_numeric(series, errors="coerce")
            small = values[(values > 0) & (values < k)]
            if len(small):
                line = frame.loc[small.index[0]]
                shown = ("attribute", "group") if "group" in frame.columns else ("slice",)
                label = (
                    " ".join(f"{c}={line[c]}" for c in shown if c in frame.columns)
                    or f"line {small.index[0]}"
                )
                raise PolicyError(
                    f"Export refused by rule 'min_group_size' (k={k}): {where} describes "
                    f"{len(small)} group(s) of fewer than {k} rows (e.g. {label}"
                    f" with {float(small.iloc[0]):g}). To comply, merge rare categories or drop the "
                    "attribute (or its intersections) before running the check, use coarser bins "
                    "(curves and calibration tables count rows per bin), or ask the data owner "
                    "for a policy with a smaller min_group_size."
                )


def _is_private(obj) -> bool:
    from raikit.privacy import PrivateAnswer

    return isinstance(obj, PrivateAnswer)


def _tables(obj, where: str):
    """Every table or array inside ``obj`` (fields of results, values of dicts, items of lists),
    with where it sits, e.g. ``result.table`` or ``result.results['bias'].table``."""
    if isinstance(obj, (pd.DataFrame, pd.Series, np.ndarray)):
        yield where, obj
    elif isinstance(obj, Result) and dataclasses.is_dataclass(obj):
        for field in dataclasses.fields(obj):
            yield from _tables(getattr(obj, field.name), f"{where}.{field.name}")
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _tables(value, f"{where}[{key!r}]")
    elif isinstance(obj, (list, tuple)):
        if len(obj) > 1 and not any(isinstance(v, (Result, pd.DataFrame, dict)) for v in obj[:50]):
            yield where, obj
        else:
            for index, value in enumerate(obj):
                yield from _tables(value, f"{where}[{index}]")
