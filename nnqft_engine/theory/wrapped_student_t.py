"""The wrapped CDF of a student-t bias: the mass of b mod 2π on an arc, fast (docs/physics.md §4.6).

For b = σ·t (σ = σ_b√((ν−2)/ν), t ~ t_ν) the mass on the arcs [lo, hi] + 2πk (0 ≤ hi − lo ≤ 2π) is
J(hi) − J(lo) with J(c) = Σ_k [F_b(c + 2πk) − [k ≥ 1]] on one period c ∈ [−π, π] (J(π) = J(−π) + 1; an arc
that runs past π wraps). J = F_b + S: S, the images k ≠ 0, is analytic on the period (its nearest singularities
lie π beyond the ends) and is one Chebyshev series; the images beyond |k| = 200 by the midpoint rule on the
tail's closed-form integral (E[(t − a)⁺] = (ν + a²)/(ν − 1)·f(a) − a(1 − F(a))). J is read back by cubic Hermite
interpolation on a uniform grid in v = asinh(c/d), d = σ_b√(ν − 2) the distance of F_b's poles from the axis,
so a narrow b's step is as well resolved as the tails.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.polynomial import chebyshev
from scipy import special

_IMAGES = 200          # images summed term by term on each side (beyond: the midpoint rule, error ~1e-16)
_CHEB_DEGREE = 48      # S on [−π, π]: its singularities π beyond the ends leave ~1e-16
_V_STEP = 1e-3         # grid step in v (and in c): cubic Hermite error h⁴·|g⁗|/384 ~ 1e-13


def _tail_integral(a: np.ndarray, dof: float) -> np.ndarray:
    """∫_a^∞ (1 − F_ν(t)) dt = E[(t − a)⁺] for t ~ t_ν (a large and positive here)."""
    pdf = np.exp(special.gammaln((dof + 1) / 2) - special.gammaln(dof / 2)) / math.sqrt(dof * math.pi) \
        * (1.0 + a * a / dof) ** (-(dof + 1) / 2)
    return (dof + a * a) / (dof - 1) * pdf - a * special.stdtr(dof, -a)


class WrappedStudentT:
    """J(c) of b = σ_b·(unit-variance t_ν) and the arc masses from it."""

    def __init__(self, sigma_b: float, dof: float):
        self.scale = sigma_b * math.sqrt((dof - 2) / dof)
        self.dof = dof
        self.d = sigma_b * math.sqrt(dof - 2)
        # S on [−π, π] by Chebyshev interpolation (images 1 ≤ |k| ≤ _IMAGES exactly, the rest by the midpoint rule)
        nodes = math.pi * np.cos(math.pi * (np.arange(_CHEB_DEGREE + 1) + 0.5) / (_CHEB_DEGREE + 1))
        k = np.arange(1, _IMAGES + 1)
        up = special.stdtr(dof, -(nodes[:, None] + 2 * math.pi * k) / self.scale).sum(1)     # Σ (1 − F(c + 2πk))
        down = special.stdtr(dof, (nodes[:, None] - 2 * math.pi * k) / self.scale).sum(1)    # Σ F(c − 2πk)
        edge = 2 * math.pi * (_IMAGES + 0.5)
        up += self.scale * _tail_integral((nodes + edge) / self.scale, dof) / (2 * math.pi)
        down += self.scale * _tail_integral((edge - nodes) / self.scale, dof) / (2 * math.pi)
        self._s = chebyshev.Chebyshev.fit(nodes, down - up, _CHEB_DEGREE, domain=[-math.pi, math.pi])
        self._ds = self._s.deriv()
        self.v_max = math.asinh(math.pi / self.d)
        # the step in c stays ≤ _V_STEP too: a wide b's wrapped density still oscillates on the scale of 1 in c
        count = int(math.ceil(2 * self.v_max * max(1.0, self.d) / _V_STEP))
        self.h = 2 * self.v_max / count
        v = -self.v_max + self.h * np.arange(count + 1)
        c = self.d * np.sinh(v)
        self.g = special.stdtr(dof, c / self.scale) + self._s(c)
        dens = np.exp(special.gammaln((dof + 1) / 2) - special.gammaln(dof / 2)) / math.sqrt(dof * math.pi) \
            * (1.0 + (c / self.scale) ** 2 / dof) ** (-(dof + 1) / 2) / self.scale
        self.m = self.h * (dens + self._ds(c)) * self.d * np.cosh(v)   # h·dJ/dv

    def __call__(self, c: np.ndarray) -> np.ndarray:
        """J(c), c ∈ [−π, π]."""
        v = (np.arcsinh(np.asarray(c, dtype=np.float64) / self.d) + self.v_max) / self.h
        i = np.clip(v.astype(np.int64), 0, len(self.g) - 2)
        t = v - i
        g0, g1, m0, m1 = self.g[i], self.g[i + 1], self.m[i], self.m[i + 1]
        return g0 + t * (m0 + t * (3 * (g1 - g0) - 2 * m0 - m1 + t * (2 * (g0 - g1) + m0 + m1)))

    def arc_mass(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """P(b mod 2π ∈ [lo, hi] mod 2π) for 0 ≤ hi − lo ≤ 2π."""
        shift = 2 * math.pi * np.floor((lo + math.pi) / (2 * math.pi))
        lo, hi = lo - shift, hi - shift
        wrap = hi > math.pi
        hi = np.where(wrap, hi - 2 * math.pi, hi)
        return np.clip(self(hi) - self(lo) + wrap, 0.0, 1.0)


@lru_cache(maxsize=8)
def wrapped(sigma_b: float, dof: float) -> WrappedStudentT:
    return WrappedStudentT(sigma_b, dof)


__all__ = ["WrappedStudentT", "wrapped"]
