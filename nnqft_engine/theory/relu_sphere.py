"""relu first-layer rule for three live parameters (d = 2 with a bias, d = 3 without) (docs/physics.md §4.2).

relu is positively homogeneous, so in spherical coordinates u = r·ω (u the standardized live parameters, ω on the
unit sphere S²) an integrand of homogeneity degree k factorizes: relu(a·u) = r·relu(a·ω), and

    E[Π relu(a_k·u)] = ∫_{S²} Π relu(a_k·ω) R_k(ω) dΩ,   R_k(ω) = ∫₀^∞ r^{k+2} Π_i p(r ω_i) dr

(closed form for gaussian, laplace, uniform; a double-exponential rule for student-t). The sphere is covered by
the six faces of the cube (the "cubed sphere"): on the face where coordinate j has sign σ, ω ∝ e = (y₁, y₂)
with e_j = σ, |y| ≤ 1, dΩ = dy/(1 + |y|²)^{3/2}. This gnomonic chart maps great circles to straight lines, so
every kink a_k·ω = 0 and the laplace prior's kinks ω_i = 0 are lines on the face square (uniform's kinks,
where max|ω_i| switches, are the cube's edges). A nested Gauss–Legendre rule split along all these lines (the
outer coordinate at every crossing, the inner one at every line) integrates a function analytic on every cell:
~1e-13 where a tensor rule in (w, b) misses relu's NTK by 1e-2 at d = 2.

Cost grows with the number of lines (points): the outer splits are O(P²). The kernels build one rule per pair.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..gauss_rules import legendre_rule
from ..priors import standardized_pdf

SQRT3 = math.sqrt(3.0)
_L = 10                          # Legendre nodes per cell side
_T_STEP = 0.075                  # exp-sinh step for student-t's R_k (0.15 leaves 1e-9)
_BASE_CUTS = np.zeros(1)         # the Jacobian's poles at |y|² = −1: cells ≤ 1 wide reach ~1e-13
# student-t: R_k(ω) ~ |ω − axis|^{ν−k−2} near an axis (a face centre), so cells are graded geometrically towards
# it, more levels as ν → 4: ν ≥ 6 with 2 levels reaches ~4e-11 (1 level: 7e-10), ν = 4.5 with 7 levels 9e-11.


def _t_grading(dof: float) -> np.ndarray:
    levels = 2 if dof >= 6 else min(7, 2 + math.ceil(5 * (6 - dof) / 1.5))
    g = 2.0 ** -np.arange(2, 2 + levels)
    return np.concatenate([g, -g])


def _radial_moments(prior: str, omega: np.ndarray, dof: float, max_degree: int) -> np.ndarray:
    """R_k(ω) = ∫₀^∞ r^{k+m−1} Π_i p(r ω_i) dr for k = 0…max_degree, ω (Q, m) unit vectors: (max_degree+1, Q)."""
    m = omega.shape[1]
    k = np.arange(max_degree + 1)[:, None]
    a = np.abs(omega)
    if prior == "gaussian":
        r = (2 * math.pi) ** (-m / 2) * 2.0 ** ((k + m) / 2 - 1) * special.gamma((k + m) / 2)
        return np.broadcast_to(r, (len(k), len(omega)))
    if prior == "laplace":   # Π p = 2^{−m/2} e^{−√2 r Σ|ω_i|}
        lam = math.sqrt(2.0) * a.sum(1)
        return 2.0 ** (-m / 2) * special.factorial(k + m - 1) / lam ** (k + m)
    if prior == "uniform":   # (2√3)^{−m} on the cube |u_i| ≤ √3
        rmax = SQRT3 / a.max(1)
        return rmax ** (k + m) / ((k + m) * (2 * SQRT3) ** m)
    if prior == "student-t":  # exp-sinh rule r = e^{(π/2) sinh t}: algebraic tails decay double-exponentially
        # r ≤ e^{28.7} keeps r^8 finite; the tail beyond is < 1e-24 for every moment that exists.
        t = np.arange(-4.5, 3.6, _T_STEP)
        log_r = 0.5 * math.pi * np.sinh(t)
        log_jac = np.log(_T_STEP * 0.5 * math.pi * np.cosh(t)) + m * log_r      # dr · r^{m−1}
        c2 = dof / (dof - 2.0)    # standardized u = T/√c2, T ~ t_ν
        log_norm = special.gammaln((dof + 1) / 2) - special.gammaln(dof / 2) - 0.5 * math.log(dof * math.pi)
        powers = np.exp(np.outer(k[:, 0], log_r))                                 # r^k, (max_degree+1, radial)
        jac = np.exp(log_jac + m * (log_norm + 0.5 * math.log(c2)))
        r2 = np.exp(2 * log_r)
        out = np.empty((max_degree + 1, len(omega)))
        for lo in range(0, len(omega), 4096):   # (radial × block) work arrays stay small
            om2 = omega[lo:lo + 4096] ** 2 * (c2 / dof)
            prod = 1.0 + r2[:, None] * om2[None, :, 0]
            for i in range(1, m):
                prod *= 1.0 + r2[:, None] * om2[None, :, i]
            out[:, lo:lo + 4096] = (powers * jac) @ prod ** (-0.5 * (dof + 1))
        return out
    raise ValueError(f"unknown prior {prior!r}")


def _square_rule(lines: np.ndarray, cuts: np.ndarray, n: int = _L) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nested Gauss–Legendre (n nodes per cell side) on [−1, 1]² split along lines α y₁ + β y₂ = γ (rows of
    `lines`) and at the fixed coordinates `cuts` (both axes): (y₁, y₂, weight)."""
    g, gw = legendre_rule(n)
    alpha, beta, gamma = lines.T if len(lines) else (np.zeros(0),) * 3
    # Outer breakpoints: every y₁ where the inner cell structure changes.
    pts = [np.array([-1.0, 1.0]), cuts]
    vertical = np.abs(beta) < 1e-14 * (np.abs(alpha) + 1e-300)
    pts.append(gamma[vertical] / alpha[vertical])
    slanted = ~vertical & (np.abs(alpha) > 0)
    for y2 in np.concatenate([[-1.0, 1.0], cuts]):               # a line crossing an edge or a fixed cut
        pts.append((gamma[slanted] - beta[slanted] * y2) / alpha[slanted])
    i, j = np.triu_indices(len(lines), 1)
    det = alpha[i] * beta[j] - alpha[j] * beta[i]
    ok = np.abs(det) > 1e-14
    pts.append((gamma[i] * beta[j] - gamma[j] * beta[i])[ok] / det[ok])
    edges = np.unique(np.clip(np.concatenate(pts), -1.0, 1.0))
    lo, hi = edges[:-1], edges[1:]
    half = 0.5 * (hi - lo)
    y1 = ((0.5 * (hi + lo))[:, None] + half[:, None] * g).ravel()
    w1 = (half[:, None] * gw).ravel()
    # Inner breakpoints per outer node.
    inner = [np.broadcast_to(np.concatenate([[-1.0, 1.0], cuts]), (len(y1), 2 + len(cuts)))]
    nz = ~vertical
    if nz.any():
        inner.append(np.clip((gamma[nz][None, :] - alpha[nz][None, :] * y1[:, None]) / beta[nz][None, :], -1, 1))
    e2 = np.sort(np.concatenate(inner, axis=1), axis=1)
    lo2, hi2 = e2[:, :-1], e2[:, 1:]
    half2 = 0.5 * (hi2 - lo2)
    y2 = (0.5 * (hi2 + lo2))[..., None] + half2[..., None] * g          # (n1, pieces, L)
    w = w1[:, None, None] * half2[..., None] * gw
    keep = (w > 0).ravel()
    return np.broadcast_to(y1[:, None, None], y2.shape).ravel()[keep], y2.ravel()[keep], w.ravel()[keep]


