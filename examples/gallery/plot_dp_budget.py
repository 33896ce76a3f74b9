"""
Differentially private queries with a budget
============================================

A :class:`~raikit.privacy.PrivateTable` answers aggregate queries (counts, sums, means,
quantiles, histograms, grouped aggregates and a small SQL dialect) with differential privacy
(Dwork, McSherry, Nissim and Smith, "Calibrating Noise to Sensitivity in Private Data
Analysis", TCC 2006). Every mechanism and every privacy-loss figure comes from OpenDP; raikit
adds the budget: each answer's epsilon is charged to the odometer of a registered
:class:`~raikit.privacy.PrivacySource` *before* the noise is drawn, and a query that would
overspend is refused. The budget belongs to the data source, not to the bytes of a table, so
shuffling the rows or adding a column does not buy a fresh one.
"""

# %%
# Register a data source
# ----------------------
# The data owner registers a source once, with its total budget and its privacy unit (here
# each row is one person). The registry is a file in the user's home folder; this example
# points ``HOME`` at a temporary folder so that it leaves your own registry alone.
import os
import tempfile

import pandas as pd

from raikit.datasets import load_adult
from raikit.privacy import BudgetExceededError, PrivacySource, PrivateTable

pd.set_option("display.width", 120)
home = os.environ.get("HOME")
os.environ["HOME"] = tempfile.mkdtemp()

source = PrivacySource.register("adult-census", epsilon=1.0, privacy_unit="row")
print(f"budget: epsilon={source.epsilon}, remaining {source.remaining}")

# %%
# Ask questions
# -------------
# Numeric columns are clamped to public ``bounds`` and group keys take their values from public
# ``domains``: both come from domain knowledge, never from the data, so that neither leaks.
adult = load_adult(as_frame=True)
table = PrivateTable(
    adult,
    source="adult-census",
    bounds={"age": (17, 90), "hours_per_week": (1, 99)},
    domains={"sex": ["Female", "Male"]},
)

count = table.count(epsilon=0.1)
print(count.table)

# %%
# Each answer carries its noise scale (the Laplace ``b``) and a 95% interval for the noise.
mean_age = table.mean("age", epsilon=0.2)
print(mean_age.table)

# %%
# A grouped query: the groups are the declared domain, so an empty group would be released
# too and a group's presence reveals nothing. One person is in one group (parallel
# composition), so the whole query costs its epsilon once.
hours = table.group_by("sex", agg="mean", column="hours_per_week", epsilon=0.3)
print(hours.table)
print(f"spent {table.spent:.2f} of {table.epsilon:.2f}; remaining {table.remaining:.2f}")

# %%
# The budget is enforced
# ----------------------
# A query that would spend more than what remains is refused before anything is computed.
try:
    table.quantile("age", 0.5, epsilon=0.5)
except BudgetExceededError as error:
    print(f"refused: {error}")

# %%
# The same people in another order and with an extra column are the same source: the new
# table sees only what is left.
shuffled = adult.sample(frac=1.0, random_state=0).assign(extra=1)
again = PrivateTable(shuffled, source="adult-census")
print(f"remaining for the shuffled table: {again.remaining:.2f}")

# %%
# Give the process its own home folder back.
if home is not None:
    os.environ["HOME"] = home
