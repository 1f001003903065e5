"""First-layer pair moments under laplace and student-t priors as Gaussian scale mixtures (docs/physics.md §4.2).

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
from ..spec import NetworkSpec
from .pair_reduction import coefficient_vectors, distinct_points

STEP = 0.5            # trapezoid step in t: 0.5 leaves ~1e-14 (0.7: 4e-10, 0.9: 1e-7), laplace, m = 3
LOG_TOL = 34.0        # nodes whose weight is below e^{−LOG_TOL} of the largest are dropped (and the box ends):
                      # 34 leaves 1.7e-13 on relu × laplace at m = 4 (41: 2e-14, 30: 7e-12) with 3.2·10⁵ nodes
_BLOCK = 1 << 20      # (nodes × pairs) elements per block (~8 MB per work array)
CUT_TOL = 25.0        # a cut box still leaves ~e^{−rate·L}: rate·L ≥ 25 measured ≤ 1e-11 (student-t ν = 5, k = 4)
BOX_BUDGET = 1.2e7    # grid points of the box before pruning (~4 s to build); beyond, the box is cut (less accurate)
_GAUSS_REACH = 24.0    # student-t: the weight's bulk is ~1/√ν wide in t; 24/√ν of it leaves ≤ 5e-13 (ν = 15…200)


def box_reach(prior: str, dof: float, m: int, degree: int) -> tuple[float, bool]:
    """(half-width L of the box in t, whether it is the full LOG_TOL/rate): student-t moments close to
    divergence (k → ν) decay slowly and would need a box beyond BOX_BUDGET."""
    rate = max(decay_rate(prior, dof, degree), 1e-9)
    cap = 0.5 * step_for(prior, dof) * BOX_BUDGET ** (1.0 / max(m - 1, 1))
    reach = min(max(LOG_TOL / rate, _GAUSS_REACH / math.sqrt(dof) if prior == "student-t" else 0.0), cap)
    return reach, rate * reach >= CUT_TOL


def decay_rate(prior: str, dof: float, degree: int) -> float:
    """Slowest rate r of the decay e^{−r|t|} of the simplex weight towards the boundary, which sets the box:
    laplace 1 (Π θ_l); student-t ν/2 − k/2 (towards a vertex, where the other m − 1 scales vanish together:
    the moment's distance from divergence; towards faces it decays faster)."""
    return 1.0 if prior == "laplace" else dof / 2 - degree / 2


def _log_weights(prior: str, dof: float, m: int, degree: int, log_theta: np.ndarray) -> np.ndarray:
    """log of the simplex weight (radial integral and dθ = Π θ_l dt included, step not)."""
    log_w = log_theta.sum(1)
    if prior == "laplace":
        return log_w + special.gammaln(m + degree / 2)
    if prior == "student-t":
        a, beta = dof / 2, (dof - 2) / 2
        s = m * a - degree / 2
        log_s_sum = math.log(beta) + _logsumexp(-log_theta)
        return log_w + (m * (a * math.log(beta) - special.gammaln(a)) - (a + 1) * log_theta.sum(1)
                        + special.gammaln(s) - s * log_s_sum)
    raise ValueError(f"no scale mixture for the {prior!r} prior")


def _logsumexp(t: np.ndarray) -> np.ndarray:
    """log Σ_l e^{t_l} along the rows (scipy's is ~4× slower on these small rows)."""
    top = t.max(1)
    return top + np.log(np.exp(t - top[:, None]).sum(1))


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
    reach = box_reach(prior, dof, m, degree)[0]
    step = step_for(prior, dof)
    t1 = np.arange(-reach, reach + step / 2, step)
    rest = np.meshgrid(*([t1] * (m - 2)), indexing="ij")
    rest = np.stack([g.ravel() for g in rest], axis=1) if m > 2 else np.zeros((1, 0))
    thetas, logs = [], []
    for v in t1:
        check_cancelled()
        t = np.concatenate([np.zeros((len(rest), 1)), np.full((len(rest), 1), v), rest], axis=1)
        log_theta = t - _logsumexp(t)[:, None]
        lw = _log_weights(prior, dof, m, degree, log_theta)
        keep = lw > -LOG_TOL - 20.0          # a first cut (the peak is above e^{-13}); the final one is relative
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
    rest = np.where(k11 * k22 > 0, np.pi - np.arctan2(root, k12), np.pi / 2)   # π − θ; θ = π/2 at a zero-variance
    # point, as the arc-cosine kernel takes it (docs/physics.md §3)
    two_pi = 2 * np.pi
    if degree == (0, 0):
        return rest / two_pi
    if degree == (1, 1):
        return (root + k12 * rest) / two_pi
    if degree == (2, 2):
        return (rest * (k11 * k22 + 2 * k12 * k12) + 3 * k12 * root) / two_pi
    if degree == (1, 3):
        k11, k22 = k22, k11
    if degree in ((3, 1), (1, 3)):
        # polar coordinates: (1/2π)·8·∫ cos³t cos(t − θ) dt over the wedge
        #   = k₁₁^{3/2} k₂₂^{1/2} [3ρ(π − θ) + sin θ (ρ² + 2)] / 2π
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(k22 > 0, k12 * k12 / np.where(k22 > 0, k22, 1.0), 0.0)
        return (3 * k11 * k12 * rest + root * (ratio + 2 * k11)) / two_pi
    raise ValueError(degree)


def relu_pair_moments(prior: str, dof: float, a: np.ndarray, i: np.ndarray, j: np.ndarray,
                      degree: tuple[int, int]) -> np.ndarray:
    """E[relu(z_i)^p relu(z_j)^q] for point pairs (i, j) (index arrays), z_k = a[k]·u with u the standardized
    live parameters (a (P, m)); degree (p, q); (p, 0) gives the one-point moments E[relu(z_i)^p]."""
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
        if degree[1] == 0 and degree[0] > 0:   # one point: E[relu(u)^p] = 2^{p/2} Γ((p+1)/2)/(2√π) · C₁₁^{p/2}
            p = degree[0]
            g = 2 ** (p / 2) * math.gamma((p + 1) / 2) / (2 * math.sqrt(math.pi)) * k11 ** (p / 2)
        else:
            g = _relu_gauss(k11, k22, k12, det, degree)
        out[s] = w @ g
    return out


def live_coefficients(spec: NetworkSpec, x: np.ndarray) -> np.ndarray:
    """a_k restricted to the live parameters (nonzero scale): z(x_k) = a_k·u, (P, m)."""
    a = coefficient_vectors(spec, x)
    return a[:, np.abs(a).sum(0) > 0] if len(a) else a


def live_parameters(spec: NetworkSpec) -> int:
    return spec.input_dim * (spec.sigma_w > 0) + (spec.sigma_b > 0)


def supported(spec: NetworkSpec) -> bool:
    """relu at d > 1 under laplace with more than three live parameters, or student-t with three or more (fewer:
    the cubed-sphere and polar rules of `first_layer`, which keeps three-point tuples; the sphere's grading
    towards the face centres misses student-t's degree-k moments next to divergence, E[h⁴] by 4e-6 at ν = 6 and
    36 % at ν = 4.1, where the mixture reaches 1e-13). Callers take `relu_polytope` first where it applies."""
    live = live_parameters(spec)
    return (spec.activation == "relu" and spec.input_dim > 1
            and ((spec.prior == "laplace" and live > 3) or (spec.prior == "student-t" and live >= 3)))


def full_accuracy(spec: NetworkSpec, degrees: tuple[int, ...]) -> bool:
    """Whether the moments of these homogeneity degrees get the full box (student-t near divergence may not;
    a moment that diverges, k ≥ ν, is reported as inf and needs none)."""
    m = live_parameters(spec)
    return all(box_reach(spec.prior, spec.prior_dof, m, k)[1] for k in degrees
               if not (spec.prior == "student-t" and spec.prior_dof <= k))


def relu_first_layer(spec: NetworkSpec, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E[relu(z_i)relu(z_j)], E[θ(z_i)θ(z_j)]) (P, P)."""
    a = live_coefficients(spec, x)
    i, j = np.triu_indices(len(a))
    out = []
    for degree in ((1, 1), (0, 0)):
        m = np.empty((len(a), len(a)))
        m[i, j] = m[j, i] = relu_pair_moments(spec.prior, spec.prior_dof, a, i, j, degree)
        out.append(m)
    return out[0], out[1]


class MixtureMoments:
    """The moment arrays of `neuron_moments.NeuronMoments` for relu under laplace / student-t priors with more
    than three live parameters, pair by pair through the scale mixture."""

    def __init__(self, spec: NetworkSpec, x: np.ndarray):
        self.prior, self.dof = spec.prior, spec.prior_dof
        self.a = live_coefficients(spec, x)

    def _pairs(self, degree: tuple[int, int], symmetric: bool) -> np.ndarray:
        p = len(self.a)
        i, j = np.triu_indices(p) if symmetric else np.indices((p, p)).reshape(2, -1)
        out = np.empty((p, p))
        out[i, j] = relu_pair_moments(self.prior, self.dof, self.a, i, j, degree)
        if symmetric:
            out[j, i] = out[i, j]
        return out

    def h2(self) -> np.ndarray:
        return self._pairs((1, 1), True)

    def h4_pair(self) -> np.ndarray:
        return self._pairs((2, 2), True)

    def h31_pair(self) -> np.ndarray:
        return self._pairs((3, 1), False)

    def h6(self) -> np.ndarray:
        i = np.arange(len(self.a))
        return relu_pair_moments(self.prior, self.dof, self.a, i, i, (6, 0))

    def h_tuple(self, idx: tuple[int, ...]) -> float | None:
        """E[h(x_{i1}) … h(x_{ik})] for one point, or two with powers (1, 1), (2, 2), (3, 1); else None."""
        pts = distinct_points(self.a, idx)
        if len(pts) == 1:
            degree = (len(idx), 0)
        elif len(pts) == 2 and tuple(sorted(pts.values())) in ((1, 1), (2, 2), (1, 3)):
            degree = tuple(pts.values())
        else:
            return None
        i, j = list(pts)[0], list(pts)[-1]
        return float(relu_pair_moments(self.prior, self.dof, self.a, np.array([i]), np.array([j]), degree)[0])



# ---- smooth φ with a closed-form Gaussian pair (erf): one more, radial, dimension ----------------------------------

def erf_supported(spec: NetworkSpec) -> bool:
    """erf at d > 1 under laplace / student-t with at most three live parameters (the rule is m-dimensional)."""
    return (spec.activation == "erf" and spec.input_dim > 1 and spec.prior in ("laplace", "student-t")
            and live_parameters(spec) <= 3)


def _radial_rule(alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(x, w) for ∫₀^∞ x^{α−1}e^{−x} g(x) dx / Γ(α): trapezoid in s = log x (g(x) = G(xC) is analytic in s for
    |Im s| < π, e^{−x} caps the strip below π/2; the weight narrows like 1/√α). Measured on erf × laplace,
    d = 2, σ_w = 3: step 0.4 leaves 3e-8, 0.3 3e-11, 0.2 agrees with 0.1 to 1e-15."""
    step = min(0.2, 0.6 / math.sqrt(alpha))
    s = np.arange(-LOG_TOL / alpha, math.log(LOG_TOL + 20.0 * math.sqrt(alpha) + alpha), step)
    logw = alpha * s - np.exp(s) - special.gammaln(alpha) + math.log(step)
    keep = logw > logw.max() - LOG_TOL
    return np.exp(s[keep]), np.exp(logw[keep])


def _erf_gauss(k11, k22, k12, det):
    """(E[erf(u)erf(v)], E[erf′(u)erf′(v)]) (Williams' arcsin form and its k₁₂-derivative; (1 + 2k₁₁)(1 + 2k₂₂) −
    4k₁₂² = 1 + 2(k₁₁ + k₂₂) + 4 det, free of cancellation)."""
    p, q = 1 + 2 * k11, 1 + 2 * k22
    return (2 / np.pi) * np.arcsin(2 * k12 / np.sqrt(p * q)), (4 / np.pi) / np.sqrt(1 + 2 * (k11 + k22) + 4 * det)


def inverse_gamma_rule(dof: float, step: float = 0.2, log_tol: float = LOG_TOL) -> tuple[np.ndarray, np.ndarray]:
    """(V, w) for E[g(V)], V ~ InvGamma(ν/2, (ν−2)/2) (a standardized student-t is √V·Z): trapezoid in s = log V,
    whose weight β^a e^{−as − βe^{−s}}/Γ(a) is analytic for |Im s| < π/2 and ~1/√a wide; g(V) = G(V·C) is
    analytic there too. `step` (at most 0.6/√a) and `log_tol` (nodes below e^{−log_tol} of the largest weight are
    dropped) set the accuracy."""
    al, beta = dof / 2, (dof - 2) / 2
    step = min(step, 0.6 / math.sqrt(al))
    peak, width = math.log(beta / al), 1.0 / math.sqrt(al)   # the weight falls double-exponentially below its peak,
    s = np.arange(peak - 12.0 * width - 4.0, peak + (log_tol + 5.0) * width + log_tol / al, step)   # like e^{−as} above
    logw = al * math.log(beta) - al * s - beta * np.exp(-s) - special.gammaln(al) + math.log(step)
    keep = logw > logw.max() - log_tol
    return np.exp(s[keep]), np.exp(logw[keep])


def erf_first_layer(spec: NetworkSpec, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E[erf(z_i)erf(z_j)], E[erf′erf′]) (P, P) under laplace / student-t. laplace: V = Rθ, the simplex rule in θ
    times a radial rule (R ~ Gamma(m) given θ, §4.2); student-t: a tensor product of the inverse-gamma rule over
    the m scales (the simplex split's θ-weight Π θ^{−a−1}S^{−ma} sharpens like 1/√ν, which its fixed simplex rule
    did not resolve: 3e-6 at ν = 20, 9 % at ν = 100)."""
    a = live_coefficients(spec, x)
    p, m = a.shape
    if spec.prior == "laplace":
        theta, w = simplex_rule("laplace", 6.0, m, 0)      # Γ(m)·Π θ_l·step^{m−1}: dθ up to Γ(m)
        rad, rw = _radial_rule(m)
        scale = np.outer(np.ones(len(theta)), rad)        # R = x
    else:
        v1, w1 = inverse_gamma_rule(spec.prior_dof)
        theta = np.stack([g.ravel() for g in np.meshgrid(*[v1] * m, indexing="ij")], axis=1)
        w = np.prod(np.stack([g.ravel() for g in np.meshgrid(*[w1] * m, indexing="ij")], axis=1), axis=1)
        keep = w > w.max() * math.exp(-LOG_TOL)            # the corners, where several scales are far out
        theta, w = theta[keep], w[keep]
        scale, rw = np.ones((len(theta), 1)), np.ones(1)
    i, j = np.triu_indices(p)
    e_phi, e_dphi = np.empty((p, p)), np.empty((p, p))
    l, n = np.triu_indices(m, 1)
    tt = theta[:, l] * theta[:, n]
    for pair in range(len(i)):
        check_cancelled()
        ai, aj = a[i[pair]], a[j[pair]]
        c11, c22, c12 = theta @ ai**2, theta @ aj**2, theta @ (ai * aj)
        det = tt @ (ai[l] * aj[n] - ai[n] * aj[l]) ** 2
        f, g = _erf_gauss(c11[:, None] * scale, c22[:, None] * scale, c12[:, None] * scale,
                          det[:, None] * scale**2)
        e_phi[i[pair], j[pair]] = e_phi[j[pair], i[pair]] = w @ (f @ rw)
        e_dphi[i[pair], j[pair]] = e_dphi[j[pair], i[pair]] = w @ (g @ rw)
    return e_phi, e_dphi
