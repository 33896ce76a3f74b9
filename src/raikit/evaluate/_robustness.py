"""``stress_test``: how predictions and accuracy move under small perturbations of the inputs, and
(with an unfitted estimator) under label-flip poisoning of the training set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import DataError
from raikit._result import Finding, Result
from raikit.metrics._stats import check_ci, wilson_interval, z_value

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
        raise DataError(f"Unknown perturbation {kind!r}.")
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


def stress_test(
    model,
    ds,
    *,
    estimator=None,
    noise: Sequence[float] = (0.01, 0.05, 0.1),
    swap_rate: Sequence[float] = (0.01, 0.05, 0.1),
    missing_rate: Sequence[float] = (0.01, 0.05, 0.1),
    poison_rates: Sequence[float] = (0.0, 0.05, 0.1, 0.15, 0.2),
    train: object | None = None,
    pos_label=None,
    ci: float = 0.95,
    n_boot: int = 500,
    random_state: int | None = 0,
    progress: Callable[[int, int], None] | None = None,
    ledger=None,
) -> StressTestResult:
    """Stress a classifier: perturb its inputs, and (optionally) poison its training labels.

    Parameters
    ----------
    model : fitted classifier
        Evaluated on ``ds`` as is and under each perturbation.
    ds : Dataset
        Labelled test data with sensitive attributes.
    estimator : unfitted estimator, optional
        When given, it is fitted on ``train`` (or on a 70% split of ``ds``) with a growing share of
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
    ci : float, default 0.95
        Confidence level of the poisoning metrics' bootstrap intervals.
    n_boot : int, default 500
    random_state : int, optional
    progress : callable, optional
        ``progress(done, total)`` after each step.
    ledger : raikit.ledger.Ledger, optional

    Returns
    -------
    StressTestResult

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit()
    >>> ds = ds.replace(features=["duration_months", "credit_amount", "age"])
    >>> model = LogisticRegression(max_iter=1000).fit(ds.X, ds.y)
    >>> r = stress_test(model, ds, noise=[0.0], swap_rate=[], missing_rate=[])
    >>> float(r.perturbations["flip_rate"].max())
    0.0
    """
    from raikit.metrics import group_metrics
    from raikit.metrics._group_metrics import resolve_pos_label

    if not hasattr(model, "predict"):
        raise DataError(f"model must be a fitted classifier with predict, got {model!r}.")
    level = f"{check_ci(ci):.0%} CI" if ci is not None else "CI"
    positive = None
    ds = ds.for_model(model)
    for name, levels in (
        ("noise", noise),
        ("swap_rate", swap_rate),
        ("missing_rate", missing_rate),
        ("poison_rates", poison_rates),
    ):
        bad = [v for v in levels if not 0 <= v <= (1 if name != "noise" else 10)]
        if bad:
            raise DataError(f"{name} values must be shares in [0, 1], got {bad}.")
    if any(r > 0.5 for r in poison_rates):
        raise DataError("Poisoning more than half of the labels inverts them; keep rates <= 0.5.")
    rng = np.random.default_rng(random_state)
    X = ds.X
    y = ds.y.to_numpy()
    base = np.asarray(model.predict(X))
    correct = (base == y).astype(float)
    slice_attr, slice_group, codes, n_slices = _group_codes(ds)

    def per_slice(values: np.ndarray) -> np.ndarray:
        out = np.zeros(n_slices)
        for c in codes:  # one bincount per attribute family
            out += np.bincount(c, weights=values, minlength=n_slices)
        return out

    n = per_slice(np.ones(len(y)))
    plan = [("numeric_noise", v) for v in noise] + [("categorical_swap", v) for v in swap_rate]
    plan += [("missing_values", v) for v in missing_rate]
    total = len(plan) + len(poison_rates if estimator is not None else [])
    rows, failures = [], []
    done = 0
    for kind, level in plan:  # a handful of perturbations, each vectorised over rows
        perturbed = _perturb(X, kind, level, rng)
        try:
            pred = np.asarray(model.predict(perturbed))
        except Exception as error:  # the model rejects the input (e.g. NaN): report, not crash
            failures.append((kind, level, f"{type(error).__name__}: {error}"[:300]))
            done += 1
            if progress:
                progress(done, total)
            continue
        flips = (pred != base).astype(float)
        new_correct = (pred == y).astype(float)
        d = correct - new_correct
        k = per_slice(flips)
        acc = per_slice(correct) / n
        acc2 = per_slice(new_correct) / n
        mean_d = per_slice(d) / n
        var_d = np.maximum(per_slice(d * d) / n - mean_d**2, 0) * n / np.maximum(n - 1, 1)
        half = z_value(ci) * np.sqrt(var_d / n)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = k / n
        flip_lower, flip_upper = wilson_interval(k, n, ci=ci)
        for i in range(n_slices):  # rows of the output table (groups), not data rows
            rows.append(
                (
                    kind,
                    level,
                    slice_attr[i],
                    slice_group[i],
                    int(n[i]),
                    p[i],
                    flip_lower[i],
                    flip_upper[i],
                    acc[i],
                    acc2[i],
                    mean_d[i],
                    mean_d[i] - half[i],
                    mean_d[i] + half[i],
                )
            )
        done += 1
        if progress:
            progress(done, total)
    perturbations = pd.DataFrame(
        rows,
        columns=[
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
        ],
    )
    failure_frame = pd.DataFrame(failures, columns=["perturbation", "level", "error"])

    poisoning = pd.DataFrame(
        columns=["poison_rate", "attribute", "group", "metric", "value", "lower", "upper"]
    )
    disparity = pd.DataFrame(
        columns=["poison_rate", "attribute", "metric", "value", "lower", "upper"]
    )
    if estimator is not None:
        from sklearn.base import clone

        if train is None:
            train_ds, test_ds = ds.split(0.3, random_state=random_state)
        else:
            train_ds, test_ds = train.for_model(model), ds
        train_ds.check_binary_target()
        y_train = train_ds.y.to_numpy()
        labels = np.sort(pd.unique(y_train))
        seen = pd.unique(np.concatenate([y_train, test_ds.y.to_numpy()]).astype(object))
        positive = resolve_pos_label(seen[pd.notna(seen)], pos_label)
        order = rng.permutation(len(y_train))
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
                random_state=random_state,
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
            done += 1
            if progress:
                progress(done, total)
        poisoning = pd.concat(tables, ignore_index=True)
        disparity = pd.concat(disparities, ignore_index=True)
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
    for row in failure_frame.itertuples(index=False):
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
    result = StressTestResult(
        perturbations=perturbations,
        poisoning=poisoning,
        disparity=disparity,
        failures=failure_frame,
        meta={"n_rows": len(y), "random_state": random_state, "pos_label": positive},
        findings=tuple(findings),
    )
    from raikit.ledger import record

    record(
        result,
        check="evaluate.stress_test",
        ledger=ledger,
        dataset=ds,
        model=model,
        params={
            "noise": list(noise),
            "swap_rate": list(swap_rate),
            "missing_rate": list(missing_rate),
            "poison_rates": list(poison_rates) if estimator is not None else [],
            "pos_label": positive,
            "random_state": random_state,
        },
    )
    return result
