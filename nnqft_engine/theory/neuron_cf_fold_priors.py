"""C(rθ̂) on rays for the one-minimum activations (gelu, silu) under the laplace and uniform priors
(docs/physics.md §4.6).

Laplace: the laplace route of `neuron_cf_laplace` with the folded inverse of `neuron_cf_fold`: on the line z_o = const the
weight w is free, b = z_o − x_o·w, z_i = z_o + wΔ (Δ = x_i − x_o), and {φ(z_i) ≤ y} is the interval [z₋(y), z₊(y)]
(z₋ = −∞ once y ≥ 0, empty below φ_min), i.e. an interval of w between (z∓(y) − z_o)/Δ. So the inner integral is
a difference of two closed-form laplace strips B(w) = ∫_{−∞}^{w} p_w(w′) p_b(z_o − x_o w′) dw′:

    F(u) = ∫ dz_o [B(w_hi) − B(w_lo)]           (a > 0;  a < 0: the marginal density of z_o minus that),

y = (u − bφ(z_o))/a. The z_o-line is split where the integrand is not smooth: z_o = 0; y(z_o) = φ_min (a square-root
edge) and y(z_o) = 0 (z₋ jumps to −∞); z_o = t (y stationary); an end of the w-interval crossing a kink of the
parameters' density, w = 0 ((a + b)φ(z_o) = u) or b = 0 (a root of aφ(w x_i) + bφ(w x_o) = u along b = 0, by
`Segment`); tanh–sinh in a laplace-shaped probability variable on every piece. The u-rule is graded towards 0
and the critical values of U: a·v + b·v′ (v, v′ ∈ {φ_min, 0}), (a + b)·φ_min (on w = 0) and U's extrema along b = 0.

Uniform: the route of `neuron_cf_uniform` with the same folded interval. The parameters' density is constant on
the rectangle |w| ≤ √3σ_w, |b| ≤ √3σ_b, so the inner integral is the length of the fold's w-interval inside the
rectangle's chord at z_o. The z_o-line (the trapezoid's support) is split at its corners, at the roots of U = u on
the rectangle's edges, and where y(z_o) = φ_min, y(z_o) = 0 and z_o = t; the u-rule is graded towards U at the
corners, its extrema along the edges and (a + b)·φ_min (the one interior critical point, w = 0, b = t).
"""
from __future__ import annotations

import math

import numpy as np

from ..activations import get_activation
from .neuron_cf import _Z_REACH, _extent, u_rule
from .neuron_cf_fold import FOLDED, _inverses, _phi
from .neuron_cf_laplace import (_FINE, _SQRT2, Segment, _Strip, laplace_nodes, line_frame, readout_kernel,
                                split_pieces)
from .neuron_cf_uniform import SQRT3, _FINE as _FINE_U, chord_nodes, rectangle, rectangle_edges, uniform_kernel

_FAR = 1e250   # a weight beyond every scale: the strip's integrals to ±∞ (at x_o = 0, 0·∞ would be NaN)


