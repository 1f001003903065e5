"""C(rθ̂) on rays for a monotone φ (erf, tanh, sigmoid, softplus, linear) under the student-t prior (docs/physics.md
§4.6).

A standardized student-t variable is √V·g, g ~ N(0, 1), V ~ InvGamma(ν/2, (ν−2)/2). Given the first layer's two
scales (V_w, V_b) the pre-activations (z₁, z₂) are Gaussian with Σ(V) = σ_w²V_w·xxᵀ + σ_b²V_b·11ᵀ, so the CDF of
U_θ = cos θ·φ(z₁) + sin θ·φ(z₂) is the scale mixture F(u) = E_V[F_{Σ(V)}(u)] of the gaussian prior's CDFs
(`neuron_cf.frame_cdf`, one frame per node of the product of two Gauss rules in log V, `scale_nodes`), every frame
on one u-rule: φ bounded keeps U's support the same for every V; an unbounded φ's (softplus, linear) grows with √V,
and the rule of the frame with both largest scales holds every support (graded towards u = 0 like each frame's own:
the same accuracy with 1/30 of the u-nodes of a rule per frame). The readout's own ψ (student-t: a Bessel function)
enters by parts, C(r) = 1 − ∫ d/du[ψ(sru)]·(F(u) − [u > 0]) du, with ψ′ from `student_t_cf.slope_outer`.

Accuracy, against the precise frame rule on a trapezoid mixture of hundreds to thousands of nodes (itself within
3e-10 of nested adaptive quadrature over (w, b); tests/engine/theory/test_joint_density_student_t.py): |δC| ≤ 1.7e-6
at ν = 4.5, 3.5e-7 at ν = 6, 3e-8 at ν = 6 near an axis (8 nodes per scale: 1.1e-7, 2.8e-8, but 1.8× the cost) at
x = ±1, σ_w = 1.5, σ_b = 0.3; on a ray where U_θ's linear part nearly cancels (x = (0.5, 1), σ_b = 0.1, θ = 2.5) up to
5e-5 (docs/physics.md §4.6: C(r; V) is a step in log V there);
against nested quadrature directly, softplus 1.1e-7 at ν = 4.5 (1.3e-7, 3.0e-7 at ν = 6, r = 6, 10), linear 3.9e-10
at ν = 6; the precise rule 2.3e-12, 6.6e-11, 4.6e-11 and 2.4e-12 there.
Cost: one gaussian frame per mixture node, ~0.05–0.1 s per ray on one core.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import linalg

from . import student_t_cf
from .neuron_cf import ODD, _extent, _tanh_sinh, frame_cdf, ray_frame, ray_u_rule
from .scale_mixture import inverse_gamma_rule

BOUNDED = ("erf", "tanh", "sigmoid")
COVERED = BOUNDED + ("softplus", "linear")   # the monotone φ (gelu's, silu's folded frames: ~6e8 terms at N = 1024)
MIX_NODES = 6           # Gauss nodes per scale (36 frames)
_Z_RULE = _tanh_sinh(1.0 / 8, 3.2)   # per frame (between the fast and precise gaussian rules: 1/7 cost sigmoid 1.8e-6)


@lru_cache(maxsize=16)
def log_scale_gauss_rule(dof: float, nodes: int = MIX_NODES) -> tuple[np.ndarray, np.ndarray]:
    """(V, w): the Gauss rule of `nodes` nodes in s = log V for V ~ InvGamma(ν/2, (ν−2)/2), built by the Stieltjes
    procedure on the discrete measure of a fine trapezoid rule in s (step 0.02, weights to e^{−40}; stable for a
    discrete measure) and Golub–Welsch. Far fewer nodes than the trapezoid for the same error: the weight's
    exponential right tail e^{−νs/2} forces the trapezoid to a wide range at a small step (its strip |Im s| < π/2)."""
    v, w = inverse_gamma_rule(dof, 0.02, 40.0)
    s, w = np.log(v), w / w.sum()
    alpha, beta = np.zeros(nodes), np.zeros(nodes)
    p_prev, p, norm_prev = np.zeros_like(s), np.ones_like(s), 1.0
    for k in range(nodes):
        norm = w @ (p * p)
        alpha[k] = w @ (s * p * p) / norm
        beta[k] = norm / norm_prev
        p_prev, p = p, (s - alpha[k]) * p - (beta[k] if k > 0 else 0.0) * p_prev
        norm_prev = norm
    off = np.sqrt(beta[1:])
    x, vec = linalg.eigh_tridiagonal(alpha, off)
    return np.exp(x), vec[0] ** 2


def scale_nodes(dof: float, nodes: int = MIX_NODES) -> np.ndarray:
    """(K, 3): V_w, V_b and the weight (summing to 1) of the product Gauss rule over the first layer's two scales."""
    v, w = log_scale_gauss_rule(float(dof), nodes)
    vw, vb = np.meshgrid(v, v, indexing="ij")
    out = np.stack([vw.ravel(), vb.ravel(), np.outer(w, w).ravel()], axis=1)
    out[:, 2] /= out[:, 2].sum()
    return out


