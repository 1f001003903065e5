"""Pole-aware trapezoid rules for the deep recursion's Gaussian expectations (docs/physics.md §8.2).

For g analytic in the strip |Im z| < d, the trapezoid rule h·Σⱼ g(jh) for ∫g(z)dz errs by about
max_strip|g| · e^{−2πd/h} (Trefethen & Weideman, SIAM Review 56 (2014) 385, §5). With g(z) = F(σz)e^{−z²/2}
and F built from φ and its derivatives, the strip is bounded by φ's nearest complex singularity (tanh:
poles at ±iπ/2, sigmoid, silu, softplus: ±iπ) divided by σ, and on it e^{−z²/2} grows like e^{d²/2} (and
gelu's Φ like e^{σ²d²/2} per factor). Choosing h from that bound puts the nodes where the integrand lives
(|z| ≲ 8.5), where Gauss–Hermite spreads n nodes over ±√(2n) and needs ~2× as many per dimension; on a 2-D
tensor rule that is 4–5× fewer points at the same accuracy.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

# Nearest complex singularity of φ (in units of its argument) and how many factors of φ's Gaussian growth
# a product can hold (gelu: Φ(σz) grows like e^{σ²(Im z)²/2} per factor, ⟨φ⁴⟩ has four); φ not listed
# here keep the Gauss–Hermite rules of gauss_moments.
SINGULARITY: dict[str, tuple[float, float]] = {
    "tanh": (math.pi / 2, 0.0),
    "sigmoid": (math.pi, 0.0),
    "silu": (math.pi, 0.0),
    "softplus": (math.pi, 0.0),
    "gelu": (math.inf, 4.0),
}
# ln(1/ε) aimed at per expectation. Near a pole of order m (φ⁗ of tanh, sigmoid, silu: m = 5) the integrand
# grows like (d_pole − d)^{−m}, so the bound is taken at d = s·d_pole with that growth added (`step_for`).
LOG_TOL = 24.0
POLE_ORDER = 5
# Node counts used (odd: the rule is symmetric about 0), ~20% apart: pairs are grouped by count so one
# vectorized block shares a rule, and a pair never gets fewer nodes than its bound asks for.
# Capped at 485 (tanh: σ ≈ 7, variances ≈ 50; sigmoid σ ≈ 14): beyond, the error grows like e^{−2πd/h} as
# h stays put, at 2.3× the cost of the 320-node Gauss–Hermite rule that had reached ~1e-6 there.
_COUNTS = (17, 21, 25, 31, 37, 45, 55, 67, 81, 99, 121, 147, 179, 219, 267, 325, 397, 485)
# One-point expectations cost n, not n²: their rules go on to σ ≈ 30 (tanh); beyond, the caller keeps its own.
_COUNTS_1D = _COUNTS + (591, 721, 881, 1075, 1311, 1601, 1953, 2383)


def supported(name: str) -> bool:
    return name in SINGULARITY


def step_for(name: str, sigma) -> np.ndarray:
    """Largest step h whose error bound stays below e^{−LOG_TOL}, for F(σz) with σ the larger standard
    deviation (elementwise). Entire φ (gelu): e^{−2πd/h + (1 + gσ²)d²/2}, minimised at d = 2π/(h(1 + gσ²)).
    Poles at distance D = d_pole/σ: e^{−2πd/h + d²/2} (D/(D − d))^m, taken at d = D − mh/(2π) (where the
    first and last terms balance) or the entire bound's optimum if nearer, and h found by bisection."""
    d_pole, growth = SINGULARITY[name]
    sigma = np.maximum(np.asarray(sigma, dtype=np.float64), 1e-12)
    a = 1.0 + growth * sigma * sigma
    if math.isinf(d_pole):
        return math.pi * np.sqrt(2.0 / (a * LOG_TOL)) + 0.0 * sigma
    big_d = d_pole / sigma
    lo, hi = np.full(sigma.shape, 1e-4), 2 * math.pi * big_d / POLE_ORDER   # hi: d would reach 0
    for _ in range(50):                                                     # bisection in log h
        h = np.sqrt(lo * hi)
        d = np.minimum(big_d - POLE_ORDER * h / (2 * math.pi), 2 * math.pi / (h * a))
        expo = -2 * math.pi * d / h + a * d * d / 2 + POLE_ORDER * np.log(big_d / (big_d - d))
        ok = expo <= -LOG_TOL
        lo, hi = np.where(ok, h, lo), np.where(ok, hi, h)
    return np.minimum(lo, math.pi * np.sqrt(2.0 / (a * LOG_TOL)))


def half_width(sigma) -> np.ndarray:
    """Truncation |z| ≤ L: the Gaussian tail of F(σz)e^{−z²/2} with F growing at most like (σz)⁴."""
    return np.sqrt(2.0 * (LOG_TOL + 4.0 * np.log1p(np.maximum(np.asarray(sigma, dtype=np.float64), 0.0)) + 6.0))


