"""The free scalar field as a cos-net, its α-family, and its exact finite-width 4-point function
(docs/physics.md §7, §4).

φ(x) = Σᵢ aᵢ A(bᵢ) cos(bᵢ·x + cᵢ),  aᵢ ~ N(0, 1/N),  cᵢ ~ U[−π, π],  bᵢ ~ q_α(b) ∝ (b²+m²)^{−(1+α)} on |b| < Λ,
A(b)² = 2 Z_α (b²+m²)^α/(2π)^d with Z_α = ∫_{|b|<Λ} (b²+m²)^{−(1+α)}, so that A²q_α/2 = 1/((2π)^d (b²+m²)) and
G2 = G_Λ for every α and N. (2307.03223's √(2vol/(σ_a²(2π)^d)) normalisation is α = −1 with σ_a absorbed.)
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from .propagator import propagator, radial_transform
from .spec import FieldSpec

_TABLE = 1 << 15


class MomentumLaw:
    """Radial law of |b| by a tabulated inverse CDF (float64, 2¹⁵ nodes in t = asinh(p/m))."""

    def __init__(self, dim: int, mass: float, cutoff: float, alpha: float):
        self.dim, self.mass, self.alpha = dim, mass, alpha
        t = np.linspace(0.0, math.asinh(cutoff / mass), _TABLE + 1)
        p = mass * np.sinh(t)
        dens = (p * p + mass * mass) ** (-(1.0 + alpha)) * p ** (dim - 1) * mass * np.cosh(t)
        # Cumulative Simpson on half-steps would need midpoints; the trapezoid on 2¹⁵ panels is ~1e-9 here.
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(t))])
        self.total = float(cdf[-1])
        self._cdf = torch.as_tensor(cdf / cdf[-1])
        self._t = torch.as_tensor(t)
        # Z_α: the same integral over the whole ball (angular factor 2, 2π, 4π).
        self.z_alpha = float(radial_transform(dim, mass, cutoff, -(1.0 + alpha), [0.0])[0])

    def amplitude_sq(self, p2: torch.Tensor) -> torch.Tensor:
        """A(b)² at |b|² = p2."""
        return 2.0 * self.z_alpha * (p2 + self.mass**2) ** self.alpha / (2 * math.pi) ** self.dim

    def sample(self, shape: tuple[int, ...], gen: torch.Generator, device: torch.device,
               dtype: torch.dtype) -> torch.Tensor:
        """Momenta b of shape shape + (dim,)."""
        u = torch.rand(shape, generator=gen, device=device, dtype=torch.float64)
        cdf, tt = self._cdf.to(device), self._t.to(device)
        k = torch.searchsorted(cdf, u.reshape(-1)).clamp(1, len(cdf) - 1)
        c0, c1 = cdf[k - 1], cdf[k]
        frac = (u.reshape(-1) - c0) / torch.where(c1 > c0, c1 - c0, torch.ones_like(c0))
        radius = (self.mass * torch.sinh(tt[k - 1] + frac * (tt[k] - tt[k - 1]))).reshape(shape)
        if self.dim == 1:
            sign = torch.randint(0, 2, shape, generator=gen, device=device).to(torch.float64) * 2 - 1
            direction = sign[..., None]
        elif self.dim == 2:
            ang = torch.rand(shape, generator=gen, device=device, dtype=torch.float64) * (2 * math.pi)
            direction = torch.stack([torch.cos(ang), torch.sin(ang)], dim=-1)
        else:
            g = torch.randn(shape + (3,), generator=gen, device=device, dtype=torch.float64)
            direction = g / g.norm(dim=-1, keepdim=True).clamp_min(1e-300)
        return (radius[..., None] * direction).to(dtype)


@lru_cache(maxsize=32)
def momentum_law(dim: int, mass: float, cutoff: float, alpha: float) -> MomentumLaw:
    return MomentumLaw(dim, mass, cutoff, alpha)


def draw_neurons(spec: FieldSpec, shape: tuple[int, ...], gen: torch.Generator, device: torch.device,
                 dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Free-prior draws of `shape` neurons: weights w = a·A(b), momenta b (shape + (d,)), phases c."""
    law = momentum_law(spec.dim, spec.mass, spec.cutoff, spec.alpha)
    b = law.sample(shape, gen, device, torch.float64)
    c = (torch.rand(shape, generator=gen, device=device, dtype=torch.float64) * 2 - 1) * math.pi
    a = torch.randn(shape, generator=gen, device=device, dtype=torch.float64) / math.sqrt(spec.width)
    w = a * law.amplitude_sq((b * b).sum(-1)).sqrt()
    return w.to(dtype), b.to(dtype), c.to(dtype)


