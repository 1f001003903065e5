"""C(rθ̂) on rays for sin and cos under the uniform prior (docs/physics.md §4.6).

The route of `neuron_cf_uniform` with the arcs of `neuron_cf_periodic`: on the line z_o = const (w free, b = z_o −
x_o w, z_i = z_o + wΔ) the parameters' density is constant on the rectangle's chord, and {sin(z_i + shift) ≤ y}
is the union of the arcs [π − α, 2π + α] + 2πk (α = arcsin y), so the inner integral is the total length of the
arcs inside the chord's z_i-range, divided by |Δ| (a handful of arcs: the chord spans at most 2√3σ_w|Δ| in z_i).
The z_o-line (the trapezoid's support) is split at its corners, at the roots of U = u on the rectangle's edges
(where an arc's end meets the chord's), where y(z_o) = ±1 (square-root edges) and at the turning points of
φ(z_o); Gauss–Legendre-like tanh–sinh on every piece. The u-rule is graded towards U at the corners, its extrema
along the edges and at its interior critical points (both φ at an extreme), its pieces shorter than the readout
kernel's oscillation.
"""
from __future__ import annotations

import math

import numpy as np

from .neuron_cf import _extent, u_rule
from .neuron_cf_laplace import line_frame
from .neuron_cf_periodic import _grid_cuts, shifted_sine
from .neuron_cf_uniform import SQRT3, _FINE, chord_nodes, rectangle, rectangle_edges, uniform_kernel


def arc_length_inside(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, arcs: int) -> np.ndarray:
    """Total length of {t ∈ [lo, hi] : sin t ≤ y} (lo ≤ hi; at most `arcs` arcs meet [lo, hi])."""
    alpha = np.arcsin(np.clip(y, -1.0, 1.0))
    start, end = math.pi - alpha, 2.0 * math.pi + alpha           # one arc: [start, end] + 2πk
    k0 = np.floor((lo - end) / (2.0 * math.pi))
    total = np.zeros(np.shape(y))
    for j in range(arcs + 2):
        shift = 2.0 * math.pi * (k0 + j)
        total += np.clip(np.minimum(hi, end + shift) - np.maximum(lo, start + shift), 0.0, None)
    return np.where(y >= 1.0, hi - lo, np.where(y <= -1.0, 0.0, total))


class PeriodicUniformRayCF:
    """C(r·(cos θ, sin θ)) for one θ (sin, cos × uniform prior): F on a u-rule, then any r by parts."""

    def __init__(self, activation: str, x: tuple[float, float], sigma_w: float, sigma_b: float, s: float,
                 theta: float, r_max: float, precise: bool = True):
        phi, grad, shift = shifted_sine(activation)
        _, _, a, b, x_i, x_o = line_frame(x, theta)
        delta = x_i - x_o
        hw, hb, reach_w, support = rectangle(sigma_w, sigma_b, x_o)

        edges, values = rectangle_edges((a, b, x_i, x_o), phi, grad, hw, hb)
        # interior critical points: both φ at an extreme (z_i, z_o turning points with (w, b) inside the rectangle)
        turn_i = _grid_cuts(-(hw * abs(x_i) + hb), hw * abs(x_i) + hb, 0.5 * math.pi - shift, math.pi)
        turn_o = _grid_cuts(-support, support, 0.5 * math.pi - shift, math.pi)
        zi, zo_t = np.meshgrid(turn_i, turn_o, indexing="ij")
        w_t = (zi - zo_t) / delta
        inner_pt = (np.abs(w_t) <= hw) & (np.abs(zo_t - x_o * w_t) <= hb)
        values = values + [float(v) for v in (a * phi(zi) + b * phi(zo_t))[inner_pt]]
        u_lo, u_hi = min(min(values), 0.0), max(max(values), 0.0)
        self.odd = activation == "sin"      # U(−w, −b) = −U(w, b), the prior symmetric: F(−u) = 1 − F(u)
        if self.odd:
            u_lo = 0.0
        pts = sorted({u_lo, u_hi, 0.0} | {v for v in values if u_lo <= v <= u_hi})
        u, self.wu = u_rule(pts, s * r_max, u_hi - u_lo, _FINE[precise],
                            max_piece=3.0 / (SQRT3 * s * max(r_max, 1e-300)))   # ≤ 3 rad of the kernel per piece
        self.u, self.s = u, s
        corners = [np.full_like(u, sa * reach_w + sb * hb) for sa in (-1.0, 1.0) for sb in (-1.0, 1.0)]
        turns = int(math.ceil(support / (2.0 * math.pi))) + 1
        k = 2.0 * math.pi * np.arange(-turns, turns + 1)
        levels = []
        for edge in (a, -a):   # y(z_o) = (u − bφ(z_o))/a = ±1: sin(z_o + shift) = (u ∓ a)/b
            v = (u - edge) / b
            ok = np.abs(v) < 1.0
            base = np.arcsin(np.clip(v, -1.0, 1.0))
            levels += [np.where(ok[:, None], (root[:, None] + k[None, :] - shift), np.nan) for root in (base, math.pi - base)]
        common = _grid_cuts(-support, support, 0.5 * math.pi - shift, math.pi)   # turning points of φ(z_o)
        cuts = np.concatenate([np.stack(corners + [z for e in edges for z in e.roots(u)], axis=1), *levels,
                               np.broadcast_to(common, (len(u), len(common)))], axis=1)
        row, zo, half, gw, c_lo, c_hi = chord_nodes(cuts, support, x_o, hw, hb, precise)
        chord = np.clip(c_hi - c_lo, 0.0, None)
        t_1, t_2 = zo + delta * c_lo + shift, zo + delta * c_hi + shift        # the chord in z_i + shift
        y = (u[row][:, None] - b * np.sin(zo + shift)) / a
        arcs = int(math.ceil(2.0 * hw * abs(delta) / (2.0 * math.pi))) + 1
        below = arc_length_inside(y, np.minimum(t_1, t_2), np.maximum(t_1, t_2), arcs) / abs(delta)
        below = np.where(chord > 0, np.minimum(below, chord), 0.0)
        length = below if a > 0 else chord - below                    # a < 0: φ(z_i) ≥ y, the rest of the chord
        inner = length / (4 * hw * hb)
        self.work = 2 * inner.size * (arcs + 2) // 3   # cost-model terms (calibrated: 3e7 ≈ 2 s, like the others)
        f = np.bincount(row, weights=half * (inner @ gw), minlength=len(u))
        self.f_minus = f - (u > 0)
        self.bandwidth = SQRT3 * s * _extent(u, self.f_minus)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """C at radii r (uniform readout ψ(v) = sin(√3v)/(√3v))."""
        kernel = uniform_kernel(self.s, np.asarray(r, dtype=np.float64), self.u)
        return 1.0 + (2.0 if self.odd else 1.0) * (kernel @ (self.wu * self.f_minus))


__all__ = ["PeriodicUniformRayCF", "arc_length_inside"]
