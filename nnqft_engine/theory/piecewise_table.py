"""A function tabulated once and read back to rounding: Chebyshev interpolation (degree 20) on pieces, each piece's
singular points at its ends or beyond them (pieces graded geometrically towards them)."""
from __future__ import annotations

import math

import numpy as np

DEGREE = 20
_GRADING = 24   # halvings towards each break point: the innermost piece is 2⁻²⁴ ≈ 6e-8 of its gap
_CHUNK = 1 << 18


def graded_between(breaks: np.ndarray, levels: int = _GRADING) -> np.ndarray:
    """Edges: the break points, and each gap between two graded geometrically (ratio 2) towards both ends."""
    steps = 0.5 ** np.arange(1, levels + 1)
    edges = [np.asarray(breaks, dtype=np.float64)]
    for lo, hi in zip(breaks[:-1], breaks[1:]):
        edges += [lo + (hi - lo) * steps, hi - (hi - lo) * steps]
    return np.unique(np.concatenate(edges))


class PiecewiseChebyshev:
    """fn on the pieces between `edges`, read back by barycentric interpolation at Chebyshev points of the second
    kind; `below` below the first edge (None: fn there, held), fn(last edge) above the last."""

    def __init__(self, fn, edges: np.ndarray, below: float | None = None):
        self.edges = np.asarray(edges, dtype=np.float64)
        j = np.arange(DEGREE + 1)
        self.nodes = np.cos(math.pi * j / DEGREE)[::-1]               # −1 … 1
        self.weights = np.where((j == 0) | (j == DEGREE), 0.5, 1.0) * (-1.0) ** j
        lo, hi = self.edges[:-1, None], self.edges[1:, None]
        self.values = fn((0.5 * (lo + hi) + 0.5 * (hi - lo) * self.nodes).ravel()).reshape(len(lo), -1)
        self.top = float(self.values[-1, -1])
        self.below = float(self.values[0, 0]) if below is None else below

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        flat = x.ravel()
        out = np.empty_like(flat)
        rows = max(1, _CHUNK // (DEGREE + 1))
        for i in range(0, len(flat), rows):
            out[i:i + rows] = self._eval(flat[i:i + rows])
        return out.reshape(x.shape)

    def _eval(self, x: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(self.edges, x, side="right") - 1, 0, len(self.edges) - 2)
        lo, hi = self.edges[k], self.edges[k + 1]
        t = np.clip((2.0 * x - lo - hi) / (hi - lo), -1.0, 1.0)
        diff = t[:, None] - self.nodes
        exact = diff == 0.0
        diff = np.where(exact, 1.0, diff)
        q = self.weights / diff
        vals = self.values[k]
        out = (q * vals).sum(axis=1) / q.sum(axis=1)
        hit = exact.any(axis=1)
        out[hit] = vals[hit][exact[hit]]
        return np.where(x <= self.edges[0], self.below, np.where(x >= self.edges[-1], self.top, out))
