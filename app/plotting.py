"""pyqtgraph setup and small drawing helpers shared by the views.

`setConfigOptions` runs once here, before any plot item exists: row-major images, no OpenGL (offscreen and
many projectors' drivers have none), antialiasing on.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

pg.setConfigOptions(imageAxisOrder="row-major", useOpenGL=False, antialias=True)

LINE_WIDTH = 2.5
PRESENTATION_LINE_WIDTH = 4.5


def stepped(edges: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) for `PlotDataItem(stepMode='center')`-free plotting: a closed staircase over the bins."""
    x = np.repeat(np.asarray(edges, dtype=float), 2)[1:-1]
    y = np.repeat(np.asarray(values, dtype=float), 2)
    return np.concatenate([[x[0]], x, [x[-1]]]), np.concatenate([[0.0], y, [0.0]])


def ellipse(cov: np.ndarray, n_sigma: float, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Points of the n_sigma contour of a 2-D zero-mean Gaussian with covariance `cov`."""
    vals, vecs = np.linalg.eigh(np.asarray(cov, dtype=float))
    vals = np.maximum(vals, 0.0)
    t = np.linspace(0, 2 * np.pi, n)
    circle = np.stack([np.cos(t), np.sin(t)])
    pts = vecs @ (np.sqrt(vals)[:, None] * circle) * n_sigma
    return pts[0], pts[1]


def gaussian_density(z: np.ndarray, variance: float) -> np.ndarray:
    v = max(float(variance), 1e-300)
    return np.exp(-0.5 * z * z / v) / np.sqrt(2 * np.pi * v)


def finite(a) -> np.ndarray:
    """Replace non-finite entries by NaN so pyqtgraph skips them instead of raising."""
    arr = np.asarray(a, dtype=float)
    return np.where(np.isfinite(arr), arr, np.nan)


class ErrorBars(pg.ErrorBarItem):
    """Error bars that accept NaN-free arrays and can be updated in one call."""

    def set(self, x, y, err, pen) -> None:
        x, y, err = (np.nan_to_num(finite(a), nan=0.0) for a in (x, y, err))
        self.setData(x=x, y=y, height=2 * err, beam=0.0, pen=pen)


def colormap_lut(name: str) -> np.ndarray:
    return pg.colormap.get(name).getLookupTable(nPts=256)


def pen(color, width: float = LINE_WIDTH, style=QtCore.Qt.PenStyle.SolidLine) -> QtGui.QPen:
    p = pg.mkPen(color=color, width=width)
    p.setStyle(style)
    p.setCosmetic(True)
    return p
