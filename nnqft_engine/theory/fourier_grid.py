"""The k-grids of the pair's characteristic-function integrals (`fourier_pair`, `fourier_growing`;
docs/physics.md §4.2): midpoint trapezoid nodes h(j + ½) > 0 per axis, and χ on a block of the quadrant."""
from __future__ import annotations

import math

import numpy as np

MAX_POWER = 6
GROWING = ("gelu", "silu", "softplus")   # NNGP/NTK only (`fourier_growing`)
_STRIP_TURNS = 40.0     # e^{−_STRIP_TURNS} ≈ 4e-18: the trapezoid's geometric error at step 2π·strip/_STRIP_TURNS
_DECAY = {"tanh": math.pi / 2, "sigmoid": math.pi, "silu": math.pi, "softplus": math.pi}   # ~ k^n·e^{−rate·k}
_GAUSSIAN = ("erf", "gelu")                                 # transforms ~ e^{−k²/4} or faster
# poles of the transforms at ±2i (tanh), ±i (sigmoid, silu, softplus); erf's and gelu's are entire (4: a step ≤ 0.6
# resolves their Gaussians)
_OWN_STRIP = {"tanh": 2.0, "sigmoid": 1.0, "erf": 4.0, "gelu": 4.0, "silu": 1.0, "softplus": 1.0}
ERF_REACH = 2.0 * math.sqrt(44.0 * MAX_POWER)   # erf^p's transforms fall like e^{−k²/(4p)}
BLOCK = 1 << 17         # nodes per block of k₁ rows


def axis(name: str, coeffs: np.ndarray) -> np.ndarray:
    """Midpoint nodes h(j + ½) > 0 along one k-axis (coeffs: that point's live coefficients)."""
    top = float(np.abs(coeffs).max(initial=0.0))
    strip = min(math.sqrt(2.0) / top if top > 0 else math.inf, _OWN_STRIP[name])
    # the transforms (up to k⁵·e^{−rate·k} for sech⁶) below e^{−44} at the reach
    reach = (ERF_REACH if name == "erf" else 2.0 * math.sqrt(_STRIP_TURNS + 4.0) if name in _GAUSSIAN
             else (_STRIP_TURNS + 24.0) / _DECAY[name])
    h = 2.0 * math.pi * strip / _STRIP_TURNS
    return h * (np.arange(int(math.ceil(reach / h))) + 0.5)


def char(a_i: np.ndarray, a_j: np.ndarray, k1: np.ndarray, k2: np.ndarray, sign: float) -> np.ndarray:
    """χ(k₁, sign·k₂) on the grid (n₁, n₂)."""
    out = np.ones((len(k1), len(k2)))
    for l in range(len(a_i)):
        arg = k1[:, None] * a_i[l] + sign * k2[None, :] * a_j[l]
        out /= 1.0 + 0.5 * arg * arg
    return out
