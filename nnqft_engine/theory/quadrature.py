"""Float64 quadrature rules shared by the kernels and the finite-width theory.

- `gaussian_pair_expectation`: E[f(u) g(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]]), vectorized over
  any array of covariances, by tensor Gauss–Hermite after a Cholesky rotation.
- `first_layer_rule`: nodes and weights over the first layer's (w, b) ∈ R^{d+1} under the spec's *true*
  prior (product of 1-D rules), for expectations such as E[φ(w·x+b) φ(w·x'+b)].
"""
from __future__ import annotations

import math

import numpy as np

from ..cancel import check_cancelled
from ..gauss_rules import hermite_e_rule
from ..priors import quadrature_rule
from ..spec import NetworkSpec

GH_NODES = 64
# Gauss–Hermite in z resolves features of φ(√k·z) on the scale 1/√k, so node counts grow with the variance.
# Table in units of k_eff = k × Activation.quadrature_scale (1 for sigmoid-like poles at ±iπ; tanh has them at
# ±iπ/2, scale 4), measured on E[φ'φ'] at ρ = 0.99 to reach ~1e-9 relative (k_eff 16: ~1e-9 at 320 nodes;
# beyond, the error grows slowly, ~1e-6 at k_eff 32).
_ADAPTIVE_NODES = ((2.0, GH_NODES), (4.0, 128), (8.0, 192), (12.0, 256), (math.inf, 320))
_MAX_PAIR_BLOCK = 1 << 21  # elements of the (pairs × n × n) work array per block
_MAX_RULE_NODES = 250_000
_MAX_1D_NODES = 120  # Laguerre/Hermite roots lose accuracy beyond a few hundred


_hermite = hermite_e_rule


def gaussian_expectation(f, k: np.ndarray, n: int = GH_NODES, q=0.0) -> np.ndarray:
    """E[f(u)] for u ~ N(0, k), elementwise over the array k (q is passed through to f)."""
    z, w = _hermite(n)
    k = np.asarray(k, dtype=np.float64)
    vals = f(np.sqrt(np.maximum(k, 0.0))[..., None] * z, np.asarray(q)[..., None] if np.ndim(q) else q)
    return vals @ w


def nodes_for_variance(k_max: float) -> int:
    """Gauss–Hermite nodes per dimension for effective variances up to k_max (see _ADAPTIVE_NODES)."""
    return next(n for limit, n in _ADAPTIVE_NODES if k_max <= limit)


def gaussian_pair_expectation(f, g, k11, k22, k12, n: int | None = None, q1=0.0, q2=0.0,
                              scale: float = 1.0) -> np.ndarray:
    """E[f(u) g(v)] over (u, v) ~ N(0, Λ); all arguments broadcast to a common shape.

    n = None picks the node count per element from its larger variance times `scale` (`_ADAPTIVE_NODES`).
    """
    k11, k22, k12, q1, q2 = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (k11, k22, k12, q1, q2)))
    shape = k11.shape
    k11, k22, k12, q1, q2 = (a.ravel() for a in (k11, k22, k12, q1, q2))
    out = np.empty(k11.size)
    if n is None:
        limits = np.array([limit for limit, _ in _ADAPTIVE_NODES[:-1]])
        counts = np.array([c for _, c in _ADAPTIVE_NODES])[np.searchsorted(limits, scale * np.maximum(k11, k22))]
        for count in np.unique(counts):
            sel = counts == count
            out[sel] = gaussian_pair_expectation(f, g, k11[sel], k22[sel], k12[sel], int(count), q1[sel], q2[sel])
        return out.reshape(shape)
    z, w = _hermite(n)
    step = max(1, _MAX_PAIR_BLOCK // (n * n))
    for lo in range(0, k11.size, step):
        check_cancelled()
        s = slice(lo, lo + step)
        a, b, c = k11[s], k22[s], k12[s]
        sa = np.sqrt(np.maximum(a, 0.0))
        # v = (c/√a) z1 + √(b − c²/a) z2; at a = 0, v = √b z2.
        safe = sa > 0
        c1 = np.where(safe, c / np.where(safe, sa, 1.0), 0.0)
        c2 = np.sqrt(np.maximum(b - c1 * c1, 0.0))
        fu = f(sa[:, None] * z[None, :], q1[s][:, None])                      # (B, n)
        v = c1[:, None, None] * z[None, :, None] + c2[:, None, None] * z[None, None, :]
        gv = g(v, q2[s][:, None, None])                                        # (B, n, n)
        out[s] = np.einsum("bi,bij,i,j->b", fu, gv, w, w)
    return out.reshape(shape)


def first_layer_rule(spec: NetworkSpec, n_per_dim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(nodes (Q, d+1), weights (Q,)) over (w_1 … w_d, b) in parameter units, under spec.prior.

    Dimensions with zero scale (σ_b = 0) collapse to one node. The default node count keeps the
    tensor product below a quarter million nodes.
    """
    d = spec.input_dim
    scales = [spec.sigma_w / math.sqrt(d)] * d + [spec.sigma_b]
    live = max(1, sum(1 for s in scales if s > 0))
    if n_per_dim is None:
        # laplace's rule has two nodes per requested one (n on each half-line)
        per = 2 if spec.prior == "laplace" else 1
        n_per_dim = min(_MAX_1D_NODES, int(_MAX_RULE_NODES ** (1.0 / live)) // per)
    per_dim = [quadrature_rule(spec.prior, n_per_dim, spec.prior_dof) if s > 0 else (np.zeros(1), np.ones(1))
               for s in scales]
    grids = np.meshgrid(*[x * s for (x, _), s in zip(per_dim, scales)], indexing="ij")
    wgrids = np.meshgrid(*[w for _, w in per_dim], indexing="ij")
    nodes = np.stack([g.ravel() for g in grids], axis=1)
    weights = np.prod(np.stack([g.ravel() for g in wgrids], axis=1), axis=1)
    return nodes, weights