def needed_nodes(name: str, sigma) -> np.ndarray:
    """Nodes covering [−L, L] at a step ≤ step_for."""
    return 2 * np.ceil(half_width(sigma) / step_for(name, sigma)) + 1


@lru_cache(maxsize=None)
def _reach(name: str, counts: tuple[int, ...]) -> np.ndarray:
    """The largest σ each count serves, read off needed_nodes (which grows with σ) on a grid 0.5% apart in σ
    and rounded down to a grid point: node counts then cost one search per call instead of a bisection per
    element. A count too small even as σ → 0 (the Gaussian weight alone needs h ≲ 0.9) serves nothing (−1)."""
    grid = np.exp(np.arange(math.log(1e-9), math.log(1e4), 0.005))
    need = needed_nodes(name, grid)
    last = np.searchsorted(need, np.asarray(counts, dtype=np.float64), side="right") - 1
    out = np.where(last >= 0, grid[np.maximum(last, 0)], -1.0)
    out.flags.writeable = False
    return out


def node_counts(name: str, sigma, counts=_COUNTS) -> np.ndarray:
    """Odd node counts from `counts` covering [−L, L] at a step ≤ step_for (the largest count beyond)."""
    idx = np.searchsorted(_reach(name, tuple(counts)), np.asarray(sigma, dtype=np.float64))
    return np.asarray(counts)[np.minimum(idx, len(counts) - 1)]


def grouped_rules_1d(name: str, sigma) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], np.ndarray]:
    """([(indices, z, w)], rest): one-point rules grouped by node count, and the indices whose σ needs more
    than _COUNTS_1D holds (left to the caller's rule)."""
    sigma = np.asarray(sigma, dtype=np.float64).ravel()
    fits = sigma <= _reach(name, _COUNTS_1D)[-1]
    counts = node_counts(name, sigma, _COUNTS_1D)
    out = []
    for c in np.unique(counts[fits]):
        idx = np.flatnonzero(fits & (counts == c))
        out.append((idx, *trapezoid_rule(int(c), float(half_width(sigma[idx].max())))))
    return out, np.flatnonzero(~fits)


def grouped_entire_rules(growth) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """[(indices, z, w)]: trapezoid rules for E[F(z)] with F entire and |F(x + iy)| ≲ e^{G·y²} (G = growth
    per element; erf(βz) has G = β² per factor), grouped by node count. The bound e^{−2πd/h + (1 + 2G)d²/2}
    is smallest at d = 2π/(h(1 + 2G)), where it is e^{−2π²/(h²(1 + 2G))}; h is set so that equals
    e^{−LOG_TOL}. Counts and half-widths grow with G, so each group's rule (spanning its largest G's
    half-width) keeps every member's step."""
    g = np.maximum(np.asarray(growth, dtype=np.float64).ravel(), 0.0)
    h = math.pi * np.sqrt(2.0 / ((1.0 + 2.0 * g) * LOG_TOL))
    counts = np.asarray(_COUNTS_1D)
    need = 2 * np.ceil(half_width(np.sqrt(g)) / h) + 1
    per = counts[np.minimum(np.searchsorted(counts, need), len(counts) - 1)]
    out = []
    for c in np.unique(per):
        idx = np.flatnonzero(per == c)
        out.append((idx, *trapezoid_rule(int(c), float(half_width(np.sqrt(g[idx].max()))))))
    return out


@lru_cache(maxsize=64)
def trapezoid_rule(n: int, half: float) -> tuple[np.ndarray, np.ndarray]:
    """n equispaced nodes on [−half, half] with weights h·e^{−z²/2}/√(2π) for E[F(z)], z ~ N(0, 1)."""
    z = np.linspace(-half, half, n)
    w = (z[1] - z[0]) * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    for a in (z, w):
        a.flags.writeable = False
    return z, w


def grouped_rules(name: str, sigma1, sigma2) -> list[tuple[np.ndarray, tuple, tuple]]:
    """[(indices, (z₁, w₁), (z₂, w₂))]: pairs grouped by their two node counts, for u = a·z₁ and
    v = c₁z₁ + c₂z₂ with sigma1 = max(a, |c₁|) (the z₁ direction sees both) and sigma2 = c₂ (z₂ sees only v's
    conditional spread, small for the strongly correlated pairs deep networks produce). The tensor rule's
    error is the sum of its two 1-D rules' errors, each bounded in its own variable with the other real.
    Each group's rule spans the half-width its largest σ needs; counts and half-widths grow with σ, so the
    rule's step 2L/(n − 1) is within every member's bound."""
    sig = [np.asarray(a, dtype=np.float64).ravel() for a in (sigma1, sigma2)]
    counts = [node_counts(name, a) for a in sig]
    key = counts[0] * 1000 + counts[1]
    out = []
    for k in np.unique(key):
        idx = np.flatnonzero(key == k)
        rules = tuple(trapezoid_rule(int(c[idx[0]]), float(half_width(a[idx].max()))) for c, a in zip(counts, sig))
        out.append((idx, *rules))
    return out
