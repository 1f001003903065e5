"""First-layer moments at d > 1 through the law of the pair (z(x_i), z(x_j)) (docs/physics.md §4.2).

z(x_k) = a_k·u with u the standardized first-layer parameters and a_k = (σ_w x_k/√d, σ_b). Under the gaussian
prior (z_i, z_j) is exactly bivariate Gaussian whatever d is, and every bivariate Gaussian is, in law, a d = 1
pair z_k = c_k U + s V with (U, V) i.i.d. N(0, 1): with e = (a_i − a_j)/|a_i − a_j|, c_k = a_k·e and s the length
of a_i's component orthogonal to e (the same for a_j, since a_i − a_j ∥ e). So every two-point moment
E[φ(z_i)^m φ(z_j)^n] is a d = 1 integral: the d = 1 split rules (relu's polar rule, the graded composite rule
for smooth φ; ≤ 6e-14) apply unchanged, one rule per pair, and so do the bivariate-Gaussian rules of the deep
recursion (`gauss_moments.pair_moments`, §8.2), which need only the pair's 2×2 covariance Σ = a·aᵀ and are
vectorized over pairs (10–50× faster here). Everything the correlators, the kernels and the deep first layer
need (H₁₂, E[h_i²h_j²], E[h_i³h_j], E[h⁶], E[φ′φ′]) involves at most two points.

Computed from the vectors, not from det Σ / (Σ₁₁ + Σ₂₂ − 2Σ₁₂), so nearby points lose no accuracy.
"""
from __future__ import annotations

import numpy as np

from ..activations import get_activation
from ..cancel import check_cancelled
from ..spec import NetworkSpec
from .first_layer import FirstLayerRule, relu_polar_rule, smooth_rule_for
from .gauss_moments import pair_moments


def coefficient_vectors(spec: NetworkSpec, x: np.ndarray) -> np.ndarray:
    """a_k (P, d+1) with z(x_k) = a_k·u, u standardized."""
    d = spec.input_dim
    return np.concatenate([x * (spec.sigma_w / np.sqrt(d)), np.full((len(x), 1), spec.sigma_b)], axis=1)


def virtual_pair(a_i: np.ndarray, a_j: np.ndarray) -> tuple[float, float, float]:
    """(c_i, c_j, s): (a_i·u, a_j·u) for u ~ N(0, I) has the law of (c_i U + s V, c_j U + s V)."""
    diff = a_i - a_j
    norm = float(np.linalg.norm(diff))
    if norm == 0.0:
        return 0.0, 0.0, float(np.linalg.norm(a_i))
    e = diff / norm
    c_i, c_j = float(a_i @ e), float(a_j @ e)
    return c_i, c_j, float(np.linalg.norm(a_i - c_i * e))


def gaussian_pair_rule(relu: bool, c_i: float, c_j: float, s: float) -> FirstLayerRule:
    """d = 1 rule for the pair: nodes (U, s·V) so that z_k = nodes[:, 0]·c_k + nodes[:, 1]."""
    if relu:
        coeffs = np.array([[c_i, s], [c_j, s]])
        return relu_polar_rule("gaussian", coeffs, np.array([1.0, s]))
    return smooth_rule_for("gaussian", 1.0, s, max(abs(c_i), abs(c_j)))


class StoredPairMoments:
    """The pair arrays of `neuron_moments.NeuronMoments` (H₁₂, E[h_i²h_j²], E[h_i³h_j]) computed up front into
    `_h2`, `_h4`, `_h31` by a subclass."""

    _h2: np.ndarray
    _h4: np.ndarray
    _h31: np.ndarray

    def h2(self) -> np.ndarray:
        return self._h2

    def h4_pair(self) -> np.ndarray:
        return self._h4

    def h31_pair(self) -> np.ndarray:
        return self._h31


