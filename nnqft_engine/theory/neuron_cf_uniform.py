"""C(rθ̂) on rays for a smooth monotone φ under the uniform prior, at every N (docs/physics.md §4.6).

The laplace route (`neuron_cf_laplace`) with the uniform density: on the line z_o = const (w free, b = z_o − x_o w,
z_i = z_o + wΔ) the parameters' density is constant on the rectangle |w| ≤ √3σ_w, |b| ≤ √3σ_b, so the inner
integral is the length of an interval, and the marginal of z_o (a trapezoid) has a closed-form CDF. The z_o-line
is split at the trapezoid's corners and wherever w* meets an edge of the rectangle (roots of U = u on its four
edges), so each piece is smooth and takes a plain Gauss–Legendre rule; the u-rule is graded towards U at the
corners and at its extrema along the edges (where the law of U is not smooth), and its pieces are kept shorter
than the readout kernel's oscillation: ψ(v) = sin(√3v)/(√3v).
"""
from __future__ import annotations

import math

import numpy as np

from .neuron_cf import ODD, _extent, _tanh_sinh, u_rule
from .neuron_cf_laplace import MonotoneRay, Segment, split_pieces

SQRT3 = math.sqrt(3.0)
_TS = {True: _tanh_sinh(1.0 / 16, 3.6), False: _tanh_sinh(1.0 / 7, 3.0)}   # z_o-pieces, precise / fast
_FINE = {True: 1e-9, False: 1e-5}


def _ramp_integral(v: np.ndarray, hb: float) -> np.ndarray:
    """∫_{−∞}^{v} clip((s + h_b)/(2h_b), 0, 1) ds."""
    return np.where(v < -hb, 0.0, np.where(v > hb, v, (v + hb) ** 2 / (4 * hb)))


def _below(z: np.ndarray, reach_w: float, hb: float) -> np.ndarray:
    """P(z_o < z) for z_o = U(±reach_w) + U(±h_b) (a trapezoid), from the side where it is small."""
    z = np.asarray(z, dtype=np.float64)
    zc = np.clip(-np.abs(z), -(reach_w + hb) - 1.0, 0.0)
    if reach_w == 0.0:
        small = np.clip((zc + hb) / (2 * hb), 0.0, 1.0)
    else:
        small = (_ramp_integral(zc + reach_w, hb) - _ramp_integral(zc - reach_w, hb)) / (2 * reach_w)
    return np.where(z < 0, small, 1.0 - small)


def uniform_kernel(s: float, r: np.ndarray, u: np.ndarray) -> np.ndarray:
    """−d/du ψ(s r u) for ψ(v) = sin(√3v)/(√3v), r × u (series near 0, where the closed form cancels)."""
    x = SQRT3 * (s * r)[:, None] * u
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(np.abs(x) > 1e-3, (x * np.cos(x) - np.sin(x)) / np.where(x == 0, 1.0, x * x),
                     -x / 3.0 + x**3 / 30.0)
    return -SQRT3 * (s * r)[:, None] * d


def rectangle(sigma_w: float, sigma_b: float, x_o: float) -> tuple[float, float, float, float]:
    """(h_w, h_b, h_w|x_o|, support): the half-widths of the uniform parameters' rectangle, and the reach of x_o w
    and of z_o = x_o w + b."""
    hw, hb = SQRT3 * sigma_w, SQRT3 * sigma_b
    return hw, hb, hw * abs(x_o), hw * abs(x_o) + hb


def rectangle_edges(frame: tuple[float, float, float, float], fwd, grad, hw: float, hb: float):
    """The four edges of the parameters' rectangle |w| ≤ h_w, |b| ≤ h_b as `Segment`s, and U at their ends and
    interior extrema (where the law of U is not smooth)."""
    edges = [Segment(frame, fwd, grad, (side * hw, 0.0), (0.0, 1.0), (-hb, hb)) for side in (-1.0, 1.0)]
    edges += [Segment(frame, fwd, grad, (0.0, side * hb), (1.0, 0.0), (-hw, hw)) for side in (-1.0, 1.0)]
    return edges, [float(v) for e in edges for v in (e.g[0], e.g[-1])] + [v for e in edges for v in e.extrema()]


