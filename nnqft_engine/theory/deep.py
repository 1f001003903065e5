"""Leading-order 1/N finite-width correlators at any depth (docs/physics.md §8; depth 1: §4 exact).

Given hidden layer ℓ, the next layer's pre-activations are exactly Gaussian (Gaussian priors) with the
stochastic metric Ĝ^{ℓ+1}(a, b) = σ_b² + σ_w² (1/N) Σⱼ φ(zⱼ(a)) φ(zⱼ(b)), i.i.d. over neurons. Writing
E[Ĝ] = K + K₁/N and N·Cov(Ĝ_ab, Ĝ_cd) = V_(ab)(cd) + O(1/N), and expanding ⟨φφ⟩ of a Gaussian with covariance
Ĝ^ℓ = K^ℓ + δ to second order in δ (Roberts–Yaida–Hanin, arXiv 2106.10165 ch. 4):

    K^{ℓ+1}  = σ_b² + σ_w² M(K^ℓ)                      M_u = ⟨φ_u⟩, u ∈ {(aa), (ab), (bb)}
    V^{ℓ+1}  = σ_w⁴ [S(K^ℓ) + J V^ℓ Jᵀ]                S = Cov(φ_u, φ_v), J = ∂M/∂K (Price's theorem)
    K₁^{ℓ+1} = σ_w² [J K₁^ℓ + ½ H : V^ℓ]               H = ∂²M/∂K∂K

with K¹ = Σ¹ and V¹ = K₁¹ = 0 (the first layer sees fixed inputs). The readout is layer L+1 with the same
metric, so G2 = K + K₁/N and G4c(1,2,3,4) = [V₍₁₂₎₍₃₄₎ + V₍₁₃₎₍₂₄₎ + V₍₁₄₎₍₂₃₎]/N + O(1/N²). Every slice the
engine reports (g2, g4c_pair = connected ⟨f_i f_i f_j f_j⟩, g4c_diag) involves two points at most, so the
recursion runs per pair of points on a 3-entry kernel and a 3×3 vertex (`gauss_moments`). The standard and
ntk parameterizations define the same function-space ensemble at initialization, so both share this theory.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..activations import get_activation
from ..spec import NetworkSpec, SpecError, as_points, layer_variances
from .deep_priors import check_priors, recursion as prior_recursion
from .finite_width import exact_correlators
from .gauss_moments import DiagMoments, diag_moments, pair_moments
from .layer_state import LayerState

KURTOSIS_LIMIT = 1.0  # |G4c/G2²| beyond this: the 1/N series is not an expansion any more


@dataclass(frozen=True)
class DeepTheory:
    """Correlators of f at points x (P, d): nngp K and g2 = K + K₁/N (P, P), connected 4-point slices
    g4c_pair[i, j] = ⟨f_i f_i f_j f_j⟩_c (P, P) and g4c_diag (P,), kurtosis = g4c_diag/g2_diag², the order
    of the result ("exact" at depth 1, else "1/N": leading order, errors O(1/N²)) and warnings."""

    x: np.ndarray
    width: int
    depth: int
    nngp: np.ndarray
    g2: np.ndarray
    g4c_diag: np.ndarray
    g4c_pair: np.ndarray
    kurtosis: np.ndarray
    order: str
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else list(v) if isinstance(v, tuple) else v)
                for k, v in self.__dict__.items()}


def check_deep(spec: NetworkSpec) -> None:
    """Raise SpecError for what the deep 1/N theory does not cover."""
    if not spec.iid:
        raise SpecError("the deep 1/N theory assumes independent parameters: broken independence "
                        f"({spec.independence}) has an exact theory at depth 1 only")
    check_priors(spec)


def recursion(spec: NetworkSpec, x, pairs: tuple[np.ndarray, np.ndarray] | None = None) -> LayerState:
    """Run the layer recursion from the first hidden layer to the readout (spec.depth steps).

    `pairs` (ia, ib) selects the point pairs to follow (default: all i < j); this also runs at depth 1, where
    it reproduces the exact O(1/N) theory for Gaussian priors (tests/engine/theory/test_deep_theory.py).
    """
    check_deep(spec)
    if spec.prior != "gaussian":
        return prior_recursion(spec, x, pairs)
    pts = as_points(x, spec.input_dim)
    p = len(pts)
    if pairs is None:
        ia, ib = np.triu_indices(p, 1)
    else:
        ia, ib = (np.asarray(a, dtype=np.int64).ravel() for a in pairs)
    act = get_activation(spec.activation)
    sw2, sb2 = spec.sigma_w**2, spec.sigma_b**2
    dot = pts @ pts.T / spec.input_dim
    k0 = sw2 * 0.5 * (dot + dot.T) + sb2                     # Σ¹
    kd, k1d, vd = np.diag(k0).copy(), np.zeros(p), np.zeros(p)
    kp = np.stack([k0[ia, ia], k0[ia, ib], k0[ib, ib]], axis=1)
    k1p, vp = np.zeros_like(kp), np.zeros(kp.shape + (3,))
    qs = layer_variances(spec, pts)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for q in qs:
            q = np.broadcast_to(np.asarray(q, dtype=np.float64), (p,))
            dm = diag_moments(act, kd, q)
            kd, k1d, vd = (sb2 + sw2 * dm.m, sw2 * (dm.dm * k1d + 0.5 * dm.d2m * vd),
                           sw2**2 * (dm.m4 - dm.m**2 + dm.dm**2 * vd))
            if len(ia):
                # One-point moments of the pair's ends: the diagonal recursion's, since k_pair[:, 0] and
                # k_pair[:, 2] follow the same map as k_diag (kept as separate arrays only for pairs=...).
                ends = tuple(DiagMoments(*(getattr(dm, f)[idx] for f in DiagMoments.__dataclass_fields__))
                             for idx in (ia, ib))
                pm = pair_moments(act, kp[:, 0], kp[:, 2], kp[:, 1], q[ia], q[ib], diag=ends)
                k1p = sw2 * (np.einsum("buv,bv->bu", pm.jac, k1p) + 0.5 * np.einsum("buvw,bvw->bu", pm.hess, vp))
                vp = sw2**2 * (pm.s + np.einsum("buv,bvw,bxw->bux", pm.jac, vp, pm.jac))
                kp = sb2 + sw2 * pm.m
    return LayerState(kd, k1d, vd, ia, ib, kp, k1p, vp)


def deep_correlators(spec: NetworkSpec, x) -> DeepTheory:
    """G2 with its 1/N shift and connected G4 slices of the network output at points x.

    Depth 1 returns the exact theory of `finite_width` (any prior, any independence mechanism); deeper
    networks the leading order in 1/N (independent parameters; non-Gaussian priors via `deep_priors`, §8.1).
    """
    pts = as_points(x, spec.input_dim)
    if spec.depth == 1:
        th = exact_correlators(spec, pts)
        k = th.g2  # exact at depth 1: E[Ĝ] has no 1/N shift
        return _finish(spec, pts, k, th.g2, th.g4c_diag, th.g4c_pair, "exact")
    st = recursion(spec, pts)
    n = spec.width
    k = np.diag(st.k_diag)
    g2 = np.diag(st.k_diag + st.k1_diag / n)
    g4 = np.diag(3.0 * st.v_diag / n + st.g4c_const)
    k[st.ia, st.ib] = k[st.ib, st.ia] = st.k_pair[:, 1]
    g2[st.ia, st.ib] = g2[st.ib, st.ia] = st.k_pair[:, 1] + st.k1_pair[:, 1] / n
    pair = (st.v_pair[:, 0, 2] + 2.0 * st.v_pair[:, 1, 1]) / n + st.g4c_const
    g4[st.ia, st.ib] = g4[st.ib, st.ia] = pair
    if spec.activation == "relu":
        _relu_degenerate_pairs(spec, pts, (k, g2, g4))
    return _finish(spec, pts, k, g2, np.diag(g4).copy(), g4, "1/N", st.notes, st.g4c_const)


def _relu_degenerate_pairs(spec: NetworkSpec, pts: np.ndarray, mats) -> None:
    """relu pairs with a rank-1 input kernel (ρ¹ = 1: equal points, or σ_b = 0 and x_j = λx_i, λ > 0) sit on
    the arc-cosine kernel's singularity, where ⟨φ″φ″⟩ = ⟨δδ⟩ diverges. There relu's homogeneity is exact:
    f(x_j) = λ f(x_i) in every network, so K, G2 scale by λ and G4c_pair by λ² (in place, on mats)."""
    sig = spec.sigma_w**2 * (pts @ pts.T) / spec.input_dim + spec.sigma_b**2
    d = np.diag(sig)
    for i, j in zip(*np.triu_indices(len(pts), 1)):
        if d[i] <= 0 or d[j] <= 0:      # a point where f ≡ 0 (x = 0, σ_b = 0)
            scale = (0.0, 0.0)
        elif sig[i, j] >= (1 - 1e-12) * np.sqrt(d[i] * d[j]):
            lam = np.sqrt(d[j] / d[i])
            scale = (lam, lam * lam)
        else:
            continue
        for m, power in zip(mats, (0, 0, 1)):
            m[i, j] = m[j, i] = scale[power] * m[i, i]


def _finish(spec, pts, k, g2, g4d, g4p, order, notes=(), const=0.0) -> DeepTheory:
    warnings = list(notes)
    with np.errstate(divide="ignore", invalid="ignore"):
        kurt = np.where(np.diag(g2) > 0, g4d / np.diag(g2) ** 2, 0.0)
        # The expansion's size is its 1/N part: the readout bias's O(1) cumulant (§8.1) is exact.
        kurt_n = np.where(np.diag(g2) > 0, (g4d - const) / np.diag(g2) ** 2, 0.0)
    if not (np.all(np.isfinite(g2)) and np.all(np.isfinite(g4p))):
        warnings.append("some correlators are not finite (a divergent Gaussian moment or a degenerate kernel)")
    if order == "1/N" and np.any(np.abs(kurt_n) > KURTOSIS_LIMIT):
        warnings.append(f"|G4c/G2²| reaches {np.nanmax(np.abs(kurt_n)):.3g} > {KURTOSIS_LIMIT:g}: the width is too "
                        "small for the 1/N expansion, whose next terms are not small")
    if order == "1/N" and np.any(np.abs(np.diag(g2) - np.diag(k)) > 0.5 * np.abs(np.diag(k))):
        warnings.append("the 1/N kernel shift exceeds half the kernel: the expansion is out of range")
    return DeepTheory(x=pts, width=spec.width, depth=spec.depth, nngp=k, g2=g2, g4c_diag=g4d, g4c_pair=g4p,
                      kurtosis=kurt, order=order, warnings=tuple(warnings))