class _FoldFrame:
    """One ray's frame for gelu or silu: U_θ = aφ(z_i) + bφ(z_o), |a| ≥ |b|, z_i = z_o + wΔ on the line z_o = const."""

    def __init__(self, activation: str, x: tuple[float, float], theta: float):
        if activation not in FOLDED:
            raise ValueError(f"the folded prior routes cover {', '.join(FOLDED)} (got {activation!r})")
        self.t, self.fmin, self.z_plus, self.z_minus = _inverses(activation)
        self.phi = _phi(activation)
        self._grad = get_activation(activation).numpy_grad
        self.i, self.o, self.a, self.b, self.x_i, self.x_o = line_frame(x, theta)
        self.delta = self.x_i - self.x_o

    def grad(self, z):
        return self._grad(np.asarray(z, dtype=np.float64), 0.0)

    def branch_cuts(self, target: np.ndarray) -> list[np.ndarray]:
        """z_o with φ(z_o) = target on both branches (NaN where there is none)."""
        ok = target > self.fmin
        left = ok & (target < 0)
        return [np.where(ok, self.z_plus(np.where(ok, target, 0.0)), np.nan),
                np.where(left, self.z_minus(np.where(left, target, -1.0)), np.nan)]

    def fold_cuts(self, u: np.ndarray) -> list[np.ndarray]:
        """Where y(z_o) = φ_min (a square-root edge), y(z_o) = 0 (z₋ jumps to −∞) and z_o = t (y stationary)."""
        return ([np.full(len(u), self.t)] + self.branch_cuts((u - self.a * self.fmin) / self.b)
                + self.branch_cuts(u / self.b))

    def w_interval(self, u: np.ndarray, zo: np.ndarray):
        """(w_lo, w_hi, nonempty): the weights with φ(z_i) ≤ y = (u − bφ(z_o))/a on the line z_o (u: one per row),
        infinite ends as ±_FAR."""
        y = (u[:, None] - self.b * self.phi(zo)) / self.a
        nonempty = y > self.fmin
        z_hi = self.z_plus(np.where(nonempty, y, self.fmin))
        z_lo = np.where(y < 0.0, self.z_minus(np.where(nonempty & (y < 0.0), y, self.fmin)), -np.inf)
        with np.errstate(invalid="ignore", over="ignore"):
            w_1, w_2 = (z_lo - zo) / self.delta, (z_hi - zo) / self.delta
        return (np.clip(np.minimum(w_1, w_2), -_FAR, _FAR), np.clip(np.maximum(w_1, w_2), -_FAR, _FAR), nonempty)


class FoldLaplaceRayCF:
    """C(r·(cos θ, sin θ)) for one θ (gelu, silu × laplace prior): F on a u-rule, then any r by parts."""

    def __init__(self, activation: str, x: tuple[float, float], sigma_w: float, sigma_b: float, s: float,
                 theta: float, r_max: float, precise: bool = True):
        frame = _FoldFrame(activation, x, theta)
        a, b, x_o, fmin, phi = frame.a, frame.b, frame.x_o, frame.fmin, frame.phi
        lam_w, lam_b = sigma_w / _SQRT2, sigma_b / _SQRT2
        lam_star = max(abs(x_o) * lam_w, lam_b)                 # z_o = x_o w + b: the larger laplace scale
        sd = [math.hypot(sigma_w * xk, sigma_b) for xk in x]
        z_reach = [max(_Z_REACH * sd[k], 40.0 * max(abs(x[k]) * lam_w, lam_b)) for k in (frame.i, frame.o)]
        tops = [float(phi(z)) for z in z_reach]
        corners = [a * p + b * q for p in (fmin, tops[0]) for q in (fmin, tops[1])]
        u_lo, u_hi = min(min(corners), 0.0), max(max(corners), 0.0)
        special = {u_lo, u_hi, 0.0, (a + b) * fmin} | {a * v + b * w for v in (fmin, 0.0) for w in (fmin, 0.0)}
        b_line = None
        if x_o != 0.0:   # b = 0 is a kink of the parameters' density: U's extrema along it are kinks of F
            w_reach = min(40.0 * lam_w + z_reach[1] / abs(x_o), 1e6)
            b_line = Segment((a, b, frame.x_i, x_o), phi, frame.grad, (0.0, 0.0), (1.0, 0.0), (-w_reach, w_reach))
            special.update(b_line.extrema())
        pts = sorted(p for p in special if u_lo <= p <= u_hi)
        u, self.wu = u_rule(pts, s * r_max, u_hi - u_lo, _FINE[precise])
        self.u, self.s = u, s
        # z_o = 0, the fold's cuts, and an end of the w-interval on a kink: w = 0 ((a + b)φ(z_o) = u) or b = 0
        cuts = [np.zeros_like(u)] + frame.fold_cuts(u)
        cuts += frame.branch_cuts(u / (a + b) if a + b != 0.0 else np.full_like(u, np.nan))
        if b_line is not None:
            cuts += b_line.roots(u)
        reach = np.full(len(u), z_reach[1])
        lo_z, hi_z, row = split_pieces(-reach, reach, np.stack(cuts, axis=1))
        zo, width, wts = laplace_nodes(lo_z, hi_z, lam_star, precise)
        w_lo, w_hi, nonempty = frame.w_interval(u[row], zo)
        shift = (np.abs(zo) / lam_star + math.log(2 * lam_star)).ravel()   # divides by the laplace density dP/dz_o
        strip = _Strip(lam_w, lam_b, x_o)
        flat = zo.ravel()
        between = strip.below(flat, w_hi.ravel(), shift) - strip.below(flat, w_lo.ravel(), shift)
        between = np.where(nonempty.ravel(), between, 0.0)
        if a < 0:   # aφ(z_i) ≤ u − bφ(z_o) ⟺ φ(z_i) ≥ y: the rest of the line
            between = strip.below(flat, np.full(flat.shape, _FAR), shift) - between
        inner = np.nan_to_num(between.reshape(zo.shape), nan=0.0)
        self.work = 5 * inner.size     # cost-model terms (calibrated: 3e7 ≈ 2 s, like neuron_cf_laplace)
        f = np.bincount(row, weights=width * (inner @ wts), minlength=len(u))
        self.f_minus = f - (u > 0)
        self.bandwidth = s * _extent(u, self.f_minus)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """C at radii r (laplace readout ψ(v) = 1/(1 + v²/2))."""
        return 1.0 + readout_kernel("laplace", self.s, np.asarray(r, dtype=np.float64), self.u) @ (self.wu * self.f_minus)


