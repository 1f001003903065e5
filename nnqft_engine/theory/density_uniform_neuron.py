"""One neuron under the uniform prior (N = 1), any smooth φ: the output density in f-space (docs/physics.md §4.3).

f = c + a·φ(z) with c ~ U(±√3σ_b) and a ~ U(±√3σ_w): given z, a sum of two uniforms, so

    p(f) = E_z[D(f; √3σ_w|φ(z)|)],   D(f; A) = |[−A, A] ∩ [|f| − √3σ_b, |f| + √3σ_b]| / (4A·√3σ_b),

the trapezoid law. D kinks in z where √3σ_w|φ(z)| = ||f| ± √3σ_b|; with those roots, φ's zeros and extrema and
p_z's corners as cuts, the integrand is analytic on every piece: Gauss–Legendre (4 × 12 nodes) on each, mapped
geometrically towards the nearest zero of φ (D carries a 1/|φ(z)|). No Fourier inversion, whose Φ ~ t⁻² here would never
converge. The roots: φ is monotone between its extrema on the pre-activation's bounded support, so each branch is
inverted by bisection (every φ alike: erf … linear, and gelu, silu, sin, cos with their extrema).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from ..activations import get_activation
from ..cancel import check_cancelled

SQRT3 = math.sqrt(3.0)
_CHUNK = 1 << 18
_SCAN = 4001          # grid on which φ's extrema and zeros are bracketed before brentq
_BISECTIONS = 64      # halvings of a branch: below one ulp of z


def _special_points(phi, dphi, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """(extrema, zeros) of φ inside (−reach, reach), each bracketed on a grid and refined by brentq."""
    grid = np.linspace(-reach, reach, _SCAN)
    out = []
    for g in (dphi, phi):
        vals = g(grid)
        exact = vals == 0.0
        # where g underflows to exactly 0 over a stretch (gelu below z ≈ −8), only the stretch's ends are points
        inner = exact[1:-1] & ~(exact[:-2] & exact[2:])
        found = list(grid[1:-1][inner])
        for i in np.flatnonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) < 0):
            found.append(optimize.brentq(g, grid[i], grid[i + 1], xtol=1e-15, rtol=1e-15))
        out.append(np.array(sorted(found)))
    return out[0], out[1]


def features(x1: float, sigma_w: float, sigma_b: float, activation: str) -> tuple[float, ...]:
    """f where p is steep: ±√3σ_b, the edge of the plateau that a neuron with a tiny |φ(z)| leaves (log-steep
    where φ is small on much of z's support, as gelu's left tail at σ_w = 3), and ±(√3σ_b ± √3σ_w|φ|) at φ's
    extrema (the law of |φ(z)| has a 1/√ edge there)."""
    act = get_activation(activation)
    reach = SQRT3 * (abs(sigma_w * x1) + sigma_b)
    extrema, _ = _special_points(lambda z: act.numpy_fn(np.asarray(z, dtype=np.float64), 0.0),
                                 lambda z: act.numpy_grad(np.asarray(z, dtype=np.float64), 0.0), reach)
    bias = SQRT3 * sigma_b
    out = {bias}
    for z in extrema:
        amp = SQRT3 * sigma_w * abs(float(act.numpy_fn(np.array(z), 0.0)))
        out |= {bias + amp, abs(bias - amp)}
    return tuple(sorted(sign * c for c in out for sign in (1.0, -1.0)))


def _branch_roots(phi, lo: float, hi: float, y: np.ndarray, bisections: int = _BISECTIONS) -> np.ndarray:
    """z in [lo, hi] with φ(z) = y (φ monotone there); nan where y is outside φ's range on the branch."""
    f_lo, f_hi = phi(np.array(lo)), phi(np.array(hi))
    rising = f_hi >= f_lo
    inside = (y >= min(f_lo, f_hi)) & (y <= max(f_lo, f_hi))
    a, b = np.full(y.shape, lo), np.full(y.shape, hi)
    for _ in range(bisections):
        mid = 0.5 * (a + b)
        below = (phi(mid) < y) == rising
        a, b = np.where(below, mid, a), np.where(below, b, mid)
    return np.where(inside, 0.5 * (a + b), np.nan)


