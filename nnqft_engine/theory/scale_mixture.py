"""First-layer pair moments under laplace and student-t priors as Gaussian scale mixtures (docs/physics.md §4.2.1).

A standardized laplace parameter is α = √V·Z with V ~ Exp(1), a standardized student-t one α = √V·Z with
V ~ InvGamma(ν/2, (ν−2)/2) (Z ~ N(0, 1), E V = 1 in both). Given the scales V ∈ R₊^m of the m live parameters,
(z_i, z_j) = (a_i·u, a_j·u) is bivariate Gaussian with

    C(V) = Σ_l V_l b_l b_lᵀ,   b_l = (a_i[l], a_j[l]),   det C = Σ_{l<n} V_l V_n (b_l × b_n)²  (Cauchy–Binet),

so every two-point moment is E_V[G(C(V))] with G the Gaussian moment (relu: arc-cosine forms, §3).

relu is positively homogeneous: G(λC) = λ^{k/2} G(C) for a moment of degree k. With V = Rθ, R = Σ V_l and θ on
the simplex Δ, dV = R^{m−1} dR dθ, the radial integral is closed form:

    laplace    E = Γ(m + k/2) ∫_Δ G(C(θ)) dθ
    student-t  E = ∫_Δ G(C(θ)) c^m Γ(s) Π θ_l^{−a−1} (β Σ 1/θ_l)^{−s} dθ,  a = ν/2, β = (ν−2)/2, s = ma − k/2,
               c = β^a/Γ(a)

G is analytic on Δ except where det C → 0 (vertices, or edges whose b's are parallel) and the student-t weight
is algebraic at the boundary; on softmax coordinates θ_l ∝ e^{t_l} (t₀ = 0, dθ = Π θ_l dt) those points move to
infinity, where every such power of θ decays exponentially, and the trapezoid rule on t ∈ R^{m−1} converges
geometrically (Trefethen & Weideman 2014).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special

from ..cancel import check_cancelled

STEP = 0.5            # trapezoid step in t: 0.5 leaves ~1e-14 (0.7: 4e-10, 0.9: 1e-7), laplace, m = 3
LOG_TOL = 41.0        # nodes whose weight is below e^{−LOG_TOL} of the largest are dropped (and the box ends)
_BLOCK = 1 << 22      # (nodes × pairs) elements per block


def decay_rate(prior: str, dof: float, degree: int) -> float:
    """Rate r of the exponential decay e^{−r|t|} of the simplex weight towards the boundary (1 for laplace;
    student-t: min(1, ν/2 − k/2), the moment's distance from divergence), which sets the box."""
    return 1.0 if prior == "laplace" else min(1.0, dof / 2 - degree / 2)


def _log_weights(prior: str, dof: float, m: int, degree: int, log_theta: np.ndarray) -> np.ndarray:
    """log of the simplex weight (radial integral and dθ = Π θ_l dt included, step not)."""
    log_w = log_theta.sum(1)
    if prior == "laplace":
        return log_w + special.gammaln(m + degree / 2)
    if prior == "student-t":
        a, beta = dof / 2, (dof - 2) / 2
        s = m * a - degree / 2
        log_s_sum = math.log(beta) + special.logsumexp(-log_theta, axis=1)
        return log_w + (m * (a * math.log(beta) - special.gammaln(a)) - (a + 1) * log_theta.sum(1)
                        + special.gammaln(s) - s * log_s_sum)
    raise ValueError(f"no scale mixture for the {prior!r} prior")


def step_for(prior: str, dof: float) -> float:
    """The student-t weight narrows like 1/√ν in t (sum of m log-inverse-gamma densities): step 1/√ν keeps the
    normalisation at ~1e-13 for ν = 5…200 (0.5 at ν = 20 leaves 7e-6)."""
    return STEP if prior == "laplace" else min(STEP, 1.0 / math.sqrt(dof))


def simplex_rule(prior: str, dof: float, m: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """(θ (Q, m), weights (Q,)) for moments of homogeneity degree `degree` (laplace: one rule, rescaled)."""
    if prior == "laplace":
        theta, w = _simplex_rule(prior, dof, m, 0)
        return theta, w * math.exp(special.gammaln(m + degree / 2) - special.gammaln(m))
    return _simplex_rule(prior, dof, m, degree)


@lru_cache(maxsize=16)
def _simplex_rule(prior: str, dof: float, m: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """(θ (Q, m), weights (Q,)) on softmax coordinates t ∈ [−L, L]^{m−1} (t₀ = 0), L = LOG_TOL/rate, built slab
    by slab in t₁ and pruned as it goes; weights for moments of homogeneity degree `degree`."""
    reach = LOG_TOL / decay_rate(prior, dof, degree)
    step = step_for(prior, dof)
    t1 = np.arange(-reach, reach + step / 2, step)
    rest = np.meshgrid(*([t1] * (m - 2)), indexing="ij")
    rest = np.stack([g.ravel() for g in rest], axis=1) if m > 2 else np.zeros((1, 0))
    thetas, logs = [], []
    for v in t1:
        check_cancelled()
        t = np.concatenate([np.zeros((len(rest), 1)), np.full((len(rest), 1), v), rest], axis=1)
        log_theta = t - special.logsumexp(t, axis=1, keepdims=True)
        lw = _log_weights(prior, dof, m, degree, log_theta)
        keep = lw > -LOG_TOL - 10.0          # a first cut; the final one is relative to the peak
        thetas.append(log_theta[keep])
        logs.append(lw[keep])
    log_theta, lw = np.concatenate(thetas), np.concatenate(logs)
    keep = lw > lw.max() - LOG_TOL
    theta, w = np.exp(log_theta[keep]), np.exp(lw[keep] + (m - 1) * math.log(step))
    for arr in (theta, w):
        arr.flags.writeable = False
    return theta, w


def _relu_gauss(k11, k22, k12, det, degree: tuple[int, int]) -> np.ndarray:
    """E[relu(u)^p relu(v)^q] over the bivariate Gaussian (arc-cosine forms, Cho–Saul J_n; angle from atan2 so
    nearly parallel pairs keep their accuracy)."""
    root = np.sqrt(np.maximum(det, 0.0))
    rest = np.pi - np.arctan2(root, k12)          # π − θ
    two_pi = 2 * np.pi
    if degree == (0, 0):
        return rest / two_pi
    if degree == (1, 1):
        return (root + k12 * rest) / two_pi
    if degree == (2, 2):
        return (rest * (k11 * k22 + 2 * k12 * k12) + 3 * k12 * root) / two_pi
    if degree in ((3, 1), (1, 3)):
        from .gauss_moments import _relu_powers

        return _relu_powers(k11.ravel(), k22.ravel(), k12.ravel())[degree].reshape(k11.shape)
    raise ValueError(degree)


def relu_pair_moments(prior: str, dof: float, a: np.ndarray, i: np.ndarray, j: np.ndarray,
                      degree: tuple[int, int]) -> np.ndarray:
    """E[relu(z_i)^p relu(z_j)^q] for point pairs (i, j) (index arrays), z_k = a[k]·u with u the standardized
    live parameters (a (P, m)); degree (p, q); (p, 0), p even, gives the one-point moments E[relu(z_i)^p]."""
    m = a.shape[1]
    k = sum(degree)
    if prior == "student-t" and dof <= k:
        return np.full(len(i), np.inf)     # E[α^k] diverges
    theta, w = simplex_rule(prior, float(dof), m, k)
    ai, aj = a[i], a[j]
    l, n = np.triu_indices(m, 1)
    cross2 = (ai[:, l] * aj[:, n] - ai[:, n] * aj[:, l]) ** 2                # (pairs, m(m−1)/2)
    tt = theta[:, l] * theta[:, n]
    out = np.empty(len(i))
    step = max(1, _BLOCK // len(theta))
    for lo in range(0, len(i), step):
        check_cancelled()
        s = slice(lo, lo + step)
        k11, k22, k12 = theta @ (ai[s] ** 2).T, theta @ (aj[s] ** 2).T, theta @ (ai[s] * aj[s]).T
        det = tt @ cross2[s].T
        if degree[1] == 0:          # one point: E[relu(u)^p] = ½ (p−1)!! C₁₁^{p/2}, p even
            g = 0.5 * math.prod(range(1, degree[0], 2)) * k11 ** (degree[0] // 2)
        else:
            g = _relu_gauss(k11, k22, k12, det, degree)
        out[s] = w @ g
    return out
