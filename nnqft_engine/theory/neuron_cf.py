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


class RayCF:
    """C(r·(cos θ, sin θ)) for one θ: F of U_θ on a u-rule, then any r by the by-parts formula."""

    def __init__(self, activation: str, sigma: np.ndarray, s: float, theta: float, r_max: float,
                 precise: bool = True):
        inv, lo_e, hi_e = _INVERSE[activation]
        fwd = _FORWARD[activation]
        i, o, a, b, sd_o, m, tau = ray_frame(sigma, theta)
        # Support of U and the points where F is not smooth.
        span = [lo_e, hi_e]
        reach = [fwd(-_Z_REACH * math.sqrt(sigma[k, k])) if not math.isfinite(lo_e) else lo_e for k in (i, o)]
        reach_hi = [fwd(_Z_REACH * math.sqrt(sigma[k, k])) if not math.isfinite(hi_e) else hi_e for k in (i, o)]
        ends_i = np.array([reach[0], reach_hi[0]]) * a
        ends_o = np.array([reach[1], reach_hi[1]]) * b
        corners = (ends_i[:, None] + ends_o[None, :]).ravel()
        u_lo, u_hi = min(float(corners.min()), 0.0), max(float(corners.max()), 0.0)
        special_pts = {u_lo, u_hi, 0.0}
        for e_i in (lo_e, hi_e):
            for e_o in (lo_e, hi_e):
                if math.isfinite(e_i) and math.isfinite(e_o):
                    special_pts.add(a * e_i + b * e_o)
        self.odd = activation in ODD
        if self.odd:
            u_lo = 0.0
        pts = sorted(p for p in special_pts if u_lo <= p <= u_hi)
        u, wu = u_rule(pts, s * r_max, u_hi - u_lo, 1e-9 if precise else 1e-7)
        self.u, self.s = u, s
        # F(u) − [u > 0]: z_o-intervals where y is inside φ's range (y is monotone in z_o).
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            v1 = (u - a * span[1]) / b if math.isfinite(span[1]) else np.full_like(u, -math.copysign(math.inf, a * b))
            v2 = (u - a * span[0]) / b if math.isfinite(span[0]) else np.full_like(u, math.copysign(math.inf, a * b))
            low = np.clip(np.minimum(v1, v2), lo_e, hi_e)
            high = np.clip(np.maximum(v1, v2), lo_e, hi_e)
            z_a, z_b = inv(low), inv(high)
        pa = special.ndtr(z_a / sd_o)
        qb = special.ndtr(-z_b / sd_o)
        left, right = (1.0, 0.0) if b > 0 else (0.0, 1.0)
        d_lo, d_hi, wts = _TS[precise]
        width = np.maximum(1.0 - pa - qb, 0.0)
        p = pa[:, None] + width[:, None] * d_lo                 # P = Φ_N(z_o/σ_o) at the nodes
        q = qb[:, None] + width[:, None] * d_hi                 # 1 − P
        zeta = np.where(p < 0.5, special.ndtri(np.clip(p, 1e-300, 1.0)), -special.ndtri(np.clip(q, 1e-300, 1.0)))
        zo = sd_o * zeta
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            y = (u[:, None] - b * fwd(zo)) / a
            zi = inv(np.clip(y, lo_e, hi_e))
            arg = (zi - m * zo) / tau if tau > 0 else np.sign(zi - m * zo) * math.inf
        cond = special.ndtr(arg if a > 0 else -arg)
        cond = np.nan_to_num(cond, nan=0.0)
        self.work = cond.size                                   # conditional-CDF terms (the cost model)
        f = left * pa + right * qb + width * (cond @ wts)
        self.f_minus = f - (u > 0)                              # F(u) − 1 for u > 0
        self.bandwidth = s * _extent(u, self.f_minus)
        self.wu = wu

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """C at radii r (gaussian readout: −r g′(ru) = s²r²u e^{−s²r²u²/2})."""
        r = np.asarray(r, dtype=np.float64)
        x = (self.s * r)[:, None] * self.u
        kernel = (self.s * r)[:, None] * x * np.exp(-0.5 * x * x)
        return 1.0 + (2.0 if self.odd else 1.0) * (kernel @ (self.wu * self.f_minus))
