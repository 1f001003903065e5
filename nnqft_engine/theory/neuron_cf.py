"""One neuron's characteristic function in two outputs, C(t) = E[ψ(s·(t₁φ(z₁) + t₂φ(z₂)))], along rays
t = r·(cos θ, sin θ), for a smooth monotone φ under the gaussian prior (docs/physics.md §4.6).

C depends on t only through the projection U_θ = cos θ·φ(z₁) + sin θ·φ(z₂), C(rθ̂) = E[g(rU_θ)] with
g(v) = e^{−s²v²/2}. A plain 2-D rule over z fails at large r (the integrand is a ridge of width 1/(s r) around
the curve U_θ = 0), so the law of U_θ is computed instead, once per ray, as its CDF

    F(u) = E_{z_o}[ P(a φ(z_i) ≤ u − b φ(z_o) | z_o) ] = E_{z_o}[ Φ_N(±(φ⁻¹(y) − m z_o)/τ) ],  y = (u − bφ(z_o))/a,

(z_i the coordinate with the larger coefficient |a|, z_o the other; z_i | z_o ~ N(m z_o, τ²)); where y leaves
φ's range the conditional probability is exactly 0 or 1, integrated in closed form. The rest is one smooth
1-D integral over P = Φ_N(z_o/σ_o) by a tanh–sinh rule (its endpoints, where φ⁻¹(y) → ±∞, are only
log-singular). Then, by parts on u (split at 0 so nothing cancels badly),

    C(r) = 1 − ∫_{u<0} F(u) r g′(ru) du − ∫_{u>0} (F(u) − 1) r g′(ru) du,

on a composite Gauss–Legendre rule in u graded towards 0 (g′'s scale 1/(s r)) and towards the points where F
is not smooth (u = a·e + b·e′ for range edges e, e′ of φ). F is computed once per ray, so every r costs
only the u-rule.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..activations import get_activation
from ..gauss_rules import legendre_rule

# φ⁻¹ and φ's range for the monotone activations this module covers.
_INVERSE = {
    "erf": (special.erfinv, -1.0, 1.0),
    "tanh": (np.arctanh, -1.0, 1.0),
    "sigmoid": (special.logit, 0.0, 1.0),
    "softplus": (lambda y: y + np.log(-np.expm1(-y)), 0.0, math.inf),
    "linear": (lambda y: y, -math.inf, math.inf),
}
MONOTONE = tuple(_INVERSE)
_FORWARD = {
    "erf": special.erf, "tanh": np.tanh, "sigmoid": special.expit,
    "softplus": lambda z: np.logaddexp(0.0, z), "linear": lambda z: z,
}
_SLOPE = {
    "erf": lambda z: 2.0 / math.sqrt(math.pi) * np.exp(-z * z), "tanh": lambda z: 1.0 / np.cosh(z) ** 2,
    "sigmoid": lambda z: special.expit(z) * special.expit(-z), "softplus": special.expit,
    "linear": lambda z: np.ones_like(z),
}
_Z_REACH = 9.0        # standard deviations of z covered (Gaussian mass beyond: 2e-19)
_L_U = 8              # Legendre nodes per u-piece


def activation_reach(activation: str, sigma: np.ndarray) -> float:
    """max |φ(z)| over the z that matter (±9 standard deviations): bounds |U_θ|/√2."""
    fwd = _FORWARD.get(activation) or (lambda z: get_activation(activation).numpy_fn(np.asarray(z), 0.0))
    zmax = _Z_REACH * math.sqrt(max(sigma[0, 0], sigma[1, 1]))
    return float(max(abs(fwd(zmax)), abs(fwd(-zmax))))


def _tanh_sinh(h: float = 1.0 / 8, reach: float = 3.2):
    """Nodes as distances from both ends of [0, 1] (accurate near either end) and weights."""
    k = np.arange(-int(reach / h), int(reach / h) + 1) * h
    y = 0.5 * math.pi * np.sinh(k)
    e = np.exp(-2.0 * np.abs(y))
    near = e / (1.0 + e)                         # distance of (1 + tanh)/2 from the nearer end
    d_lo = np.where(k < 0, near, 1.0 - near)
    w = h * 0.5 * math.pi * np.cosh(k) * 4.0 * e / (1.0 + e) ** 2 / 2.0   # d/dk of (1 + tanh y)/2
    return d_lo, 1.0 - d_lo, w


_TS = {True: _tanh_sinh(1.0 / 16, 3.6), False: _tanh_sinh(1.0 / 10, 3.2)}   # precise / fast (|δC| ~ 1e-10 / 1e-7)
ODD = ("erf", "tanh", "linear")   # U_θ(−z) = −U_θ(z): F(−u) = 1 − F(u), only u ≥ 0 is computed


def _extent(u: np.ndarray, f_minus: np.ndarray) -> float:
    """max |u| where F(u) (or 1 − F) still exceeds 1e-14: the r-frequencies of C reach s times this."""
    big = np.abs(f_minus) > 1e-14
    return float(np.abs(u[big]).max()) if big.any() else float(np.abs(u).max())


def u_rule(pts: list[float], reach: float, span: float, fine_rel: float,
           max_piece: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights in u over the pieces between `pts`, graded towards each split point: to
    fine_rel·span, or towards u = 0 (where the ridge g(ru) lives) to the ridge's width 0.05/reach; no piece wider
    than max_piece (an oscillating readout kernel)."""
    fine0 = min(0.05 / max(reach, 1e-300), 1e-2 * span)
    fine = fine_rel * span
    edges: list[float] = []
    for p, q in zip(pts[:-1], pts[1:]):
        piece = _graded(p, q, fine0 if p == 0.0 else fine, fine0 if q == 0.0 else fine)
        edges.extend(piece if not edges else piece[1:])
    e = np.asarray(edges)
    if math.isfinite(max_piece):
        parts = np.maximum(1, np.ceil(np.diff(e) / max_piece)).astype(int)
        e = np.concatenate([np.linspace(lo, hi, k + 1)[:-1] for lo, hi, k in zip(e[:-1], e[1:], parts)] + [e[-1:]])
    g, gw = legendre_rule(_L_U)
    half = 0.5 * np.diff(e)
    return ((0.5 * (e[1:] + e[:-1]))[:, None] + half[:, None] * g).ravel(), (half[:, None] * gw).ravel()


