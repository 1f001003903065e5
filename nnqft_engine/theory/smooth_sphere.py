"""Smooth φ with three live first-layer parameters (d = 2 with a bias, d = 3 without) under the laplace prior,
and bounded φ under student-t: spherical coordinates around the origin (docs/physics.md §4.2).

Every transition plane a_k·u = 0 of φ(z_k), z_k = a_k·u, passes through the origin of the standardized
parameters u, and so do laplace's kinks (u_i = 0). In u = r·ω the directions ω take the cubed-sphere rule of
`relu_sphere` (split along every plane and kink; student-t ungraded, see `rule`); along each ray

    ∫₀^∞ r² Π_i p(r ω_i) g(r a·ω) dr = ∫ e^{3t} Π_i p(e^t ω_i) g(e^t a·ω) dt,   r = e^t,

is a trapezoid in t = log r. φ's singularities (tanh's poles at z = ±iπ/2 …) and student-t's poles sit on the
imaginary r axis, |Im t| = π/2; erf's and gelu's Φ grows past |Im t| = π/4, laplace's e^{−λr} past π/2, and a
student-t of many degrees of freedom turns Gaussian (π/4); the trapezoid's error is ~ e^{−2π·strip/h}. The ray
integral is analytic in a·ω only on the right half plane and a disc at 0, so the directions need more nodes per
cell than relu's closed-form R_k(ω), and more as the coefficients grow (`side_nodes`).

Measured against `fourier_pair` (tanh, erf, sigmoid × laplace, d = 2, σ_w = 3, σ_b = 1, all pair moments): 10
nodes per cell side leave 2e-9, 16 2e-13, 20 1e-14; log-r steps 1/4 (erf: 9e-11; silu⁶, softplus⁶: 8e-11) and
1/5 (≤ 8e-13). Against the d = 1 graded rule on an axis (x₂ = 0): laplace (all six) ≤ 1e-12, student-t (tanh,
erf, sigmoid) ≤ 1.1e-10 for ν from 4.05 to 5, 2e-11 at ν = 6, 1.3e-11 at ν = 30, 5e-13 at ν = 100 (step 1/10;
1/5 leaves 3e-10), for coefficients up to 5.5. Against 3-D nested quad at d = 2 with a bias: gelu × laplace
E[h₁²h₂²] 7e-13 (a slow test), tanh × student-t (ν = 6) 5e-13 (measured once). The tensor Gauss rule this replaces
missed gelu's G4c under laplace by 3.5e-7, tanh's under student-t (ν = 6) by 1.1e-9.

Growing φ (gelu, silu, softplus) under student-t are left out here: towards an axis their degree-k moments behave
like |δ|^{ν−k−2} (E[gelu⁴] missed by ~2e-6 at ν = 6–6.5), which the directions do not resolve; `sphere_remainder`
takes them, relu's scale mixture plus φ − relu on this rule.
"""
from __future__ import annotations

import math

import numpy as np

from ..spec import NetworkSpec
from .first_layer import FirstLayerRule, _student_t_log_pdf, live_parameters
from .relu_sphere import sphere_directions

SMOOTH = {"laplace": ("tanh", "sigmoid", "erf", "gelu", "silu", "softplus"),
          "student-t": ("tanh", "sigmoid", "erf")}
SIDE_NODES = 20                 # Legendre nodes per side of a direction cell while every |a_l| ≤ 4
REACH = 7.0                     # largest coefficient |a_l| the rule takes (36 nodes per side there)
_T_LOW = -12.5                  # r³ = e^{−37.5} ≈ 5e-17: nothing below matters
_T_HIGH = {"laplace": 4.5, "student-t": 30.0}   # laplace: λr ≥ √2·e^{4.5} = 127; student-t as `relu_sphere`
_LOG_DROP = -55.0               # a node whose weight × (1 + |z|)⁶ is below e^{−55} ≈ 1e-24 is left out
MAX_NODES = 6_000_000           # nodes after pruning (estimated; two points to REACH, three to |a_l| ≈ 5)
_KEPT = {"laplace": 0.6, "student-t": 0.3}   # the share of directions × radii the pruning keeps (measured ≲)


def supported(spec: NetworkSpec) -> bool:
    """Exactly three live parameters, an activation of SMOOTH under its prior."""
    return (spec.input_dim > 1 and spec.activation in SMOOTH.get(spec.prior, ())
            and live_parameters(spec) == 3)


def log_r_step(spec: NetworkSpec) -> float:
    """The trapezoid step in log r."""
    return 0.1 if spec.prior == "student-t" and spec.prior_dof > 32.0 else 0.2


