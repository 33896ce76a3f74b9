"""DP-SGD classifiers with a scikit-learn API, trained by Opacus.

Opacus does everything private: per-sample gradient clipping, Gaussian noise, Poisson sampling of
batches and the accountant (RDP or PRV) that turns a target epsilon into a noise multiplier and
reports the epsilon actually spent. This module only adapts it to ``fit``/``predict``.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from raikit._errors import DataError, ParameterError, RaikitError

__all__ = ["DPClassifier"]


def _kind(dtype) -> str:
    """numpy kind of a column dtype (pandas extension dtypes included; categorical is "O")."""
    try:
        return np.dtype(dtype).kind
    except TypeError:
        return "O" if isinstance(dtype, pd.CategoricalDtype) else getattr(dtype, "kind", "O")


def _torch():
    try:
        import opacus  # noqa: F401
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RaikitError(
            'DPClassifier needs PyTorch and Opacus: pip install "raikit[privacy]".'
        ) from exc
    return torch


class DPClassifier(ClassifierMixin, BaseEstimator):
    """A classifier trained with differentially private SGD (Opacus), scikit-learn style.

    Parameters
    ----------
    network : {"logistic", "mlp"} or torch.nn.Module, default "logistic"
        The architecture: logistic regression, a ReLU multi-layer perceptron, or your own module mapping
        ``n_features`` floats to one logit per class (it is copied, never modified).
    target_epsilon : float, default 1.0
        Privacy budget of the whole training; ``float("inf")`` trains without privacy (baseline).
    target_delta : float, optional
        Default ``min(1e-5, 1 / n_samples)``.
    max_grad_norm : float, default 1.0
        Per-sample gradient clipping norm.
    epochs : int, default 5
    batch_size : int, default 1024
        Expected batch size (batches are Poisson-sampled with rate ``batch_size / n``).
    learning_rate : float, default 0.5
        SGD learning rate (momentum 0.9).
    hidden_layer_sizes : tuple of int, default (64,)
        Layers of ``network="mlp"``.
    accountant : {"rdp", "prv"}, default "rdp"
    random_state : int, optional
        Seeds initialisation, sampling and noise (so not secure RNG; use for experiments).
    source : PrivacySource or str, optional
        The registered data source ``X`` comes from: ``fit`` charges ``target_epsilon`` and the
        delta to its odometer before training, and is refused when they exceed what remains.

    Attributes
    ----------
    classes_, n_features_in_ : as in scikit-learn.
    module_ : torch.nn.Module
        The trained network. A model saved with :func:`raikit.save_model` (skops) keeps it as
        numpy arrays (its state dict) and rebuilds it on load, so the file holds no torch object
        (for ``network="logistic"`` and ``"mlp"``; a custom module is saved as itself).
    epsilon_ : float
        Epsilon spent, as reported by the Opacus accountant for ``delta_``.
    delta_ : float
    noise_multiplier_ : float
        Noise standard deviation over the clipping norm that the accountant chose.
    encoder_ : raikit.train.TabularEncoder or None
        The one-hot encoding of string and categorical columns (``None`` for numeric input).

    See Also
    --------
    raikit.privacy.PrivacySource : the budget it can spend from (``source=``).
    raikit.privacy.membership_inference : tests a model for leakage.

    Notes
    -----
    Numeric features should be scaled with public knowledge (e.g. known ranges); scaling them
    with statistics of the private data is not covered by the privacy guarantee, so DPClassifier
    passes numeric columns through unchanged. String, categorical and object columns of a
    DataFrame are one-hot encoded (as raikit's other estimators do); the list of levels is taken
    from the data, so a level seen in only a few rows is not protected by the guarantee — merge
    rare levels, or use levels known in advance, before fitting.

    Fitting draws its randomness from ``random_state`` only and leaves torch's global random
    state as it found it. Predictions are computed in float64, so they do not depend on the
    batch they are computed in.

    Examples
    --------
    >>> import numpy as np
    >>> from raikit.privacy import DPClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 3)); y = (X[:, 0] > 0).astype(int)
    >>> clf = DPClassifier(target_epsilon=2.0, epochs=2, batch_size=200, random_state=0).fit(X, y)
    >>> bool(clf.epsilon_ <= 2.0 + 1e-6), bool(clf.score(X, y) > 0.8)
    (True, True)

    String and categorical columns are one-hot encoded:

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": X[:, 0], "colour": np.where(X[:, 1] > 0, "red", "blue")})
    >>> clf = DPClassifier(target_epsilon=2.0, epochs=2, batch_size=200, random_state=0)
    >>> clf.fit(frame, y).predict_proba(frame.head(2)).shape
    (2, 2)
    """

    def __init__(
        self,
        *,
        network="logistic",
        target_epsilon: float = 1.0,
        target_delta: float | None = None,
        max_grad_norm: float = 1.0,
        epochs: int = 5,
        batch_size: int = 1024,
        learning_rate: float = 0.5,
        hidden_layer_sizes: tuple = (64,),
        accountant: str = "rdp",
        random_state: int | None = None,
        source=None,
    ) -> None:
        self.network = network
        self.target_epsilon = target_epsilon
        self.target_delta = target_delta
        self.max_grad_norm = max_grad_norm
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.hidden_layer_sizes = hidden_layer_sizes
        self.accountant = accountant
        self.random_state = random_state
        self.source = source

    def _build(self, torch, n_features: int, n_classes: int):
        nn = torch.nn
        if isinstance(self.network, nn.Module):
            return copy.deepcopy(self.network)
        if self.network == "logistic":
            return nn.Linear(n_features, n_classes)
        if self.network == "mlp":
            layers, width = [], n_features
            for size in self.hidden_layer_sizes:
                layers += [nn.Linear(width, int(size)), nn.ReLU()]
                width = int(size)
            return nn.Sequential(*layers, nn.Linear(width, n_classes))
        raise ParameterError(
            f"network must be 'logistic', 'mlp' or a torch.nn.Module, got {self.network!r}."
        )

    def _check_params(self, n: int) -> tuple[float, float]:
        eps = self.target_epsilon
        if not isinstance(eps, int | float) or math.isnan(eps) or eps <= 0:
            raise ParameterError(
                f"target_epsilon must be a positive number (or inf for no privacy), got {eps!r}."
            )
        delta = self.target_delta if self.target_delta is not None else min(1e-5, 1.0 / n)
        if not 0 < delta < 1:
            raise ParameterError(f"target_delta must be in (0, 1), got {delta!r}.")
        if not self.max_grad_norm > 0:
            raise ParameterError(f"max_grad_norm must be positive, got {self.max_grad_norm!r}.")
        if int(self.epochs) < 1 or int(self.batch_size) < 1:
            raise ParameterError("epochs and batch_size must be at least 1.")
        if self.accountant not in ("rdp", "prv"):
            raise ParameterError(f"accountant must be 'rdp' or 'prv', got {self.accountant!r}.")
        return float(eps), float(delta)

    def fit(self, X, y):
        """Train with DP-SGD until the target epsilon is spent; returns ``self``."""
        import warnings

        with warnings.catch_warnings():
            # Opacus's notices about its (seedable) RNG, hooks and RDP orders are not for users.
            for message in (".*Secure RNG.*", ".*backward hook.*", ".*Optimal order.*"):
                warnings.filterwarnings("ignore", message=message)
            return self._fit(X, y)

    def _encode_fit(self, X, y):
        """``(X, y)`` validated; tables with string or categorical columns are one-hot encoded."""
        self.encoder_ = None
        if not isinstance(X, pd.DataFrame) or all(_kind(t) in "fiub" for t in X.dtypes):
            return validate_data(self, X, y, dtype=np.float32)
        from raikit.train import TabularEncoder

        if y is None:
            raise ValueError("DPClassifier requires y to be passed, but the target y is None.")
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        missing = [str(c) for c in X.columns if _kind(X[c].dtype) in "fiub" and X[c].isna().any()]
        if missing:
            raise DataError(
                f"Numeric column(s) {missing} have missing values; fill them with a value chosen "
                f"from public knowledge before DPClassifier.fit (imputing from the private data "
                f"is not covered by the privacy guarantee)."
            )
        self.encoder_ = TabularEncoder(scale=False).fit(X)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        return self.encoder_.transform(X), y

    def _encode(self, X) -> np.ndarray:
        """``X`` for prediction, encoded as at fit time."""
        if getattr(self, "encoder_", None) is None:
            return validate_data(self, X, dtype=np.float32, reset=False)
        if not isinstance(X, pd.DataFrame):
            raise DataError(
                f"This DPClassifier was fitted on a table with columns "
                f"{self.feature_names_in_.tolist()}; pass a DataFrame with those columns."
            )
        return self.encoder_.transform(X)

    def _fit(self, X, y):
        torch = _torch()
        X, y = self._encode_fit(X, y)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise DataError(
                f"DPClassifier needs at least two classes in y, got 1 class: {self.classes_[0]!r}."
            )
        epsilon, delta = self._check_params(len(X))
        if self.source is not None:
            from raikit.privacy._table import open_source

            # The training's (epsilon, delta) are charged to the source before any step runs.
            open_source(self.source).spend_training(
                f"DPClassifier.fit({len(X)} rows)", epsilon=epsilon, delta=delta
            )
        seed = int(np.random.default_rng(self.random_state).integers(2**31 - 1))
        # Seed a private copy of torch's global generator (initialisation draws from it) and
        # restore the caller's state afterwards: fitting never changes torch's global RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            generator = torch.Generator().manual_seed(seed)
            self._train(torch, X, codes, epsilon, delta, generator)
        return self

    def _train(self, torch, X, codes, epsilon, delta, generator) -> None:
        module = self._build(torch, X.shape[1], len(self.classes_))
        data = torch.utils.data.TensorDataset(
            torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)),
            torch.from_numpy(codes.astype(np.int64)),
        )
        loader = torch.utils.data.DataLoader(
            data, batch_size=min(int(self.batch_size), len(X)), shuffle=True, generator=generator
        )
        optimizer = torch.optim.SGD(module.parameters(), lr=self.learning_rate, momentum=0.9)
        criterion = torch.nn.CrossEntropyLoss()
        if math.isinf(epsilon):
            engine = None
            self.noise_multiplier_ = 0.0
        else:
            from opacus import PrivacyEngine

            engine = PrivacyEngine(accountant=self.accountant)
            module, optimizer, loader = engine.make_private_with_epsilon(
                module=module,
                optimizer=optimizer,
                data_loader=loader,
                target_epsilon=epsilon,
                target_delta=delta,
                epochs=int(self.epochs),
                max_grad_norm=float(self.max_grad_norm),
                poisson_sampling=True,
                noise_generator=generator,
            )
            self.noise_multiplier_ = float(optimizer.noise_multiplier)
        module.train()
        for _ in range(int(self.epochs)):
            for features, labels in loader:
                if len(labels) == 0:  # Poisson sampling can draw an empty batch
                    continue
                optimizer.zero_grad()
                criterion(module(features), labels).backward()
                optimizer.step()
        module.eval()
        self.module_ = module._module if hasattr(module, "_module") else module
        self.delta_ = delta
        self.epsilon_ = float(engine.get_epsilon(delta)) if engine is not None else math.inf

    def __getstate__(self):
        """The fitted state with the network as numpy arrays (skops-safe; no torch objects)."""
        state = dict(super().__getstate__())  # a copy: object.__getstate__ returns __dict__
        if isinstance(self.network, str) and "module_" in state:
            module = state.pop("module_")
            state["module_state_"] = {
                str(key): value.detach().cpu().numpy().copy()
                for key, value in module.state_dict().items()
            }
        return state

    def __setstate__(self, state) -> None:
        """Rebuild the network of ``network="logistic"`` / ``"mlp"`` from its saved arrays."""
        state = dict(state)
        arrays = state.pop("module_state_", None)
        super().__setstate__(state)
        if arrays is None:
            return
        torch = _torch()
        first = arrays.get("weight", arrays.get("0.weight")) if isinstance(arrays, dict) else None
        if first is None or np.ndim(first) != 2:
            raise RaikitError("This saved DPClassifier has no first-layer weights; refit it.")
        try:
            with torch.random.fork_rng(devices=[]):  # rebuilding never touches torch's RNG
                module = self._build(torch, int(np.shape(first)[1]), len(self.classes_))
            module.load_state_dict(
                {key: torch.from_numpy(np.array(value)) for key, value in arrays.items()}
            )
        except (RuntimeError, TypeError, ValueError, IndexError) as error:
            raise RaikitError(
                f"The saved DPClassifier's weights do not fit its architecture "
                f"(network={self.network!r}, hidden_layer_sizes={self.hidden_layer_sizes!r}): {error}"
            ) from error
        self.module_ = module.eval()

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (softmax of the network's logits, computed in float64).

        Inference runs on a float64 copy of the trained network, so a row's probabilities do
        not depend on the other rows of the batch (float32 kernels round differently for
        different batch sizes on some CPUs).
        """
        torch = _torch()
        check_is_fitted(self)
        X = self._encode(X)
        module = copy.deepcopy(self.module_).to(torch.float64)
        with torch.no_grad():
            logits = module(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64)))
            return torch.softmax(logits, dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        """Most probable class."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of the second class (binary) or per-class log-probabilities."""
        check_is_fitted(self)
        proba = np.clip(self.predict_proba(X), 1e-12, 1)
        if len(self.classes_) == 2:
            return np.log(proba[:, 1]) - np.log(proba[:, 0])
        return np.log(proba)
