"""Exact finite-N joint density of (f(x₁), f(x₂)) at depth 1 by Fourier inversion (docs/physics.md §4.6).

f(x_k) = c + Σᵢ aᵢ φ(zᵢ(x_k)) with N i.i.d. neurons, so the joint characteristic function factorizes exactly:

    Φ(t₁, t₂) = E[e^{i(t₁f₁ + t₂f₂)}] = e^{−σ_b²(t₁+t₂)²/2} · C(t)^N,   C(t) = E_z[e^{−s²(t₁φ(z₁) + t₂φ(z₂))²/2}]

with s = σ_w/√N (the readout weight integrated out) and (z₁, z₂) ~ N(0, Σ¹) the pre-activations at x₁, x₂.

What is drawn is the density of (f₁ + ε₁, f₂ + ε₂), εₖ ~ N(0, hₖ²) independent, hₖ = SMOOTH_STEPS grid steps:
its characteristic function is Φ·e^{−(h₁²t₁² + h₂²t₂²)/2}, which has fallen to e^{−(1.6π)²/2} ≈ 3e-6 at the
grid's Nyquist frequency, so one FFT on the grid inverts it. The smoothing is needed, not cosmetic: for relu
the law of f has no 2-D density (with probability P₀₀^N every neuron is off at both points and f = (c, c), a
mass on the diagonal; with all neurons off at one point, a ridge of width σ_b along an axis), and at small N
the continuous part has integrable singularities (C decays only like 1/|t|). A sample plus the same Gaussian
noise has exactly this density, which is how the tests compare it with sampled networks.

C(t) for relu is in closed form (a Gaussian times e^{−(q·z)²/2} is a Gaussian; the quadrant probabilities of
a bivariate Gaussian are ¼ ± arcsin ρ/2π), so the whole inversion is one FFT (~0.1–0.5 s). Under the laplace and
uniform priors the readout's own ψ replaces the Gaussian (Φ = ψ(σ_b(t₁+t₂))·C(t)^N, C(t) = E[ψ(s(t₁φ(z₁) +
t₂φ(z₂)))]) and C is again closed form, a sum over cones of the (w, b) plane (neuron_cf_relu_cones). For the smooth
activations C(t) is a 2-D integral of a ridge of width 1/(s|t|); it is computed along rays t = rθ̂ instead,
from the law of the projection cos θ·φ(z₁) + sin θ·φ(z₂) (neuron_cf, neuron_cf_fold, neuron_cf_periodic: gaussian prior;
neuron_cf_laplace, neuron_cf_uniform: monotone φ × laplace or uniform, with the readout's own ψ; neuron_cf_fold_priors:
gelu, silu × laplace or uniform; neuron_cf_periodic_laplace, neuron_cf_periodic_uniform, neuron_cf_periodic_student_t:
sin, cos × laplace, uniform, student-t;
neuron_cf_student_t: monotone φ × student-t, a scale mixture of the gaussian CDFs) or by a
2-D parameter rule where that resolves it (neuron_cf_rule: large N), and inverted by filtered back-projection
(joint_rays); over a cost budget, refused with the estimate.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..cancel import check_cancelled
from ..spec import MAX_WIDTH, NetworkSpec, SpecError
from . import density_relu_no_bias, rademacher_law
from .density import characteristic_function
from .exact_scope import require_exact_scope
from .joint_rays import MAX_WORK, TERMS_PER_SECOND, OverBudget, backprojected
from .kernels import kernels
from .neuron_cf import MONOTONE, RayCF, activation_reach
from .neuron_cf_fold import FOLDED, FoldRayCF
from .neuron_cf_fold_priors import FoldLaplaceRayCF, FoldUniformRayCF
from .neuron_cf_periodic import PERIODIC, PeriodicRayCF
from .neuron_cf_periodic_uniform import PeriodicUniformRayCF
from .neuron_cf_periodic_laplace import PeriodicLaplaceRayCF
from .neuron_cf_periodic_student_t import PeriodicStudentTRayCF
from .neuron_cf_laplace import LaplaceRayCF
from .neuron_cf_uniform import SQRT3, UniformRayCF
from .neuron_cf_relu_cones import ReluConeCF
from .neuron_cf_relu_student_t import ReluStudentTCF
from .neuron_cf_student_t import COVERED as STUDENT_T_COVERED, StudentTRayCF, scale_nodes
from .neuron_cf_rule import ParameterRule

SMOOTH_STEPS = 1.6        # smoothing Gaussian, in grid steps (sets the Fourier cut-off, see above)
READOUT_CHEBYSHEV = 48    # Chebyshev nodes in r beyond the bandwidth's (laplace/uniform readout: _smooth_activation)
_ROWS = 64                # rows of the Fourier grid per block (~30 ms)
RELU_REACH = {"gaussian": 24.0, "laplace": 32.0, "uniform": 24.0, "student-t": 32.0}   # relu's FFT period: (8 + this/√N) sd
HPD_MASSES = (1 - math.exp(-0.5), 1 - math.exp(-2.0), 1 - math.exp(-4.5))   # 39 %, 86 %, 99 %: 1σ, 2σ, 3σ in 2-D


@dataclass(frozen=True)
class JointDensity:
    """p[i, j] = the density of (f(x₁) + ε₁, f(x₂) + ε₂) at (f1[i], f2[j]), εₖ ~ N(0, smooth[k]²) (float64).
    `levels`: density values whose upper level sets hold HPD_MASSES of the whole law (not only the window);
    `cov`: the exact covariance of (f₁, f₂) (without the smoothing); `diagonal_mass`: P₀₀^N, the weight of
    (c, c) on the diagonal (relu: all neurons off at both points); `clipped_mass`: negative ringing set to 0;
    `axis_mass`: see below."""

    x: tuple[float, float]
    width: int
    f1: np.ndarray
    f2: np.ndarray
    p: np.ndarray
    smooth: tuple[float, float]
    levels: np.ndarray
    cov: np.ndarray
    diagonal_mass: float
    clipped_mass: float
    atoms: int = 0           # rademacher: (f₁, f₂) takes this many values (p is their law smoothed)
    axis_mass: float = 0.0   # relu, σ_b = 0, x₁x₂ < 0: each neuron is active at one point only, so with all of them
                             # on one side f is 0 at the other point: a ridge on each axis of this weight (2^{−N})


def _check(spec: NetworkSpec, x1: float, x2: float) -> None:
    require_exact_scope(spec, "the exact joint density", "joint density")
    if abs(x1 - x2) < 1e-9 * max(1.0, abs(x1)):
        raise SpecError("x₁ = x₂: f(x₁) = f(x₂), the joint law sits on the diagonal and has no density")
    if spec.prior == "rademacher":   # atoms, drawn smoothed like the densities: nothing degenerate to refuse
        return
    relu_no_bias = spec.activation == "relu" and spec.sigma_b == 0 and spec.prior in density_relu_no_bias.PRIORS
    if spec.sigma_w <= 0 or (spec.sigma_b <= 0 and not relu_no_bias):
        raise SpecError("the exact joint density needs σ_w > 0 and σ_b > 0 (otherwise (z(x₁), z(x₂)) is "
                        "degenerate)")
    if spec.sigma_b == 0 and x1 * x2 >= 0:
        raise SpecError("with σ_b = 0 and x₁, x₂ on the same side of 0 (or one at 0), f(x₂) = (x₂/x₁)·f(x₁) for "
                        "relu: the joint law sits on a line and has no density")


def available(spec: NetworkSpec, x1: float, x2: float) -> bool:
    """Whether joint_density computes a density here (rather than refusing with a reason)."""
    try:
        _check(spec, float(x1), float(x2))
    except SpecError:
        return False
    return True


def preactivation_cov(spec: NetworkSpec, x1: float, x2: float) -> np.ndarray:
    """Σ¹ of (z(x₁), z(x₂)) (docs/physics.md §1, d = 1)."""
    sw2, sb2 = spec.sigma_w**2, spec.sigma_b**2
    return np.array([[sw2 * x1 * x1 + sb2, sw2 * x1 * x2 + sb2], [sw2 * x1 * x2 + sb2, sw2 * x2 * x2 + sb2]])


def relu_neuron_cf(sigma: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """E[e^{−(q₁z₁⁺ + q₂z₂⁺)²/2}], z ~ N(0, Σ), in closed form, summed over the four sign quadrants of z.

    On a quadrant the exponent is −(q·z)²/2 with q's entries zeroed where z is negative (relu = 0 there), and
    N(z; Σ)e^{−(q·z)²/2} = N(z; Σ′)/√(det Σ · det P) with P = Σ⁻¹ + qqᵀ, Σ′ = P⁻¹; a quadrant of N(0, Σ′) has
    probability ¼ ± arcsin(ρ′)/2π, ρ′ = −P₁₂/√(P₁₁P₂₂) (+ for the same signs)."""
    a, b, c = sigma[0, 0], sigma[0, 1], sigma[1, 1]
    det = a * c - b * b

    def part(p1, p2, same_sign):
        i11, i22, i12 = c / det + p1 * p1, a / det + p2 * p2, -b / det + p1 * p2
        rho = np.clip(-i12 / np.sqrt(i11 * i22), -1.0, 1.0)
        orth = 0.25 + (1 if same_sign else -1) * np.arcsin(rho) / (2 * math.pi)
        return orth / np.sqrt(1.0 + a * p1 * p1 + 2 * b * p1 * p2 + c * p2 * p2)   # det Σ·det P = 1 + qᵀΣq

    zero = np.zeros_like(q1)
    return part(zero, zero, True) + part(q1, zero, False) + part(zero, q2, False) + part(q1, q2, True)


def _fast_size(n: int) -> int:
    """The smallest even 2^a·3^b ≥ n (an FFT size that is fast)."""
    best = 1 << max(1, (n - 1).bit_length())
    p3 = 1
    while p3 < best:
        m = p3 * (1 << max(1, int(math.ceil(math.log2(max(1.0, n / p3))))))
        best = min(best, m) if m >= n and m % 2 == 0 else best
        p3 *= 3
    return best


def hpd_levels(p: np.ndarray, cell: float, masses=HPD_MASSES, total: float | None = None) -> np.ndarray:
    """Density values ℓ such that {p ≥ ℓ} holds each of `masses` (grid cells of area `cell`) of `total`
    (default: the mass on the grid)."""
    v = np.sort(p.ravel())[::-1]
    cum = np.cumsum(v) * cell
    total = cum[-1] if total is None else total
    return np.array([v[min(int(np.searchsorted(cum, m * total)), len(v) - 1)] for m in masses])


def joint_density(spec: NetworkSpec, x1: float, x2: float, *, half_range=None, span_sd: float = 3.5,
                  points: int = 97, box=None, max_work: float = MAX_WORK) -> JointDensity:
    """The exact (smoothed, see the module docstring) joint density of (f(x₁), f(x₂)) on a `points`×`points`
    grid over ±half_range (default ±span_sd standard deviations per axis). With box = (b₁, b₂) grid steps, p is
    instead its average over the b₁×b₂-step rectangle centred on each grid point (a histogram's expectation:
    the characteristic function times the box's, sinc(tₖbₖΔₖ/2), inverted the same way). An inversion on rays of
    more than `max_work` terms is refused (joint_rays.OverBudget, carrying its cost)."""
    x1, x2 = float(x1), float(x2)
    _check(spec, x1, x2)
    n, sw, sb = spec.width, spec.sigma_w, spec.sigma_b
    sigma = preactivation_cov(spec, x1, x2)
    s = sw / math.sqrt(n)
    cov = np.asarray(kernels(spec, np.array([[x1], [x2]])).nngp, dtype=np.float64)   # = G2 at every N (§4.1)
    sd = np.sqrt(np.diag(cov))
    half = np.asarray(span_sd * sd if half_range is None else half_range, dtype=np.float64) * np.ones(2)
    points = int(points) | 1                                       # odd: f = 0 is a grid point
    step = 2 * half / (points - 1)
    if spec.prior == "rademacher":
        return _rademacher(spec, x1, x2, cov, points, step, box, max_work)
    if spec.activation != "relu":
        return _smooth_activation(spec, x1, x2, sigma, cov, half, points, step, box, max_work)
    # The period must hold the whole law (aliasing folds the tails back in); a product of Gaussians has
    # exponential tails at small N (the 1-D density's window, theory/density.py), a product of laplace variables
    # stretched-exponential ones, e^{−2√(|f|/λ_aλ_h)}: a wider period (RELU_REACH).
    reach = (8.0 + RELU_REACH[spec.prior] / math.sqrt(n)) * sd
    size = [_fast_size(2 * int(math.ceil(max(half[k], reach[k]) / step[k])) + 2) for k in range(2)]
    t = [(np.arange(size[k]) - size[k] // 2) * (2 * math.pi / (size[k] * step[k])) for k in range(2)]
    smooth = SMOOTH_STEPS * step
    if sb == 0:   # x₁x₂ < 0: a neuron is active at exactly one of the points (density_relu_no_bias)
        scales = [density_relu_no_bias.scale(x, sw, n) for x in (x1, x2)]
        p00 = 0.0

        def neuron(t1, t2):
            return 0.5 * (density_relu_no_bias.characteristic(spec.prior, scales[0] * t1, spec.prior_dof)
                          + density_relu_no_bias.characteristic(spec.prior, scales[1] * t2, spec.prior_dof))
    elif spec.prior == "gaussian":
        p00 = 0.25 + math.asin(sigma[0, 1] / math.sqrt(sigma[0, 0] * sigma[1, 1])) / (2 * math.pi)

        def neuron(t1, t2):
            return relu_neuron_cf(sigma, s * t1, s * t2)
    elif spec.prior == "student-t":   # per-angle tables of the radial transform (neuron_cf_relu_student_t)
        neuron = ReluStudentTCF((x1, x2), sw, sb, s, spec.prior_dof,
                                t_max=float(np.abs(t[0]).max() + np.abs(t[1]).max()))
        p00 = neuron.p00
        # one table read per angle and grid point, about half a ray term each (joint_rays.TERMS_PER_SECOND)
        cost = 0.5 * neuron.angles * (size[0] // 2 + 1) * size[1]
        if cost > max_work:
            raise OverBudget(f"the exact joint density here needs ~{cost:.1e} terms ({neuron.angles} angles × "
                             f"{(size[0] // 2 + 1) * size[1]} Fourier points), over the budget of {max_work:.0e} "
                             f"(~{max_work / TERMS_PER_SECOND:.0f} s): raise N", cost)
    else:   # closed form over cones of the (w, b) plane (neuron_cf_relu_cones)
        neuron = ReluConeCF(spec.prior, (x1, x2), sw, sb, s)
        p00 = neuron.p00

    def block_of(t1, t2):   # Φ·(the smoothing's and the box's characteristic functions)
        block = characteristic_function(spec.prior, sb * (t1 + t2), spec.prior_dof) * neuron(t1, t2) ** n
        block *= np.exp(-0.5 * ((smooth[0] * t1) ** 2 + (smooth[1] * t2) ** 2))
        if box is not None:
            block *= np.sinc(t1 * box[0] * step[0] / (2 * math.pi)) * np.sinc(t2 * box[1] * step[1] / (2 * math.pi))
        return block

    # Φ is real and even: rows t₁ ≤ 0 are computed, the others mirrored (Φ(t) = Φ(−t)) except their first
    # column, whose mirror −t₂ = size₂/2 steps is not on the grid.
    phi = np.empty((size[0], size[1]))
    lower = size[0] // 2 + 1
    for i in range(0, lower, _ROWS):   # in blocks of rows, each a cancellation point
        check_cancelled()
        t1, t2 = np.meshgrid(t[0][i:min(i + _ROWS, lower)], t[1], indexing="ij")
        phi[i:min(i + _ROWS, lower)] = block_of(t1, t2)
    check_cancelled()
    upper = np.arange(lower, size[0])
    phi[upper, 1:] = phi[size[0] - upper, :0:-1]
    phi[upper, 0] = block_of(t[0][upper], np.full(len(upper), t[1][0]))
    # p(f) = (2π)⁻² Σ Φ(t) e^{−it·f} δt₁δt₂ on the centred grids f = (j − M/2)·step (trapezoid = exact up to
    # aliasing for this smooth, decaying Φ).
    dt = (t[0][1] - t[0][0]) * (t[1][1] - t[1][0])
    p = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(phi))).real * dt / (4 * math.pi**2)
    neg = p < 0
    cell = step[0] * step[1]
    clipped = float(-p[neg].sum() * cell)
    p[neg] = 0.0
    levels = hpd_levels(p, cell)
    m = (points - 1) // 2
    keep = [slice(size[k] // 2 - m, size[k] // 2 + m + 1) for k in range(2)]
    f1, f2 = (np.arange(-m, m + 1) * step[k] for k in range(2))
    return JointDensity(x=(x1, x2), width=n, f1=f1, f2=f2, p=p[keep[0], keep[1]].copy(),
                        smooth=(float(smooth[0]), float(smooth[1])), levels=levels, cov=cov,
                        diagonal_mass=p00**n, clipped_mass=clipped, axis_mass=0.5**n if sb == 0 else 0.0)


def _smooth_activation(spec, x1, x2, sigma, cov, half, points, step, box, max_work) -> JointDensity:
    """Smooth φ: C on rays — from the CDF of cos θ·φ(z₁) + sin θ·φ(z₂) (gaussian prior, monotone, one-minimum or
    periodic φ: neuron_cf, neuron_cf_fold, neuron_cf_periodic; laplace or uniform prior, monotone φ: neuron_cf_laplace,
    neuron_cf_uniform; laplace or uniform, one-minimum φ: neuron_cf_fold_priors; laplace or uniform, sin and cos:
    neuron_cf_periodic_laplace, neuron_cf_periodic_uniform; student-t: sin and cos, neuron_cf_periodic_student_t;
    monotone φ, neuron_cf_student_t), else
    by a 2-D parameter rule where that resolves it (large N) — inverted by filtered back-projection (joint_rays).
    No atoms: the law of f has a density, smoothed here like relu's."""
    n = spec.width
    s = spec.sigma_w / math.sqrt(n)
    m = (points - 1) // 2
    f1, f2 = (np.arange(-m, m + 1) * step[k] for k in range(2))
    smooth = SMOOTH_STEPS * step
    h = (float(smooth[0]), float(smooth[1]))
    wide = None if box is None else (box[0] * step[0], box[1] * step[1])
    if spec.prior == "gaussian" and spec.activation in PERIODIC:
        p = _rule_else_rays(spec, x1, x2, cov, h, f1, f2, wide, max_work, s * math.sqrt(2.0), lambda theta, r_max:
                            PeriodicRayCF(spec.activation, sigma, s, theta, r_max, precise=False))
    elif spec.prior == "laplace" and spec.activation in PERIODIC:
        p = _rule_else_rays(spec, x1, x2, cov, h, f1, f2, wide, max_work, s * math.sqrt(2.0),
                            lambda theta, r_max: PeriodicLaplaceRayCF(spec.activation, (x1, x2), spec.sigma_w,
                                                                      spec.sigma_b, s, theta, r_max, precise=False))
    elif spec.prior == "uniform" and spec.activation in PERIODIC:
        p = _rule_else_rays(spec, x1, x2, cov, h, f1, f2, wide, max_work, s * math.sqrt(2.0) * SQRT3,
                            lambda theta, r_max: PeriodicUniformRayCF(spec.activation, (x1, x2), spec.sigma_w,
                                                                      spec.sigma_b, s, theta, r_max, precise=False))
    elif spec.prior == "student-t" and spec.activation in PERIODIC:
        p = _rule_else_rays(spec, x1, x2, cov, h, f1, f2, wide, max_work, s * math.sqrt(2.0),
                            lambda theta, r_max: PeriodicStudentTRayCF(spec.activation, (x1, x2), spec.sigma_w,
                                                                       spec.sigma_b, s, spec.prior_dof, theta, r_max))
    elif spec.prior in ("laplace", "uniform") and spec.activation in FOLDED:
        ray_class = FoldLaplaceRayCF if spec.prior == "laplace" else FoldUniformRayCF
        bandwidth = s * math.sqrt(2.0) * (1.0 if spec.prior == "laplace" else SQRT3) * activation_reach(
            spec.activation, 4.0 * sigma)
        p = _rule_else_rays(spec, x1, x2, cov, h, f1, f2, wide, max_work, bandwidth, lambda theta, r_max: ray_class(
            spec.activation, (x1, x2), spec.sigma_w, spec.sigma_b, s, theta, r_max, precise=False))
    elif spec.prior == "gaussian" and spec.activation in MONOTONE + FOLDED:
        ray = FoldRayCF if spec.activation in FOLDED else RayCF
        bandwidth = s * math.sqrt(2.0) * activation_reach(spec.activation, sigma)
        p, _ = backprojected(lambda theta, r_max: ray(spec.activation, sigma, s, theta, r_max, precise=False), n,
                             spec.sigma_b, h, f1, f2, bandwidth, box=wide, max_work=max_work, exchangeable=x1 == -x2)
    elif spec.prior in ("laplace", "uniform") and spec.activation in MONOTONE:
        # ψ_laplace(v) = 1/(1 + v²/2) has poles at v = ±i√2, so C(r) is less smooth in r than under the gaussian
        # readout: READOUT_CHEBYSHEV nodes beyond the bandwidth's (48 and 160 gave the same density to 2e-12 at
        # the Priors preset). ψ_uniform(v) = sin(√3v)/(√3v) is entire, its frequencies √3 times the gaussian's.
        ray_class = LaplaceRayCF if spec.prior == "laplace" else UniformRayCF
        bandwidth = s * math.sqrt(2.0) * (1.0 if spec.prior == "laplace" else SQRT3) * activation_reach(
            spec.activation, 4.0 * sigma)

        def prior_ray(theta, r_max):
            return ray_class(spec.activation, (x1, x2), spec.sigma_w, spec.sigma_b, s, theta, r_max, precise=False)

        def bias(v):
            return characteristic_function(spec.prior, spec.sigma_b * v)

        p, _ = backprojected(prior_ray, n, spec.sigma_b, h, f1, f2, bandwidth, box=wide, bias_cf=bias,
                             min_chebyshev=READOUT_CHEBYSHEV, max_work=max_work,
                             exchangeable=x1 == -x2)
    elif spec.prior == "student-t" and spec.activation in STUDENT_T_COVERED:
        # the scale mixture of the gaussian prior's CDFs (one Gauss rule, shared by every ray); ψ_t's branch
        # points at ±i/√(ν − 2) make C(r) no smoother than under the laplace readout
        nodes = scale_nodes(spec.prior_dof)
        bandwidth = s * math.sqrt(2.0) * activation_reach(spec.activation, sigma * nodes[:, :2].max())

        def prior_ray(theta, r_max):
            return StudentTRayCF(spec.activation, (x1, x2), spec.sigma_w, spec.sigma_b, s, spec.prior_dof, theta,
                                 r_max, nodes=nodes)

        def bias(v):
            return characteristic_function(spec.prior, spec.sigma_b * v, spec.prior_dof)

        p, _ = backprojected(prior_ray, n, spec.sigma_b, h, f1, f2, bandwidth, box=wide, bias_cf=bias,
                             min_chebyshev=READOUT_CHEBYSHEV, max_work=max_work,
                             exchangeable=x1 == -x2)
    else:
        p = _by_parameter_rule(spec, x1, x2, cov, h, f1, f2, wide, max_work)
    neg = p < 0
    cell = step[0] * step[1]
    clipped = float(-p[neg].sum() * cell)
    p[neg] = 0.0
    levels = hpd_levels(p, cell, total=1.0)   # of the whole law (mass 1), not only of the window
    return JointDensity(x=(x1, x2), width=n, f1=f1, f2=f2, p=p, smooth=(float(smooth[0]), float(smooth[1])),
                        levels=levels, cov=cov, diagonal_mass=0.0, clipped_mass=clipped)


def _rule_else_rays(spec, x1, x2, cov, h, f1, f2, box, max_work, bandwidth, ray) -> np.ndarray:
    """sin, cos × any prior and gelu, silu × laplace or uniform: the 2-D parameter rule where it
    resolves C (large N: C^N dies early, a few 1e7 terms), else the CDF on rays `ray(θ, r_max)` (neuron_cf_periodic,
    neuron_cf_periodic_laplace, neuron_cf_periodic_uniform, neuron_cf_periodic_student_t, neuron_cf_fold_priors:
    ~1e6 terms a ray at every N);
    over budget both, the cheaper one's refusal."""
    rule_over = None
    try:
        return _by_parameter_rule(spec, x1, x2, cov, h, f1, f2, box, max_work)
    except OverBudget as exc:
        rule_over = exc
    except SpecError:
        pass

    def bias(v):
        return characteristic_function(spec.prior, spec.sigma_b * v, spec.prior_dof)

    try:
        p, _ = backprojected(ray, spec.width, spec.sigma_b, h, f1, f2, bandwidth, box=box,
                             bias_cf=None if spec.prior == "gaussian" else bias,
                             min_chebyshev=48 if spec.prior == "gaussian" else READOUT_CHEBYSHEV,
                             max_work=max_work, exchangeable=x1 == -x2)
    except OverBudget as exc:
        raise exc if rule_over is None or exc.cost <= rule_over.cost else rule_over from None
    return p


def _rademacher(spec, x1, x2, cov, points, step, box, max_work) -> JointDensity:
    """Rademacher: (f(x₁), f(x₂)) takes finitely many values (rademacher_law.joint_atoms); the same Gaussian
    smoothing as the densities' makes it one, summed over the atoms in closed form."""
    m = (points - 1) // 2
    f1, f2 = (np.arange(-m, m + 1) * step[k] for k in range(2))
    smooth = (float(SMOOTH_STEPS * step[0]), float(SMOOTH_STEPS * step[1]))
    wide = None if box is None else (box[0] * step[0], box[1] * step[1])
    p, atoms = rademacher_law.smoothed_joint(spec, x1, x2, f1, f2, smooth, wide, max_work)
    _, q = rademacher_law.neuron_directions(spec, np.array([x1, x2]))
    return JointDensity(x=(x1, x2), width=spec.width, f1=f1, f2=f2, p=p, smooth=smooth,
                        levels=hpd_levels(p, step[0] * step[1], total=1.0), cov=cov,
                        diagonal_mass=max(0.0, 1.0 - float(q.sum())) ** spec.width, clipped_mass=0.0, atoms=atoms)


RULE_NODES = 120_000   # the largest 2-D parameter rule (one ψ per node, radius and ray; MAX_WORK bounds the rest)


def _by_parameter_rule(spec, x1, x2, cov, h, f1, f2, box, max_work) -> np.ndarray:
    """Every prior, every smooth φ, where a plain 2-D rule resolves C up to the radius the inversion needs: the
    pilot runs to twice the Gaussian limit's 1e-13 radius on a rule resolving that (at most RULE_NODES nodes),
    and the rule for the radius found must agree with a 1.6× finer one to 1e-8 on three rays."""
    n = spec.width
    lam = float(np.linalg.eigvalsh(cov + np.diag(np.square(h)))[0])
    r_pilot = 2.0 * math.sqrt(2 * math.log(1e13) / lam)
    why = (f"the exact joint density for {spec.activation} under the {spec.prior} prior is a 2-D quadrature of a "
           "ridge here (the closed-form CDF routes on rays cover every smooth φ under the gaussian, laplace and "
           "uniform priors, and the monotone φ, sin and cos under student-t)")
    rules: dict = {}

    def rule_for(r_max: float, resolution: float = 1.0) -> ParameterRule:
        if (r_max, resolution) not in rules:
            rule = ParameterRule(spec, x1, x2, r_max, resolution, max_nodes=RULE_NODES / resolution**2)
            if len(rule) > RULE_NODES / resolution**2:
                # as N grows the rule coarsens only down to the prior's own resolution (heavy tails: many nodes)
                floor = len(ParameterRule(dataclasses.replace(spec, width=MAX_WIDTH), x1, x2, r_max, resolution, 0.0))
                advice = ("raise N" if floor <= RULE_NODES / resolution**2 else
                          f"not at any N: the {spec.prior} prior's tails alone need {floor:.1e}")
                raise SpecError(f"{why}, and at N = {n} resolving it takes {len(rule):.1e} nodes (budget "
                                f"{RULE_NODES:.1e}): {advice}")
            rules[(r_max, resolution)] = rule
        return rules[(r_max, resolution)]

    def ray_cf(theta: float, r_max: float):
        main = rule_for(r_max)
        if r_max != r_pilot and (r_max, 0.6) not in rules:   # first main ray: check the rule against a finer one
            fine = rule_for(r_max, 0.6)
            rr = np.linspace(0.0, r_max, 33)[1:]
            diff = max(float(np.abs(main.ray(th)(rr) - fine.ray(th)(rr)).max()) for th in (0.4, 1.3, 2.4))
            if diff > 1e-8:
                raise SpecError(f"{why}, and at N = {n} the rule does not resolve it (two resolutions differ by "
                                f"{diff:.0e}): raise N")
        return main.ray(theta)

    def bias(v):
        return characteristic_function(spec.prior, spec.sigma_b * v, spec.prior_dof)

    try:
        p, _ = backprojected(ray_cf, n, spec.sigma_b, h, f1, f2, spec.sigma_w / math.sqrt(n) * 2.0, box=box,
                             bias_cf=bias, pilot_r_max=r_pilot, min_chebyshev=24, max_work=max_work,
                             exchangeable=x1 == -x2)
    except SpecError as exc:
        if "decays too slowly" in str(exc):
            raise SpecError(f"{why}, and at N = {n} its characteristic function decays too slowly for a rule of "
                            "affordable size: raise N") from None
        raise
    return p
