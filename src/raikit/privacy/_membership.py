"""Membership inference: does the model give away who was in its training data?

Two attacks, both black-box on predicted probabilities:

* **threshold** (Yeom et al., 2018): a row whose true label gets a high probability (a low loss) is
  guessed to be a training member. The attack score is the log-probability of the true label.
* **shadow** (Shokri et al., 2017): a copy of the model is trained on half of some holdout data; an
  attack classifier learns to tell that copy's members from non-members by their probability vector
  and loss, and is then pointed at the real model.

Members and non-members are sampled in equal numbers, so an AUC of 0.5 means no leak. A side
with more than ``max_rows`` rows is attacked on a sample stratified by group (every group keeps
rows), each row weighted by its stratum's population / sampled, so the attack metrics and their
intervals are the whole side's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._sampling import sample_rows
from raikit._validation import (
    CI,
    RANDOM_STATE,
    Interval,
    check_dataset,
    rng_from,
    validate_params,
)

__all__ = ["PrivacyReport", "membership_inference"]

FPR_POINTS = (0.001, 0.01)
_ATTACKS = ("threshold", "shadow")


def _attack_list(value) -> bool:
    """a non-empty list of 'threshold' and/or 'shadow'"""
    return (
        not isinstance(value, str)
        and isinstance(value, Sequence)
        and len(value) > 0
        and all(isinstance(a, str) and a in _ATTACKS for a in value)
    )


def _true_label_log_proba(model, ds) -> np.ndarray:
    proba = np.asarray(model.predict_proba(ds.X), dtype=float)
    classes = list(getattr(model, "classes_", range(proba.shape[1])))
    index = pd.Index(classes).get_indexer(ds.y.to_numpy())
    if (index < 0).any():
        unknown = sorted(set(ds.y[index < 0].astype(str)))[:5]
        raise DataError(f"Labels {unknown} are not among the model's classes {classes}.")
    picked = proba[np.arange(len(index)), index]
    return np.log(np.clip(picked, 1e-12, 1.0))


def _shadow_features(model, ds) -> np.ndarray:
    proba = np.asarray(model.predict_proba(ds.X), dtype=float)
    ordered = np.sort(proba, axis=1)[:, ::-1]
    return np.column_stack([ordered, _true_label_log_proba(model, ds)])


def _tpr_at(fpr: np.ndarray, tpr: np.ndarray, target: float) -> float:
    ok = fpr <= target
    return float(tpr[ok].max()) if ok.any() else 0.0


@dataclass(frozen=True, eq=False)
class PrivacyReport(Result):
    """How well membership-inference attacks tell training rows from unseen rows.

    Attributes
    ----------
    attacks : DataFrame
        One row per attack: ``auc`` with ``auc_lower``/``auc_upper``, ``advantage`` (max TPR - FPR),
        ``tpr_at_fpr_0.1%`` and ``tpr_at_fpr_1%``.
    roc : DataFrame
        The attacks' ROC curves at up to 200 points each (for figures).
    by_group : DataFrame
        Attack AUC per sensitive group and intersection (tidy, with CIs), on each group's rows.
    by_class : DataFrame
        Attack AUC per true class.
    exposed : DataFrame
        The training rows the threshold attack is surest about: row position, attack score, loss.
    verdict : str
        ``low``, ``medium`` or ``high`` risk.
    meta : dict
        ``n_members`` and ``n_non_members`` (rows attacked), ``n_train`` and ``n_test``,
        ``sampling`` (``{"members": ..., "non_members": ...}``: :meth:`raikit.Dataset.sample`'s
        record per stratum for a side attacked on a stratified sample, else None), ``attacks``,
        ``random_state``, ``ci``.
    findings : tuple of Finding
        A warning or an error when the attacks beat chance.

    See Also
    --------
    membership_inference : computes it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from raikit import Dataset
    >>> from raikit.privacy import membership_inference
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"x": rng.normal(size=400), "s": rng.choice(["a", "b"], 400)})
    >>> frame["y"] = rng.integers(0, 2, 400)  # labels the features cannot predict
    >>> ds = Dataset(frame, target="y", sensitive="s", features=["x"])
    >>> train, test = ds.subset(np.arange(200)), ds.subset(np.arange(200, 400))
    >>> model = DecisionTreeClassifier(random_state=0).fit(train.X, train.y)  # memorises
    >>> r = membership_inference(model, train=train, test=test, attacks=["threshold"], n_boot=50,
    ...                          random_state=0)
    >>> r.verdict
    'high'
    """

    attacks: pd.DataFrame
    roc: pd.DataFrame
    by_group: pd.DataFrame
    by_class: pd.DataFrame
    exposed: pd.DataFrame
    verdict: str
    findings: tuple = ()
    meta: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        worst = self.attacks.loc[self.attacks["auc"].idxmax()]
        members = self.meta.get("n_members", 0)
        outsiders = self.meta.get("n_non_members", members)
        rows = (
            f"{members:,} members vs as many non-members"
            if outsiders == members
            else f"{members:,} members vs {outsiders:,} non-members"
        )
        sampled = [
            f"{self.meta.get(total, 0):,} {name}"
            for side, total, name in (
                ("members", "n_train", "training"),
                ("non_members", "n_test", "test"),
            )
            if (self.meta.get("sampling") or {}).get(side) is not None
        ]
        if sampled:
            rows += (
                f", on samples of the {' and '.join(sampled)} rows, stratified by group and "
                "reweighted"
            )
        return (
            f"Membership-inference risk {self.verdict}: best attack {worst['attack']} has AUC "
            f"{worst['auc']:.3f} [{worst['auc_lower']:.3f}, {worst['auc_upper']:.3f}], "
            f"advantage {worst['advantage']:.3f}, TPR {worst['tpr_at_fpr_1%']:.3f} at 1% FPR "
            f"({rows})."
        )

    def figures(self) -> list:
        import plotly.graph_objects as go

        from raikit._plots import error_bars

        roc = go.Figure()
        for attack, part in self.roc.groupby("attack", sort=False):
            roc.add_trace(go.Scatter(x=part["fpr"], y=part["tpr"], mode="lines", name=attack))
        roc.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                name="no leak",
                line={"dash": "dash", "color": "#999"},
            )
        )
        roc.update_layout(
            title="Membership-inference ROC (log-log shows the low-FPR regime)",
            xaxis={"title": "false positive rate", "type": "log"},
            yaxis={"title": "true positive rate", "type": "log"},
        )
        groups = go.Figure()
        for attack, part in self.by_group.groupby("attack", sort=False):
            groups.add_trace(
                go.Bar(
                    x=part["value"],
                    y=part["attribute"] + ": " + part["group"].astype(str),
                    orientation="h",
                    name=attack,
                    error_x=error_bars(part["value"], part["lower"], part["upper"]),
                )
            )
        groups.add_vline(x=0.5, line_dash="dash", annotation_text="no leak")
        groups.update_layout(
            title=f"Attack AUC by group ({self.meta.get('ci', 0.95):.0%} CI)",
            barmode="group",
            yaxis={"autorange": "reversed"},
            height=max(300, 24 * len(self.by_group) + 120),
        )
        return [roc, groups]


@recorded("privacy.membership_inference")
@validate_params(
    attacks=_attack_list,
    max_rows=Interval(int, 50, None),
    ci=CI,
    n_boot=Interval(int, 1, None),
    top_k=Interval(int, 0, None),
    random_state=RANDOM_STATE,
)
def membership_inference(
    model,
    *,
    train,
    test,
    attacks: Sequence[str] = _ATTACKS,
    max_rows: int = 20_000,
    ci: float = 0.95,
    n_boot: int = 1000,
    top_k: int = 20,
    random_state=None,
    ledger=None,
) -> PrivacyReport:
    """Attack a trained classifier to measure how much it leaks about its training rows.

    Parameters
    ----------
    model : fitted classifier with ``predict_proba``
        The model under test. The shadow attack needs it to be clonable (scikit-learn API).
    train : raikit.Dataset
        The rows the model was trained on (members).
    test : raikit.Dataset
        Rows from the same population the model never saw (non-members; the shadow attack also
        trains its copies on two thirds of them).
    attacks : sequence of {"threshold", "shadow"}
        Which attacks to run (a non-empty subset).
    max_rows : int, default 20000
        About this many members (and as many non-members) are attacked; at least 50. A side
        (``train``, or ``test``'s rows kept for evaluation) with more rows is attacked on a sample
        stratified by the intersection of the sensitive attributes that keeps at least 30 rows of
        every group (all of a smaller group; :meth:`raikit.Dataset.sample`), each row weighted
        by its stratum's population / sampled: the AUCs, advantage and TPRs are weighted (each
        group's AUC on its own rows), and the bootstrap draws each cell at its weighted rows'
        effective size, so the intervals widen with the sampling. ``meta["sampling"]`` and the
        summary say so. A side with fewer rows is attacked whole, or on a uniform sample of
        ``n`` rows to match the other side, unweighted, as before. A lazy side (files, Spark) is
        sampled where its rows live and only its sample is loaded (all of it when it has at most
        ``max_rows`` rows; with the shadow attack, a lazy ``test`` gives a uniform sample of
        ``3 * max_rows`` rows); ``exposed["row"]`` is then a position in that sample.
    ci : float, default 0.95
        Confidence level of the bootstrap intervals of the AUCs.
    n_boot : int, default 1000
        Bootstrap replicates of the AUCs (each attack, overall, per group and per class).
    top_k : int, default 20
        How many of the most exposed training rows to list (positions and scores, never raw values).
    random_state : int, Generator or None, default None
        Seed of the sampling, the shadow model and the bootstrap; ``None`` draws a fresh seed,
        recorded in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    PrivacyReport

    Raises
    ------
    ParameterError
        A parameter outside its domain (``attacks``, ``max_rows``, ``ci``, ...).
    DataError
        The model has no ``predict_proba``, the two Datasets do not fit the model, or there are
        fewer than 50 rows per side.

    See Also
    --------
    raikit.privacy.DPClassifier : training with a guarantee.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from raikit import Dataset
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"x": rng.normal(size=400), "s": rng.choice(["a", "b"], 400)})
    >>> frame["y"] = (frame["x"] + rng.normal(size=400) > 0).astype(int)
    >>> ds = Dataset(frame, target="y", sensitive="s", features=["x"])
    >>> train, test = ds.subset(np.arange(200)), ds.subset(np.arange(200, 400))
    >>> model = LogisticRegression().fit(train.X, train.y)
    >>> report = membership_inference(model, train=train, test=test, attacks=["threshold"],
    ...                               n_boot=100, random_state=0)
    >>> report.verdict  # a one-feature logistic regression does not memorise its rows
    'low'
    """
    train, test = _check_inputs(model, train, test)
    rng = rng_from(random_state)
    # scikit-learn's attack model takes an integer seed, not a Generator
    seed = random_state if isinstance(random_state, int) else int(rng.integers(2**31))
    n_test_for_eval = test.n_rows // 3 if "shadow" in attacks else test.n_rows
    n = min(train.n_rows, n_test_for_eval, max_rows)
    if n < 50:
        raise DataError(
            f"membership_inference(): too few rows to attack: {n} per side (train "
            f"{train.n_rows}, test {test.n_rows}); give at least 50 members and 50 non-members"
            + (" (the shadow attack uses two thirds of test)." if "shadow" in attacks else ".")
        )
    n_train, n_test = train.n_rows, test.n_rows
    if "shadow" in attacks and test.is_lazy and test._cache is None:
        # the shadow models train on test rows: a lazy test set gives a uniform sample of at
        # most 3 x max_rows rows drawn where they live (a third attacked, the rest for shadows)
        test = test._rows_for(3 * max_rows, "the shadow attack", seed)
    rows = _attacked_rows(train, test, n, max_rows=max_rows, shadow="shadow" in attacks, rng=rng)
    members, outsiders = rows.members_data, rows.outsiders_data
    member_log_proba = _true_label_log_proba(model, members)
    scores: dict[str, np.ndarray] = {}
    if "threshold" in attacks:
        scores["threshold"] = np.r_[member_log_proba, _true_label_log_proba(model, outsiders)]
    if "shadow" in attacks:
        scores["shadow"] = _shadow_scores(model, test, rows.spare, members, outsiders, seed)
    evaluated = pd.concat([members.frame, outsiders.frame], ignore_index=True)
    tables = _attack_tables(
        scores,
        n=(len(rows.members), len(rows.outsiders)),
        weights=rows.weights,
        sensitive=evaluated[train.sensitive_names],
        labels=pd.Series(evaluated[train.target].astype(str).to_numpy(), name="class"),
        ci=ci,
        n_boot=n_boot,
        random_state=seed,
    )
    order = np.argsort(-member_log_proba)[:top_k]
    exposed = pd.DataFrame(
        {
            "row": rows.members[order],
            "attack_score": member_log_proba[order],
            "loss": -member_log_proba[order],
        }
    )
    verdict, findings = _verdict(tables["attacks"], tables["by_group"])
    return PrivacyReport(
        **tables,
        exposed=exposed,
        verdict=verdict,
        findings=tuple(findings),
        meta={
            "n_members": len(rows.members),
            "n_non_members": len(rows.outsiders),
            "n_train": n_train,
            "n_test": n_test,
            "sampling": rows.sampling,
            "attacks": list(attacks),
            "random_state": seed,
            "ci": float(ci),
        },
    )


def _check_inputs(model, train, test):
    """Both Datasets as the model's inputs, labelled; a clear error otherwise."""
    train = check_dataset(train, need=["target"], name="train", caller="membership_inference")
    test = check_dataset(test, need=["target"], name="test", caller="membership_inference")
    if not hasattr(model, "predict_proba"):
        raise ParameterError(
            "membership_inference(): model needs predict_proba (the attacks read probabilities)."
        )
    train, test = train.for_model(model), test.for_model(model)
    if list(train.feature_names) != list(test.feature_names):
        raise DataError(
            f"membership_inference(): train and test have different features: "
            f"{train.feature_names[:6]} vs {test.feature_names[:6]}; they must be inputs of the "
            "same model."
        )
    return train, test


