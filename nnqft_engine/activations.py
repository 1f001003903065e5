"""Activation functions φ and their derivatives, in torch (sampling) and numpy float64 (theory).

gauss-net (arXiv 2008.08601) is φ(z) = e^{z − q}, where q is the infinite-width pre-activation variance
of that layer at the same input (physics.md §3): every function therefore takes `q`, which all others
ignore. `closed_form` names the analytic kernel family used by `kernels`, or None for quadrature.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from scipy import special

SQRT2 = math.sqrt(2.0)
INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Activation:
    name: str
    torch_fn: Callable[[torch.Tensor, torch.Tensor | float], torch.Tensor]
    numpy_fn: Callable[[np.ndarray, np.ndarray | float], np.ndarray]
    numpy_grad: Callable[[np.ndarray, np.ndarray | float], np.ndarray]
    closed_form: str | None = None
    needs_variance: bool = False
    smooth: bool = True  # False where quadrature must respect a kink
    quadrature_scale: float = 1.0  # variance multiplier for quadrature node counts (nearest complex pole)

    def __call__(self, z: torch.Tensor, q: torch.Tensor | float = 0.0) -> torch.Tensor:
        return self.torch_fn(z, q)

    def apply_(self, z: torch.Tensor, q: torch.Tensor | float = 0.0) -> torch.Tensor:
        """φ(z), overwriting z where torch has an in-place kernel (saves a temporary in the sampler)."""
        inplace = _INPLACE.get(self.name)
        return inplace(z, q) if inplace is not None else self.torch_fn(z, q)


def _sigmoid_np(z):
    return special.expit(z)


def _gelu_np(z):
    return z * 0.5 * (1.0 + special.erf(z / SQRT2))


def _gelu_grad_np(z):
    return 0.5 * (1.0 + special.erf(z / SQRT2)) + z * INV_SQRT2PI * np.exp(-0.5 * z * z)


_ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", lambda z, q: torch.relu(z), lambda z, q: np.maximum(z, 0.0),
                   lambda z, q: (z > 0).astype(np.float64), closed_form="relu", smooth=False),
        Activation("erf", lambda z, q: torch.erf(z), lambda z, q: special.erf(z),
                   lambda z, q: 2.0 / math.sqrt(math.pi) * np.exp(-z * z), closed_form="erf"),
        Activation("tanh", lambda z, q: torch.tanh(z), lambda z, q: np.tanh(z),
                   lambda z, q: 1.0 - np.tanh(z) ** 2, quadrature_scale=4.0),
        Activation("gelu", lambda z, q: torch.nn.functional.gelu(z), lambda z, q: _gelu_np(z),
                   lambda z, q: _gelu_grad_np(z)),
        Activation("sigmoid", lambda z, q: torch.sigmoid(z), lambda z, q: _sigmoid_np(z),
                   lambda z, q: _sigmoid_np(z) * (1.0 - _sigmoid_np(z))),
        Activation("softplus", lambda z, q: torch.nn.functional.softplus(z), lambda z, q: np.logaddexp(0.0, z),
                   lambda z, q: _sigmoid_np(z)),
        Activation("silu", lambda z, q: torch.nn.functional.silu(z), lambda z, q: z * _sigmoid_np(z),
                   lambda z, q: _sigmoid_np(z) * (1.0 + z * (1.0 - _sigmoid_np(z)))),
        Activation("sin", lambda z, q: torch.sin(z), lambda z, q: np.sin(z), lambda z, q: np.cos(z),
                   closed_form="sin"),
        Activation("cos", lambda z, q: torch.cos(z), lambda z, q: np.cos(z), lambda z, q: -np.sin(z),
                   closed_form="cos"),
        Activation("linear", lambda z, q: z, lambda z, q: np.asarray(z, dtype=np.float64),
                   lambda z, q: np.ones_like(z, dtype=np.float64), closed_form="linear"),
        Activation("gauss-net", lambda z, q: torch.exp(z - q), lambda z, q: np.exp(z - q),
                   lambda z, q: np.exp(z - q), closed_form="gauss-net", needs_variance=True),
    )
}


_INPLACE = {
    "relu": lambda z, q: z.relu_(),
    "erf": lambda z, q: z.erf_(),
    "tanh": lambda z, q: z.tanh_(),
    "sigmoid": lambda z, q: z.sigmoid_(),
    "silu": lambda z, q: torch.nn.functional.silu(z, inplace=True),
    "sin": lambda z, q: z.sin_(),
    "cos": lambda z, q: z.cos_(),
    "linear": lambda z, q: z,
    "gauss-net": lambda z, q: z.sub_(q).exp_(),
}


def get_activation(name: str) -> Activation:
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of: {', '.join(_ACTIVATIONS)}") from None


def activation_names() -> tuple[str, ...]:
    return tuple(_ACTIVATIONS)
