"""Infinite-width NNGP and NTK kernels, any depth, both parameterizations (docs/physics.md §3).

All arithmetic is float64 numpy. Closed forms (arc-cosine, arcsin, sin/cos, gauss-net, linear) where they
exist, Gauss–Hermite quadrature otherwise. With a non-Gaussian prior the first hidden layer's expectations
are taken over that prior, since z¹ = w·x + b is a sum of only d + 1 terms. For d = 1 (and for any prior when
φ has no closed form) that uses the split rule `first_layer.split_rule` that the exact correlators share, which
reaches ~1e-13 also at relu's kink (docs/physics.md §4); for d > 1 under the gaussian prior the same d = 1 rules
per pair of points (`pair_reduction`), otherwise the routes `prior_first_layer` lists in order (the characteristic
function, scale mixtures, polytopes, the spherical rule for a few points under student-t) or, beyond them,
`relu_sphere` and `quadrature.first_layer_rule`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..activations import Activation, get_activation
from ..cancel import check_cancelled
from ..priors import mgf
from ..spec import NetworkSpec, as_points, layer_variances
from . import fourier_pair, relu_polytope, scale_mixture, sphere_remainder, trig_moments
from .first_layer import live_parameters, split_rule
from .neuron_moments import PIECEWISE_PRIORS, piecewise_rule
from .pair_reduction import gaussian_first_layer
from .quadrature import first_layer_rule, gaussian_pair_expectation


@dataclass(frozen=True)
class Kernels:
    """NNGP K(x, x') and NTK Θ(x, x') of the network output on points x (P×P, float64)."""

    x: np.ndarray
    nngp: np.ndarray
    ntk: np.ndarray


def gaussian_layer(act: Activation, k11, k22, k12, q1=0.0, q2=0.0) -> tuple[np.ndarray, np.ndarray]:
    """(E[φ(u)φ(v)], E[φ'(u)φ'(v)]) for (u, v) ~ N(0, [[k11, k12], [k12, k22]]), elementwise: the
    activation record's closed form where it has one, Gauss–Hermite quadrature otherwise."""
    k11, k22, k12 = (np.asarray(a, dtype=np.float64) for a in (k11, k22, k12))
    if act.gaussian_pair is not None:
        return act.gaussian_pair(k11, k22, k12, q1, q2)
    scale = act.quadrature_scale
    return (gaussian_pair_expectation(act.numpy_fn, act.numpy_fn, k11, k22, k12, q1=q1, q2=q2, scale=scale),
            gaussian_pair_expectation(act.numpy_grad, act.numpy_grad, k11, k22, k12, q1=q1, q2=q2, scale=scale))


