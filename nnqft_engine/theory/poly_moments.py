"""Pair expectations for φ whose derivatives are polynomials in φ itself (docs/physics.md §8.1).

tanh′ = 1 − tanh² and σ′ = σ − σ² (logistic), so φ⁽ᵐ⁾ = Pₘ(φ) with deg Pₘ = m + 1. Every inner (second-node)
expectation the deep recursion needs, E[φ⁽ⁿ⁾(v) | u] and E[φ(v)^b | u], is then a linear combination of the
five moments E[φ(v)^p | u], p = 1…5: one transcendental call and four products per node of the (pairs × n × n)
grid, where evaluating φ … φ⁗ and the powers separately takes about three times the passes over memory.
The cancellation in Pₘ (e.g. tanh⁗ = 16t − 40t³ + 24t⁵ as |t| → 1) costs ~1e-14 absolute on O(1) results.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial import polynomial as poly
from scipy import special

# φ and the coefficients of φ′ as a polynomial in φ
_BASES = {"tanh": (np.tanh, (1.0, 0.0, -1.0)), "sigmoid": (special.expit, (0.0, 1.0, -1.0))}
MAX_ORDER = 4


def supported(name: str) -> bool:
    return name in _BASES


@lru_cache(maxsize=None)
def coefficients(name: str) -> np.ndarray:
    """C (5, 6): φ⁽ᵐ⁾ = Σ_p C[m, p] φ^p for m = 0…4 (chain rule: d/dz P(φ) = P′(φ)·φ′)."""
    dphi = np.asarray(_BASES[name][1])
    out = np.zeros((MAX_ORDER + 1, MAX_ORDER + 2))
    c = np.array([0.0, 1.0])
    for m in range(MAX_ORDER + 1):
        out[m, :len(c)] = c
        c = poly.polymul(poly.polyder(c), dphi)
    out.flags.writeable = False
    return out


def pair_block(name: str, sa, c1, c2, rule1, rule2, tkeys) -> dict[tuple, np.ndarray]:
    """T[(m, n)] = E[φ⁽ᵐ⁾(u)φ⁽ⁿ⁾(v)] for (m, n) in tkeys and P[(a, 4 − a)] = E[φ(u)^a φ(v)^(4−a)], a = 1…3,
    with u = sa·z₁, v = c1·z₁ + c2·z₂ on the tensor rule (z₁, w₁) × (z₂, w₂) (sa, c1, c2 of shape (B,))."""
    (z1, w1), (z2, w2) = rule1, rule2
    fn, coef = _BASES[name][0], coefficients(name)
    t = c1[:, None, None] * z1[None, :, None] + c2[:, None, None] * z2[None, None, :]     # v, (B, n₁, n₂)
    fn(t, out=t)
    moments = [np.full(t.shape[:2], w2.sum()), t @ w2]                   # E[φ(v)^p | z₁], p = 0…5
    tp = t * t
    for _ in range(MAX_ORDER):
        moments.append(tp @ w2)
        if len(moments) < MAX_ORDER + 2:
            np.multiply(tp, t, out=tp)
    mom = np.stack(moments, axis=-1)                                     # (B, n₁, 6)
    upow = [np.ones(t.shape[:2]), fn(sa[:, None] * z1[None, :])]
    for _ in range(MAX_ORDER):
        upow.append(upow[-1] * upow[1])
    upow = np.stack(upow, axis=-1)                                       # φ(u)^p, (B, n₁, 6)
    du = upow @ coef.T                                                   # φ⁽ᵐ⁾(u), (B, n₁, 5)
    inner = mom @ coef.T                                                 # E[φ⁽ⁿ⁾(v) | z₁]
    out = {("T", m, n): (du[..., m] * inner[..., n]) @ w1 for m, n in tkeys}
    for a in (1, 2, 3):
        out[("P", a, 4 - a)] = (upow[..., a] * mom[..., 4 - a]) @ w1
    return out
