"""Infinite-width signal propagation and the edge of chaos (docs/physics.md §9).

Single input: the pre-activation variance maps as q ↦ σ_b² + σ_w²⟨φ²⟩_q, with fixed point q* (Poole et al.
2016). Its slope there is χ∥ = σ_w²⟨φ′² + φφ″⟩_{q*} (= σ_w² d⟨φ²⟩/dq by Price's theorem); the slope of the
correlation map at c = 1 is χ⊥ = σ_w²⟨φ′²⟩_{q*}. χ⊥ < 1 is the ordered phase (inputs' correlation flows to 1),
χ⊥ > 1 the chaotic one; the edge of chaos χ⊥ = 1 is where the deep 1/N corrections of §8 grow only
polynomially with depth (Roberts–Yaida criticality). The correlation depth is ξ_c = −1/ln χ_c with
χ_c = σ_w²⟨φ′(u₁)φ′(u₂)⟩ at the correlation fixed point c* (Schoenholz et al. 2017); it diverges at χ_c = 1.

relu at σ_b = 0 is scale invariant: every q is a fixed point at σ_w = √2, and the reported q* is the one
reached from the input variance q⁰ (default 1). With σ_b > 0 relu's q* diverges as σ_w → √2 (reported inf).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..activations import Activation, get_activation
from ..spec import NetworkSpec, SpecError, as_points, layer_variances
from .gauss_moments import diag_moments
from .kernels import gaussian_layer
from .quadrature import gaussian_expectation

if TYPE_CHECKING:
    from scipy import interpolate

Q_DIVERGED = 1e10   # a variance beyond this is reported as a divergent fixed point (inf)
_ITERATIONS = 150
_NEWTON = 40
_HOMOGENEOUS = ("relu", "linear")
_TABLE_LOW, _TABLE_POINTS = 1e-8, 640   # the ⟨φ²⟩(q) spline's range and nodes (`_phi2_table`)


@dataclass(frozen=True)
class CriticalPoint:
    """Signal-propagation quantities at (σ_w, σ_b): fixed point q*, χ⊥, χ∥, correlation fixed point c* and
    correlation depth ξ_c (inf at the edge of chaos)."""

    activation: str
    sigma_w: float
    sigma_b: float
    q_star: float
    chi_perp: float
    chi_parallel: float
    c_star: float
    correlation_depth: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PhaseDiagram:
    """χ⊥ and q* on a grid: arrays of shape (len(sigma_b), len(sigma_w))."""

    sigma_w: np.ndarray
    sigma_b: np.ndarray
    chi_perp: np.ndarray
    q_star: np.ndarray


def _act(activation) -> Activation:
    act = activation if isinstance(activation, Activation) else get_activation(str(activation))
    if act.needs_variance:
        raise SpecError(f"criticality is not defined for {act.name}: its φ is normalised by the layer's own "
                        "variance, so the variance map has no fixed-point structure to tune")
    return act


def _phi2(act: Activation, q: np.ndarray) -> np.ndarray:
    """⟨φ²⟩ at variance q, elementwise (closed form at ρ = 1, else 1-D Gauss–Hermite)."""
    if act.closed_form:
        return np.asarray(gaussian_layer(act, q, q, q)[0], dtype=np.float64)
    return gaussian_expectation(lambda z, _q: act.numpy_fn(z, 0.0) ** 2, q, n=160)


def _dphi2(act: Activation, q: np.ndarray) -> np.ndarray:
    """⟨φ′²⟩ at variance q (its q → 0⁺ limit at q = 0: relu's ½, not the θ = π/2 convention of §3)."""
    q = np.maximum(q, 1e-150)  # relu's √(k11·k22) must not underflow to 0
    if act.closed_form:
        return np.asarray(gaussian_layer(act, q, q, q)[1], dtype=np.float64)
    return gaussian_expectation(lambda z, _q: act.numpy_grad(z, 0.0) ** 2, q, n=160)


@functools.lru_cache(maxsize=16)
def _phi2_table(act: Activation) -> tuple[interpolate.CubicSpline, float]:
    """⟨φ²⟩ as a cubic spline in s = ln q from _TABLE_LOW up to Q_DIVERGED (or to where the closed form stops
    being finite: sin's e^{−q}·sinh q), and the top of that range. The spline drives the fixed-point
    iteration at the cost of a polynomial evaluation; Newton then polishes with the exact map. ⟨φ²⟩ is
    analytic in s, and 640 nodes (step 0.06) interpolate it to ~1e-8 relative — only the start of the exact
    Newton steps depends on that."""
    from scipy import interpolate   # here, not at import: it loads scipy.optimize (~0.2 s of the app's start-up)
    s = np.linspace(math.log(_TABLE_LOW), math.log(Q_DIVERGED), _TABLE_POINTS)
    q = np.exp(s)
    q[[0, -1]] = _TABLE_LOW, Q_DIVERGED
    with np.errstate(over="ignore", invalid="ignore"):
        m = _phi2(act, q)
    top = int(np.argmin(np.isfinite(m))) if not np.isfinite(m).all() else len(m)
    return interpolate.CubicSpline(s[:top], m[:top]), float(q[top - 1])


def _phi2_fast(act: Activation, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(⟨φ²⟩, d⟨φ²⟩/dq) at q ≤ Q_DIVERGED: from the table (exact outside its range, e.g. where q decays
    towards 0), but exactly for the homogeneous relu and linear, whose map F(q) = σ_w²q/2 + σ_b² must keep
    every q a fixed point at σ_w = √2, σ_b = 0 (the spline of a power of e^s is not exact)."""
    if act.name in _HOMOGENEOUS:
        return _phi2(act, q), diag_moments(act, q).dm
    table, top = _phi2_table(act)
    inside = (q >= _TABLE_LOW) & (q <= top)
    s = np.log(np.where(inside, q, _TABLE_LOW))
    m, dm = table(s), table(s, 1) / np.where(inside, q, 1.0)
    if not inside.all():
        m[~inside] = _phi2(act, q[~inside])
        dm[~inside] = diag_moments(act, q[~inside]).dm
    return m, dm


def _fixed_points(act: Activation, sw, sb, q0=1.0) -> np.ndarray:
    """q* for arrays of (σ_w, σ_b), reached from q⁰: plain iteration (always moves towards the stable fixed
    point), then Newton on F(q) − q with F′ = σ_w² d⟨φ²⟩/dq to finish where χ∥ ≈ 1 makes iteration slow.

    Iterating a phase diagram's grid with quadrature is slow (most points converge in a few steps, the
    χ∥ ≈ 1 band needs many), so the iteration runs on `_phi2_fast`, on the points still moving only; Newton
    then takes F exact (its slope from the table: the steps converge to the exact root either way), and
    points Newton does not apply to (F′ ≈ 1) get exact plain steps, as before (docs/physics.md §9.1)."""
    sw2, sb2 = np.broadcast_arrays(np.asarray(sw, dtype=np.float64) ** 2, np.asarray(sb, dtype=np.float64) ** 2)
    shape = sw2.shape
    sw2, sb2 = sw2.ravel(), sb2.ravel()
    q = np.full(sw2.shape, float(q0))

    def iterate(idx: np.ndarray, steps: int, exact: bool) -> None:
        for _ in range(steps):
            if not idx.size:
                return
            old = np.minimum(q[idx], Q_DIVERGED)
            phi2 = _phi2(act, old) if exact else _phi2_fast(act, old)[0]
            new = np.minimum(sb2[idx] + sw2[idx] * phi2, 10 * Q_DIVERGED)
            moved = ~((np.abs(new - q[idx]) <= 1e-14 * np.maximum(q[idx], 1.0)) | (new >= Q_DIVERGED))
            q[idx] = new
            idx = idx[moved]

    with np.errstate(over="ignore", invalid="ignore"):
        iterate(np.arange(q.size), _ITERATIONS, exact=act.name in _HOMOGENEOUS)
        idx = np.flatnonzero(q < Q_DIVERGED)
        polished = np.zeros(q.size, dtype=bool)
        for _ in range(_NEWTON):
            qi, a2, b2 = q[idx], sw2[idx], sb2[idx]
            f = b2 + a2 * _phi2(act, qi)
            slope = a2 * _phi2_fast(act, qi)[1] - 1.0
            # Newton only towards a stable fixed point (F′ < 1); it would also find unstable ones (q = 0).
            ok = (slope < -1e-9) & (np.abs(f - qi) > 1e-15 * np.maximum(qi, 1.0))
            polished[idx[~ok & (slope < -1e-9)]] = True
            step = np.where(ok, -(f - qi) / np.where(ok, slope, 1.0), 0.0)
            q[idx] = np.where(ok & (qi + step >= 0), qi + step, np.where(ok, f, qi))
            idx = idx[ok]
            if not idx.size:
                break
        if act.name not in _HOMOGENEOUS:
            iterate(np.flatnonzero(~polished & (q < Q_DIVERGED)), _ITERATIONS, exact=True)
        # Still growing after all that (no stable fixed point above q⁰): q diverges. A slow decay towards
        # q* = 0 at χ∥ = 1 (tanh at σ_b = 0, σ_w = 1) keeps its last iterate.
        growth = sb2 + sw2 * _phi2(act, np.minimum(q, Q_DIVERGED)) - q
    q = np.where((q >= Q_DIVERGED) | ~(growth <= 1e-9 * np.maximum(q, 1.0)), np.inf, q)
    return q.reshape(shape)


def fixed_point(activation, sigma_w: float, sigma_b: float, q0: float = 1.0) -> float:
    """Stable fixed point q* of the single-input variance map reached from q⁰ (inf if q grows without bound)."""
    return float(_fixed_points(_act(activation), sigma_w, sigma_b, q0))


def _chi_perp(act: Activation, sw: float, q: float) -> float:
    # ⟨φ′²⟩ at a divergent q*: evaluate far out (scale-free for relu; the asymptote for relu-like φ).
    return float(sw**2 * _dphi2(act, np.asarray(min(q, Q_DIVERGED))))


def critical_sigma_w(activation, sigma_b: float, q0: float = 1.0) -> float:
    """σ_w at which χ⊥ = 1 for this σ_b (Brent's method on σ_w ↦ χ⊥(σ_w, q*(σ_w)) − 1)."""
    act = _act(activation)
    if act.name == "relu":  # χ⊥ = σ_w²/2 at every q
        return math.sqrt(2.0)

    def f(sw: float) -> float:
        return _chi_perp(act, sw, float(_fixed_points(act, sw, sigma_b, q0))) - 1.0

    lo, hi = 1e-3, 1.0
    while f(hi) < 0:
        lo, hi = hi, 2 * hi
        if hi > 1e3:
            raise SpecError(f"{act.name} has no edge of chaos at sigma_b = {sigma_b:g} (χ⊥ < 1 up to σ_w = 1000)")
    if f(lo) > 0:
        raise SpecError(f"{act.name} is chaotic at every σ_w for sigma_b = {sigma_b:g}")
    from scipy import optimize   # here, not at import: ~0.2 s CPU of the app's start-up for one root find

    sw = float(optimize.brentq(f, lo, hi, xtol=1e-13, rtol=1e-13))
    if abs(f(sw)) > 1e-6:  # relu-like φ: χ⊥ jumps across 1 where q* starts to diverge
        raise SpecError(f"{act.name} has no finite edge of chaos at sigma_b = {sigma_b:g}: χ⊥ jumps across 1 "
                        f"near sigma_w = {sw:.6g}, where the fixed point q* diverges")
    return sw


def _correlation_map(act: Activation, sw: float, sb: float, q: float, c: float) -> float:
    e = gaussian_layer(act, np.array([q]), np.array([q]), np.array([c * q]))[0][0]
    return float((sb**2 + sw**2 * e) / q)


def criticality(activation, sigma_b: float, sigma_w: float | None = None, q0: float = 1.0) -> CriticalPoint:
    """Everything at (σ_w, σ_b); σ_w defaults to the critical one, where ξ_c = inf."""
    act = _act(activation)
    sw = critical_sigma_w(act, sigma_b, q0) if sigma_w is None else float(sigma_w)
    q = fixed_point(act, sw, sigma_b, q0)
    chi_perp = _chi_perp(act, sw, q)
    chi_par = float(sw**2 * diag_moments(act, np.asarray(min(q, Q_DIVERGED))).dm)
    if act.name == "relu":  # φφ″ = relu·δ = 0: both slopes are σ_w²/2 exactly
        chi_perp = chi_par = sw**2 / 2
    c = 1.0
    if chi_perp > 1.0 + 1e-9 and 0 < q < Q_DIVERGED:  # chaotic: c = 1 is unstable, find the stable c* < 1
        c = 0.5
        for _ in range(2000):
            c_new = min(1.0, max(-1.0, _correlation_map(act, sw, sigma_b, q, c)))
            if abs(c_new - c) < 1e-14:
                break
            c = c_new
    qe = min(q, Q_DIVERGED)
    chi_c = chi_perp if c == 1.0 else float(sw**2 * gaussian_layer(act, np.array([qe]), np.array([qe]),
                                                                    np.array([c * qe]))[1][0])
    if abs(chi_c - 1.0) < 1e-9 or chi_c >= 1.0:
        xi = math.inf
    else:
        xi = -1.0 / math.log(chi_c) if chi_c > 0 else 0.0
    return CriticalPoint(act.name, sw, float(sigma_b), q, float(chi_perp), float(chi_par), float(c), float(xi))


def correlation_flow(spec: NetworkSpec, x1, x2) -> np.ndarray:
    """Infinite-width correlation c^(ℓ) = K₁₂/√(K₁₁K₂₂) of two inputs at layers 1 … depth+1 (the readout)."""
    pts = as_points(np.concatenate([as_points(x1, spec.input_dim), as_points(x2, spec.input_dim)]),
                    spec.input_dim)
    act = get_activation(spec.activation)
    sw2, sb2 = spec.sigma_w**2, spec.sigma_b**2
    k11, k22, k12 = (sw2 * float(pts[i] @ pts[j]) / spec.input_dim + sb2 for i, j in ((0, 0), (1, 1), (0, 1)))
    qs = layer_variances(spec, pts)
    out = []
    for layer in range(spec.depth + 1):
        out.append(k12 / math.sqrt(k11 * k22) if k11 * k22 > 0 else 1.0)
        if layer == spec.depth:
            break
        q = np.broadcast_to(np.asarray(qs[layer], dtype=np.float64), (2,))
        e = gaussian_layer(act, np.array([k11, k22, k11]), np.array([k11, k22, k22]), np.array([k11, k22, k12]),
                           np.array([q[0], q[1], q[0]]), np.array([q[0], q[1], q[1]]))[0]
        k11, k22, k12 = (sb2 + sw2 * float(v) for v in e)
    return np.asarray(out)


def phase_diagram(activation, sw_grid, sb_grid, q0: float = 1.0) -> PhaseDiagram:
    """χ⊥ = σ_w²⟨φ′²⟩_{q*} on the grid (rows: σ_b, columns: σ_w), all fixed points solved at once."""
    act = _act(activation)
    sw = np.asarray(sw_grid, dtype=np.float64)
    sb = np.asarray(sb_grid, dtype=np.float64)
    SW, SB = np.meshgrid(sw, sb)
    q = _fixed_points(act, SW, SB, q0)
    chi = SW**2 * _dphi2(act, np.minimum(q, Q_DIVERGED))
    return PhaseDiagram(sigma_w=sw, sigma_b=sb, chi_perp=chi, q_star=q)