class StudentTRayCF:
    """C(r·(cos θ, sin θ)) for one θ under the student-t prior: the gaussian frames' CDFs on u-rules (bounded φ: one
    shared rule covering every frame's support, the mixture CDF formed there), then any r by one by-parts sum."""

    def __init__(self, activation: str, x: tuple[float, float], sigma_w: float, sigma_b: float, s: float,
                 dof: float, theta: float, r_max: float, precise: bool = False, nodes: np.ndarray | None = None):
        if activation not in COVERED:
            raise ValueError(f"StudentTRayCF covers {', '.join(COVERED)} (got {activation!r})")
        nodes = scale_nodes(dof) if nodes is None else nodes
        x1, x2 = x
        base = np.array([[x1 * x1, x1 * x2], [x1 * x2, x2 * x2]])
        frames = [(sigma_w**2 * vw * base + sigma_b**2 * vb, wt) for vw, vb, wt in nodes]
        self.work = 0
        self.kernel_cost = 0.6   # terms per u-node and radius in the by-parts sum (its ψ′ table: 2× a gaussian's exp)
        if activation in BOUNDED:   # U's support is the same for every V: any frame's rule (its indices: θ's)
            cover = sigma_w**2 * base + sigma_b**2
        else:                       # the largest scales' frame: its support holds every frame's
            cover = sigma_w**2 * nodes[:, 0].max() * base + sigma_b**2 * nodes[:, 1].max()
        u, wu = ray_u_rule(activation, cover, theta, s * r_max, precise)
        f = np.zeros(len(u))
        for sig, wt in frames:
            f += wt * self._frame(activation, sig, theta, u, precise)
        self.odd = activation in ODD
        self.u, self.s, self.dof = u, s, dof
        self.signed = np.sign(u) * wu * (f - (u > 0))             # sign(u)·wu·(F − [u > 0]) of the mixture
        self.bandwidth = s * _extent(u, f - (u > 0))

    def _frame(self, activation, sig, theta, u, precise) -> np.ndarray:
        """F_{Σ(V)}(u) of one gaussian frame."""
        i, o, a, b = ray_frame(sig, theta)[:4]
        s_oo, s_io = sig[o, o], sig[i, o]
        tau = math.sqrt(max(sig[i, i] - s_io**2 / s_oo, 0.0))
        part, work = frame_cdf(activation, a, b, math.sqrt(s_oo), s_io / s_oo, tau, u, precise,
                               None if precise else _Z_RULE)
        self.work += work
        return part

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """C at radii r (student-t readout: −d/du ψ(sru) = sr·sign(u)·slope(sr|u|))."""
        sr = self.s * np.asarray(r, dtype=np.float64)
        kernel = student_t_cf.slope_outer(sr, np.abs(self.u), self.dof)   # sign(u) is in `signed`
        return 1.0 + (2.0 if self.odd else 1.0) * sr * (kernel @ self.signed)


__all__ = ["BOUNDED", "COVERED", "StudentTRayCF", "scale_nodes"]
