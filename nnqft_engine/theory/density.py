"""Exact finite-N density of one depth-1 output f(x) (i.i.d. parameters), by one Fourier inversion
(docs/physics.md §4.3).

f = c + Σᵢ aᵢhᵢ is the readout bias plus N i.i.d. terms, aᵢ = (σ_w/√N)αᵢ, hᵢ = φ(zᵢ), so exactly

    E[e^{itf}] = ψ(σ_b t) · (E_z[ψ(t σ_w φ(z)/√N)])^N,      ψ = the standardized prior's characteristic function

(gaussian: e^{−s²/2}, so E_z[…] = E_h[e^{−t²σ_w²h²/(2N)}]). Only the one-dimensional law of the pre-activation
z = σ_w x u + σ_b v enters: its density is a closed-form convolution (gaussian, uniform: a trapezoid, laplace:
two exponentials) or one smooth integral (student-t).

Atoms: where φ(z) = 0 on a set of positive probability (relu: z ≤ 0, p_off = ½) a neuron contributes exactly 0,
so with probability p_off^N all of them do and f = c. That part is split off in closed form — p_off^N times the
bias density (a spike of width σ_b), or a true atom at 0 when σ_b = 0 — and only the remainder is inverted.
For relu × laplace/uniform the one-active-neuron law is split off too, in f-space, and the neuron's
characteristic function is a closed form (density_relu). The characteristic function is real and even (every
prior is symmetric), so the inverted part is (1/π)∫₀^T Φ(t) cos(tf) dt, a trapezoid sum in t (exact up to the
periodization and the cut at T, see output_density) turned into the density on a uniform grid by one FFT.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from ..activations import get_activation
from ..cancel import check_cancelled
from ..spec import NetworkSpec, SpecError, as_points
from . import (density_laplace_few, density_relu, density_relu_no_bias, density_uniform_neuron,
               density_uniform_pair, student_t_cf)
from .exact_scope import require_exact_scope
from .log_interp import LogTable
from .first_layer import SQRT3, composite_rule, graded_edges, standardized_pdf, tail_range

_P_TOL = 1e-11   # the density's error from cutting the inversion at T, times the standard deviation of f
_MAX_GRID = 40001
_MAX_FOURIER = 200000          # Fourier points of an inversion whose terms are each a quadrature over z
_MAX_FOURIER_CLOSED = 10000000 # … whose terms are closed forms or interpolated (~1 µs each)
# Fourier points × pre-activation points of one inversion: beyond this (a heavy-tailed prior at small N, a tiny
# σ_b) it would take minutes; refused with a sentence before anything large is built. Evaluated in blocks (bounded
# memory), each a cancellation point.
MAX_TERMS = 2e8
# The student-t characteristic function is a tabulated Bessel function: a term costs ~3× a laplace one (~40 ns).
_TERM_COST = {"student-t": 3.0}
_CHUNK = 1 << 18   # entries of one block of the (t × z) and (f × t) products (a few ms: a cancellation point)
_L = 12
# φ(z) = 0 only at z = 0 (or as z → ±∞): ψ(t·σ_wφ(z)/√N) then has no narrow features away from z = 0.
_ZERO_ONLY_AT_ORIGIN = frozenset({"relu", "erf", "tanh", "gelu", "sigmoid", "softplus", "silu", "linear"})
_UNBOUNDED = frozenset({"relu", "gelu", "softplus", "silu", "linear"})   # |φ(z)| ~ |z| on one side at least
_PERIODIC_ZEROS = {"sin": 0.0, "cos": math.pi / 2}   # φ = 0 at this + kπ
# φ → 0 faster than any exponential on one side (gelu: zΦ(z)): under laplace at small N the neuron's
# characteristic function decays more slowly than any power of t, so N = 2, 3 are written in f-space.
_SUPER_EXPONENTIAL_ZERO = frozenset({"gelu"})


@dataclass(frozen=True)
class OutputDensity:
    """p(f) on the grid f (float64); `atom_weight` = P(every neuron contributes 0) (included in p as the
    bias-density spike when σ_b > 0, a point mass at 0 outside p when σ_b = 0); `clipped_mass` the negative
    ringing set to 0; `tail` = |Φ(T)|, the characteristic function where the inversion stops."""

    x: float
    width: int
    f: np.ndarray
    p: np.ndarray
    atom_weight: float
    atom_in_p: bool
    variance: float
    clipped_mass: float
    tail: float


def characteristic_function(prior: str, s, dof: float = 6.0) -> np.ndarray:
    """E[e^{isα}] of the standardized prior variable (real: every prior is symmetric)."""
    s = np.abs(np.asarray(s, dtype=np.float64))
    if prior == "gaussian":
        return np.exp(-0.5 * s * s)
    if prior == "uniform":
        return np.sinc(SQRT3 * s / math.pi)
    if prior == "laplace":
        return 1.0 / (1.0 + 0.5 * s * s)
    if prior == "rademacher":
        return np.cos(s)
    if prior == "student-t":  # t_ν scaled to unit variance: a Bessel function, read from a table
        return student_t_cf.cf(s, dof)
    raise ValueError(f"unknown prior {prior!r}")


@functools.lru_cache(maxsize=8)
def _student_t_sum_rule(dof: float) -> tuple[np.ndarray, np.ndarray]:
    """The rule over v in the student-t pre-activation density (built once per ν: its tail reach is a root find)."""
    from .first_layer import axis_rule
    v, wv = axis_rule("student-t", 1.0, dof, growth=0.3, core=12.0)
    v.flags.writeable = wv.flags.writeable = False
    return v, wv


def preactivation_density(spec: NetworkSpec, x1: float, z: np.ndarray) -> np.ndarray:
    """Density of z = σ_w x₁ u + σ_b v, (u, v) i.i.d. standardized prior variables (docs/physics.md §4)."""
    a, b = abs(spec.sigma_w * x1), spec.sigma_b
    a, b = max(a, b), min(a, b)
    z = np.asarray(z, dtype=np.float64)
    prior, dof = spec.prior, spec.prior_dof
    if b == 0:
        return standardized_pdf(prior, z / a, dof) / a
    if prior == "gaussian":
        q = a * a + b * b
        return np.exp(-0.5 * z * z / q) / math.sqrt(2 * math.pi * q)
    if prior == "uniform":  # U(±√3a) + U(±√3b): a trapezoid
        ha, hb = SQRT3 * a, SQRT3 * b
        return np.maximum(0.0, np.minimum(ha, z + hb) - np.maximum(-ha, z - hb)) / (4 * ha * hb)
    if prior == "laplace":  # scales β = σ/√2; β₁ ≠ β₂: (β₁e^{−|z|/β₁} − β₂e^{−|z|/β₂}) / (2(β₁² − β₂²))
        b1, b2 = a / math.sqrt(2.0), b / math.sqrt(2.0)
        az = np.abs(z)
        if b1 - b2 < 1e-7 * b1:
            return (b1 + az) * np.exp(-az / b1) / (4 * b1 * b1)
        return (b1 * np.exp(-az / b1) - b2 * np.exp(-az / b2)) / (2 * (b1 * b1 - b2 * b2))
    if prior == "student-t":  # ∫ p(v) p((z − b v)/a)/a dv: smooth in v on scale a/b ≥ 1
        v, wv = _student_t_sum_rule(float(dof))
        return (standardized_pdf(prior, (z[..., None] - b * v) / a, dof) @ wv) / a
    raise SpecError(f"no pre-activation density for prior {prior!r}")


def _z_rule(spec: NetworkSpec, x1: float, h0: float, hmax: float | None, positive_only: bool):
    """Composite rule for E over z (density included): pieces graded from z = 0 (where φ vanishes and where the
    laplace/uniform densities have kinks), at most hmax wide in the bulk (None: graded all the way), split at the
    uniform trapezoid's corners."""
    a, b = abs(spec.sigma_w * x1), spec.sigma_b
    reach = tail_range(spec.prior, spec.prior_dof) * max(a, b)
    if spec.prior == "uniform":
        reach = SQRT3 * (a + b)
    half = graded_edges(h0, reach, 0.15)
    extra = [] if hmax is None else np.arange(hmax, min(reach, 30 * math.sqrt(a * a + b * b)), hmax)
    corners = [SQRT3 * abs(a - b)] if spec.prior == "uniform" else []
    half = np.unique(np.concatenate([half, extra, corners]))
    half = half[half <= reach]
    edges = half if positive_only else np.concatenate([-half[::-1], half[1:]])
    z, w = composite_rule(edges, _L)
    return z, w * preactivation_density(spec, x1, z)


