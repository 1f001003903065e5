"""Latency of the exact depth-1 finite-width theory."""
from __future__ import annotations

import math
import time

import numpy as np

from ..spec import NetworkSpec
from ..theory.finite_width import exact_correlators


def benchmark(points: int = 16, repeats: int = 3) -> dict[str, float]:
    """Seconds for the exact theory at `points` points (all pair configurations), best of `repeats`."""
    x = np.linspace(-2.0, 2.0, points)
    out = {}
    for act in ("erf", "relu", "tanh"):
        spec = NetworkSpec(width=8, activation=act, prior="laplace" if act == "relu" else "gaussian")
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            exact_correlators(spec, x)
            best = min(best, time.perf_counter() - t0)
        out[f"exact_theory_{points}pt_{act}_s"] = best
    return out
