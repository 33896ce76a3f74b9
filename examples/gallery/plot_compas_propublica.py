"""
Reproduce ProPublica's COMPAS table
===================================

ProPublica's "Machine Bias" (Angwin, Larson, Mattu and Kirchner, 2016) found that the COMPAS risk
score, used in Broward County, Florida, wrongly labelled Black defendants who did not reoffend as
higher risk almost twice as often as white defendants, and wrongly labelled white defendants who
did reoffend as low risk more often. raikit ships the data; this example recomputes those false
positive and false negative rates from the tool's own outputs, with confidence intervals, and
judges the gap as an equalized-odds criterion.
"""

# %%
# The data and the tool's prediction
# ----------------------------------
# ProPublica's rates use every defendant of the two-year file (``population="two_year"``,
# 7,214 rows) and count a score of "Medium" or "High" (decile 5 or more) as a prediction that
# the defendant will reoffend.
import pandas as pd

from raikit.datasets import load_compas
from raikit.metrics import EqualizedOdds, group_metrics

pd.set_option("display.width", 120)

compas = load_compas(population="two_year", as_frame=True)
predicted = (compas["decile_score"] >= 5).astype(int)
print(f"{len(compas)} defendants")

# %%
# The rates by race
# -----------------
# ``group_metrics`` computes every rate per group with a 95% interval (a Bayesian bootstrap
# with the Jeffreys prior; see :doc:`/metrics`).
result = group_metrics(
    compas["two_year_recid"],
    predicted,
    sensitive_features=compas["race"],
    metrics=["count", "false_positive_rate", "false_negative_rate"],
    n_boot=500,
    random_state=0,
)
table = result.by_group.loc["race"]
print(table.loc[["African-American", "Caucasian"]].round(3))

# %%
# As ProPublica reported: about 45% of Black defendants who did not reoffend were labelled
# medium or high risk, against about 23% of white defendants; 28% of Black defendants who
# reoffended were labelled low risk, against 48% of white defendants. ``result.table`` holds
# every number with its interval:
tidy = result.table
shown = tidy[
    (tidy["attribute"] == "race")
    & tidy["group"].isin(["African-American", "Caucasian"])
    & tidy["metric"].isin(["false_positive_rate", "false_negative_rate"])
]
print(shown[["group", "metric", "value", "lower", "upper"]].round(3).to_string(index=False))
fpr = table["false_positive_rate"]
print(f"false positive rate ratio, Black / white: {fpr['African-American'] / fpr['Caucasian']:.2f}")

# %%
# Equalized odds
# --------------
# The criterion asks for equal true and false positive rates across groups. Its verdict follows
# the interval of the largest gap: "fail" only when the whole interval is above the tolerance,
# "not assessable" unless two groups have ``min_group_size`` rows. We compare the two groups
# ProPublica compared; over every group, the small ones (18 Native American defendants, flagged
# by a finding) would widen the interval.
two = compas["race"].isin(["African-American", "Caucasian"])
rates = group_metrics(
    compas.loc[two, "two_year_recid"],
    predicted[two],
    sensitive_features=compas.loc[two, "race"].astype(str),
    metrics=["true_positive_rate", "false_positive_rate"],
    n_boot=500,
    random_state=0,
)
verdicts = EqualizedOdds().evaluate(rates, tolerance=0.1)
columns = ["criterion", "attribute", "metric", "difference", "lower", "upper", "verdict"]
print(verdicts[columns].round(3).to_string(index=False))

# %%
# Over every group, the findings name the groups too small to judge.
for finding in result.findings:
    print(f"[{finding.severity}] {finding.title}")
