"""Exact finite-N density of one depth-1 output f(x) (i.i.d. parameters), by one Fourier inversion
(docs/physics.md §4.3).

f = c + Σᵢ aᵢhᵢ is the readout bias plus N i.i.d. terms, aᵢ = (σ_w/√N)αᵢ, hᵢ = φ(zᵢ), so exactly

    E[e^{itf}] = ψ(σ_b t) · (E_z[ψ(t σ_w φ(z)/√N)])^N,      ψ = the standardized prior's characteristic function

(gaussian: e^{−s²/2}, so E_z[…] = E_h[e^{−t²σ_w²h²/(2N)}]). Only the one-dimensional law of the pre-activation
z = σ_w x u + σ_b v enters: its density is a closed-form convolution (gaussian, uniform: a trapezoid, laplace:
two exponentials) or one smooth integral (student-t).

Atoms: where φ(z) = 0 on a set of positive probability (relu: z ≤ 0, p_off = ½) a neuron contributes exactly 0,
so with probability p_off^N all of them do and f = c. That part is split off in closed form — p_off^N times the
bias density (a spike of width σ_b), or a true atom at 0 when σ_b = 0 — and only the remainder
ψ(σ_b t)·[(p_off + C(t))^N − p_off^N] is inverted, where the grid has to resolve nothing narrower than the bulk.
The characteristic function is real and even (every prior is symmetric), so p(f) = (1/π)∫₀^T Φ(t) cos(tf) dt by
composite Gauss–Legendre; T is where |Φ| has fallen below 1e-13 of its peak.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from ..activations import get_activation
from ..cancel import check_cancelled
from ..spec import NetworkSpec, SpecError, as_points
from . import student_t_cf
from .first_layer import SQRT3, composite_rule, graded_edges, standardized_pdf, tail_range

_P_TOL = 1e-11   # the density's error from cutting the inversion at T, times the standard deviation of f
_MAX_GRID = 40001
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
        from .first_layer import axis_rule
        v, wv = axis_rule(prior, 1.0, dof, growth=0.3, core=12.0)
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


def output_density(spec: NetworkSpec, x1, *, grid=None) -> OutputDensity:
    """Exact density of f(x₁) for a depth-1, i.i.d. ensemble at width spec.width (docs/physics.md §4.3)."""
    if spec.depth != 1:
        raise SpecError(f"the exact output density exists only for depth 1 (got depth {spec.depth})")
    if not spec.iid:
        raise SpecError("the exact output density needs i.i.d. parameters (independence 'none')")
    if spec.input_dim != 1:
        raise SpecError("the exact output density is implemented for 1-D inputs only")
    if spec.prior == "rademacher":
        raise SpecError("with a rademacher prior the output takes finitely many values: it has no density")
    x1 = float(as_points(x1, 1)[0, 0])
    act = get_activation(spec.activation)
    if act.exponential:
        raise SpecError("gauss-net's output density is not implemented (its normaliser depends on x)")
    n, sw, sb = spec.width, spec.sigma_w, spec.sigma_b
    sd_z = math.hypot(sw * x1, sb)
    if sd_z == 0:
        raise SpecError("the pre-activation is identically 0 here (σ_w·x = σ_b = 0): f is a point mass")
    relu = act.name == "relu"
    p_off = 0.5 if relu else 0.0                                     # P(z ≤ 0), z symmetric
    # Scales: variance of f, and the narrowest feature the grid must show (the spike of width σ_b).
    zq, wq = _z_rule(spec, x1, 1e-3 * sd_z, 0.1 * sd_z, relu)
    hq = act.numpy_fn(zq, 0.0)
    var = sb * sb + sw * sw * float(wq @ (hq * hq))
    sd = math.sqrt(var)
    heavy = spec.prior in ("laplace", "student-t")
    # A product a·h of two bulk variables has exponential tails at small N: widen the window there.
    span = (1.5 if heavy else 1.0) * (8.0 + 24.0 / math.sqrt(n)) * sd
    # Cut-off T: the bias' characteristic function (if it decays) or the bulk's. Where ψ(t·amp(z)) does not
    # oscillate in z (a non-oscillating ψ, and φ vanishing only at z = 0, where the z-rule is graded) its
    # features at any t are resolved by the graded rule: the bulk needs no finer pieces and T may be large
    # (heavy-tailed priors at small N decay like a power of t). Otherwise the pieces resolve ψ's period at T.
    calm = spec.prior in ("gaussian", "laplace", "student-t") and act.name in _ZERO_ONLY_AT_ORIGIN
    t_max = 8.3 / sb if (sb > 0 and spec.prior == "gaussian") else (1e4 if calm else 300.0) / sd
    hmax = None if calm else min(0.1 * sd_z, 1.5 * 2 * math.pi * math.sqrt(n) / (t_max * sw * 1.2 + 1e-300))
    zq, wq = _z_rule(spec, x1, 1e-4 * sd_z, hmax, relu)
    hq = act.numpy_fn(zq, 0.0)
    amp = sw * hq / math.sqrt(n)

    def phi_rem(t):
        c = characteristic_function(spec.prior, np.outer(t, amp), spec.prior_dof) @ wq
        bias = characteristic_function(spec.prior, sb * t, spec.prior_dof) if sb > 0 else 1.0
        return bias * ((p_off + c) ** n - p_off**n)

    # Trapezoid in t (every term of a full-line sum): Σₖ δt Φ(kδt) e^{−ikδt f}/2π is exactly the density
    # periodized with period 2π/δt = 3·span (Poisson summation), so with the window holding the law its only
    # error is the cut at T — no finer rule is needed however slowly Φ decays.
    step = min(0.25 / sd, 2 * math.pi / (3 * span))
    probe = np.geomspace(step, t_max, 200)
    t_end, tail, beyond = _cut_off(probe, np.abs(phi_rem(probe)), _P_TOL / sd)
    if beyond * sd > 1e-6:
        raise SpecError(f"the characteristic function of f decays too slowly here (cutting it at T = {t_max:.3g} "
                        f"errs by {beyond:.1e} in the density) to invert on a grid: raise N or σ_b, or sample")
    if t_end / step > 200000:
        raise SpecError("the output density here needs too fine a Fourier grid (σ_b too small for the spread "
                        "of f): increase σ_b or sample")
    t = np.arange(int(math.ceil(t_end / step)) + 1) * step
    wt = np.full(len(t), step)
    wt[0] = 0.5 * step
    if len(t) * len(amp) * _TERM_COST.get(spec.prior, 1.0) > MAX_TERMS:
        raise SpecError(f"the exact density here needs a Fourier inversion of {len(t) * len(amp):.0e} terms (the "
                        "characteristic function of f decays slowly: a heavy-tailed prior at small N, or a small "
                        "σ_b): too costly; sample instead, or raise N or σ_b")
    rows = max(1, _CHUNK // len(amp))
    phi = np.concatenate([_checked(phi_rem, t[i:i + rows]) for i in range(0, len(t), rows)])
    weights = wt * phi
    if grid is None:   # a uniform grid fine enough for the spike (width σ_b) where there is one
        spike_width = sb if (sb > 0 and p_off > 0) else sd
        f, p = _on_uniform_grid(step, weights, span, max(min(sd / 60.0, spike_width / 10.0), span / _MAX_GRID))
    else:
        f, rows = np.asarray(grid, dtype=np.float64), max(1, _CHUNK // len(t))
        p = np.concatenate([_checked(lambda fi: np.cos(np.outer(fi, t)) @ weights, f[i:i + rows])
                            for i in range(0, len(f), rows)]) / math.pi
    atom = p_off**n
    if atom > 0 and sb > 0:
        p = p + atom * standardized_pdf(spec.prior, f / sb, spec.prior_dof) / sb
    neg = p < 0
    dfs = np.gradient(f) if len(f) > 1 else np.ones(1)
    clipped = float(-(p[neg] * dfs[neg]).sum())
    p = np.where(neg, 0.0, p)
    return OutputDensity(x=x1, width=n, f=f, p=p, atom_weight=float(atom), atom_in_p=sb > 0, variance=var,
                         clipped_mass=clipped, tail=tail)
