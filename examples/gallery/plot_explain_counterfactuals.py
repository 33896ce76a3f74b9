"""
Explanations, counterfactuals and a glass box
=============================================

:func:`raikit.explain.explain` attributes each decision to the features with SHAP values
(Lundberg and Lee, "A Unified Approach to Interpreting Model Predictions", NeurIPS 2017), ranks
the features globally and per sensitive group with intervals, cross-checks the ranking against
permutation importance, and flags features that act as proxies of a sensitive attribute.
:func:`raikit.explain.counterfactuals` answers the question a person refused by the model asks
("what would have had to be different?") with diverse, minimal changes, following DiCE's k-d
tree method (Mothilal, Sharma and Tan, "Explaining Machine Learning Classifiers through Diverse
Counterfactual Explanations", FAT* 2020).
"""

# %%
# A model on German credit
# ------------------------
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

from raikit.datasets import load_german_credit
from raikit.explain import counterfactuals, explain, glassbox_baseline

pd.set_option("display.width", 140)
pd.set_option("display.max_columns", 12)

features = ["duration_months", "credit_amount", "age", "installment_rate", "existing_credits"]
credit = load_german_credit().replace(features=features)
model = RandomForestClassifier(n_estimators=100, max_depth=5, random_state=0)
model = model.fit(credit.X, credit.y)

# %%
# Global and per-group importance
# -------------------------------
# Mean absolute SHAP value per feature with its interval, beside permutation importance. The
# sensitive attributes here are ``sex`` and ``age_group``; ``proxy_for`` and ``proxy_strength``
# (Cramér's V) name the one each feature is most associated with, and how strongly: ``age`` is
# a near-perfect proxy of ``age_group``, which is derived from it.
result = explain(model, credit, max_rows=300, n_repeats=3, random_state=0)
print(result.summary)
columns = ["feature", "mean_abs", "lower", "upper", "rank", "permutation_rank", "proxy_for"]
columns += ["proxy_strength"]
print(result.importance[columns].round(4).to_string(index=False))

# %%
# The same ranking within each group of each sensitive attribute:
per_group = result.group_importance
print(per_group[per_group["rank"] <= 2].round(4).to_string(index=False))

# %%
# Counterfactuals for refused applicants
# --------------------------------------
# For two applicants the model refuses, three diverse ways to be accepted, keeping age fixed
# (a person cannot change it). Each counterfactual changes as few features as it can.
refused = credit.X[model.predict(credit.X) == 0].iloc[:2]
cf = counterfactuals(model, credit, rows=refused, immutable=["age"], n=3)
print(cf.queries[["row", "prediction", "n_found"]].to_string(index=False))
print(cf.changes.to_string(index=False))
print({k: round(v, 3) if isinstance(v, float) else v for k, v in cf.metrics.items()})

# %%
# Is the complex model worth it?
# ------------------------------
# :func:`raikit.explain.glassbox_baseline` fits InterpretML's Explainable Boosting Machine
# (Lou, Caruana, Gehrke and Hooker, "Accurate Intelligible Models with Pairwise Interactions",
# KDD 2013), a model whose every term can be read, on training rows, and compares it with the
# forest on held-out rows: the forest's accuracy advantage overall and per group with a paired
# bootstrap interval. When the interval contains 0 the glass box is as good, and accuracy does
# not justify the black box.
train, test = credit.split(0.3, random_state=0)
forest = RandomForestClassifier(n_estimators=100, max_depth=5, random_state=0)
forest = forest.fit(train.X, train.y)
glass = glassbox_baseline(forest, train, test=test, n_boot=500, random_state=0)
print(glass.summary)
columns = ["attribute", "group", "n", "blackbox", "glassbox", "gap", "lower", "upper", "verdict"]
print(glass.gap[columns].round(3).to_string(index=False))

# %%
# What the glass box relies on, per group: the mean absolute contribution of each term (in
# log-odds), from its local explanations, with bootstrap intervals over rows.
importance = glass.importance
print(importance[importance["rank"] <= 2].round(4).to_string(index=False))
