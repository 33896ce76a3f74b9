"""
A model card and Annex IV documentation from a ledger
=====================================================

raikit never asks anyone to type a model card. Checks record their evidence in a ledger (runs,
datasets, models, evidence and the lineage between them); a model card (Mitchell et al., "Model
Cards for Model Reporting", FAT* 2019) and the EU AI Act's Annex IV technical documentation are
*views* of that evidence, plus the answers to a short problem definition. What neither the
evidence nor the answers say is listed as a gap, never invented.
"""

# %%
# Audit a model into a ledger
# ---------------------------
# ``ledger=`` records the audit as a run: the datasets by their content hash, the model, one
# evidence row per section, the environment and the code version.
import tempfile
from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression

import raikit
from raikit.cards import annex_iv, model_card
from raikit.datasets import load_german_credit
from raikit.ledger import Ledger

pd.set_option("display.width", 120)

credit = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
train, test = credit.split(0.3, random_state=0)
model = LogisticRegression(max_iter=1000).fit(train.X, train.y)

ledger = Ledger(Path(tempfile.mkdtemp()) / ".raikit")
report = raikit.audit(
    model,
    train=train,
    test=test,
    sections=["bias", "accuracy"],
    n_boot=100,
    random_state=0,
    ledger=ledger,
)
print(ledger.runs()[["name", "kind", "status", "n_evidence"]].to_string(index=False))

# %%
# The problem definition
# ----------------------
# A few answers only people can give: what the model is for and who uses it.
problem = {
    "name": "Credit pre-screen",
    "provider": "Example Bank, risk team",
    "intended_use": "Rank applications for manual review; never an automatic refusal.",
    "intended_users": "Credit officers",
}

# %%
# The model card
# --------------
# Read back from the ledger's recorded run: every field carries its answer and its source.
run_id = ledger.runs()["id"].iloc[0]
card = model_card(ledger=ledger, run=run_id, problem=problem)
print(card.summary)
fields = card.fields_table[["section", "field", "answer", "source"]]
print(fields.head(12).to_string(index=False, max_colwidth=50))

# %%
# The gaps are the questions nobody answered yet.
print(card.gaps[["section", "field"]].head(10).to_string(index=False))

# %%
# Annex IV
# --------
# The same evidence, arranged as the technical documentation the EU AI Act asks for.
annex = annex_iv(ledger=ledger, run=run_id, problem=problem)
print(annex.title)
print(f"{len(annex.fields_table)} fields, {len(annex.gaps)} gaps")
print(annex.to_markdown()[:1200])