def _graded(lo: float, hi: float, fine_lo: float, fine_hi: float, ratio: float = 2.0) -> list[float]:
    """Edges of [lo, hi] with pieces growing geometrically from fine_lo at lo and fine_hi at hi (to the middle)."""
    left, right = [lo], [hi]
    w = fine_lo
    while left[-1] + w < 0.5 * (lo + hi):
        left.append(left[-1] + w)
        w *= ratio
    w = fine_hi
    while right[-1] - w > 0.5 * (lo + hi):
        right.append(right[-1] - w)
        w *= ratio
    return left + right[::-1]


def ray_frame(sigma: np.ndarray, theta: float) -> tuple[int, int, float, float, float, float, float]:
    """For U = cosθ·φ(z₁) + sinθ·φ(z₂) = a·φ(z_i) + b·φ(z_o): the inner index i (the larger coefficient a), the
    outer o, and z_i | z_o ~ N(m·z_o, τ²) with z_o ~ N(0, sd_o²)."""
    c, sn = math.cos(theta), math.sin(theta)
    i, o = (0, 1) if abs(c) >= abs(sn) else (1, 0)
    a, b = (c, sn) if i == 0 else (sn, c)
    if b == 0.0:
        b = 1e-300
    sd_o = math.sqrt(sigma[o, o])
    m = sigma[i, o] / sigma[o, o]
    tau = math.sqrt(max(sigma[i, i] - sigma[i, o] ** 2 / sigma[o, o], 0.0))
    return i, o, a, b, sd_o, m, tau


