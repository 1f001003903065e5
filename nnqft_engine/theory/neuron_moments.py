"""Joint moments of one first-layer neuron h(x) = φ(w·x + b) under the true prior (docs/physics.md §2, §4).

H_{1..k} = E_{w,b}[h(x₁)…h(x_k)] is a (d+1)-dimensional integral. Three exact-to-rounding routes:

- gauss-net (φ = e^{z−q}): closed form through the prior's moment generating function, including where
  it diverges (laplace / student-t tails make high moments infinite — reported as inf, not a wrong number);
- d = 1 (and rademacher at any d): `first_layer.split_rule`, the rule the kernels share — relu in polar
  coordinates split at every kink angle, smooth φ on graded composite Gauss–Legendre pieces;
- gaussian prior at d > 1: the bivariate Gaussian of each pair of points (`pair_reduction`), relu with more than
  three live parameters under uniform / laplace a polynomial over polytopes (`relu_polytope`, any tuple of
  points), under student-t its scale mixture (`scale_mixture`), sin and cos
  under any prior the characteristic function (`trig_moments`), for every
  moment of at most two points (a tuple of more points falls back to the routes below);
- smooth φ with three live parameters under laplace (and tanh / sigmoid / erf under student-t): spherical
  coordinates around the origin, where every transition plane meets (`smooth_sphere`), one rule for all points;
- kinked φ (relu), d > 1, with a continuous prior: a product rule over all but one parameter, and along the last
  one (b, or the last weight when σ_b = 0) Gauss–Legendre on pieces split at every kink b = −w·x_k, at the
  prior's own kink (laplace) and on a fixed grid over the prior's effective support;
- otherwise the engine's tensor-product rule `quadrature.first_layer_rule` (smooth φ).

`NeuronMoments` exposes the handful of moment arrays the finite-width theory needs; `s2` (optional, one
value per quadrature node) weights them for the sequential mechanism, E[s² h h] etc. (s² is not homogeneous
in (w, b), so those use the d > 1 rules.)
"""
from __future__ import annotations

import math

import numpy as np

from ..activations import get_activation
from ..gauss_rules import legendre_rule
from ..priors import quadrature_rule, standardized_pdf
from ..spec import NetworkSpec, layer_variances
from .first_layer import FirstLayerRule, smooth_rule, split_rule
from . import fourier_pair, relu_polytope, scale_mixture, smooth_sphere, sphere_remainder, trig_moments
from .pair_reduction import PairwiseMoments
from .quadrature import first_layer_rule

SQRT3 = math.sqrt(3.0)
# Standardized support used along the piecewise axis, fixed pieces on it, Legendre nodes per piece.
_PIECE_RANGE = {"gaussian": 13.0, "laplace": 42.0, "uniform": SQRT3}
PIECEWISE_PRIORS = frozenset(_PIECE_RANGE)
_FIXED_PIECES = {"gaussian": 26, "laplace": 28, "uniform": 4}
_LEGENDRE = 10
_LEGENDRE_OUTER = 20   # d = 1 outer axis: 10 leave 2e-6 on the sequential E[s² h h] (laplace, σ_w = 3)
_MAX_OUTER_NODES = 6000



