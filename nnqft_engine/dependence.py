"""Broken statistical independence of the parameters (docs/physics.md §5).

`readout_factors` returns, for a block of m networks, the factor multiplying each readout weight a_i.
All randomness comes from the block's generator, after the i.i.d. draws, so an i.i.d. spec draws
exactly the same networks whatever its mechanism's strength is set to when the mechanism is off.

shared-scale (strength v): one s per network with s² ~ Gamma(shape 1/v, scale v): E[s²] = 1, Var(s²) = v.

sequential (strength v) — "the sampling of certain parameters depends on already sampled parameters":
neuron 1 is drawn i.i.d.; the readout weight of every *later* neuron i ≥ 2 is drawn with variance
(σ_w²/N)·s², where s² = Q_v(F(u₁)) is a deterministic function of neuron 1's already-sampled first
input weight u₁ (standardized): F is the prior's CDF and Q_v the quantile function of Gamma(1/v, v).
So s² ~ Gamma(1/v, v) exactly (E[s²] = 1, Var(s²) = v): G2 stays the NNGP at every N, and because the
dependence reaches every later neuron (infinite range), G4c → v·(K̃₁₂K̃₃₄ + K̃₁₃K̃₂₄ + K̃₁₄K̃₂₃) ≠ 0 as
N → ∞, with K̃ = K − σ_b² = σ_w²H (the readout bias is not scaled; a non-Gaussian prior adds its constant
σ_b⁴(μ₄ − 3)). A nearest-neighbour rule (neuron i's readout variance set by neuron i−1's weight) would make the
terms m-dependent, and their connected cumulants would still vanish like 1/N. The exact finite-N theory
(neuron 1 correlates with s at O(1/N)) is in `finite_width`.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import special  # not scipy.stats: its import costs seconds of app start-up

from .spec import NetworkSpec, SpecError

SQRT3 = math.sqrt(3.0)


def _numpy_rng(gen: torch.Generator) -> np.random.Generator:
    seed = int(torch.randint(0, 2**62, (1,), generator=gen, device=gen.device).item())
    return np.random.default_rng(seed)


def gamma_moment(v: float, k: int) -> float:
    """E[(s²)^k] for s² ~ Gamma(shape 1/v, scale v) (mean 1, variance v): Π_{j<k} (1 + j v)."""
    return math.prod(1.0 + j * v for j in range(k))


def _prior_cdf_sf(prior: str, u: np.ndarray, dof: float) -> tuple[np.ndarray, np.ndarray]:
    """(F(u), 1 − F(u)) of the standardized prior, each accurate in its own tail."""
    if prior == "gaussian":
        return special.ndtr(u), special.ndtr(-u)
    if prior == "uniform":
        f = np.clip((u + SQRT3) / (2 * SQRT3), 0.0, 1.0)
        return f, 1.0 - f
    if prior == "laplace":
        e = 0.5 * np.exp(-math.sqrt(2.0) * np.abs(u))
        return np.where(u < 0, e, 1.0 - e), np.where(u < 0, 1.0 - e, e)
    if prior == "student-t":
        t = u * math.sqrt(dof / (dof - 2.0))
        return special.stdtr(dof, t), special.stdtr(dof, -t)
    raise SpecError(f"the sequential mechanism needs a continuous prior; {prior!r} is discrete")


def sequential_scale2(spec: NetworkSpec, u1: np.ndarray) -> np.ndarray:
    """s² = Q_v(F(u₁)) for standardized first weights u₁ (any shape): exactly Gamma(1/v, v) distributed."""
    v = spec.independence_strength
    u1 = np.asarray(u1, dtype=np.float64)
    cdf, sf = _prior_cdf_sf(spec.prior, u1, spec.prior_dof)
    # Invert through the smaller tail probability so both tails keep full precision.
    low = special.gammaincinv(1.0 / v, cdf) * v
    high = special.gammainccinv(1.0 / v, sf) * v
    return np.where(u1 < 0, low, high)


def check_mechanism(spec: NetworkSpec) -> None:
    """Raise SpecError for combinations a mechanism cannot serve."""
    if spec.independence == "sequential" and not spec.iid:
        _prior_cdf_sf(spec.prior, np.zeros(1), spec.prior_dof)


def readout_factors(spec: NetworkSpec, w1: torch.Tensor, gen: torch.Generator) -> torch.Tensor | float:
    """Multiplicative factors for the readout weights, shape (m, width), or 1.0 when i.i.d."""
    if spec.iid:
        return 1.0
    m = w1.shape[0]
    v = spec.independence_strength
    if spec.independence == "shared-scale":
        s2 = _numpy_rng(gen).gamma(shape=1.0 / v, scale=v, size=m)
        return torch.as_tensor(np.sqrt(s2), dtype=w1.dtype, device=w1.device)[:, None]
    if spec.independence == "sequential":
        check_mechanism(spec)
        if spec.sigma_w == 0:
            return 1.0
        u1 = w1[:, 0, 0].double().cpu().numpy() * math.sqrt(spec.input_dim) / spec.sigma_w
        s = np.sqrt(sequential_scale2(spec, u1))
        factors = np.ones((m, spec.width))
        factors[:, 1:] = s[:, None]
        return torch.as_tensor(factors, dtype=w1.dtype, device=w1.device)
    raise SpecError(f"unknown independence mechanism {spec.independence!r}")