def ray_u_rule(activation: str, sigma: np.ndarray, theta: float, reach: float,
               precise: bool) -> tuple[np.ndarray, np.ndarray]:
    """The u-rule of U_θ = a·φ(z_i) + b·φ(z_o) (monotone φ): over its support (u ≥ 0 only for odd φ), split where
    F is not smooth (the corners of φ's range), graded towards u = 0 for the ridge of width ~1/reach."""
    inv, lo_e, hi_e = _INVERSE[activation]
    fwd = _FORWARD[activation]
    i, o, a, b = ray_frame(sigma, theta)[:4]
    lo_r = [fwd(-_Z_REACH * math.sqrt(sigma[k, k])) if not math.isfinite(lo_e) else lo_e for k in (i, o)]
    hi_r = [fwd(_Z_REACH * math.sqrt(sigma[k, k])) if not math.isfinite(hi_e) else hi_e for k in (i, o)]
    corners = (np.array([lo_r[0], hi_r[0]])[:, None] * a + np.array([lo_r[1], hi_r[1]])[None, :] * b).ravel()
    u_lo, u_hi = min(float(corners.min()), 0.0), max(float(corners.max()), 0.0)
    special_pts = {u_lo, u_hi, 0.0}
    for e_i in (lo_e, hi_e):
        for e_o in (lo_e, hi_e):
            if math.isfinite(e_i) and math.isfinite(e_o):
                special_pts.add(a * e_i + b * e_o)
    if activation in ODD:
        u_lo = 0.0
    pts = sorted(p for p in special_pts if u_lo <= p <= u_hi)
    return u_rule(pts, reach, u_hi - u_lo, 1e-9 if precise else 1e-7)


def frame_cdf(activation: str, a: float, b: float, sd_o: float, m: float, tau: float, u: np.ndarray,
              precise: bool, z_rule: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, int]:
    """F(u) = P(a·φ(z_i) + b·φ(z_o) ≤ u) for z_o ~ N(0, sd_o²), z_i | z_o ~ N(m·z_o, τ²) (φ monotone, |a| ≥ |b|),
    and the number of conditional-CDF terms. The z_o-interval where y is inside φ's range is split where the
    conditional step Φ_N((φ⁻¹(y) − m z_o)/τ) crosses ½ (`diagonal_roots`) where that step is sharp: it rises over a
    width ~τ, which a single tanh–sinh rule does not resolve once z_i and z_o are nearly (anti)correlated (x₂ = −x₁
    with a small σ_b: |δC| 2e-3 at ρ = −0.991 unsplit, ≤ 1.1e-8 split, against nested adaptive quadrature).
    `z_rule`: a tanh–sinh rule in z_o's probability other than the precise / fast one."""
    inv, lo_e, hi_e = _INVERSE[activation]
    fwd = _FORWARD[activation]
    span = [lo_e, hi_e]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        v1 = (u - a * span[1]) / b if math.isfinite(span[1]) else np.full_like(u, -math.copysign(math.inf, a * b))
        v2 = (u - a * span[0]) / b if math.isfinite(span[0]) else np.full_like(u, math.copysign(math.inf, a * b))
        low = np.clip(np.minimum(v1, v2), lo_e, hi_e)
        high = np.clip(np.maximum(v1, v2), lo_e, hi_e)
        z_a, z_b = inv(low), inv(high)
    pa = special.ndtr(z_a / sd_o)
    qb = special.ndtr(-z_b / sd_o)
    left, right = (1.0, 0.0) if b > 0 else (0.0, 1.0)
    if tau < _SPLIT_BELOW * math.hypot(m * sd_o, tau):   # |ρ| > 0.95: the conditional step is sharp
        roots = diagonal_roots(fwd, _SLOPE[activation], a, b, m, sd_o, u)
    else:
        roots = np.empty((len(u), 0))
    cuts = np.where((roots > z_a[:, None]) & (roots < z_b[:, None]), roots, z_a[:, None])
    bounds = np.sort(np.concatenate([z_a[:, None], cuts, z_b[:, None]], axis=1), axis=1)   # (U, pieces + 1)
    d_lo, d_hi, wts = z_rule or _TS[precise]
    p_lo = special.ndtr(bounds[:, :-1] / sd_o)
    q_hi = special.ndtr(-bounds[:, 1:] / sd_o)
    width = np.maximum(1.0 - p_lo - q_hi, 0.0)                  # (U, pieces)
    row, col = np.nonzero(width > 0.0)                          # an empty piece (no root there) adds nothing
    w_k = width[row, col]
    p = p_lo[row, col, None] + w_k[:, None] * d_lo              # P = Φ_N(z_o/σ_o) at the nodes
    q = q_hi[row, col, None] + w_k[:, None] * d_hi              # 1 − P
    zo = sd_o * normal_quantile(p, q)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        y = (u[row, None] - b * fwd(zo)) / a
        zi = inv(np.clip(y, lo_e, hi_e))
        arg = (zi - m * zo) / tau if tau > 0 else np.sign(zi - m * zo) * math.inf
    cond = special.ndtr(arg if a > 0 else -arg)
    cond[np.isnan(cond)] = 0.0
    inner = np.bincount(row, weights=w_k * (cond @ wts), minlength=len(u))
    return left * pa + right * qb + inner, cond.size