def _attack_tables(scores, *, n, weights, sensitive, labels, ci, n_boot, random_state) -> dict:
    """Per attack: AUC with its interval, advantage, TPR at low FPR, the ROC, AUC per group/class.

    Members (the first ``n[0]`` rows, then ``n[1]`` non-members) are the positive class; AUCs and
    intervals come from the metrics engine so they match every other AUC raikit reports.
    ``weights`` (None: unweighted) weight every row in the ROC, the AUCs and their bootstrap.
    """
    from sklearn.metrics import roc_curve

    from raikit.metrics import group_metrics

    is_member = np.r_[np.ones(n[0], dtype=int), np.zeros(n[1], dtype=int)]
    rows, roc_rows, group_tables, class_tables = [], [], [], []
    options = {
        "metrics": ["roc_auc"],
        "ci": ci,
        "n_boot": n_boot,
        "random_state": random_state,
        "sample_weight": weights,
    }
    for attack, score in scores.items():
        fpr, tpr, _ = roc_curve(is_member, score, sample_weight=weights)
        keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 200)).astype(int))
        roc_rows.append(
            pd.DataFrame(
                {
                    "attack": attack,
                    "fpr": np.maximum(fpr[keep], 1e-4),
                    "tpr": np.maximum(tpr[keep], 1e-4),
                }
            )
        )
        decision = (score >= np.median(score)).astype(int)
        by_group = group_metrics(
            is_member, decision, sensitive_features=sensitive, score=score, **options
        )
        overall = by_group.table[by_group.table["attribute"] == "overall"].iloc[0]
        rows.append(
            {
                "attack": attack,
                "auc": overall["value"],
                "auc_lower": overall["lower"],
                "auc_upper": overall["upper"],
                "advantage": float(np.max(tpr - fpr)),
                "tpr_at_fpr_0.1%": _tpr_at(fpr, tpr, 0.001),
                "tpr_at_fpr_1%": _tpr_at(fpr, tpr, 0.01),
            }
        )
        table = by_group.table[by_group.table["attribute"] != "overall"]
        group_tables.append(table.drop(columns="metric").assign(attack=attack))
        by_class = group_metrics(
            is_member, decision, sensitive_features=labels, score=score, **options
        )
        per_class = by_class.table[by_class.table["attribute"] != "overall"]
        class_tables.append(per_class.drop(columns=["metric", "attribute"]).assign(attack=attack))
    by_class = pd.concat(class_tables, ignore_index=True)
    return {
        "attacks": pd.DataFrame(rows),
        "roc": pd.concat(roc_rows, ignore_index=True),
        "by_group": pd.concat(group_tables, ignore_index=True)[
            ["attack", "attribute", "group", "value", "lower", "upper"]
        ],
        "by_class": by_class[["attack", "group", "value", "lower", "upper"]].rename(
            columns={"group": "class"}
        ),
    }


