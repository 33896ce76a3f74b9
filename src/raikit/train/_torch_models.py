"""The torch networks behind raikit's classifiers, stored as numpy arrays so skops can save them.

A fitted classifier keeps its weights in ``coefs_`` / ``intercepts_`` (lists of numpy arrays, shaped
like scikit-learn's ``MLPClassifier``); prediction runs in numpy, and the torch module is rebuilt
from those arrays only when training. A user-supplied ``torch.nn.Module`` is kept as a state dict of
numpy arrays (``state_``) and rebuilt on a deep copy of the module.
"""

from __future__ import annotations

import copy

import numpy as np

from raikit._errors import ParameterError
from raikit.train._common import import_torch

__all__ = ["build_module", "forward_numpy", "module_to_arrays", "torch_seed"]


def torch_seed(random_state) -> int:
    """A 63-bit seed for torch from ``random_state`` (int, RandomState or None)."""
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(0, 2**31 - 1))


def _hidden(hidden_layer_sizes) -> tuple[int, ...]:
    sizes = (hidden_layer_sizes,) if np.isscalar(hidden_layer_sizes) else hidden_layer_sizes
    sizes = tuple(int(s) for s in sizes)
    if any(s < 1 for s in sizes):
        raise ParameterError(
            f"hidden_layer_sizes must be positive integers, got {hidden_layer_sizes!r}."
        )
    return sizes


def build_module(network, n_features: int, n_outputs: int, *, hidden_layer_sizes=(64,), seed: int):
    """A freshly initialised torch module (seeded without touching torch's global generator)."""
    torch = import_torch()
    nn = torch.nn
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if isinstance(network, str):
            if network == "logistic":
                return nn.Sequential(nn.Linear(n_features, n_outputs))
            if network == "mlp":
                layers, width = [], n_features
                for size in _hidden(hidden_layer_sizes):
                    layers += [nn.Linear(width, size), nn.ReLU()]
                    width = size
                layers.append(nn.Linear(width, n_outputs))
                return nn.Sequential(*layers)
            raise ParameterError(
                f"network must be 'logistic', 'mlp' or a torch.nn.Module, got {network!r}."
            )
        if isinstance(network, nn.Module):
            module = copy.deepcopy(network)
            for layer in module.modules():
                if hasattr(layer, "reset_parameters"):
                    layer.reset_parameters()
            return module
    raise ParameterError(
        f"network must be 'logistic', 'mlp' or a torch.nn.Module, got {type(network).__name__}."
    )


def module_to_arrays(network, module):
    """``(coefs, intercepts, state)``: numpy copies of the trained weights."""
    if isinstance(network, str):
        linears = [m for m in module if hasattr(m, "weight")]
        coefs = [m.weight.detach().cpu().numpy().T.astype(np.float64) for m in linears]
        intercepts = [m.bias.detach().cpu().numpy().astype(np.float64) for m in linears]
        return coefs, intercepts, None
    state = {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}
    return None, None, state


def load_arrays(network, module, coefs, intercepts, state) -> None:
    """Copy stored numpy weights back into ``module`` (for warm restarts and custom modules)."""
    torch = import_torch()
    if isinstance(network, str):
        linears = [m for m in module if hasattr(m, "weight")]
        with torch.no_grad():
            for layer, w, b in zip(linears, coefs, intercepts, strict=True):
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                layer.bias.copy_(torch.from_numpy(b))
    else:
        module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})


def forward_numpy(coefs, intercepts, X: np.ndarray) -> np.ndarray:
    """Logits of a ReLU network (or a linear model) stored as numpy arrays."""
    out = np.asarray(X, dtype=np.float64)
    for i, (w, b) in enumerate(zip(coefs, intercepts, strict=True)):
        out = out @ w + b
        if i < len(coefs) - 1:
            np.maximum(out, 0, out=out)
    return out


def forward_torch(network, state, X: np.ndarray, n_features: int, n_outputs: int) -> np.ndarray:
    """Logits of a user-supplied module rebuilt from its stored state dict."""
    torch = import_torch()
    module = copy.deepcopy(network)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    module.eval()
    with torch.no_grad():
        out = module(torch.as_tensor(np.asarray(X, dtype=np.float32)))
    return out.detach().cpu().numpy().astype(np.float64).reshape(len(X), n_outputs)
