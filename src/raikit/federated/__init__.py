"""Federated learning and federated fairness: clients keep their rows.

Training runs on Flower's simulation engine (FedAvg, FedProx, a fairness-aware reweighting,
client-level differential privacy); fairness is evaluated from the clients' additive counts
per group and confusion cell, the sufficient statistics every raikit group metric is derived
from, so no row leaves a client.
"""

from __future__ import annotations

from raikit.federated._counts import FederatedMetricsResult, client_counts, federated_group_metrics
from raikit.federated._partition import Partition, partition
from raikit.federated._train import FederatedClassifier, federated_train

__all__ = [
    "FederatedClassifier",
    "FederatedMetricsResult",
    "Partition",
    "client_counts",
    "federated_group_metrics",
    "federated_train",
    "partition",
]
