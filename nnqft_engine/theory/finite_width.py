"""Exact connected correlators of depth-1 networks at any width N (docs/physics.md §4, §5).

f = c + Σᵢ aᵢ hᵢ with aᵢ = (σ_w/√N)·αᵢ·(mechanism factor). Joint cumulants of independent terms add, so
with H = E_{w,b}[h…h] over the true prior (`neuron_moments`), μ_k = E[α^k] and K = σ_w² H:

    i.i.d.        G4c = (σ_w⁴/N)[μ₄H₁₂₃₄ − (H₁₂H₃₄ + H₁₃H₂₄ + H₁₄H₂₃)]   G6c = (σ_w⁶/N²)κ₆[α·h]
    shared-scale  f = c + sY:  κ₄ = E[s⁴](T₄ + ΣKK) − ΣKK,  E[s^{2k}] = Π_{j<k}(1 + jv)  (exact)
    sequential    f = c + A + s(θ₁)Y′: neuron 1's term A and the scale s share neuron 1's parameters θ₁;
                  moments are expanded in A and Y′ (N−1 i.i.d. neurons) and averaged over θ₁ by the same
                  quadrature with s² per node (exact at every N and every strength v; see `dependence`).

The readout bias c is drawn from the prior too, so for a non-Gaussian prior it adds its own constant
cumulants σ_b⁴(μ₄−3) and σ_b⁶(μ₆−15μ₄+30) (zero for the gaussian prior). Odd correlators vanish.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..dependence import check_mechanism, gamma_moment, sequential_scale2
from ..priors import moment
from ..spec import NetworkSpec, SpecError, as_points
from .accuracy import InexactWarning, accuracy_note
from .neuron_moments import NeuronMoments


@dataclass(frozen=True)
class FiniteWidthTheory:
    """Exact correlators at points x (P, d): g2 and g4c_pair (P, P) — g4c_pair[i, j] is the connected
    ⟨f_i f_i f_j f_j⟩ — and the diagonal g4c_diag, g6c_diag and excess kurtosis g4c_diag/g2_diag² (P,)."""

    x: np.ndarray
    width: int
    g2: np.ndarray
    g4c_diag: np.ndarray
    g4c_pair: np.ndarray
    g6c_diag: np.ndarray
    kurtosis: np.ndarray

    def as_dict(self) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}


def _check(spec: NetworkSpec) -> None:
    if spec.depth != 1:
        raise SpecError(f"exact finite-width correlators exist only for depth 1 (got depth {spec.depth}); "
                        "measure deeper networks with `sample` or a width sweep")
    check_mechanism(spec)


def _moments(spec: NetworkSpec, pts: np.ndarray) -> "_Arrays":
    """One neuron's moment arrays at pts. They do not depend on the width (a neuron sees only its own
    parameters), so they are cached per spec at width 1: moving the width slider does not repeat the quadrature
    (~15 ms of every request at the app's defaults). Only the (P, P) results are kept, not the quadrature's
    per-node values (~25 MB at 61 points for a smooth φ)."""
    try:
        key = spec.replace(width=1)
    except SpecError:
        return _Arrays(spec, _neuron_moments(spec, pts))
    pts = np.ascontiguousarray(pts, dtype=np.float64)
    return _cached_moments(key, pts.tobytes(), pts.shape)


@lru_cache(maxsize=16)
def _cached_moments(spec: NetworkSpec, raw: bytes, shape: tuple) -> "_Arrays":
    pts = np.frombuffer(raw, dtype=np.float64).reshape(shape).copy()
    return _Arrays(spec, _neuron_moments(spec, pts))


def _neuron_moments(spec: NetworkSpec, pts: np.ndarray) -> NeuronMoments:
    if _sequential(spec):
        scale = spec.sigma_w / math.sqrt(spec.input_dim)
        if scale == 0:
            return NeuronMoments(spec, pts, s2_of_nodes=lambda nodes: np.ones(len(nodes)))
        return NeuronMoments(spec, pts, s2_of_nodes=lambda nodes: sequential_scale2(spec, nodes[:, 0] / scale))
    return NeuronMoments(spec, pts)


def _sequential(spec: NetworkSpec) -> bool:
    return spec.independence == "sequential" and not spec.iid


class _Arrays:
    """The whole-array moments of a NeuronMoments that the correlators use, computed once and read-only (shared
    by every width through the cache, so nobody may write into them)."""

    def __init__(self, spec: NetworkSpec, nm: NeuronMoments):
        names = ("h2", "h4_pair", "h6") + (("s2_h2", "s2_h4", "s4_h2") if _sequential(spec) else ())
        self._a = {}
        for name in names:
            arr = np.array(getattr(nm, name)(), dtype=np.float64)
            arr.setflags(write=False)
            self._a[name] = arr

    def h2(self) -> np.ndarray:
        return self._a["h2"]

    def h4_pair(self) -> np.ndarray:
        return self._a["h4_pair"]

    def h6(self) -> np.ndarray:
        return self._a["h6"]

    def s2_h2(self) -> np.ndarray:
        return self._a["s2_h2"]

    def s2_h4(self) -> np.ndarray:
        return self._a["s2_h4"]

    def s4_h2(self) -> np.ndarray:
        return self._a["s4_h2"]


def _bias_cumulants(spec: NetworkSpec) -> tuple[float, float]:
    m4, m6 = moment(spec.prior, 4, spec.prior_dof), moment(spec.prior, 6, spec.prior_dof)
    if spec.sigma_b == 0:
        return 0.0, 0.0
    return spec.sigma_b**4 * (m4 - 3.0), spec.sigma_b**6 * (m6 - 15.0 * m4 + 30.0)


def _inf_where(value, top_moment) -> np.ndarray:
    """A cumulant whose highest moment diverges (heavy prior tails, gauss-net) is reported as inf."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(top_moment), value, np.inf)


class _Assembler:
    """Combines neuron moments into cumulants of f; the 4-point formulas take broadcastable arrays."""

    def __init__(self, spec: NetworkSpec, nm: NeuronMoments):
        self.spec, self.nm = spec, nm
        n = spec.width
        self.n = n
        self.sw2 = spec.sigma_w**2
        self.mu4 = moment(spec.prior, 4, spec.prior_dof)
        self.mu6 = moment(spec.prior, 6, spec.prior_dof)
        self.b4, self.b6 = _bias_cumulants(spec)
        self.mode = "none" if spec.iid else spec.independence
        self.v = spec.independence_strength
        self.H = nm.h2()
        self.K = self.sw2 * self.H
        # Neurons whose readout carries the common scale: all (shared-scale) or all but neuron 1.
        self.n_y = n - 1 if self.mode == "sequential" else n
        self.S = nm.s2_h2() if self.mode == "sequential" else None      # E[s² h_a h_b] over neuron 1

    def g4c(self, h4, h12, h34, h13, h24, h14, h23, s=None) -> np.ndarray:
        """Connected 4-point function from H₁₂₃₄ and the pair values (H_ab and, sequential, S_ab)."""
        n, sw4 = self.n, self.sw2**2
        kk = self.sw2**2 * (h12 * h34 + h13 * h24 + h14 * h23)            # Σ pairings of K
        t4_one = sw4 / n**2 * (self.mu4 * h4 - (h12 * h34 + h13 * h24 + h14 * h23))
        if self.mode == "none":
            return _inf_where(n * t4_one + self.b4, h4)
        e4 = gamma_moment(self.v, 2)
        if self.mode == "shared-scale":
            return _inf_where(e4 * (n * t4_one + kk) - kk + self.b4, h4)
        frac = self.n_y / n                                              # K′ = frac·K for the N−1 neurons
        y4 = self.n_y * t4_one + frac**2 * kk                             # E[Y′Y′Y′Y′]
        s12, s34, s13, s24, s14, s23 = s
        k = self.sw2 / n * self.sw2 * frac                               # E[A_aA_b s²]/S̃_ab · K′/H
        splits = k * (s12 * h34 + s34 * h12 + s13 * h24 + s24 * h13 + s14 * h23 + s23 * h14)
        a4 = sw4 / n**2 * self.mu4 * h4
        return _inf_where(a4 + e4 * y4 + splits - kk + self.b4, h4)

    def g6c_diag(self, h2: np.ndarray, h4: np.ndarray, h6: np.ndarray) -> np.ndarray:
        n, sw2 = self.n, self.sw2
        # One neuron's moments of a·h (a = σ_w α/√N) and its 6th cumulant.
        m2, m4, m6 = sw2 / n * h2, sw2**2 / n**2 * self.mu4 * h4, sw2**3 / n**3 * self.mu6 * h6
        k2, k4, k6 = m2, m4 - 3 * m2**2, m6 - 15 * m4 * m2 + 30 * m2**3
        if self.mode == "none":
            return _inf_where(n * k6 + self.b6, h6)
        ny = self.n_y
        y2, y4c, y6c = ny * k2, ny * k4, ny * k6
        y4 = y4c + 3 * y2**2
        y6 = y6c + 15 * y4c * y2 + 15 * y2**3
        e4, e6 = gamma_moment(self.v, 2), gamma_moment(self.v, 3)
        if self.mode == "shared-scale":
            z2, z4, z6 = y2, e4 * y4, e6 * y6
        else:
            z2 = m2 + y2
            z4 = m4 + e4 * y4 + 6 * (sw2 / n * np.diag(self.S)) * y2
            z6 = (m6 + e6 * y6 + 15 * sw2**2 / n**2 * self.mu4 * self.nm.s2_h4() * y2
                  + 15 * sw2 / n * self.nm.s4_h2() * y4)
        return _inf_where(z6 - 15 * z4 * z2 + 30 * z2**3 + self.b6, h6)


def exact_correlators(spec: NetworkSpec, x) -> FiniteWidthTheory:
    """G2, connected G4 (diag and pair slices) and connected G6 (diag) of a depth-1 ensemble, exact at N."""
    _check(spec)
    pts = as_points(x, spec.input_dim)
    asm = _Assembler(spec, _moments(spec, pts))
    H = asm.H
    hd = np.diag(H)
    h4p = asm.nm.h4_pair()
    hi, hj = hd[:, None], hd[None, :]
    s = None
    if asm.S is not None:
        sd = np.diag(asm.S)
        s = (sd[:, None], sd[None, :], asm.S, asm.S, asm.S, asm.S)
    with np.errstate(invalid="ignore"):  # inf − inf where a moment diverges; `_inf_where` reports inf
        g4_pair = asm.g4c(h4p, hi, hj, H, H, H, H, s)
        g6 = asm.g6c_diag(hd, np.diag(h4p), asm.nm.h6())
    g4_pair = 0.5 * (g4_pair + g4_pair.T)
    g4_diag = np.diag(g4_pair).copy()
    g2 = spec.sigma_b**2 + asm.K
    with np.errstate(divide="ignore", invalid="ignore"):
        kurt = np.where(np.diag(g2) > 0, g4_diag / np.diag(g2) ** 2, 0.0)
    return FiniteWidthTheory(x=pts, width=spec.width, g2=0.5 * (g2 + g2.T), g4c_diag=g4_diag,
                             g4c_pair=g4_pair, g6c_diag=g6, kurtosis=kurt)


def g4c(spec: NetworkSpec, x1, x2, x3, x4) -> float:
    """Connected ⟨f(x1) f(x2) f(x3) f(x4)⟩ of a depth-1 ensemble at width spec.width, exact to 1e-9 except where
    an `InexactWarning` says otherwise (the first-layer integrals of docs/physics.md §4.2: `accuracy_note`, and
    at d > 1 three or four distinct points that only the unsplit tensor rule takes)."""
    _check(spec)
    pts = as_points(np.stack([np.atleast_1d(np.asarray(p, dtype=np.float64)) for p in (x1, x2, x3, x4)]),
                    spec.input_dim)
    nm = _neuron_moments(spec, pts)
    asm = _Assembler(spec, nm)   # h_tuple needs the per-node values: not cached
    H = asm.H
    pairs = [(0, 1), (2, 3), (0, 2), (1, 3), (0, 3), (1, 2)]
    hs = [H[a, b] for a, b in pairs]
    s = None
    if asm.S is not None:
        s = [asm.nm.s2_tuple((a, b)) for a, b in pairs]
    with np.errstate(invalid="ignore"):
        value = float(asm.g4c(asm.nm.h_tuple((0, 1, 2, 3)), *hs, s))
    note = accuracy_note(spec, x=pts)
    if note is None and not getattr(nm, "joint_rule_split", True) and len(np.unique(pts, axis=0)) > 2:
        note = (f"{spec.activation} under the {spec.prior} prior at input_dim {spec.input_dim}: E[h(x₁)…h(x₄)] with "
                "more than two distinct points uses the unsplit tensor rule, 1e-9 relative is not guaranteed "
                "(docs/physics.md §4.2)")
    if note is not None:
        warnings.warn(note, InexactWarning, stacklevel=2)
    return value

