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
under the gaussian prior, relu with more live parameters under student-t, erf's H₁₂ under student-t, smooth φ
under laplace and sin/cos go through the pair's law instead (`pair_reduction`, `scale_mixture`, `fourier_pair`,
`trig_moments`), relu with four to six under uniform / laplace through polytopes (`relu_polytope`), the exact
correlators of smooth φ with three live parameters under laplace / student-t on the sphere (`smooth_sphere`); the rest
keeps the older rules (`quadrature.first_layer_rule`, `neuron_moments.piecewise_rule`), with the accuracy
docs/physics.md §4.2 states (`accuracy.accuracy_note`).
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
_AXIS_LEVELS = 40      # student-t: at most so many pieces towards each axis (beyond: the remainder in closed form)
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


def bounded_reach(prior: str, dof: float = 6.0, mass: float = 1e-15) -> float:
    """Standardized |u| beyond which the prior's mass is below `mass`: enough for the mean of a function bounded by
    1 (a characteristic function), where `tail_range` also covers moments up to 8 (student-t at ν = 6: 2.1e4, against
    5.2e2 here)."""
    if prior != "student-t":
        return tail_range(prior, dof)
    c = math.sqrt(dof / (dof - 2.0))
    top = math.log(1e8)

    def excess(log_x: float) -> float:
        return math.log(2.0 * special.stdtr(dof, -math.exp(log_x) * c) + 1e-300) - math.log(mass)

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
              extra: np.ndarray = np.zeros(0), reach: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric composite rule for E[g(u)] under the standardized prior: graded pieces from 0 (laplace's kink)
    out to `reach` (default the tail range; uniform: exactly its support edge), each piece at most `growth` × its
    distance from 0 wide."""
    reach = tail_range(prior, dof) if reach is None else reach
    half = np.union1d(graded_edges(min(h0, reach), reach, growth, core), extra)
    edges = np.concatenate([-half[::-1], half[1:]])
    u, w = composite_rule(edges, n)
    w = w * standardized_pdf(prior, u, dof)
    return u, w


def _radial_moments(prior: str, c: np.ndarray, s: np.ndarray, dof: float) -> np.ndarray:
    """R_k(θ) = ∫₀^∞ r^{k+1} p(r c) p(r s) dr with c = |cos θ|, s = |sin θ|, k = 0…MAX_DEGREE:
    shape (MAX_DEGREE+1, len θ)."""
    k = np.arange(MAX_DEGREE + 1)[:, None]
    if prior == "gaussian":
        return np.broadcast_to(2.0 ** (k / 2) * special.gamma(k / 2 + 1) / (2 * math.pi), (len(k), len(c)))
    if prior == "laplace":  # p(u)p(v) = ½ e^{−√2 r(|c|+|s|)}
        lam = math.sqrt(2.0) * (c + s)
        return 0.5 * special.factorial(k + 1) / lam ** (k + 2)
    if prior == "uniform":  # 1/12 on the square |u|, |v| ≤ √3
        rmax = SQRT3 / np.maximum(c, s)
        return rmax ** (k + 2) / (12.0 * (k + 2))
    if prior == "student-t":
        # The trapezoid in log r: the integrand is analytic in a strip around the real axis and decays
        # exponentially both ways, so the error is ~e^{−2π·strip/h}. The densities' poles put the strip's edge at
        # |Im log r| = π/2, but as ν grows p turns Gaussian, e^{−r²/2} blows up past |Im log r| = π/4, and the
        # usable strip narrows: h = 0.2 holds 1e-14 up to ν = 8, beyond it errs 1e-10 (ν = 30) to 4e-8 (ν = 100,
        # sixth moment), h = 0.1 1e-14 there. Next to an axis (c or s down to ~1e-12) the integrand turns over only
        # at r ~ 1/c, far inside the reach e^{96}; in logs, since r^{k+1} overflows there while p underflows.
        h = 0.2 if dof <= 8.0 else 0.1
        log_r = np.arange(-25.0, 96.0, h)
        log_dens = _student_t_log_pdf(np.exp(log_r)[:, None] * c, dof) + \
            _student_t_log_pdf(np.exp(log_r)[:, None] * s, dof)
        return np.stack([h * np.exp(log_dens + ((kk + 2) * log_r)[:, None]).sum(axis=0)
                         for kk in range(MAX_DEGREE + 1)])
    raise ValueError(f"unknown prior {prior!r}")


def _student_t_log_pdf(u: np.ndarray, dof: float) -> np.ndarray:
    """log of the standardized student-t density (priors.standardized_pdf, without its underflow)."""
    c = math.sqrt(dof / (dof - 2.0))
    log_norm = special.gammaln((dof + 1) / 2) - special.gammaln(dof / 2) - 0.5 * math.log(dof * math.pi)
    return math.log(c) + log_norm - 0.5 * (dof + 1) * np.log1p((c * u) ** 2 / dof)


def _rotate_to_axis(vec: np.ndarray, m: int) -> np.ndarray:
    """Rotate 2-vectors (Q, 2) by −m·π/2, exactly (a swap and signs)."""
    x, y = vec[:, 0], vec[:, 1]
    return np.stack([(x, y), (y, -x), (-x, -y), (-y, x)][m % 4], axis=1)


def _relu_polar_rule(prior: str, coeffs: np.ndarray, scales: np.ndarray, dof: float) -> FirstLayerRule:
    """Two live standardized parameters (u, v) = r(cos θ, sin θ) with z_k = coeffs[k]·(u, v) (P, 2); nodes are
    scales·(cos θ, sin θ)."""
    cos_t, sin_t, w, boost = polar_angles(prior, coeffs, dof)
    degree_weights = w * _radial_moments(prior, np.abs(cos_t), np.abs(sin_t), dof)
    if boost is not None:
        degree_weights *= boost
    nodes = np.stack([scales[0] * cos_t, scales[1] * sin_t], axis=1)
    return FirstLayerRule(nodes=nodes, degree_weights=degree_weights, homogeneous=True)


def polar_angles(prior: str, coeffs: np.ndarray, dof: float, top: float | None = None,
                 pieces: int = _ANGLE_PIECES):
    """The polar rule's angles: (cos θ, sin θ, weight, boost) with Gauss–Legendre on pieces split at every kink
    angle of z_k = coeffs[k]·(cos θ, sin θ), the axes and the corners; student-t also graded towards the axes
    (`_axis_grading`, for moments up to degree `top`), where `boost` (MAX_DEGREE+1, Q) or None multiplies the
    weights of degree k.

    θ is kept as m·π/2 + δ, |δ| ≤ π/4, around each axis m: cos θ and sin θ are then exact down to the smallest
    δ (as θ itself, next to π/2, they collapse in float below ~1e-16), which the student-t grading needs."""
    live = np.abs(coeffs).sum(1) > 0
    kink_dirs = np.stack([-coeffs[live, 1], coeffs[live, 0]], axis=1)   # a(θ) = 0 along ±(−c₁, c₀)
    kink_dirs = np.concatenate([kink_dirs, -kink_dirs])
    base = np.linspace(-0.25 * math.pi, 0.25 * math.pi, pieces // 4 + 1)   # axes, corners (uniform's kinks)
    grading, inner, boost = _axis_grading(dof, top) if prior == "student-t" else (np.zeros(0), 0.0, None)
    cos_t, sin_t, weights, boosted = [], [], [], []
    for m in range(4):
        rot = _rotate_to_axis(kink_dirs, m)
        kinks = np.arctan2(rot[:, 1], rot[:, 0])
        kinks = kinks[(np.abs(kinks) < 0.25 * math.pi) & (np.abs(kinks) >= 2 * inner)]
        edges = np.unique(np.concatenate([base, kinks, grading]))
        edges = edges[np.concatenate([[True], np.diff(edges) > 1e-15 * np.maximum(np.abs(edges[1:]), 1e-300)])]
        edges[0], edges[-1] = -0.25 * math.pi, 0.25 * math.pi
        delta, w = composite_rule(edges, _L_ANGLE)
        keep = np.abs(delta) >= inner
        delta, w = delta[keep], w[keep]
        rot_back = _rotate_to_axis(np.stack([np.cos(delta), np.sin(delta)], axis=1), -m)
        cos_t.append(rot_back[:, 0]), sin_t.append(rot_back[:, 1]), weights.append(w)
        boosted.append(np.abs(delta) <= 2 * inner)
    boosts = None
    if boost is not None:
        boosts = np.where(np.concatenate(boosted), boost[:, None], 1.0)
    return np.concatenate(cos_t), np.concatenate(sin_t), np.concatenate(weights), boosts


def _axis_grading(dof: float, top: float | None = None) -> tuple[np.ndarray, float, np.ndarray | None]:
    """Student-t next to an axis (offset δ): one parameter is small and the other runs out into its algebraic
    tail, so R_k = a + b|δ|^{e−1} + O(δ) with e = ν − k. Pieces halving towards the axis from both sides make
    Gauss–Legendre exact on each; the innermost piece's share ~2^{−J·e} for the highest finite moment used
    (k = 4, or 6 beyond ν = 6) sets the depth J: 2^{−34} ≈ 6e-11. Where that takes more than _AXIS_LEVELS levels
    (e < 0.85), the last piece [0, δ_J] is left out and the one before it, [δ_J, 2δ_J], stands for both: the
    pieces inside shrink by 2^{−e} each (the |δ|^{e−1} term dominates there), so its weight × 1/(1 − 2^{−e})
    (e ≥ 1: the constant term, 1/(1 − ½)) adds them all, up to O(δ_J) ≈ 1e-12.
    Returns the edges (offsets), the left-out half-width δ_J (0: none) and the per-degree factor (or None)."""
    if top is None:
        top = 6.0 if dof > 6.0 else 4.0
    depth = math.ceil(34.0 / max(dof - top, 1e-9))
    steps = 0.25 * math.pi * 2.0 ** -np.arange(min(depth, _AXIS_LEVELS) + 1)
    edges = np.concatenate([-steps, [0.0], steps])
    if depth <= _AXIS_LEVELS:
        return edges, 0.0, None
    e = dof - np.arange(MAX_DEGREE + 1)
    boost = np.where(e > 0, 1.0 / (1.0 - 2.0 ** -np.clip(e, 1e-3, 1.0)), 1.0)
    return edges, float(steps[-1]), boost


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
