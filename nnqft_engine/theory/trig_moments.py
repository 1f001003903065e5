"""First-layer moments of sin and cos under any prior at any d, from the prior's characteristic function
(docs/physics.md §4.2).

sin and cos are sums of exponentials, e^{±iz}, and z(x) = a·u has independent standardized components, so
E[e^{i(S a_i + T a_j)·u}] = Π_l ψ(S a_i[l] + T a_j[l]) with ψ the characteristic function of the standardized
prior. Every moment E[φ(z_i)^p φ(z_j)^q] is then a finite sum of such products (2^{p+q} sign patterns): exact
to rounding for every prior, at every d, with no quadrature at all.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import special

from ..spec import NetworkSpec
from .pair_reduction import coefficient_vectors, distinct_points

SQRT3 = math.sqrt(3.0)


def characteristic(prior: str, t: np.ndarray, dof: float = 6.0) -> np.ndarray:
    """ψ(t) = E[e^{itα}] of the standardized prior (real: every prior is symmetric)."""
    t = np.abs(np.asarray(t, dtype=np.float64))
    if prior == "gaussian":
        return np.exp(-0.5 * t * t)
    if prior == "uniform":
        return np.sinc(SQRT3 * t / np.pi)
    if prior == "laplace":        # scale b = 1/√2: 1/(1 + b²t²)
        return 1.0 / (1.0 + 0.5 * t * t)
    if prior == "rademacher":
        return np.cos(t)
    if prior == "student-t":      # α = T·√((ν−2)/ν): ψ_T(s) = K_{ν/2}(√ν s)(√ν s)^{ν/2} / (Γ(ν/2) 2^{ν/2−1})
        s = np.sqrt(dof - 2.0) * t
        safe = np.where(s > 0, s, 1.0)
        with np.errstate(under="ignore"):
            val = np.exp((dof / 2) * np.log(safe) + np.log(special.kve(dof / 2, safe)) - safe
                         - special.gammaln(dof / 2) - (dof / 2 - 1) * math.log(2.0))
        return np.where(s > 0, val, 1.0)
    raise ValueError(f"unknown prior {prior!r}")


def _coefficients(name: str, power: int) -> list[tuple[tuple[int, ...], complex]]:
    """φ(z)^power = Σ c·e^{i S z} over sign patterns (S = sum of the signs)."""
    one = {1: 0.5 / 1j, -1: -0.5 / 1j} if name == "sin" else {1: 0.5, -1: 0.5}
    return [(signs, math.prod(one[s] for s in signs)) for signs in itertools.product((1, -1), repeat=power)]


def trig_moment(spec: NetworkSpec, a_i: np.ndarray, a_j: np.ndarray, p: int, q: int) -> np.ndarray:
    """E[φ(z_i)^p φ(z_j)^q] for φ = sin or cos, z_k = a_k·u; a_i, a_j (B, d+1): one value per row."""
    total = np.zeros(len(a_i), dtype=complex)
    for (si, ci), (sj, cj) in itertools.product(_coefficients(spec.activation, p), _coefficients(spec.activation, q)):
        arg = sum(si) * a_i + sum(sj) * a_j
        total += ci * cj * np.prod(characteristic(spec.prior, arg, spec.prior_dof), axis=1)
    return total.real


def trig_first_layer(spec: NetworkSpec, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E[φ(z_i)φ(z_j)], E[φ′(z_i)φ′(z_j)]) (P, P); φ′ of sin is cos and of cos is −sin (the sign cancels)."""
    a = coefficient_vectors(spec, x)
    i, j = np.triu_indices(len(a))
    other = spec.replace(activation="cos" if spec.activation == "sin" else "sin")
    out = []
    for s in (spec, other):
        m = np.empty((len(a), len(a)))
        m[i, j] = m[j, i] = trig_moment(s, a[i], a[j], 1, 1)
        out.append(m)
    return out[0], out[1]


def supported(spec: NetworkSpec) -> bool:
    # d = 1 too (i.i.d. parameters): there the graded rule missed these by 2e-8 (laplace) and 3e-6 (student-t),
    # not resolving the oscillation out in the heavy tails (docs/physics.md §4.2)
    return spec.activation in ("sin", "cos") and spec.prior != "gaussian" and (spec.input_dim > 1 or spec.iid)


class TrigMoments:
    """The moment arrays of `neuron_moments.NeuronMoments` for sin and cos (any prior, any d)."""

    def __init__(self, spec: NetworkSpec, x: np.ndarray):
        self.spec, self.a = spec, coefficient_vectors(spec, x)

    def _pairs(self, p: int, q: int, symmetric: bool) -> np.ndarray:
        n = len(self.a)
        i, j = np.triu_indices(n) if symmetric else np.indices((n, n)).reshape(2, -1)
        out = np.empty((n, n))
        out[i, j] = trig_moment(self.spec, self.a[i], self.a[j], p, q)
        if symmetric:
            out[j, i] = out[i, j]
        return out

    def h2(self) -> np.ndarray:
        return self._pairs(1, 1, True)

    def h4_pair(self) -> np.ndarray:
        return self._pairs(2, 2, True)

    def h31_pair(self) -> np.ndarray:
        return self._pairs(3, 1, False)

    def h6(self) -> np.ndarray:
        return trig_moment(self.spec, self.a, self.a, 6, 0)

    def h_tuple(self, idx: tuple[int, ...]) -> float | None:
        pts = distinct_points(self.a, idx)
        if len(pts) > 2:
            return None
        (i, p), (j, _) = list(pts.items())[0], list(pts.items())[-1]
        return float(trig_moment(self.spec, self.a[[i]], self.a[[j]], p, len(idx) - p)[0])
