"""Two neurons under the uniform prior (N = 2), any smooth φ: the output density in f-space (docs/physics.md §4.3).

f = c + Y₁ + Y₂ with Yᵢ = aᵢφ(zᵢ), aᵢ ~ U(±A), A = √3σ_w/√2. Given z₂, Y₂ is uniform on ±w₂ (w₂ = A|φ(z₂)|), so

    p(f) = E_{z₂}[(G₁(f + w₂) − G₁(f − w₂)) / (2w₂)],

G₁ the CDF of c + Y₁ (the one-neuron law of density_uniform_neuron, at readout A). Its Fourier route needs
Φ ~ t⁻³ cut far beyond any affordable T (sin, silu, linear were refused; tanh, erf, gelu, cos cut at ~1e-6).

- G₁ is analytic between the points ±√3σ_b ± A|φ(z*)|, z* a zero or extremum of φ or an end or corner of z's
  trapezoid support (there its second derivative has a log or 1/√ singularity). It is tabulated once: Chebyshev
  interpolation of degree 20 on pieces graded geometrically (ratio 2, from 1e-7 of the gap) towards those points.
- The quotient is analytic in z₂ except where f ± w₂ meets one of them: z₂ is cut there (each branch of φ
  inverted by bisection) and at z's own singular points; 20 Gauss–Legendre nodes on every piece, graded towards
  its ends (_end_graded_rule). As w₂ → 0
  (a zero of φ) the quotient tends to G₁′(f): nothing is singular, the table's error enters as ε/w₂ over a
  vanishing share of z₂.
"""
from __future__ import annotations

import math

import numpy as np

from ..cancel import check_cancelled
from .density_uniform_neuron import Neuron, one_uniform_neuron, one_uniform_neuron_cdf
from .piecewise_table import PiecewiseChebyshev, graded_between

# A cut 2⁻⁴⁰ of a branch off its kink moves the integral by ~(that)²: far below rounding (64 halvings, as for the
# one-neuron law's 1/|φ|, cost a third of the time).
_BISECTIONS = 40


def _end_graded_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n-point Gauss–Legendre on [0, 1] under u ↦ 3u² − 2u³: the quotient's (w − w₀)²·log-like singularities at
    a piece's ends (where f ± w₂ meets a break point) vanish fast enough there that 20 nodes reach ~1e-13 of the
    piece (plain Gauss–Legendre: 3e-8 with 16 nodes)."""
    x, w = np.polynomial.legendre.leggauss(n)
    u = 0.5 * (x + 1.0)
    return u * u * (3.0 - 2.0 * u), 0.5 * w * 6.0 * u * (1.0 - u)


_U, _WU = _end_graded_rule(20)


def break_points(neuron: Neuron) -> np.ndarray:
    """Where G₁ (the law of c + a·φ(z)) is not analytic: ±√3σ_b ± κ|φ(z*)| at z's singular points, and 0."""
    amps = neuron.kappa * np.abs(neuron.phi(neuron.singular_z()))
    pts = np.concatenate([[0.0], neuron.bias + amps, neuron.bias - amps])
    return np.unique(np.concatenate([pts, -pts]))


def two_uniform_neurons(f: np.ndarray, x1: float, sigma_w: float, sigma_b: float, activation: str,
                        preactivation_density) -> np.ndarray:
    """p(f) at N = 2 under the uniform prior (σ_b > 0), φ any smooth activation."""
    readout = sigma_w / math.sqrt(2.0)
    neuron = Neuron(x1, sigma_w, sigma_b, activation, readout)
    breaks = break_points(neuron)
    table = PiecewiseChebyshev(lambda v: one_uniform_neuron_cdf(v, x1, sigma_w, sigma_b, activation,
                                                                preactivation_density, readout),
                               graded_between(breaks), below=0.0)
    # Below this half-width the window's mean of g₁ is g₁(f) to ~w²g₁″ (φ underflows to exactly 0 on a stretch of
    # z for gelu at σ_w|x| ≳ 5, where the quotient would be 0/0).
    tiny_amp = 1e-6 * neuron.kappa
    f_all = np.asarray(f, dtype=np.float64)
    # the law lives on |f| ≤ √3σ_b + 2·max κ|φ| (every term bounded): the window's far part is exactly 0
    inside = np.abs(f_all) < breaks[-1] + float(neuron.amplitudes(neuron.singular_z()).max())
    f = f_all[inside]
    out = np.zeros_like(f)
    rows = max(1, (1 << 12) // len(breaks))
    for i in range(0, len(f), rows):
        check_cancelled()
        fi = f[i:i + rows]
        levels = np.abs(fi[:, None] - breaks[None, :])
        cuts = neuron.cuts(list(levels.T), _BISECTIONS)
        row, piece = np.nonzero(cuts[:, 1:] > cuts[:, :-1])   # most levels have no root: empty pieces dropped
        lo, hi = cuts[row, piece][:, None], cuts[row, piece + 1][:, None]
        z = lo + (hi - lo) * _U
        amp = neuron.amplitudes(z)
        fz = fi[row][:, None]
        quotient = (table(fz + amp) - table(fz - amp)) / (2.0 * amp)
        tiny = amp < tiny_amp   # the quotient's rounding (~1e-16/w) would show: its limit G₁′ = g₁ instead
        if tiny.any():
            g1 = one_uniform_neuron(fi, x1, sigma_w, sigma_b, activation, preactivation_density, readout)
            quotient = np.where(tiny, g1[row][:, None], quotient)
        dens = preactivation_density(z.ravel()).reshape(z.shape)
        sums = (dens * quotient) @ _WU * (hi - lo)[:, 0]
        out[i:i + rows] = np.bincount(row, weights=sums, minlength=len(fi))
    full = np.zeros_like(f_all)
    full[inside] = out
    return full
