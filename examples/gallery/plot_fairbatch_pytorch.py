"""
FairBatch in a PyTorch training loop
====================================

FairBatch (Roh, Lee, Whang and Suh, "FairBatch: Batch Selection for Model Fairness", ICLR 2021)
makes a model fairer without touching its loss or its architecture: it only changes which rows
go into each minibatch. :class:`raikit.train.FairBatchSampler` is a PyTorch batch sampler; once
per epoch it reads the model's probabilities on the training rows and shifts each group's share
of every label's part of a batch towards the group the model serves worse. Your training loop
changes by two lines. (For scikit-learn code, :class:`raikit.train.FairBatchClassifier` wraps the
same loop as an estimator.)
"""

# %%
# Data and an ordinary PyTorch model
# ----------------------------------
# The synthetic data of Zafar et al. (AISTATS 2017), as in the paper's experiments.
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from raikit.datasets import make_fairness_synthetic
from raikit.metrics import group_metrics
from raikit.train import FairBatchSampler

torch.manual_seed(0)
data = make_fairness_synthetic(3000, random_state=0)
train, test = data.split(0.3, random_state=0)
x_train = torch.tensor(train.X.to_numpy(), dtype=torch.float32)
y_train = torch.tensor(train.y.to_numpy(), dtype=torch.float32)
x_test = torch.tensor(test.X.to_numpy(), dtype=torch.float32)
z_train = train.sensitive["z"].to_numpy()


def train_logistic(sampler=None, epochs=60):
    model = torch.nn.Linear(2, 1)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    rows = TensorDataset(x_train, y_train)
    if sampler is None:
        loader = DataLoader(rows, batch_size=200, shuffle=True)
    else:
        loader = DataLoader(rows, batch_sampler=sampler)  # change 1: the batch sampler
    for _ in range(epochs):
        for xb, yb in loader:
            optimiser.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(xb)[:, 0], yb)
            loss.backward()
            optimiser.step()
        if sampler is not None:
            with torch.no_grad():
                proba = torch.sigmoid(model(x_train)[:, 0]).numpy()
            sampler.update(proba)  # change 2: once per epoch, the model's probabilities
    return model


def evaluate(model):
    with torch.no_grad():
        predicted = (model(x_test)[:, 0] > 0).int().numpy()
    return group_metrics(
        test.y,
        predicted,
        sensitive_features=test.sensitive["z"],
        metrics=["accuracy", "true_positive_rate"],
        n_boot=200,
        random_state=0,
    )


# %%
# Without and with FairBatch
# --------------------------
# The constraint is equal opportunity: equal true positive rates across the groups of ``z``.
# The step of the mixing weights is doubled from the paper's 0.005 so that 60 epochs suffice.
plain = evaluate(train_logistic())
sampler = FairBatchSampler(
    train.y.to_numpy(),
    z_train,
    constraint="eqopp",
    step_size=0.01,
    batch_size=200,
    random_state=0,
)
fair = evaluate(train_logistic(sampler))
for name, result in (("plain batches", plain), ("FairBatch", fair)):
    gap = result.difference(bounds=True).set_index("metric").loc["true_positive_rate"]
    table = result.table
    accuracy = table[(table["attribute"] == "overall") & (table["metric"] == "accuracy")]
    accuracy = accuracy["value"].iloc[0]
    print(
        f"{name:>13}: accuracy {accuracy:.3f}; TPR gap {gap['value']:.3f} "
        f"[{gap['lower']:.3f}, {gap['upper']:.3f}]"
    )

# %%
# In this run FairBatch narrows the gap in true positive rates at no cost in accuracy; the
# intervals show how much of the difference the 900 test rows can resolve. How the batches
# changed: the share of each group within the positive rows of a batch, before the first
# update and after the last.
history = np.array(sampler.history)
print("group shares of the positives, before the first update and after the last:")
print(np.round(history[[0, -1], 1], 3))
