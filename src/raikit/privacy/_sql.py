"""A small SQL front end for PrivateTable: ``SELECT key, AGG(col) FROM t GROUP BY key``."""

from __future__ import annotations

import re

import pandas as pd

from raikit._errors import ParameterError

__all__ = ["parse", "run_sql"]

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<select>.+?)\s+FROM\s+(?P<table>[A-Za-z_][\w]*)"
    r"(?:\s+GROUP\s+BY\s+(?P<group>.+?))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_AGG = re.compile(
    r"^(?P<fn>[A-Za-z_]+)\s*\(\s*(?P<arg>\*|[\w\"]+)\s*(?:,\s*(?P<q>[0-9.]+)\s*)?\)"
    r"(?:\s+AS\s+(?P<alias>\w+))?$",
    re.IGNORECASE,
)
_FUNCTIONS = {
    "COUNT": "count",
    "SUM": "sum",
    "AVG": "mean",
    "MEAN": "mean",
    "VARIANCE": "variance",
    "VAR": "variance",
    "MEDIAN": "median",
    "QUANTILE": "quantile",
}
_GROUPED = {"count", "sum", "mean"}


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [p for p in parts if p]


def _name(token: str) -> str:
    return token.strip().strip('"')


def parse(text: str) -> tuple[list[str], list[tuple]]:
    """The GROUP BY keys of ``text`` and its aggregates as ``(function, column, q, label)``.

    Examples
    --------
    >>> parse("SELECT sex, COUNT(*), AVG(age) AS mean_age FROM t GROUP BY sex")
    (['sex'], [('count', None, None, 'COUNT(*)'), ('mean', 'age', None, 'mean_age')])
    """
    match = _QUERY.match(text)
    if match is None or re.search(r"\b(WHERE|JOIN|HAVING|LIMIT|ORDER)\b", text, re.IGNORECASE):
        raise ParameterError(
            f"sql(): unsupported SQL {text!r}. Supported: SELECT [keys,] AGG(col)[, ...] FROM t "
            "[GROUP BY keys] with AGG in COUNT, SUM, AVG, VARIANCE, MEDIAN, QUANTILE(col, q); "
            "no WHERE/JOIN/HAVING/ORDER/LIMIT."
        )
    keys = [_name(k) for k in _split(match["group"] or "")]
    aggregates = []
    for item in _split(match["select"]):
        agg = _AGG.match(item)
        if agg is None:
            if _name(item) not in keys:
                raise ParameterError(
                    f"sql(): SELECT item {item!r} is neither an aggregate nor a GROUP BY key."
                )
            continue
        fn = _FUNCTIONS.get(agg["fn"].upper())
        if fn is None:
            raise ParameterError(
                f"sql(): aggregate {agg['fn']!r} is not supported; use one of {sorted(_FUNCTIONS)}."
            )
        if keys and fn not in _GROUPED:
            raise ParameterError(
                f"sql(): {agg['fn'].upper()} cannot be grouped; use COUNT, SUM or AVG."
            )
        column = None if agg["arg"] == "*" else _name(agg["arg"])
        if column is None and fn != "count":
            raise ParameterError(f"sql(): {agg['fn'].upper()}(*) needs a column.")
        aggregates.append((fn, column, agg["q"], agg["alias"] or item))
    if not aggregates:
        raise ParameterError(f"sql(): {text!r} has no aggregate (COUNT, SUM, AVG, ...).")
    return keys, aggregates


def run_sql(table, text: str, *, epsilon: float):
    """Parse ``text`` and answer each aggregate with ``epsilon`` split evenly between them."""
    from raikit.privacy._table import BudgetExceededError, PrivateAnswer, _check_epsilon

    epsilon = _check_epsilon(epsilon)
    keys, aggregates = parse(text)
    share = epsilon / len(aggregates)
    if epsilon > table.remaining + 1e-9:
        raise BudgetExceededError(
            f"Query needs epsilon={epsilon:g} but only {table.remaining:.6g} remains."
        )
    answers, spent = [], 0.0
    for fn, column, q, label in aggregates:
        if keys:
            answer = table.group_by(keys, epsilon=share, column=column, agg=fn)
        elif fn == "count":
            answer = table.count(column, epsilon=share)
        elif fn in ("median", "quantile"):
            answer = table.quantile(column, float(q) if q else 0.5, epsilon=share)
        else:
            answer = getattr(table, fn)(column, epsilon=share)
        answers.append(answer.table.assign(aggregate=label))
        spent += answer.epsilon
    frame = pd.concat(answers, ignore_index=True)
    frame = frame[[*keys, "aggregate", "value", "lower", "upper", "noise_scale"]]
    return PrivateAnswer(
        query=" ".join(text.split()),
        table=frame,
        epsilon=spent,
        ci=table.ci,
        mechanism="laplace",
        source=table.source.name,
    )
