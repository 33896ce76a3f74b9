"""``stress_test``: how predictions and accuracy move under small perturbations of the inputs, and
(with an unfitted estimator) under label-flip poisoning of the training set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import CI, RANDOM_STATE, Interval, check_dataset, rng_from, validate_params
from raikit.evaluate._learning_curve import unfitted_estimator
from raikit.metrics._stats import wilson_interval, z_value

__all__ = ["StressTestResult", "stress_test"]


def _numeric_columns(X: pd.DataFrame) -> list[str]:
    return [
        c
        for c in X.columns
        if pd.api.types.is_numeric_dtype(X[c].dtype) and not pd.api.types.is_bool_dtype(X[c].dtype)
    ]


def _perturb(X: pd.DataFrame, kind: str, level: float, rng: np.random.Generator) -> pd.DataFrame:
    out = X.copy()
    n = len(X)
    numeric = _numeric_columns(X)
    if kind == "numeric_noise":
        for c in numeric:  # loop over columns, vectorised over rows
            x = X[c].to_numpy(dtype=float, na_value=np.nan)
            noisy = x + rng.normal(0.0, level * np.nanstd(x), n)
            if pd.api.types.is_integer_dtype(X[c].dtype):
                noisy = np.round(noisy)  # stays on the integer grid (as float, NaN-safe)
            out[c] = noisy
    elif kind == "categorical_swap":
        for c in X.columns:
            if c in numeric:
                continue
            values = X[c]
            pool = values.dropna().to_numpy()
            if len(pool) == 0:
                continue
            swap = rng.random(n) < level
            replacement = pool[rng.integers(0, len(pool), int(swap.sum()))]
            column = values.copy()
            if isinstance(values.dtype, pd.CategoricalDtype):
                column = column.astype(values.dtype)
            column.iloc[np.flatnonzero(swap)] = replacement
            out[c] = column
    elif kind == "missing_values":
        for c in X.columns:
            hole = rng.random(n) < level
            if pd.api.types.is_integer_dtype(X[c].dtype) or pd.api.types.is_bool_dtype(X[c].dtype):
                column = X[c].astype(float)
            else:
                column = X[c].copy()
            column[hole] = np.nan
            out[c] = column
    else:  # pragma: no cover - guarded by the caller
        raise ParameterError(f"stress_test(): unknown perturbation {kind!r} in perturbations.")
    return out


@dataclass(frozen=True, eq=False)
class StressTestResult(Result):
    """Flip rate and accuracy drop under perturbations; accuracy and disparity under poisoning.

    Attributes
    ----------
    perturbations : DataFrame
        One row per (perturbation, level, attribute, group): ``n``, ``flip_rate`` with a Wilson
        interval ``flip_lower``/``flip_upper`` at ``ci``, ``accuracy``, ``perturbed_accuracy`` and
        ``accuracy_drop`` with a paired normal interval ``drop_lower``/``drop_upper`` at ``ci``.
    poisoning : DataFrame
        One row per (poison_rate, attribute, group, metric) from
        :func:`raikit.metrics.group_metrics` on the test split: ``value``, ``lower``, ``upper``.
    disparity : DataFrame
        One row per (poison_rate, attribute, metric): the largest between-group difference with its
        interval.
    failures : DataFrame
        Perturbations the model could not process (e.g. missing values), with the error.
    findings : tuple of Finding
    meta : dict
        Settings: the perturbations, the attacks and the random seed.

    See Also
    --------
    stress_test : computes it.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.evaluate import stress_test
    >>> ds = make_fairness_synthetic(300, random_state=0)
    >>> model = LogisticRegression().fit(ds.X, ds.y)
    >>> r = stress_test(model, ds, noise=[0.0], swap_rate=[], missing_rate=[], random_state=0)
    >>> float(r.perturbations["flip_rate"].max())  # no noise, no flips
    0.0
    """

    perturbations: pd.DataFrame
    poisoning: pd.DataFrame
    disparity: pd.DataFrame
    failures: pd.DataFrame
    meta: dict = field(default_factory=dict)
    findings: tuple = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        p = self.perturbations
        overall = p[p["attribute"] == "overall"]
        text = "No perturbation could be run."
        if len(overall):
            worst = overall.loc[overall["flip_rate"].idxmax()]
            text = (
                f"Worst flip rate {worst['flip_rate']:.3f} under {worst['perturbation']} "
                f"(level {worst['level']:g}), accuracy drop {worst['accuracy_drop']:.3f}"
            )
            if self.meta.get("perturbed_rows", self.meta.get("n_rows")) != self.meta.get("n_rows"):
                from raikit._sampling import sampling_note

                text += f" ({sampling_note(self.meta['perturbed_rows'], self.meta['n_rows'])})"
        if len(self.poisoning):
            acc = self.poisoning[
                (self.poisoning["attribute"] == "overall")
                & (self.poisoning["metric"] == "accuracy")
            ]
            text += (
                f"; poisoning {acc['poison_rate'].max():.0%} of training labels moves accuracy "
                f"from {acc['value'].iloc[0]:.3f} to {acc['value'].iloc[-1]:.3f}"
            )
            if self.meta.get("pos_label") is not None:
                text += f" (positive label {self.meta['pos_label']!r})"
        return text + "."

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit.evaluate._figures import error_bars

        figures = []
        p = self.perturbations
        for kind, part in p.groupby("perturbation", sort=False):  # one figure per perturbation
            for column, low, high, label in (
                ("flip_rate", "flip_lower", "flip_upper", "flip rate"),
                ("accuracy_drop", "drop_lower", "drop_upper", "accuracy drop"),
            ):
                fig = go.Figure()
                for level, lv in part.groupby("level", sort=True):
                    fig.add_trace(
                        go.Bar(
                            x=lv[column],
                            y=lv["attribute"] + ": " + lv["group"].astype(str),
                            orientation="h",
                            name=f"level {level:g}",
                            error_x=error_bars(lv[column], lv[low], lv[high]),
                        )
                    )
                fig.update_layout(
                    title=f"{label} under {kind.replace('_', ' ')} (95% CI)",
                    barmode="group",
                    yaxis={"autorange": "reversed"},
                    height=max(300, 18 * len(part) + 140),
                )
                figures.append(fig)
        if len(self.poisoning):
            acc = self.poisoning[self.poisoning["metric"] == "accuracy"]
            fig = go.Figure()
            for (attribute, group), part in acc.groupby(["attribute", "group"], sort=False):
                fig.add_trace(
                    go.Scatter(
                        x=part["poison_rate"],
                        y=part["value"],
                        mode="lines+markers",
                        name="overall" if attribute == "overall" else f"{attribute}: {group}",
                        error_y=error_bars(part["value"], part["lower"], part["upper"]),
                    )
                )
            fig.update_layout(
                title="Accuracy against the share of poisoned (flipped) training labels (95% CI)",
                xaxis_title="poisoned share of training labels",
                yaxis_title="accuracy",
                xaxis_tickformat=".0%",
            )
            figures.append(fig)
            fig = go.Figure()
            for (attribute, metric), part in self.disparity.groupby(
                ["attribute", "metric"], sort=False
            ):
                fig.add_trace(
                    go.Scatter(
                        x=part["poison_rate"],
                        y=part["value"],
                        mode="lines+markers",
                        name=f"{metric} / {attribute}",
                        error_y=error_bars(part["value"], part["lower"], part["upper"]),
                    )
                )
            fig.update_layout(
                title="Largest between-group difference against the poisoned share (95% CI)",
                xaxis_title="poisoned share of training labels",
                yaxis_title="difference between groups",
                xaxis_tickformat=".0%",
            )
            figures.append(fig)
        return figures


def _group_codes(ds):
    from raikit.evaluate._evaluate import _families

    return _families(ds)


def _has_predict(value) -> bool:
    """a fitted classifier with predict"""
    return hasattr(value, "predict")


def _levels(high: float, doc: str) -> Callable:
    def accepts(value) -> bool:
        try:
            values = [float(v) for v in value]
        except (TypeError, ValueError):
            return False
        return not isinstance(value, str) and all(0 <= v <= high for v in values)

    accepts.__doc__ = doc
    return accepts


@recorded("evaluate.stress_test")
@validate_params(
    model=_has_predict,
    estimator=[unfitted_estimator, None],
    noise=_levels(10, "a list of noise levels in [0, 10] (shares of each column's std)"),
    swap_rate=_levels(1, "a list of shares in [0, 1]"),
    missing_rate=_levels(1, "a list of shares in [0, 1]"),
    poison_rates=_levels(0.5, "a list of shares in [0, 0.5] (more than half inverts the labels)"),
    ci=[CI, None],
    n_boot=Interval(int, 1, None),
    max_rows=[Interval(int, 100, None), None],
    random_state=RANDOM_STATE,
)
def stress_test(
    model,
    data,
    *,
    estimator=None,
    noise: Sequence[float] = (0.01, 0.05, 0.1),
    swap_rate: Sequence[float] = (0.01, 0.05, 0.1),
    missing_rate: Sequence[float] = (0.01, 0.05, 0.1),
    poison_rates: Sequence[float] = (0.0, 0.05, 0.1, 0.15, 0.2),
    train=None,
    pos_label=None,
    ci: float | None = 0.95,
    n_boot: int = 1000,
    max_rows: int | None = None,
    random_state=None,
    progress: Callable[[int, int], None] | None = None,
    ledger=None,
) -> StressTestResult:
    """Stress a classifier: perturb its inputs, and (optionally) poison its training labels.

    Parameters
    ----------
    model : fitted classifier
        Evaluated on ``data`` as is and under each perturbation.
    data : Dataset
        Labelled test data with sensitive attributes.
    estimator : unfitted estimator, optional
        When given, it is fitted on ``train`` (or on a 70% split of ``data``) with a growing share of
        training labels flipped (``poison_rates``) and evaluated on the rest.
    noise : list of float
        Gaussian noise on numeric features, as a fraction of each column's standard deviation.
    swap_rate : list of float
        Share of values of each non-numeric feature replaced by a random draw from the column.
    missing_rate : list of float
        Share of values of every feature set to missing.
    poison_rates : list of float
        Shares of training labels flipped (0 to 0.2 by default).
    train : Dataset, optional
        Training data for the poisoning experiment.
    pos_label : optional
        The positive label of the poisoning metrics (selection, true- and false-positive rates).
        Inferred only for 0/1, False/True and -1/1 labels; other labels need it when
        ``estimator`` is given. Reported in ``meta["pos_label"]``.
    ci : float or None, default 0.95
        Confidence level of the flip-rate (Wilson), accuracy-drop (paired normal) and poisoning
        (bootstrap) intervals; ``None`` computes no intervals.
    n_boot : int, default 1000
        Bootstrap replicates of the poisoning metrics.
    max_rows : int, optional
        Perturb at most this many rows of ``data``: a larger ``data`` is replaced by a sample
        stratified by the intersection of the sensitive attributes that keeps at least 30 rows
        of every group (:meth:`raikit.Dataset.sample`). Each row then counts with its stratum's
        weight (population / sampled), and the intervals use the weighted rows' effective size
        (Kish), so they widen with the sampling. ``meta["sampling"]`` and the summary say so.
        ``None`` (the default) perturbs every row. A lazy Dataset (files, Spark) is sampled
        where its rows live: only the sample is loaded (all of it when it has at most
        ``max_rows`` rows). The poisoning experiment is not sampled.
    random_state : int, Generator or None, default None
        Seed of the perturbations, the sample, the split and the poisoning; ``None`` draws a fresh seed,
        recorded in the ledger.
    progress : callable, optional
        ``progress(done, total)`` after each step.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    StressTestResult

    Raises
    ------
    ParameterError
        ``model`` without ``predict``, ``estimator`` without ``fit``, levels outside their range,
        poisoning above half of the labels, a bad ``ci``, ``n_boot`` or ``random_state``.

    See Also
    --------
    raikit.train.flip_labels : the label-flip attacks.
    raikit.train.FRTrainClassifier : training that resists them.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit()
    >>> ds = ds.replace(features=["duration_months", "credit_amount", "age"])
    >>> model = LogisticRegression(max_iter=1000).fit(ds.X, ds.y)
    >>> r = stress_test(model, ds, noise=[0.0], swap_rate=[], missing_rate=[],
    ...                 random_state=0)
    >>> float(r.perturbations["flip_rate"].max())
    0.0
    """
    ds = check_dataset(data, need=["target"], caller="stress_test").for_model(model)
    if train is not None:
        train = check_dataset(train, need=["target"], name="train", caller="stress_test")
    rng = rng_from(random_state)
    plan = [("numeric_noise", v) for v in noise] + [("categorical_swap", v) for v in swap_rate]
    plan += [("missing_values", v) for v in missing_rate]
    total = len(plan) + (len(poison_rates) if estimator is not None else 0)
    step = _Progress(progress, total)
    perturbed = ds  # the rows perturbed: a lazy Dataset's stratified sample drawn where they live
    if max_rows is not None:
        perturbed = ds._rows_for(max_rows, "stress_test()", rng, stratify="sensitive")
    perturbations, failures = _perturbations(model, perturbed, plan, ci, rng, step)
    positive = None
    poisoning = pd.DataFrame(
        columns=["poison_rate", "attribute", "group", "metric", "value", "lower", "upper"]
    )
    disparity = pd.DataFrame(
        columns=["poison_rate", "attribute", "metric", "value", "lower", "upper"]
    )
    if estimator is not None:
        if train is None:
            train_ds, test_ds = ds.split(0.3, random_state=int(rng.integers(2**31)))
        else:
            train_ds, test_ds = train.for_model(model), ds
        poisoning, disparity, positive = _poisoning(
            estimator, train_ds, test_ds, poison_rates, pos_label, ci, n_boot, rng, step
        )
    return StressTestResult(
        perturbations=perturbations,
        poisoning=poisoning,
        disparity=disparity,
        failures=failures,
        meta={
            "n_rows": ds.n_rows,
            "perturbed_rows": perturbed.n_rows,
            "sampling": getattr(perturbed, "sampling", None),
            "random_state": random_state,
            "pos_label": positive,
        },
        findings=tuple(_findings(perturbations, failures, poisoning, ci)),
    )


class _Progress:
    """Counts the steps of the plan and reports ``progress(done, total)`` after each."""

    def __init__(self, callback, total: int) -> None:
        self.callback, self.total, self.done = callback, total, 0

    def __call__(self) -> None:
        self.done += 1
        if self.callback:
            self.callback(self.done, self.total)


_PERTURBATION_COLUMNS = [
    "perturbation",
    "level",
    "attribute",
    "group",
    "n",
    "flip_rate",
    "flip_lower",
    "flip_upper",
    "accuracy",
    "perturbed_accuracy",
    "accuracy_drop",
    "drop_lower",
    "drop_upper",
]


def _perturbations(model, ds, plan, ci, rng, step):
    """Flip rate and accuracy drop per group for each perturbation, and the ones that failed."""
    X = ds.X
    y = ds.y.to_numpy()
    base = np.asarray(model.predict(X))
    correct = (base == y).astype(float)
    slice_attr, slice_group, codes, n_slices = _group_codes(ds)
    w = np.ones(len(y)) if ds.weights is None else ds.weights

    def per_slice(values: np.ndarray) -> np.ndarray:
        out = np.zeros(n_slices)
        for c in codes:  # one bincount per attribute family
            out += np.bincount(c, weights=values, minlength=n_slices)
        return out

    rows = per_slice(np.ones(len(y)))
    total, total_sq = per_slice(w), per_slice(w * w)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = total**2 / total_sq  # Kish's effective size: the rows themselves when unweighted
    parts, failures = [], []
    for kind, level in plan:  # a handful of perturbations, each vectorised over rows
        perturbed = _perturb(X, kind, level, rng)
        try:
            pred = np.asarray(model.predict(perturbed))
        except Exception as error:  # the model rejects the input (e.g. NaN): report, not crash
            failures.append((kind, level, f"{type(error).__name__}: {error}"[:300]))
            step()
            continue
        flips = (pred != base).astype(float)
        new_correct = (pred == y).astype(float)
        d = correct - new_correct
        with np.errstate(divide="ignore", invalid="ignore"):
            p = per_slice(w * flips) / total
            mean_d = per_slice(w * d) / total
            mean_sq = per_slice(w * d * d) / total
        var_d = np.maximum(mean_sq - mean_d**2, 0) * n / np.maximum(n - 1, 1)
        if ci is None:
            half = flip_lower = flip_upper = np.full(n_slices, np.nan)
        else:
            half = z_value(ci) * np.sqrt(var_d / n)
            flip_lower, flip_upper = wilson_interval(p * n, n, ci=ci)
        part = {
            "perturbation": kind,
            "level": level,
            "attribute": slice_attr,
            "group": slice_group,
            "n": rows.astype(np.int64),
            "flip_rate": p,
            "flip_lower": flip_lower,
            "flip_upper": flip_upper,
            "accuracy": per_slice(w * correct) / total,
            "perturbed_accuracy": per_slice(w * new_correct) / total,
            "accuracy_drop": mean_d,
            "drop_lower": mean_d - half,
            "drop_upper": mean_d + half,
        }
        parts.append(pd.DataFrame(part, columns=_PERTURBATION_COLUMNS))
        step()
    perturbations = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=_PERTURBATION_COLUMNS)
    )
    return perturbations, pd.DataFrame(failures, columns=["perturbation", "level", "error"])


def _poisoning(estimator, train_ds, test_ds, poison_rates, pos_label, ci, n_boot, rng, step):
    """Metrics per group (and their largest differences) of models trained on flipped labels."""
    from sklearn.base import clone

    from raikit.metrics import group_metrics
    from raikit.metrics._group_metrics import resolve_pos_label

    train_ds.check_binary_target()
    y_train = train_ds.y.to_numpy()
    labels = np.sort(pd.unique(y_train))
    seen = pd.unique(np.concatenate([y_train, test_ds.y.to_numpy()]).astype(object))
    positive = resolve_pos_label(seen[pd.notna(seen)], pos_label)
    order = rng.permutation(len(y_train))
    boot_seed = int(rng.integers(2**31))  # the same replicates at every rate
    tables, disparities = [], []
    metrics = ["accuracy", "selection_rate", "true_positive_rate", "false_positive_rate"]
    for rate in poison_rates:  # one model fit per poisoning level
        flip = np.zeros(len(y_train), dtype=bool)
        flip[order[: round(rate * len(y_train))]] = True  # nested: 5% is within 10%
        poisoned = np.where(flip, np.where(y_train == labels[0], labels[1], labels[0]), y_train)
        fitted = clone(estimator).fit(train_ds.X, poisoned)
        gm = group_metrics(
            test_ds.y.to_numpy(),
            np.asarray(fitted.predict(test_ds.X)),
            sensitive_features=test_ds.sensitive,
            metrics=metrics,
            ci=ci,
            n_boot=n_boot,
            random_state=boot_seed,
            pos_label=positive,
        )
        table = gm.table[gm.table["metric"] != "count"].copy()
        table.insert(0, "poison_rate", rate)
        tables.append(table)
        diff = gm.difference(bounds=True)
        diff = diff[
            diff["metric"].isin(["selection_rate", "true_positive_rate", "false_positive_rate"])
        ].copy()
        diff.insert(0, "poison_rate", rate)
        disparities.append(diff)
        step()
    return pd.concat(tables, ignore_index=True), pd.concat(disparities, ignore_index=True), positive


def _findings(perturbations, failures, poisoning, ci) -> list:
    level = f"{ci:.0%} CI" if ci is not None else "CI"
    findings = []
    overall = perturbations[perturbations["attribute"] == "overall"]
    for row in overall.itertuples(index=False):  # a few perturbation levels
        if row.flip_lower > 0.05:
            findings.append(
                Finding(
                    "warning",
                    f"Predictions unstable under {row.perturbation} at level {row.level:g}",
                    f"{row.flip_rate:.1%} of predictions flip ({level} from {row.flip_lower:.1%}); "
                    f"accuracy drops by {row.accuracy_drop:.3f}.",
                )
            )
    groups = perturbations[perturbations["attribute"] != "overall"]
    if len(groups):
        by = groups.merge(
            overall[["perturbation", "level", "flip_upper"]].rename(
                columns={"flip_upper": "overall_upper"}
            ),
            on=["perturbation", "level"],
        )
        worse = by[by["flip_lower"] > by["overall_upper"]]
        for row in worse.itertuples(index=False):
            findings.append(
                Finding(
                    "warning",
                    f"{row.attribute}={row.group} is more fragile under {row.perturbation}",
                    f"Flip rate {row.flip_rate:.1%} ({level} {row.flip_lower:.1%} to "
                    f"{row.flip_upper:.1%}) at level {row.level:g}, above the overall interval.",
                    slice=f"{row.attribute}={row.group}",
                )
            )
    for row in failures.itertuples(index=False):
        findings.append(
            Finding(
                "warning",
                f"Model fails under {row.perturbation}",
                f"At level {row.level:g} the model raised {row.error}",
            )
        )
    if len(poisoning):
        acc = poisoning[(poisoning["attribute"] == "overall") & (poisoning["metric"] == "accuracy")]
        clean, worst = acc.iloc[0], acc.iloc[-1]
        if worst["upper"] < clean["lower"]:
            findings.append(
                Finding(
                    "warning",
                    "Accuracy falls under label poisoning",
                    f"Flipping {worst['poison_rate']:.0%} of training labels lowers accuracy from "
                    f"{clean['value']:.3f} to {worst['value']:.3f} (intervals do not overlap).",
                )
            )
    return findings