@dataclass(frozen=True)
class _Rows:
    """The rows attacked: positions in train (``members``) and test (``outsiders``) (for a lazy
    side sampled where its rows live, positions in that sample), the attacked rows themselves
    (``members_data``, ``outsiders_data``), the test rows left for the shadow attack
    (``spare``, in random order), each attacked row's weight (None when neither side was
    sampled) and the sampling record of each side."""

    members: np.ndarray
    outsiders: np.ndarray
    members_data: object
    outsiders_data: object
    spare: np.ndarray
    weights: np.ndarray | None
    sampling: dict


def _attacked_rows(train, test, n: int, *, max_rows: int, shadow: bool, rng) -> _Rows:
    """``n`` members and ``n`` non-members (about ``n`` on a stratified side).

    A side whose pool (train; the first third of a random order of test with the shadow attack,
    else all of test) has more than ``max_rows`` rows is a sample stratified by group, weighted
    to its pool (drawn where the rows live for a lazy side: :func:`raikit._sampling.sample_rows`);
    a smaller pool gives a uniform sample of ``n`` rows, unweighted, as before. Each side's
    weights are scaled to average 1, so an unsampled side's rows weigh 1.
    """
    purpose = "membership_inference()"
    if train.n_rows > max_rows:
        train, members, member_w, member_sampling = sample_rows(
            train, n, random_state=rng, purpose=purpose
        )
    else:
        train.materialize(purpose, max_rows=0)  # at most max_rows rows
        members, member_w, member_sampling = _uniform(train.n_rows, n, rng)
    pool_rows = test.n_rows // 3 if shadow else test.n_rows
    if not shadow and pool_rows > max_rows and test._cache is None:
        # a lazy test set: no test row is needed outside the sample
        test, outsiders, outsider_w, outsider_sampling = sample_rows(
            test, n, random_state=rng, purpose=purpose
        )
        spare = np.arange(0)
    else:
        test.materialize(purpose, max_rows=0)  # at most max_rows rows, or 3 x max_rows (shadow)
        test_order = rng.permutation(test.n_rows)
        pool = np.sort(test_order[:pool_rows]) if shadow else np.arange(test.n_rows)
        if len(pool) > max_rows:
            _, picked, outsider_w, outsider_sampling = sample_rows(
                test.subset(pool) if shadow else test, n, random_state=rng, purpose=purpose
            )
            outsiders = pool[picked]
        else:
            outsiders, outsider_w = np.sort(test_order[:n]), np.ones(n)
            outsider_sampling = None
        # the rows left for the shadow attack (none is needed without it)
        spare = test_order[~np.isin(test_order, outsiders)] if shadow else test_order[:0]
    weights = None
    if member_sampling is not None or outsider_sampling is not None:
        weights = np.r_[member_w / member_w.mean(), outsider_w / outsider_w.mean()]
    sampling = {"members": member_sampling, "non_members": outsider_sampling}
    return _Rows(
        members,
        outsiders,
        train.subset(members),
        test.subset(outsiders),
        spare,
        weights,
        sampling,
    )


