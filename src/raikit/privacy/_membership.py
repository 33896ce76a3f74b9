"""Membership inference: does the model give away who was in its training data?

Two attacks, both black-box on predicted probabilities:

* **threshold** (Yeom et al., 2018): a row whose true label gets a high probability (a low loss) is
  guessed to be a training member. The attack score is the log-probability of the true label.
* **shadow** (Shokri et al., 2017): a copy of the model is trained on half of some holdout data; an
  attack classifier learns to tell that copy's members from non-members by their probability vector
  and loss, and is then pointed at the real model.

Members and non-members are sampled in equal numbers, so an AUC of 0.5 means no leak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import DataError
from raikit._result import Finding, Result

__all__ = ["PrivacyReport", "membership_inference"]

FPR_POINTS = (0.001, 0.01)
_ATTACKS = ("threshold", "shadow")


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
        Attack AUC per sensitive group and intersection (tidy, with CIs).
    by_class : DataFrame
        Attack AUC per true class.
    exposed : DataFrame
        The training rows the threshold attack is surest about: row position, attack score, loss.
    verdict : str
        ``low``, ``medium`` or ``high`` risk.
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
        return (
            f"Membership-inference risk {self.verdict}: best attack {worst['attack']} has AUC "
            f"{worst['auc']:.3f} [{worst['auc_lower']:.3f}, {worst['auc_upper']:.3f}], "
            f"advantage {worst['advantage']:.3f}, TPR {worst['tpr_at_fpr_1%']:.3f} at 1% FPR "
            f"({self.meta.get('n_members', 0):,} members vs as many non-members)."
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
            title="Attack AUC by group (95% CI)",
            barmode="group",
            yaxis={"autorange": "reversed"},
            height=max(300, 24 * len(self.by_group) + 120),
        )
        return [roc, groups]


def membership_inference(
    model,
    train,
    holdout,
    *,
    attacks: Sequence[str] = _ATTACKS,
    max_rows: int = 20_000,
    ci: float = 0.95,
    n_boot: int = 500,
    top_k: int = 20,
    random_state: int | None = 0,
    ledger=None,
) -> PrivacyReport:
    """Attack a trained classifier to measure how much it leaks about its training rows.

    Parameters
    ----------
    model : fitted classifier with ``predict_proba``
        The model under test. The shadow attack needs it to be clonable (scikit-learn API).
    train : raikit.Dataset
        The rows the model was trained on (members).
    holdout : raikit.Dataset
        Rows from the same population the model never saw (non-members; the shadow attack also
        trains its copies on part of them).
    attacks : sequence of {"threshold", "shadow"}
        Which attacks to run.
    max_rows : int, default 20000
        At most this many members (and as many non-members) are attacked.
    ci, n_boot, random_state
        Bootstrap intervals of the AUCs.
    top_k : int, default 20
        How many of the most exposed training rows to list (positions and scores, never raw values).
    ledger : raikit.ledger.Ledger, optional
        Record the report as evidence.

    Returns
    -------
    PrivacyReport
    """
    from sklearn.metrics import roc_curve

    from raikit._validation import rng_from
    from raikit.metrics import group_metrics

    unknown = [a for a in attacks if a not in _ATTACKS]
    if unknown or not attacks:
        raise DataError(f"attacks must be a non-empty subset of {_ATTACKS}, got {list(attacks)}.")
    if not hasattr(model, "predict_proba"):
        raise DataError("Membership inference needs a model with predict_proba (probabilities).")
    if train.target is None or holdout.target is None:
        raise DataError("Both train and holdout need a target column (the true labels).")
    train, holdout = train.for_model(model), holdout.for_model(model)
    if list(train.feature_names) != list(holdout.feature_names):
        raise DataError(
            f"train and holdout have different features: {train.feature_names[:6]} vs "
            f"{holdout.feature_names[:6]}; they must be inputs of the same model."
        )
    rng = rng_from(random_state)
    n_holdout_for_eval = holdout.n_rows // 3 if "shadow" in attacks else holdout.n_rows
    n = min(train.n_rows, n_holdout_for_eval, max_rows)
    if n < 50:
        raise DataError(
            f"Too few rows to attack: {n} per side (train {train.n_rows}, holdout "
            f"{holdout.n_rows}); give at least 50 members and 50 non-members"
            + (
                " (the shadow attack uses two thirds of the holdout)."
                if "shadow" in attacks
                else "."
            )
        )
    member_rows = np.sort(rng.choice(train.n_rows, n, replace=False))
    holdout_order = rng.permutation(holdout.n_rows)
    outsider_rows = np.sort(holdout_order[:n])
    members, outsiders = train.subset(member_rows), holdout.subset(outsider_rows)
    evaluated = pd.concat([members.frame, outsiders.frame], ignore_index=True)
    is_member = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
    scores: dict[str, np.ndarray] = {}
    member_log_proba = _true_label_log_proba(model, members)
    if "threshold" in attacks:
        scores["threshold"] = np.r_[member_log_proba, _true_label_log_proba(model, outsiders)]
    if "shadow" in attacks:
        scores["shadow"] = _shadow_scores(
            model, holdout, holdout_order[n:], members, outsiders, random_state
        )
    rows, roc_rows, group_tables, class_tables = [], [], [], []
    sensitive = evaluated[train.sensitive_names]
    for attack, score in scores.items():
        fpr, tpr, _ = roc_curve(is_member, score)
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
        # AUC and its CI per group through the metrics engine: members are the positive class.
        decision = (score >= np.median(score)).astype(int)
        by_group = group_metrics(
            is_member,
            decision,
            sensitive_features=sensitive,
            score=score,
            metrics=["roc_auc"],
            ci=ci,
            n_boot=n_boot,
            random_state=random_state,
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
        labels = pd.Series(evaluated[train.target].astype(str).to_numpy(), name="class")
        by_class = group_metrics(
            is_member,
            decision,
            sensitive_features=labels,
            score=score,
            metrics=["roc_auc"],
            ci=ci,
            n_boot=n_boot,
            random_state=random_state,
        )
        per_class = by_class.table[by_class.table["attribute"] != "overall"]
        class_tables.append(per_class.drop(columns=["metric", "attribute"]).assign(attack=attack))
    attacks_table = pd.DataFrame(rows)
    order = np.argsort(-member_log_proba)[:top_k]
    exposed = pd.DataFrame(
        {
            "row": member_rows[order],
            "attack_score": member_log_proba[order],
            "loss": -member_log_proba[order],
        }
    )
    verdict, findings = _verdict(attacks_table, pd.concat(group_tables, ignore_index=True))
    result = PrivacyReport(
        attacks=attacks_table,
        roc=pd.concat(roc_rows, ignore_index=True),
        by_group=pd.concat(group_tables, ignore_index=True)[
            ["attack", "attribute", "group", "value", "lower", "upper"]
        ],
        by_class=pd.concat(class_tables, ignore_index=True)[
            ["attack", "group", "value", "lower", "upper"]
        ].rename(columns={"group": "class"}),
        exposed=exposed,
        verdict=verdict,
        findings=tuple(findings),
        meta={"n_members": int(n), "attacks": list(attacks), "random_state": random_state},
    )
    from raikit.ledger import record

    record(
        result,
        check="privacy.membership_inference",
        ledger=ledger,
        dataset=train,
        model=model,
        params={"attacks": list(attacks), "max_rows": max_rows},
    )
    return result


def _shadow_scores(model, holdout, spare_rows, members, outsiders, random_state) -> np.ndarray:
    """Train a copy of the model on half of the spare holdout rows and an attack classifier on its
    members vs non-members; return the attack's member probability for the evaluated rows."""
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingClassifier

    half = len(spare_rows) // 2
    shadow_in, shadow_out = (
        holdout.subset(np.sort(spare_rows[:half])),
        holdout.subset(np.sort(spare_rows[half : 2 * half])),
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
