"""Level lines of a sampled 2-D density, computed in the worker: pyqtgraph's isocurve is a Python loop over
cells (~14 ms per level at 161², three levels per joint density) and held the GUI thread for ~45 ms.

Marching squares, vectorized: every cell whose corners straddle the level contributes one segment (two at a
saddle, resolved by the cell's mean), its ends linearly interpolated along the crossed edges — the same points
pyqtgraph's isocurve finds. Returned as x, y with a NaN after each segment (draw with connect='finite')."""
from __future__ import annotations

import numpy as np

# Edges of a cell by its corners (0: (i, j), 1: (i+1, j), 2: (i+1, j+1), 3: (i, j+1)).
_EDGES = ((0, 1), (1, 2), (3, 2), (0, 3))
# Corner case (bit k set: corner k above the level) → the edge pairs its segments join; saddles 5 and 10 are
# split by whether the cell's mean is above the level (the second entry).
_SEGMENTS = {
    1: ((0, 3),), 2: ((0, 1),), 3: ((1, 3),), 4: ((1, 2),), 6: ((0, 2),), 7: ((2, 3),),
    8: ((2, 3),), 9: ((0, 2),), 11: ((1, 2),), 12: ((1, 3),), 13: ((0, 1),), 14: ((0, 3),),
}
_SADDLES = {5: (((0, 1), (2, 3)), ((0, 3), (1, 2))), 10: (((0, 3), (1, 2)), ((0, 1), (2, 3)))}


def level_line(x: np.ndarray, y: np.ndarray, z: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The level line z = level of z[i, j] sampled at (x[i], y[j]) on uniform or non-uniform grids."""
    z = np.asarray(z, dtype=float)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    corners = np.stack([z[:-1, :-1], z[1:, :-1], z[1:, 1:], z[:-1, 1:]])            # (4, nx−1, ny−1)
    above = corners > level
    case = above[0] * 1 + above[1] * 2 + above[2] * 4 + above[3] * 8
    ci = np.arange(z.shape[0] - 1)[:, None] * np.ones((1, z.shape[1] - 1), dtype=int)
    cj = np.ones((z.shape[0] - 1, 1), dtype=int) * np.arange(z.shape[1] - 1)[None, :]
    corner_x = np.stack([x[ci], x[ci + 1], x[ci + 1], x[ci]])
    corner_y = np.stack([y[cj], y[cj], y[cj + 1], y[cj + 1]])
    pieces: list[tuple[np.ndarray, int, int]] = []   # (cell mask, edge a, edge b)
    for k, segs in _SEGMENTS.items():
        mask = case == k
        if mask.any():
            pieces += [(mask, a, b) for a, b in segs]
    mean_above = corners.mean(axis=0) > level
    for k, (if_above, if_below) in _SADDLES.items():
        for segs, sel in ((if_above, mean_above), (if_below, ~mean_above)):
            mask = (case == k) & sel
            if mask.any():
                pieces += [(mask, a, b) for a, b in segs]
    if not pieces:
        return np.array([]), np.array([])

    def crossing(mask: np.ndarray, edge: int) -> tuple[np.ndarray, np.ndarray]:
        p, q = _EDGES[edge]
        zp, zq = corners[p][mask], corners[q][mask]
        t = (level - zp) / (zq - zp)
        return (corner_x[p][mask] + t * (corner_x[q][mask] - corner_x[p][mask]),
                corner_y[p][mask] + t * (corner_y[q][mask] - corner_y[p][mask]))

    xs, ys = [], []
    for mask, a, b in pieces:
        (xa, ya), (xb, yb) = crossing(mask, a), crossing(mask, b)
        gap = np.full_like(xa, np.nan)
        xs.append(np.stack([xa, xb, gap], axis=1).ravel())
        ys.append(np.stack([ya, yb, gap], axis=1).ravel())
    return np.concatenate(xs), np.concatenate(ys)


__all__ = ["level_line"]
