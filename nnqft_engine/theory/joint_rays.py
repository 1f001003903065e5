"""The joint density of (f(x₁) + ε₁, f(x₂) + ε₂) from the characteristic function on rays, by filtered
back-projection (docs/physics.md §4.6), for activations whose neuron characteristic function C is computed
one ray at a time (`neuron_cf.RayCF`).

In polar coordinates t = r(cos θ, sin θ) the 2-D inversion is, with Φ real and even,

    p(f) = (1/2π²) ∫₀^π Q_θ(θ̂·f) dθ,      Q_θ(ξ) = ∫₀^∞ r Φ(rθ̂) cos(rξ) dr,

Φ(rθ̂) = e^{−σ_b²r²(cos θ + sin θ)²/2} · C(rθ̂)^N · e^{−r²(h₁²cos²θ + h₂²sin²θ)/2} (bias, neurons, smoothing).
The θ-integrand is periodic and smooth, so the trapezoid rule converges geometrically once the number of
angles exceeds half its bandwidth r·|f|; the r-integral is composite Gauss–Legendre up to where Φ has fallen
below 1e-13 (a pilot on a few rays finds that radius: at large N, C^N decays long before the smoothing does).
Q_θ is tabulated on a fine ξ-grid with one matrix product for all rays and read off at the projections θ̂·f
by cubic interpolation. No Cartesian frequency grid, so no aliasing and no period to choose.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..cancel import cancel_scope, check_cancelled, installed_check
from ..gauss_rules import legendre_rule
from ..spec import SpecError
from ..threads import choose_threads

_L_R = 12               # Legendre nodes per r-piece
_PHI_TOL = 1e-13        # r·|Φ| below this is left out
# Terms of one density (rays × (u-nodes × z-nodes + 0.3 × u-nodes × Chebyshev nodes; student-t's readout: 0.6)),
# computed rays only (x₂ = −x₁: one of each mirror pair): 1e7 took 0.4–0.7 s on
# this machine (2 shared cores, one thread). INTERACTIVE_WORK (~2 s) is what the Outputs view computes between
# sample chunks; up to MAX_WORK it computes after the sample (softplus × uniform at N = 1 on the app's grid, 2.1e8,
# took 13 s on two shared cores; sin at N = 1, σ_w = 1.5, σ_b = 0.1, x = (1, −0.5), 2.4e8, 7.9 s); beyond, refused.
INTERACTIVE_WORK = 3e7
MAX_WORK = 2.5e8
TERMS_PER_SECOND = 2e7     # on two shared cores (1.4e7–3.3e7 measured, by ray type): for the view's estimate
_THETA_FACTOR = 0.3      # rays per unit of r_max·|f|max (measured: 1e-9 of the peak against 0.9, erf N = 2)
_XI_STEP = 0.2          # ξ-grid step in units of 1/r_max (cubic interpolation: 7e-10 of the peak against 0.05)


class OverBudget(SpecError):
    """The inversion would need `cost` terms, more than the budget it was given."""

    def __init__(self, message: str, cost: float):
        super().__init__(message)
        self.cost = cost


def _r_rule(r_max: float, omega: float) -> tuple[np.ndarray, np.ndarray]:
    pieces = max(1, int(math.ceil(r_max * omega / 8.0)))          # ωΔ ≤ 8: Legendre-12 error ~ 1e-10
    edges = np.linspace(0.0, r_max, pieces + 1)
    g, gw = legendre_rule(_L_R)
    half = 0.5 * np.diff(edges)
    r = ((0.5 * (edges[1:] + edges[:-1]))[:, None] + half[:, None] * g).ravel()
    return r, (half[:, None] * gw).ravel()


def _chebyshev_interpolation(r_max: float, m: int, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chebyshev nodes (first kind) on [0, r_max] and the barycentric matrix taking values there to values at r."""
    k = np.arange(m)
    x = np.cos(math.pi * (k + 0.5) / m)
    nodes = 0.5 * r_max * (x + 1.0)
    w = (-1.0) ** k * np.sin(math.pi * (k + 0.5) / m)
    diff = r[:, None] - nodes[None, :]
    exact = np.abs(diff) < 1e-300
    diff[exact] = 1.0
    mat = w / diff
    mat /= mat.sum(axis=1, keepdims=True)
    hit = exact.any(axis=1)
    mat[hit] = exact[hit].astype(float)
    return nodes, mat