def _log_density(prior: str, r: np.ndarray, omega: np.ndarray, dof: float) -> np.ndarray:
    """log Π_i p(r ω_i) for rays (Q, 3) and radii r (T,): (Q, T)."""
    if prior == "laplace":   # Π p = 2^{−3/2} e^{−√2 r Σ|ω_i|}
        return -1.5 * math.log(2.0) - math.sqrt(2.0) * np.outer(np.abs(omega).sum(1), r)
    out = np.zeros((len(omega), len(r)))
    for i in range(3):
        out += _student_t_log_pdf(np.outer(omega[:, i], r), dof)
    return out


def side_nodes(largest: float) -> int:
    """Legendre nodes per cell side for the largest coefficient: the ray integral's disc of analyticity around a
    plane a·ω = 0 shrinks like 1/|a| in ω (tanh, erf × laplace against `fourier_pair`, ≤ 3e-12: 20 nodes to
    |a| = 4.1, 28 to 5.5, 36 to 6.9 (erf: 28 there leave 1e-11))."""
    return SIDE_NODES + 2 * math.ceil(2.5 * max(0.0, largest - 4.0))


def _grid(spec: NetworkSpec, x: np.ndarray):
    """(directions ω, their weights, log radii t, live parameter indices, their scales, coefficients (P, 3))."""
    d = spec.input_dim
    scales = np.array([spec.sigma_w / math.sqrt(d)] * d + [spec.sigma_b])
    live = np.flatnonzero(scales > 0)
    coeffs = (np.concatenate([x.T, np.ones((1, len(x)))])[live] * scales[live, None]).T      # (P, 3)
    # bounded φ under student-t: the ray integral goes like |δ|^{ν−2} towards an axis, smooth enough without
    # relu's grading (ν = 6: 1e-12, ν → 4: 1.2e-10; one level of it, 4× the nodes, 3e-12)
    omega, w_dir = sphere_directions(spec.prior, coeffs, spec.prior_dof, side_nodes(np.abs(coeffs).max()),
                                     np.zeros(0))
    step = log_r_step(spec)
    t = np.arange(_T_LOW, _T_HIGH[spec.prior] + step / 2, step)
    return omega, w_dir, t, live, scales[live], coeffs


def within_budget(spec: NetworkSpec, x: np.ndarray, any_smooth: bool = False) -> bool:
    """`supported` (`any_smooth`: any φ under laplace / student-t with three live parameters, for a caller that
    integrates a well-behaved remainder), and the rule for these points within REACH and MAX_NODES."""
    if not (supported(spec) or (any_smooth and spec.input_dim > 1 and spec.prior in SMOOTH
                                and live_parameters(spec) == 3)):
        return False
    omega, _, t, _, _, coeffs = _grid(spec, np.atleast_2d(np.asarray(x, dtype=np.float64)))
    return np.abs(coeffs).max() <= REACH and len(omega) * len(t) * _KEPT[spec.prior] <= MAX_NODES


def rule(spec: NetworkSpec, x: np.ndarray) -> FirstLayerRule | None:
    """The spherical rule for points x (P, d): nodes (Q, d+1) in parameter units, one weight per node; None
    beyond REACH or MAX_NODES (two or three points)."""
    omega, w_dir, t, live, scales, coeffs = _grid(spec, x)
    if np.abs(coeffs).max() > REACH or len(omega) * len(t) * _KEPT[spec.prior] > MAX_NODES:
        return None
    step, r = log_r_step(spec), np.exp(t)
    reach = np.abs(omega @ coeffs.T).max(1)                                                # max_k |a_k·ω|
    rays, radii, weights = [], [], []
    for lo in range(0, len(omega), 8192):      # (rays × radii) work arrays stay small
        sl = slice(lo, lo + 8192)
        log_w = _log_density(spec.prior, r, omega[sl], spec.prior_dof) + 3.0 * t + math.log(step)
        ray, k = np.nonzero(log_w + 6.0 * np.log1p(np.outer(reach[sl], r)) > _LOG_DROP)
        rays.append(ray + lo), radii.append(k), weights.append(w_dir[ray + lo] * np.exp(log_w[ray, k]))
    ray, k = np.concatenate(rays), np.concatenate(radii)
    nodes = np.zeros((len(ray), spec.input_dim + 1))
    nodes[:, live] = omega[ray] * r[k][:, None] * scales
    return FirstLayerRule(nodes=nodes, degree_weights=np.concatenate(weights)[None, :], homogeneous=False)