class FoldUniformRayCF:
    """C(r·(cos θ, sin θ)) for one θ (gelu, silu × uniform prior): F on a u-rule, then any r by parts."""

    def __init__(self, activation: str, x: tuple[float, float], sigma_w: float, sigma_b: float, s: float,
                 theta: float, r_max: float, precise: bool = True):
        frame = _FoldFrame(activation, x, theta)
        a, b, x_o, phi = frame.a, frame.b, frame.x_o, frame.phi
        hw, hb, reach_w, support = rectangle(sigma_w, sigma_b, x_o)
        edges, values = rectangle_edges((a, b, frame.x_i, x_o), phi, frame.grad, hw, hb)
        if abs(frame.t) <= hb:   # w = 0, b = t: both φ′ vanish
            values.append((a + b) * frame.fmin)
        u_lo, u_hi = min(min(values), 0.0), max(max(values), 0.0)
        pts = sorted({u_lo, u_hi, 0.0} | {v for v in values if u_lo <= v <= u_hi})
        u, self.wu = u_rule(pts, s * r_max, u_hi - u_lo, _FINE_U[precise],
                            max_piece=3.0 / (SQRT3 * s * max(r_max, 1e-300)))   # ≤ 3 rad of the kernel per piece
        self.u, self.s = u, s
        corners = [np.full_like(u, sa * reach_w + sb * hb) for sa in (-1.0, 1.0) for sb in (-1.0, 1.0)]
        cuts = corners + frame.fold_cuts(u) + [z for e in edges for z in e.roots(u)]
        row, zo, half, gw, c_lo, c_hi = chord_nodes(np.stack(cuts, axis=1), support, x_o, hw, hb, precise)
        chord = np.clip(c_hi - c_lo, 0.0, None)
        w_lo, w_hi, nonempty = frame.w_interval(u[row], zo)
        length = np.where(nonempty, np.clip(np.minimum(c_hi, w_hi) - np.maximum(c_lo, w_lo), 0.0, None), 0.0)
        if a < 0:   # φ(z_i) ≥ y: the rest of the chord
            length = chord - length
        inner = np.nan_to_num(length, nan=0.0) / (4 * hw * hb)
        self.work = 2 * inner.size     # cost-model terms (calibrated: 3e7 ≈ 2 s, like neuron_cf_laplace)
        f = np.bincount(row, weights=half * (inner @ gw), minlength=len(u))
        self.f_minus = f - (u > 0)
        self.bandwidth = SQRT3 * s * _extent(u, self.f_minus)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """C at radii r (uniform readout ψ(v) = sin(√3v)/(√3v))."""
        return 1.0 + uniform_kernel(self.s, np.asarray(r, dtype=np.float64), self.u) @ (self.wu * self.f_minus)


__all__ = ["FoldLaplaceRayCF", "FoldUniformRayCF"]
