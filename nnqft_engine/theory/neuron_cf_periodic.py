"""C(rθ̂) on rays for sin and cos, gaussian prior (docs/physics.md §4.6).

As in `neuron_cf`, F(u) = P(aφ(z_i) + bφ(z_o) ≤ u) = E_{z_o}[P(aφ(z_i) ≤ u − bφ(z_o) | z_o)] with z_i | z_o ~
N(μ, τ²), μ = m z_o. cos z = sin(z + π/2), so both are sin of a shifted argument. For |y| < 1, {z : sin z ≤ y} is
the union over k of the arcs [π − α + 2πk, 2π + α + 2πk], α = arcsin y, so the conditional probability is the
mass a wrapped normal puts on one arc:

    P(sin z_i ≤ y | z_o) = Σ_k [Φ_N((2π + α + 2πk − μ)/τ) − Φ_N((π − α + 2πk − μ)/τ)]
                         = (π + 2α)/2π + Σ_{n≥1} e^{−n²τ²/2}/(πn)·[sin n(2π + α − μ) − sin n(π − α − μ)],

the sum over arcs for a narrow conditional law (the few arcs within 8.5τ of μ), the Fourier series for a wide one
(the terms above e^{−40}). As a function of z_o this has square-root edges where y(z_o) = (u − bφ(z_o))/a
reaches ±1 and oscillates with φ(z_o) and with μ: the z_o-line (±9 sd_o) is split at those edges, at the turning
points of φ(z_o) and of φ(m z_o) (every π and π/|m|) and, where the conditional law is narrow, at the diagonal
roots (where the arcs' steps lie); tanh–sinh in P = Φ_N(z_o/σ_o) on every piece, fewer nodes on light pieces.
The u-rule is graded towards ±a ± b (both φ at an extreme: U's critical values), towards 0 and, where the law
hugs the curve z_i = m z_o, towards the stationary values of h(z_o) = aφ(m z_o) + bφ(z_o).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..gauss_rules import legendre_rule
from .neuron_cf import _L_U, _TS, _tanh_sinh, _Z_REACH, _extent, _graded, diagonal_roots, normal_quantile, ray_frame
from .neuron_cf_laplace import split_pieces

PERIODIC = ("sin", "cos")
_SHIFT = {"sin": 0.0, "cos": 0.5 * math.pi}   # φ(z) = sin(z + shift)
_WIDE = 0.7          # τ from which the Fourier series is used (≤ 13 terms above e^{−40}); below, the arcs (≤ 4)
_ARC_REACH = 8.5     # arcs beyond μ ± 8.5τ carry < 1e-17
_STATIONARY_REACH = 7.0   # sd_o: stationary points of h beyond carry < 3e-12 of z_o's mass
# tanh–sinh rules in P by a piece's mass (fast: 43, 29, 13 nodes; a light piece tolerates a larger relative error)
_TIERS_FAST = ((1e-2, _tanh_sinh(1.0 / 7, 3.0)), (1e-8, _tanh_sinh(1.0 / 5, 2.8)), (0.0, _tanh_sinh(1.0 / 2.5, 2.5)))
_TIERS_PRECISE = ((0.0, _TS[True]),)
_NARROW = 0.5        # τ (radians) below which the arcs' steps are split at the diagonal roots
_HUGGING = 0.5       # τ below which the u-rule is graded towards the stationary values of h


def shifted_sine(activation: str):
    """(φ, φ′, shift) for sin or cos as sin(z + shift) (the frame the arcs are written in)."""
    if activation not in PERIODIC:
        raise ValueError(f"the periodic routes cover {', '.join(PERIODIC)} (got {activation!r})")
    shift = _SHIFT[activation]

    def phi(z):
        return np.sin(np.asarray(z, dtype=np.float64) + shift)

    def grad(z):
        return np.cos(np.asarray(z, dtype=np.float64) + shift)

    return phi, grad, shift


def arc_probability(y: np.ndarray, mu: np.ndarray, tau: float) -> np.ndarray:
    """P(sin z ≤ y) for z ~ N(μ, τ²) (y, μ broadcast together; τ > 0)."""
    y, mu = np.broadcast_arrays(np.asarray(y, dtype=np.float64), np.asarray(mu, dtype=np.float64))
    alpha = np.arcsin(np.clip(y, -1.0, 1.0))
    lo, hi = math.pi - alpha, 2.0 * math.pi + alpha     # one arc: [lo, hi] + 2πk
    if tau >= _WIDE:   # sin n(hi − μ) − sin n(lo − μ) by the Chebyshev recurrence: two sines and cosines in all
        out = (hi - lo) / (2.0 * math.pi)
        s_hi, s_lo = np.sin(hi - mu), np.sin(lo - mu)
        c_hi, c_lo = 2.0 * np.cos(hi - mu), 2.0 * np.cos(lo - mu)
        p_hi, p_lo = np.zeros(y.shape), np.zeros(y.shape)
        for n in range(1, int(math.ceil(math.sqrt(80.0) / tau)) + 1):   # sin (n+1)x = 2cos x·sin nx − sin (n−1)x
            out = out + math.exp(-0.5 * n * n * tau * tau) / (math.pi * n) * (s_hi - s_lo)
            s_hi, p_hi = c_hi * s_hi - p_hi, s_hi
            s_lo, p_lo = c_lo * s_lo - p_lo, s_lo
    else:
        arcs = int(math.ceil(2.0 * _ARC_REACH * tau / (2.0 * math.pi))) + 2
        k0 = np.floor((mu - _ARC_REACH * tau - hi) / (2.0 * math.pi))
        out = np.zeros(y.shape)
        for j in range(arcs):
            shift = 2.0 * math.pi * (k0 + j)
            a, b = (lo + shift - mu) / tau, (hi + shift - mu) / tau
            above = a > 0   # an arc above μ from its upper tail: Φ(−a) − Φ(−b), no 1 − 1 cancellation
            out += special.ndtr(np.where(above, -a, b)) - special.ndtr(np.where(above, -b, a))
    out = np.where(y >= 1.0, 1.0, np.where(y <= -1.0, 0.0, out))
    return np.clip(out, 0.0, 1.0)


def _graded_rule(pts: list[float], fine: dict) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights over the pieces between `pts`, graded towards each to fine[pt]."""
    edges: list[float] = []
    for p, q in zip(pts[:-1], pts[1:]):
        piece = _graded(p, q, fine[p], fine[q])
        edges.extend(piece if not edges else piece[1:])
    e = np.asarray(edges)
    g, gw = legendre_rule(_L_U)
    half = 0.5 * np.diff(e)
    return ((0.5 * (e[1:] + e[:-1]))[:, None] + half[:, None] * g).ravel(), (half[:, None] * gw).ravel()