def _coefficients(spec: NetworkSpec, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scales (d+1,), V (d+1, P)) with z(x_k) = Σ_j scale_j · u_j · V[j, k] for standardized u."""
    d = spec.input_dim
    scales = np.array([spec.sigma_w / math.sqrt(d)] * d + [spec.sigma_b])
    v = np.concatenate([x.T, np.ones((1, len(x)))], axis=0)
    return scales, v


def _fixed_piece_rule(prior: str, extra: np.ndarray = np.zeros(0)) -> tuple[np.ndarray, np.ndarray]:
    """1-D rule for the standardized prior: Legendre on fixed pieces of its support (an edge at 0), also split
    at the points `extra`."""
    rng = _PIECE_RANGE[prior]
    edges = np.union1d(np.linspace(-rng, rng, _FIXED_PIECES[prior] + 1), np.clip(extra, -rng, rng))
    g, gw = legendre_rule(_LEGENDRE_OUTER)
    half = 0.5 * np.diff(edges)
    u = (0.5 * (edges[1:] + edges[:-1]))[:, None] + half[:, None] * g
    w = half[:, None] * gw * standardized_pdf(prior, u)
    return u.ravel(), w.ravel()


def piecewise_rule(spec: NetworkSpec, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nodes (Q, d+1) in parameter units, weights (Q,)) exact for integrands with kinks at w·x_k + b = 0."""
    prior = spec.prior
    scales, v = _coefficients(spec, x)
    live = [j for j in range(len(scales)) if scales[j] > 0]
    if not live:
        return np.zeros((1, len(scales))), np.ones(1)
    axis, outer = live[-1], live[:-1]
    if len(outer) == 1:
        # All kink lines w·x + b = 0 meet at w = 0 (d = 1): pieces with an edge there keep this exact. uniform: also
        # where a kink leaves the support (b = ±√3), and pieces shrinking geometrically towards the support edges
        # (the sequential mechanism's s²(w) is singular there).
        extra = np.zeros(0)
        if prior == "uniform":
            c = v[outer[0]] * scales[outer[0]]
            c = c[c != 0]
            edge = SQRT3 * (1.0 - 2.0 ** -np.arange(1, 40))
            extra = np.concatenate([(SQRT3 * scales[axis] / c)[:, None] * [-1.0, 1.0], [edge, -edge]], axis=None)
        u1, w1 = _fixed_piece_rule(prior, extra)
    elif outer:
        per = 2 if prior == "laplace" else 1   # laplace's rule has n nodes on each half-line
        u1, w1 = quadrature_rule(prior, min(120, int(_MAX_OUTER_NODES ** (1.0 / len(outer))) // per))
    grids = np.meshgrid(*([u1] * len(outer)), indexing="ij") if outer else []
    wgrids = np.meshgrid(*([w1] * len(outer)), indexing="ij") if outer else []
    n_o = grids[0].size if outer else 1
    base = np.zeros((n_o, len(scales)))
    for j, g in zip(outer, grids):
        base[:, j] = g.ravel() * scales[j]
    w_outer = np.prod(np.stack([g.ravel() for g in wgrids]), axis=0) if outer else np.ones(1)
    # Kinks along the piecewise axis, in its standardized units.
    rng = _PIECE_RANGE[prior]
    coef = v[axis] * scales[axis]
    rest = base @ v                                                      # (n_o, P)
    with np.errstate(divide="ignore", invalid="ignore"):
        kinks = np.where(coef != 0, -rest / np.where(coef != 0, coef, 1.0), -rng)
    fixed = np.linspace(-rng, rng, _FIXED_PIECES[prior] + 1)
    extra = [np.zeros(1)] if prior == "laplace" else []
    edges = np.concatenate([np.broadcast_to(e, (n_o, e.size)) for e in [fixed, *extra]]
                           + [np.clip(kinks, -rng, rng)], axis=1)
    edges.sort(axis=1)
    lo, hi = edges[:, :-1], edges[:, 1:]
    g, gw = legendre_rule(_LEGENDRE)
    half = 0.5 * (hi - lo)
    u = (0.5 * (hi + lo))[..., None] + half[..., None] * g             # (n_o, pieces, L)
    wts = w_outer[:, None, None] * half[..., None] * gw * standardized_pdf(prior, u)
    nodes = np.repeat(base, u.shape[1] * u.shape[2], axis=0)
    nodes[:, axis] = u.ravel() * scales[axis]
    keep = wts.ravel() > 0
    return nodes[keep], wts.ravel()[keep]


def _log_mgf(prior: str, t: np.ndarray, dof: float) -> np.ndarray:
    """log E[e^{tα}] of the standardized variable (inf where it diverges)."""
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if prior == "gaussian":
            return 0.5 * t * t
        if prior == "uniform":
            a = np.abs(SQRT3 * t)
            return np.where(a < 1e-8, a * a / 6.0, a + np.log1p(-np.exp(-2 * a)) - math.log(2.0) - np.log(a))
        if prior == "laplace":
            return np.where(t * t < 2.0, -np.log1p(-0.5 * t * t), np.inf)
        if prior == "rademacher":
            a = np.abs(t)
            return a + np.log1p(np.exp(-2 * a)) - math.log(2.0)
        if prior == "student-t":
            return np.where(t == 0, 0.0, np.inf)
    raise ValueError(f"unknown prior {prior!r}")


class NeuronMoments:
    """Moment arrays of one neuron at points x (P, d); `s2` enables the sequentially-scaled variants."""

    def __init__(self, spec: NetworkSpec, x: np.ndarray, s2_of_nodes=None):
        self.spec, self.x = spec, x
        self.act = get_activation(spec.activation)
        self.q = layer_variances(spec, x)[0]
        self.scales, self.v = _coefficients(spec, x)
        self.closed = self.act.exponential and s2_of_nodes is None
        # gaussian prior at d > 1: one d = 1 rule per pair of points (`pair_reduction`, docs/physics.md §4.2)
        # relu, > 3 live parameters: uniform / laplace over polytopes (`relu_polytope`), student-t the Gaussian
        # scale mixture (`scale_mixture`); tanh / sigmoid / erf under laplace the pair's characteristic function
        # (`fourier_pair`); gelu / silu / softplus under student-t (three live) relu's mixture plus a remainder on
        # the sphere (`sphere_remainder`)
        self.pairwise = None
        if not self.closed and s2_of_nodes is None and spec.input_dim == 1 and trig_moments.supported(spec):
            self.pairwise = trig_moments.TrigMoments(spec, x)
        elif not self.closed and s2_of_nodes is None and spec.input_dim > 1:
            if spec.prior == "gaussian":
                self.pairwise = PairwiseMoments(spec, x)
            elif relu_polytope.supported(spec):
                self.pairwise = relu_polytope.PolytopeMoments(spec, x)
            elif scale_mixture.supported(spec):
                self.pairwise = scale_mixture.MixtureMoments(spec, x)
            elif trig_moments.supported(spec):
                self.pairwise = trig_moments.TrigMoments(spec, x)
            elif fourier_pair.within_budget(spec, x):
                self.pairwise = fourier_pair.FourierMoments(spec, x)
            elif sphere_remainder.within_budget(spec, x):
                self.pairwise = sphere_remainder.RemainderMoments(spec, x)
        if not self.closed and self.pairwise is None:
            self._build_rule(s2_of_nodes)
        # erf under student-t (≤ 3 live): H₁₂ from the scale mixture, gelu / silu / softplus under laplace from
        # the pair's characteristic function, as the kernels take them; the higher moments come from the rule
        # above (spherical at three live parameters, else the tensor rule) (docs/physics.md §4.2)
        self._h2 = None
        if s2_of_nodes is None and self.pairwise is None:
            if scale_mixture.erf_supported(spec):
                self._h2 = scale_mixture.erf_first_layer(spec, x)[0]
            elif fourier_pair.within_budget(spec, x, kernel=True):
                self._h2 = fourier_pair.fourier_first_layer(spec, x)[0]     # gelu, silu, softplus × laplace

    def _build_rule(self, s2_of_nodes=None) -> None:
        """The joint rule over all points: self._rule, φ at its nodes (self.h), and s² there."""
        spec, x = self.spec, self.x
        if s2_of_nodes is None:
            rule = split_rule(spec, x)
            if rule is None and smooth_sphere.supported(spec):
                rule = smooth_sphere.rule(spec, x)
        elif spec.input_dim == 1 and self.act.smooth and spec.prior in _PIECE_RANGE:
            rule = smooth_rule(spec, x, edge_grading=True)   # not homogeneous, so s² (a function of w) may multiply it
        else:
            rule = None
        # False: the unsplit tensor (or bias-axis) rule below, not shown to reach 1e-9 at d > 1 (§4.2)
        self.joint_rule_split = rule is not None or spec.input_dim == 1 or spec.prior == "rademacher"
        if rule is not None:
            nodes, self._rule = rule.nodes, rule
        else:
            if not self.act.smooth and spec.prior in _PIECE_RANGE:
                nodes, w = piecewise_rule(spec, x)
            else:
                nodes, w = first_layer_rule(spec)
            self._rule = FirstLayerRule(nodes, w[None, :], homogeneous=False)
        self.w = self._rule.weights(0)
        self.h = self.act.numpy_fn(nodes[:, :-1] @ x.T + nodes[:, -1:], self.q[None, :])
        self.s2 = None if s2_of_nodes is None else s2_of_nodes(nodes)

    def _gn(self, counts: np.ndarray) -> np.ndarray:
        """gauss-net E[Π_k h(x_k)^{c_k}] for count arrays (..., P)."""
        t = np.tensordot(counts, self.v.T, axes=1) * self.scales          # (..., d+1)
        logm = _log_mgf(self.spec.prior, t, self.spec.prior_dof).sum(-1) - counts @ self.q
        with np.errstate(over="ignore"):
            return np.exp(logm)

    def h2(self) -> np.ndarray:
        if self.closed:
            eye = np.eye(len(self.x))
            return self._gn(eye[:, None, :] + eye[None, :, :])
        if self.pairwise is not None:
            return self.pairwise.h2()
        if self._h2 is not None:
            return self._h2
        return (self.h * self._rule.weights(2)[:, None]).T @ self.h

    def h4_pair(self) -> np.ndarray:
        """E[h_i² h_j²]."""
        if self.closed:
            eye = np.eye(len(self.x))
            return self._gn(2 * eye[:, None, :] + 2 * eye[None, :, :])
        if self.pairwise is not None:
            return self.pairwise.h4_pair()
        h2 = self.h * self.h
        return (h2 * self._rule.weights(4)[:, None]).T @ h2

    def h31_pair(self) -> np.ndarray:
        """E[h_i³ h_j] (the deep theory's fourth moments off the diagonal, docs/physics.md §8.1)."""
        if self.closed:
            eye = np.eye(len(self.x))
            return self._gn(3 * eye[:, None, :] + eye[None, :, :])
        if self.pairwise is not None:
            return self.pairwise.h31_pair()
        return (self.h**3 * self._rule.weights(4)[:, None]).T @ self.h

    def h6(self) -> np.ndarray:
        if self.closed:
            return self._gn(6 * np.eye(len(self.x)))
        if self.pairwise is not None:
            return self.pairwise.h6()
        return self._rule.weights(6) @ self.h**6

    def h_tuple(self, idx: tuple[int, ...]) -> float:
        """E[h(x_{i1}) … h(x_{ik})] for point indices idx."""
        if self.closed:
            return float(self._gn(np.bincount(np.asarray(idx), minlength=len(self.x)).astype(float)))
        if self.pairwise is not None:
            val = self.pairwise.h_tuple(idx)
            if val is not None:
                return val
            if not hasattr(self, "_rule"):   # more than two distinct points: the joint rule (docs/physics.md §4.2)
                self._build_rule()
        return float(self._rule.weights(len(idx)) @ np.prod(self.h[:, list(idx)], axis=1))

    def s2_h2(self) -> np.ndarray:
        """E[s² h_i h_j]."""
        return (self.h * (self.w * self.s2)[:, None]).T @ self.h

    def s2_h4(self) -> np.ndarray:
        return (self.w * self.s2) @ self.h**4

    def s4_h2(self) -> np.ndarray:
        return (self.w * self.s2**2) @ self.h**2

    def s2_tuple(self, idx: tuple[int, int]) -> float:
        return float((self.w * self.s2) @ np.prod(self.h[:, list(idx)], axis=1))
