"""
Does a model leak its training rows? Membership inference
=========================================================

A membership-inference attack guesses, from a model's outputs, whether a row was in its training
data. :func:`raikit.privacy.membership_inference` runs two black-box attacks — a loss threshold
(Yeom, Giacomelli, Fredrikson and Jha, "Privacy Risk in Machine Learning", CSF 2018) and a shadow
model (Shokri, Stronati, Song and Shmatikov, "Membership Inference Attacks Against Machine
Learning Models", IEEE S&P 2017) — on equal numbers of members and non-members, and reports
how well they separate training rows from rows the model never saw, as an AUC with a
confidence interval, overall, per group and per class. An AUC near 0.5 means the attacks do
no better than a coin.
"""

# %%
# Two models on the same data
# ---------------------------
# A regularised logistic regression and a deep, unpruned random forest, which memorises its
# training rows, both trained on 3,000 rows of Adult.
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from raikit.datasets import load_adult
from raikit.privacy import membership_inference

pd.set_option("display.width", 120)

features = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss"]
adult = load_adult().replace(features=features).sample(6000, random_state=0)
train, test = adult.split(0.5, random_state=0)

models = {
    "logistic regression": LogisticRegression(max_iter=1000).fit(train.X, train.y),
    "random forest": RandomForestClassifier(n_estimators=50, random_state=0).fit(train.X, train.y),
}

# %%
# The attacks
# -----------
# The threshold attack calls a row a member when the model gives its true label a high
# probability (a low loss). The shadow attack (in the default ``attacks=("threshold",
# "shadow")``) trains a copy of the model on rows whose membership it knows and learns to tell
# them apart; this example runs the threshold attack alone, with fewer bootstrap replicates, to
# stay fast.
for name, model in models.items():
    report = membership_inference(
        model, train=train, test=test, attacks=["threshold"], n_boot=200, random_state=0
    )
    print(f"{name}: verdict {report.verdict}")
    columns = ["attack", "auc", "auc_lower", "auc_upper", "advantage"]
    print(report.attacks[columns].round(3).to_string(index=False))

# %%
# Who is exposed
# --------------
# The attack AUC on the random forest per sensitive group and intersection: a model can leak
# more about some groups than others, and small groups get wide intervals. The report lists
# the most exposed rows by position and score, never their values.
print(report.by_group.round(3).head(8).to_string(index=False))