def _uniform(n_rows: int, n: int, rng):
    """``n`` of ``n_rows`` positions drawn uniformly, weight 1 each, no sampling record."""
    return np.sort(rng.choice(n_rows, n, replace=False)), np.ones(n), None


def _shadow_scores(model, test, spare_rows, members, outsiders, random_state) -> np.ndarray:
    """Train a copy of the model on half of the spare test rows and an attack classifier on its
    members vs non-members; return the attack's member probability for the evaluated rows."""
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingClassifier

    half = len(spare_rows) // 2
    shadow_in, shadow_out = (
        test.subset(np.sort(spare_rows[:half])),
        test.subset(np.sort(spare_rows[half : 2 * half])),
    )
    try:
        shadow = clone(model).fit(shadow_in.X, shadow_in.y)
    except Exception as error:
        raise DataError(
            f"The shadow attack could not train a copy of the model ({type(error).__name__}: "
            f"{error}); run attacks=('threshold',) instead."
        ) from error
    features = np.vstack(
        [_shadow_features(shadow, shadow_in), _shadow_features(shadow, shadow_out)]
    )
    labels = np.r_[np.ones(shadow_in.n_rows, dtype=int), np.zeros(shadow_out.n_rows, dtype=int)]
    attacker = HistGradientBoostingClassifier(max_iter=100, random_state=random_state)
    attacker.fit(features, labels)
    target = np.vstack([_shadow_features(model, members), _shadow_features(model, outsiders)])
    return attacker.predict_proba(target)[:, 1]


