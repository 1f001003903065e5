"""Y = α|w| for α, w i.i.d. unit-variance Student-t (ν degrees of freedom): its density, CDF and characteristic
function (docs/physics.md §4.3), the one active neuron of relu with σ_b = 0 under the student-t prior.

None is in closed form. Each is one integral over u = |w| = e^s,

    p₁(y) = ∫ p(y e^{−s}) 2p(e^s) ds,   P(|Y| < y) = ∫ P(|α| < y e^{−s}) 2p(e^s) e^s ds,
    χ(t) = ∫ ψ(t e^s) 2p(e^s) e^s ds,

p the standardized density, ψ its characteristic function (student_t_cf.exact). Each integrand is analytic in
the strip |Im s| < π/2 (p's poles sit at e^s = ±i√(ν−2); ψ is analytic for Re > 0) and decays exponentially
both ways, so the trapezoid in s with step h errs by ~e^{−π²/h}: h = 0.2 gives e^{−49}. At large ν the
poles' order (ν+1)/2 makes the integrand huge near the strip's edge: h = min(0.2, max(0.05, 0.6/√ν)) keeps
~1e-13 to ν = 1e5 (at ν = 100 and y = 50, h = 0.2 erred by 2e-3). p₁ and χ are analytic
in the right half-plane, so each is tabulated once per ν by Chebyshev interpolation on pieces [a, √2a] (the
nearest singularity, 0, lies 4.8 half-lengths away: degree 20 reaches ~1e-19). p₁ is log-singular at 0 and
falls like y^{−ν−1}·log y; χ = 1 − t²/2 + O(|t|^ν log t) near 0 and falls like log(t)/t.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special

from ..priors import standardized_pdf
from . import student_t_cf
from .piecewise_table import PiecewiseChebyshev

_S_TOP = 22.0            # 2p(e^s) < e^{−100} beyond
_S_BELOW = 42.0          # how far below min(log y, 0) (or log 1/t) the s-range starts: e^{−42} ~ 6e-19
_Y_TABLE = (1e-20, 1e4)  # p₁ read from its table here (convolutions read it to 1e-16), else by the quadrature
_T_TABLE = (1e-8, 1e9)   # χ likewise; below, χ = 1 − t²/2 to ~t^ν
_CHUNK = 1 << 20


def _step(dof: float) -> float:
    """The trapezoid step in s = log u."""
    return min(0.2, max(0.05, 0.6 / math.sqrt(dof)))


def _by_trapezoid(kernel, x: np.ndarray, log_scale: np.ndarray, dof: float) -> np.ndarray:
    """Σ_s h·kernel(x, e^s)·2p(e^s) over s from min(log_scale) − _S_BELOW to _S_TOP, in row blocks."""
    x = np.asarray(x, dtype=np.float64)
    h = _step(dof)
    low = min(float(np.min(log_scale, initial=0.0)), 0.0) - _S_BELOW
    s = np.arange(math.floor(low / h), math.ceil(_S_TOP / h) + 1) * h
    u = np.exp(s)
    with np.errstate(over="ignore"):   # (y/u)² overflows to inf far out: the density there is 0, rightly
        w = h * 2.0 * standardized_pdf("student-t", u, dof)
        rows = max(1, _CHUNK // len(s))
        return np.concatenate([kernel(x[i:i + rows, None], u) @ w for i in range(0, len(x), rows)]) if len(x) else x


def _density_direct(y: np.ndarray, dof: float) -> np.ndarray:
    y = np.abs(y)
    return _by_trapezoid(lambda yy, u: standardized_pdf("student-t", yy / u, dof), y, np.log(y), dof)


def cdf(y: np.ndarray, dof: float) -> np.ndarray:
    """∫₀^y p₁ (odd in y): ½P(|Y| < |y|)·sign y, with P(|α| < v) = I_{v'²/(ν+v'²)}(½, ν/2), v' = v√(ν/(ν−2))."""
    y = np.asarray(y, dtype=np.float64)
    a = np.abs(y)
    c2 = dof / (dof - 2.0)

    def inside(yy, u):
        v2 = c2 * (yy / u) ** 2
        return special.betainc(0.5, 0.5 * dof, v2 / (dof + v2)) * u

    with np.errstate(divide="ignore"):
        out = _by_trapezoid(inside, a, np.log(np.where(a > 0, a, 1.0)), dof)
    return np.sign(y) * 0.5 * out


def _characteristic_direct(t: np.ndarray, dof: float) -> np.ndarray:
    t = np.abs(t)
    root = math.sqrt(dof - 2.0)
    return _by_trapezoid(lambda tt, u: student_t_cf.exact(root * tt * u, dof) * u, t, -np.log(t), dof)


def _ratio_root2(lo: float, hi: float) -> np.ndarray:
    return lo * math.sqrt(2.0) ** np.arange(int(math.ceil(2 * math.log2(hi / lo))) + 1)


@functools.lru_cache(maxsize=4)
def _density_table(dof: float) -> PiecewiseChebyshev:
    return PiecewiseChebyshev(lambda y: _density_direct(y, dof), _ratio_root2(*_Y_TABLE))


@functools.lru_cache(maxsize=4)
def _characteristic_table(dof: float) -> PiecewiseChebyshev:
    return PiecewiseChebyshev(lambda t: _characteristic_direct(t, dof), _ratio_root2(*_T_TABLE))


def _tabulated(table, direct, lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    inside = (x >= lo) & (x <= hi)
    out[inside] = table(x[inside])
    if not inside.all():   # the direct rule's weights cost ~0.5 ms even for no points
        out[~inside] = direct(x[~inside])
    return out


def density(y: np.ndarray, dof: float) -> np.ndarray:
    """p₁(y) (inf at 0)."""
    a = np.abs(np.asarray(y, dtype=np.float64))
    with np.errstate(divide="ignore"):
        out = _tabulated(_density_table(float(dof)), lambda v: _density_direct(v, dof), *_Y_TABLE,
                         np.where(a > 0, a, 1.0))
    return np.where(a > 0, out, np.inf)


def characteristic(t: np.ndarray, dof: float) -> np.ndarray:
    """χ(t) = E[e^{itY}] (real, even)."""
    a = np.abs(np.asarray(t, dtype=np.float64))
    small = a < _T_TABLE[0]
    out = _tabulated(_characteristic_table(float(dof)), lambda v: _characteristic_direct(v, dof), *_T_TABLE,
                     np.where(small, _T_TABLE[0], a))
    return np.where(small, 1.0 - 0.5 * a * a, out)