def _symmetric_layer(act: Activation, k: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """gaussian_layer on a symmetric covariance; quadrature only on the upper triangle (half the work)."""
    diag = np.diag(k)
    if act.closed_form:
        return gaussian_layer(act, diag[:, None], diag[None, :], k, q[:, None], q[None, :])
    i, j = np.triu_indices(len(k))
    upper = gaussian_layer(act, diag[i], diag[j], k[i, j], q[i], q[j])
    out = []
    for vals in upper:
        full = np.empty_like(k)
        full[i, j] = vals
        full[j, i] = vals
        out.append(full)
    return out[0], out[1]


def prior_first_layer(spec: NetworkSpec, x: np.ndarray, x2: np.ndarray | None = None,
                      n_per_dim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(E[φ(z¹(x))φ(z¹(x'))], E[φ'φ']) over the true prior of (w, b); shapes (P, P2)."""
    act = get_activation(spec.activation)
    x2 = x if x2 is None else x2
    q_a, q_b = layer_variances(spec, x)[0], layer_variances(spec, x2)[0]
    if act.exponential:
        # E[e^{w·(x+x') + 2b}] factorizes into the prior's moment-generating function per parameter
        # (infinite for heavy tails: such a network has no second moment).
        s_w = spec.sigma_w / math.sqrt(spec.input_dim)
        m = np.prod(mgf(spec.prior, s_w * (x[:, None, :] + x2[None, :, :]), spec.prior_dof), axis=-1)
        e = m * mgf(spec.prior, 2.0 * spec.sigma_b, spec.prior_dof) * np.exp(-q_a[:, None] - q_b[None, :])
        return e, e
    if n_per_dim is None and spec.input_dim > 1 and act.name == "relu" and spec.prior != "rademacher" \
            and live_parameters(spec) <= 3:
        return _relu_pairwise(spec, x, x2)
    if n_per_dim is None and relu_polytope.supported(spec):
        return relu_polytope.relu_first_layer(spec, x, x2)
    if n_per_dim is None and x2 is x and scale_mixture.supported(spec):
        return scale_mixture.relu_first_layer(spec, x)
    both = x if x2 is x else np.concatenate([x, x2])
    if n_per_dim is None and fourier_pair.within_budget(spec, both, kernel=True):
        return fourier_pair.fourier_first_layer(spec, x, x2)
    if n_per_dim is None and x2 is x and scale_mixture.erf_supported(spec):
        return scale_mixture.erf_first_layer(spec, x)
    if n_per_dim is None and sphere_remainder.kernel_supported(spec, both):
        return sphere_remainder.kernel_first_layer(spec, x, x2)     # student-t, a few points, three live
    if n_per_dim is None and x2 is x and trig_moments.supported(spec):
        return trig_moments.trig_first_layer(spec, x)
    pts = x if x2 is x else np.concatenate([x, x2])
    rule = split_rule(spec, pts) if n_per_dim is None else None
    if rule is None:
        if n_per_dim is None and not act.smooth and spec.prior in PIECEWISE_PRIORS:   # as the exact theory does
            nodes, w = piecewise_rule(spec, pts)
        else:
            nodes, w = first_layer_rule(spec, n_per_dim)
        w_phi = w_dphi = w
    else:  # relu's polar rule weighs φφ (degree 2) and φ′φ′ (degree 0) differently
        nodes, w_phi, w_dphi = rule.nodes, rule.weights(2), rule.weights(0)
    za = nodes[:, :-1] @ x.T + nodes[:, -1:]
    fa, ga = act.numpy_fn(za, q_a[None, :]), act.numpy_grad(za, q_a[None, :])
    if x2 is x:  # one evaluation of φ and φ′ serves both sides
        fb, gb = fa, ga
    else:
        zb = nodes[:, :-1] @ x2.T + nodes[:, -1:]
        fb, gb = act.numpy_fn(zb, q_b[None, :]), act.numpy_grad(zb, q_b[None, :])
    ea = (fa * w_phi[:, None]).T @ fb
    eb = (ga * w_dphi[:, None]).T @ gb
    if x2 is x:  # the quadrature sum is symmetric in exact arithmetic; make it so in floating point
        ea, eb = 0.5 * (ea + ea.T), 0.5 * (eb + eb.T)
    return ea, eb


def _relu_pairwise(spec: NetworkSpec, x: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """relu at d > 1: one split rule per pair of points (a rule split along every point's kink costs O(P³) nodes,
    one per pair O(1))."""
    act = get_activation(spec.activation)
    same = x2 is x
    ea, eb = np.empty((len(x), len(x2))), np.empty((len(x), len(x2)))
    for i in range(len(x)):
        check_cancelled()
        for j in range(i if same else 0, len(x2)):
            pts = x[[i]] if same and i == j else np.stack([x[i], x2[j]])
            rule = split_rule(spec, pts)
            z = rule.nodes[:, :-1] @ pts.T + rule.nodes[:, -1:]
            f = act.numpy_fn(z, 0.0)
            g = act.numpy_grad(z, 0.0)
            ea[i, j] = rule.weights(2) @ (f[:, 0] * f[:, -1])
            eb[i, j] = rule.weights(0) @ (g[:, 0] * g[:, -1])
            if same:
                ea[j, i], eb[j, i] = ea[i, j], eb[i, j]
    return ea, eb


def kernels(spec: NetworkSpec, x, *, n_per_dim: int | None = None) -> Kernels:
    """NNGP and NTK of the network's output at points x (P, d), float64."""
    pts = as_points(x, spec.input_dim)
    act = get_activation(spec.activation)
    sw2, sb2 = spec.sigma_w**2, spec.sigma_b**2
    d, n = spec.input_dim, spec.width
    standard = spec.parameterization == "standard"
    dot = pts @ pts.T / d
    if d > 1:  # BLAS need not return an exactly symmetric product; everything downstream keeps symmetry
        dot = 0.5 * (dot + dot.T)
    k = sw2 * dot + sb2                                   # Σ¹
    theta = (d * dot + 1.0) if standard else k.copy()     # Θ¹
    qs = layer_variances(spec, pts)
    # A divergent moment (gauss-net under heavy-tailed priors) propagates as inf; inf·0 or inf − inf
    # would make NaN of it, so NaN is reported as the divergence it is.
    with np.errstate(over="ignore", invalid="ignore"):
        for layer in range(spec.depth):
            check_cancelled()
            q = qs[layer]
            # The first layer integrates over (w, b) under the true prior with the rule the exact correlators
            # use (`first_layer.split_rule`), so `kernel` and `theory` agree; Gaussian closed forms stay exact.
            if layer == 0 and (spec.prior != "gaussian" or (d == 1 and not act.closed_form)):
                e_phi, e_dphi = prior_first_layer(spec, pts, n_per_dim=n_per_dim)
            elif layer == 0 and not act.closed_form and n_per_dim is None:
                # d > 1, gaussian prior: the d = 1 rule per pair (`pair_reduction`), as `theory` does
                e_phi, e_dphi = gaussian_first_layer(spec, pts)
            else:
                e_phi, e_dphi = _symmetric_layer(act, k, q)
            theta *= e_dphi                                   # in place: P×P temporaries dominate at P ~ 1000
            theta *= sw2
            if standard:                                      # fan_in = N for every layer after the first
                theta += n * e_phi + 1.0
            e_phi = np.array(e_phi, dtype=np.float64, copy=True) if e_phi is k else e_phi
            e_phi *= sw2
            e_phi += sb2
            k = e_phi                                         # K^{l+1} = σ_w² E[φφ] + σ_b²
            if not standard:
                theta += k
    return Kernels(x=pts, nngp=_diverged_as_inf(k), ntk=_diverged_as_inf(theta))


def _diverged_as_inf(a: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(a), np.inf, a)


def cross_kernels(spec: NetworkSpec, x1, x2) -> tuple[np.ndarray, np.ndarray]:
    """(K(x1, x2), Θ(x1, x2)) as rectangular blocks, via the kernels of the union of points."""
    a, b = as_points(x1, spec.input_dim), as_points(x2, spec.input_dim)
    kk = kernels(spec, np.concatenate([a, b]))
    p = len(a)
    return kk.nngp[:p, p:], kk.ntk[:p, p:]