def sphere_directions(prior: str, coeffs: np.ndarray, dof: float, n: int = _L,
                      grading: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(ω (Q, 3) unit vectors, dΩ weights (Q,)): the cubed sphere split along every plane coeffs[k]·ω = 0, the
    prior's kinks and (student-t) graded towards the face centres (relu's grading, or the face coordinates
    `grading`); n Legendre nodes per cell side."""
    nodes, wts = [], []
    if grading is None:
        grading = _t_grading(dof) if prior == "student-t" else np.zeros(0)
    cuts = np.concatenate([_BASE_CUTS, grading])
    for j in range(3):
        o1, o2 = [i for i in range(3) if i != j]
        for sign in (-1.0, 1.0):
            # a·e = 0 on this face: a[o1] y₁ + a[o2] y₂ = −σ a[j]
            lines = np.stack([coeffs[:, o1], coeffs[:, o2], -sign * coeffs[:, j]], axis=1)
            lines = lines[np.abs(lines[:, 0]) + np.abs(lines[:, 1]) > 0]
            y1, y2, w = _square_rule(lines, cuts, n)
            e = np.empty((len(y1), 3))
            e[:, j], e[:, o1], e[:, o2] = sign, y1, y2
            norm = np.sqrt(1.0 + y1 * y1 + y2 * y2)
            nodes.append(e / norm[:, None])
            wts.append(w / norm**3)
    return np.concatenate(nodes), np.concatenate(wts)


def sphere_rule(prior: str, coeffs: np.ndarray, scales: np.ndarray, dof: float,
                max_degree: int) -> tuple[np.ndarray, np.ndarray]:
    """(nodes scales·ω (Q, 3), weights (max_degree+1, Q)) for relu integrands of degree k ≤ max_degree over three
    live standardized parameters u with z_k = coeffs[k]·u (P, 3); the caller embeds the nodes in (w…, b)."""
    omega, w = sphere_directions(prior, coeffs, dof)
    return omega * scales, w * _radial_moments(prior, omega, dof, max_degree)