def chord_nodes(cuts: np.ndarray, support: float, x_o: float, hw: float, hb: float, precise: bool):
    """The z_o-line |z_o| ≤ support split at `cuts` (one row per u), tanh–sinh nodes on every piece, and the
    rectangle's chord [c_lo, c_hi] in w at each node (|w| ≤ h_w, |z_o − x_o w| ≤ h_b):
    (row, z_o, piece length, weights, c_lo, c_hi)."""
    bound = np.full(len(cuts), support)
    lo_z, hi_z, row = split_pieces(-bound, bound, cuts)
    d_lo, d_hi, gw = _TS[precise]
    half = hi_z - lo_z
    zo = np.where(d_lo < 0.5, lo_z[:, None] + half[:, None] * d_lo, hi_z[:, None] - half[:, None] * d_hi)
    if x_o != 0.0:
        e1, e2 = (zo - hb) / x_o, (zo + hb) / x_o
        c_lo, c_hi = np.maximum(-hw, np.minimum(e1, e2)), np.minimum(hw, np.maximum(e1, e2))
    else:
        inside = np.abs(zo) <= hb
        c_lo, c_hi = np.where(inside, -hw, hw), np.full_like(zo, hw)
    return row, zo, half, gw, c_lo, c_hi


class UniformRayCF:
    """C(r·(cos θ, sin θ)) for one θ under the uniform prior (monotone φ): F on a u-rule, then any r by parts."""

    def __init__(self, activation: str, x: tuple[float, float], sigma_w: float, sigma_b: float, s: float,
                 theta: float, r_max: float, precise: bool = True):
        ray = MonotoneRay(activation, x, theta)
        fwd, a, b, x_o = ray.fwd, ray.a, ray.b, ray.x_o
        hw, hb, reach_w, support = rectangle(sigma_w, sigma_b, x_o)
        edges, values = rectangle_edges((a, b, ray.x_i, x_o), fwd, ray.grad, hw, hb)
        u_lo, u_hi = min(min(values), 0.0), max(max(values), 0.0)
        self.odd = activation in ODD
        if self.odd:
            u_lo = 0.0
        pts = sorted({u_lo, u_hi, 0.0} | {v for v in values if u_lo <= v <= u_hi})
        u, self.wu = u_rule(pts, s * r_max, u_hi - u_lo, _FINE[precise],
                            max_piece=3.0 / (SQRT3 * s * max(r_max, 1e-300)))   # ≤ 3 rad of the kernel per 8-node piece
        self.u, self.s = u, s
        z_a, z_b = ray.window(u)
        left, right = (1.0, 0.0) if b > 0 else (0.0, 1.0)
        closed = left * _below(z_a, reach_w, hb) + right * _below(-z_b, reach_w, hb)
        lo_all, hi_all = np.clip(z_a, -support, support), np.clip(z_b, -support, support)
        corners = [np.full_like(u, sa * reach_w + sb * hb) for sa in (-1.0, 1.0) for sb in (-1.0, 1.0)]
        cuts = np.stack(corners + [z for e in edges for z in e.roots(u)], axis=1)
        lo_z, hi_z, row = split_pieces(lo_all, hi_all, cuts)
        d_lo, d_hi, gw = _TS[precise]
        half = hi_z - lo_z
        zo = np.where(d_lo < 0.5, lo_z[:, None] + half[:, None] * d_lo, hi_z[:, None] - half[:, None] * d_hi)
        w_star = ray.w_star(u[row], zo)
        if not ray.lower:                                        # ∫_{w*}^{∞} at z_o = ∫_{−∞}^{−w*} at −z_o (w → −w)
            zo, w_star = -zo, -w_star
        if x_o != 0.0:
            e1, e2 = (zo - hb) / x_o, (zo + hb) / x_o
            w_lo = np.maximum(-hw, np.minimum(e1, e2))
            w_hi = np.minimum(hw, np.maximum(e1, e2))
        else:
            inside = np.abs(zo) <= hb
            w_lo, w_hi = np.where(inside, -hw, hw), np.full_like(zo, hw)
        length = np.clip(np.minimum(w_hi, w_star) - w_lo, 0.0, None)
        inner = np.nan_to_num(length, nan=0.0) / (4 * hw * hb)
        self.work = 1.5 * inner.size     # terms of the cost model (calibrated: 3e7 ≈ 2 s, like the others)
        f = closed + np.bincount(row, weights=half * (inner @ gw), minlength=len(u))
        self.f_minus = f - (u > 0)
        self.bandwidth = SQRT3 * s * _extent(u, self.f_minus)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """C at radii r (uniform readout ψ(v) = sin(√3v)/(√3v))."""
        r = np.asarray(r, dtype=np.float64)
        return 1.0 + (2.0 if self.odd else 1.0) * (uniform_kernel(self.s, r, self.u) @ (self.wu * self.f_minus))
