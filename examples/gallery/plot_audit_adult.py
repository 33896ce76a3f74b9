"""
Audit a pipeline on Adult
=========================

Train a scikit-learn pipeline on the UCI Adult census data (bundled with raikit, no download),
then run :func:`raikit.audit.audit` on it: every stage's checks in one call, each with confidence
intervals, gathered in an :class:`~raikit.audit.AuditReport` whose scorecard says, per principle,
what passed, what failed and what the data could not assess.

The bootstrap runs 100 replicates here to keep the example fast; the default is 1000.
"""

# %%
# The data and the model
# ----------------------
# ``load_adult()`` returns a :class:`raikit.Dataset`: the table and the roles of its columns
# (target ``income``, sensitive attributes ``sex`` and ``race``). We keep 6,000 rows and a few
# features so that the example runs in seconds.
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import raikit
from raikit.datasets import load_adult

pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 12)

adult = load_adult().replace(
    features=["age", "education_num", "hours_per_week", "capital_gain", "occupation"]
)
adult = adult.sample(6000, random_state=0)
train, test = adult.split(0.3, random_state=0)

model = make_pipeline(
    make_column_transformer(
        (StandardScaler(), ["age", "education_num", "hours_per_week", "capital_gain"]),
        (OneHotEncoder(handle_unknown="ignore"), ["occupation"]),
    ),
    LogisticRegression(max_iter=1000),
).fit(train.X, train.y)
print(f"{len(train.X)} training rows, {len(test.X)} test rows")

# %%
# The audit
# ---------
# ``raikit.audit`` is callable: ``raikit.audit(model, train=..., test=...)``. Here we run the
# sections on bias, accuracy, failing slices, robustness, representation and privacy
# (the default runs every section).
report = raikit.audit(
    model,
    train=train,
    test=test,
    sections=["bias", "accuracy", "slices", "robustness", "data_representation", "privacy"],
    n_boot=100,
    random_state=0,
)
print(report.summary)

# %%
# The scorecard: one row per principle, with its verdict.
print(report.scorecard[["principle", "status", "reason"]].to_string(max_colwidth=80))

# %%
# Every finding names the slice it concerns and how severe it is.
for finding in report.findings[:5]:
    print(f"[{finding.severity}] {finding.title}")
