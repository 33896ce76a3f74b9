"""Fairness in a team's test suite: :func:`assert_fair` fails a pytest test like ``assert`` does.

It uses the same engine and the same verdict rule as ``raikit check`` (see :mod:`raikit.gates`):
by default a test fails only when the whole confidence interval of the disparity is beyond the
threshold, and a disparity that cannot be measured (fewer than two groups of
``min_group_size`` rows) is never passed silently.
"""

from __future__ import annotations

import warnings

import numpy as np

from raikit._errors import ParameterError, RaikitWarning
from raikit._validation import CI, RANDOM_STATE, Interval, Options, validate_params
from raikit.metrics._stats import MIN_GROUP_SIZE

__all__ = ["assert_fair"]

_DEFAULT_MAX, _DEFAULT_MIN = 0.1, 0.8  # a difference of 0.1; a ratio of four fifths


@validate_params(
    criterion=[str],
    max=[Interval(float, None, None), None],
    min=[Interval(float, None, None), None],
    when=Options("interval", "estimate", "strict"),
    ci=[CI, None],
    n_boot=Interval(int, 2, None),
    random_state=RANDOM_STATE,
    min_group_size=Interval(int, 1, None),
    on_not_assessed=Options("fail", "warn", "pass"),
)
def assert_fair(
    y_true,
    y_pred,
    *,
    sensitive_features,
    criterion: str = "demographic_parity_difference",
    max: float | None = None,
    min: float | None = None,
    when: str = "interval",
    ci: float | None = 0.95,
    n_boot: int = 1000,
    random_state=None,
    pos_label=None,
    sample_weight=None,
    min_group_size: int = MIN_GROUP_SIZE,
    on_not_assessed: str = "warn",
):
    """Raise ``AssertionError`` when predictions break a fairness criterion.

    Every attribute of ``sensitive_features`` (and, with several, their intersection) is
    checked; the message gives the value, its interval, the threshold and the group rates.

    Parameters
    ----------
    y_true, y_pred : array-like
        True and predicted labels.
    sensitive_features : array-like, Series, DataFrame or dict
        Values of the protected attribute(s).
    criterion : str, default "demographic_parity_difference"
        ``<criterion>_difference`` or ``<criterion>_ratio`` for demographic_parity,
        equalized_odds, equal_opportunity, predictive_parity, accuracy_parity,
        treatment_equality (as in a policy file's ``criteria:``).
    max, min : float, optional
        The threshold: give one. Default ``max=0.1`` for a difference, ``min=0.8`` for a ratio.
    when : {"interval", "estimate", "strict"}, default "interval"
        ``interval``: fail only when the whole interval is beyond the threshold (an estimate
        beyond it whose interval straddles it emits a RaikitWarning); ``estimate``: fail when
        the estimate is beyond; ``strict``: fail unless the whole interval is within.
    ci : float or None, default 0.95
        Confidence level of the bootstrap interval (``None``: the estimate alone).
    n_boot : int, default 1000
        Bootstrap replicates.
    random_state : int, Generator or None
        Seed of the bootstrap.
    pos_label : optional
        The positive label (needed unless the labels are 0/1, true/false or -1/1).
    sample_weight : array-like, optional
        Row weights.
    min_group_size : int, default 30
        Fewest rows a group needs to count: with fewer than two such groups an attribute is
        not assessed.
    on_not_assessed : {"fail", "warn", "pass"}, default "warn"
        What a criterion that could not be measured does: fail the test, warn
        (``RaikitWarning``), or pass quietly.

    Returns
    -------
    GateResult
        One row per attribute (when nothing failed).

    Raises
    ------
    AssertionError
        A criterion fails (or could not be assessed, with ``on_not_assessed="fail"``).

    See Also
    --------
    raikit.gates.check : the same verdicts on a whole audit, in CI.

    Examples
    --------
    >>> import numpy as np
    >>> from raikit.testing import assert_fair
    >>> group = np.repeat(["a", "b"], 200)
    >>> y = np.tile([0, 1], 200)
    >>> fair = np.tile([0, 1, 1, 0], 100)          # selection rate 0.5 in both groups
    >>> assert_fair(y, fair, sensitive_features=group, random_state=0).summary
    '1 gate(s): 1 pass, 0 warn, 0 fail; passed.'
    >>> unfair = np.r_[np.ones(200), np.tile([0, 0, 0, 1], 50)]  # 1.0 against 0.25
    >>> assert_fair(y, unfair, sensitive_features=group, random_state=0)
    Traceback (most recent call last):
    ...
    AssertionError: demographic_parity_difference on sensitive = 0.750 [...] (95% CI) is beyond max 0.1: ...
    """
    from raikit._recording import outermost
    from raikit.gates._check import criterion_rows, gate_result
    from raikit.gates._policy import Gate, _criteria
    from raikit.metrics import group_metrics

    known = _criteria()
    if criterion not in known:
        raise ParameterError(
            f"assert_fair(): criterion {criterion!r} is unknown; choose from {list(known)}."
        )
    bound, threshold = _threshold(criterion, max, min)
    gate = Gate(
        "criterion",
        criterion,
        bound,
        threshold,
        when=when,
        path=criterion,
        on_not_assessed=on_not_assessed,
    )
    with outermost():  # a test's assertion, not evidence: nothing is recorded
        result = group_metrics(
            y_true,
            y_pred,
            sensitive_features=sensitive_features,
            sample_weight=sample_weight,
            metrics=list(known[criterion][1]),
            ci=ci,
            n_boot=n_boot,
            random_state=random_state,
            pos_label=pos_label,
            min_group_size=min_group_size,
        )
    gates = gate_result(criterion_rows(result, gate), {"criterion": criterion})
    table = gates.table
    failed = table[table["verdict"] == "fail"]
    if len(failed):
        raise AssertionError(" ".join(_message(row, result) for row in failed.itertuples()))
    for row in table[table["verdict"] == "warn"].itertuples():
        warnings.warn(_message(row, result), RaikitWarning, stacklevel=2)
    return gates


def _threshold(criterion: str, high, low) -> tuple[str, float]:
    if high is not None and low is not None:
        raise ParameterError("assert_fair(): give max or min, not both.")
    if high is None and low is None:
        if criterion.endswith("_ratio"):
            return "min", _DEFAULT_MIN
        return "max", _DEFAULT_MAX
    return ("max", float(high)) if high is not None else ("min", float(low))


def _message(row, result) -> str:
    """What failed, in numbers: the value, its interval, the threshold and each group's rate."""
    if not row.assessed:
        return f"{row.name} on {row.attribute}: {row.why}."
    side = "beyond" if row.verdict == "fail" else "possibly beyond"
    level = f" ({result.ci:.0%} CI)" if result.ci else ""
    rates = ""
    if isinstance(row.metric, str) and row.metric in result.metric_names:
        by_group = result.by_group[row.metric]
        values = by_group[by_group.index.get_level_values("attribute") == row.attribute]
        shown = [f"{group}={value:.3f}" for (_, group), value in values.head(10).items()]
        more = ", ..." if len(values) > 10 else ""
        rates = f"; {row.metric} by group: {', '.join(shown)}{more}"
    value = row.observed if np.isfinite(row.value) else "n/a"
    return (
        f"{row.name} on {row.attribute} = {value}{level} is {side} {row.threshold}: "
        f"{row.why} (when={row.when!r}){rates}."
    )
