"""Two or three neurons under the laplace prior: the output density in f-space (docs/physics.md §4.3), for φ whose Fourier
route fails there (gelu: it nears 0 faster than any exponential as z → −∞, so the neuron's characteristic
function falls more slowly than any power of t and no cut at T converges).

f = c + Y₁ + … + Y_N with Y = a·φ(z), a ~ laplace of scale s = σ_w/√N (standard deviation), so

    p = g₁ ⊛ q ⊛ …,   q(y) = E_z[e^{−|y|/β}/(2β)],   g₁ = the law of c + Y₁ (a mixture of two-laplace laws),

β = s|φ(z)|/√2. q has a near-1/|y| singularity at 0 (the share of z where φ is tiny); g₁ a |v|log|v| one. Both
are even and analytic elsewhere, and so is each convolution, so each is tabulated once (Chebyshev, degree 20) on
pieces graded geometrically towards 0, and p is read back at any grid. One convolution:

    (g ⊛ q)(f) = g(f)·Q(ε) + ∫_{ε<|y|<Y} q(y) g(f − y) dy,   Q(ε) = P(|Y| < ε) = E_z[1 − e^{−ε/β}],

the integral on pieces graded towards y = 0 and y = f (8 Gauss–Legendre nodes each). ε = 1e-10 of the readout
scale: replacing g(f − y) by g(f) inside it errs by ~ε·log(1/ε)·Q(ε).
"""
from __future__ import annotations

import math

import numpy as np

from ..cancel import check_cancelled
from .density_relu import laplace_mixture
from .first_layer import composite_rule
from .piecewise_table import PiecewiseChebyshev

_EPS = 1e-10
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
_FINE = 0.05   # z-pieces at most this wide: e^{−y/β(z)} turns on over Δz ~ 1/|z| where φ(z) is tiny


def _fine_rule(edges: np.ndarray) -> np.ndarray:
    pieces = [np.linspace(a, b, max(1, math.ceil((b - a) / _FINE)) + 1) for a, b in zip(edges[:-1], edges[1:])]
    return np.unique(np.concatenate(pieces))


def _geometric(lo: float, hi: float) -> np.ndarray:
    """0, lo, 2·lo, 4·lo, …, hi."""
    k = int(math.ceil(math.log2(hi / lo)))
    return np.concatenate([[0.0], lo * 2.0 ** np.arange(k), [hi]])


def laplace_neurons(width: int, z_edges: np.ndarray, z_density, phi, sigma_w: float, sigma_b: float, span: float):
    """f ↦ p(f) for `width` ≥ 2 neurons under the laplace prior: g₁ ⊛ q ⊛ … (width − 1 convolutions, each
    tabulated); `z_edges` the one-neuron z-rule's pieces (graded where φ vanishes), `z_density` the
    pre-activation density, `span` the half-width p must cover."""
    z, w = composite_rule(_fine_rule(z_edges), 8)
    w = w * z_density(z)
    scale = sigma_w / math.sqrt(width)                # the readout's standard deviation
    beta = scale * np.abs(phi(z)) / math.sqrt(2.0)
    eps = _EPS * scale
    alive = beta > 0

    def q(y):
        y = np.abs(np.asarray(y, dtype=np.float64))
        b, wb = beta[alive], w[alive]
        out = []
        rows = max(1, (1 << 18) // len(b))
        for i in range(0, len(y), rows):
            check_cancelled()
            out.append(np.exp(-np.outer(y[i:i + rows], 1.0 / b)) @ (wb / (2.0 * b)))
        return np.concatenate(out)

    mass_near_0 = float(w @ np.where(alive, -np.expm1(-eps / np.where(alive, beta, 1.0)), 1.0))
    q_table = PiecewiseChebyshev(q, _geometric(eps, 2.0 * span)[1:], below=0.0)
    law = PiecewiseChebyshev(lambda v: laplace_mixture(v, sigma_b / math.sqrt(2.0), beta, w),
                             _geometric(eps * 1e-2, 4.0 * span))
    for _ in range(width - 1):
        law = PiecewiseChebyshev(_convolution(law, q_table, mass_near_0, eps, 2.0 * span), _geometric(eps, span))
    return lambda f: np.where(np.abs(f) <= span, law(np.abs(np.asarray(f, dtype=np.float64))), 0.0)


def tabulated_convolution(g, q, mass_near_0: float, eps: float, reach: float) -> PiecewiseChebyshev:
    """g ⊛ q on |f| ≤ reach, tabulated towards 0 (g, q even and analytic but at 0; `mass_near_0` = Q(ε))."""
    law = PiecewiseChebyshev(_convolution(g, q, mass_near_0, eps, reach), _geometric(eps, reach))
    return lambda f: np.where(np.abs(f) <= reach, law(np.abs(np.asarray(f, dtype=np.float64))), 0.0)


def _convolution(g_table, q_table, mass_near_0: float, eps: float, reach: float):
    """f ↦ (g ⊛ q)(f) = g(f)·Q(ε) + ∫_{ε<|y|<reach} q(y) g(f − y) dy (both even, singular only at 0; where
    |f| < 2ε, g(f) is read at 2ε: it may be log-singular at 0, and that sliver weighs ~ε log²ε)."""
    up = _geometric(eps, reach)[1:]                   # ε … reach, graded towards y = 0
    close = _geometric(eps * 1e-2, reach)[1:]         # … and towards y = f

    def convolved(f):
        f = np.asarray(f, dtype=np.float64)
        out = np.empty_like(f)
        for i, fi in enumerate(f):
            if i % 64 == 0:
                check_cancelled()
            cuts = np.unique(np.clip(np.concatenate([up, -up, fi + close, fi - close, [fi]]), -reach, reach))
            lo, hi = cuts[:-1], cuts[1:]
            keep = (lo >= eps) | (hi <= -eps)
            lo, hi = lo[keep, None], hi[keep, None]
            y = 0.5 * (lo + hi) + 0.5 * (hi - lo) * _GL_X
            vals = q_table(np.abs(y)) * g_table(np.abs(fi - y))
            out[i] = float(((vals @ _GL_W) * 0.5 * (hi - lo)[:, 0]).sum()) \
                + float(g_table(np.array([max(abs(fi), 2.0 * eps)]))[0]) * mass_near_0
        return out

    return convolved
