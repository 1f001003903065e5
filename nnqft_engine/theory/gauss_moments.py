"""Gaussian expectations the deep 1/N recursion needs, on one point or on a pair of points (docs/physics.md §8).

Everything the leading-order finite-width theory needs for G2 and the pair/diagonal slices of G4c involves at
most two distinct points, so all expectations are over a 2-D Gaussian (u, v) ~ N(0, [[k11, k12], [k12, k22]]).
Kernel coordinates are ordered (k11, k12, k22); M = (⟨φ(u)²⟩, ⟨φ(u)φ(v)⟩, ⟨φ(v)²⟩) and we need its value, its
Jacobian and Hessian with respect to those three (independent, unordered) kernel entries, and the covariance
S_uv = ⟨φ_u φ_v⟩ − M_u M_v of the products φ_11 = φ(u)², φ_12 = φ(u)φ(v), φ_22 = φ(v)².

Derivatives follow Price's theorem, ∂⟨F⟩/∂k_ab = ⟨∂_a∂_b F⟩ (a ≠ b) and ½⟨∂_a² F⟩ (a = b), applied twice for
the Hessian. Closed forms of ⟨φφ⟩ (erf, sin, cos, linear, gauss-net) are differentiated exactly with torch
autograd in float64. relu's kink (φ″ = δ) is handled analytically: its Price derivatives ⟨δδ⟩, ⟨δ′φ′⟩, …
are written out (`_relu_pair_analytic`). Other activations use tensor quadrature with φ⁽ᵐ⁾ (m ≤ 4) in
closed form or from autograd: pole-aware trapezoid rules (`pair_rules`, §8.2) or Gauss–Hermite.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..activations import Activation
from ..gauss_rules import hermite_e_rule, legendre_rule
from . import basis_moments, pair_rules
from .quadrature import nodes_for_variance

_BLOCK = 1 << 20  # elements of a (pairs × n × n) work array per block
_BASIS_BLOCK = 1 << 17


@dataclass(frozen=True)
class DiagMoments:
    """One-point expectations at variance k: m = ⟨φ²⟩, dm = d m/dk, d2m = d²m/dk², m4 = ⟨φ⁴⟩, dphi2 = ⟨φ′²⟩."""

    m: np.ndarray
    dm: np.ndarray
    d2m: np.ndarray
    m4: np.ndarray
    dphi2: np.ndarray


@dataclass(frozen=True)
class PairMoments:
    """Two-point expectations over (k11, k12, k22): m (B, 3), jac (B, 3, 3) = ∂m_u/∂k_v,
    hess (B, 3, 3, 3) = ∂²m_u/∂k_v∂k_w and s (B, 3, 3) = Cov(φ_u, φ_v)."""

    m: np.ndarray
    jac: np.ndarray
    hess: np.ndarray
    s: np.ndarray


# ---- closed forms of ⟨φ(u)φ(v)⟩ in differentiable torch ----------------------------------------------------

def _erf_t(k11, k22, k12, q1, q2):
    return (2 / math.pi) * torch.asin(2 * k12 / torch.sqrt((1 + 2 * k11) * (1 + 2 * k22)))


def _sin_t(k11, k22, k12, q1, q2):
    return torch.exp(-(k11 + k22) / 2) * torch.sinh(k12)


def _cos_t(k11, k22, k12, q1, q2):
    return torch.exp(-(k11 + k22) / 2) * torch.cosh(k12)


def _linear_t(k11, k22, k12, q1, q2):
    return k12 + 0.0 * (k11 + k22)


def _gauss_net_t(k11, k22, k12, q1, q2):
    return torch.exp((k11 + k22) / 2 + k12 - q1 - q2)


_PAIR_T = {"erf": _erf_t, "sin": _sin_t, "cos": _cos_t, "linear": _linear_t,
           "gauss-net": _gauss_net_t}

# ⟨φ(u)²⟩ at variance k (the pair forms at k11 = k22 = k12 are singular in their derivatives for relu).
_DIAG_T = {
    "relu": lambda k, q: k / 2,
    "erf": lambda k, q: (2 / math.pi) * torch.asin(2 * k / (1 + 2 * k)),
    "sin": lambda k, q: (1 - torch.exp(-2 * k)) / 2,
    "cos": lambda k, q: (1 + torch.exp(-2 * k)) / 2,
    "linear": lambda k, q: k,
    "gauss-net": lambda k, q: torch.exp(2 * k - 2 * q),
}


def _grad_hess(fn, k: np.ndarray, *extra) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value (B,), gradient (B, c) and Hessian (B, c, c) of an elementwise scalar function of k (B, c)."""
    kt = torch.tensor(k, dtype=torch.float64, requires_grad=True)
    ex = [torch.tensor(np.array(e, dtype=np.float64)) for e in extra]
    val = fn(*kt.unbind(1), *ex)
    (g,) = torch.autograd.grad(val.sum(), kt, create_graph=True)
    rows = []
    if not g.requires_grad:  # a kernel linear in k (the linear activation): zero Hessian
        return val.detach().numpy(), g.detach().numpy(), np.zeros(k.shape + k.shape[1:])
    for c in range(k.shape[1]):
        (h,) = torch.autograd.grad(g[:, c].sum(), kt, retain_graph=True, allow_unused=True)
        rows.append(torch.zeros_like(kt) if h is None else h)
    return val.detach().numpy(), g.detach().numpy(), torch.stack(rows, 1).detach().numpy()


