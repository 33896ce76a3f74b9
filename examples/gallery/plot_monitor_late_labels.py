"""
Monitor a deployed model, with labels that arrive late
======================================================

In production the predictions come at once and the true outcomes weeks later, if ever. A
:class:`raikit.monitor.Monitor` stores every batch of predictions in the ledger, cuts it into
windows, and checks each window against the reference data: drift of every feature and of the
predictions, selection rates per group and the demographic parity gap, with intervals. The
criteria that need labels (accuracy, true and false positive rates, equalized odds) follow when
the labels arrive. Ingestion is idempotent: the same batch sent twice counts once.
"""

# %%
# A model and its reference data
# ------------------------------
import tempfile

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from raikit.datasets import load_adult
from raikit.ledger import Ledger
from raikit.monitor import Monitor

pd.set_option("display.width", 140)
pd.set_option("display.max_columns", 12)

features = ["age", "education_num", "hours_per_week", "capital_gain"]
adult = load_adult().replace(features=features)
train = adult.subset(np.arange(0, 10000))
model = HistGradientBoostingClassifier(random_state=0).fit(train.X, train.y)


def with_predictions(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(pred=model.predict(frame[features]))


reference = adult.subset(np.arange(10000, 16000))
reference = reference.replace(with_predictions(reference.frame), prediction="pred")
monitor = Monitor(
    reference, ledger=Ledger(tempfile.mkdtemp()), windows=3000, id_column="id", n_boot=100
)

# %%
# Predictions arrive
# ------------------
# Three windows of live traffic. The third comes from an older population (everyone over 45),
# a shift the monitor should see in the data before any label arrives.
rows = adult.frame.iloc[16000:].reset_index(drop=True).assign(id=lambda f: np.arange(len(f)))
live = [rows.iloc[:3000], rows.iloc[3000:6000], rows.iloc[6000:][rows["age"].iloc[6000:] > 45]]
live[2] = live[2].iloc[:3000]
for batch in live:
    monitor.ingest(with_predictions(batch).drop(columns="income"))
monitor.ingest(with_predictions(live[0]).drop(columns="income"))  # resent: skipped
print(f"rows skipped as already ingested: {monitor.n_skipped}")

# %%
# The alerts raised without labels: in every window the selection rates differ between groups
# (the model's own disparity); in the third, the drift of age, and of the predictions within
# one group.
alerts = monitor.alerts()
print(alerts[["window", "severity", "title"]].to_string(index=False))

# %%
# The labels arrive
# -----------------
# ``add_labels`` joins outcomes to the stored predictions by id; the windows they complete are
# evaluated again with the label-dependent criteria.
for batch in live:
    monitor.add_labels(batch["id"], batch["income"])
updated = monitor.refresh_pending()
for window in updated:
    print(window.summary)

# %%
# The time series of every window is in the ledger (``monitor.history()``, or
# :func:`raikit.monitor.monitor_history` from another process), one row per window, metric and
# group, with its interval. The accuracy of the shifted window, once its labels are in:
history = monitor.history()
accuracy = history[(history["kind"] == "accuracy") & (history["name"] == "overall")]
print(accuracy[["window", "value", "lower", "upper"]].round(3).to_string(index=False))
