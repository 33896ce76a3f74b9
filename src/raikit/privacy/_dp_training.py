"""DP-SGD classifiers with a scikit-learn API, trained by Opacus.

Opacus does everything private: per-sample gradient clipping, Gaussian noise, Poisson sampling of
batches and the accountant (RDP or PRV) that turns a target epsilon into a noise multiplier and
reports the epsilon actually spent. This module only adapts it to ``fit``/``predict``.
"""

from __future__ import annotations

import copy
import math

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from raikit._errors import DataError, RaikitError

__all__ = ["DPClassifier"]


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
    model : {"logistic", "mlp"} or torch.nn.Module, default "logistic"
        Logistic regression, a ReLU multi-layer perceptron, or your own module mapping
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
        Layers of ``model="mlp"``.
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
        The trained network.
    epsilon_ : float
        Epsilon spent, as reported by the Opacus accountant for ``delta_``.
    delta_ : float
    noise_multiplier_ : float
        Noise standard deviation over the clipping norm that the accountant chose.

    Notes
    -----
    Features should be numeric and scaled with public knowledge (e.g. known ranges); scaling them
    with statistics of the private data is not covered by the privacy guarantee.

    Examples
    --------
    >>> import numpy as np
    >>> from raikit.privacy import DPClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 3)); y = (X[:, 0] > 0).astype(int)
    >>> clf = DPClassifier(target_epsilon=2.0, epochs=2, batch_size=200, random_state=0).fit(X, y)
    >>> bool(clf.epsilon_ <= 2.0 + 1e-6), bool(clf.score(X, y) > 0.8)
    (True, True)
    """

    def __init__(
        self,
        *,
        model="logistic",
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
        self.model = model
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
        if isinstance(self.model, nn.Module):
            return copy.deepcopy(self.model)
        if self.model == "logistic":
            return nn.Linear(n_features, n_classes)
        if self.model == "mlp":
            layers, width = [], n_features
            for size in self.hidden_layer_sizes:
                layers += [nn.Linear(width, int(size)), nn.ReLU()]
                width = int(size)
            return nn.Sequential(*layers, nn.Linear(width, n_classes))
        raise DataError(
            f"model must be 'logistic', 'mlp' or a torch.nn.Module, got {self.model!r}."
        )

    def _check_params(self, n: int) -> tuple[float, float]:
        eps = self.target_epsilon
        if not isinstance(eps, int | float) or math.isnan(eps) or eps <= 0:
            raise DataError(
                f"target_epsilon must be a positive number (or inf for no privacy), got {eps!r}."
            )
        delta = self.target_delta if self.target_delta is not None else min(1e-5, 1.0 / n)
        if not 0 < delta < 1:
            raise DataError(f"target_delta must be in (0, 1), got {delta!r}.")
        if not self.max_grad_norm > 0:
            raise DataError(f"max_grad_norm must be positive, got {self.max_grad_norm!r}.")
        if int(self.epochs) < 1 or int(self.batch_size) < 1:
            raise DataError("epochs and batch_size must be at least 1.")
        if self.accountant not in ("rdp", "prv"):
            raise DataError(f"accountant must be 'rdp' or 'prv', got {self.accountant!r}.")
        return float(eps), float(delta)

    def fit(self, X, y):
        """Train with DP-SGD until the target epsilon is spent; returns ``self``."""
        import warnings

        with warnings.catch_warnings():
            # Opacus's notices about its (seedable) RNG, hooks and RDP orders are not for users.
            for message in (".*Secure RNG.*", ".*backward hook.*", ".*Optimal order.*"):
                warnings.filterwarnings("ignore", message=message)
            return self._fit(X, y)

    def _fit(self, X, y):
        torch = _torch()
        X, y = validate_data(self, X, y, dtype=np.float32)
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
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        module = self._build(torch, X.shape[1], len(self.classes_))
        data = torch.utils.data.TensorDataset(
            torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(codes.astype(np.int64))
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
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (softmax of the network's logits)."""
        torch = _torch()
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        with torch.no_grad():
            logits = self.module_(torch.from_numpy(np.ascontiguousarray(X)))
            return torch.softmax(logits, dim=1).numpy().astype(float)

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
