"""NNGP/NTK pair moments of gelu, silu and softplus under the laplace prior at d > 1, from the pair's
characteristic function χ as in `fourier_pair` (docs/physics.md §4.2).

φ = z/2 + e(z) with e even and growing like |z|/2, whose transform has a 1/k² pole; but e″ = g is integrable with
an analytic transform G (G(0) = 1):

    gelu      e = z(Φ(z) − ½)        G = (1 + k²)e^{−k²/2}
    silu      e = (z/2)tanh(z/2)     G = π²k²cosh(πk)/sinh²(πk)
    softplus  e = log(2cosh(z/2))    G = πk/sinh(πk)

and e(z) = e(0) + (1/2π)∫ G(k)(1 − cos kz)/k² dk (both sides have second derivative g, value e(0) and slope 0 at
0). With E[cos k₁z_i] = χ(k₁, 0) and E[cos k₁z_i cos k₂z_j] = (χ(k₁, k₂) + χ(k₁, −k₂))/2,

    E[e(z) − e₀] = (1/π) ∫_{k>0} G(1 − χ₁(k))/k² dk,
    E[(e_i − e₀)(e_j − e₀)] = (1/π²) ∫∫_{k>0} G(k₁)G(k₂) B(k)/(k₁²k₂²) dk,
    B = 1 − χ(k₁, 0) − χ(0, k₂) + (χ(k₁, k₂) + χ(k₁, −k₂))/2   (O(k₁²k₂²) at the axes: a regular integrand),

and E[φφ] = a_i·a_j/4 + E[e_ie_j] (E[z e] = 0 by symmetry). φ′ = ½ + e′ with e′ odd, ê′ = −2i(G/2)/k: E[φ′φ′] =
¼ + `fourier_pair`'s fold with S = G/2. The same midpoint trapezoid grids.
"""
from __future__ import annotations

import math

import numpy as np

from .fourier_grid import BLOCK, axis, char

E0 = {"gelu": 0.0, "silu": 0.0, "softplus": math.log(2.0)}


def second_derivative_transform(name: str, k: np.ndarray) -> np.ndarray:
    """G(k), the transform of e″ (see the module docstring)."""
    if name == "gelu":
        return (1.0 + k * k) * np.exp(-0.5 * k * k)
    e = np.exp(-math.pi * k)
    if name == "silu":   # π²k²cosh/sinh² = 2π²k²e^{−πk}(1 + e^{−2πk})/(1 − e^{−2πk})²
        return 2.0 * (math.pi * k) ** 2 * e * (1.0 + e * e) / (1.0 - e * e) ** 2
    return 2.0 * math.pi * k * e / (1.0 - e * e)      # softplus: πk/sinh(πk)


def _one_minus_chi(k: np.ndarray, a: np.ndarray) -> np.ndarray:
    """1 − Π_l 1/(1 + k²a_l²/2), without cancellation at small k."""
    log_prod = np.log1p(0.5 * np.outer(k, a) ** 2).sum(axis=1)
    return -np.expm1(-log_prod)


def _covariance_part(a_i: np.ndarray, a_j: np.ndarray, k1: np.ndarray, k2: np.ndarray) -> np.ndarray:
    """(χ(k₁, k₂) + χ(k₁, −k₂))/2 − χ(k₁, 0)χ(0, k₂) on the grid, O(k₁²k₂²) at the axes, to full relative
    precision: per parameter 1 + (k₁α + k₂β)²/2 = P(1 ± μ) with P = 1 + (k₁α)²/2 + (k₂β)²/2, μ = k₁k₂αβ/P
    (|μ| < 1), and (1 + (k₁α)²/2)(1 + (k₂β)²/2) = P(1 + μ²P/4), so the difference is
    Π P⁻¹·e^{Z}·expm1(X − Z + log cosh Y), X = −½Σ log(1 − μ²), Y = Σ atanh μ, Z = −Σ log(1 + μ²P/4)."""
    shape = (len(k1), len(k2))
    log_p, x, y, z = np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for l in range(len(a_i)):
        u, v = 0.5 * (k1 * a_i[l]) ** 2, 0.5 * (k2 * a_j[l]) ** 2
        p = 1.0 + u[:, None] + v[None, :]
        mu = np.outer(k1 * a_i[l], k2 * a_j[l]) / p
        log_p += np.log(p)
        x -= 0.5 * np.log1p(-mu * mu)
        y += np.arctanh(mu)
        z -= np.log1p(0.25 * mu * mu * p)
    log_cosh = np.log1p(2.0 * np.sinh(0.5 * y) ** 2)
    return np.exp(z - log_p) * np.expm1(x - z + log_cosh)


def pair_kernel(name: str, a_i: np.ndarray, a_j: np.ndarray) -> tuple[float, float]:
    """(E[φ(z_i)φ(z_j)], E[φ′(z_i)φ′(z_j)]) for live coefficient rows a_i, a_j."""
    k1, k2 = axis(name, a_i), axis(name, a_j)
    h1, h2 = 2 * k1[0], 2 * k2[0]
    g1, g2 = second_derivative_transform(name, k1), second_derivative_transform(name, k2)
    m1, m2 = _one_minus_chi(k1, a_i), _one_minus_chi(k2, a_j)       # 1 − χ(k₁, 0), 1 − χ(0, k₂)
    w1, w2 = g1 / k1**2, g2 / k2**2
    even = odd = 0.0
    rows = max(1, BLOCK // len(k2))
    for lo in range(0, len(k1), rows):
        block = slice(lo, lo + rows)
        plus, minus = char(a_i, a_j, k1[block], k2, 1.0), char(a_i, a_j, k1[block], k2, -1.0)
        # B = (1 − χ₁)(1 − χ₂) + [(χ₊ + χ₋)/2 − χ₁χ₂], both parts positive and without cancellation
        b = np.outer(m1[block], m2) + _covariance_part(a_i, a_j, k1[block], k2)
        even += w1[block] @ b @ w2
        odd += (0.5 * g1[block] / k1[block]) @ (plus - minus) @ (0.5 * g2 / k2)
    e0 = E0[name]
    mean_i, mean_j = h1 / math.pi * float(w1 @ m1), h2 / math.pi * float(w2 @ m2)
    e_phi = float(a_i @ a_j) / 4 + e0 * e0 + e0 * (mean_i + mean_j) + h1 * h2 / math.pi**2 * even
    e_dphi = 0.25 - (2.0 / math.pi**2) * h1 * h2 * odd
    return e_phi, e_dphi
