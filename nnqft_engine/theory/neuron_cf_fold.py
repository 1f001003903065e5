"""C(rθ̂) on rays for activations with one minimum (gelu, silu), gaussian prior (docs/physics.md §4.6).

As in `neuron_cf`, F(u) = P(aφ(z_i) + bφ(z_o) ≤ u) = E_{z_o}[P(aφ(z_i) ≤ u − bφ(z_o) | z_o)], but φ now falls
from 0⁻ (z → −∞) to its minimum φ_min at z = t and rises again, so {z : φ(z) ≤ y} is the interval
[z₋(y), z₊(y)] between the two roots (z₋ = −∞ once y ≥ 0, empty below φ_min):

    P(φ(z_i) ≤ y | z_o) = Φ_N((z₊(y) − m z_o)/τ) − Φ_N((z₋(y) − m z_o)/τ).

The inverse branches z± are tabulated once (bisection; cubic interpolation in √(y − φ_min), which is smooth
through the fold, and in log(−y) where the left branch runs off to −∞). As a function of z_o the integrand is
not smooth where y(z_o) crosses φ_min (a square-root edge) or 0 (z₋ jumps to −∞, a power-law edge): the
z_o-line is split at those points (up to four roots) and each piece integrated by tanh–sinh in P = Φ_N(z_o/σ_o).
The u-rule is graded towards every a·v + b·v′ with v, v′ ∈ {φ_min, 0}.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special

from ..activations import get_activation
from .neuron_cf import _SPLIT_BELOW, _TS, _Z_REACH, _extent, diagonal_roots, normal_quantile, ray_frame, u_rule

FOLDED = ("gelu", "silu")
_TABLE = 1 << 18


def _phi(name: str):
    act = get_activation(name)
    return lambda z: act.numpy_fn(np.asarray(z, dtype=np.float64), 0.0)


class _Table:
    """z(x) on a uniform x-grid (linear interpolation; 2¹⁸ points: error ~ h²z″/8 ≈ 1e-10), clamped outside."""

    def __init__(self, x0: float, x1: float, z_of_x):
        self.x = np.linspace(x0, x1, _TABLE)
        self.x0, self.step = x0, (x1 - x0) / (_TABLE - 1)
        self.z = z_of_x(self.x)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        pos = np.clip((x - self.x0) / self.step, 0.0, _TABLE - 1.000001)
        i = pos.astype(np.int64)
        d = pos - i
        return self.z[i] + d * (self.z[i + 1] - self.z[i])


def _solve(name: str, y: np.ndarray, z_lo: float, z_hi: float) -> np.ndarray:
    """z in [z_lo, z_hi] (φ monotone there) with φ(z) = y: dense forward table, then two Newton steps."""
    act = get_activation(name)
    grid = np.linspace(z_lo, z_hi, 1 << 16)
    vals = act.numpy_fn(grid, 0.0)
    order = np.argsort(vals)
    z = np.interp(y, vals[order], grid[order])
    for _ in range(2):
        g = act.numpy_grad(z, 0.0)
        step = np.where(np.abs(g) > 1e-6, (act.numpy_fn(z, 0.0) - y) / np.where(g == 0, 1.0, g), 0.0)
        z = np.clip(z - step, z_lo, z_hi)
    return z


@lru_cache(maxsize=4)
def _inverses(name: str):
    """(t, φ_min, z₊, z₋): the turning point, the minimum and the two inverse branches (z₋ = −∞ for y ≥ 0; clamped at the far end,
    where φ has underflowed or z lies beyond 60, far outside every pre-activation's reach)."""
    act = get_activation(name)
    t = -1.0
    for _ in range(60):   # Newton on φ′ = 0 (φ″ by a central difference)
        g = float(act.numpy_grad(np.array(t), 0.0))
        g2 = (float(act.numpy_grad(np.array(t + 1e-5), 0.0)) - float(act.numpy_grad(np.array(t - 1e-5), 0.0))) / 2e-5
        t -= g / g2
    phi = _phi(name)
    fmin, top, zc = float(phi(t)), 60.0, t - 2.0
    far = -60.0
    while -float(phi(far)) < 1e-300:   # gelu underflows long before −60
        far += 0.25
    y_c, y_far = float(phi(zc)), float(phi(far))
    right = _Table(0.0, math.sqrt(float(phi(top)) - fmin), lambda x: _solve(name, fmin + x * x, t, top))
    near = _Table(0.0, math.sqrt(y_c - fmin), lambda x: _solve(name, fmin + x * x, zc, t))
    tail = _Table(math.log(-y_c), math.log(-y_far), lambda x: _solve(name, -np.exp(x), far, zc))
    right.z[0] = near.z[0] = t

    def z_plus(y):
        return right(np.sqrt(np.maximum(y - fmin, 0.0)))

    def z_minus(y):
        out = np.full(y.shape, -np.inf)
        close = (y > fmin) & (y <= y_c)
        out[close] = near(np.sqrt(y[close] - fmin))
        mid = (y > y_c) & (y < 0.0)
        out[mid] = tail(np.log(-y[mid]))
        out[y <= fmin] = t
        return out

    return t, fmin, z_plus, z_minus


class FoldRayCF:
    """C(r·(cos θ, sin θ)) for one θ (gelu, silu × gaussian prior): F on a u-rule, then any r by parts."""

    def __init__(self, activation: str, sigma: np.ndarray, s: float, theta: float, r_max: float,
                 precise: bool = True):
        phi = _phi(activation)
        reach = _Z_REACH * math.sqrt(max(sigma[0, 0], sigma[1, 1]))
        t, fmin, z_plus, z_minus = _inverses(activation)
        i, o, a, b, sd_o, m, tau = ray_frame(sigma, theta)
        top = float(phi(reach))
        corners = np.array([a * p + b * q for p in (fmin, top) for q in (fmin, top)])
        u_lo, u_hi = min(corners.min(), 0.0), max(corners.max(), 0.0)
        pts = sorted({u_lo, u_hi, 0.0} | {a * p + b * q for p in (fmin, 0.0) for q in (fmin, 0.0)
                                         if u_lo <= a * p + b * q <= u_hi})
        u, self.wu = u_rule(pts, s * r_max, u_hi - u_lo, 1e-9 if precise else 1e-5)
        self.u, self.s = u, s
        # Split points of the z_o-line: φ(z_o) = (u − a·v)/b for v ∈ {φ_min, 0}, each on both branches.
        cuts = []
        for v in (fmin, 0.0):
            target = (u - a * v) / b
            ok = target > fmin
            cuts.append(np.where(ok, z_plus(target), np.nan))
            cuts.append(np.where(ok & (target < 0), z_minus(target), np.nan))
        cuts.append(np.full(len(u), t))   # y(z_o) is stationary there: a narrow feature when it nearly hits φ_min
        # where z_i = m z_o solves φ(z_i) = y: the conditional steps, of width ~τ (nearly (anti)correlated points)
        cuts = np.stack(cuts, axis=1)
        if tau < _SPLIT_BELOW * math.hypot(m * sd_o, tau):
            grad = get_activation(activation).numpy_grad
            cuts = np.concatenate([cuts, diagonal_roots(phi, lambda z: grad(z, 0.0), a, b, m, sd_o, u)], axis=1)
        cuts = np.where(np.isfinite(cuts), cuts, np.inf)
        bounds = np.sort(np.concatenate([np.full((len(u), 1), -np.inf), cuts], axis=1), axis=1)
        bounds = np.concatenate([bounds, np.full((len(u), 1), np.inf)], axis=1)   # ±inf pad the empty cuts
        lo_z, hi_z = bounds[:, :-1], bounds[:, 1:]
        keep = hi_z > lo_z
        row = np.broadcast_to(np.arange(len(u))[:, None], lo_z.shape)[keep]
        p_lo = special.ndtr(lo_z[keep] / sd_o)
        q_hi = special.ndtr(-hi_z[keep] / sd_o)
        width = np.maximum(1.0 - p_lo - q_hi, 0.0)
        d_lo, d_hi, wts = _TS[precise]
        p = p_lo[:, None] + width[:, None] * d_lo
        q = q_hi[:, None] + width[:, None] * d_hi
        zo = sd_o * normal_quantile(p, q)
        y = (u[row][:, None] - b * phi(zo)) / a
        mu = m * zo
        below = special.ndtr((z_plus(y) - mu) / tau) - special.ndtr((z_minus(y) - mu) / tau)   # P(φ(z_i) ≤ y | z_o)
        below[y <= fmin] = 0.0
        cond = below if a > 0 else 1.0 - below
        self.work = 2 * cond.size          # conditional-CDF terms, each ~2× erf's (tables, two normal CDFs)
        f = np.bincount(row, weights=width * (cond @ wts), minlength=len(u))
        self.f_minus = f - (u > 0)
        self.bandwidth = s * _extent(u, self.f_minus)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        r = np.asarray(r, dtype=np.float64)
        x = (self.s * r)[:, None] * self.u
        kernel = (self.s * r)[:, None] * x * np.exp(-0.5 * x * x)
        return 1.0 + kernel @ (self.wu * self.f_minus)
