"""C(rθ̂) on rays for sin and cos under the student-t prior (docs/physics.md §4.6).

At a fixed first-layer weight w both pre-activations share the bias, z_k = wx_k + b, and the two sines add to one:

    U_θ = cos θ·sin(z₁ + sh) + sin θ·sin(z₂ + sh) = R(w)·sin(b + sh + δ(w)),   R e^{iδ} = cos θ·e^{iwx₁} + sin θ·e^{iwx₂}

(cos = sin shifted by sh = π/2). So {U_θ ≤ u} at fixed w is the union of the b-arcs [π − α, 2π + α] − sh − δ + 2πk,
α = arcsin(u/R), and P(U_θ ≤ u | w) is the mass the wrapped law of b puts on one arc (`wrapped_student_t`, exact
to ~1e-13 however many arcs the tails reach). F(u) = E_w[·] is one integral over w. Its integrand has square-root
edges where R(w) = |u| (cos wΔ = (u² − 1)/sin 2θ, Δ = x₁ − x₂: closed form) and, for a narrow b, a step of width
~σ_b/|dc/dw| wherever an arc's end c(w) crosses b = 0 mod 2π (found on a grid, the line cut there and at 1, 4, 16
step widths either side); otherwise pieces of at most π/max|x| (δ winds with w). Gauss–Legendre under the cosine
map on every piece (`neuron_cf_periodic_laplace._cosine_rule`), fewer nodes on light ones; beyond the reach where
w's two tails hold TAIL_MASS, geometric pieces without cuts. The critical values of U (where ∇U = 0: b + sh + δ =
±π/2 and R′(w) = 0) are ±R_min and ±R_max, R² = 1 + sin 2θ·cos wΔ: the u-rule is graded towards them and 0. The
readout's ψ enters by parts as in `neuron_cf_student_t`.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from . import student_t_cf
from .neuron_cf import _extent, u_rule
from .neuron_cf_laplace import split_pieces
from .neuron_cf_periodic import _grid_cuts
from .neuron_cf_periodic_laplace import _TIERS_FAST, _TIERS_PRECISE, _U_FINE
from .wrapped_student_t import wrapped

_SHIFT = {"sin": 0.0, "cos": 0.5 * math.pi}   # φ(z) = sin(z + shift)
TAIL_MASS = {False: 1e-10, True: 1e-14}       # w's mass beyond the resolved reach (its pieces err by ≤ their mass)
STEP_MASS = {False: 1e-7, True: 1e-12}        # w's mass beyond the steps' cuts (a light piece's rule spans a step)
CUT_MASS = {False: 1e-8, True: 1e-13}         # w's mass beyond which only the π/max|x| grid cuts the line
_BLOCK = 1 << 20                               # (pieces × nodes) per block of the w-rule
_FAR_MASS = 1e-17                              # w's mass left out altogether
_STEP_GRADES = (1.0, 4.0, 16.0)                # cuts around a step, in its widths
_GRID_PER_STEP = 0.5                           # step-finding grid: this many step widths per point (at most)


class PeriodicStudentTRayCF:
    """C(r·(cos θ, sin θ)) for one θ (sin, cos × student-t prior): F on a u-rule, then any r by parts."""

    def __init__(self, activation: str, x: tuple[float, float], sigma_w: float, sigma_b: float, s: float,
                 dof: float, theta: float, r_max: float, precise: bool = False):
        if activation not in _SHIFT:
            raise ValueError(f"PeriodicStudentTRayCF covers sin and cos (got {activation!r})")
        self.shift = _SHIFT[activation]
        self.c = (math.cos(theta), math.sin(theta))
        self.x = (float(x[0]), float(x[1]))
        self.dof, self.s = dof, s
        self.w_scale = sigma_w * math.sqrt((dof - 2) / dof)     # w = w_scale·t_ν
        self.bias = wrapped(float(sigma_b), float(dof))
        delta = self.x[0] - self.x[1]
        sin2 = 2.0 * self.c[0] * self.c[1]
        r_min, r_max_u = math.sqrt(max(1.0 - abs(sin2), 0.0)), math.sqrt(1.0 + abs(sin2))
        self.odd = activation == "sin"      # U(−w, −b) = −U(w, b), the prior symmetric: F(−u) = 1 − F(u)
        u_lo = 0.0 if self.odd else -r_max_u
        special_u = {u_lo, r_max_u, 0.0, r_min, -r_min}
        pts = sorted(p for p in special_u if u_lo <= p <= r_max_u)
        u, self.wu = u_rule(pts, s * r_max, r_max_u - u_lo, _U_FINE[precise])
        self.u = u

        reach = -self.w_scale * special.stdtrit(dof, 0.5 * TAIL_MASS[precise])
        far = -self.w_scale * special.stdtrit(dof, 0.5 * _FAR_MASS)
        x_max = max(abs(self.x[0]), abs(self.x[1]), 1e-12)
        # cos is even: (w, b) → −(w, b) leaves U alone and the prior symmetric, so the w-integrand is even
        start = 0.0 if activation == "cos" else -reach
        # δ winds fastest where R is smallest: pieces of at most π/max|x| and cut wherever δ crosses a multiple of
        # π/2, so no piece holds more than a quarter turn of the phase
        self.winding = self._max_winding(x_max)
        cut_reach = -self.w_scale * special.stdtrit(dof, 0.5 * CUT_MASS[precise])
        grid = np.concatenate([_grid_cuts(start, reach, 0.0, math.pi / x_max),
                               self._phase_cuts(max(start, -cut_reach), cut_reach)])
        cuts = [np.broadcast_to(grid, (len(u), len(grid)))]
        if abs(sin2) > 0.0 and delta != 0.0:   # R(w) = |u|: cos wΔ = κ
            kappa = (u * u - 1.0) / sin2
            ok = np.abs(kappa) < 1.0
            base = np.arccos(np.clip(kappa, -1.0, 1.0)) / abs(delta)
            period = 2.0 * math.pi / abs(delta)
            k = period * np.arange(-math.ceil(cut_reach / period) - 1, math.ceil(cut_reach / period) + 2)
            for root in (base, -base):
                cuts.append(np.where(ok[:, None], root[:, None] + k[None, :], np.nan))
        step_reach = -self.w_scale * special.stdtrit(dof, 0.5 * STEP_MASS[precise])
        cuts.append(self._step_cuts(u, start if start == 0.0 else -step_reach, step_reach, x_max))
        cuts = np.concatenate(cuts, axis=1)
        lo_w, hi_w, row = split_pieces(np.full(len(u), start), np.full(len(u), reach), cuts)
        # the tails beyond the reach: geometric pieces (ratio 2) out to `far`, no cuts
        outer = reach * 2.0 ** np.arange(0, max(1, math.ceil(math.log2(far / reach))) + 1)
        outer[-1] = max(outer[-1], far)
        tail_lo, tail_hi = outer[:-1], outer[1:]
        sides = [(tail_lo, tail_hi)] + ([] if activation == "cos" else [(-tail_hi, -tail_lo)])
        for a, b in sides:
            lo_w = np.concatenate([lo_w, np.tile(a, len(u))])
            hi_w = np.concatenate([hi_w, np.tile(b, len(u))])
            row = np.concatenate([row, np.repeat(np.arange(len(u)), len(a))])
        # the tiers need only a piece's mass roughly: the larger end density times its length
        mass = np.maximum(self._density(lo_w), self._density(hi_w)) * (hi_w - lo_w)
        fold = 2.0 if activation == "cos" else 1.0
        f = np.zeros(len(u))
        self.work = 0
        self.kernel_cost = 0.6   # terms per u-node and radius in the by-parts sum (its ψ′ table: 2× a gaussian exp)
        tiers = _TIERS_PRECISE if precise else _TIERS_FAST
        for k, (floor, rule) in enumerate(tiers):
            sel = (mass >= floor) & (mass < (tiers[k - 1][0] if k else math.inf)) & (mass > 0)
            if sel.any():
                f += self._pieces(lo_w[sel], hi_w[sel], row[sel], u, rule, fold)
        self.signed = np.sign(u) * self.wu * (f - (u > 0))
        self.bandwidth = s * _extent(u, f - (u > 0))

    def _phasor(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """R(w), δ(w)."""
        (c1, c2), (x1, x2) = self.c, self.x
        if x2 == -x1:   # the default points: e^{iwx₂} is e^{iwx₁}'s conjugate (half the sines and cosines)
            re, im = (c1 + c2) * np.cos(w * x1), (c1 - c2) * np.sin(w * x1)
        else:
            re = c1 * np.cos(w * x1) + c2 * np.cos(w * x2)
            im = c1 * np.sin(w * x1) + c2 * np.sin(w * x2)
        return np.hypot(re, im), np.arctan2(im, re)

    def _max_winding(self, x_max: float) -> float:
        """max |δ′(w)| over one period of R, δ′ = (c₁²x₁ + c₂²x₂ + c₁c₂(x₁ + x₂)cos wΔ)/R² (capped where R → 0:
        there δ only jumps by π inside R < |u|, where U ≤ u is decided)."""
        (c1, c2), (x1, x2) = self.c, self.x
        wd = np.linspace(0.0, 2.0 * math.pi, 4001)
        num = c1 * c1 * x1 + c2 * c2 * x2 + c1 * c2 * (x1 + x2) * np.cos(wd)
        r2 = 1.0 + 2.0 * c1 * c2 * np.cos(wd)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.abs(num) / r2
        return float(min(np.nanmax(np.where(np.isfinite(slope), slope, 0.0)), 200.0 * x_max))

    def _phase_cuts(self, start: float, reach: float) -> np.ndarray:
        """Where δ(w) (unwrapped) crosses a multiple of π/2, on a grid where it moves by at most 0.1."""
        # one period T = 2π/|Δ| of R, tiled: P(w + T) = e^{iTx₁}P(w), so δ advances by the same amount every period
        period = 2.0 * math.pi / abs(self.x[0] - self.x[1])
        w0 = np.linspace(0.0, period, int(math.ceil(period * self.winding / 0.1)) + 2)
        d0 = np.unwrap(self._phasor(w0)[1])
        k = np.arange(math.floor(start / period), math.ceil(reach / period) + 1)
        grid = (k[:, None] * period + w0[None, :-1]).ravel()
        delta = (k[:, None] * (d0[-1] - d0[0]) + d0[None, :-1]).ravel()
        keep = (grid >= start - period) & (grid <= reach + period)
        grid, delta = grid[keep], delta[keep]
        self._phase_grid = (grid, delta)
        turn = delta / (0.5 * math.pi)
        k0, k1 = np.floor(turn[:-1]), np.floor(turn[1:])
        hit = np.nonzero(k0 != k1)[0]
        level = np.maximum(k0, k1)[hit]
        return grid[hit] + (level - turn[hit]) / (turn[hit + 1] - turn[hit]) * (grid[hit + 1] - grid[hit])

    def _conditional(self, u: np.ndarray, w: np.ndarray) -> np.ndarray:
        """P(U_θ ≤ u | w) (u, w broadcast together)."""
        r, delta = self._phasor(w)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = u / r
        alpha = np.arcsin(np.clip(y, -1.0, 1.0))
        lo = math.pi - alpha - self.shift - delta
        inside = self.bias.arc_mass(lo, lo + math.pi + 2.0 * alpha)
        return np.where(y >= 1.0, 1.0, np.where(y <= -1.0, 0.0, inside))

    def _density(self, w: np.ndarray) -> np.ndarray:
        t = w / self.w_scale
        norm = math.exp(special.gammaln((self.dof + 1) / 2) - special.gammaln(self.dof / 2)) \
            / math.sqrt(self.dof * math.pi) / self.w_scale
        return norm * (1.0 + t * t / self.dof) ** (-(self.dof + 1) / 2)

    def _pieces(self, lo_w, hi_w, row, u, rule, fold) -> np.ndarray:
        frac, weights = rule
        out = np.zeros(len(u))
        size = max(1, _BLOCK // len(frac))
        for j in range(0, len(lo_w), size):
            lo, hi, rw = lo_w[j:j + size], hi_w[j:j + size], row[j:j + size]
            length = (hi - lo)[:, None]
            w = lo[:, None] + length * frac
            cond = self._conditional(u[rw][:, None], w)
            self.work += 3.2 * cond.size   # cost-model terms per node: runs at TERMS_PER_SECOND (2.3–2.6e7 measured)
            out += np.bincount(rw, weights=fold * ((cond * self._density(w) * length) @ weights), minlength=len(u))
        return out

    def _step_cuts(self, u: np.ndarray, start: float, reach: float, x_max: float) -> np.ndarray:
        """Cuts around each w where an arc's end crosses b = 0 mod 2π (a narrow b's step): the crossing and
        _STEP_GRADES step widths either side. None where b is wide (its steps are smoother than the pieces)."""
        d = self.bias.d
        if d >= 0.25 * math.pi:
            return np.full((len(u), 0), np.nan)
        # a grid uniform in the arc ends' travel, ∫(|δ′| + max|x|)dw, _GRID_PER_STEP step widths per point
        w, phase = self._phase_grid
        inside = (w >= start) & (w <= reach)
        w, phase = w[inside], phase[inside]
        travel = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(phase)) + x_max * np.diff(w))])
        grid = np.interp(np.arange(0.0, travel[-1], _GRID_PER_STEP * d), travel, w)
        r, delta = self._phasor(grid)
        delta += 2.0 * math.pi * np.round((np.interp(grid, w, phase) - delta) / (2.0 * math.pi))   # unwrapped
        with np.errstate(divide="ignore", invalid="ignore"):
            y = u[:, None] / r[None, :]
        alpha = np.arcsin(np.clip(y, -1.0, 1.0))
        valid = np.abs(y) < 1.0
        out = []
        for ends in ((math.pi - self.shift) - alpha - delta, (2.0 * math.pi - self.shift) + alpha - delta):
            turn = ends / (2.0 * math.pi)
            k_lo, k_hi = np.floor(turn[:, :-1]), np.floor(turn[:, 1:])
            hit = (k_lo != k_hi) & valid[:, :-1] & valid[:, 1:]
            level = np.maximum(k_lo, k_hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = (level - turn[:, :-1]) / (turn[:, 1:] - turn[:, :-1])
                slope = np.abs(turn[:, 1:] - turn[:, :-1]) * 2.0 * math.pi / np.diff(grid)
                width = d / slope
            at = grid[:-1] + frac * np.diff(grid)
            rows, cols = np.nonzero(hit)
            per_row = np.bincount(rows, minlength=len(u))
            if not len(rows):
                continue
            width_hit = width[rows, cols]
            pts = [at[rows, cols]] + [at[rows, cols] + sgn * g * width_hit for g in _STEP_GRADES for sgn in (-1, 1)]
            col = np.concatenate([np.arange(n) for n in per_row if n] if per_row.any() else [])
            block = np.full((len(u), per_row.max() * len(pts)), np.nan)
            for j, p in enumerate(pts):
                block[rows, col * len(pts) + j] = p
            out.append(block)
        return np.concatenate(out, axis=1) if out else np.full((len(u), 0), np.nan)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """C at radii r (student-t readout: −d/du ψ(sru) = sr·sign(u)·slope(sr|u|))."""
        sr = self.s * np.asarray(r, dtype=np.float64)
        kernel = student_t_cf.slope_outer(sr, np.abs(self.u), self.dof)
        return 1.0 + (2.0 if self.odd else 1.0) * sr * (kernel @ self.signed)


__all__ = ["PeriodicStudentTRayCF"]