class PairwiseMoments(StoredPairMoments):
    """The moment arrays of `neuron_moments.NeuronMoments` for the gaussian prior at any d. Pair moments come
    from `gauss_moments.pair_moments` with the pair's 2×2 covariance (closed forms for relu and erf, the
    pole-aware trapezoid rules of §8.2 otherwise, vectorized over pairs); one-point and other two-point
    moments from the d = 1 rule of the virtual pair. (gauss-net, whose moments are closed form, and the
    sequential mechanism stay in NeuronMoments.)"""

    def __init__(self, spec: NetworkSpec, x: np.ndarray):
        self.act = get_activation(spec.activation)
        self.relu = self.act.name == "relu"
        self.a = coefficient_vectors(spec, x)
        p = len(self.a)
        cov = self.a @ self.a.T
        i, j = np.triu_indices(p)
        pm = pair_moments(self.act, cov[i, i], cov[j, j], cov[i, j])
        second = pm.s + pm.m[:, :, None] * pm.m[:, None, :]      # ⟨φ_u φ_v⟩ of the products φ_11, φ_12, φ_22
        self._h2, self._h4, self._h31 = (np.empty((p, p)) for _ in range(3))
        self._h2[i, j] = self._h2[j, i] = pm.m[:, 1]
        self._h4[i, j] = self._h4[j, i] = second[:, 1, 1]
        self._h31[i, j], self._h31[j, i] = second[:, 0, 1], second[:, 1, 2]
        self._rules: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, FirstLayerRule]] = {}

    def _pair(self, i: int, j: int) -> tuple[np.ndarray, np.ndarray, FirstLayerRule]:
        """(φ(z_i), φ(z_j)) on the nodes of the virtual pair's d = 1 rule, and the rule."""
        key = (min(i, j), max(i, j))
        if key not in self._rules:
            check_cancelled()
            c_i, c_j, s = virtual_pair(self.a[key[0]], self.a[key[1]])
            rule = gaussian_pair_rule(self.relu, c_i, c_j, s)
            h = self.act.numpy_fn(rule.nodes[:, :1] * np.array([c_i, c_j]) + rule.nodes[:, 1:], 0.0)
            self._rules[key] = (h[:, 0], h[:, 1], rule)
        hi, hj, rule = self._rules[key]
        return (hi, hj, rule) if i <= j else (hj, hi, rule)

    def h6(self) -> np.ndarray:
        return np.array([self.h_tuple((i,) * 6) for i in range(len(self.a))])

    def h_tuple(self, idx: tuple[int, ...]) -> float | None:
        """E[h(x_{i1}) … h(x_{ik})] when idx names at most two points, else None (the caller's rule applies)."""
        pts = distinct_points(self.a, idx)
        if len(pts) > 2:
            return None
        (i, m), (j, _) = list(pts.items())[0], list(pts.items())[-1]
        hi, hj, rule = self._pair(i, j)
        return float(rule.weights(len(idx)) @ (hi**m * hj ** (len(idx) - m)))


def gaussian_first_layer(spec: NetworkSpec, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E[φ(z_i)φ(z_j)], E[φ′(z_i)φ′(z_j)]) (P, P) under the gaussian prior at any d (E[φ′φ′] = ∂E[φφ]/∂Σ₁₂,
    Price's theorem, which `pair_moments` returns as a Jacobian entry)."""
    act = get_activation(spec.activation)
    a = coefficient_vectors(spec, x)
    cov = a @ a.T
    i, j = np.triu_indices(len(a))
    pm = pair_moments(act, cov[i, i], cov[j, j], cov[i, j])
    e_phi, e_dphi = np.empty_like(cov), np.empty_like(cov)
    e_phi[i, j] = e_phi[j, i] = pm.m[:, 1]
    e_dphi[i, j] = e_dphi[j, i] = pm.jac[:, 1, 1]
    return e_phi, e_dphi


def distinct_points(a: np.ndarray, idx: tuple[int, ...]) -> dict[int, int]:
    """{representative index: multiplicity} of the distinct points (rows of a) that idx names."""
    out: dict[int, int] = {}
    for k in idx:
        rep = next((r for r in out if np.array_equal(a[r], a[k])), k)
        out[rep] = out.get(rep, 0) + 1
    return out
