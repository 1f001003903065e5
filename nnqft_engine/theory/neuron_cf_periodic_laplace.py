"""C(rθ̂) on rays for sin and cos under the laplace prior (docs/physics.md §4.6).

The laplace route of `neuron_cf_laplace` with the arcs of `neuron_cf_periodic`: on the line z_o = const (w free,
b = z_o − x_o w, z_i = z_o + wΔ) the parameters' density is e^{E(w)} with E piecewise linear (kinks at w = 0 and
b = 0), and {sin(z_i + shift) ≤ y} is the union of the arcs [π − α, 2π + α] + 2πk (α = arcsin y). On each linear
piece the arcs' masses form a geometric series in k (the density drops by the same factor every period 2π/|Δ|),
summed in closed form (`periodic_exponential`), so the inner integral is exact however many arcs the laplace tails
reach. The z_o-line is split at z_o = 0, where an arc's end crosses a kink of the density (w = 0: (a + b)φ(z_o) = u;
b = 0: a root of U = u along b = 0, by `Segment`), where y(z_o) = ±1 (square-root edges) and at the turning points
of φ(z_o) (pieces of at most π); Gauss–Legendre in s, z_o = lo + L(1 − cos πs)/2 (square-root ends smooth in s),
on every piece, with fewer nodes on light ones. The u-rule is graded towards 0, the
critical values ±a ± b (both φ at an extreme), ±(a + b) (extrema along w = 0) and U's extrema along b = 0.
"""
from __future__ import annotations

import math

import numpy as np

from .neuron_cf import _Z_REACH, _extent, u_rule
from .neuron_cf_laplace import _SQRT2, Segment, _below, line_frame, readout_kernel, split_pieces
from ..gauss_rules import legendre_rule
from .neuron_cf_periodic import _grid_cuts, shifted_sine

_PERIOD = 2.0 * math.pi