def normal_quantile(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Φ_N⁻¹(P) from P and 1 − P, each computed accurately: the nearer tail's quantile (one ndtri per node)."""
    lower = p < 0.5
    zeta = special.ndtri(np.clip(np.where(lower, p, q), 1e-300, 1.0))
    return np.where(lower, zeta, -zeta)


_SPLIT_BELOW = 0.3   # τ/sd(z_i) below which the z_o-line is split (unsplit: |δC| 1.1e-7 at 0.385, 2e-3 at 0.13)
_DIAGONAL_GRID = np.linspace(-_Z_REACH, _Z_REACH, 721)   # in units of sd_o: brackets h's monotone pieces


def diagonal_roots(fwd, slope, a: float, b: float, m: float, sd_o: float, u: np.ndarray) -> np.ndarray:
    """(U, R): the z_o with h(z_o) = a·φ(m z_o) + b·φ(z_o) = u (where z_i = m z_o, the conditional median), one
    column per monotone piece of h on ±_Z_REACH·sd_o (NaN where that piece does not reach u): linear
    interpolation on a grid, then Newton (φ = fwd, φ′ = slope)."""
    z = sd_o * _DIAGONAL_GRID
    h = a * fwd(m * z) + b * fwd(z)
    d = np.diff(h)
    turns = np.nonzero(d[:-1] * d[1:] < 0)[0] + 1
    edges = [0, *turns.tolist(), len(z) - 1]
    cols = []
    for i, j in zip(edges[:-1], edges[1:]):
        seg_z, seg_h = z[i:j + 1], h[i:j + 1]
        if seg_h[-1] < seg_h[0]:
            seg_z, seg_h = seg_z[::-1], seg_h[::-1]
        inside = (u > seg_h[0]) & (u < seg_h[-1])
        r = np.interp(u, seg_h, seg_z)
        lo, hi = min(seg_z[0], seg_z[-1]), max(seg_z[0], seg_z[-1])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for _ in range(3):
                dh = a * m * slope(m * r) + b * slope(r)
                step = (a * fwd(m * r) + b * fwd(r) - u) / dh
                r = np.clip(np.where(np.isfinite(step), r - step, r), lo, hi)
        cols.append(np.where(inside, r, np.nan))
    return np.stack(cols, axis=1) if cols else np.full((len(u), 0), np.nan)


class RayCF:
    """C(r·(cos θ, sin θ)) for one θ: F of U_θ on a u-rule, then any r by the by-parts formula."""

    def __init__(self, activation: str, sigma: np.ndarray, s: float, theta: float, r_max: float,
                 precise: bool = True):
        i, o, a, b, sd_o, m, tau = ray_frame(sigma, theta)
        u, wu = ray_u_rule(activation, sigma, theta, s * r_max, precise)
        self.odd = activation in ODD
        self.u, self.s = u, s
        f, self.work = frame_cdf(activation, a, b, sd_o, m, tau, u, precise)
        self.f_minus = f - (u > 0)                              # F(u) − 1 for u > 0
        self.bandwidth = s * _extent(u, self.f_minus)
        self.wu = wu

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """C at radii r (gaussian readout: −r g′(ru) = s²r²u e^{−s²r²u²/2})."""
        r = np.asarray(r, dtype=np.float64)
        x = (self.s * r)[:, None] * self.u
        kernel = (self.s * r)[:, None] * x * np.exp(-0.5 * x * x)
        return 1.0 + (2.0 if self.odd else 1.0) * (kernel @ (self.wu * self.f_minus))
