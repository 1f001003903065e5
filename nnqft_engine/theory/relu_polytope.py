"""relu first-layer moments under the uniform and laplace priors: polynomials over convex polytopes
(docs/physics.md §4.2).

M = E[Π_k relu(a_k·u)^{p_k}] over standardized i.i.d. u ∈ R^m (p_k ≥ 0; p_k = 0 is the step θ(a_k·u)). On the
cone {a_k·u ≥ 0 ∀k} the integrand is the polynomial Π (a_k·u)^{p_k}, homogeneous of degree k = Σ p_k; off it, 0.

- uniform: u is uniform on the cube [−√3, √3]^m, so M = (2√3)^{−m} ∫ over the polytope cube ∩ cone.
- laplace: the density 2^{−m/2} e^{−√2 s} depends only on s = ‖u‖₁. With u = s·v, ‖v‖₁ = 1, the radial integral is
  ∫₀^∞ s^{k+m−1} e^{−√2 s} ds = Γ(k+m) 2^{−(k+m)/2}, and the same angular integral gives the ℓ1 ball's
  ∫_{‖u‖₁≤1} = (1/(k+m)) ∫_{‖v‖₁=1}, so M = 2^{−m/2} Γ(k+m+1) 2^{−(k+m)/2} ∫ over the polytope ℓ1 ball ∩ cone
  (taken orthant by orthant: each a simplex with m + 1 facets).

Each polytope {u: Gu ≤ h}: its vertices solve the m-subsets of the constraints (the feasible ones kept), its hull
is triangulated (Qhull) and coned from the centroid into simplices, and each simplex gets a Grundmann–Möller rule
exact for the degree. So M is exact to rounding at any number of live parameters; the cost
grows with the subsets, C(2m + K, m) for the cube with K kinks.
"""
from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np
from scipy import special
from scipy.spatial import ConvexHull, QhullError

from ..cancel import check_cancelled
from ..priors import moment as prior_moment
from ..spec import NetworkSpec
from .pair_reduction import distinct_points
from .scale_mixture import live_coefficients, live_parameters

SQRT3 = math.sqrt(3.0)
PRIORS = ("uniform", "laplace")
_FEASIBLE_TOL = 1e-12     # constraint slack (rows normalized) within which a solved vertex counts as feasible
MAX_LIVE = 6              # a pair costs ≤ 50 ms (uniform) / 0.25 s (laplace, four kinks) at m = 6, ~1 s at m = 7:
                          # the triangulated hull grows factorially


def supported(spec: NetworkSpec) -> bool:
    """relu at d > 1 with four to MAX_LIVE live parameters under uniform or laplace (three or fewer keep the
    cubed-sphere and polar rules, §4.2)."""
    return (spec.activation == "relu" and spec.input_dim > 1 and spec.prior in PRIORS
            and 3 < live_parameters(spec) <= MAX_LIVE)


