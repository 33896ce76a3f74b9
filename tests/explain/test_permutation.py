"""The vectorised permutation estimator of SHAP values against exact Shapley values and shap."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from raikit.explain._permutation import permutation_shap


def _exact_shapley(f, x, background):
    """Interventional Shapley values by enumerating every coalition (small F only)."""
    n_features = len(x)

    def value(coalition):
        Z = background.copy()
        Z[:, list(coalition)] = x[list(coalition)]
        return float(np.mean(f(Z)))

    phi = np.zeros(n_features)
    for j in range(n_features):
        others = [k for k in range(n_features) if k != j]
        for size in range(n_features):
            for coalition in itertools.combinations(others, size):
                weight = (
                    math.factorial(size)
                    * math.factorial(n_features - size - 1)
                    / math.factorial(n_features)
                )
                phi[j] += weight * (value((*coalition, j)) - value(coalition))
    return phi


def _interacting(Z):
    return Z[:, 0] * Z[:, 1] * Z[:, 2] + np.sin(Z[:, 2]) * Z[:, 3] + Z[:, 1] ** 2


def _pairwise(Z):
    return Z[:, 0] * Z[:, 1] + np.sin(Z[:, 2]) * Z[:, 3] + Z[:, 1] ** 2 * Z[:, 2]


def test_additive_model_is_exact_for_any_order():
    rng = np.random.default_rng(0)
    X, bg = rng.normal(size=(40, 3)), rng.normal(size=(25, 3))

    def f(Z):
        return 2 * Z[:, 0] + Z[:, 1] ** 2 - 3 * Z[:, 2]

    values, base = permutation_shap(f, X, bg, rng=rng)
    expected = np.column_stack(
        [
            2 * (X[:, 0] - bg[:, 0].mean()),
            X[:, 1] ** 2 - np.mean(bg[:, 1] ** 2),
            -3 * (X[:, 2] - bg[:, 2].mean()),
        ]
    )
    np.testing.assert_allclose(values, expected, atol=1e-12)
    assert base == pytest.approx(float(np.mean(f(bg))))


def test_two_features_equal_exact_shapley_and_shap():
    shap = pytest.importorskip("shap")
    rng = np.random.default_rng(1)
    X, bg = rng.normal(size=(15, 2)), rng.normal(size=(10, 2))

    def f(Z):
        return Z[:, 0] * Z[:, 1] + np.exp(Z[:, 0])

    values, base = permutation_shap(f, X, bg, rng=rng)
    exact = np.array([_exact_shapley(f, x, bg) for x in X])
    np.testing.assert_allclose(values, exact, atol=1e-12)
    masker = shap.maskers.Independent(bg, max_samples=len(bg))
    reference = shap.PermutationExplainer(f, masker, seed=0)(X, max_evals=5, silent=True)
    np.testing.assert_allclose(values, reference.values, atol=1e-10)
    np.testing.assert_allclose(base, reference.base_values, atol=1e-12)


def test_pairwise_interactions_are_exact_with_one_order_pair():
    """An order and its reverse put each feature before and after every other feature once, so
    the estimate is exact for any function of at most pairwise interactions."""
    rng = np.random.default_rng(6)
    X, bg = rng.normal(size=(6, 4)), rng.normal(size=(12, 4))
    values, _ = permutation_shap(_pairwise, X, bg, rng=rng)
    exact = np.array([_exact_shapley(_pairwise, x, bg) for x in X])
    np.testing.assert_allclose(values, exact, atol=1e-12)


def test_many_orders_converge_to_exact_shapley_with_interactions():
    rng = np.random.default_rng(2)
    X, bg = rng.normal(size=(3, 4)), rng.normal(size=(20, 4))
    values, _ = permutation_shap(_interacting, X, bg, n_permutations=400, rng=rng)
    exact = np.array([_exact_shapley(_interacting, x, bg) for x in X])
    np.testing.assert_allclose(values, exact, atol=0.05)
    one, _ = permutation_shap(_interacting, X, bg, rng=np.random.default_rng(3))
    assert np.abs(one - exact).max() > 1e-3  # a three-way term: one pair is only an estimate


def test_values_add_up_and_chunks_do_not_change_them(monkeypatch):
    import raikit.explain._permutation as module

    rng = np.random.default_rng(4)
    X, bg = rng.normal(size=(30, 4)), rng.normal(size=(8, 4))
    values, base = permutation_shap(_interacting, X, bg, rng=np.random.default_rng(5))
    np.testing.assert_allclose(values.sum(axis=1) + base, _interacting(X), atol=1e-12)
    monkeypatch.setattr(module, "CELLS_PER_CALL", 1)  # one row per model call
    chunked, _ = permutation_shap(_interacting, X, bg, rng=np.random.default_rng(5))
    np.testing.assert_allclose(chunked, values, atol=1e-12)


def test_one_feature_takes_the_whole_difference():
    X, bg = np.array([[3.0], [1.0]]), np.array([[0.0], [2.0]])
    values, base = permutation_shap(lambda Z: Z[:, 0] ** 2, X, bg, rng=np.random.default_rng(0))
    assert base == 2.0 and values.ravel().tolist() == [7.0, -1.0]
