"""The cos-net's exact two-point function with a momentum cutoff, and its Λ→∞ closed forms (docs/physics.md §7).

Every momentum integral here is a radial transform ∫_{|p|<Λ} d^dp (p²+m²)^s e^{ip·v}; it is computed by
composite Gauss–Legendre in t with p = m·sinh t (smooth at the mass scale), with panels short enough for
the oscillation at the largest |v|. Float64 throughout.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..cancel import check_cancelled

_GL_NODES = 16
_MASS_PANELS = 48


def _angular(dim: int, s: np.ndarray) -> np.ndarray:
    """∫ over the sphere of e^{i s·û} (total solid angle at s = 0): 2cos s, 2πJ₀(s), 4π sin s / s."""
    if dim == 1:
        return 2.0 * np.cos(s)
    if dim == 2:
        return 2.0 * math.pi * special.j0(s)
    return 4.0 * math.pi * np.sinc(s / math.pi)


def radial_transform(dim: int, mass: float, cutoff: float, power: float, v) -> np.ndarray:
    """∫_{|p|<Λ} d^dp (p²+m²)^power e^{ip·v} for distances |v| (any shape), float64."""
    r = np.abs(np.asarray(v, dtype=np.float64))
    t_max = math.asinh(cutoff / mass)
    v_max = float(r.max()) if r.size else 0.0
    # Panel breaks: uniform in t (resolves the mass scale) plus uniform in p every π/(2|v|max).
    breaks = np.linspace(0.0, t_max, _MASS_PANELS + 1)
    n_osc = int(math.ceil(cutoff * v_max / (0.5 * math.pi)))
    if n_osc > 0:
        breaks = np.union1d(breaks, np.arcsinh(np.linspace(0.0, cutoff, n_osc + 1) / mass))
    x, w = np.polynomial.legendre.leggauss(_GL_NODES)
    lo, hi = breaks[:-1, None], breaks[1:, None]
    t = (0.5 * (hi - lo) * x[None, :] + 0.5 * (hi + lo)).ravel()
    wt = (0.5 * (hi - lo) * w[None, :]).ravel()
    p = mass * np.sinh(t)
    jac = mass * np.cosh(t)
    radial = np.exp(power * np.log(p * p + mass * mass)) * p ** (dim - 1) * jac * wt
    flat = r.ravel()
    out = np.empty_like(flat)
    step = max(1, 2_000_000 // max(1, p.size))
    for i in range(0, flat.size, step):
        check_cancelled()
        out[i:i + step] = _angular(dim, np.outer(flat[i:i + step], p)) @ radial
    return out.reshape(r.shape)


def propagator(dim: int, mass: float, cutoff: float, r) -> np.ndarray:
    """G_Λ(r) = ∫_{|p|<Λ} d^dp/(2π)^d e^{ip·r}/(p²+m²): the cos-net's G2 at every width."""
    return radial_transform(dim, mass, cutoff, -1.0, r) / (2 * math.pi) ** dim


def propagator_at_zero(dim: int, mass: float, cutoff: float) -> float:
    """Closed form of G_Λ(0): atan(Λ/m)/(πm), ln(1+Λ²/m²)/(4π), (Λ − m·atan(Λ/m))/(2π²)."""
    a = math.atan(cutoff / mass)
    if dim == 1:
        return a / (math.pi * mass)
    if dim == 2:
        return math.log1p((cutoff / mass) ** 2) / (4 * math.pi)
    return (cutoff - mass * a) / (2 * math.pi**2)


def propagator_infinite_cutoff(dim: int, mass: float, r) -> np.ndarray:
    """Λ→∞: e^{−m|r|}/(2m), K₀(mr)/(2π), e^{−mr}/(4πr) (infinite at r = 0 for d ≥ 2)."""
    r = np.abs(np.asarray(r, dtype=np.float64))
    with np.errstate(divide="ignore"):
        if dim == 1:
            return np.exp(-mass * r) / (2 * mass)
        if dim == 2:
            return special.k0(mass * r) / (2 * math.pi)
        return np.exp(-mass * r) / (4 * math.pi * r)


class PropagatorTable:
    """G_Λ(r) on [0, r_max] by a cubic spline through exact values every 1/(20Λ) (error ~1e-10·G(0))."""

    def __init__(self, dim: int, mass: float, cutoff: float, r_max: float):
        h = min(0.05 / cutoff, 0.05 / mass)
        n = int(math.ceil(r_max / h)) + 4
        grid = np.linspace(0.0, n * h, n + 1)
        from scipy.interpolate import (
            CubicSpline,  # lazy: scipy.interpolate costs ~0.4 s of app start-up
        )

        self._spline = CubicSpline(grid, propagator(dim, mass, cutoff, grid), bc_type=((1, 0.0), "not-a-knot"))
        self.r_max = float(grid[-1])

    def __call__(self, r) -> np.ndarray:
        r = np.abs(np.asarray(r, dtype=np.float64))
        if r.size and float(r.max()) > self.r_max:
            raise ValueError("distance beyond the propagator table")
        return self._spline(r)