def _sigmoid_chain(s: np.ndarray) -> list[np.ndarray]:
    """σ, σ′, σ″, σ‴, σ⁗ of the logistic function from its value (σ′ = σ(1 − σ), differentiated on)."""
    s1 = s * (1 - s)
    s2 = s1 * (1 - 2 * s)
    s3 = s2 * (1 - 2 * s) - 2 * s1 * s1
    return [s, s1, s2, s3, s3 * (1 - 2 * s) - 6 * s1 * s2]


def _closed_derivatives(name: str, z: np.ndarray) -> list[np.ndarray] | None:
    """φ … φ⁗ in closed form where they are short (4× faster than nested autograd); None otherwise."""
    from scipy import special

    if name == "tanh":
        t = np.tanh(z)
        t1 = 1 - t * t
        t2 = -2 * t * t1
        t3 = -2 * t1 * t1 - 2 * t * t2
        return [t, t1, t2, t3, -6 * t1 * t2 - 2 * t * t3]
    if name == "sigmoid":
        return _sigmoid_chain(special.expit(z))
    if name == "softplus":
        return [np.logaddexp(0.0, z)] + _sigmoid_chain(special.expit(z))[:4]
    if name == "silu":
        s = _sigmoid_chain(special.expit(z))
        return [z * s[0]] + [k * s[k - 1] + z * s[k] for k in range(1, 5)]
    if name == "gelu":
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        z2 = z * z
        return [z * special.ndtr(z), special.ndtr(z) + z * pdf, pdf * (2 - z2), pdf * z * (z2 - 4),
                pdf * (-z2 * z2 + 7 * z2 - 4)]
    return None


def _derivatives(act: Activation, z: np.ndarray, q, order: int) -> list[np.ndarray]:
    """[φ(z), φ′(z), …, φ⁽ᵒʳᵈᵉʳ⁾(z)] elementwise: closed forms where short, else nested autograd on the
    activation's torch function."""
    if order == 4:
        closed = _closed_derivatives(act.name, z)
        if closed is not None:
            return closed
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=order > 0)
    y = act.torch_fn(zt, q)
    out = [y.detach().numpy()]
    for k in range(order):
        (y,) = torch.autograd.grad(y.sum(), zt, create_graph=k + 1 < order)
        out.append(y.detach().numpy())
    return out


def _nodes(act: Activation, k_max: float) -> int:
    return nodes_for_variance(act.quadrature_scale * max(float(k_max), 0.0))


# ---- one point -----------------------------------------------------------------------------------------------