def _cosine_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre in s ∈ [0, 1] mapped by z = (1 − cos πs)/2 (nodes as fractions of a piece, weights): an
    integrand with square-root ends (an edge y = ±1) is smooth in s."""
    g, gw = legendre_rule(n)
    sn = 0.5 * (g + 1.0)
    return 0.5 * (1.0 - np.cos(math.pi * sn)), 0.25 * math.pi * gw * np.sin(math.pi * sn)


# z_o-rules by a piece's mass (a light piece tolerates a larger relative error). Fast: 20, 12, 6, 4 nodes (≤ 9e-10
# on the tested rays; tanh–sinh in a laplace-shaped variable needed twice the nodes for the same accuracy);
# precise: 60 (within 1e-12 of a 115-node tanh–sinh).
_TIERS_FAST = ((1e-3, _cosine_rule(20)), (1e-6, _cosine_rule(12)), (1e-10, _cosine_rule(6)), (0.0, _cosine_rule(4)))
_TIERS_PRECISE = ((0.0, _cosine_rule(60)),)
_U_FINE = {True: 1e-9, False: 1e-4}   # the u-rule's finest piece (relative)
_CUT_REACH = 24.0     # laplace scale lengths: the mass beyond (~e^{−24}) is integrated without splits


def _exp_piece(p, q, kappa, ref):
    """∫_p^q e^{κ(t − ref)} dt for p ≤ q ≤ ref (κ ≥ 0; → q − p as κ → 0)."""
    length = np.maximum(q - p, 0.0)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        x = kappa * length
        factor = np.where(x > 1e-12, -np.expm1(-x) / np.where(kappa > 0, kappa, 1.0), length)
        return np.where(length > 0, np.exp(kappa * (q - ref)) * factor, 0.0)


def periodic_exponential(lo, hi, kappa, start, length):
    """∫_lo^hi e^{κ(t − ref)}·[t ∈ ∪_k [start + 2πk, start + length + 2πk]] dt, ref = hi for κ ≥ 0, lo for κ < 0
    (the end where the exponential is largest; the other end may be infinite). The whole periods between the ends
    are a geometric series: e^{κ(s − ref)}·(1 − e^{−κ·length})/κ per arc, the factor e^{−2π|κ|} per period."""
    lo, hi, kappa, start, length = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64)
                                                         for v in (lo, hi, kappa, start, length)))
    neg = kappa < 0   # t → −t: the arcs [−start − length, −start] + 2πk, the exponential rising towards −lo
    lo, hi = np.where(neg, -hi, lo), np.where(neg, -lo, hi)
    start, kappa = np.where(neg, -start - length, start), np.abs(kappa)
    with np.errstate(invalid="ignore", over="ignore"):
        k_top = np.floor((hi - start) / _PERIOD)                  # the arc starting at or below hi
        s_top = start + _PERIOD * k_top
        total = _exp_piece(np.maximum(lo, s_top), np.minimum(hi, s_top + length), kappa, hi)
        k_lo = np.where(np.isfinite(lo), np.ceil((lo - start) / _PERIOD), -np.inf)   # the first arc starting ≥ lo
        n = np.maximum(k_top - k_lo, 0.0)                         # whole arcs k_lo … k_top − 1
        x = kappa * _PERIOD
        series = np.where(x > 1e-12, np.expm1(-x * n) / np.where(x > 1e-12, np.expm1(-x), 1.0), n)
        one = _exp_piece(s_top - _PERIOD, s_top - _PERIOD + length, kappa, hi)   # arc k_top − 1
        total += np.where(n > 0, one * series, 0.0)
        s_low = start + _PERIOD * (k_lo - 1)                      # the arc below lo, if it reaches past lo
        total += np.where(np.isfinite(lo) & (k_lo - 1 < k_top),
                          _exp_piece(lo, np.minimum(s_low + length, hi), kappa, hi), 0.0)
    return total


def arc_tail(theta0, kappa: float, start, length):
    """∫ e^{κ(t − θ₀)}·[t ∈ ∪_k [start + 2πk, start + length + 2πk]] dt over t ≤ θ₀ (κ > 0) or t ≥ θ₀ (κ < 0): with
    φ = (θ₀ − start) mod 2π the arc below θ₀ gives (1 − e^{−κ min(φ, ℓ)})·e^{−κ(φ − min(φ, ℓ))}/κ and every earlier
    one the factor e^{−2πκ} more: the geometric series e^{−κ(2π − ℓ + φ)}(1 − e^{−κℓ})/(κ(1 − e^{−2πκ}))."""
    if kappa < 0:   # t → −t: the arcs [−start − length, −start] + 2πk
        theta0, start = -theta0, -start - length
    k = abs(kappa)
    phase = np.mod(theta0 - start, _PERIOD)
    inside = np.minimum(phase, length)
    earlier = np.exp(-k * (_PERIOD - length + phase)) * np.expm1(-k * length) / (k * math.expm1(-_PERIOD * k))
    return earlier - np.exp(-k * (phase - inside)) * np.expm1(-k * inside) / k


class PeriodicLaplaceRayCF:
    """C(r·(cos θ, sin θ)) for one θ (sin, cos × laplace prior): F on a u-rule, then any r by parts."""

    def __init__(self, activation: str, x: tuple[float, float], sigma_w: float, sigma_b: float, s: float,
                 theta: float, r_max: float, precise: bool = True):
        phi, grad, shift = shifted_sine(activation)
        i, o, a, b, x_i, x_o = line_frame(x, theta)
        self.delta = delta = x_i - x_o
        self.lam_w, self.lam_b, self.x_o = sigma_w / _SQRT2, sigma_b / _SQRT2, x_o
        lam_star = max(abs(x_o) * self.lam_w, self.lam_b)      # z_o = x_o w + b: the larger laplace scale
        sd = [math.hypot(sigma_w * xk, sigma_b) for xk in x]
        z_reach = [max(_Z_REACH * sd[k], 40.0 * max(abs(x[k]) * self.lam_w, self.lam_b)) for k in (i, o)]

        u_hi = abs(a) + abs(b)
        self.odd = activation == "sin"      # U(−w, −b) = −U(w, b), the prior symmetric: F(−u) = 1 − F(u)
        u_lo = 0.0 if self.odd else -u_hi
        special = {u_lo, u_hi, 0.0} | {sa * a + sb * b for sa in (-1.0, 1.0) for sb in (-1.0, 1.0)}
        special |= {a + b, -(a + b)}                           # U's extrema along the kink w = 0
        b_line = None
        if x_o == 0.0:   # b = 0 is z_o = 0 (a cut): U = a·φ(w x_i) + b·φ(0) along it, a kink of F at its extremes
            special |= {a + b * math.sin(shift), -a + b * math.sin(shift)}
        else:   # b = 0 is a kink of the parameters' density: U's extrema along it are kinks of F (to e^{−24} of w's
            w_reach = _CUT_REACH * self.lam_w   # mass: a kink beyond moves F by less than 1e-10)
            b_line = Segment((a, b, x_i, x_o), phi, grad, (0.0, 0.0), (1.0, 0.0), (-w_reach, w_reach))
            special.update(b_line.extrema())
        pts = sorted(p for p in special if u_lo <= p <= u_hi)
        u, self.wu = u_rule(pts, s * r_max, u_hi - u_lo, _U_FINE[precise])
        self.u, self.s = u, s
        reach = z_reach[1]
        turns = int(math.ceil(reach / _PERIOD)) + 1
        k = _PERIOD * np.arange(-turns, turns + 1)
        cuts = [np.zeros((len(u), 1))]
        for level, scale in ((u - a, b), (u + a, b), (u, a + b)):   # y(z_o) = ±1; an arc's end on w = 0
            v = level / scale if scale != 0.0 else np.full_like(u, np.nan)
            ok = np.abs(v) < 1.0
            base = np.arcsin(np.clip(v, -1.0, 1.0))
            cuts += [np.where(ok[:, None], root[:, None] + k[None, :] - shift, np.nan)
                     for root in (base, math.pi - base)]
        common = _grid_cuts(-reach, reach, 0.5 * math.pi - shift, math.pi)   # turning points of φ(z_o): pieces of
        cuts.append(np.broadcast_to(common, (len(u), len(common))))          # at most π (without: 8e-7)
        if b_line is not None:
            cuts.append(np.stack(b_line.roots(u), axis=1))
        cuts = np.concatenate(cuts, axis=1)
        # beyond ±z_cut (1e-10 of z_o's mass) the tails are one piece each: a kink inside costs at most that mass
        z_cut = _CUT_REACH * lam_star
        cuts = np.where(np.abs(cuts) < z_cut, cuts, np.nan)
        cuts = np.concatenate([cuts, np.broadcast_to([-z_cut, z_cut], (len(u), 2))], axis=1)
        # cos is even: (w, b) → −(w, b) leaves U alone and the prior symmetric, so the z_o-integrand is even
        fold = 2.0 if activation == "cos" else 1.0
        lo = np.zeros(len(u)) if activation == "cos" else np.full(len(u), -reach)
        lo_z, hi_z, row = split_pieces(lo, np.full(len(u), reach), cuts)
        beta_o = (abs(x_o) * self.lam_w, self.lam_b)                # z_o = x_o w + b: two laplace scales
        mass = np.maximum(1.0 - _below(lo_z, *beta_o) - _below(-hi_z, *beta_o), 0.0)
        f = np.zeros(len(u))
        self.work = 0
        # a piece's error is at most its mass times the rule's relative error: light pieces get coarser rules
        tiers = _TIERS_PRECISE if precise else _TIERS_FAST
        for k, (floor, rule) in enumerate(tiers):
            sel = (mass >= floor) & (mass < (tiers[k - 1][0] if k else math.inf))
            if sel.any():
                f += self._pieces(lo_z[sel], hi_z[sel], row[sel], u, a, b, shift, rule, fold)
        self.f_minus = f - (u > 0)
        self.bandwidth = s * _extent(u, self.f_minus)

    def _pieces(self, lo_z, hi_z, row, u, a, b, shift, rule, fold) -> np.ndarray:
        """Σ over the pieces of the z_o-integral of the line's mass inside the arcs, per u (`rule`: nodes as
        fractions of a piece, weights)."""
        width = hi_z - lo_z
        zo = lo_z[:, None] + width[:, None] * rule[0]
        y = (u[row][:, None] - b * np.sin(zo + shift)) / a
        alpha = np.arcsin(np.clip(y, -1.0, 1.0))
        if a > 0:   # sin(z_i + shift) ≤ y: the arcs [π − α, 2π + α]
            start, length = math.pi - alpha, math.pi + 2.0 * alpha
        else:       # aφ(z_i) ≤ u − bφ(z_o) ⟺ sin(z_i + shift) ≥ y: the arcs [α, π − α]
            start, length = alpha, math.pi - 2.0 * alpha
        inner = self._line_mass(zo.ravel(), shift, start.ravel(), length.ravel()).reshape(zo.shape)
        self.work += 6 * inner.size     # cost-model terms (measured 1.4e7 terms/s at 6: the others run at ~1.5e7)
        return np.bincount(row, weights=fold * width * (inner @ rule[1]), minlength=len(u))

    def _line_mass(self, zo, shift, start, length):
        """∫ p_w(w) p_b(z_o − x_o w)·[z_o + wΔ + shift ∈ arcs] dw: the exponent E(w) is linear between
        the kinks w = 0 and w = z_o/x_o (b = 0); the two outer pieces are arc tails (`arc_tail`), the middle one is
        `_between` (its slope ±κ by the sign of z_o)."""
        lw, lb, x_o, delta = self.lam_w, self.lam_b, self.x_o, self.delta
        norm = -math.log(4 * lw * lb)
        k_1 = zo / x_o if x_o != 0.0 else np.zeros_like(zo)
        k_lo, k_hi = np.minimum(0.0, k_1), np.maximum(0.0, k_1)
        t_lo, t_hi = zo + k_lo * delta + shift, zo + k_hi * delta + shift       # θ = z_o + wΔ + shift at the kinks
        e_lo = -np.abs(k_lo) / lw - np.abs(zo - x_o * k_lo) / lb + norm
        e_hi = -np.abs(k_hi) / lw - np.abs(zo - x_o * k_hi) / lb + norm
        rate = (1.0 / lw + abs(x_o) / lb) / delta        # dE/dθ left of k_lo (minus: right of k_hi)
        with np.errstate(over="ignore", invalid="ignore"):
            total = (np.exp(e_lo) * arc_tail(t_lo, rate, start, length)
                     + np.exp(e_hi) * arc_tail(t_hi, -rate, start, length))
            if x_o != 0.0:   # between the kinks: dE/dw = sign(z_o)·(x_o/λ_b − sign(x_o)/λ_w)
                lo, hi = np.minimum(t_lo, t_hi), np.maximum(t_lo, t_hi)
                for side in (-1.0, 1.0):
                    sel = (np.sign(zo) == side) & (k_hi > k_lo)
                    if not sel.any():
                        continue
                    kappa = side * (x_o / lb - math.copysign(1.0, x_o) / lw) / delta
                    # the end where E is largest (θ(k_lo) is the low end of θ when Δ > 0)
                    e_ref = (e_hi if (kappa >= 0) == (delta > 0) else e_lo)[sel]
                    total[sel] += np.exp(e_ref) * self._between(lo[sel], hi[sel], kappa, start[sel], length[sel])
        return np.nan_to_num(total, nan=0.0) / abs(delta)

    @staticmethod
    def _between(lo, hi, kappa: float, start, length):
        """`periodic_exponential` on [lo, hi] (slope κ): as the difference of the two arc tails (from the end where
        the exponential is largest, the other one's scaled by e^{−|κ|(hi − lo)}) where |κ|(hi − lo) ≥ 1e-3 (its
        cancellation then costs ≤ 1e-13 relative), else the series itself (2.5× the cost)."""
        span = abs(kappa) * (hi - lo)
        direct = span >= 1e-3
        near, far = (hi, lo) if kappa >= 0 else (lo, hi)
        out = np.zeros(len(lo))
        if kappa != 0.0:
            out = arc_tail(near, kappa, start, length) - np.exp(-span) * arc_tail(far, kappa, start, length)
        if not direct.all():
            rest = ~direct
            out[rest] = periodic_exponential(lo[rest], hi[rest], kappa, start[rest], length[rest])
        return out

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """C at radii r (laplace readout ψ(v) = 1/(1 + v²/2))."""
        kernel = readout_kernel("laplace", self.s, np.asarray(r, dtype=np.float64), self.u)
        return 1.0 + (2.0 if self.odd else 1.0) * (kernel @ (self.wu * self.f_minus))


__all__ = ["PeriodicLaplaceRayCF", "arc_tail", "periodic_exponential"]
