"""FR-Train (Roh et al., ICML 2020): fair and robust training against two discriminators."""

from __future__ import annotations

import time

import numpy as np

from raikit._errors import DataError
from raikit.train._base import TorchClassifierBase
from raikit.train._common import import_torch, sensitive_codes

__all__ = ["FRTrainClassifier"]


class FRTrainClassifier(TorchClassifierBase):
    """A classifier trained against a fairness and a robustness discriminator (FR-Train).

    Three networks are trained together, full batch, with Adam:

    * the classifier, on ``(1 - lambda_f - lambda_r) x`` its weighted cross-entropy, minus
      ``lambda_f x`` the fairness discriminator's loss, plus ``lambda_r x`` the robustness
      discriminator's loss of calling the classifier's (x, prediction) pairs clean;
    * the fairness discriminator predicts the sensitive group (any number of groups, softmax)
      from the classifier's output (``constraint="dp"``) or from the output and the true label
      (``"eqodds"``) — the classifier learns to leave it nothing to find (mutual information);
    * the robustness discriminator tells the small clean validation set's (x, y) pairs from the
      training set's (x, prediction) pairs; every ``reweight_every`` epochs each training row is
      re-weighted by how clean the discriminator finds its (x, y): poisoned labels lose weight.

    Parameters
    ----------
    model : {"logistic", "mlp"}, default "logistic"
    constraint : {"dp", "eqodds"}, default "dp"
    lambda_f, lambda_r : float, default 0.5 and 0.3
        Weights of the fairness and robustness terms (``lambda_f + lambda_r < 1``).
    epochs : int, default 1000
    learning_rate : float, default 5e-3
    hidden_layer_sizes : tuple of int, default (64,)
    reweight_every : int, default 50
    class_weight : dict, "balanced" or None
    random_state : int, RandomState or None

    Attributes
    ----------
    classes_, coefs_, intercepts_, group_labels_, fit_time_
        As in :class:`FairBatchClassifier`.
    sample_weights_ : ndarray
        The final robustness weight of each training row (mean 1 times ``sample_weight``).

    Notes
    -----
    The label must be binary. Without ``clean_validation`` the robustness part is off and
    FR-Train is a fairness-only adversarial classifier.

    Examples
    --------
    >>> from raikit.datasets import make_fairness_synthetic
    >>> from raikit.train import FRTrainClassifier
    >>> train = make_fairness_synthetic(600, random_state=0)
    >>> clean = make_fairness_synthetic(100, random_state=1)
    >>> clf = FRTrainClassifier(epochs=50, random_state=0).fit(
    ...     train.X, train.y, sensitive_features=train.sensitive["z"],
    ...     clean_validation=(clean.X, clean.y, clean.sensitive["z"]))
    >>> clf.predict(train.X).shape, clf.sample_weights_.shape
    ((600,), (600,))
    """

    def __init__(
        self,
        *,
        model="logistic",
        constraint="dp",
        lambda_f=0.5,
        lambda_r=0.3,
        epochs=1000,
        learning_rate=5e-3,
        hidden_layer_sizes=(64,),
        reweight_every=50,
        class_weight=None,
        random_state=None,
    ):
        self.model = model
        self.constraint = constraint
        self.lambda_f = lambda_f
        self.lambda_r = lambda_r
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.hidden_layer_sizes = hidden_layer_sizes
        self.reweight_every = reweight_every
        self.class_weight = class_weight
        self.random_state = random_state

    def fit(
        self,
        X,
        y,
        *,
        sensitive_features=None,
        clean_validation=None,
        sample_weight=None,
        callback=None,
    ):
        """Train FR-Train.

        Parameters
        ----------
        X, y : training data (possibly poisoned)
        sensitive_features : array-like, Series or DataFrame
        clean_validation : tuple (X_val, y_val, s_val), optional
            A small trusted set, same columns as ``X``; ``s_val`` may be None.
        sample_weight : array-like, optional
        callback : callable, optional
            ``callback(epoch, n_epochs)`` after each epoch.
        """
        torch = import_torch()
        from raikit.train._torch_models import build_module, module_to_arrays, torch_seed

        if self.constraint not in ("dp", "eqodds"):
            raise DataError(
                f"FR-Train supports constraint 'dp' or 'eqodds', got {self.constraint!r}."
            )
        lf, lr_ = float(self.lambda_f), float(self.lambda_r)
        if lf < 0 or lr_ < 0 or lf + lr_ >= 1:
            raise DataError(
                f"lambda_f and lambda_r must be >= 0 with lambda_f + lambda_r < 1, got {lf}, {lr_}."
            )
        if not isinstance(self.model, str):
            raise DataError("FRTrainClassifier supports model='logistic' or 'mlp'.")
        X_enc, y_codes, weights = self._prepare_fit(X, y, sample_weight)
        if len(self.classes_) != 2:
            raise DataError(f"FR-Train needs a binary label, got {len(self.classes_)} classes.")
        n = len(y_codes)
        if sensitive_features is None:
            groups, self.group_labels_ = np.zeros(n, dtype=np.int64), ["all"]
        else:
            groups, self.group_labels_ = sensitive_codes(sensitive_features, n)
        n_groups = len(self.group_labels_)
        robust = clean_validation is not None and lr_ > 0
        if clean_validation is not None:
            if not isinstance(clean_validation, tuple | list) or len(clean_validation) != 3:
                raise DataError("clean_validation must be a tuple (X_val, y_val, s_val).")
            X_val, y_val, s_val = clean_validation
            if len(X_val) != len(y_val) or (s_val is not None and len(s_val) != len(y_val)):
                raise DataError(
                    "clean_validation's X_val, y_val and s_val must have equal lengths."
                )
            unknown = set(np.unique(np.asarray(y_val)).tolist()) - set(self.classes_.tolist())
            if unknown:
                raise DataError(f"clean_validation's y_val has labels {sorted(unknown)} not in y.")
            xv = self._encode_predict(X_val)
            yv = (np.asarray(y_val) == self.classes_[1]).astype(np.float32)
        seed = torch_seed(self.random_state)
        start = time.perf_counter()
        x = torch.from_numpy(X_enc)
        yt = torch.from_numpy(y_codes.astype(np.float32))
        zt = torch.from_numpy(groups)
        base_w = torch.from_numpy((weights / weights.mean()).astype(np.float32))
        w = base_w.clone()
        module = build_module(
            self.model, X_enc.shape[1], 1, hidden_layer_sizes=self.hidden_layer_sizes, seed=seed
        )
        f_in = 1 if self.constraint == "dp" else 2
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 1)
            d_fair = torch.nn.Linear(f_in, n_groups)
            # a linear discriminator on (x, y, x * (2y - 1)): the signed copy lets it see whether
            # a label agrees with its features, which (x, y) alone cannot show a linear model
            d_rob = torch.nn.Linear(2 * X_enc.shape[1] + 1, 1)
        lr = float(self.learning_rate)
        opt_g = torch.optim.Adam(module.parameters(), lr=lr)
        opt_f = torch.optim.Adam(d_fair.parameters(), lr=lr)
        opt_r = torch.optim.Adam(d_rob.parameters(), lr=lr)
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        ce = torch.nn.functional.cross_entropy

        def pair(features, label):
            return torch.cat([features, label[:, None], features * (2 * label[:, None] - 1)], 1)

        if robust:
            real = pair(torch.from_numpy(xv), torch.from_numpy(yv))
            clean_train = pair(x, yt)

        def fair_input(p):
            return p[:, None] if self.constraint == "dp" else torch.stack([p, yt], 1)

        epochs = int(self.epochs)
        if epochs < 1:
            raise DataError(f"epochs must be a positive integer, got {self.epochs!r}.")
        for epoch in range(epochs):
            p = torch.sigmoid(module(x)[:, 0])
            # 1. fairness discriminator: predict the group from the classifier's output
            if n_groups > 1 and lf > 0:
                opt_f.zero_grad()
                ce(d_fair(fair_input(p.detach())), zt, reduction="none").mul(w).mean().backward()
                opt_f.step()
            # 2. robustness discriminator: clean (x, y) vs training (x, prediction)
            if robust:
                opt_r.zero_grad()
                fake = pair(x, p.detach())
                loss_r = bce(d_rob(real)[:, 0], torch.ones(len(real))) + bce(
                    d_rob(fake)[:, 0], torch.zeros(len(fake))
                )
                loss_r.backward()
                opt_r.step()
            # 3. classifier
            opt_g.zero_grad()
            logits = module(x)[:, 0]
            p = torch.sigmoid(logits)
            loss = (1 - lf - lr_) * (bce(logits, yt, reduction="none") * w).mean()
            if n_groups > 1 and lf > 0:
                loss = loss - lf * (ce(d_fair(fair_input(p)), zt, reduction="none") * w).mean()
            if robust:
                fooled = d_rob(pair(x, p))[:, 0]
                loss = loss + lr_ * bce(fooled, torch.ones(len(fooled)))
            loss.backward()
            opt_g.step()
            # 4. re-weight the training rows by how clean their (x, y) look
            if robust and (epoch + 1) % int(self.reweight_every) == 0:
                with torch.no_grad():
                    clean = torch.sigmoid(d_rob(clean_train)[:, 0])
                    w = base_w * clean / clean.mean()
            if callback is not None:
                callback(epoch + 1, epochs)
        self.fit_time_ = time.perf_counter() - start
        self.coefs_, self.intercepts_, self.state_ = module_to_arrays(self.model, module)
        self.sample_weights_ = w.numpy().astype(np.float64)
        return self
