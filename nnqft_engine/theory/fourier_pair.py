"""First-layer pair moments of tanh, sigmoid and erf under the laplace prior at d > 1, in Fourier space
(docs/physics.md §4.2; gelu, silu and softplus: `fourier_growing`).

z_k = a_k·u with u's components i.i.d. standardized laplace, whose characteristic function 1/(1 + t²/2) is
rational: the pair (z_i, z_j) has E[e^{i(k₁z_i + k₂z_j)}] = χ(k) = Π_l 1/(1 + (k₁a_i[l] + k₂a_j[l])²/2), and
with ĝ(k) = ∫ g(z)e^{−ikz}dz

    E[g₁(z_i)g₂(z_j)] = (2π)^{−2} ∫∫ ĝ₁(k₁) ĝ₂(k₂) χ(k) dk.

Every power of t = tanh is c + o + e: a constant, an odd part o with o(±∞) = ±S(0), and an even integrable part
e — t^{2m} = (1 − s)^m, t^{2m+1} = t(1 − s)^m with s = sech², and t·s^n = −(s^n)′/(2n). The transforms are
analytic: F_{2n} of sech^{2n} (πk/sinh(πk/2), then ×(k² + 4n²)/(2n(2n + 1)) per step), and ô = −2iS(k)/k with S
even (tanh: (πk/2)/sinh(πk/2); t·s^n: k²F_{2n}/(4n)). sigmoid = ½ + t(z/2)/2 (k → 2k). erf: S = e^{−k²/4},
and erf^p's parts by the trapezoid rule in z. Then, the prior being symmetric (E[c·o] = E[o·e] = 0),

    E[A(z_i)B(z_j)] = c_A c_B + c_A E[e_B] + E[e_A] c_B + E[o_A o_B] + E[e_A e_B],
    E[o o] = −(2/π²) ∫∫_{k>0} S_A(k₁)S_B(k₂)[χ(k₁, k₂) − χ(k₁, −k₂)]/(k₁k₂) dk   (the principal value over
             1/(k₁k₂) folded into the quadrant: the bracket vanishes on both axes),
    E[e e] = (1/2π²) ∫∫_{k>0} F_A F_B [χ(k₁, k₂) + χ(k₁, −k₂)] dk,   E[e] = (1/π) ∫_{k>0} F χ₁(k) dk.

Each integrand is even in every k_n and analytic in |Im k_n| < min(√2/max_l|a_n[l]|, S's and F's own strip: poles
at ±2i for tanh, ±i for sigmoid; erf's are entire), so the trapezoid rule on the midpoints h(j + ½) converges geometrically
(Trefethen & Weideman 2014): h = 2π·strip/_STRIP_TURNS, cut where the transforms fall below e^{−44}.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special

from ..cancel import check_cancelled
from ..spec import NetworkSpec
from . import fourier_growing
from .fourier_grid import BLOCK, GROWING, MAX_POWER, axis, char
from .pair_reduction import StoredPairMoments, distinct_points
from .scale_mixture import live_coefficients, live_parameters

ACTIVATIONS = ("tanh", "sigmoid", "erf")
_Z_STEP, _Z_REACH = 0.02, 8.0   # erf: transforms by the trapezoid rule in z (entire, Gaussian decay: ~1e-16)
_MAX_NODES = 4_000_000  # quadrant nodes per pair (~0.3 s); beyond, the tensor rule (and its accuracy note)


def _sech_power(k: np.ndarray, n: int) -> np.ndarray:
    """F_{2n}(k), the transform of sech^{2n}: F₂ = πk/sinh(πk/2) = 2πk·e^{−πk/2}/(1 − e^{−πk}) (no overflow),
    F_{2n+2} = (k² + 4n²)/(2n(2n + 1))·F_{2n}."""
    e = np.exp(-0.5 * math.pi * k)
    out = 2.0 * math.pi * k * e / (1.0 - e * e)
    for m in range(1, n):
        out = out * (k * k + 4.0 * m * m) / (2.0 * m * (2.0 * m + 1.0))
    return out


def _tanh_power(p: int, k: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(c, S(k), F(k)) of tanh^p."""
    m = p // 2
    zero = np.zeros_like(k)
    if p % 2 == 0:
        f = sum((math.comb(m, n) * (-1) ** n * _sech_power(k, n) for n in range(1, m + 1)), zero)
        return 1.0, zero, f
    s = 0.5 * _sech_power(k, 1)                       # tanh: (πk/2)/sinh(πk/2) = F₂/2
    s = s + sum((math.comb(m, n) * (-1) ** n * k * k * _sech_power(k, n) / (4.0 * n) for n in range(1, m + 1)), zero)
    return 0.0, s, zero


