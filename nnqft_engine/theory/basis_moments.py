"""Pair expectations for φ whose derivatives are fixed combinations of a few functions (docs/physics.md §8.2).

tanh′ = 1 − tanh² and σ′ = σ − σ² (logistic), so φ⁽ᵐ⁾ = Pₘ(φ) with deg Pₘ = m + 1; silu = vσ(v), softplus′ = σ
and gelu = vΦ(v) (Φ′ = ϕ, the normal pdf) likewise: φ⁽ᵐ⁾(v) = Σⱼ C[m, j] bⱼ(v) over a short basis b. Every
inner (second-node) expectation the deep recursion needs, E[φ⁽ⁿ⁾(v) | z₁] and E[φ(v)^p | z₁] (p ≤ 3), is then
a combination of the basis moments E[bⱼ(v) | z₁]: one or two transcendental calls per node of the
(pairs × n₁ × n₂) grid and a product per basis function, where evaluating φ … φ⁗ and the powers separately
takes two to three times the passes over memory. The cancellation in C (e.g. tanh⁗ = 16t − 40t³ + 24t⁵ as
|t| → 1) costs ~1e-14 absolute on O(1) results.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator

import numpy as np
from numpy.polynomial import polynomial as poly
from scipy import special

MAX_ORDER = 4


@dataclass(frozen=True)
class Basis:
    """functions(v) yields the basis bⱼ(v) one array at a time (so only a few grid-sized arrays live at once;
    a constant as a float);
    derivatives (5, nb): φ⁽ᵐ⁾ = Σⱼ C[m, j] bⱼ; powers: the indices j of φ¹, φ², φ³ in the basis."""

    functions: Callable[[np.ndarray], Iterator[np.ndarray]]
    derivatives: np.ndarray
    powers: tuple[int, int, int]


def _chain(dphi) -> np.ndarray:
    """C (5, 6): φ⁽ᵐ⁾ = Σ_p C[m, p] φ^p when φ′ = Σ dphi[p] φ^p (chain rule: d/dz P(φ) = P′(φ)·φ′)."""
    out = np.zeros((MAX_ORDER + 1, MAX_ORDER + 2))
    c = np.array([0.0, 1.0])
    for m in range(MAX_ORDER + 1):
        out[m, :len(c)] = c
        c = poly.polymul(poly.polyder(c), dphi)
    return out


def _powers(t: np.ndarray, top: int) -> Iterator[np.ndarray | float]:
    """1, t, t², …, t^top (the running power is updated in place; the constant as a float, not a grid)."""
    yield 1.0
    yield t
    tp = t * t
    for p in range(2, top + 1):
        yield tp
        if p < top:
            np.multiply(tp, t, out=tp)


def _polynomial(fn) -> Callable[[np.ndarray], Iterator[np.ndarray]]:
    return lambda v: _powers(fn(v, out=v), MAX_ORDER + 1)


def _silu(v: np.ndarray) -> Iterator[np.ndarray]:
    # φ = vσ, φ⁽ᵏ⁾ = v·Sₖ(σ) + k·Sₖ₋₁(σ) with σ⁽ᵏ⁾ = Sₖ(σ): basis σ⁰…σ⁴, vσ¹…vσ⁵, (vσ)², (vσ)³
    s = special.expit(v)
    yield from _powers(s, MAX_ORDER)
    vs = v * s
    yield vs
    tmp = vs * s
    for p in range(2, MAX_ORDER + 2):
        yield tmp
        if p < MAX_ORDER + 1:
            np.multiply(tmp, s, out=tmp)
    np.multiply(vs, vs, out=tmp)
    yield tmp
    tmp *= vs
    yield tmp


def _silu_matrix() -> np.ndarray:
    s = _chain((0.0, 1.0, -1.0))                       # σ⁽ᵏ⁾ in powers of σ
    out = np.zeros((MAX_ORDER + 1, 12))
    for k in range(MAX_ORDER + 1):
        out[k, 5:10] = s[k, 1:6]                       # v·Sₖ(σ): S_k has no constant term
        if k:
            out[k, :5] += k * s[k - 1, :5]
    return out


def _softplus(v: np.ndarray) -> Iterator[np.ndarray]:
    # φ = log(1 + eᵛ), φ⁽ᵏ⁾ = σ⁽ᵏ⁻¹⁾ = Sₖ₋₁(σ): basis σ⁰…σ⁴, φ, φ², φ³
    yield from _powers(special.expit(v), MAX_ORDER)
    sp = np.logaddexp(0.0, v)
    yield sp
    tmp = sp * sp
    yield tmp
    tmp *= sp
    yield tmp


def _softplus_matrix() -> np.ndarray:
    s = _chain((0.0, 1.0, -1.0))
    out = np.zeros((MAX_ORDER + 1, 8))
    out[0, 5] = 1.0
    for k in range(1, MAX_ORDER + 1):
        out[k, :5] = s[k - 1, :5]
    return out


def _gelu(v: np.ndarray) -> Iterator[np.ndarray]:
    # φ = vΦ, φ′ = Φ + vϕ, φ″ = (2 − v²)ϕ, φ‴ = (v³ − 4v)ϕ, φ⁗ = (−v⁴ + 7v² − 4)ϕ: basis Φ, vΦ, vᵖϕ (p ≤ 4),
    # (vΦ)², (vΦ)³
    cdf = special.ndtr(v)
    yield cdf
    vc = v * cdf
    yield vc
    del cdf
    pdf = np.multiply(v, v)
    pdf *= -0.5
    np.exp(pdf, out=pdf)
    pdf *= 1.0 / np.sqrt(2 * np.pi)
    yield pdf
    for _ in range(4):
        pdf *= v
        yield pdf
    np.multiply(vc, vc, out=pdf)
    yield pdf
    pdf *= vc
    yield pdf


_GELU_MATRIX = np.array([
    # Φ  vΦ  ϕ   vϕ  v²ϕ v³ϕ v⁴ϕ (vΦ)² (vΦ)³
    [0, 1, 0, 0, 0, 0, 0, 0, 0],
    [1, 0, 0, 1, 0, 0, 0, 0, 0],
    [0, 0, 2, 0, -1, 0, 0, 0, 0],
    [0, 0, 0, -4, 0, 1, 0, 0, 0],
    [0, 0, -4, 0, 7, 0, -1, 0, 0],
], dtype=np.float64)


@lru_cache(maxsize=None)
def basis(name: str) -> Basis | None:
    """The basis of φ = name, or None where φ⁽ᵐ⁾ have none listed here."""
    sig = (0.0, 1.0, -1.0)
    table = {
        "tanh": lambda: Basis(_polynomial(np.tanh), _chain((1.0, 0.0, -1.0)), (1, 2, 3)),
        "sigmoid": lambda: Basis(_polynomial(special.expit), _chain(sig), (1, 2, 3)),
        "silu": lambda: Basis(_silu, _silu_matrix(), (5, 10, 11)),
        "softplus": lambda: Basis(_softplus, _softplus_matrix(), (5, 6, 7)),
        "gelu": lambda: Basis(_gelu, _GELU_MATRIX, (1, 7, 8)),
    }
    if name not in table:
        return None
    b = table[name]()
    b.derivatives.flags.writeable = False
    return b


def supported(name: str) -> bool:
    return basis(name) is not None


def pair_block(name: str, sa, c1, c2, rule1, rule2, tkeys) -> dict[tuple, np.ndarray]:
    """T[(m, n)] = E[φ⁽ᵐ⁾(u)φ⁽ⁿ⁾(v)] for (m, n) in tkeys and P[(a, 4 − a)] = E[φ(u)^a φ(v)^(4−a)], a = 1…3,
    with u = sa·z₁, v = c1·z₁ + c2·z₂ on the tensor rule (z₁, w₁) × (z₂, w₂) (sa, c1, c2 of shape (B,))."""
    (z1, w1), (z2, w2) = rule1, rule2
    b = basis(name)
    v = c1[:, None, None] * z1[None, :, None] + c2[:, None, None] * z2[None, None, :]     # (B, n₁, n₂)
    shape = v.shape[:2]
    mom = np.stack([f @ w2 if isinstance(f, np.ndarray) else np.full(shape, f * w2.sum())
                    for f in b.functions(v)], axis=-1)                  # E[bⱼ(v) | z₁], (B, n₁, nb)
    ub = np.stack([np.array(np.broadcast_to(f, shape)) for f in b.functions(sa[:, None] * z1[None, :])],
                  axis=-1)                                               # bⱼ(u), (B, n₁, nb)
    du = ub @ b.derivatives.T                                            # φ⁽ᵐ⁾(u)
    inner = mom @ b.derivatives.T                                        # E[φ⁽ⁿ⁾(v) | z₁]
    out = {("T", m, n): (du[..., m] * inner[..., n]) @ w1 for m, n in tkeys}
    for a in (1, 2, 3):
        out[("P", a, 4 - a)] = (ub[..., b.powers[a - 1]] * mom[..., b.powers[3 - a]]) @ w1
    return out
