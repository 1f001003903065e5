"""Edgeworth series for the density of one output f(x) from its cumulants (docs/physics.md §4.4): a truncated
asymptotic series in 1/N, not the exact finite-N density (docs/physics.md §4.3).

With z = f/σ and standardized cumulants λ_n = κ_n/σⁿ, the density is φ(z)·Σ c_n He_n(z)/σ, where the c_n
are the coefficients of tⁿ in exp(λ₃t³/3! + λ₄t⁴/4! + λ₆t⁶/6!) kept through order 1/N² of the Edgeworth
counting (λ_n ~ N^{−(n−2)/2}). For a symmetric law that is 1 + λ₄/24·He₄ + λ₆/720·He₆ + λ₄²/1152·He₈.
With κ₃ ≠ 0 the terms λ₃/6·He₃, λ₃²/72·He₆, λ₃λ₄/144·He₇, λ₃³/1296·He₉, λ₃²λ₄/1728·He₁₀ and λ₃⁴/31104·He₁₂ join. Every dropped product
has Hermite degree ≥ 9, so the returned density integrates to exactly 1 and its cumulants 2…8 are exactly
(σ², κ₃, κ₄, 0, κ₆, 0, 0) — it can dip below zero where the cumulants are large (small N).
"""
from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import hermite_e

# (order in 1/N, Hermite degree, coefficient, powers of λ₃, λ₄, λ₆)
_TERMS = (
    (0.5, 3, 1 / 6, 1, 0, 0),
    (1.0, 4, 1 / 24, 0, 1, 0),
    (1.0, 6, 1 / 72, 2, 0, 0),
    (1.5, 7, 1 / 144, 1, 1, 0),
    (1.5, 9, 1 / 1296, 3, 0, 0),
    (2.0, 6, 1 / 720, 0, 0, 1),
    (2.0, 8, 1 / 1152, 0, 2, 0),
    (2.0, 10, 1 / 1728, 2, 1, 0),
    (2.0, 12, 1 / 31104, 4, 0, 0),
)


def edgeworth_coefficients(l3: float, l4: float, l6: float) -> np.ndarray:
    """Coefficients c_n (n = 0…12) of He_n in the series, for standardized cumulants."""
    c = np.zeros(13)
    c[0] = 1.0
    for _, deg, coef, p3, p4, p6 in _TERMS:
        c[deg] += coef * l3**p3 * l4**p4 * l6**p6
    return c


def edgeworth_density(f_grid, variance: float, kappa4: float, kappa6: float = 0.0,
                      kappa3: float = 0.0) -> np.ndarray:
    """Density of f (zero mean) at f_grid in the output's own units, through order 1/N²."""
    f = np.asarray(f_grid, dtype=np.float64)
    if not variance > 0:
        raise ValueError(f"variance must be positive, got {variance!r}")
    sigma = math.sqrt(variance)
    z = f / sigma
    c = edgeworth_coefficients(kappa3 / sigma**3, kappa4 / sigma**4, kappa6 / sigma**6)
    phi = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return phi * hermite_e.hermeval(z, c) / sigma