def _periodic_z_rule(spec: NetworkSpec, x1: float, name: str, h0: float, nodes: int = _L):
    """sin, cos under laplace / student-t: graded geometrically (ratio 2) from h0 towards every zero of φ where the
    density of z exceeds 1e-13 of its peak (ψ(t·σ_wφ(z)/√N) has a feature of width ~√N/(tσ_w) there), pieces of
    at most π/4 between them (the integrand oscillates with φ), then of π out to where the prior's standardized
    tail mass is 1e-16 (beyond the graded zeros the features are not resolved anyway: each weighs ≤ 1e-13 of the
    peak density times its width); split at z = 0 (the laplace density's kink)."""
    a, b = abs(spec.sigma_w * x1), spec.sigma_b
    if spec.prior == "laplace":
        tail = math.log(1e16) / math.sqrt(2.0)
    else:   # standardized student-t: t_ν scaled by √((ν−2)/ν)
        tail = -float(special.stdtrit(spec.prior_dof, 5e-17)) * math.sqrt((spec.prior_dof - 2) / spec.prior_dof)
    reach = tail * (a + b)
    step, off = math.pi / 4, _PERIODIC_ZEROS[name]
    grid = off + step * np.arange(math.floor((-reach - off) / step), math.ceil((reach - off) / step) + 1)
    zeros = off + math.pi * np.arange(math.floor((-reach - off) / math.pi), math.ceil((reach - off) / math.pi) + 1)
    peak = float(preactivation_density(spec, x1, np.zeros(1))[0])
    graded = zeros[(np.abs(zeros) < reach) & (preactivation_density(spec, x1, zeros) > 1e-13 * peak)]
    core = float(np.abs(graded).max(initial=0.0)) + math.pi
    grid = grid[(np.abs(grid) <= core) | (np.abs(np.round((grid - off) / math.pi) * math.pi + off - grid) < 1e-9)]
    offsets = h0 * 2.0 ** np.arange(max(1, int(math.ceil(math.log2(step / h0)))))
    offsets = np.concatenate([offsets, -offsets])
    edges = np.unique(np.concatenate([np.clip(grid, -reach, reach), [0.0, -reach, reach],
                                      (graded[:, None] + offsets).ravel()]))
    z, w = composite_rule(edges[(edges >= -reach) & (edges <= reach)], nodes)
    return z, w * preactivation_density(spec, x1, z)