class Neuron:
    """One neuron's f-space geometry under the uniform prior: φ, z's bounded support [−reach, reach] with its
    trapezoid corners ±corner, φ's extrema and zeros on it; readout amplitude κ = √3·(readout scale)."""

    def __init__(self, x1: float, sigma_w: float, sigma_b: float, activation: str, readout: float | None = None):
        act = get_activation(activation)
        self.phi = lambda z: act.numpy_fn(np.asarray(z, dtype=np.float64), 0.0)      # noqa: E731
        dphi = lambda z: act.numpy_grad(np.asarray(z, dtype=np.float64), 0.0)        # noqa: E731
        big, small = max(abs(sigma_w * x1), sigma_b), min(abs(sigma_w * x1), sigma_b)
        self.reach, self.corner = SQRT3 * (big + small), SQRT3 * (big - small)
        self.bias = SQRT3 * sigma_b
        self.kappa = SQRT3 * (sigma_w if readout is None else readout)
        self.extrema, self.zeros = _special_points(self.phi, dphi, self.reach)
        self.ends = np.concatenate([[-self.reach], self.extrema, [self.reach]])

    def amplitudes(self, z: np.ndarray) -> np.ndarray:
        """κ|φ(z)|: the half-width of the neuron's uniform term a·φ(z) given z (floored above 0)."""
        return np.maximum(self.kappa * np.abs(self.phi(z)), 1e-300)

    def singular_z(self) -> np.ndarray:
        """z where the law of κ|φ(z)| is not smooth: the support's ends and corners, φ's extrema and zeros."""
        return np.concatenate([self.ends, [-self.corner, self.corner], self.zeros])

    def cuts(self, levels: list[np.ndarray], bisections: int = _BISECTIONS) -> np.ndarray:
        """Per row, the sorted z cutting [−reach, reach] at singular_z and wherever κ|φ(z)| equals one of the
        row's levels (each branch of φ inverted by bisection)."""
        roots = [_branch_roots(self.phi, lo, hi, sign * level / self.kappa, bisections)
                 for lo, hi in zip(self.ends[:-1], self.ends[1:]) for level in levels for sign in (1.0, -1.0)]
        fixed = self.singular_z()
        rows = len(levels[0])
        cuts = np.concatenate([np.broadcast_to(fixed, (rows, len(fixed)))]
                              + [np.where(np.isfinite(r), r, self.reach)[:, None] for r in roots], axis=1)
        return np.sort(np.clip(cuts, -self.reach, self.reach), axis=1)

    def expectation(self, cuts: np.ndarray, integrand, preactivation_density, geometric: bool = True) -> np.ndarray:
        """Per row i, E_z[integrand(i-rows, z)] over the pieces between the row's cuts (Gauss–Legendre, 4 × 12
        nodes, mapped geometrically towards φ's nearest zero where `geometric`). integrand(rows, z) takes a slice
        of row indices and z of shape (rows, pieces, nodes)."""
        x, w = np.polynomial.legendre.leggauss(12)
        u = (np.arange(4)[:, None] + 0.5 * (x[None, :] + 1.0)).ravel() / 4.0          # 4 sub-pieces × 12 nodes
        wu = np.tile(w / 8.0, 4)
        out = []
        rows = max(1, _CHUNK // (cuts.shape[1] * len(u)))
        for i in range(0, len(cuts), rows):
            check_cancelled()
            z, wz = _pieces_rule(cuts[i:i + rows], self.zeros if geometric else np.zeros(0), u, wu)
            values = preactivation_density(z.ravel()).reshape(z.shape) * integrand(slice(i, i + rows), z)
            out.append((values * wz).sum(axis=(1, 2)))
        return np.concatenate(out) if out else np.zeros(0)


def one_uniform_neuron(f: np.ndarray, x1: float, sigma_w: float, sigma_b: float, activation: str,
                       preactivation_density, readout: float | None = None) -> np.ndarray:
    """p(f) at N = 1 under the uniform prior (σ_b > 0), φ any smooth activation; `readout` the readout's scale
    (σ_w/√N as one of N neurons; σ_w by default)."""
    nr = Neuron(x1, sigma_w, sigma_b, activation, readout)
    fa = np.abs(np.asarray(f, dtype=np.float64))
    cuts = nr.cuts([np.abs(fa - nr.bias), fa + nr.bias])
    far = fa[:, None, None]

    def density(rows, z):   # D(f; A): the trapezoid law of U(±√3σ_b) + U(±A)
        amp = nr.amplitudes(z)
        overlap = np.maximum(0.0, np.minimum(amp, far[rows] + nr.bias) - np.maximum(-amp, far[rows] - nr.bias))
        return overlap / (4 * amp * nr.bias)

    return nr.expectation(cuts, density, preactivation_density)


def one_uniform_neuron_cdf(v: np.ndarray, x1: float, sigma_w: float, sigma_b: float, activation: str,
                           preactivation_density, readout: float | None = None) -> np.ndarray:
    """P(c + a·φ(z) ≤ v) at N = 1 under the uniform prior (σ_b > 0): E_z[T(|v|; A)] − ½ signed, T the CDF of
    U(±√3σ_b) + U(±A) written kink by kink (no cancellation as A → 0); its kinks in z are the density's."""
    nr = Neuron(x1, sigma_w, sigma_b, activation, readout)
    v = np.asarray(v, dtype=np.float64)
    va = np.abs(v)
    cuts = nr.cuts([np.abs(va - nr.bias), va + nr.bias])
    vv = va[:, None, None]

    def centred_cdf(rows, z):   # T − ½: the mean of U(±s)'s CDF over [v − A, v + A], a kink at −s and at +s
        amp, x = nr.amplitudes(z), vv[rows]
        out = np.zeros(np.broadcast_shapes(amp.shape, x.shape))
        for k, slope in ((-nr.bias, 0.5 / nr.bias), (nr.bias, -0.5 / nr.bias)):
            part = np.where(x - amp >= k, x - k, np.where(x + amp <= k, 0.0, (x + amp - k) ** 2 / (4 * amp)))
            out += slope * part
        return out - 0.5

    return 0.5 + np.sign(v) * nr.expectation(cuts, centred_cdf, preactivation_density)


def _pieces_rule(cuts: np.ndarray, zeros: np.ndarray, u: np.ndarray, wu: np.ndarray):
    """Nodes and weights (rows × pieces × len(u)) on the pieces between consecutive cuts. A piece strictly on one
    side of its nearest zero of φ is mapped geometrically towards it (z − zero = d_near·(d_far/d_near)^u): D carries
    a 1/|φ(z)| that would otherwise sit just outside the piece when a root nears the zero."""
    lo, hi = cuts[:, :-1, None], cuts[:, 1:, None]
    z, wz = lo + (hi - lo) * u, (hi - lo) * wu
    if not len(zeros):
        return z, wz
    mid = 0.5 * (lo + hi)
    zero = zeros[np.argmin(np.abs(mid[..., None] - zeros), axis=-1)]
    right, left = lo > zero, hi < zero
    near = np.where(right, lo - zero, np.where(left, zero - hi, 1.0))
    far = np.where(right, hi - zero, np.where(left, zero - lo, 1.0))
    ratio = np.log(far / near)
    dist = near * np.exp(ratio * u)
    side = np.where(right, 1.0, -1.0)
    geometric = right | left
    return np.where(geometric, zero + side * dist, z), np.where(geometric, dist * ratio * wu, wz)