def _verdict(attacks: pd.DataFrame, by_group: pd.DataFrame) -> tuple[str, list[Finding]]:
    best = attacks.loc[attacks["auc"].idxmax()]
    findings = []
    if best["auc_lower"] > 0.6 or best["tpr_at_fpr_1%"] > 0.05:
        verdict = "high"
        findings.append(
            Finding(
                "error",
                "The model leaks its training data",
                f"The {best['attack']} attack tells members from non-members with AUC {best['auc']:.3f} "
                f"[{best['auc_lower']:.3f}, {best['auc_upper']:.3f}] and finds "
                f"{best['tpr_at_fpr_1%']:.1%} of members at 1% false positives. Regularise the model, "
                f"train with differential privacy, or collect more data.",
            )
        )
    elif best["auc_lower"] > 0.52:
        verdict = "medium"
        findings.append(
            Finding(
                "warning",
                "Some membership leakage",
                f"Best attack AUC {best['auc']:.3f} [{best['auc_lower']:.3f}, {best['auc_upper']:.3f}] "
                f"is above 0.5 (no leak).",
            )
        )
    else:
        verdict = "low"
    exposed = by_group[(by_group["lower"] > 0.6)]
    for row in exposed.itertuples(index=False):
        findings.append(
            Finding(
                "warning",
                f"{row.attribute}={row.group} is more exposed",
                f"Attack {row.attack} reaches AUC {row.value:.3f} [{row.lower:.3f}, {row.upper:.3f}] "
                f"on this group.",
                slice=f"{row.attribute}={row.group}",
            )
        )
    return verdict, findings