def field_at(w: torch.Tensor, b: torch.Tensor, c: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """φ at points x (P, d) for networks (..., N): returns (..., P)."""
    phase = torch.einsum("...nd,pd->...np", b, x) + c[..., None]
    return torch.einsum("...n,...np->...p", w, torch.cos(phase))


def sample_configurations(spec: FieldSpec, x, count: int, seed: int) -> np.ndarray:
    """`count` free field configurations at points x (P, d), float64: shape (count, P)."""
    from ..devices import make_generator
    gen = make_generator(seed, torch.device("cpu"), 7)
    w, b, c = draw_neurons(spec, (count, spec.width), gen, torch.device("cpu"), torch.float64)
    pts = torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(-1, spec.dim))
    out = [field_at(w[i], b[i], c[i], pts) for i in range(count)]
    return torch.stack(out).numpy()


def four_point_moment(spec: FieldSpec, x1, x2, x3, x4) -> np.ndarray:
    """H₁₂₃₄ = E_{b,c}[A⁴ Πₖ cos(b·xₖ + c)] by the phase average
    E_c[Π cos(θₖ + c)] = ⅛[cos(θ₁+θ₂−θ₃−θ₄) + cos(θ₁−θ₂+θ₃−θ₄) + cos(θ₁−θ₂−θ₃+θ₄)]
    and E_b[A⁴ cos(b·v)] = 4Z_α J_α(v)/(2π)^{2d}, J_α(v) = ∫_{|b|<Λ} (b²+m²)^{α−1} e^{ib·v}."""
    pts = [np.asarray(p, dtype=np.float64).reshape(-1, spec.dim) for p in (x1, x2, x3, x4)]
    vs = [pts[0] + pts[1] - pts[2] - pts[3], pts[0] - pts[1] + pts[2] - pts[3], pts[0] - pts[1] - pts[2] + pts[3]]
    dist = np.stack([np.linalg.norm(v, axis=-1) for v in vs])
    law = momentum_law(spec.dim, spec.mass, spec.cutoff, spec.alpha)
    j = radial_transform(spec.dim, spec.mass, spec.cutoff, spec.alpha - 1.0, dist)
    return law.z_alpha * j.sum(0) / (2.0 * (2 * math.pi) ** (2 * spec.dim))


def exact_g4c(spec: FieldSpec, x1, x2, x3, x4) -> np.ndarray:
    """Free connected 4-point function at width N (exact for every N; docs/physics.md §4.1, μ₄ = E[α⁴] = 3):
    G4c = (1/N)[3H₁₂₃₄ − (G₁₂G₃₄ + G₁₃G₂₄ + G₁₄G₂₃)]; arguments are rows of points (k, d)."""
    p = [np.asarray(v, dtype=np.float64).reshape(-1, spec.dim) for v in (x1, x2, x3, x4)]

    def g(a, b):
        return propagator(spec.dim, spec.mass, spec.cutoff, np.linalg.norm(a - b, axis=-1))

    gauss = g(p[0], p[1]) * g(p[2], p[3]) + g(p[0], p[2]) * g(p[1], p[3]) + g(p[0], p[3]) * g(p[1], p[2])
    return (3.0 * four_point_moment(spec, *p) - gauss) / spec.width


def exact_g4c_pair(spec: FieldSpec, x) -> np.ndarray:
    """Matrix G4c(xᵢ, xᵢ, xⱼ, xⱼ) of the free cos-net at width N."""
    pts = np.asarray(x, dtype=np.float64).reshape(-1, spec.dim)
    n = len(pts)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a, b = pts[i.ravel()], pts[j.ravel()]
    return exact_g4c(spec, a, a, b, b).reshape(n, n)


def g2_estimator_variance(spec: FieldSpec, x, y) -> np.ndarray:
    """Exact Var[φ(x)φ(y)] over the free ensemble (the ensemble G2 estimate's variance is this / M):
    G(0)² + G(x−y)² + G4c(x, x, y, y) — α enters only through the 1/N term."""
    xa = np.asarray(x, dtype=np.float64).reshape(-1, spec.dim)
    ya = np.asarray(y, dtype=np.float64).reshape(-1, spec.dim)
    g0 = propagator(spec.dim, spec.mass, spec.cutoff, np.zeros(1))[0]
    gr = propagator(spec.dim, spec.mass, spec.cutoff, np.linalg.norm(xa - ya, axis=-1))
    return g0 * g0 + gr * gr + exact_g4c(spec, xa, xa, ya, ya)
