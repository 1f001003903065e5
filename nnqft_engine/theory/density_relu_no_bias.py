"""relu with σ_b = 0: the exact output density by the number k of active neurons (docs/physics.md §4.3).

z = σ_w x w, so a neuron is active with probability ½ (w x > 0) and then adds s·α|w|, s = σ_w²|x|/√N (α, w the
standardized readout and weight); the readout bias is 0. With k of the N active, f/s is a sum of k i.i.d. copies
of Y = α|w|, so p(f) = Σ_{k≥1} C(N, k) 2^{−N} p_k(f/s)/s beside the atom 2^{−N} at 0 (no neuron active).

- gaussian: Y has characteristic function (1 + t²)^{−1/2}, so p_k is the variance-gamma density
  (|y|/2)^ν K_ν(|y|)/(√π Γ(k/2)), ν = (k − 1)/2 (Basset's integral).
- uniform: p₁(y) = (1/6)log(3/|y|) on |y| < 3, a logarithmic spike at 0; p₂ = p₁ * p₁ by quadrature (bounded,
  a cusp at 0); k ≥ 3 by Fourier inversion of (½ + ½χ)^N less its k ≤ 2 terms, χ(t) = E[e^{itY}] = Si(3t)/(3t),
  which decays like t⁻³ there.
- laplace: p₁(y) = 2K₀(2√(2|y|)), log-singular at 0 with a stretched-exponential tail; p₂, p₃, p₄ by graded
  convolutions in f-space, each tabulated (density_laplace_few), k ≥ 5 inverted with
  χ(t) = (2/t)·g(2/t), g(a) = ∫₀^∞ e^{−au}/(1 + u²) du = Ci(a)sin a − (Si(a) − π/2)cos a, so the inverted rest
  decays like t⁻⁵ (from k = 3 it would be t⁻³: over 10⁷ Fourier points on the window this tail needs).
- student-t (ν): p₁, its CDF and χ are one integral each over log|w| (student_t_product), tabulated per ν;
  p₂ … p₄ by the same graded convolutions as laplace, k ≥ 5 inverted (χ falls like log(t)/t).

On a grid through 0 (spacing δ, the smallest |f|/s > 0), p₁ enters within 2048δ of 0 as its mean over each grid
cell (from its closed-form CDF), so the grid's trapezoid sums hold its mass; elsewhere as point values.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special

from . import density_laplace_few, student_t_product

# Beyond, the k ≤ 4 active terms weigh ≤ C(N, 4)·2^{−N} < 1e-22: f_space leaves them out (they would add < 1e-20
# to p), and remainder still takes them out of Φ.
MAX_WIDTH = 100
_HORNER_MAX_WIDTH = 2000   # (½ + ½χ)^N − (its k ≤ K terms) would leave rounding noise ~1e-16·2^{−N} that never decays
PRIORS = ("gaussian", "uniform", "laplace", "student-t")
_F_SPACE_K = {"uniform": 2, "laplace": 4, "student-t": 4}   # active neurons written in f-space; the rest is inverted
_CELL_REACH = 2048
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
_GL16_X, _GL16_W = np.polynomial.legendre.leggauss(16)


def scale(x1: float, sigma_w: float, width: int) -> float:
    return sigma_w * sigma_w * abs(x1) / math.sqrt(width)


def _weight(n: int, k: int) -> float:
    return math.exp(special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1) - n * math.log(2))


def one_active(prior: str, y: np.ndarray, dof: float = 6.0) -> np.ndarray:
    """p₁(y), the density of α|w| (dof: the student-t prior's ν)."""
    a = np.abs(y)
    if prior == "student-t":
        return student_t_product.density(a, dof)
    with np.errstate(divide="ignore", invalid="ignore"):
        if prior == "uniform":
            return np.where(a < 3.0, np.log(3.0 / a) / 6.0, 0.0)
        if prior == "laplace":
            return 2.0 * special.k0(2.0 * np.sqrt(2.0 * a))
        return special.k0(a) / math.pi


def _one_active_cdf(prior: str, y: np.ndarray, dof: float = 6.0) -> np.ndarray:
    """∫₀^y p₁ (odd in y)."""
    if prior == "student-t":
        return student_t_product.cdf(y, dof)
    a = np.abs(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        if prior == "uniform":
            b = np.minimum(a, 3.0)
            out = np.where(b > 0, (b * np.log(3.0 / np.where(b > 0, b, 1.0)) + b) / 6.0, 0.0)
        elif prior == "laplace":   # ½∫₀^v uK₀(u) du, v = 2√(2y)
            v = 2.0 * np.sqrt(2.0 * a)
            out = np.where(v > 0, 0.5 * (1.0 - v * special.k1(np.where(v > 0, v, 1.0))), 0.0)
        else:
            out = special.iti0k0(a)[1] / math.pi
    return np.sign(y) * out


def _one_active_on_grid(prior: str, y: np.ndarray, dof: float = 6.0) -> np.ndarray:
    """p₁ at y, as cell means within _CELL_REACH cells of 0 on a grid through 0 (inf at 0 on any other)."""
    out = one_active(prior, y, dof)
    zero = y == 0
    if zero.any() and (~zero).any():
        step = float(np.abs(y[~zero]).min())
        near = np.abs(y) <= _CELL_REACH * step
        u = y[near]
        out[near] = (_one_active_cdf(prior, u + step / 2, dof) - _one_active_cdf(prior, u - step / 2, dof)) / step
    return out


def characteristic(prior: str, t: np.ndarray, dof: float = 6.0) -> np.ndarray:
    """χ(t) = E[e^{itα|w|}]: uniform Si(3t)/(3t), gaussian (1 + t²)^{−1/2}."""
    t = np.abs(np.asarray(t, dtype=np.float64))
    if prior == "student-t":
        return student_t_product.characteristic(t, dof)
    small = t < 1e-6
    ts = np.where(small, 1.0, t)
    if prior == "uniform":
        val = special.sici(3.0 * ts)[0] / (3.0 * ts)
        return np.where(small, 1.0 - 0.5 * t * t, val)     # Si(x)/x = 1 − x²/18 + …, E[(α|w|)²] = 1
    if prior == "laplace":   # E_w[1/(1 + t²w²/2)] = (2/t)·g(2/t)
        a = 2.0 / ts
        si, ci = special.sici(a)
        return np.where(small, 1.0 - 0.5 * t * t, a * (ci * np.sin(a) - (si - 0.5 * math.pi) * np.cos(a)))
    return 1.0 / np.sqrt(1.0 + t * t)


def _double_graded(levels: int = 46) -> tuple[np.ndarray, np.ndarray]:
    """A rule on [0, 1] graded geometrically (ratio 2) towards both ends: log singularities at either end."""
    half = np.concatenate([[0.0], 0.5 * 2.0 ** -np.arange(levels, 0, -1), [0.5]])
    edges = np.concatenate([half, 1.0 - half[-2::-1]])
    lo, hi = edges[:-1, None], edges[1:, None]
    return ((lo + hi) / 2 + (hi - lo) / 2 * _GL_X).ravel(), ((hi - lo) / 2 * _GL_W).ravel()


_U, _WU = _double_graded()


def two_active(prior: str, y: np.ndarray) -> np.ndarray:
    """p₂(y) = ∫ p₁(u) p₁(y − u) du (uniform: p₁ lives on ±3), split at 0, y and the support's ends, each piece
    on the double-graded rule."""
    y = np.asarray(y, dtype=np.float64)
    reach = 3.0
    cuts = np.sort(np.stack([np.full_like(y, -reach), np.minimum(0.0, y), np.maximum(0.0, y), y + reach,
                             y - reach, np.full_like(y, reach)], axis=1), axis=1)
    lo_all, hi_all = np.maximum(y - reach, -reach), np.minimum(y + reach, reach)
    cuts = np.clip(cuts, lo_all[:, None], hi_all[:, None])
    out = np.zeros_like(y)
    for i in range(cuts.shape[1] - 1):
        lo, hi = cuts[:, i:i + 1], cuts[:, i + 1:i + 2]
        u = lo + (hi - lo) * _U
        vals = one_active(prior, u) * one_active(prior, y[:, None] - u)
        out += ((hi - lo) * _WU * np.where(np.isfinite(vals), vals, 0.0)).sum(axis=1)
    return out


def f_space(prior: str, f: np.ndarray, x1: float, sigma_w: float, width: int, dof: float = 6.0) -> np.ndarray:
    """The part of p(f) written in f-space: every k under the gaussian prior, k ≤ _F_SPACE_K[prior] else."""
    s = scale(x1, sigma_w, width)
    y = np.asarray(f, dtype=np.float64) / s
    if prior == "gaussian":
        return _variance_gamma_mixture(y, width) / s
    out = _weight(width, 1) * _one_active_on_grid(prior, y, dof)
    if prior in ("laplace", "student-t"):
        laws = _convolved_laws(prior, float(dof) if prior == "student-t" else 0.0,
                               min(width, _F_SPACE_K[prior]), _reach(x1, sigma_w, width))
        for k, law in enumerate(laws, 2):
            out = out + _weight(width, k) * _cell_means_near_0(law, y)
    elif width >= 2:
        out = out + _weight(width, 2) * two_active(prior, y)
    return out / s


def _cell_means_near_0(law, y: np.ndarray) -> np.ndarray:
    """law (even) at y, as cell means within _CELL_REACH cells of 0 on a grid through 0: p_k (k ≥ 2) has a
    |y|·log-like cusp there, which the grid's trapezoid sums would miss by ~δ²·log (3e-4 of p₂'s mass at
    δ = 0.02). The cell on 0 is taken as twice its right half (the cusp at a node's end, not inside)."""
    out = law(y)
    zero = y == 0
    if zero.any() and (~zero).any():
        step = float(np.abs(y[~zero]).min())
        near = np.abs(y) <= _CELL_REACH * step
        centre = np.where(y[near] == 0, step / 4, y[near])
        half = np.where(y[near] == 0, step / 4, step / 2)
        nodes = centre[:, None] + half[:, None] * _GL16_X
        out[near] = (law(nodes.ravel()).reshape(nodes.shape) @ _GL16_W) * half / step * np.where(y[near] == 0, 2, 1)
    return out


def _reach(x1: float, sigma_w: float, width: int) -> float:
    """The window in units of s (density.fourier_part's laplace product reach, 320·(σ_w/√(2N))·σ_w|x|/√2 = 160s)."""
    return 160.0


def _convolved_laws(prior: str, dof: float, k_max: int, reach: float) -> tuple:
    """p₂ … p_{k_max} (y-units), each p₁ ⊛ the previous, tabulated towards 0 (density_laplace_few)."""
    return tuple(_convolved_law(prior, dof, k, reach) for k in range(2, k_max + 1))


@functools.lru_cache(maxsize=16)
def _convolved_law(prior: str, dof: float, k: int, reach: float):
    """p_k = p₁ ⊛ p_{k−1}, cached one k at a time: stepping N from 2 to 4 adds one convolution per step."""
    eps = 1e-14
    mass_near_0 = float(2.0 * _one_active_cdf(prior, np.array([eps]), dof)[0])

    def p1(y):
        return one_active(prior, np.maximum(np.abs(y), 1e-300), dof)

    previous = p1 if k == 2 else _convolved_law(prior, dof, k - 1, reach)
    return density_laplace_few.tabulated_convolution(previous, p1, mass_near_0, eps, reach)


def remainder(prior: str, x1: float, sigma_w: float, width: int, dof: float = 6.0):
    """t ↦ Φ(t) less its f-space terms (k ≤ K: 2 uniform, 4 laplace/student-t): Σ_{k>K} C(N, k) 2^{−N} χ(st)^k,
    by Horner, so that nothing cancels where χ is small."""
    s = scale(x1, sigma_w, width)
    first = _F_SPACE_K[prior] + 1

    def phi(t):
        c = characteristic(prior, s * np.asarray(t, dtype=np.float64), dof)
        if width > _HORNER_MAX_WIDTH:   # 2^{−N} underflows: Φ has no k ≤ K terms left to take out
            return ((1.0 + c) / 2.0) ** width
        total = np.zeros_like(c)
        for k in range(width, first - 1, -1):      # Horner: w_K + c(w_{K+1} + c(…)), then times c^K
            total = total * c + _weight(width, k)
        return total * c**first

    return phi


def _variance_gamma_mixture(y: np.ndarray, width: int) -> np.ndarray:
    """Σ_{k≥1} C(N, k) 2^{−N} p_k(y) for the gaussian prior (p₁ as cell means near 0 on a grid through 0)."""
    zero = y == 0
    yz = np.where(zero, 1.0, np.abs(y))
    out = _weight(width, 1) * _one_active_on_grid("gaussian", y)
    for k in range(2, width + 1):
        nu = (k - 1) / 2
        log_w = math.log(_weight(width, k)) - 0.5 * math.log(math.pi) - special.gammaln(k / 2)
        with np.errstate(divide="ignore"):
            log_p = nu * np.log(yz / 2) + np.log(special.kve(nu, yz)) - yz
        # (y/2)^ν K_ν(y) → Γ(ν)/2 as y → 0
        out += np.where(zero, math.exp(log_w + special.gammaln(nu) - math.log(2.0)), np.exp(log_w + log_p))
    return out
