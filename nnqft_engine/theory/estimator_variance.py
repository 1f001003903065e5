"""Exact sampling variance of the ensemble estimators at depth 1 (docs/physics.md §4.5).

The estimators of `sampling.statistics` are smooth functions g(r̄₁, …, r̄_K) of the sample means
r̄_k = (1/M)Σ f^k at one point. By the delta method their variance over independent ensembles of M networks is

    Var ĝ = (1/M) ∇gᵀ Σ ∇g,     Σ_jk = E[f^{j+k}] − E[f^j]E[f^k]      (j, k = 1…K)

(the quantity the delete-one-group jackknife estimates from the sample). It needs the moments of f up to
order 2K: 4 for G2, 8 for G4c and the kurtosis, 12 for G6c. At depth 1 (i.i.d. neurons) those are exact:
f = c + Σᵢ aᵢhᵢ is a sum of independent terms, so its cumulants are N·κ_k[a h] + κ_k[c], with
E[(a h)^k] = (σ_w/√N)^k μ_k E[h^k] and E[c^k] = σ_b^k μ_k. Where a needed moment diverges (student-t
with ν ≤ 2K, gauss-net with a heavy-tailed prior) the variance is reported as inf: no finite error exists.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..priors import moment
from ..spec import NetworkSpec, as_points
from .neuron_moments import NeuronMoments

# Highest power of f each estimator is a function of (so moments up to twice that enter its variance).
ORDER = {"g2": 2, "g4c_diag": 4, "kurtosis": 4, "g6c_diag": 6}
MAX_MOMENT = 12


def available(spec: NetworkSpec) -> bool:
    """Whether exact estimator variances exist for this spec (depth 1, independent neurons)."""
    return spec.depth == 1 and spec.iid


def _neuron_powers(spec: NetworkSpec, pts: np.ndarray, kmax: int) -> np.ndarray:
    """E[h(x_p)^k] for k = 0…kmax (even k only are used), shape (kmax+1, P); NaN where no rule reaches k.
    A neuron's moments do not depend on the width: cached per spec at width 1, so moving the width slider
    does not repeat the quadrature."""
    return _neuron_powers_cached(spec.replace(width=1), tuple(map(tuple, np.asarray(pts))), kmax).copy()


@lru_cache(maxsize=32)
def _neuron_powers_cached(spec: NetworkSpec, pts: tuple, kmax: int) -> np.ndarray:
    pts = np.array(pts, dtype=np.float64)
    nm = NeuronMoments(spec, pts)
    out = np.full((kmax + 1, len(pts)), np.nan)
    out[0] = 1.0
    for k in range(2, kmax + 1, 2):
        for p in range(len(pts)):
            try:
                out[k, p] = nm.h_tuple((p,) * k)
            except IndexError:   # a homogeneous (relu) rule carries weights only up to its MAX_DEGREE
                pass
    return out


def _cumulants_from_moments(m: np.ndarray) -> np.ndarray:
    """κ_1…κ_K from raw moments m[0…K] (m[0] = 1) along axis 0."""
    kmax = m.shape[0] - 1
    k = np.zeros_like(m)
    for n in range(1, kmax + 1):
        acc = m[n].copy()
        for j in range(1, n):
            acc = acc - math.comb(n - 1, j - 1) * k[j] * m[n - j]
        k[n] = acc
    return k


def _moments_from_cumulants(k: np.ndarray) -> np.ndarray:
    kmax = k.shape[0] - 1
    m = np.zeros_like(k)
    m[0] = 1.0
    for n in range(1, kmax + 1):
        acc = np.zeros_like(k[0])
        for j in range(1, n + 1):
            acc = acc + math.comb(n - 1, j - 1) * k[j] * m[n - j]
        m[n] = acc
    return m


def output_moments(spec: NetworkSpec, x, kmax: int = MAX_MOMENT) -> np.ndarray:
    """Exact raw moments E[f(x_p)^k], k = 0…kmax, shape (kmax+1, P): inf where one diverges, NaN where the
    quadrature cannot give it."""
    pts = as_points(x, spec.input_dim)
    n = spec.width
    mu = np.array([moment(spec.prior, k, spec.prior_dof) if k else 1.0 for k in range(kmax + 1)])
    h = _neuron_powers(spec, pts, kmax)
    ks = np.arange(kmax + 1)[:, None]
    with np.errstate(invalid="ignore", over="ignore"):
        one = (spec.sigma_w / math.sqrt(n)) ** ks * mu[:, None] * h          # E[(a h)^k]
        one[1::2] = 0.0
        bias = (spec.sigma_b ** ks * mu[:, None] if spec.sigma_b else (ks == 0) * 1.0) * np.ones((1, len(pts)))
        bias[1::2] = 0.0
        # Divergence propagates upwards: once a moment is infinite (or unknown) so is every higher one.
        bad_inf = np.maximum.accumulate(~np.isfinite(one) & ~np.isnan(one) | ~np.isfinite(bias), axis=0)
        bad_nan = np.maximum.accumulate(np.isnan(one), axis=0)
        one_f, bias_f = np.where(np.isfinite(one), one, 0.0), np.where(np.isfinite(bias), bias, 0.0)
        kap = n * _cumulants_from_moments(one_f) + _cumulants_from_moments(bias_f)
        m = _moments_from_cumulants(kap)
    m = np.where(bad_nan, np.nan, m)
    return np.where(bad_inf, np.inf, m)


def _central_moments(raw: np.ndarray) -> np.ndarray:
    """E[(f − m)^k] from raw moments raw[0…K] (raw[0] = 1, m = raw[1]) along axis 0."""
    m = raw[1]
    out = np.zeros_like(raw)
    for k in range(raw.shape[0]):
        out[k] = sum(math.comb(k, j) * raw[j] * (-m) ** (k - j) for j in range(k + 1))
    return out


def _central_gradient(name: str, c: np.ndarray) -> dict[int, np.ndarray]:
    """∂g/∂μ_k of each estimator as a function of the central moments μ_k (the formulas of
    `sampling.statistics`: G2 = μ₂, G4c = μ₄ − 3μ₂², kurtosis = G4c/μ₂², G6c = μ₆ − 15μ₄μ₂ − 10μ₃² + 30μ₂³)."""
    if name == "g2":
        return {2: np.ones_like(c[2])}
    if name == "g4c_diag":
        return {4: np.ones_like(c[2]), 2: -6 * c[2]}
    if name == "kurtosis":
        return {4: 1 / c[2] ** 2, 2: -2 * c[4] / c[2] ** 3}
    return {6: np.ones_like(c[2]), 4: -15 * c[2], 3: -20 * c[3], 2: -15 * c[4] + 90 * c[2] ** 2}


def unit_variances(moments: np.ndarray) -> dict[str, np.ndarray]:
    """M·Var of each estimator (ORDER's keys) from exact raw moments (kmax+1, P): inf where a needed moment
    diverges, NaN where it is unknown.

    The delta method ∇gᵀΣ∇g over raw moments equals E[ψ²] for the influence function ψ = Σ_k ∂g/∂μ_k ψ_k
    with the central moments' ψ_k(y) = y^k − μ_k − k μ_{k−1} y, y = f − m (the chain rule through
    μ_k(r₁…r_k)); ψ is a polynomial Σ_j a_j y^j, so E[ψ²] = Σ_jl a_j a_l μ_{j+l} − (Σ_j a_j μ_j)². Closed form
    and vectorised over points: the slider's every request needs it (autograd per point cost ~30 ms)."""
    out = {}
    with np.errstate(invalid="ignore", over="ignore"):   # μ_k uses raw moments ≤ k only: inf/NaN stay above
        central = _central_moments(moments[: 2 * max(ORDER.values()) + 1])
    for name, order in ORDER.items():
        top = 2 * order
        mom = moments[: top + 1]
        vals = np.full(moments.shape[1], np.nan)
        known = ~np.isnan(mom).any(axis=0)
        finite = known & np.isfinite(mom).all(axis=0)
        vals[known & ~finite] = np.inf
        if finite.any():
            c = central[: top + 1, finite]
            a = np.zeros((order + 1, c.shape[1]))
            with np.errstate(divide="ignore", invalid="ignore"):
                for k, d in _central_gradient(name, c).items():
                    a[k] += d
                    a[1] -= d * k * c[k - 1]
                j = np.arange(order + 1)
                second = np.einsum("jp,lp,jlp->p", a, a, c[j[:, None] + j[None, :]])
                var = second - np.einsum("jp,jp->p", a, c[: order + 1]) ** 2
            vals[finite] = np.maximum(var, 0.0)
        out[name] = vals
    return out


def exact_unit_variances(spec: NetworkSpec, x) -> dict[str, np.ndarray] | None:
    """M·Var of the G2 (diagonal), G4c, kurtosis and G6c estimators at points x, exact at depth 1 (None deeper
    or with dependent neurons). Divide by M and take the root for the standard error of M networks."""
    if not available(spec):
        return None
    return unit_variances(output_moments(spec, x))