def _checked(fn, block):
    check_cancelled()
    return fn(block)


def _cut_off(t: np.ndarray, abs_phi: np.ndarray, tol: float) -> tuple[float, float, float]:
    """Where to cut ∫₀^∞ Φ(t) cos(tf) dt/π: the first probe t from which the envelope of |Φ| (its maximum
    beyond t) integrates to ≤ tol·π, counting beyond the last probe a power law fitted over its last decade.
    Returns (T, |Φ| there, the error bound at the last probe)."""
    env = np.maximum.accumulate(abs_phi[::-1])[::-1]
    seg = 0.5 * (env[1:] + env[:-1]) * np.diff(t)          # trapezoid: above a convex decreasing envelope
    j = int(np.searchsorted(t, t[-1] / 10.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        k = math.log(env[j] / env[-1]) / math.log(t[-1] / t[j]) if env[-1] > 0 else math.inf
    last = 0.0 if env[-1] == 0 else (env[-1] * t[-1] / (k - 1) if k > 1.05 else math.inf)
    tails = (np.append(np.cumsum(seg[::-1])[::-1], 0.0) + last) / math.pi
    i = int(np.argmax(tails <= tol)) if tails[-1] <= tol else len(t) - 1
    return float(t[i]), float(env[i]), float(tails[-1])


def _on_uniform_grid(t_step: float, weights: np.ndarray, span: float, df: float) -> tuple[np.ndarray, np.ndarray]:
    """(1/π)Σₖ wₖ cos(kδt·f) on f = jδf over ±span by one FFT: with δf·δt = 2π/M the sum over k is periodic in
    k with period M, so the weights fold onto M bins (δf is the requested spacing or a little finer)."""
    m_size = 1 << int(math.ceil(math.log2(2 * math.pi / (t_step * df))))
    df = 2 * math.pi / (m_size * t_step)
    half = int(math.ceil(span / df))
    coef = np.bincount(np.arange(len(weights)) % m_size, weights=weights, minlength=m_size)
    p = np.fft.fft(coef).real / math.pi
    j = np.arange(-half, half + 1)
    return j * df, p[j % m_size]


def _excess_power(c: np.ndarray, p: float, n: int, drop_linear: bool) -> np.ndarray:
    """(p + c)^N − p^N, less N p^{N−1} c if `drop_linear`, without the cancellation of the plain difference
    where c ≪ p (there its rounding, ~1e-17, would outlast the true value at large t)."""
    u = c / p
    small = np.abs(u) < 0.5
    us = np.where(small, u, 0.0)
    series = np.expm1(n * np.log1p(us)) - (n * us if drop_linear else 0.0)
    plain = (1.0 + u) ** n - 1.0 - (n * u if drop_linear else 0.0)
    return p**n * np.where(small, series, plain)


def _closed_form_remainder(spec: NetworkSpec, x1: float):
    """relu × laplace/uniform: Φ less the all-off and the one-active parts (the latter added in f-space by
    density_relu.one_active), with the neuron's characteristic function in closed form."""
    active = density_relu.neuron_cf(spec.prior, x1, spec.sigma_w, spec.sigma_b, spec.width)

    def phi_rem(t):
        bias = characteristic_function(spec.prior, spec.sigma_b * t, spec.prior_dof)
        return bias * _excess_power(active(t), density_relu.P_OFF, spec.width, True)

    return phi_rem


def _one_laplace_neuron(spec: NetworkSpec, x1: float):
    """N = 1, laplace: f = c + a·φ(z) is, given z, a sum of two laplace variables, so p(f) = E_z[L(f; σ_b/√2,
    σ_w|φ(z)|/√2)] (density_relu.laplace_mixture) — no inversion at all (its Φ ~ t⁻³ would need ~10⁶ Fourier
    points). The z-rule is graded from 1e-7 of the scale of z towards 0 (where φ, and so β_h, vanishes), with
    pieces at most ½ wide where φ decays exponentially (sigmoid, softplus, silu: e^{−|f|/β_h} turns on over
    Δz ~ 1); sin and cos: graded the same way towards each of their zeros (_periodic_z_rule)."""
    act = get_activation(spec.activation)
    sd_z = math.hypot(spec.sigma_w * x1, spec.sigma_b)
    if act.name in _PERIODIC_ZEROS:
        z, w = _periodic_z_rule(spec, x1, act.name, 1e-7 * sd_z, nodes=8)
    else:
        z, w = composite_rule(_laplace_z_edges(sd_z), 8)
        w = w * preactivation_density(spec, x1, z)
    beta_h = spec.sigma_w * np.abs(act.numpy_fn(z, 0.0)) / math.sqrt(2.0)
    return lambda f: density_relu.laplace_mixture(f, spec.sigma_b / math.sqrt(2.0), beta_h, w)


def _laplace_z_edges(sd_z: float) -> np.ndarray:
    """Pieces over z under laplace: graded from 1e-7 of its scale towards 0, at most ½ wide beyond."""
    half = graded_edges(1e-7 * sd_z, 0.5, 0.7)
    reach = tail_range("laplace") * sd_z
    half = np.concatenate([half[half < 0.5], np.arange(0.5, reach, 0.5), [reach]])
    return np.concatenate([-half[::-1], half[1:]])


def _quadrature_remainder(spec: NetworkSpec, x1: float, act, sd: float, sd_z: float, p_off: float):
    """(T to probe, Φ less the all-off part, cost of a term in z-nodes) with E_z[ψ(…)] by a composite rule over z.
    T: the bias' characteristic function (if it decays) or the bulk's. Where ψ(t·amp(z)) does not oscillate in z
    (a non-oscillating ψ, and φ vanishing only at z = 0, where the z-rule is graded) its features at any t are
    resolved by the graded rule: the bulk needs no finer pieces and T may be large (heavy-tailed priors at small
    N decay like a power of t). Otherwise the pieces resolve ψ's period at T. Under the laplace and student-t
    priors C(t) is analytic for Re t > 0: tabulated on log t (log_interp) it costs ~10³ evaluations however many
    Fourier points there are, so T may reach 1e7/σ_f with the z-rule graded from 1e-10 of the scale of z."""
    n, sw, sb = spec.width, spec.sigma_w, spec.sigma_b
    calm = spec.prior in ("gaussian", "laplace", "student-t") and act.name in _ZERO_ONLY_AT_ORIGIN
    periodic = spec.prior in ("laplace", "student-t") and act.name in _PERIODIC_ZEROS
    tabulated = (calm and spec.prior in ("laplace", "student-t")) or periodic
    t_max = 8.3 / sb if (sb > 0 and spec.prior == "gaussian") else (1e7 if tabulated else 1e4 if calm else 300.0) / sd
    if periodic and spec.prior == "student-t" and sb > 0:   # the bias' ψ ~ e^{−√(ν−2)σ_b t} ends Φ by e^{−40}
        t_max = min(t_max, 40.0 / (sb * math.sqrt(spec.prior_dof - 2)))
    hmax = None if calm else min(0.1 * sd_z, 1.5 * 2 * math.pi * math.sqrt(n) / (t_max * sw * 1.2 + 1e-300))
    if periodic:   # finest piece: 1e-3 of the narrowest feature at a zero of φ, √N/(T·σ_w)
        zq, wq = _periodic_z_rule(spec, x1, act.name, 1e-3 * math.sqrt(n) / (t_max * sw))
    else:
        zq, wq = _z_rule(spec, x1, (1e-10 if tabulated else 1e-4) * sd_z, hmax, p_off > 0)
    amp = sw * act.numpy_fn(zq, 0.0) / math.sqrt(n)

    def neuron(t):
        rows, out = max(1, _CHUNK // len(amp)), [np.zeros(0)]
        for i in range(0, len(t), rows):   # blocks of a few ms, each a cancellation point
            check_cancelled()
            out.append(characteristic_function(spec.prior, np.outer(t[i:i + rows], amp), spec.prior_dof) @ wq)
        return np.concatenate(out)

    t_lo = 2.0 / sd
    table = LogTable(neuron, t_lo, t_max) if tabulated else None

    def phi_rem(t):
        if table is None:
            c = neuron(t)
        else:
            c = np.empty_like(t)
            low = t <= t_lo
            c[low], c[~low] = neuron(t[low]), table(t[~low])
        bias = characteristic_function(spec.prior, sb * t, spec.prior_dof) if sb > 0 else 1.0
        return bias * ((p_off + c) ** n - p_off**n)

    return t_max, phi_rem, (None if tabulated else len(amp))


@dataclass(frozen=True)
class FourierPart:
    """The part of p(f) that is inverted: p_F(f) = (1/π)Σₖ wₖ cos(kδt·f) (a trapezoid in t, k = 0…K); the rest
    (the all-off spike; for relu × laplace/uniform the one-active law; for one neuron under laplace all of it)
    is added in f-space."""

    step: float
    weights: np.ndarray
    span: float         # the window ±span (the inversion's period is 3·span)
    variance: float
    spike_width: float  # the narrowest feature the grid must show (σ_b where a relu spike sits on 0)
    tail: float
    f_space: object = None   # f ↦ the part of p(f) written in f-space (besides the spike), or None
    features: tuple = ()     # f where a pure f-space p is steep (log-like): the grid is refined towards them
    peak_width: float = 0.0  # a pure f-space p's central peak (~σ_b): points every tenth of it over ±10 of it


def _validated(spec: NetworkSpec, x1) -> float:
    require_exact_scope(spec, "the exact output density", "output density")
    if spec.prior == "rademacher":
        raise SpecError("with a rademacher prior the output takes finitely many values: it has no density")
    x1 = float(as_points(x1, 1)[0, 0])
    if math.hypot(spec.sigma_w * x1, spec.sigma_b) == 0:
        raise SpecError("the pre-activation is identically 0 here (σ_w·x = σ_b = 0): f is a point mass")
    return x1


def fourier_part(spec: NetworkSpec, x1) -> FourierPart:
    """The weights of the inverted part of the density of f(x₁) (docs/physics.md §4.3); SpecError where the
    inversion would be inaccurate or too costly."""
    x1 = _validated(spec, x1)
    act = get_activation(spec.activation)
    n, sw, sb = spec.width, spec.sigma_w, spec.sigma_b
    sd_z = math.hypot(sw * x1, sb)
    relu = act.name == "relu"
    p_off = 0.5 if relu else 0.0                                     # P(z ≤ 0), z symmetric
    zq, wq = _z_rule(spec, x1, 1e-3 * sd_z, 0.1 * sd_z, relu)
    hq = act.numpy_fn(zq, 0.0)
    var = sb * sb + sw * sw * float(wq @ (hq * hq))
    sd = math.sqrt(var)
    heavy = spec.prior in ("laplace", "student-t")
    # A product a·h of two bulk variables has exponential tails at small N: widen the window there.
    span = (1.5 if heavy else 1.0) * (8.0 + 24.0 / math.sqrt(n)) * sd
    cones = density_relu.closed_form_applies(act.name, spec.prior, sw, sb)
    if spec.prior == "laplace" and act.name in _UNBOUNDED:   # a·φ(z), both laplace: P(|aφ| > y) ~ e^{−2√(y/(β_aβ_z))}
        span = max(span, density_relu.laplace_product_reach(x1, sw, sb, n))
    spike_width = sb if (sb > 0 and p_off > 0) else sd
    if n == 1 and spec.prior == "laplace" and sb > 0 and not cones and (act.name in _ZERO_ONLY_AT_ORIGIN
                                                                        or act.name in _PERIODIC_ZEROS):
        return FourierPart(step=min(0.25 / sd, 2 * math.pi / (3 * span)), weights=np.zeros(1), span=span,
                           variance=var, spike_width=spike_width, tail=0.0, f_space=_one_laplace_neuron(spec, x1))
    if n == 1 and spec.prior == "uniform" and sb > 0 and not relu:
        return FourierPart(step=min(0.25 / sd, 2 * math.pi / (3 * span)), weights=np.zeros(1), span=span,
                           variance=var, spike_width=spike_width, tail=0.0,
                           f_space=lambda f: density_uniform_neuron.one_uniform_neuron(
                               f, x1, sw, sb, act.name, lambda z: preactivation_density(spec, x1, z)),
                           features=density_uniform_neuron.features(x1, sw, sb, act.name))
    if n in (2, 3) and spec.prior == "laplace" and sb > 0 and act.name in _SUPER_EXPONENTIAL_ZERO:
        law = density_laplace_few.laplace_neurons(
            n, _laplace_z_edges(sd_z), lambda z: preactivation_density(spec, x1, z),
            lambda z: act.numpy_fn(z, 0.0), sw, sb, span)
        return FourierPart(step=min(0.25 / sd, 2 * math.pi / (3 * span)), weights=np.zeros(1), span=span,
                           variance=var, spike_width=spike_width, tail=0.0, f_space=law,
                           peak_width=sb)   # the peak: c's laplace cusp
    if n == 2 and spec.prior == "uniform" and sb > 0 and not relu:
        # the peak: where φ is tiny on much of z's support, f ≈ c + one term, a plateau of width ~√3σ_b
        return FourierPart(step=min(0.25 / sd, 2 * math.pi / (3 * span)), weights=np.zeros(1), span=span,
                           variance=var, spike_width=spike_width, tail=0.0, peak_width=sb,
                           f_space=lambda f: density_uniform_pair.two_uniform_neurons(
                               f, x1, sw, sb, act.name, lambda z: preactivation_density(spec, x1, z)))
    few = n <= density_relu_no_bias.MAX_WIDTH
    no_bias = relu and sb == 0 and spec.prior in density_relu_no_bias.PRIORS and (few or spec.prior != "gaussian")
    if no_bias and spec.prior == "gaussian":
        return FourierPart(step=min(0.25 / sd, 2 * math.pi / (3 * span)), weights=np.zeros(1), span=span,
                           variance=var, spike_width=spike_width, tail=0.0,
                           f_space=lambda f: density_relu_no_bias.f_space("gaussian", f, x1, sw, n))
    if no_bias:   # k ≤ 2 (uniform) or 4 (laplace, student-t) active neurons in f-space, the rest inverted
        t_max, phi_rem, nodes = 1e7 / sd, density_relu_no_bias.remainder(spec.prior, x1, sw, n, spec.prior_dof), None
    elif cones:   # the neuron's characteristic function in closed form: any T is cheap
        t_max, phi_rem, nodes = 1e7 / sd, _closed_form_remainder(spec, x1), None
    else:
        t_max, phi_rem, nodes = _quadrature_remainder(spec, x1, act, sd, sd_z, p_off)
    # Trapezoid in t (every term of a full-line sum): Σₖ δt Φ(kδt) e^{−ikδt f}/2π is exactly the density
    # periodized with period 2π/δt = 3·span (Poisson summation), so with the window holding the law its only
    # error is the cut at T — no finer rule is needed however slowly Φ decays.
    step = min(0.25 / sd, 2 * math.pi / (3 * span))
    probe = np.geomspace(step, t_max, 200)
    t_end, tail, beyond = _cut_off(probe, np.abs(phi_rem(probe)), _P_TOL / sd)
    if beyond * sd > 1e-6:
        raise SpecError(f"the characteristic function of f decays too slowly here (cutting it at T = {t_max:.3g} "
                        f"errs by {beyond:.1e} in the density) to invert on a grid: raise N or σ_b, or sample")
    if t_end / step > (_MAX_FOURIER if nodes else _MAX_FOURIER_CLOSED):
        raise SpecError(f"the exact density here needs {t_end / step:.0e} Fourier points (its characteristic "
                        "function decays slowly: a heavy-tailed prior at small N, or σ_b small against the spread "
                        "of f): too costly; raise N or σ_b, or sample")
    t = np.arange(int(math.ceil(t_end / step)) + 1) * step
    wt = np.full(len(t), step)
    wt[0] = 0.5 * step
    if nodes and len(t) * nodes * _TERM_COST.get(spec.prior, 1.0) > MAX_TERMS:
        raise SpecError(f"the exact density here needs a Fourier inversion of {len(t) * nodes:.0e} terms (the "
                        "characteristic function of f decays slowly: a heavy-tailed prior at small N, or a small "
                        "σ_b): too costly; sample instead, or raise N or σ_b")
    rows = max(1, _CHUNK // (nodes or 16))
    phi = np.concatenate([_checked(phi_rem, t[i:i + rows]) for i in range(0, len(t), rows)])
    f_space = None
    if no_bias and few:
        def f_space(f):
            return density_relu_no_bias.f_space(spec.prior, f, x1, sw, n, spec.prior_dof)
    elif cones:
        def f_space(f):
            return n * p_off ** (n - 1) * density_relu.one_active(spec.prior, f, x1, sw, sb, n,
                                                                   lambda z: preactivation_density(spec, x1, z))
    return FourierPart(step=step, weights=wt * phi, span=span, variance=var, spike_width=spike_width, tail=tail,
                       f_space=f_space)


def _refinement(features, df: float, span: float) -> np.ndarray:
    """Points graded geometrically (ratio 2, down to 1e-13 of δf) towards each feature from both sides, so the
    grid's trapezoid sums hold the mass of a log-steep feature (the plateau edge of one uniform neuron)."""
    steps = df * 2.0 ** -np.arange(1, 44)
    pts = np.concatenate([c + sign * steps for c in features for sign in (1.0, -1.0)] + [np.asarray(features)])
    return pts[np.abs(pts) <= span]


# The bias spike atom·p_b(f/σ_b)/σ_b on a grid fine enough that its trapezoid sum holds its mass: (reach in σ_b,
# points per σ_b). gaussian and student-t are analytic in a strip, so 8 per σ_b is spectrally exact; laplace's cusp
# at 0 leaves (√2h/σ_b)²/12 of the spike's mass (100 per σ_b: 1.7e-5; 300 took 0.5 s more on the CLT preset);
# uniform is flat between its edges ±√3σ_b, which become grid points from both sides. The window's grid (≥ span/40000) missed it: mass +5.5 % at laplace
# σ_b = 0.01, N = 1; −1.2 % under uniform (its edges between grid points).
_SPIKE_GRID = {"gaussian": (12.0, 8.0), "student-t": (40.0, 8.0), "laplace": (25.0, 100.0), "uniform": (2.0, 32.0)}
_MAX_SPIKE_FFT = 1 << 23
_EDGE_SIDE = 1e-13   # uniform: the edge points ±√3σ_b·(1 ± this), one on each side of the jump


def _fourier_at(part: FourierPart, f: np.ndarray) -> np.ndarray:
    """(1/π)Σₖ wₖ cos(kδt·f) at a few points, summed directly (0 where all of p is in f-space)."""
    if len(part.weights) <= 1:
        return np.zeros_like(f)
    t = np.arange(len(part.weights)) * part.step
    return np.array([np.cos(fi * t) @ part.weights for fi in f]) / math.pi


def _with_spike_grid(prior: str, part: FourierPart, sb: float, f: np.ndarray, p: np.ndarray):
    """(f, p) with the stretch |f| ≤ reach·σ_b replaced by a grid that resolves the bias spike, where the window's
    is too coarse; p there is the Fourier part (one FFT of the same weights on the finer spacing, at most
    _MAX_SPIKE_FFT bins, or a direct sum of few terms). Every value is the inversion's own."""
    reach, per_sd = _SPIKE_GRID[prior]
    h = sb / per_sd
    if h < f[1] - f[0]:
        if len(part.weights) * reach * per_sd > _MAX_SPIKE_FFT:
            h = max(h, 2 * math.pi / (part.step * _MAX_SPIKE_FFT))
            fine, p_fine = _on_uniform_grid(part.step, part.weights, reach * sb, h)
        else:
            fine = h * np.arange(-math.ceil(reach * per_sd), math.ceil(reach * per_sd) + 1)
            p_fine = _fourier_at(part, fine)
        outside = np.abs(f) > fine[-1]
        left, right = outside & (f < 0), outside & (f > 0)
        f, p = np.concatenate([f[left], fine, f[right]]), np.concatenate([p[left], p_fine, p[right]])
    if prior == "uniform":
        edges = SQRT3 * sb * np.array([-1 - _EDGE_SIDE, -1 + _EDGE_SIDE, 1 - _EDGE_SIDE, 1 + _EDGE_SIDE])
        order = np.argsort(np.concatenate([f, edges]), kind="stable")
        f, p = np.concatenate([f, edges])[order], np.concatenate([p, _fourier_at(part, edges)])[order]
    return f, p


def output_density(spec: NetworkSpec, x1, *, grid=None) -> OutputDensity:
    """Exact density of f(x₁) for a depth-1, i.i.d. ensemble at width spec.width (docs/physics.md §4.3)."""
    part = fourier_part(spec, x1)
    x1 = _validated(spec, x1)
    n, sw, sb = spec.width, spec.sigma_w, spec.sigma_b
    p_off = 0.5 if spec.activation == "relu" else 0.0
    if grid is None:   # a uniform grid fine enough for the spike (width σ_b) where there is one
        sd = math.sqrt(part.variance)
        df = max(min(sd / 60.0, part.spike_width / 10.0), part.span / _MAX_GRID)
        f, p = _on_uniform_grid(part.step, part.weights, part.span, df)
        if len(part.weights) == 1:   # all in f-space: the grid may take any points
            if part.features:
                f = np.union1d(f, _refinement(part.features, f[1] - f[0], part.span))
            if 0 < part.peak_width < 2 * (f[1] - f[0]):   # the window's grid cannot show the peak
                f = np.union1d(f, part.peak_width / 10 * np.arange(-100, 101))
            p = np.zeros_like(f)
        if p_off**n > 0 and sb > 0:
            f, p = _with_spike_grid(spec.prior, part, sb, f, p)
    else:
        t = np.arange(len(part.weights)) * part.step
        f, rows = np.asarray(grid, dtype=np.float64), max(1, _CHUNK // len(t))
        p = np.concatenate([_checked(lambda fi: np.cos(np.outer(fi, t)) @ part.weights, f[i:i + rows])
                            for i in range(0, len(f), rows)]) / math.pi
    if part.f_space is not None:
        p = p + part.f_space(f)
    atom = p_off**n
    if atom > 0 and sb > 0:
        p = p + atom * standardized_pdf(spec.prior, f / sb, spec.prior_dof) / sb
    neg = p < 0
    dfs = np.gradient(f) if len(f) > 1 else np.ones(1)
    clipped = float(-(p[neg] * dfs[neg]).sum())
    p = np.where(neg, 0.0, p)
    return OutputDensity(x=x1, width=n, f=f, p=p, atom_weight=float(atom), atom_in_p=sb > 0,
                         variance=part.variance, clipped_mass=clipped, tail=part.tail)
