"""The deep 1/N recursion (`deep`) with non-Gaussian priors in every layer (docs/physics.md §8.1).

Three things change when weights and biases are drawn from a standardized prior with excess kurtosis κ₄:

- the first layer z¹ = w·x + b is a sum of d + 1 terms, never Gaussian: its moments are taken over the true
  prior (`neuron_moments`, exact as at depth 1);
- a hidden pre-activation z = g + σ_b β is, at O(1), a Gaussian g ~ N(0, σ_w² M) plus the neuron's own
  bias β, shared by every input: expectations are mixtures over β (Gaussian for σ_b = 0 or a gaussian prior;
  a Gaussian *scale* mixture for laplace, s² ~ Exp(1); a quadrature over the shift σ_b β otherwise);
- the hidden weights' fourth cumulant gives g a 1/N fourth cumulant (κ₄σ_w⁴/N)·E[h_a h_b h_c h_d], which
  enters the kernel shift exactly like the Ĝ fluctuations do: V → V + (κ₄σ_w⁴/3)·P with P the previous
  layer's fourth moments; at the readout the same term adds to G4c, and the readout bias adds κ₄σ_b⁴ (O(1)).

Not covered (refused with a reason): relu with a uniform, rademacher or student-t prior and σ_b > 0 at
depth ≥ 2 (a shifted kink: Price's derivatives of a mean-shifted relu are not implemented), and gauss-net at
depth ≥ 2 with a non-Gaussian prior (its finite-N moments diverge already for the gaussian prior, §8).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activations import Activation, get_activation
from ..cancel import check_cancelled
from ..gauss_rules import hermite_e_rule, laguerre_rule
from ..priors import moment, quadrature_rule
from ..spec import NetworkSpec, SpecError, as_points
from .gauss_moments import DiagMoments, _derivatives as _autograd_derivatives, diag_moments, pair_moments
from .layer_state import LayerState
from .neuron_moments import NeuronMoments
from .quadrature import nodes_for_variance

# Bias nodes of the shift mixture, per prior (smooth integrands in β; laplace: 2n nodes, one rule per half-line);
# measured at depth 3 (tanh, erf, softplus, σ_b = 0.6) against twice as many: ≤ 1e-11 relative.
_SHIFT_NODES = {"uniform": 16, "laplace": 24, "rademacher": 2, "student-t": 96}
_LAPLACE_SCALE_NODES = 48          # Gauss–Laguerre over s² ~ Exp(1) (laplace = Gaussian scale mixture)
_BLOCK = 1 << 20                   # elements of one (pairs × n × n) work array


@dataclass(frozen=True)
class LayerLaw:
    """O(1) moments of one neuron's φ(z) at a layer: diagonal (P,) m = ⟨φ²⟩, dm, d2m (derivatives in the
    Gaussian part's variance), m4 = ⟨φ⁴⟩; pairs in ((aa), (ab), (bb)) coordinates: m (B, 3), jac (B, 3, 3),
    hess (B, 3, 3, 3) and second (B, 3, 3) = ⟨φ_u φ_v⟩ (fourth moments)."""

    m: np.ndarray
    dm: np.ndarray
    d2m: np.ndarray
    m4: np.ndarray
    pm: np.ndarray
    jac: np.ndarray
    hess: np.ndarray
    second: np.ndarray


def excess_kurtosis(spec: NetworkSpec) -> float:
    return moment(spec.prior, 4, spec.prior_dof) - 3.0


def check_priors(spec: NetworkSpec) -> None:
    """Raise SpecError for the prior/activation cases the deep 1/N theory does not cover."""
    if spec.depth == 1 or spec.prior == "gaussian":
        return
    if spec.activation == "gauss-net":
        raise SpecError("the deep 1/N theory does not cover gauss-net with a non-gaussian prior at depth >= 2: "
                        "its finite-width moments diverge there (docs/physics.md §8)")
    act = get_activation(spec.activation)
    if not act.smooth and spec.sigma_b > 0 and spec.prior not in ("laplace",):
        raise SpecError(f"the deep 1/N theory does not cover {spec.activation} with the {spec.prior} prior and "
                        "sigma_b > 0 at depth >= 2 (a kink shifted by a non-Gaussian bias); use sigma_b = 0, the "
                        "gaussian or laplace prior, or a smooth activation")


def prior_notes(spec: NetworkSpec) -> tuple[str, ...]:
    """Warnings about the size of the neglected terms for heavy-tailed priors."""
    if spec.depth > 1 and spec.prior == "student-t" and spec.prior_dof <= 6.0:
        return (f"student-t with {spec.prior_dof:g} <= 6 degrees of freedom: the weights' sixth moment is "
                "infinite, so the remainder of the 1/N theory is not O(1/N²)",)
    return ()


# ---- one neuron's law: first layer (exact prior) --------------------------------------------------------------

def first_layer_law(spec: NetworkSpec, pts: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> LayerLaw:
    """Moments of h = φ(w·x + b) over the true prior (docs/physics.md §4.2); no derivatives are needed at the
    first layer (its V and K₁ vanish), so jac and hess are zero."""
    nm = NeuronMoments(spec, pts)
    h2, h4 = nm.h2(), nm.h4_pair()
    b = len(ia)
    pm = np.stack([h2[ia, ia], h2[ia, ib], h2[ib, ib]], axis=1)
    h31 = nm.h31_pair()
    second = _second(h4[ia, ia], h31[ia, ib], h4[ia, ib], h31[ib, ia], h4[ib, ib])
    zd = np.zeros(len(pts))
    return LayerLaw(np.diag(h2).copy(), zd, zd, np.diag(h4).copy(), pm.reshape(b, 3), np.zeros((b, 3, 3)),
                    np.zeros((b, 3, 3, 3)), second.reshape(b, 3, 3))


def _second(m4a, p31, p22, p13, m4b) -> np.ndarray:
    return np.stack([np.stack([m4a, p31, p22], -1), np.stack([p31, p22, p13], -1),
                     np.stack([p22, p13, m4b], -1)], axis=-2)


# ---- hidden layers: Gaussian part g ~ N(0, kw) plus the neuron's bias σ_b β ---------------------------------

def hidden_law(spec: NetworkSpec, act: Activation, kw: np.ndarray, kwp: np.ndarray,
               ia: np.ndarray, ib: np.ndarray) -> LayerLaw:
    """Moments at a hidden layer ≥ 2 whose Gaussian part has variances kw (P,) and pair kernels kwp (B, 3)."""
    sb2 = spec.sigma_b**2
    if spec.prior == "gaussian" or sb2 == 0.0:
        return _gauss_law(act, kw + sb2, kwp + sb2, ia, ib)
    if spec.prior == "laplace" and (not act.smooth or act.closed_form):
        # Laplace(0, 1/√2) = N(0, s²) with s² ~ Exp(1): a mixture of Gaussian laws with kernel kw + σ_b² s²,
        # so relu keeps its closed forms (its kink is never shifted off the Gaussian's centre) and erf, sin,
        # cos, linear theirs (fast); for tanh both routes agree to 1e-10 (measured).
        s2, ws = laguerre_rule(_LAPLACE_SCALE_NODES)
        laws = []
        for t in s2:
            check_cancelled()
            laws.append(_gauss_law(act, kw + sb2 * t, kwp + sb2 * t, ia, ib))
        return LayerLaw(*(sum(w * getattr(law, f) for w, law in zip(ws, laws))
                          for f in LayerLaw.__dataclass_fields__))
    c, wc = quadrature_rule(spec.prior, _SHIFT_NODES[spec.prior], spec.prior_dof)
    return _shift_law(act, kw, kwp, spec.sigma_b * np.asarray(c), np.asarray(wc), ia, ib)


def _gauss_law(act: Activation, k: np.ndarray, kp: np.ndarray, ia, ib) -> LayerLaw:
    dm = diag_moments(act, k)
    ends = tuple(DiagMoments(*(getattr(dm, f)[idx] for f in DiagMoments.__dataclass_fields__)) for idx in (ia, ib))
    if len(ia):
        pm = pair_moments(act, kp[:, 0], kp[:, 2], kp[:, 1], diag=ends)
        pmm, jac, hess, second = pm.m, pm.jac, pm.hess, pm.s + pm.m[:, :, None] * pm.m[:, None, :]
    else:
        pmm, jac, hess, second = np.zeros((0, 3)), np.zeros((0, 3, 3)), np.zeros((0, 3, 3, 3)), np.zeros((0, 3, 3))
    return LayerLaw(dm.m, dm.dm, dm.d2m, dm.m4, pmm, jac, hess, second)


def _shift_law(act: Activation, kw: np.ndarray, kwp: np.ndarray, c: np.ndarray, wc: np.ndarray,
               ia, ib) -> LayerLaw:
    """Smooth φ: E over the shift c = σ_b β (rule c, wc) of Gaussian expectations at mean c, with Price's
    theorem in the Gaussian part's covariance: ∂⟨F⟩/∂k_ab = ⟨∂_a∂_bF⟩ (a ≠ b), ½⟨∂_a²F⟩ (a = b)."""
    kmax = float(max(np.max(kw, initial=0.0), np.max(kwp, initial=0.0)))
    # Node count as in `gauss_moments`: the shift moves φ's features, it does not narrow them.
    n = nodes_for_variance(act.quadrature_scale * 4.0 * kmax)
    z, w = hermite_e_rule(n)
    # One point: u = √k z + c on a (P, n_c, n) grid.
    d = _derivatives(act, np.sqrt(np.maximum(kw, 0.0))[:, None, None] * z + c[None, :, None], 0.0, 4)
    e = lambda f: np.einsum("pcz,c,z->p", f, wc, w)
    m, m4 = e(d[0] ** 2), e(d[0] ** 4)
    dmv = e(d[1] ** 2 + d[0] * d[2])
    d2m = e(0.5 * d[0] * d[4] + 2.0 * d[1] * d[3] + 1.5 * d[2] ** 2)
    b = len(ia)
    t = {key: np.zeros(b) for key in [(0, 0), (1, 1), (2, 0), (0, 2), (4, 0), (3, 1), (2, 2), (1, 3), (0, 4)]}
    p = {key: np.zeros(b) for key in [(3, 1), (2, 2), (1, 3)]}
    step = max(1, _BLOCK // (n * n))
    for lo in range(0, b, step):
        s = slice(lo, lo + step)
        k11, k12, k22 = kwp[s, 0], kwp[s, 1], kwp[s, 2]
        sa = np.sqrt(np.maximum(k11, 0.0))
        c1 = np.where(sa > 0, k12 / np.where(sa > 0, sa, 1.0), 0.0)
        c2 = np.sqrt(np.maximum(k22 - c1 * c1, 0.0))
        for cj, wj in zip(c, wc):
            check_cancelled()
            du = _derivatives(act, sa[:, None] * z[None, :] + cj, 0.0, 4)
            dv = _derivatives(act, c1[:, None, None] * z[None, :, None] + c2[:, None, None] * z[None, None, :]
                              + cj, 0.0, 4)
            inner = [dv_k @ w for dv_k in dv]                          # E over the second node: (B, n)
            for mm, nn in t:
                t[(mm, nn)][s] += wj * ((du[mm] * inner[nn]) @ w)
            v1 = dv[0]
            pw = {1: v1 @ w, 2: (v1 * v1) @ w, 3: (v1 * v1 * v1) @ w}
            for a in (1, 2, 3):
                p[(a, 4 - a)][s] += wj * ((du[0] ** a * pw[4 - a]) @ w)
    pm = np.stack([m[ia], t[(0, 0)], m[ib]], axis=1)
    jac = np.zeros((b, 3, 3))
    hess = np.zeros((b, 3, 3, 3))
    jac[:, 0, 0], jac[:, 2, 2] = dmv[ia], dmv[ib]
    hess[:, 0, 0, 0], hess[:, 2, 2, 2] = d2m[ia], d2m[ib]
    jac[:, 1, :] = np.stack([0.5 * t[(2, 0)], t[(1, 1)], 0.5 * t[(0, 2)]], axis=1)
    hess[:, 1] = np.stack([
        np.stack([0.25 * t[(4, 0)], 0.5 * t[(3, 1)], 0.25 * t[(2, 2)]], 1),
        np.stack([0.5 * t[(3, 1)], t[(2, 2)], 0.5 * t[(1, 3)]], 1),
        np.stack([0.25 * t[(2, 2)], 0.5 * t[(1, 3)], 0.25 * t[(0, 4)]], 1)], axis=1)
    second = _second(m4[ia], p[(3, 1)], p[(2, 2)], p[(1, 3)], m4[ib])
    return LayerLaw(m, dmv, d2m, m4, pm, jac, hess, second)


def _derivatives(act: Activation, z: np.ndarray, q, order: int) -> list[np.ndarray]:
    if act.name == "linear":          # autograd has no second derivative of the identity to take
        return [z, np.ones_like(z)] + [np.zeros_like(z)] * (order - 1)
    return _autograd_derivatives(act, z, q, order)


# ---- the recursion -------------------------------------------------------------------------------------------

def recursion(spec: NetworkSpec, x, pairs: tuple[np.ndarray, np.ndarray] | None = None):
    """`deep.recursion` for any covered prior: the readout's K, K₁ and the vertex V_eff whose three pairings
    give G4c·N, plus the O(1) readout-bias cumulant κ₄σ_b⁴ in `g4c_const` (docs/physics.md §8.1)."""
    check_priors(spec)
    pts = as_points(x, spec.input_dim)
    p = len(pts)
    ia, ib = np.triu_indices(p, 1) if pairs is None else (np.asarray(a, dtype=np.int64).ravel() for a in pairs)
    ia, ib = np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)
    act = get_activation(spec.activation)
    sw2, sb2 = spec.sigma_w**2, spec.sigma_b**2
    kap = excess_kurtosis(spec)
    cw = kap * sw2**2 / 3.0                       # V_eff = V + (κ₄σ_w⁴/3)·P (§8.1)
    k1d, vd = np.zeros(p), np.zeros(p)
    k1p, vp = np.zeros((len(ia), 3)), np.zeros((len(ia), 3, 3))
    law = prev = None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for layer in range(1, spec.depth + 1):
            law = (first_layer_law(spec, pts, ia, ib) if layer == 1
                   else hidden_law(spec, act, sw2 * prev.m, sw2 * prev.pm, ia, ib))
            if prev is not None:          # the layer's own weights are non-Gaussian from layer 2 on
                veff_d, veff_p = vd + cw * prev.m4, vp + cw * prev.second
                k1d = sw2 * (law.dm * k1d + 0.5 * law.d2m * veff_d)
                k1p = sw2 * (np.einsum("buv,bv->bu", law.jac, k1p)
                             + 0.5 * np.einsum("buvw,bvw->bu", law.hess, veff_p))
                vd = sw2**2 * (law.m4 - law.m**2 + law.dm**2 * vd)
                vp = sw2**2 * (law.second - law.pm[:, :, None] * law.pm[:, None, :]
                               + np.einsum("buv,bvw,bxw->bux", law.jac, vp, law.jac))
            else:
                vd = sw2**2 * (law.m4 - law.m**2)
                vp = sw2**2 * (law.second - law.pm[:, :, None] * law.pm[:, None, :])
            prev = law
        # Readout: its weights' κ₄ adds (κ₄σ_w⁴/3)·P^L to the vertex, its bias κ₄σ_b⁴ to G4c.
        vd, vp = vd + cw * law.m4, vp + cw * law.second
    return LayerState(sb2 + sw2 * law.m, k1d, vd, ia, ib, sb2 + sw2 * law.pm, k1p, vp,
                      g4c_const=kap * sb2**2, notes=prior_notes(spec))
