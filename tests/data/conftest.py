"""Fixtures of the data-stage tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_openmp_thread():
    """Gradient boosting with one OpenMP thread: on a shared 2-core machine, busy-waiting OpenMP
    threads make small fits many times slower (and the results do not depend on it)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="session")
def adult():
    from raikit.datasets import load_adult

    return load_adult()


@pytest.fixture(scope="session")
def adult_profile(adult):
    from raikit.data import profile

    return profile(adult, random_state=0)
