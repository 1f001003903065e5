"""One first-layer quadrature rule over (w, b), shared by the kernels, the exact correlators and the density
(docs/physics.md §4).

Every depth-1 quantity is an integral over one neuron's parameters under the true prior. For d = 1 inputs
z(x) = σ_w·x·u + σ_b·v with (u, v) i.i.d. standardized, and φ changes fast only near the line z = 0 (relu's
kink, tanh's poles at z = ±iπ/2, erf's step): a plain tensor rule with the prior's own Gauss rule converges
slowly there (a 6 % error on relu's E[φ′φ′] under laplace/uniform priors, 1e-5 on tanh at σ_w = 3). Two rules
reach ~1e-13 instead:

- relu (positively homogeneous): polar coordinates (u, v) = r(cos θ, sin θ). Then relu(z) = r·relu(a(θ)) with
  a(θ) = σ_w x cos θ + σ_b sin θ, and an integrand of homogeneity degree k needs only the radial moment
  R_k(θ) = ∫ r^{k+1} p(r cos θ) p(r sin θ) dr (closed form for gaussian, laplace, uniform; a double-exponential
  rule for student-t). The angular integral is split at every kink angle a_k(θ) = 0 of every point and at the
  prior's own kinks (laplace: the axes; uniform: the square's corners), Gauss–Legendre on each piece, so its
  integrand is analytic on every piece. Weights depend on the degree: `weights(k)`.
- smooth φ: a tensor product of composite Gauss–Legendre rules, pieces graded from width ~1/(σ_w·max|x|) at
  u = 0 (where every point's transition line crosses the axis, d = 1) growing geometrically outwards, split at
  the prior's kink (laplace, 0) and support edges (uniform, ±√3), with the density in the weights.

Rademacher is exact with its 2^{d+1} atoms. relu at d > 1 with two live parameters uses the polar rule, with
three (d = 2 with a bias, d = 3 without) the cubed-sphere rule of `relu_sphere`. Two-point moments at d > 1
under the gaussian prior, relu with more live parameters under student-t, erf's H₁₂ under laplace / student-t and
sin/cos go through the pair's law instead (`pair_reduction`, `scale_mixture`, `trig_moments`), relu with four to
six under uniform / laplace through polytopes (`relu_polytope`); the rest keeps the older
rules (`quadrature.first_layer_rule`, `neuron_moments.piecewise_rule`), with the accuracy docs/physics.md §4.2
states (`accuracy.accuracy_note`).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from ..activations import get_activation
from ..gauss_rules import legendre_rule
from ..priors import standardized_pdf
from ..spec import NetworkSpec
from .relu_sphere import sphere_rule

SQRT3 = math.sqrt(3.0)
MAX_DEGREE = 8
_L_ANGLE = 12          # Legendre nodes per angular piece
_ANGLE_PIECES = 16     # base pieces over [−π, π) (R_k and a(θ) are analytic on each)
_AXIS_LEVELS = 45      # student-t: at most so many pieces towards each axis (finer ones collapse in float near ±π/2)
_L_AXIS = 10           # Legendre nodes per piece of the smooth rule
_GROWTH_U = {"gaussian": 0.2, "laplace": 0.12, "uniform": 0.5, "student-t": 0.15}


@dataclass(frozen=True)
class FirstLayerRule:
    """Nodes (Q, d+1) in parameter units (w…, b) and weights: `weights(k)` integrates functions of the nodes
    whose homogeneity degree under (w, b) → r(w, b) is k (every k alike unless `homogeneous`)."""

    nodes: np.ndarray
    degree_weights: np.ndarray   # (MAX_DEGREE+1, Q) if homogeneous, else (1, Q)
    homogeneous: bool

    def weights(self, degree: int = 0) -> np.ndarray:
        return self.degree_weights[degree if self.homogeneous else 0]




def tail_range(prior: str, dof: float = 6.0) -> float:
    """Standardized |u| beyond which the prior's mass (times moments up to 8; student-t: its second moment) is
    below ~1e-16."""
    if prior == "gaussian":
        return 12.0
    if prior == "laplace":
        return 45.0
    if prior == "uniform":
        return SQRT3
    if prior == "student-t":
        return _student_t_reach(float(dof))
    raise ValueError(f"unknown prior {prior!r}")


@functools.lru_cache(maxsize=64)
def _student_t_reach(dof: float) -> float:
    """x with E[u²; |u| > x] ≈ 2P(|u| > x)·x² = 1e-16, at most 1e8. (A bare power law, x^{2−ν} = 1e-16, stops
    far too early at large ν: 1.5 at ν = 100, where the mass beyond is 0.15.)"""
    c = math.sqrt(dof / (dof - 2.0))

    def excess(log_x: float) -> float:
        return math.log(2.0 * special.stdtr(dof, -math.exp(log_x) * c) + 1e-300) + 2.0 * log_x + 16.0 * math.log(10)

    top = math.log(1e8)
    return 1e8 if excess(top) > 0 else math.exp(optimize.brentq(excess, 0.0, top, xtol=1e-6))


def graded_edges(h0: float, reach: float, growth: float, core: float = math.inf) -> np.ndarray:
    """Edges 0 = e₀ < e₁ < … ≥ reach with e_{j+1} = e_j + max(h0, growth·e_j): fine near 0, geometric beyond
    (ratio 2 outside `core`, where only the prior's smooth tail is left to integrate)."""
    edges = [0.0]
    while edges[-1] < reach:
        g = growth if edges[-1] < core else max(growth, 1.0)
        edges.append(edges[-1] + max(h0, g * edges[-1]))
    edges[-1] = reach
    return np.asarray(edges)


def composite_rule(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre with n nodes on each piece [edges[i], edges[i+1]] (weight 1)."""
    g, gw = legendre_rule(n)
    lo, hi = edges[:-1], edges[1:]
    half = 0.5 * (hi - lo)
    x = (0.5 * (hi + lo))[:, None] + half[:, None] * g
    return x.ravel(), (half[:, None] * gw).ravel()


def axis_rule(prior: str, h0: float, dof: float = 6.0, n: int = _L_AXIS,
              growth: float = 0.25, core: float = math.inf,
              extra: np.ndarray = np.zeros(0)) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric composite rule for E[g(u)] under the standardized prior: graded pieces from 0 (laplace's kink)
    out to the tail range (uniform: exactly its support edge), each piece at most `growth` × its distance
    from 0 wide."""
    reach = tail_range(prior, dof)
    half = np.union1d(graded_edges(min(h0, reach), reach, growth, core), extra)
    edges = np.concatenate([-half[::-1], half[1:]])
    u, w = composite_rule(edges, n)
    w = w * standardized_pdf(prior, u, dof)
    return u, w


def _radial_moments(prior: str, theta: np.ndarray, dof: float) -> np.ndarray:
    """R_k(θ) = ∫₀^∞ r^{k+1} p(r cos θ) p(r sin θ) dr for k = 0…MAX_DEGREE, shape (MAX_DEGREE+1, len θ)."""
    k = np.arange(MAX_DEGREE + 1)[:, None]
    c, s = np.abs(np.cos(theta)), np.abs(np.sin(theta))
    if prior == "gaussian":
        return np.broadcast_to(2.0 ** (k / 2) * special.gamma(k / 2 + 1) / (2 * math.pi), (len(k), len(theta)))
    if prior == "laplace":  # p(u)p(v) = ½ e^{−√2 r(|c|+|s|)}
        lam = math.sqrt(2.0) * (c + s)
        return 0.5 * special.factorial(k + 1) / lam ** (k + 2)
    if prior == "uniform":  # 1/12 on the square |u|, |v| ≤ √3
        rmax = SQRT3 / np.maximum(c, s)
        return rmax ** (k + 2) / (12.0 * (k + 2))
    if prior == "student-t":
        # The trapezoid in log r: the integrand is analytic in a strip |Im log r| < π/2 (the densities' poles)
        # and decays exponentially both ways, so step 0.2 errs by ~e^{−π²/0.2}. Next to an axis (|sin θ| down
        # to 2^{−120}) it turns over only at r ~ 1/|sin θ|, hence the reach to e^{96}; in logs, since r^{k+1}
        # overflows there while the densities underflow.
        log_r = np.arange(-25.0, 96.0, 0.2)
        log_dens = _student_t_log_pdf(np.exp(log_r)[:, None] * c, dof) + \
            _student_t_log_pdf(np.exp(log_r)[:, None] * s, dof)
        return np.stack([0.2 * np.exp(log_dens + ((kk + 2) * log_r)[:, None]).sum(axis=0)
                         for kk in range(MAX_DEGREE + 1)])
    raise ValueError(f"unknown prior {prior!r}")


def _student_t_log_pdf(u: np.ndarray, dof: float) -> np.ndarray:
    """log of the standardized student-t density (priors.standardized_pdf, without its underflow)."""
    c = math.sqrt(dof / (dof - 2.0))
    log_norm = special.gammaln((dof + 1) / 2) - special.gammaln(dof / 2) - 0.5 * math.log(dof * math.pi)
    return math.log(c) + log_norm - 0.5 * (dof + 1) * np.log1p((c * u) ** 2 / dof)


def _relu_polar_rule(prior: str, coeffs: np.ndarray, scales: np.ndarray, dof: float) -> FirstLayerRule:
    """Two live standardized parameters (u, v) = r(cos θ, sin θ) with z_k = coeffs[k]·(u, v) (P, 2); nodes are
    scales·(cos θ, sin θ)."""
    base = np.linspace(-math.pi, math.pi, _ANGLE_PIECES + 1)
    prior_kinks = {"laplace": [-0.5 * math.pi, 0.0, 0.5 * math.pi],
                   "uniform": [-0.75 * math.pi, -0.25 * math.pi, 0.25 * math.pi, 0.75 * math.pi]}
    live = np.abs(coeffs).sum(1) > 0
    kink = np.arctan2(-coeffs[live, 0], coeffs[live, 1])   # a(θ) = 0 at θ and θ ± π
    kinks = np.concatenate([kink, kink + math.pi, kink - math.pi])
    edges = np.concatenate([base, prior_kinks.get(prior, []), kinks[np.abs(kinks) < math.pi],
                            _axis_grading(dof) if prior == "student-t" else []])
    edges = np.unique(edges)
    edges = edges[np.concatenate([[True], np.diff(edges) > 1e-15])]
    edges[-1] = math.pi
    theta, w = composite_rule(edges, _L_ANGLE)
    nodes = np.stack([scales[0] * np.cos(theta), scales[1] * np.sin(theta)], axis=1)
    return FirstLayerRule(nodes=nodes, degree_weights=w * _radial_moments(prior, theta, dof), homogeneous=True)


def _axis_grading(dof: float) -> np.ndarray:
    """Student-t: R_k(θ) = R_k(axis) + c|θ − axis|^{ν−1−k} + (analytic) near each axis, where one parameter is
    small and the other runs out into its algebraic tail. Pieces shrinking geometrically (ratio 2) towards every
    axis from both sides make Gauss–Legendre exact on each; the innermost piece's share ~2^{−J(ν−k)} for the
    highest finite moment used (k = 4, or 6 beyond ν = 6) sets the depth J: 2^{−34} ≈ 6e-11, up to _AXIS_LEVELS."""
    top = 6.0 if dof > 6.0 else 4.0
    depth = min(_AXIS_LEVELS, math.ceil(34.0 / max(dof - top, 1e-9)))
    steps = 0.25 * math.pi * 2.0 ** -np.arange(depth + 1)
    axes = 0.5 * math.pi * np.arange(-2, 3)
    pts = np.concatenate([axes, (axes[:, None] + steps).ravel(), (axes[:, None] - steps).ravel()])
    return pts[np.abs(pts) <= math.pi]


def live_parameters(spec: NetworkSpec) -> int:
    """Number of first-layer parameters with a nonzero scale."""
    return spec.input_dim * (spec.sigma_w > 0) + (spec.sigma_b > 0)


def _relu_rule_nd(spec: NetworkSpec, x: np.ndarray) -> FirstLayerRule | None:
    """relu at d > 1 with two or three live parameters (σ_w, σ_b > 0: d = 2; σ_b = 0: d = 2, 3): the polar rule,
    or the cubed-sphere rule (`relu_sphere`); None beyond."""
    d = spec.input_dim
    scales = np.array([spec.sigma_w / math.sqrt(d)] * d + [spec.sigma_b])
    live = np.flatnonzero(scales > 0)
    coeffs = (np.concatenate([x.T, np.ones((1, len(x)))])[live] * scales[live, None]).T
    if len(live) == 2:
        rule = _relu_polar_rule(spec.prior, coeffs, scales[live], spec.prior_dof)
    elif len(live) == 3:
        rule = FirstLayerRule(*sphere_rule(spec.prior, coeffs, scales[live], spec.prior_dof, MAX_DEGREE),
                              homogeneous=True)
    else:
        return None
    nodes = np.zeros((len(rule.nodes), d + 1))
    nodes[:, live] = rule.nodes
    return FirstLayerRule(nodes=nodes, degree_weights=rule.degree_weights, homogeneous=True)


def smooth_rule(spec: NetworkSpec, x: np.ndarray, edge_grading: bool = False) -> FirstLayerRule:
    """Graded composite Gauss–Legendre in (u, v). `edge_grading` (uniform prior) adds pieces shrinking
    geometrically towards the support edges u = ±√3, for integrands singular there (the sequential mechanism's
    s²(u) = Q_v(F(u)) ~ F^v at one edge, −v log(1 − F) at the other)."""
    return smooth_rule_for(spec.prior, spec.sigma_w, spec.sigma_b, float(np.abs(x).max()), spec.prior_dof,
                           edge_grading)


def smooth_rule_for(prior: str, sw: float, sb: float, xmax: float, dof: float = 6.0,
                    edge_grading: bool = False) -> FirstLayerRule:
    """`smooth_rule` for z = sw·x·u + sb·v with |x| ≤ xmax (nodes (sw·u, sb·v))."""
    # Transition width of φ(σ_w x u + …) in u is 1/(σ_w |x|) (tanh's poles sit π/2 from the real axis).
    h_w = min(1.0, 1.0 / max(sw * xmax, 1e-300))
    h_b = min(1.0, 1.5 / max(sb, 1e-300))
    # Along u a transition at u* = −σ_b v/(σ_w x) has width |u*|/(σ_b|v|): pieces may grow ∝ |u| (v is
    # bounded by the prior's bulk); along v every feature is ≥ 1/σ_b ≥ 1 wide.
    extra = SQRT3 * (1.0 - 2.0 ** -np.arange(1, 40)) if edge_grading and prior == "uniform" else np.zeros(0)
    u, wu = (axis_rule(prior, h_w, dof, growth=_GROWTH_U[prior], core=12.0, extra=extra)
             if sw * xmax > 0 else (np.zeros(1), np.ones(1)))
    v, wv = (axis_rule(prior, h_b, dof, growth=0.5, core=12.0) if sb > 0
             else (np.zeros(1), np.ones(1)))
    keep_u, keep_v = wu > 0, wv > 0
    u, wu, v, wv = u[keep_u], wu[keep_u], v[keep_v], wv[keep_v]
    nodes = np.stack([np.repeat(sw * u, len(v)), np.tile(sb * v, len(u))], axis=1)
    return FirstLayerRule(nodes=nodes, degree_weights=np.outer(wu, wv).reshape(1, -1), homogeneous=False)


def relu_polar_rule(prior: str, coeffs: np.ndarray, scales: np.ndarray, dof: float = 6.0) -> FirstLayerRule:
    """The polar rule (two live standardized parameters, z_k = coeffs[k]·(u, v)) for other modules."""
    return _relu_polar_rule(prior, coeffs, scales, dof)


def _rademacher_rule(spec: NetworkSpec) -> FirstLayerRule:
    d = spec.input_dim
    signs = np.array(np.meshgrid(*[[-1.0, 1.0]] * (d + 1), indexing="ij")).reshape(d + 1, -1).T
    nodes = signs * np.array([spec.sigma_w / math.sqrt(d)] * d + [spec.sigma_b])
    return FirstLayerRule(nodes=nodes, degree_weights=np.full((1, len(nodes)), 0.5 ** (d + 1)), homogeneous=False)


def split_rule(spec: NetworkSpec, x: np.ndarray) -> FirstLayerRule | None:
    """The split rule for points x (P, d), or None where the caller's own rule applies (smooth φ at d > 1,
    relu with more than three live parameters)."""
    if spec.prior == "rademacher":
        return _rademacher_rule(spec)
    act = get_activation(spec.activation)
    if spec.input_dim != 1:
        return _relu_rule_nd(spec, x) if act.name == "relu" else None
    if act.name == "relu":
        sw, sb = spec.sigma_w, spec.sigma_b
        return _relu_polar_rule(spec.prior, np.stack([sw * x[:, 0], np.full(len(x), sb)], axis=1),
                                np.array([sw, sb]), spec.prior_dof)
    return smooth_rule(spec, x)