def _erf_power(p: int, k: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(c, S, F) of erf^p (p = 0: erf′ = 2e^{−z²}/√π, F = 2e^{−k²/4}; p = 1: S = e^{−k²/4}), the rest by the
    trapezoid rule in z of the even integrands: F = ∫(erf^p − 1)cos kz dz (p even), S = ½∫(erf^p)′cos kz dz
    (p odd; S = (ik/2)ô)."""
    zero = np.zeros_like(k)
    if p <= 1:
        gauss = np.exp(-0.25 * k * k)
        return (0.0, gauss, zero) if p == 1 else (0.0, zero, 2.0 * gauss)
    z = _Z_STEP * np.arange(1, int(round(_Z_REACH / _Z_STEP)) + 1)
    cos = np.cos(np.outer(k, z))
    if p % 2 == 0:   # erf^p − 1 = −(1 − (1 − erfc)^p), without cancellation in the tail
        tail = np.expm1(p * np.log1p(-special.erfc(z)))
        return 1.0, zero, _Z_STEP * (-1.0 + 2.0 * cos @ tail)
    deriv = p * special.erf(z) ** (p - 1) * (2.0 / math.sqrt(math.pi)) * np.exp(-z * z)
    return 0.0, _Z_STEP * (cos @ deriv), zero         # ½·(2Σ_{z>0}); the z = 0 term is 0 for p ≥ 2


@lru_cache(maxsize=64)
def _parts_cached(name: str, p: int, k_bytes: bytes) -> tuple[float, np.ndarray, np.ndarray]:
    k = np.frombuffer(k_bytes)
    if name == "erf":
        return _erf_power(p, k)
    if name == "tanh":
        return _tanh_power(p, k) if p > 0 else (0.0, np.zeros_like(k), _sech_power(k, 1))
    if p == 0:                           # sigmoid′ = sech²(z/2)/4: 2F₂(2k)/4
        return 0.0, np.zeros_like(k), 0.5 * _sech_power(2 * k, 1)
    c, s, f = 0.0, np.zeros_like(k), np.zeros_like(k)   # (½ + t(z/2)/2)^p; t(z/2)^m has S(2k), 2F(2k)
    for m in range(p + 1):
        w = math.comb(p, m) * 0.5**p
        cm, sm, fm = _tanh_power(m, 2 * k) if m > 0 else (1.0, np.zeros_like(k), np.zeros_like(k))
        c, s, f = c + w * cm, s + w * sm, f + 2 * w * fm
    return c, s, f


def parts(name: str, p: int, k: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(c, S, F) of φ^p at the nodes k (p = 0: of φ′)."""
    return _parts_cached(name, p, np.ascontiguousarray(k, dtype=np.float64).tobytes())


def supported(spec: NetworkSpec, kernel: bool = False) -> bool:
    """tanh / sigmoid / erf (every pair moment) and, for the NNGP/NTK (`kernel`), gelu / silu / softplus, under
    the laplace prior at d > 1 (any number of live parameters)."""
    names = ACTIVATIONS + (GROWING if kernel else ())
    return (spec.activation in names and spec.prior == "laplace" and spec.input_dim > 1
            and live_parameters(spec) >= 1)


def nodes_needed(spec: NetworkSpec, x: np.ndarray) -> int:
    """The largest quadrant grid over the pairs (each axis set by its own point's coefficients)."""
    sizes = [len(axis(spec.activation, row)) for row in live_coefficients(spec, x)]
    return max(sizes) ** 2 if sizes else 0


def within_budget(spec: NetworkSpec, x: np.ndarray, kernel: bool = False) -> bool:
    """`supported` and no pair's grid beyond _MAX_NODES (points far out need finer steps: the budget holds
    max|a_l| ≲ 11 for tanh, 22 for sigmoid)."""
    return supported(spec, kernel) and nodes_needed(spec, x) <= _MAX_NODES


def _mean(name: str, a: np.ndarray, p: int) -> float:
    """E[φ(z)^p] (p = 0: E[φ′]) at one point: c + (1/π)∫_{k>0} F χ₁ dk."""
    k = axis(name, a)
    c, _, f = parts(name, p, k)
    chi = np.prod(1.0 / (1.0 + 0.5 * np.outer(k, a) ** 2), axis=1)
    return c + 2 * k[0] / math.pi * float(f @ chi)


def pair_moments(spec: NetworkSpec, a_i: np.ndarray, a_j: np.ndarray,
                 powers: tuple[tuple[int, int], ...] = ((1, 1), (0, 0))) -> list[float]:
    """E[φ(z_i)^p φ(z_j)^q] for each (p, q) in `powers` ((0, 0): E[φ′φ′]) at live coefficient rows a_i, a_j
    (rows of k₁ in blocks of ~BLOCK nodes: a few MB whatever the grid)."""
    name = spec.activation
    k1, k2 = axis(name, a_i), axis(name, a_j)
    h1, h2 = 2 * k1[0], 2 * k2[0]
    left = {p: parts(name, p, k1) for p in {p for p, _ in powers}}
    right = {q: parts(name, q, k2) for q in {q for _, q in powers}}
    odd, even = np.zeros(len(powers)), np.zeros(len(powers))
    rows = max(1, BLOCK // len(k2))
    for lo in range(0, len(k1), rows):
        block = slice(lo, lo + rows)
        plus, minus = char(a_i, a_j, k1[block], k2, 1.0), char(a_i, a_j, k1[block], k2, -1.0)
        diff, total = plus - minus, plus + minus
        for n, (p, q) in enumerate(powers):
            (_, s1, f1), (_, s2, f2) = left[p], right[q]
            if s1.any() and s2.any():
                odd[n] += (s1[block] / k1[block]) @ diff @ (s2 / k2)
            if f1.any() and f2.any():
                even[n] += f1[block] @ total @ f2
    out = []
    for n, (p, q) in enumerate(powers):
        (c1, _, f1), (c2, _, f2) = left[p], right[q]
        value = -(2.0 / math.pi**2) * h1 * h2 * odd[n] + h1 * h2 / (2.0 * math.pi**2) * even[n] + c1 * c2
        if c1 and f2.any():
            value += c1 * (_mean(name, a_j, q) - c2)
        if c2 and f1.any():
            value += c2 * (_mean(name, a_i, p) - c1)
        out.append(value)
    return out


def fourier_first_layer(spec: NetworkSpec, x: np.ndarray, x2: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(E[φ(z(x_i))φ(z(x2_j))], E[φ′φ′]) (P, P2); x2 defaults to x (then symmetric by construction)."""
    same = x2 is None or x2 is x
    a = live_coefficients(spec, x)
    b = a if same else live_coefficients(spec, x2)
    e_phi, e_dphi = np.empty((len(a), len(b))), np.empty((len(a), len(b)))
    for i in range(len(a)):
        check_cancelled()
        for j in range(i if same else 0, len(b)):
            e_phi[i, j], e_dphi[i, j] = (fourier_growing.pair_kernel(spec.activation, a[i], b[j])
                                         if spec.activation in GROWING else pair_moments(spec, a[i], b[j]))
            if same:
                e_phi[j, i], e_dphi[j, i] = e_phi[i, j], e_dphi[i, j]
    return e_phi, e_dphi


class FourierMoments(StoredPairMoments):
    """The moment arrays of `neuron_moments.NeuronMoments` for tanh / sigmoid × laplace at d > 1."""

    def __init__(self, spec: NetworkSpec, x: np.ndarray):
        self.spec, self.a = spec, live_coefficients(spec, x)
        n = len(self.a)
        self._h2, self._h4, self._h31 = np.empty((n, n)), np.empty((n, n)), np.empty((n, n))
        for i in range(n):
            check_cancelled()
            for j in range(i, n):
                h2, h4, h31, h13 = pair_moments(spec, self.a[i], self.a[j], ((1, 1), (2, 2), (3, 1), (1, 3)))
                self._h2[i, j] = self._h2[j, i] = h2
                self._h4[i, j] = self._h4[j, i] = h4
                self._h31[i, j], self._h31[j, i] = h31, h13

    def h6(self) -> np.ndarray:
        return np.array([_mean(self.spec.activation, row, 6) for row in self.a])

    def h_tuple(self, idx: tuple[int, ...]) -> float | None:
        pts = distinct_points(self.a, idx)
        if len(pts) > 2 or len(idx) > MAX_POWER:
            return None
        if len(pts) == 1:
            (i, p), = pts.items()
            return _mean(self.spec.activation, self.a[i], p)
        (i, p), (j, q) = pts.items()
        return pair_moments(self.spec, self.a[i], self.a[j], ((p, q),))[0]