@lru_cache(maxsize=32)
def _simplex_rule(m: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """(x (Q, m), w (Q,)) on the unit simplex {x ≥ 0, Σx ≤ 1}, exact for polynomials of degree ≤ `degree`: the
    Grundmann–Möller rule of degree 2s + 1 (SIAM J. Numer. Anal. 15, 1978), C(m + s + 1, s) + … nodes; its
    negative weights cost nothing at these low degrees (checked to ~1e-15 on every monomial)."""
    s = degree // 2
    d = 2 * s + 1
    pts, ws = [], []
    for i in range(s + 1):
        w = (-1) ** i * 2.0 ** (-2 * s) * (d + m - 2 * i) ** d / (math.factorial(i) * math.factorial(d + m - i))
        for cut in itertools.combinations(range(s - i + m), m):        # compositions of s − i into m + 1 parts
            beta = np.diff((-1,) + cut + (s - i + m,)) - 1
            pts.append((2 * beta[1:] + 1) / (d + m - 2 * i))
            ws.append(w)
    x, w = np.array(pts), np.array(ws)
    for arr in (x, w):
        arr.flags.writeable = False
    return x, w


@lru_cache(maxsize=64)
def _subsets(h: int, m: int) -> np.ndarray:
    return np.array(list(itertools.combinations(range(h), m)), dtype=np.intp)


def _vertices(g: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Vertices of {u: g u ≤ h} (bounded, rows of g normalized): every nonsingular m-subset solved, the feasible
    solutions kept."""
    m = g.shape[1]
    idx = _subsets(len(g), m)
    a, b = g[idx], h[idx]
    det = np.linalg.det(a)
    ok = np.abs(det) > 1e-12
    v = np.linalg.solve(a[ok], b[ok][..., None])[..., 0]
    return v[(v @ g.T <= h + _FEASIBLE_TOL).all(axis=1)]


def _simplices(v: np.ndarray) -> np.ndarray:
    """(S, m + 1, m): the convex hull of the points v triangulated and coned from its centroid; none where the hull
    is flat (measure zero)."""
    m = v.shape[1]
    if len(v) <= m:
        return np.zeros((0, m + 1, m))
    try:
        hull = ConvexHull(v)
    except QhullError:
        return np.zeros((0, m + 1, m))
    centre = v[hull.vertices].mean(axis=0)
    facets = v[hull.simplices]
    return np.concatenate([np.broadcast_to(centre, (len(facets), 1, m)), facets], axis=1)


def _nodes(simplices: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes (N, m) and weights (N,) over the union of the simplices."""
    m = simplices.shape[2]
    x, w = _simplex_rule(m, degree)
    edges = simplices[:, 1:] - simplices[:, :1]                          # (S, m, m)
    vol = np.abs(np.linalg.det(edges)) if len(edges) else np.zeros(0)
    nodes = simplices[:, :1] + np.einsum("qm,smd->sqd", x, edges)
    return nodes.reshape(-1, m), np.outer(vol, w).ravel()


def _cone_rows(rows: np.ndarray) -> np.ndarray:
    """The constraints −a_k·u ≤ 0, rows normalized (a zero row constrains nothing)."""
    norm = np.linalg.norm(rows, axis=1)
    keep = norm > 0
    return -rows[keep] / norm[keep, None]


def polytope_rule(prior: str, rows: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, weights) over the cone {rows·u ≥ 0} inside the cube (uniform) or the ℓ1 ball (laplace), exact for
    polynomials of degree ≤ `degree`; the prior's normalization is not included (`moment` adds it)."""
    m = rows.shape[1]
    cone = _cone_rows(rows)
    if prior == "uniform":
        eye = np.eye(m)
        g = np.concatenate([eye, -eye, cone])
        h = np.concatenate([np.full(2 * m, SQRT3), np.zeros(len(cone))])
        return _nodes(_simplices(_vertices(g, h)), degree)
    parts = []
    for signs in itertools.product((1.0, -1.0), repeat=m):
        corners = np.diag(signs)                                  # the orthant's simplex: 0 and σ_l e_l
        at_corners = corners @ (-cone.T)                          # a_k·(σ_l e_l) (normalized), (m, K)
        if (at_corners <= 0).all(axis=0).any():
            continue                                              # some kink leaves only a face: measure zero
        if (at_corners >= 0).all():
            simplices = np.concatenate([np.zeros((1, 1, m)), corners[None]], axis=1)
        else:
            g = np.concatenate([-np.diag(signs), np.array(signs)[None, :] / math.sqrt(m), cone])
            h = np.concatenate([np.zeros(m), [1.0 / math.sqrt(m)], np.zeros(len(cone))])
            simplices = _simplices(_vertices(g, h))
        parts.append(_nodes(simplices, degree))
    if not parts:
        return np.zeros((0, m)), np.zeros(0)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def normalization(prior: str, m: int, degree: int) -> float:
    """The factor turning the polytope integral of a degree-`degree` homogeneous integrand into the moment."""
    if prior == "uniform":
        return (2 * SQRT3) ** -m
    return math.exp(-m / 2 * math.log(2) + special.gammaln(degree + m + 1) - (degree + m) / 2 * math.log(2))


def moment(prior: str, rows: np.ndarray, powers) -> float:
    """E[Π_k relu(rows[k]·u)^{powers[k]}] (rows (K, m), u standardized i.i.d. under `prior`)."""
    powers = np.asarray(powers)
    degree = int(powers.sum())
    nodes, w = polytope_rule(prior, rows, degree)
    z = np.maximum(nodes @ rows.T, 0.0)
    return float(normalization(prior, rows.shape[1], degree) * (w @ np.prod(z**powers, axis=1)))


def even_power_moment(prior: str, a: np.ndarray, p: int) -> float:
    """E[relu(a·u)^p] = ½E[(a·u)^p] for even p (the priors are symmetric), the moments of the sum Σ a_l u_l by
    binomial convolution of the prior's moments."""
    mu = np.array([prior_moment(prior, r, 6.0) for r in range(p + 1)])
    total = np.zeros(p + 1)
    total[0] = 1.0
    for coef in a:
        term = coef ** np.arange(p + 1) * mu                       # moments of a_l u_l
        total = np.array([sum(math.comb(n, r) * total[r] * term[n - r] for r in range(n + 1))
                          for n in range(p + 1)])
    return 0.5 * float(total[p])


def pair_moments(prior: str, a: np.ndarray, i: np.ndarray, j: np.ndarray,
                 degrees: tuple[tuple[int, int], ...]) -> np.ndarray:
    """E[relu(z_i)^p relu(z_j)^q] for each pair (i, j) and each degree (p, q), shape (len(degrees), pairs), on one
    polytope rule per pair (the cone of both points; of one where i = j or q = 0 throughout)."""
    m = a.shape[1]
    top = max(p + q for p, q in degrees)
    out = np.empty((len(degrees), len(i)))
    one_point = all(q == 0 and p > 0 for p, q in degrees)
    if one_point and all(p % 2 == 0 for p, _ in degrees):
        return np.array([[even_power_moment(prior, a[ii], p) for ii in i] for p, _ in degrees])
    for n, (ii, jj) in enumerate(zip(i, j)):
        check_cancelled()
        rows = a[[ii]] if one_point or np.array_equal(a[ii], a[jj]) else a[[ii, jj]]
        nodes, w = polytope_rule(prior, rows, top)
        zi, zj = np.maximum(nodes @ a[ii], 0.0), np.maximum(nodes @ a[jj], 0.0)
        for r, (p, q) in enumerate(degrees):
            out[r, n] = normalization(prior, m, p + q) * (w @ (zi**p * zj**q))
    return out


def relu_first_layer(spec: NetworkSpec, x: np.ndarray, x2: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(E[relu(z_i)relu(z_j)], E[θ(z_i)θ(z_j)]) (P, P2)."""
    same = x2 is None or x2 is x
    pts = x if same else np.concatenate([x, x2])
    a = live_coefficients(spec, pts)
    p = len(x)
    if same:
        i, j = np.triu_indices(p)
    else:
        i, j = (g.ravel() for g in np.indices((p, len(x2))))
        j = j + p
    vals = pair_moments(spec.prior, a, i, j, ((1, 1), (0, 0)))
    out = []
    for r in range(2):
        mat = np.empty((p, p if same else len(x2)))
        mat[i, j if same else j - p] = vals[r]
        if same:
            mat[j, i] = vals[r]
        out.append(mat)
    return out[0], out[1]


class PolytopeMoments:
    """The moment arrays of `neuron_moments.NeuronMoments` for relu under uniform / laplace with four to MAX_LIVE
    live parameters; the pair moments of degree four share one rule per pair."""

    def __init__(self, spec: NetworkSpec, x: np.ndarray):
        self.prior = spec.prior
        self.a = live_coefficients(spec, x)
        self._fourth: dict[tuple[int, int], np.ndarray] | None = None

    def _pairs(self, degrees: tuple[tuple[int, int], ...], symmetric: bool) -> list[np.ndarray]:
        p = len(self.a)
        i, j = np.triu_indices(p) if symmetric else np.indices((p, p)).reshape(2, -1)
        vals = pair_moments(self.prior, self.a, i, j, degrees)
        out = []
        for r in range(len(degrees)):
            mat = np.empty((p, p))
            mat[i, j] = vals[r]
            if symmetric:
                mat[j, i] = vals[r]
            out.append(mat)
        return out

    def h2(self) -> np.ndarray:
        return self._pairs(((1, 1),), True)[0]

    def _fourth_moments(self) -> dict[tuple[int, int], np.ndarray]:
        if self._fourth is None:
            h4, h31, h13 = self._pairs(((2, 2), (3, 1), (1, 3)), True)
            self._fourth = {(2, 2): h4, (3, 1): np.triu(h31) + np.tril(h13.T, -1)}
        return self._fourth

    def h4_pair(self) -> np.ndarray:
        return self._fourth_moments()[(2, 2)]

    def h31_pair(self) -> np.ndarray:
        """E[h_i³ h_j] (not symmetric: the upper triangle computed as (3, 1), the lower as (1, 3) transposed)."""
        return self._fourth_moments()[(3, 1)]

    def h6(self) -> np.ndarray:
        i = np.arange(len(self.a))
        return pair_moments(self.prior, self.a, i, i, ((6, 0),))[0]

    def h_tuple(self, idx: tuple[int, ...]) -> float:
        """E[h(x_{i1}) … h(x_{ik})] for any points: the cone of all of them."""
        pts = distinct_points(self.a, idx)
        if len(pts) == 1 and len(idx) % 2 == 0:
            return even_power_moment(self.prior, self.a[list(pts)[0]], len(idx))
        return moment(self.prior, self.a[list(pts)], list(pts.values()))