def _cubic(table: np.ndarray, step: float, xi: np.ndarray) -> np.ndarray:
    """4-point Lagrange interpolation of an even function tabulated at 0, step, 2·step, … (|ξ| used)."""
    x = np.abs(xi) / step
    i = np.clip(np.floor(x).astype(np.int64), 1, len(table) - 3)
    d = x - i
    pad = table                                   # table[-1] is never needed: i ≥ 1
    p0, p1, p2, p3 = pad[i - 1], pad[i], pad[i + 1], pad[i + 2]
    return (-d * (d - 1) * (d - 2) / 6 * p0 + (d + 1) * (d - 1) * (d - 2) / 2 * p1
            - (d + 1) * d * (d - 2) / 2 * p2 + (d + 1) * d * (d - 1) / 6 * p3)


def backprojected(ray_cf: Callable[[float, float], Callable[[np.ndarray], np.ndarray]], n: int, sigma_b: float,
                  smooth: tuple[float, float], f1: np.ndarray, f2: np.ndarray, bandwidth: float,
                  box: tuple[float, float] | None = None, pilot_rays: int = 12,
                  bias_cf: Callable[[np.ndarray], np.ndarray] | None = None,
                  pilot_r_max: float = math.inf, min_chebyshev: int = 48,
                  max_work: float = MAX_WORK, exchangeable: bool = False) -> tuple[np.ndarray, dict]:
    """p on the grid f1 × f2. `ray_cf(θ, r_max)` returns r ↦ C(r(cos θ, sin θ)); `bandwidth` bounds the
    r-frequency of C (s·max|U_θ|). With box = (w₁, w₂), p is averaged over the w₁×w₂ rectangle around each
    point (Φ times the box's characteristic function sinc(t₁w₁/2)·sinc(t₂w₂/2)). `bias_cf(v)`: the readout
    bias's characteristic function at v = t₁ + t₂ (default gaussian, e^{−σ_b²v²/2}). `pilot_r_max`: the radius up
    to which `ray_cf` is trustworthy; if Φ has not died out by then, SpecError. Over `max_work` terms: OverBudget.
    `exchangeable`: (φ(z₁), φ(z₂)) has the law of (φ(z₂), φ(z₁)) (x₂ = −x₁ and a prior symmetric in w), so
    C(r, θ) = C(r, π/2 − θ): an even number of rays, of which only one of each mirror pair is computed.
    Big work builds its rays on two threads (numpy releases the GIL; each ray lands in its own column, so the
    result does not depend on the thread count); `ray_cf` must be safe to call from several threads after its
    first call."""
    h1, h2 = smooth
    gauss_b = sigma_b if bias_cf is None else 0.0          # a gaussian bias joins the smoothing's quadratic form
    quad = np.array([[h1 * h1 + gauss_b**2, gauss_b**2], [gauss_b**2, h2 * h2 + gauss_b**2]])
    r_cap = math.sqrt(2 * math.log(1.0 / _PHI_TOL)) / math.sqrt(np.linalg.eigvalsh(quad)[0])

    def damping(theta, r):
        c, s = math.cos(theta), math.sin(theta)
        out = np.exp(-0.5 * r * r * (c * c * quad[0, 0] + 2 * c * s * quad[0, 1] + s * s * quad[1, 1]))
        return out if bias_cf is None else out * bias_cf(r * (c + s))

    # Pilot: where does r·|Φ| fall below the tolerance for good?
    r_probe = min(r_cap, pilot_r_max)
    probe = np.linspace(0.0, r_probe, 97)[1:]
    r_eff = 0.0
    seen, cdf_terms, kernel_terms = 0.0, 0.0, 0.0
    for theta in (np.arange(pilot_rays) + 0.5) * math.pi / pilot_rays:
        check_cancelled()
        ray = ray_cf(theta, r_probe)
        seen = max(seen, getattr(ray, "bandwidth", bandwidth))
        cdf_terms += getattr(ray, "work", 0) / pilot_rays
        # C(r) costs `kernel_cost` terms per u-node and radius (0.3: a gaussian readout's exp; student-t's table: 0.6)
        kernel_terms += getattr(ray, "kernel_cost", 0.3) * len(getattr(ray, "u", ())) / pilot_rays
        big = np.nonzero(probe * np.abs(ray(probe)) ** n * np.abs(damping(theta, probe)) > _PHI_TOL)[0]
        if len(big):
            r_eff = max(r_eff, probe[min(big[-1] + 1, len(probe) - 1)])
    bandwidth = min(bandwidth, 1.25 * seen)   # the rays' own: where the law of U_θ really ends
    if r_probe < r_cap and r_eff >= probe[-1]:
        raise SpecError("the characteristic function decays too slowly here for the rule that computes it")
    r_eff = min(r_probe, 1.25 * r_eff + 1e-300)
    fmax = math.hypot(np.abs(f1).max(), np.abs(f2).max())
    n_theta = int(math.ceil(_THETA_FACTOR * r_eff * fmax)) + 24
    computed = np.arange(n_theta)
    if exchangeable:   # θ_j = jπ/n and π/2 − θ_j ≡ θ_{(n/2 − j) mod n} (mod π, where C is even) for n even
        n_theta += n_theta % 2
        j = np.arange(n_theta)
        computed = np.minimum(j, (n_theta // 2 - j) % n_theta)
    thetas = np.arange(n_theta) * math.pi / n_theta
    own, column_of = np.unique(computed, return_inverse=True)
    n_cheb = int(0.8 * r_eff * bandwidth) + min_chebyshev
    cost = len(own) * (cdf_terms + n_cheb * kernel_terms)   # per ray: its CDF terms, then C(r) at the Chebyshev nodes
    if cost > max_work:
        raise OverBudget(f"the exact joint density here needs ~{cost:.1e} terms ({len(own)} rays: its "
                         f"characteristic function decays slowly at this N), over the budget of {max_work:.0e} "
                         f"(~{max_work / TERMS_PER_SECOND:.0f} s): raise N", cost)
    r, wr = _r_rule(r_eff, fmax + bandwidth)
    # C is smooth in r (its frequencies are ≤ `bandwidth`): computed at Chebyshev nodes, interpolated to r.
    r_cheb, to_r = _chebyshev_interpolation(r_eff, n_cheb, r)
    c_cheb = _ray_columns(lambda theta: ray_cf(theta, r_eff)(r_cheb), thetas[own], choose_threads(int(cost)))
    c_cheb = c_cheb[:, column_of]
    damp = np.stack([damping(theta, r) for theta in thetas], axis=1)
    weights = (wr * r)[:, None] * (to_r @ c_cheb) ** n * damp
    if box is not None:
        t1, t2 = np.outer(r, np.cos(thetas)), np.outer(r, np.sin(thetas))
        weights *= np.sinc(t1 * box[0] / (2 * math.pi)) * np.sinc(t2 * box[1] / (2 * math.pi))
    step = _XI_STEP / r_eff
    xi = np.arange(int(math.ceil(fmax / step)) + 4) * step
    q = np.cos(np.outer(xi, r)) @ weights                         # Q_θ(ξ) for every ray at once
    check_cancelled()
    F1, F2 = np.meshgrid(f1, f2, indexing="ij")
    p = np.zeros_like(F1)
    for j, theta in enumerate(thetas):
        p += _cubic(q[:, j], step, math.cos(theta) * F1 + math.sin(theta) * F2)
    p *= 1.0 / (2 * math.pi**2) * (math.pi / n_theta)
    return p, {"rays": n_theta, "computed_rays": len(own), "r_max": r_eff, "r_nodes": len(r), "chebyshev": len(r_cheb), "xi": len(xi)}


def _ray_columns(column: Callable[[float], np.ndarray], thetas: np.ndarray, workers: int) -> np.ndarray:
    """column(θ) for every θ, stacked as columns: the first here, the rest on `workers` threads, each under this
    thread's cancellation check (a newer request stops them all)."""
    check_cancelled()
    first = column(thetas[0])
    out = np.empty((len(first), len(thetas)))
    out[:, 0] = first
    check = installed_check() or (lambda: False)

    def job(j: int) -> np.ndarray:
        with cancel_scope(check):
            check_cancelled()
            return column(thetas[j])

    if workers <= 1:
        for j in range(1, len(thetas)):
            out[:, j] = job(j)
        return out
    pool = ThreadPoolExecutor(workers)
    try:
        for j, col in enumerate(pool.map(job, range(1, len(thetas))), start=1):
            out[:, j] = col
    finally:   # on an error or a cancellation, rays not yet started are dropped
        pool.shutdown(wait=True, cancel_futures=True)
    return out
