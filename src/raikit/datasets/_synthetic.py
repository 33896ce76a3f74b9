"""Synthetic data with a controllable link between a sensitive attribute and the label."""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Literal, overload

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import multivariate_normal

if TYPE_CHECKING:
    from raikit.dataset import Dataset

__all__ = ["make_fairness_synthetic"]

_MEAN_POS = np.array([2.0, 2.0])
_COV_POS = np.array([[5.0, 1.0], [1.0, 5.0]])
_MEAN_NEG = np.array([-2.0, -2.0])
_COV_NEG = np.array([[10.0, 1.0], [1.0, 3.0]])

RandomStateLike = int | np.integer | np.random.Generator | np.random.RandomState | None


def _as_generator(random_state: RandomStateLike) -> np.random.Generator:
    """A numpy Generator from a seed, Generator or RandomState; never the global seed."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        seed = random_state.randint(np.iinfo(np.int64).max, dtype=np.int64)
        return np.random.default_rng(int(seed))
    if random_state is None or (
        isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    ):
        return np.random.default_rng(random_state)
    raise TypeError(
        f"random_state must be None, an int, a numpy Generator or RandomState, "
        f"got {type(random_state).__name__}."
    )


@overload
def make_fairness_synthetic(
    n_samples: int = ...,
    *,
    disc_factor: float = ...,
    random_state: RandomStateLike = ...,
    as_frame: Literal[False] = ...,
) -> Dataset: ...
@overload
def make_fairness_synthetic(
    n_samples: int = ...,
    *,
    disc_factor: float = ...,
    random_state: RandomStateLike = ...,
    as_frame: Literal[True],
) -> pd.DataFrame: ...
def make_fairness_synthetic(
    n_samples: int = 2000,
    *,
    disc_factor: float = math.pi / 4,
    random_state: RandomStateLike = None,
    as_frame: bool = False,
) -> Dataset | pd.DataFrame:
    """Generate the synthetic fairness data of Zafar et al. (AISTATS 2017).

    The generator used in the experiments of Zafar et al. and, with ``n_samples`` rows split
    evenly between the classes, in the FairBatch and FR-Train papers. Two features are drawn
    from a Gaussian per class, and a binary sensitive attribute ``z`` is drawn so that it is
    correlated with the label through the features::

        y = 1 (n_samples // 2 rows):             x ~ N([2, 2], [[5, 1], [1, 5]])
        y = 0 (n_samples - n_samples // 2 rows): x ~ N([-2, -2], [[10, 1], [1, 3]])
        x' = x @ R,  R = [[cos(d), -sin(d)], [sin(d), cos(d)]],  d = disc_factor
        z ~ Bernoulli(p1(x') / (p1(x') + p0(x')))

    where ``p1`` and ``p0`` are the densities of the two class-conditional Gaussians. The rows
    are shuffled before ``z`` is drawn.

    Parameters
    ----------
    n_samples : int, default 2000
        Number of rows (at least 2). The positive class gets ``n_samples // 2`` rows.
    disc_factor : float, default pi / 4
        Rotation angle ``d``. The smaller it is, the closer ``z`` follows ``y`` (at 0, ``z`` is
        drawn from the class posterior of the unrotated point); Zafar et al. use pi/4 and pi/8.
    random_state : int, numpy Generator, numpy RandomState or None, default None
        Seed of the draws. The global numpy seed is never used: ``None`` draws fresh entropy,
        an int seeds ``numpy.random.default_rng``, a RandomState supplies a seed.
    as_frame : bool, default False
        Return the pandas DataFrame instead of a :class:`~raikit.dataset.Dataset`.

    Returns
    -------
    Dataset or DataFrame
        Columns ``x1``, ``x2`` (``float64``), ``z`` and ``y`` (``int64``, values 0 and 1), with
        ``target="y"``, ``sensitive=["z"]`` and features ``x1``, ``x2``.

    Raises
    ------
    ValueError
        If ``n_samples`` is smaller than 2.

    See Also
    --------
    raikit.train.compare_mitigations : the comparison the FairBatch and FR-Train papers run on it.

    Notes
    -----
    The rotation follows the reference implementation of Zafar et al.
    (``X_aux = np.dot(X, rotation_mult)``, points as row vectors), which FairBatch and
    FR-Train reuse. The densities are compared on the log scale so that points far from both
    Gaussians do not divide zero by zero.

    References
    ----------
    .. [1] Zafar, M. B., Valera, I., Gomez Rodriguez, M. & Gummadi, K. P. (2017). Fairness
       Constraints: Mechanisms for Fair Classification. AISTATS 2017.
    .. [2] Roh, Y., Lee, K., Whang, S. E. & Suh, C. (2021). FairBatch: Batch Selection for
       Model Fairness. ICLR 2021.
    .. [3] Roh, Y., Lee, K., Whang, S. E. & Suh, C. (2020). FR-Train: A Mutual
       Information-Based Approach to Fair and Robust Training. ICML 2020.

    Examples
    --------
    >>> from raikit.datasets import make_fairness_synthetic
    >>> ds = make_fairness_synthetic(1000, random_state=0)
    >>> ds.n_rows, ds.target, ds.sensitive_names
    (1000, 'y', ['z'])
    >>> frame = make_fairness_synthetic(1000, random_state=0, as_frame=True)
    >>> list(frame.columns), int(frame["y"].sum())
    (['x1', 'x2', 'z', 'y'], 500)
    >>> frame.equals(make_fairness_synthetic(1000, random_state=0, as_frame=True))
    True
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
        raise TypeError(f"n_samples must be an int, got {type(n_samples).__name__}.")
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2 (one row per class), got {n_samples}.")
    rng = _as_generator(random_state)
    n_pos = int(n_samples) // 2
    n_neg = int(n_samples) - n_pos

    x_pos = rng.multivariate_normal(_MEAN_POS, _COV_POS, size=n_pos, method="cholesky")
    x_neg = rng.multivariate_normal(_MEAN_NEG, _COV_NEG, size=n_neg, method="cholesky")
    x = np.vstack([x_pos, x_neg])
    y = np.concatenate([np.ones(n_pos, dtype=np.int64), np.zeros(n_neg, dtype=np.int64)])
    order = rng.permutation(n_samples)
    x, y = x[order], y[order]

    cos, sin = math.cos(disc_factor), math.sin(disc_factor)
    rotation = np.array([[cos, -sin], [sin, cos]])
    x_rotated = x @ rotation
    log_p1 = np.atleast_1d(multivariate_normal(_MEAN_POS, _COV_POS).logpdf(x_rotated))
    log_p0 = np.atleast_1d(multivariate_normal(_MEAN_NEG, _COV_NEG).logpdf(x_rotated))
    prob_z1 = expit(log_p1 - log_p0)  # p1 / (p1 + p0)
    z = (rng.random(n_samples) < prob_z1).astype(np.int64)

    frame = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "z": z, "y": y})
    if as_frame:
        return frame
    from raikit.dataset import Dataset

    return Dataset(frame, target="y", sensitive=["z"], name="fairness_synthetic")
