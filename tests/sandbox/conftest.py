"""A small labelled table with predictions, a key, a signing key and an open session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit.sandbox import generate_key, open_sandbox


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "sex": rng.choice(["F", "M"], n),
            "region": rng.choice(["north", "south", "east", "tiny"], n, p=[0.4, 0.3, 0.28, 0.02]),
            "y": rng.integers(0, 2, n),
        }
    )
    frame["pred"] = (frame["age"] > 45).astype(int)
    path = tmp_path / "people.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def owner(tmp_path):
    """The data owner's key file and the attestor's signing key file."""
    return generate_key(tmp_path / "owner.key"), tmp_path / "sign.pem"


@pytest.fixture
def box(tmp_path, owner):
    key, sign = owner
    return open_sandbox(tmp_path / "box", key=key, attestor=sign, policy={"min_group_size": 5})