def diag_moments(act: Activation, k, q=0.0) -> DiagMoments:
    """⟨φ²⟩ and its first two derivatives in the variance, ⟨φ⁴⟩ and ⟨φ′²⟩ at variances k (any shape)."""
    k = np.asarray(k, dtype=np.float64)
    shape = k.shape
    kf = k.ravel()
    qf = np.broadcast_to(np.asarray(q, dtype=np.float64), shape).ravel()
    if act.name == "relu":
        m, dm, d2m, m4, dp2 = kf / 2, np.full_like(kf, 0.5), np.zeros_like(kf), 1.5 * kf**2, np.full_like(kf, 0.5)
    elif act.name in _DIAG_T:
        m, g, h = _grad_hess(_DIAG_T[act.name], kf[:, None], qf)
        dm, d2m = g[:, 0], h[:, 0, 0]
        if act.name == "gauss-net":
            m4 = np.exp(8 * kf - 4 * qf)
            dp2 = m
        else:
            m4, dp2 = np.empty_like(kf), np.empty_like(kf)
            for idx, z, w in _diag_rules(act, kf):
                u = np.sqrt(np.maximum(kf[idx], 0.0))[:, None] * z[None, :]
                m4[idx], dp2[idx] = (act.numpy_fn(u, 0.0) ** 4) @ w, (act.numpy_grad(u, 0.0) ** 2) @ w
    else:
        m, dm, d2m, m4, dp2 = (np.empty_like(kf) for _ in range(5))
        for idx, z, w in _diag_rules(act, kf):
            d0, d1, d2, d3, d4 = _derivatives(act, np.sqrt(np.maximum(kf[idx], 0.0))[:, None] * z[None, :], 0.0, 4)
            m[idx], m4[idx], dp2[idx] = (d0 * d0) @ w, (d0**4) @ w, (d1 * d1) @ w
            dm[idx] = (d1 * d1 + d0 * d2) @ w
            d2m[idx] = (0.5 * d0 * d4 + 2.0 * d1 * d3 + 1.5 * d2 * d2) @ w
    return DiagMoments(*(np.asarray(a, dtype=np.float64).reshape(shape) for a in (m, dm, d2m, m4, dp2)))


