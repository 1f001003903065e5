"""One record per activation: φ and φ′ in torch (sampling, training) and numpy float64 (theory), side by side
with its closed-form Gaussian expectations where they exist (as neural-tangents' `stax` layers define a
function and its kernel together). Every consumer reads the record; tests/engine/test_activations.py checks
φ′ against finite differences and every closed form against quadrature.

gauss-net (arXiv 2008.08601) is φ(z) = e^{z − q}, where q is the infinite-width pre-activation variance of
that layer at the same input (docs/physics.md §3): every function therefore takes `q`, which all others
ignore.
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

Pair = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Activation:
    """φ, φ′ and what the theory knows about them.

    `gaussian_pair(k11, k22, k12, q1, q2)` returns (E[φ(u)φ(v)], E[φ′(u)φ′(v)]) for (u, v) ~ N(0, [[k11, k12],
    [k12, k22]]) elementwise in closed form, or is None (then `kernels` integrates numerically).
    """

    name: str
    torch_fn: Callable[[torch.Tensor, torch.Tensor | float], torch.Tensor]
    numpy_fn: Callable[[np.ndarray, np.ndarray | float], np.ndarray]
    numpy_grad: Callable[[np.ndarray, np.ndarray | float], np.ndarray]
    inplace_fn: Callable[[torch.Tensor, torch.Tensor | float], torch.Tensor] | None = None
    torch_value_and_grad: Callable[[torch.Tensor, torch.Tensor | float], tuple[torch.Tensor, torch.Tensor]] | None \
        = None
    gaussian_pair: Callable[..., Pair] | None = None
    needs_variance: bool = False
    exponential: bool = False  # φ = e^{z−q}: first-layer expectations factor into the prior's MGF
    smooth: bool = True  # False where quadrature must respect a kink
    quadrature_scale: float = 1.0  # variance multiplier for quadrature node counts (nearest complex pole)

    @property
    def closed_form(self) -> bool:
        return self.gaussian_pair is not None

    def __call__(self, z: torch.Tensor, q: torch.Tensor | float = 0.0) -> torch.Tensor:
        return self.torch_fn(z, q)

    def apply_(self, z: torch.Tensor, q: torch.Tensor | float = 0.0) -> torch.Tensor:
        """φ(z), overwriting z where torch has an in-place kernel (saves a temporary in the sampler)."""
        return self.inplace_fn(z, q) if self.inplace_fn is not None else self.torch_fn(z, q)

    def value_and_grad(self, z: torch.Tensor, q: torch.Tensor | float = 0.0):
        """(φ(z), φ′(z)) with few passes over memory, or None where only autograd knows φ′."""
        return None if self.torch_value_and_grad is None else self.torch_value_and_grad(z, q)


# ---- closed-form Gaussian expectations ------------------------------------------------------------------

def _tensor(a) -> torch.Tensor:
    """A float64 tensor sharing memory with `a` where it can (large kernel matrices are never written)."""
    arr = np.asarray(a, dtype=np.float64)
    if not (arr.flags.writeable and arr.flags.c_contiguous):
        arr = np.array(arr)
    return torch.from_numpy(arr)


def _erf_pair(k11, k22, k12, q1=0.0, q2=0.0) -> Pair:
    """Arcsin kernel, in float64 torch with in-place ops: these run on P×P matrices every time a slider moves,
    and torch's vectorized asin is ~10× numpy's. ρ = 2k12/√((1+2k11)(1+2k22)); E[φφ] = (2/π) asin ρ;
    E[φ′φ′] = (4/π)/√((1+2k11)(1+2k22)) / √(1−ρ²)."""
    t11, t22, t12 = (_tensor(a) for a in (k11, k22, k12))
    inv = (1 + 2 * t11).rsqrt_() * (1 + 2 * t22).rsqrt_()
    rho = torch.mul(t12, inv).mul_(2.0).clamp_(-1.0, 1.0)
    e = torch.asin(rho).mul_(2 / math.pi)
    de = rho.mul_(rho).neg_().add_(1.0).clamp_min_(1e-300).rsqrt_().mul_(inv).mul_(4 / math.pi)
    return e.numpy(), de.numpy()


def _relu_pair(k11, k22, k12, q1=0.0, q2=0.0) -> Pair:
    """Arc-cosine kernel of degree 1 (E[φφ]) and 0 (E[φ′φ′]), in float64 torch like `_erf_pair`."""
    t11, t22, t12 = (_tensor(a) for a in (k11, k22, k12))
    norm = (t11 * t22).sqrt_()
    safe = norm > 0
    cos_t = torch.where(safe, t12 / torch.where(safe, norm, 1.0), 0.0).clamp_(-1.0, 1.0)
    rest = cos_t.acos().neg_().add_(math.pi)                  # π − θ
    sin_t = torch.addcmul(torch.ones_like(cos_t), cos_t, cos_t, value=-1.0).clamp_min_(0.0).sqrt_()
    e = sin_t.addcmul_(rest, cos_t).mul_(norm).mul_(1 / (2 * math.pi))
    return e.numpy(), rest.mul_(1 / (2 * math.pi)).numpy()


def _trig_pairs(k11, k22, k12) -> Pair:
    """(E[sin u sin v], E[cos u cos v])."""
    k11, k22, k12 = (np.asarray(a, dtype=np.float64) for a in (k11, k22, k12))
    damp = 0.5 * np.exp(-(k11 + k22) / 2)
    return damp * (np.exp(k12) - np.exp(-k12)), damp * (np.exp(k12) + np.exp(-k12))


def _sin_pair(k11, k22, k12, q1=0.0, q2=0.0) -> Pair:
    return _trig_pairs(k11, k22, k12)


def _cos_pair(k11, k22, k12, q1=0.0, q2=0.0) -> Pair:
    ss, cc = _trig_pairs(k11, k22, k12)
    return cc, ss


def _linear_pair(k11, k22, k12, q1=0.0, q2=0.0) -> Pair:
    k12 = np.asarray(k12, dtype=np.float64)
    return k12, np.ones_like(k12)


def _gauss_net_pair(k11, k22, k12, q1=0.0, q2=0.0) -> Pair:
    """φ = e^{z−q}: E[e^{u+v}] = e^{(k11+k22)/2 + k12}; φ′ = φ."""
    k11, k22, k12 = (np.asarray(a, dtype=np.float64) for a in (k11, k22, k12))
    e = np.exp((k11 + k22) / 2 + k12 - np.asarray(q1) - np.asarray(q2))
    return e, e


# ---- numpy helpers ---------------------------------------------------------------------------------------

def _sigmoid_np(z):
    return special.expit(z)


def _gelu_np(z):
    return z * 0.5 * (1.0 + special.erf(z / SQRT2))


def _gelu_grad_np(z):
    return 0.5 * (1.0 + special.erf(z / SQRT2)) + z * INV_SQRT2PI * np.exp(-0.5 * z * z)


def _tanh_value_and_grad(z, q):
    h = torch.tanh(z)
    return h, 1.0 - h.square()


def _gauss_net_value_and_grad(z, q):
    h = torch.exp(z - q)
    return h, h


_ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", lambda z, q: torch.relu(z), lambda z, q: np.maximum(z, 0.0),
                   lambda z, q: (z > 0).astype(np.float64), inplace_fn=lambda z, q: z.relu_(),
                   torch_value_and_grad=lambda z, q: (torch.relu(z), (z > 0).to(z.dtype)),
                   gaussian_pair=_relu_pair, smooth=False),
        Activation("erf", lambda z, q: torch.erf(z), lambda z, q: special.erf(z),
                   lambda z, q: 2.0 / math.sqrt(math.pi) * np.exp(-z * z), inplace_fn=lambda z, q: z.erf_(),
                   torch_value_and_grad=lambda z, q: (torch.erf(z),
                                                      z.square().neg_().exp_().mul_(2.0 / math.sqrt(math.pi))),
                   gaussian_pair=_erf_pair),
        Activation("tanh", lambda z, q: torch.tanh(z), lambda z, q: np.tanh(z),
                   lambda z, q: 1.0 - np.tanh(z) ** 2, inplace_fn=lambda z, q: z.tanh_(),
                   torch_value_and_grad=_tanh_value_and_grad, quadrature_scale=4.0),
        Activation("gelu", lambda z, q: torch.nn.functional.gelu(z), lambda z, q: _gelu_np(z),
                   lambda z, q: _gelu_grad_np(z)),
        Activation("sigmoid", lambda z, q: torch.sigmoid(z), lambda z, q: _sigmoid_np(z),
                   lambda z, q: _sigmoid_np(z) * (1.0 - _sigmoid_np(z)), inplace_fn=lambda z, q: z.sigmoid_()),
        Activation("softplus", lambda z, q: torch.nn.functional.softplus(z), lambda z, q: np.logaddexp(0.0, z),
                   lambda z, q: _sigmoid_np(z)),
        Activation("silu", lambda z, q: torch.nn.functional.silu(z), lambda z, q: z * _sigmoid_np(z),
                   lambda z, q: _sigmoid_np(z) * (1.0 + z * (1.0 - _sigmoid_np(z))),
                   inplace_fn=lambda z, q: torch.nn.functional.silu(z, inplace=True)),
        Activation("sin", lambda z, q: torch.sin(z), lambda z, q: np.sin(z), lambda z, q: np.cos(z),
                   inplace_fn=lambda z, q: z.sin_(), torch_value_and_grad=lambda z, q: (torch.sin(z), torch.cos(z)),
                   gaussian_pair=_sin_pair),
        Activation("cos", lambda z, q: torch.cos(z), lambda z, q: np.cos(z), lambda z, q: -np.sin(z),
                   inplace_fn=lambda z, q: z.cos_(),
                   torch_value_and_grad=lambda z, q: (torch.cos(z), torch.sin(z).neg_()), gaussian_pair=_cos_pair),
        Activation("linear", lambda z, q: z, lambda z, q: np.asarray(z, dtype=np.float64),
                   lambda z, q: np.ones_like(z, dtype=np.float64), inplace_fn=lambda z, q: z,
                   torch_value_and_grad=lambda z, q: (z, torch.ones_like(z)), gaussian_pair=_linear_pair),
        Activation("gauss-net", lambda z, q: torch.exp(z - q), lambda z, q: np.exp(z - q),
                   lambda z, q: np.exp(z - q), inplace_fn=lambda z, q: z.sub_(q).exp_(),
                   torch_value_and_grad=_gauss_net_value_and_grad, gaussian_pair=_gauss_net_pair,
                   needs_variance=True, exponential=True),
    )
}


def get_activation(name: str) -> Activation:
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of: {', '.join(_ACTIVATIONS)}") from None


def activation_names() -> tuple[str, ...]:
    return tuple(_ACTIVATIONS)
