"""The deep 1/N theory (docs/physics.md §8) on the slices the views draw: G2 and connected G4 between the first
point x₀ and every point, and on the diagonal. `nnqft_engine.theory.deep.deep_correlators` follows all P(P−1)/2
pairs; the views need only the P − 1 pairs (x₀, x), so the recursion runs on those (`pairs=`) — the same
numbers (tests/test_depth_view.py), a fraction of the work for quadrature activations.

The recursion's K, K₁ and V do not depend on the width N (it enters only as the 1/N in front), so it is cached
per spec with the width left out and per set of points: moving the width slider or running the width sweep
reuses it, and a view that asks again for the same theory gets it at once."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from nnqft_engine import NetworkSpec
from nnqft_engine.spec import as_points
from nnqft_engine.theory.deep import KURTOSIS_LIMIT, LayerState, _relu_degenerate_pairs, recursion

CACHE_SIZE = 32   # recursions kept: a few views × a few recent specs; each is O(points) numbers


@dataclass(frozen=True)
class DeepRow:
    """(P, P) arrays filled on row/column 0 and the diagonal only (elsewhere 0): nngp, g2 = K + K₁/N, g4c_pair;
    g4c_diag and kurtosis (P,); order "1/N"; warnings as deep_correlators words them."""

    nngp: np.ndarray
    g2: np.ndarray
    g4c_pair: np.ndarray
    g4c_diag: np.ndarray
    kurtosis: np.ndarray
    order: str = "1/N"
    warnings: tuple[str, ...] = ()
    g6c_diag: None = None      # O(1/N²): not part of the leading order
    g4c_const: float = 0.0     # the N-independent part of G4c, κ₄σ_b⁴ (non-Gaussian readout bias, §8.1)


def deep_row(spec: NetworkSpec, x) -> DeepRow:
    """deep_correlators' nngp, g2 and g4c_pair on row 0 and the diagonal (SpecError where it raises one)."""
    pts = as_points(x, spec.input_dim)
    p = len(pts)
    ia, ib = np.zeros(p - 1, dtype=np.int64), np.arange(1, p, dtype=np.int64)
    st = _row_recursion(spec.replace(width=1), pts.tobytes(), pts.shape)
    n = spec.width
    k, g2 = np.diag(st.k_diag), np.diag(st.k_diag + st.k1_diag / n)
    g4 = np.diag(3.0 * st.v_diag / n + st.g4c_const)     # g4c_const: non-Gaussian readout bias (§8.1)
    k[ia, ib] = k[ib, ia] = st.k_pair[:, 1]
    g2[ia, ib] = g2[ib, ia] = st.k_pair[:, 1] + st.k1_pair[:, 1] / n
    g4[ia, ib] = g4[ib, ia] = (st.v_pair[:, 0, 2] + 2.0 * st.v_pair[:, 1, 1]) / n + st.g4c_const
    if spec.activation == "relu":   # reads only the diagonal; entries off row 0 are never read back
        _relu_degenerate_pairs(spec, pts, (k, g2, g4))
    d = np.diag(g2)
    with np.errstate(divide="ignore", invalid="ignore"):
        kurt = np.where(d > 0, np.diag(g4) / d**2, 0.0)
        kurt_n = np.where(d > 0, (np.diag(g4) - st.g4c_const) / d**2, 0.0)
    warnings = list(st.notes)
    if np.any(np.abs(kurt_n) > KURTOSIS_LIMIT):
        warnings.append(f"|G4c/G2²| reaches {np.nanmax(np.abs(kurt_n)):.3g} > {KURTOSIS_LIMIT:g}: "
                        "the 1/N expansion is out of range")
    return DeepRow(nngp=k, g2=g2, g4c_pair=g4, g4c_diag=np.diag(g4).copy(), kurtosis=kurt,
                   warnings=tuple(warnings), g4c_const=float(st.g4c_const))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _row_recursion(spec: NetworkSpec, points: bytes, shape: tuple[int, ...]) -> LayerState:
    """recursion() on the pairs (x₀, x) for a width-free spec (key: the spec with width 1); its arrays are
    read-only, since every caller shares them."""
    pts = np.frombuffer(points, dtype=np.float64).reshape(shape)
    p = len(pts)
    st = recursion(spec, pts, pairs=(np.zeros(p - 1, dtype=np.int64), np.arange(1, p, dtype=np.int64)))
    for a in st.__dict__.values():
        if isinstance(a, np.ndarray):
            a.setflags(write=False)
    return st


def cache_clear() -> None:
    _row_recursion.cache_clear()