def _diag_rules(act: Activation, kf: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """[(indices, z, w)] for one-point expectations: trapezoid rules from φ's singularities where known
    (§8.2; Gauss–Hermite's 320 nodes leave 2e-8 in ⟨φ²⟩ of tanh at k = 7), else Gauss–Hermite."""
    groups, rest = [], np.arange(len(kf))
    if pair_rules.supported(act.name):
        groups, rest = pair_rules.grouped_rules_1d(act.name, np.sqrt(np.maximum(kf, 0.0)))
    if len(rest):
        n = min(2 * _nodes(act, kf[rest].max(initial=0.0)), 320)
        groups.append((rest, *hermite_e_rule(n)))
    return groups


# ---- two points ----------------------------------------------------------------------------------------------

def _relu_powers(k11, k22, k12) -> dict[tuple[int, int], np.ndarray]:
    """⟨relu(u)^a relu(v)^b⟩ for a + b = 4 in polar coordinates: with cos θ₀ = ρ the integrand lives on the
    wedge t ∈ (θ₀ − π/2, π/2); the radial integral is ∫r⁵e^{−r²/2}dr = 8 and the angular one a trigonometric
    polynomial, integrated to machine precision by 24-node Gauss–Legendre."""
    norm = np.sqrt(np.maximum(k11 * k22, 0.0))
    rho = np.clip(np.where(norm > 0, k12 / np.where(norm > 0, norm, 1.0), 0.0), -1.0, 1.0)
    th0 = np.arccos(rho)
    x, w = legendre_rule(24)
    half = (np.pi - th0) / 2                                         # wedge half-length
    t = (th0 - np.pi / 2 + half)[:, None] + half[:, None] * x[None, :]
    cu, cv = np.maximum(np.cos(t), 0.0), np.maximum(np.cos(t - th0[:, None]), 0.0)
    out = {}
    for a, b in ((3, 1), (2, 2), (1, 3)):
        ang = (cu**a * cv**b) @ w * half
        out[(a, b)] = k11 ** (a / 2) * k22 ** (b / 2) * 8.0 * ang / (2 * np.pi)
    return out


def _relu_pair_analytic(k11, k22, k12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """⟨relu(u)relu(v)⟩ with its Jacobian and Hessian from Price's theorem in closed form,
    T_mn = ⟨φ⁽ᵐ⁾(u)φ⁽ⁿ⁾(v)⟩ with φ″ = δ: T₂₂ = 1/(2π√D), T₃₁ = −k12/(2πk11√D),
    T₄₀ = (2k12² − k11k22)/(2πk11²√D), T₂₀ = √D/(2πk11), T₁₁ = (π − θ)/(2π), D = k11k22 − k12².
    Written out rather than autograd of the arc-cosine kernel: that one's second derivatives cancel terms of
    order D^{-3/2} down to D^{-1/2} and lose all accuracy for nearly parallel inputs (ρ → 1)."""
    norm = np.sqrt(k11 * k22)
    live = norm > 0
    rho = np.clip(np.where(live, k12 / np.where(live, norm, 1.0), 0.0), -1.0, 1.0)
    # D from 1 − ρ² = (1 − ρ)(1 + ρ) keeps its relative accuracy near |ρ| = 1
    root = np.maximum(norm * np.sqrt(np.maximum((1 - rho) * (1 + rho), 0.0)), 1e-300)
    rest = np.pi - np.arccos(rho)
    two_pi = 2 * np.pi
    k11s, k22s = np.where(k11 > 0, k11, 1.0), np.where(k22 > 0, k22, 1.0)
    m = (root + k12 * rest) / two_pi
    t20, t02, t11 = root / (two_pi * k11s), root / (two_pi * k22s), rest / two_pi
    t22 = 1.0 / (two_pi * root)
    t31, t13 = -k12 / (two_pi * k11s * root), -k12 / (two_pi * k22s * root)
    t40 = (2 * k12**2 - k11 * k22) / (two_pi * k11s**2 * root)
    t04 = (2 * k12**2 - k11 * k22) / (two_pi * k22s**2 * root)
    jac = np.stack([0.5 * t20, t11, 0.5 * t02], axis=1)
    hess = np.stack([np.stack([0.25 * t40, 0.5 * t31, 0.25 * t22], 1),
                     np.stack([0.5 * t31, t22, 0.5 * t13], 1),
                     np.stack([0.25 * t22, 0.5 * t13, 0.25 * t04], 1)], axis=1)
    return m, jac, hess


def _erf_powers(k11, k22, k12) -> dict[tuple, np.ndarray]:
    """⟨erf(u)^a erf(v)^b⟩ (a + b = 4) as 1-D integrals: given u, v ~ N(μ, s²) with μ = (k12/k11)u,
    s² = k22 − k12²/k11, and E[erf(v)] = erf(μ/√(1+2s²)), E[erf(v)²] = 1 − 8T(√2μ/√(1+2s²), 1/√(1+4s²))
    (Owen's T; from the bivariate normal CDF at equal arguments), on trapezoid rules for entire integrands
    (`pair_rules.grouped_entire_rules`: ~55 nodes at unit variances where Gauss–Hermite needed 192)."""
    # erf(βz) grows like e^{β²(Im z)²}: the integrands below hold at most erf(√k₁₁z)³ times one factor of
    # β² ≤ k₂₂ (or erf² times the Owen's-T factor, 2k₁₁ + 2k₂₂), an entire-function trapezoid rule (§8.2).
    out = {("P", a, 4 - a): np.empty(len(k11)) for a in (1, 2, 3)}
    for idx, z, w in pair_rules.grouped_entire_rules(np.maximum(3 * k11 + k22, 3 * k22 + k11)):
        for key, val in _erf_powers_on(k11[idx], k22[idx], k12[idx], z, w).items():
            out[key][idx] = val
    return out


def _erf_powers_on(k11, k22, k12, z, w) -> dict[tuple, np.ndarray]:
    from scipy import special

    out = {}
    for ka, kb, key in ((k11, k22, (3, 1)), (k22, k11, (1, 3))):
        safe = ka > 0
        c = np.where(safe, k12 / np.where(safe, ka, 1.0), 0.0)
        s2 = np.maximum(kb - c * k12, 0.0)[:, None]
        u = np.sqrt(np.maximum(ka, 0.0))[:, None] * z[None, :]
        mu = c[:, None] * u
        eu = special.erf(u)
        out[("P",) + key] = (eu**3 * special.erf(mu / np.sqrt(1 + 2 * s2))) @ w
        if key == (3, 1):
            h = np.sqrt(2.0) * mu / np.sqrt(1 + 2 * s2)
            e2 = 1.0 - 8.0 * special.owens_t(h, np.broadcast_to(1.0 / np.sqrt(1 + 4 * s2), h.shape))
            out[("P", 2, 2)] = (eu**2 * e2) @ w
    return out


def _trig_powers(name: str, k11, k22, k12) -> dict[tuple, np.ndarray]:
    """⟨φ(u)^a φ(v)^b⟩ for φ = sin, cos: expand φ = Σ_{s=±1} c_s e^{isu}; E[e^{i(Su + Tv)}] is a Gaussian."""
    c = {1: 0.5 / 1j, -1: -0.5 / 1j} if name == "sin" else {1: 0.5, -1: 0.5}
    out = {}
    for a in (1, 2, 3):
        acc = np.zeros(len(k11), dtype=complex)
        for signs in np.ndindex(*(2,) * 4):
            sg = [1 if t else -1 for t in signs]
            coef = np.prod([c[x] for x in sg])
            su, sv = sum(sg[:a]), sum(sg[a:])
            acc += coef * np.exp(-0.5 * (su * su * k11 + 2 * su * sv * k12 + sv * sv * k22))
        out[("P", a, 4 - a)] = acc.real
    return out


def _pair_quadrature(act: Activation, k11, k22, k12, derivs: bool) -> dict[tuple, np.ndarray]:
    """Tensor quadrature after a Cholesky rotation: T[(m, n)] = ⟨φ⁽ᵐ⁾(u)φ⁽ⁿ⁾(v)⟩ for m + n ∈ {0, 2, 4}
    (when `derivs`) and P[(a, b)] = ⟨φ(u)^a φ(v)^b⟩ for a + b = 4, keyed ('T', m, n) / ('P', a, b).
    Pole-aware trapezoid rules per group of pairs where φ's singularities are known (`pair_rules`), else
    Gauss–Hermite."""
    tkeys = [(0, 0), (1, 1), (2, 0), (0, 2), (4, 0), (3, 1), (2, 2), (1, 3), (0, 4)] if derivs else []
    out = {("T",) + t: np.empty(len(k11)) for t in tkeys}
    out.update({("P", a, 4 - a): np.empty(len(k11)) for a in (1, 2, 3)})
    sa = np.sqrt(np.maximum(k11, 0.0))
    c1 = np.where(sa > 0, k12 / np.where(sa > 0, sa, 1.0), 0.0)          # v = c1·z₁ + c2·z₂
    c2 = np.sqrt(np.maximum(k22 - c1 * c1, 0.0))
    if pair_rules.supported(act.name):
        groups = pair_rules.grouped_rules(act.name, np.maximum(sa, np.abs(c1)), c2)
    else:
        # Fourth powers and fourth derivatives are steeper than φ itself: 4× the variance in the node table
        # (measured: erf at k ≤ 3 reaches ~1e-9 with 128 nodes, tanh ~3e-5 at k·4 ≤ 12).
        rule = hermite_e_rule(_nodes(act, 4.0 * np.max(np.maximum(k11, k22), initial=0.0)))
        groups = [(np.arange(len(k11)), rule, rule)]
    # basis moments touch memory less, and blocks that fit in cache pay off there
    block = _BASIS_BLOCK if basis_moments.supported(act.name) else _BLOCK
    for idx, (z1, w1), (z2, w2) in groups:
        step = max(1, block // (len(z1) * len(z2)))
        for lo in range(0, len(idx), step):
            s = idx[lo:lo + step]
            if basis_moments.supported(act.name):
                vals = basis_moments.pair_block(act.name, sa[s], c1[s], c2[s], (z1, w1), (z2, w2), tkeys)
            else:
                vals = _pair_block(act, sa[s], c1[s], c2[s], (z1, w1), (z2, w2), tkeys)
            for key, val in vals.items():
                out[key][s] = val
    return out


def _pair_block(act: Activation, sa, c1, c2, rule1, rule2, tkeys) -> dict[tuple, np.ndarray]:
    """One block of _pair_quadrature: u = sa·z₁, v = c1·z₁ + c2·z₂ on the rules (z₁, w₁) × (z₂, w₂)."""
    (z1, w1), (z2, w2) = rule1, rule2
    order = 4 if tkeys else 0
    du = _derivatives(act, sa[:, None] * z1[None, :], 0.0, order)
    dv = _derivatives(act, c1[:, None, None] * z1[None, :, None] + c2[:, None, None] * z2[None, None, :], 0.0,
                      order)
    inner = {n_: dv[n_] @ w2 for n_ in {t[1] for t in tkeys}}           # E over the second node (B, n₁)
    out = {("T", m_, n_): (du[m_] * inner[n_]) @ w1 for m_, n_ in tkeys}
    v1 = dv[0]
    v2 = v1 * v1
    powers = {1: v1 @ w2, 2: v2 @ w2, 3: (v2 * v1) @ w2}
    for a in (1, 2, 3):
        out[("P", a, 4 - a)] = (du[0] ** a * powers[4 - a]) @ w1
    return out


def pair_moments(act: Activation, k11, k22, k12, q1=0.0, q2=0.0,
                 diag: tuple[DiagMoments, DiagMoments] | None = None) -> PairMoments:
    """PairMoments for B pairs of points with layer kernels (k11, k22, k12) (1-D arrays of length B).

    `diag` passes the one-point moments at k11 and k22 when the caller has them (per point, not per pair)."""
    k11, k22, k12 = (np.asarray(a, dtype=np.float64).ravel() for a in (k11, k22, k12))
    b = len(k11)
    q1 = np.broadcast_to(np.asarray(q1, dtype=np.float64), (b,))
    q2 = np.broadcast_to(np.asarray(q2, dtype=np.float64), (b,))
    d1, d2 = diag if diag is not None else (diag_moments(act, k11, q1), diag_moments(act, k22, q2))
    m = np.empty((b, 3))
    jac = np.zeros((b, 3, 3))
    hess = np.zeros((b, 3, 3, 3))
    m[:, 0], jac[:, 0, 0], hess[:, 0, 0, 0] = d1.m, d1.dm, d1.d2m
    m[:, 2], jac[:, 2, 2], hess[:, 2, 2, 2] = d2.m, d2.dm, d2.d2m
    if act.name == "relu":
        m[:, 1], jac[:, 1, :], hess[:, 1] = _relu_pair_analytic(k11, k22, k12)
        p = {("P",) + key: v for key, v in _relu_powers(k11, k22, k12).items()}
    elif act.name in _PAIR_T:
        kk = np.stack([k11, k12, k22], axis=1)
        fn = _PAIR_T[act.name]
        m[:, 1], jac[:, 1, :], hess[:, 1] = _grad_hess(lambda a, c, d, e, f: fn(a, d, c, e, f), kk, q1, q2)
        if act.name == "linear":  # Isserlis
            p = {("P", 3, 1): 3 * k11 * k12, ("P", 2, 2): k11 * k22 + 2 * k12 * k12, ("P", 1, 3): 3 * k22 * k12}
        elif act.name == "erf":
            p = _erf_powers(k11, k22, k12)
        elif act.name in ("sin", "cos"):
            p = _trig_powers(act.name, k11, k22, k12)
        elif act.name == "gauss-net":
            p = {("P", a, 4 - a): np.exp(0.5 * (a * a * k11 + 2 * a * (4 - a) * k12 + (4 - a) ** 2 * k22)
                                         - a * q1 - (4 - a) * q2) for a in (1, 2, 3)}
        else:
            p = _pair_quadrature(act, k11, k22, k12, derivs=False)
    else:
        p = _pair_quadrature(act, k11, k22, k12, derivs=True)
        t = {key[1:]: v for key, v in p.items() if key[0] == "T"}
        m[:, 1] = t[(0, 0)]
        jac[:, 1, :] = np.stack([0.5 * t[(2, 0)], t[(1, 1)], 0.5 * t[(0, 2)]], axis=1)
        hess[:, 1] = np.stack([
            np.stack([0.25 * t[(4, 0)], 0.5 * t[(3, 1)], 0.25 * t[(2, 2)]], 1),
            np.stack([0.5 * t[(3, 1)], t[(2, 2)], 0.5 * t[(1, 3)]], 1),
            np.stack([0.25 * t[(2, 2)], 0.5 * t[(1, 3)], 0.25 * t[(0, 4)]], 1)], axis=1)
    p31, p22, p13 = p[("P", 3, 1)], p[("P", 2, 2)], p[("P", 1, 3)]
    second = np.stack([np.stack([d1.m4, p31, p22], 1), np.stack([p31, p22, p13], 1),
                       np.stack([p22, p13, d2.m4], 1)], axis=1)
    s = second - m[:, :, None] * m[:, None, :]
    return PairMoments(m=m, jac=jac, hess=hess, s=s)
