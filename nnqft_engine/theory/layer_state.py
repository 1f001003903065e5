"""The deep recursion's state at the readout (docs/physics.md §8), shared by `deep` (gaussian priors) and
`deep_priors` (non-Gaussian ones) without either importing the other's module at import time."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LayerState:
    """Output-layer O(1) kernel, 1/N kernel shift and four-point vertex: on the diagonal (P,) and per pair
    (B, 3) / (B, 3, 3) in coordinates ((aa), (ab), (bb)) for the pairs (ia[k], ib[k])."""

    k_diag: np.ndarray
    k1_diag: np.ndarray
    v_diag: np.ndarray
    ia: np.ndarray
    ib: np.ndarray
    k_pair: np.ndarray
    k1_pair: np.ndarray
    v_pair: np.ndarray
    g4c_const: float = 0.0             # the readout bias's fourth cumulant κ₄σ_b⁴ (non-Gaussian priors, §8.1)
    notes: tuple[str, ...] = ()
