"""Classical Gauss rules in float64, from numpy.polynomial.

scipy.special's roots_* functions give the same nodes and weights (to ~1e-14 here) but import scipy.linalg on
first use, a tenth of a second on the app's path to its first frame. numpy's weights overflow for large n
(Laguerre near 190 nodes, Hermite near 400), so rules beyond NUMPY_MAX_NODES come from scipy.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial import hermite_e, laguerre, legendre

NUMPY_MAX_NODES = 150


@lru_cache(maxsize=32)
def hermite_e_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) for E[f(z)], z ~ N(0, 1)."""
    z, w = _rule(hermite_e.hermegauss, "roots_hermitenorm", n)
    return _frozen(z, w / w.sum())


@lru_cache(maxsize=32)
def legendre_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [−1, 1] for the weight 1 (weights sum to 2)."""
    return _frozen(*_rule(legendre.leggauss, "roots_legendre", n))


@lru_cache(maxsize=32)
def laguerre_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [0, ∞) for the weight e^{−x} (weights sum to 1)."""
    return _frozen(*_rule(laguerre.laggauss, "roots_laguerre", n))


def _rule(numpy_rule, scipy_name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    if n <= NUMPY_MAX_NODES:
        return numpy_rule(n)
    from scipy import special

    return getattr(special, scipy_name)(n)


def _frozen(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Cached arrays are shared by every caller: make accidental in-place edits fail loudly.
    x, w = np.array(x, dtype=np.float64), np.array(w, dtype=np.float64)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w