def _grid_cuts(lo: float, hi: float, start: float, step: float) -> np.ndarray:
    """start + k·step inside (lo, hi)."""
    k = np.arange(math.ceil((lo - start) / step), math.floor((hi - start) / step) + 1)
    return start + k * step


class PeriodicRayCF:
    """C(r·(cos θ, sin θ)) for one θ (sin, cos × gaussian prior): F on a u-rule, then any r by parts."""

    def __init__(self, activation: str, sigma: np.ndarray, s: float, theta: float, r_max: float,
                 precise: bool = True):
        if activation not in PERIODIC:
            raise ValueError(f"PeriodicRayCF covers {', '.join(PERIODIC)} (got {activation!r})")
        shift = _SHIFT[activation]
        i, o, a, b, sd_o, m, tau = ray_frame(sigma, theta)
        ranges = [self._range(shift, _Z_REACH * math.sqrt(sigma[k, k])) for k in (i, o)]
        corners = [a * p + b * q for p in ranges[0] for q in ranges[1]]
        u_lo, u_hi = min(min(corners), 0.0), max(max(corners), 0.0)
        self.odd = activation == "sin"      # U_θ(−z) = −U_θ(z): F(−u) = 1 − F(u)
        if self.odd:
            u_lo = 0.0
        corner_u = {a * p + b * q for p in (-1.0, 1.0) for q in (-1.0, 1.0)}
        # the law hugs the curve z_i = m z_o when τ is small: h(z_o) = aφ(m z_o) + bφ(z_o)'s stationary values are
        # near-critical values of U, smoothed over ~|a|τ² (graded to a tenth of that, not to the corners' 1e-7)
        stationary = self._stationary_values(a, b, m, shift, _STATIONARY_REACH * sd_o) if tau < _HUGGING else []
        fine = {0.0: min(0.05 / (s * r_max), 1e-2 * (u_hi - u_lo))}
        fine.update({v: max((1e-9 if precise else 1e-7) * (u_hi - u_lo), 0.1 * abs(a) * tau * tau) for v in stationary})
        fine.update({v: (1e-9 if precise else 1e-7) * (u_hi - u_lo) for v in corner_u | {u_lo, u_hi}})
        pts = sorted(v for v in fine if u_lo <= v <= u_hi)
        u, self.wu = _graded_rule(pts, fine)
        self.u, self.s = u, s
        reach = _Z_REACH * sd_o
        # split points common to every u: the turning points of φ(z_o) and of φ(m z_o)
        common = [_grid_cuts(-reach, reach, 0.5 * math.pi - shift, math.pi)]
        if abs(m) > 1.0:
            common.append(_grid_cuts(-reach, reach, (0.5 * math.pi - shift) / m, math.pi / abs(m)))
        common = np.concatenate(common)
        # per u: where y(z_o) = (u − bφ(z_o))/a reaches ±1, i.e. sin(z_o + shift) = (u ∓ a)/b
        turns = int(math.ceil(reach / (2.0 * math.pi))) + 1
        k = 2.0 * math.pi * np.arange(-turns, turns + 1)
        cuts = [np.broadcast_to(common, (len(u), len(common)))]
        for edge in (a, -a):
            v = (u - edge) / b
            ok = np.abs(v) < 1.0
            base = np.arcsin(np.clip(v, -1.0, 1.0))
            for root in (base, math.pi - base):
                z = root[:, None] + k[None, :] - shift
                cuts.append(np.where(ok[:, None] & (np.abs(z) < reach), z, np.nan))
        if tau < _NARROW:   # the arcs' steps: where φ(z_i) at its conditional median equals y
            fwd = lambda z: np.sin(z + shift)   # noqa: E731
            slope = lambda z: np.cos(z + shift)   # noqa: E731
            cuts.append(diagonal_roots(fwd, slope, a, b, m, sd_o, u))
        cuts = np.concatenate(cuts, axis=1)
        # cos is even: (z_i, z_o) → −(z_i, z_o) leaves U alone, so the z_o-integrand is even: z_o ≥ 0, twice
        start = 0.0 if activation == "cos" else -np.inf
        lo_z, hi_z, row = split_pieces(np.full(len(u), start), np.full(len(u), np.inf), cuts)
        p_lo = special.ndtr(lo_z / sd_o)
        q_hi = special.ndtr(-hi_z / sd_o)
        width = np.maximum(1.0 - p_lo - q_hi, 0.0)
        fold = 2.0 if activation == "cos" else 1.0
        row, p_lo, q_hi, width = row[width > 0], p_lo[width > 0], q_hi[width > 0], width[width > 0]
        f = np.zeros(len(u))
        self.work = 0
        # a piece's error is at most its mass times the rule's relative error: light pieces get coarser rules
        tiers = _TIERS_PRECISE if precise else _TIERS_FAST
        for k, (floor, (d_lo, d_hi, wts)) in enumerate(tiers):
            sel = (width >= floor) & (width < (tiers[k - 1][0] if k else math.inf))
            if not sel.any():
                continue
            r_k, p_k, q_k, w_k = row[sel], p_lo[sel], q_hi[sel], width[sel]
            zo = sd_o * normal_quantile(p_k[:, None] + w_k[:, None] * d_lo, q_k[:, None] + w_k[:, None] * d_hi)
            y = (u[r_k][:, None] - b * np.sin(zo + shift)) / a
            below = arc_probability(y, m * zo + shift, tau)   # sin(z_i + shift) ≤ y
            cond = below if a > 0 else 1.0 - below
            self.work += 3 * cond.size     # cost-model terms (measured: 3 per node runs at tanh's terms/s)
            f += np.bincount(r_k, weights=fold * w_k * (cond @ wts), minlength=len(u))
        self.f_minus = f - (u > 0)
        self.bandwidth = s * _extent(u, self.f_minus)

    @staticmethod
    def _stationary_values(a: float, b: float, m: float, shift: float, reach: float) -> list[float]:
        """h(z) = a·sin(m z + shift) + b·sin(z + shift) at its stationary points in |z| ≤ reach (grid, then Newton)."""
        z = np.linspace(-reach, reach, 20001)
        dh = a * m * np.cos(m * z + shift) + b * np.cos(z + shift)
        idx = np.nonzero(dh[:-1] * dh[1:] < 0)[0]
        r = z[idx] - dh[idx] * (z[idx + 1] - z[idx]) / (dh[idx + 1] - dh[idx])
        for _ in range(3):
            d1 = a * m * np.cos(m * r + shift) + b * np.cos(r + shift)
            d2 = -a * m * m * np.sin(m * r + shift) - b * np.sin(r + shift)
            r = r - np.where(d2 != 0, d1 / np.where(d2 == 0, 1.0, d2), 0.0)
        return [float(v) for v in a * np.sin(m * r + shift) + b * np.sin(r + shift)]

    @staticmethod
    def _range(shift: float, reach: float) -> tuple[float, float]:
        """(min, max) of sin(z + shift) over |z| ≤ reach."""
        z = np.linspace(-reach, reach, 4001)
        vals = np.sin(z + shift)
        lo, hi = float(vals.min()), float(vals.max())
        extremes = _grid_cuts(-reach, reach, 0.5 * math.pi - shift, math.pi)   # where sin(z + shift) = ±1
        if len(extremes):
            ext = np.sin(extremes + shift)
            lo, hi = min(lo, float(ext.min())), max(hi, float(ext.max()))
        return lo, hi

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """C at radii r (gaussian readout: −r g′(ru) = s²r²u e^{−s²r²u²/2})."""
        r = np.asarray(r, dtype=np.float64)
        x = (self.s * r)[:, None] * self.u
        kernel = (self.s * r)[:, None] * x * np.exp(-0.5 * x * x)
        return 1.0 + (2.0 if self.odd else 1.0) * (kernel @ (self.wu * self.f_minus))


__all__ = ["PERIODIC", "PeriodicRayCF", "arc_probability", "shifted_sine"]
