"""gelu, silu, softplus under student-t with three live parameters: relu's scale mixture plus a remainder on the
sphere (docs/physics.md §4.2).

Near an axis of the parameters a growing φ's degree-k moments behave like |δ|^{ν−k−2} (one parameter far out in
its algebraic tail carries z), which the spherical rule of `smooth_sphere` does not resolve: E[gelu⁴] missed by
2e-6 at ν = 6.5, E[gelu⁶] by 5e-7 at ν = 9. But φ = relu + d with d(z) = φ(z) − relu(z) falling like e^{−z²/2}
(gelu) or e^{−|z|} (silu, softplus), so

    E[φ(z_i)^p φ(z_j)^q] = E[relu(z_i)^p relu(z_j)^q] + E[φ_i^p φ_j^q − relu_i^p relu_j^q],

the first exact through relu's Gaussian scale mixture (`scale_mixture.relu_pair_moments`, Cho–Saul given the
scales), the second on the sphere: along an axis both z grow with r, every term of the difference carries a
factor d, and the integrand falls away instead of following the tail. (A point with a zero coefficient on some
parameter puts that axis in its plane; there the difference is bounded along the axis, like tanh.)

Checked (tests): against the direct spherical rule where that one is exact (laplace; student-t at ν = 100) ≤ 2e-12;
E[gelu²gelu²] at ν = 9, σ_w = 1.5 against 3-D nested quad 8e-12. (At ν = 30 the direct rule needs the log-r step
1/10 for E[gelu⁶] — 4.5e-9 at 1/5 — and then agrees to 1e-13; the split holds 4e-13 at either step.) Cost: two
points 1.5–3 s, mostly the mixture's moments of degree 4 and 6. The kernels (`kernel_first_layer`) take the same
rule for a few points under student-t, tanh and sigmoid too: on an axis ≤ 1e-10 at ν = 4.5, ≤ 2e-11 from ν = 6.
"""
from __future__ import annotations

import numpy as np

from ..activations import get_activation
from ..spec import NetworkSpec
from . import scale_mixture, smooth_sphere
from .first_layer import live_parameters
from .pair_reduction import StoredPairMoments, distinct_points

GROWING = ("gelu", "silu", "softplus")
_PAIR_DEGREES = ((1, 1), (2, 2), (1, 3), (3, 1))   # the mixture's two-point closed forms


def supported(spec: NetworkSpec) -> bool:
    return (spec.input_dim > 1 and spec.prior == "student-t" and spec.activation in GROWING
            and live_parameters(spec) == 3)


def within_budget(spec: NetworkSpec, x: np.ndarray) -> bool:
    return supported(spec) and smooth_sphere.within_budget(spec, x, any_smooth=True)


class RemainderMoments(StoredPairMoments):
    """The moment arrays of `neuron_moments.NeuronMoments` (and tuples of at most two distinct points with the
    mixture's degrees)."""

    def __init__(self, spec: NetworkSpec, x: np.ndarray):
        self.spec = spec
        self.a = scale_mixture.live_coefficients(spec, x)
        rule = smooth_sphere.rule(spec, x)
        self.w = rule.weights(0)
        z = rule.nodes[:, :-1] @ x.T + rule.nodes[:, -1:]
        self.h = get_activation(spec.activation).numpy_fn(z, 0.0)
        self.r = np.maximum(z, 0.0)
        p = len(x)
        i, j = np.indices((p, p)).reshape(2, -1)
        self._h2 = self._pairs(1, 1, i, j)
        self._h4 = self._pairs(2, 2, i, j)
        self._h31 = self._pairs(3, 1, i, j)

    def _mixture(self, i: np.ndarray, j: np.ndarray, degree: tuple[int, int]) -> np.ndarray:
        return scale_mixture.relu_pair_moments(self.spec.prior, self.spec.prior_dof, self.a, i, j, degree)

    def _pairs(self, p: int, q: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """E[h_i^p h_j^q] for every (i, j) of the points, (P, P)."""
        n = len(self.a)
        rest = (self.h**p * self.w[:, None]).T @ self.h**q - (self.r**p * self.w[:, None]).T @ self.r**q
        same = i == j      # one point: its (p + q, 0) moment
        out = np.empty(len(i))
        out[~same] = self._mixture(i[~same], j[~same], (p, q))
        out[same] = self._mixture(i[same], i[same], (p + q, 0))
        return rest + out.reshape(n, n)

    def h6(self) -> np.ndarray:
        i = np.arange(len(self.a))
        return self.w @ (self.h**6 - self.r**6) + self._mixture(i, i, (6, 0))

    def h_tuple(self, idx: tuple[int, ...]) -> float | None:
        """E[h(x_{i1}) … h(x_{ik})] for one point, or two with powers (1, 1), (2, 2), (3, 1); else None."""
        pts = distinct_points(self.a, idx)
        if len(pts) == 1 or (len(pts) == 2 and tuple(pts.values()) in _PAIR_DEGREES):
            (i, p), (j, q) = (list(pts.items()) + [(next(iter(pts)), 0)])[:2]
            rest = self.w @ (self.h[:, i] ** p * self.h[:, j] ** q - self.r[:, i] ** p * self.r[:, j] ** q)
            return float(rest + self._mixture(np.array([i]), np.array([j]), (p, q))[0])
        return None


def kernel_supported(spec: NetworkSpec, pts: np.ndarray) -> bool:
    """The kernels' E[φφ], E[φ′φ′] under student-t for a few points (one spherical rule over all of them): tanh,
    sigmoid directly, gelu / silu / softplus through the split (erf keeps its scale mixture)."""
    return spec.prior == "student-t" and spec.activation != "erf" and (
        smooth_sphere.within_budget(spec, pts) or within_budget(spec, pts))


def kernel_first_layer(spec: NetworkSpec, x: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E[φ(z(x))φ(z(x′))], E[φ′φ′]) (P, P2) on one spherical rule over the union of the points; growing φ take
    relu's mixture plus the remainder for E[φφ] (φ′ is bounded, like tanh)."""
    same = x2 is x
    pts = x if same else np.concatenate([x, x2])
    rule = smooth_sphere.rule(spec, pts)
    w = rule.weights(0)
    z = rule.nodes[:, :-1] @ pts.T + rule.nodes[:, -1:]
    act = get_activation(spec.activation)
    f, g = act.numpy_fn(z, 0.0), act.numpy_grad(z, 0.0)
    e_phi, e_dphi = (f * w[:, None]).T @ f, (g * w[:, None]).T @ g
    if spec.activation in GROWING:
        r = np.maximum(z, 0.0)
        a = scale_mixture.live_coefficients(spec, pts)
        i, j = np.triu_indices(len(pts), 1)
        relu = np.diag(scale_mixture.relu_pair_moments(spec.prior, spec.prior_dof, a, np.arange(len(pts)),
                                                       np.arange(len(pts)), (2, 0)))
        relu[i, j] = relu[j, i] = scale_mixture.relu_pair_moments(spec.prior, spec.prior_dof, a, i, j, (1, 1))
        e_phi += relu - (r * w[:, None]).T @ r
    e_phi, e_dphi = 0.5 * (e_phi + e_phi.T), 0.5 * (e_dphi + e_dphi.T)
    if same:
        return e_phi, e_dphi
    p = len(x)
    return e_phi[:p, p:], e_dphi[:p, p:]

