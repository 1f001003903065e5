"""Parts of the exact 1-D output density written in f-space or in closed form (docs/physics.md §4.3).

relu × laplace/uniform. With a neuron off with probability ½, E[e^{itah}] = ½ + C(t) and C(t) ~ 1/t (the
density of z at 0 under the readout's ψ), so Φ(t) = ψ(σ_b t)·((½ + C)^N − 2^{−N}) decays only like t⁻³
(laplace: ψ ~ t⁻²) or t⁻² (uniform: |ψ| ≤ 1/(√3 σ_b t)). By quadrature over z that needs millions of Fourier
terms of hundreds of z-nodes each; in closed form (neuron_cf_relu_cones, the 1-D case x₁ = x₂) a term costs a
few sine/cosine integrals. The one-active-neuron term N·2^{1−N}·ψ(σ_b t)·C(t) is taken out of the inversion
and written in f-space,

    p₁(f) = ∫₀^∞ p_z(h) D(f; h) dh,    D = the density of c + s·α·h at f,

a sum of two laplace laws (analytic in h: graded Gauss–Legendre) or of two uniform ones (a trapezoid: between
its kinks in h and p_z's corners the integrand is exactly c₋₁/h + c₀ + c₁h, integrated in closed form). What is
left, ψ(σ_b t)·Σ_{k≥2} C(N,k) 2^{k−N} C^k, decays like t⁻⁴ (laplace) or t⁻³ (uniform).

One neuron, smooth φ, laplace: p(f) = E_z[L(f; σ_b/√2, σ_w|φ(z)|/√2)] (laplace_mixture; under uniform see
density_uniform_neuron). relu with σ_b = 0: density_relu_no_bias.
"""
from __future__ import annotations

import math

import numpy as np

from ..cancel import check_cancelled
from .first_layer import composite_rule, graded_edges, tail_range
from .neuron_cf_relu_cones import PRIORS, SQRT2, SQRT3, ReluConeCF

P_OFF = 0.5   # P(z ≤ 0): z is symmetric and has no atom
_CLOSE = 0.02  # |β_c − κh| ≤ this × max: the divided difference by its derivative's mean (~1e-14 cancellation)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(10)
_CHUNK = 1 << 18   # entries of one block of the (f × h) products


def closed_form_applies(activation: str, prior: str, sigma_w: float, sigma_b: float) -> bool:
    """Whether the neuron's characteristic function comes from the cones (relu, laplace/uniform, σ_w, σ_b > 0)."""
    return activation == "relu" and prior in PRIORS and sigma_w > 0 and sigma_b > 0


def laplace_product_reach(x1: float, sigma_w: float, sigma_b: float, width: int) -> float:
    """|f| beyond which one term a·relu(z) (laplace scales β_a = s/√2, β_z ≤ max(σ_w|x|, σ_b)/√2) has mass
    P(|a·h| > y) ≈ e^{−2√(y/(β_aβ_z))} below ~1e-15 (its variance share below ~1e-9): the window must hold it,
    else the periodized inversion folds it back (~1e-7 of the mass at N = 1 with the bulk's window)."""
    return 320.0 * sigma_w / math.sqrt(2 * width) * max(abs(sigma_w * x1), sigma_b) / SQRT2


def neuron_cf(prior: str, x1: float, sigma_w: float, sigma_b: float, width: int):
    """t ↦ C(t) = E[ψ(s t relu(z))] − ½ (s = σ_w/√N): the active part of one neuron's characteristic function."""
    cones = ReluConeCF(prior, (x1, x1), sigma_w, sigma_b, sigma_w / math.sqrt(width))
    return lambda t: cones(t, np.zeros_like(t)) - cones.p00


def one_active(prior: str, f: np.ndarray, x1: float, sigma_w: float, sigma_b: float, width: int,
               preactivation_density) -> np.ndarray:
    """p₁(f): the density of c + a·relu(z) on the event z > 0 (mass ½); `preactivation_density(z)` = p_z."""
    if prior == "uniform":
        return one_active_uniform(f, x1, sigma_w, sigma_b, width)
    return one_active_laplace(f, x1, sigma_w, sigma_b, width, preactivation_density)


def one_active_laplace(f: np.ndarray, x1: float, sigma_w: float, sigma_b: float, width: int,
                       preactivation_density) -> np.ndarray:
    """p₁(f) = ∫₀^∞ p_z(h) L(f; β_c, κh) dh, L the density of the sum of two laplace variables of scales
    β_c = σ_b/√2 and κh (κ = s/√2): L = (g(β_c) − g(κh))/(2(β_c² − κ²h²)), g(β) = βe^{−|f|/β}, analytic in h
    (where κh ≈ β_c the quotient is the mean of g′ by Gauss–Legendre). The rule over h is graded from 1e-7 of
    the pre-activation's scale (below, the integrand is within ~κh/β_c² of its value at 0)."""
    scale = math.hypot(sigma_w * x1, sigma_b)
    h, wh = composite_rule(graded_edges(1e-7 * scale, tail_range("laplace") * scale, 0.7), 8)   # 1e-14
    wh = wh * preactivation_density(h)
    return laplace_mixture(f, sigma_b / SQRT2, sigma_w / math.sqrt(width) / SQRT2 * h, wh)


