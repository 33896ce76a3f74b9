"""
Find the slices where a model fails
===================================

A model can be accurate overall and fail on a group nobody thought to name. Slice Finder
(Chung et al., "Slice Finder: Automated Data Slicing for Model Validation", ICDE 2019) searches
the lattice of feature conjunctions for slices whose loss is significantly worse than the rest
of the data, controlling false discoveries by alpha-investing; SliceLine (Sagadeeva and Boehm,
SIGMOD 2021) instead ranks slices by a score that weighs their error against their size.
:func:`raikit.evaluate.find_slices` runs both.
"""

# %%
# A model on German credit
# ------------------------
# The German credit data ships with raikit. We fit a gradient-boosted model on three numeric
# features and two categorical ones (one-hot encoded in a pipeline).
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from raikit.datasets import load_german_credit
from raikit.evaluate import find_slices

pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 12)

credit = load_german_credit()
numeric = ["duration_months", "credit_amount", "age"]
categorical = ["checking_account", "purpose"]
credit = credit.replace(features=numeric + categorical)
train, test = credit.split(0.4, random_state=0)

model = make_pipeline(
    make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
        remainder="passthrough",
    ),
    HistGradientBoostingClassifier(max_depth=3, random_state=0),
).fit(train.X, train.y)

# %%
# Slice Finder: significance-tested slices
# ----------------------------------------
# Numeric features are binned (``n_bins``), the lattice is searched up to ``max_features``
# predicates, and a slice is reported when its mean log loss is worse than the rest's by at
# least ``effect_size`` standard deviations and its test is significant at the alpha-investing
# level. Every slice comes with a confidence interval of its mean loss.
result = find_slices(model, test, max_features=2, n_bins=4, random_state=0)
print(result.summary)
columns = ["slice", "size", "mean_loss", "lower", "upper", "rest_mean_loss", "p_value"]
print(result.slices[columns].head(8).to_string(max_colwidth=60))

# %%
# SliceLine: the top slices by score
# ----------------------------------
# SliceLine's ``error_weight`` trades a slice's error off against its size; ``k`` is how many
# slices to return.
top = find_slices(
    model,
    test,
    method="sliceline",
    loss="zero_one",
    k=5,
    max_features=2,
    n_bins=4,
    random_state=0,
)
print(top.slices[["slice", "size", "mean_loss", "rest_mean_loss", "score"]].to_string())
