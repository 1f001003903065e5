"""One relu neuron's characteristic function C(t) under the laplace and uniform priors, in closed form over cones
(docs/physics.md §4.6).

In the scaled first-layer parameters v = (W, B) = (σ_w w, σ_b b) (d = 1) the pre-activations are z_k = n_k·v,
n_k = (x_k, 1), and C(t) = E_v[ψ(s·(t₁ relu(z₁) + t₂ relu(z₂)))] with ψ the readout's own characteristic function
and s = σ_w/√N. Rays from the origin cut the (W, B) plane into cones of angle < π: the kink lines z_k = 0 and the
laplace density's kinks (the axes), or the rays to the uniform rectangle's corners. On a cone spanned by edge
vectors e₁, e₂ (v = a e₁ + b e₂, a, b ≥ 0) the relu pattern is fixed, so s·U = aμ₁ + bμ₂ with μᵢ = s q·eᵢ,
q = Σ_{k on} t_k n_k, and

    laplace (density K e^{−c·v} on the cone, γᵢ = c·eᵢ > 0):
        ∫∫ e^{−aγ₁−bγ₂} ψ(aμ₁ + bμ₂) da db = (k(m₁) − k(m₂)) / (γ₁γ₂ (m₁ − m₂)),   mᵢ = μᵢ/γᵢ,
        k(m) = m ∫₀^∞ e^{−x} ψ(mx) dx = √2 sgn(m) f(√2/|m|)   (ψ(v) = 1/(1 + v²/2)),
    uniform (constant density up to one side of the rectangle; eᵢ the far corners of the triangle):
        ∫∫_{a,b ≥ 0, a+b ≤ 1} ψ(aμ₁ + bμ₂) da db = G[0, μ₁, μ₂] = (H(μ₁) − H(μ₂)) / (μ₁ − μ₂),
        G″ = ψ, H(μ) = G(μ)/μ = (Si(x) − (1 − cos x)/x)/√3, x = √3μ   (ψ(v) = sin(√3v)/(√3v)).

The laplace identity is, for one Fourier mode e^{iαv}, partial fractions: 1/((γ₁ − iαμ₁)(γ₂ − iαμ₂)) =
(μ₁/(γ₁ − iαμ₁) − μ₂/(γ₂ − iαμ₂))/(γ₂μ₁ − γ₁μ₂); ψ(v) = E_α[e^{iαv}] is a superposition of such modes. The uniform
one is the Hermite–Genocchi formula. f, g are the auxiliary functions of the sine and cosine integrals (A&S
5.2.6–7). So C is a sum over cones of a divided difference of one 1-D function at two points linear in t: no
quadrature. Where the two points are close the quotient cancels; there it is the mean of the derivative
(k′(m) = z²g(z), z = √2/|m|; H′(μ) = (1 − cos x)/x²) by Gauss–Legendre. Elsewhere |k(m)| ≤ |m| and
|H(μ)| ≤ |μ|/2 bound the cancellation to ~1e-15 per cone (measured against nested quadrature: ≤ 2e-14 for C).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

SQRT2, SQRT3 = math.sqrt(2.0), math.sqrt(3.0)
PRIORS = ("laplace", "uniform")
_ASYMPTOTIC_Z = 50.0     # beyond, f and g from their asymptotic series (the closed form of g cancels like 1/z)
_SERIES_TERMS = 16       # at z ≥ 50 the 16th term is < 1e-20 of the first
_LAPLACE_CLOSE = 0.25    # |m₁ − m₂| ≤ this × max|m|: the quotient by the derivative's mean (both m of one sign)
_UNIFORM_CLOSE = 1.0     # |x₁ − x₂| ≤ this (x = √3μ): likewise (H′ is entire; a width of 1 needs few nodes)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(10)


def _asymptotic(y2: np.ndarray, odd: bool) -> np.ndarray:
    """Σₙ (−1)ⁿ (2n + odd)! y²ⁿ (Horner): f(z) = y·(odd=0), g(z) = y²·(odd=1), y = 1/z."""
    out = np.zeros_like(y2)
    for n in range(_SERIES_TERMS - 1, -1, -1):
        out = out * y2 + (-1) ** n * math.factorial(2 * n + odd)
    return out


def _series_or_closed(m, series_fn, closed_fn) -> np.ndarray:
    """series_fn(m) where |m| is small (the closed form in z = √2/|m| cancels there), else closed_fn(m, z, si, ci)."""
    m = np.asarray(m, dtype=np.float64)
    series = np.abs(m) * _ASYMPTOTIC_Z <= SQRT2
    out = np.empty_like(m)
    out[series] = series_fn(m[series])
    z = SQRT2 / np.abs(m[~series])
    si, ci = special.sici(z)
    out[~series] = closed_fn(m[~series], z, si, ci)
    return out


def laplace_k(m: np.ndarray) -> np.ndarray:
    """k(m) = m∫₀^∞ e^{−x}/(1 + m²x²/2) dx = √2 sgn(m) f(√2/|m|) (odd, |k(m)| ≤ |m|, → ±π/√2)."""
    return _series_or_closed(
        m, lambda ms: ms * _asymptotic(0.5 * ms**2, odd=False),
        lambda mc, z, si, ci: SQRT2 * np.sign(mc) * (ci * np.sin(z) - (si - 0.5 * math.pi) * np.cos(z)))


def laplace_dk(m: np.ndarray) -> np.ndarray:
    """k′(m) = z²g(z), z = √2/|m| (the readout's ψ against the exponential's weight; k′(0) = 1)."""
    return _series_or_closed(
        m, lambda ms: _asymptotic(0.5 * ms**2, odd=True),
        lambda mc, z, si, ci: -z * z * (ci * np.cos(z) + (si - 0.5 * math.pi) * np.sin(z)))


def uniform_h(mu: np.ndarray) -> np.ndarray:
    """H(μ) = G(μ)/μ, G″(v) = sin(√3v)/(√3v), G(0) = G′(0) = 0 (odd, |H(μ)| ≤ |μ|/2)."""
    x = SQRT3 * np.asarray(mu, dtype=np.float64)
    si, _ = special.sici(x)
    one_minus_cos_over_x = x * 0.5 * np.sinc(x / (2 * math.pi)) ** 2     # (1 − cos x)/x without cancellation
    return (si - one_minus_cos_over_x) / SQRT3


def uniform_dh(mu: np.ndarray) -> np.ndarray:
    """H′(μ) = (1 − cos x)/x², x = √3μ (entire; H′(0) = ½)."""
    return 0.5 * np.sinc(SQRT3 * np.asarray(mu, dtype=np.float64) / (2 * math.pi)) ** 2


def divided_difference(dh, p1: np.ndarray, h1: np.ndarray, p2: np.ndarray, h2: np.ndarray,
                       close: np.ndarray) -> np.ndarray:
    """(h(p₁) − h(p₂))/(p₁ − p₂) from the values h1, h2; where `close`, the mean of h′ over [p₂, p₁] instead."""
    out = (h1 - h2) / np.where(close, 1.0, p1 - p2)
    if close.any():
        a, b = p1[close], p2[close]
        nodes = 0.5 * (a + b)[:, None] + 0.5 * (a - b)[:, None] * _GL_X
        out[close] = 0.5 * (dh(nodes) @ _GL_W)
    return out


@dataclass(frozen=True)
class _Cone:
    weight: float                 # laplace: the cone's probability; uniform: twice it (H′(0) = ½)
    edges: tuple[int, int]        # rows of ReluConeCF._coefficients: its two edge points as linear maps of t


def _ray_angles(prior: str, x: tuple[float, float], half: np.ndarray) -> np.ndarray:
    """Sorted angles in [0, 2π) of the rays cutting the (W, B) plane: the kink lines z_k = 0 (directions
    ±(1, −x_k)) and the axes (laplace: the density's kinks) or the corners (±h_w, ±h_b) (uniform)."""
    kinks = [math.atan2(-sign * xk, sign) for xk in x for sign in (1.0, -1.0)]
    if prior == "laplace":
        extra = [0.0, 0.5 * math.pi, math.pi, 1.5 * math.pi]
    else:
        extra = [math.atan2(sb * half[1], sw * half[0]) for sw in (1, -1) for sb in (1, -1)]
    angles = np.sort(np.mod(np.array(kinks + extra), 2 * math.pi))
    angles = angles[np.append(True, np.diff(angles) > 1e-12)]   # x_k = 0: a kink line on an axis
    return angles[:-1] if angles[-1] - angles[0] > 2 * math.pi - 1e-12 else angles


def _cone_geometry(prior: str, lo: float, hi: float, half: np.ndarray) -> tuple[list[np.ndarray], float, float]:
    """(edge vectors e₁, e₂, weight, probability) of the cone between angles lo < hi (< lo + π). laplace: unit
    directions divided by γ = c·e (so m = s q·e directly) and weight sin(hi − lo)/(γ₁γ₂·4λ_wλ_b); uniform: the
    far corners of the triangle cone ∩ rectangle and weight |det(e₁, e₂)|/(4h_wh_b)."""
    mid = np.array([math.cos(0.5 * (lo + hi)), math.sin(0.5 * (lo + hi))])
    dirs = [np.array([math.cos(a), math.sin(a)]) for a in (lo, hi)]
    if prior == "laplace":                          # half = (λ_w, λ_b)
        c = np.sign(mid) / half                     # the density's exponent on this quadrant
        gam = [float(c @ d) for d in dirs]
        weight = math.sin(hi - lo) / (gam[0] * gam[1]) / (4 * half[0] * half[1])
        return [d / g for d, g in zip(dirs, gam)], weight, weight
    edge = [d * min(half[0] / max(abs(d[0]), 1e-300), half[1] / max(abs(d[1]), 1e-300)) for d in dirs]
    weight = abs(edge[0][0] * edge[1][1] - edge[0][1] * edge[1][0]) / (4 * half[0] * half[1])
    return edge, weight, 0.5 * weight


class ReluConeCF:
    """C(t₁, t₂) = E[ψ(s(t₁ relu(z₁) + t₂ relu(z₂)))] for one depth-1 relu neuron, laplace or uniform prior
    (every parameter, the readout included), as a sum over cones; `p00` = P(z₁ ≤ 0, z₂ ≤ 0)."""

    def __init__(self, prior: str, x: tuple[float, float], sigma_w: float, sigma_b: float, s: float):
        if prior not in PRIORS:
            raise ValueError(f"relu cones need the laplace or uniform prior, not {prior!r}")
        self.prior = prior
        normals = np.array([[x[0], 1.0], [x[1], 1.0]])
        # laplace: λ = σ/√2 (density e^{−|W|/λ_w − |B|/λ_b}/(4λ_wλ_b)); uniform: the rectangle |W| ≤ h_w, |B| ≤ h_b
        half = np.array([sigma_w, sigma_b]) * (1 / SQRT2 if prior == "laplace" else SQRT3)
        angles = _ray_angles(prior, x, half)
        points: dict[tuple, int] = {}             # (ray, relu pattern) → its row of coefficients
        coefficients: list[tuple[float, ...]] = []
        self._cones: list[_Cone] = []
        self.p00 = 0.0   # ψ(0) = 1: the both-off cones contribute their probability to C
        for i, lo in enumerate(angles):
            j = (i + 1) % len(angles)
            hi = angles[j] + (2 * math.pi if j == 0 else 0.0)
            mid = np.array([math.cos(0.5 * (lo + hi)), math.sin(0.5 * (lo + hi))])
            on = normals @ mid > 0
            edge, weight, probability = _cone_geometry(prior, lo, hi, half)
            if not on.any():
                self.p00 += probability
                continue
            for ray, e in zip((i, j), edge):       # m or μ at the edge point = s·Σ_{k on} t_k n_k·e
                if (ray, tuple(on)) not in points:
                    points[(ray, tuple(on))] = len(coefficients)
                    coefficients.append(tuple(float(on[k] * (normals[k] @ e) * s) for k in range(2)))
            self._cones.append(_Cone(weight, (points[(i, tuple(on))], points[(j, tuple(on))])))
        self._coefficients = np.array(coefficients).reshape(-1, 2)

    def __call__(self, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
        """C at (t₁, t₂) (arrays of one shape)."""
        t1, t2 = np.asarray(t1, dtype=np.float64), np.asarray(t2, dtype=np.float64)
        laplace = self.prior == "laplace"
        h, dh = (laplace_k, laplace_dk) if laplace else (uniform_h, uniform_dh)
        p = [c1 * t1 + c2 * t2 for c1, c2 in self._coefficients]   # m (laplace) or μ (uniform) at each edge point
        hp = [h(v) for v in p]
        out = np.full(t1.shape, self.p00)
        for cone in self._cones:
            a, b = cone.edges
            gap = np.abs(p[a] - p[b])
            if laplace:
                close = gap <= _LAPLACE_CLOSE * np.maximum(np.abs(p[a]), np.abs(p[b]))
            else:
                close = SQRT3 * gap <= _UNIFORM_CLOSE
            out += cone.weight * divided_difference(dh, p[a], hp[a], p[b], hp[b], close)
        return out