def laplace_mixture(f: np.ndarray, beta_c: float, beta_h: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σⱼ weightsⱼ·L(f; β_c, β_hⱼ): a mixture of laws of the sum of two laplace variables (scales β_c and β_hⱼ)."""
    f = np.abs(np.asarray(f, dtype=np.float64))
    beta_h = np.maximum(beta_h, 1e-300)   # φ(z) underflowed to 0: the limit β_h → 0 (0·e^{−0/0} is not)
    rows = max(1, _CHUNK // len(beta_h))
    out = [np.zeros(0)]
    for i in range(0, len(f), rows):   # blocks of a few ms: bounded memory, each a cancellation point
        check_cancelled()
        out.append(_laplace_block(f[i:i + rows, None], beta_c, beta_h) @ weights)
    return np.concatenate(out)


def _laplace_block(fa: np.ndarray, beta_c: float, beta_h: np.ndarray) -> np.ndarray:
    """L(f; β_c, β_h) on |f| (column) × β_h (row)."""
    close = np.abs(beta_c - beta_h) <= _CLOSE * np.maximum(beta_c, beta_h)
    quotient = np.empty((len(fa), len(beta_h)))
    far = beta_h[~close]
    with np.errstate(divide="ignore", over="ignore"):   # β_h → 0: e^{−|f|/β_h} → 0
        quotient[:, ~close] = (beta_c * np.exp(-fa / beta_c) - far * np.exp(-fa / far)) / (beta_c - far)
    if close.any():   # the mean of g′(β) = e^{−|f|/β}(1 + |f|/β) over [β_h, β_c]
        nodes = 0.5 * (beta_c + beta_h[close]) + 0.5 * (beta_c - beta_h[close]) * _GL_X[:, None]
        ratio = fa[:, :, None] / nodes[None]
        quotient[:, close] = 0.5 * np.einsum("fkh,k->fh", np.exp(-ratio) * (1.0 + ratio), _GL_W)
    return quotient / (2 * (beta_c + beta_h))


def one_active_uniform(f: np.ndarray, x1: float, sigma_w: float, sigma_b: float, width: int) -> np.ndarray:
    """p₁(f): the density of c + a·relu(z) on the event z > 0 (mass ½), uniform prior, in closed form."""
    fa = np.abs(np.asarray(f, dtype=np.float64))[:, None]
    big, small = max(abs(sigma_w * x1), sigma_b), min(abs(sigma_w * x1), sigma_b)
    ha, hb = SQRT3 * big, SQRT3 * small                       # p_z: flat to ha − hb, linear to 0 at ha + hb
    bias, kappa = SQRT3 * sigma_b, SQRT3 * sigma_w / math.sqrt(width)   # c ~ U(±bias), a·h ~ U(±κh)
    breaks = np.concatenate([np.zeros_like(fa), np.abs(fa - bias) / kappa, (fa + bias) / kappa,
                             np.full_like(fa, ha - hb), np.full_like(fa, ha + hb)], axis=1)
    breaks = np.sort(np.minimum(breaks, ha + hb), axis=1)
    lo, hi = breaks[:, :-1], breaks[:, 1:]
    mid = 0.5 * (lo + hi)
    # p_z(h) = α₀ + α₁h on the piece
    flat = mid <= ha - hb
    slope = 1.0 / (4 * ha * hb) if hb > 0 else 0.0
    alpha0 = np.where(flat, 1.0 / (2 * ha), np.where(mid <= ha + hb, (ha + hb) * slope, 0.0))
    alpha1 = np.where(flat | (mid > ha + hb), 0.0, -slope)
    # D(f; κh) = e₀ + e₁/h: the overlap of [−κh, κh] with [|f| − bias, |f| + bias], over 4κh·bias
    amp = kappa * mid
    inside = amp <= np.abs(fa - bias)
    partial = ~inside & (amp <= fa + bias)
    e0 = np.where(inside, np.where(fa < bias, 1.0 / (2 * bias), 0.0), np.where(partial, 1.0 / (4 * bias), 0.0))
    e1 = np.where(partial, (bias - fa) / (4 * kappa * bias), np.where(inside, 0.0, 1.0 / (2 * kappa)))
    length = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.where((e1 != 0) & (length > 0), np.log(hi / lo), 0.0)
    pieces = (alpha0 * e0 + alpha1 * e1) * length + alpha1 * e0 * length * mid + alpha0 * e1 * log_ratio
    return pieces.sum(axis=1)

