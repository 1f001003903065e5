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
from .density_uniform_neuron import Neuron, one_uniform_neuron_cdf

_DEGREE = 20
_GRADING = 24            # halvings towards each break point: the innermost piece is 2⁻²⁴ ≈ 6e-8 of the gap
_CHUNK = 1 << 18
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


class _PiecewiseChebyshev:
    """fn tabulated on pieces between `breaks`, each gap graded towards both ends; barycentric evaluation at
    Chebyshev points of the second kind; 0 below the first break, fn(last) above the last."""

    def __init__(self, fn, breaks: np.ndarray):
        steps = 0.5 ** np.arange(1, _GRADING + 1)
        edges = [breaks]
        for lo, hi in zip(breaks[:-1], breaks[1:]):
            gap = hi - lo
            edges += [lo + gap * steps, hi - gap * steps]
        self.edges = np.unique(np.concatenate(edges))
        j = np.arange(_DEGREE + 1)
        self.nodes = np.cos(math.pi * j / _DEGREE)[::-1]               # −1 … 1
        self.weights = np.where((j == 0) | (j == _DEGREE), 0.5, 1.0) * (-1.0) ** j
        lo, hi = self.edges[:-1, None], self.edges[1:, None]
        self.values = fn((0.5 * (lo + hi) + 0.5 * (hi - lo) * self.nodes).ravel()).reshape(len(lo), -1)
        self.top = float(self.values[-1, -1])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        flat = x.ravel()
        out = np.empty_like(flat)
        rows = max(1, _CHUNK // (_DEGREE + 1))
        for i in range(0, len(flat), rows):
            out[i:i + rows] = self._eval(flat[i:i + rows])
        return out.reshape(x.shape)

    def _eval(self, x: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(self.edges, x, side="right") - 1, 0, len(self.edges) - 2)
        lo, hi = self.edges[k], self.edges[k + 1]
        t = np.clip((2.0 * x - lo - hi) / (hi - lo), -1.0, 1.0)
        diff = t[:, None] - self.nodes
        exact = diff == 0.0
        diff = np.where(exact, 1.0, diff)
        q = self.weights / diff
        vals = self.values[k]
        out = (q * vals).sum(axis=1) / q.sum(axis=1)
        hit = exact.any(axis=1)
        out[hit] = vals[hit][exact[hit]]
        return np.where(x <= self.edges[0], 0.0, np.where(x >= self.edges[-1], self.top, out))


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
    table = _PiecewiseChebyshev(lambda v: one_uniform_neuron_cdf(v, x1, sigma_w, sigma_b, activation,
                                                                 preactivation_density, readout), breaks)
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
        dens = preactivation_density(z.ravel()).reshape(z.shape)
        sums = (dens * quotient) @ _WU * (hi - lo)[:, 0]
        out[i:i + rows] = np.bincount(row, weights=sums, minlength=len(fi))
    full = np.zeros_like(f_all)
    full[inside] = out
    return full
