"""Export of the current view: PNG of the whole view, SVG of views that render correctly as vectors (those
without images), and every plotted array as CSV columns and NPZ entries."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtSvg

from .views.base import ViewBase


def columns(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Flatten to 1-D columns: a 2-D array (a, b) becomes b columns name[j]."""
    cols = {}
    for name, arr in data.items():
        a = np.atleast_1d(np.asarray(arr, dtype=float))
        if a.ndim == 1:
            cols[name] = a
        else:
            a = a.reshape(a.shape[0], -1)
            for j in range(a.shape[1]):
                cols[f"{name}[{j}]"] = a[:, j]
    return cols


def write_csv(path: Path, data: dict[str, np.ndarray]) -> None:
    cols = columns(data)
    n = max((len(c) for c in cols.values()), default=0)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(list(cols))
        for i in range(n):
            w.writerow([repr(float(c[i])) if i < len(c) else "" for c in cols.values()])


def write_svg(view: ViewBase, path: Path) -> Path | None:
    """The whole view as vector SVG through Qt's own SVG painter (pyqtgraph 0.14's SVG exporter cannot parse
    the paths Qt 6.12 writes). Views holding images are skipped: their bitmaps are better in the PNG."""
    if not view.svg_ok():
        return None
    canvas = getattr(view, "canvas", None)
    if canvas is None:
        return None
    scene = canvas.scene()
    rect = scene.sceneRect()
    gen = QtSvg.QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(QtCore.QSize(int(rect.width()), int(rect.height())))
    gen.setViewBox(QtCore.QRectF(0, 0, rect.width(), rect.height()))
    gen.setTitle(view.title)
    painter = QtGui.QPainter()
    if not painter.begin(gen):
        return None
    try:
        painter.fillRect(QtCore.QRectF(0, 0, rect.width(), rect.height()), canvas.backgroundBrush())
        scene.render(painter, QtCore.QRectF(0, 0, rect.width(), rect.height()), rect)
    finally:
        painter.end()
    return path if path.exists() and path.stat().st_size > 0 else None


def export_view(view: ViewBase, base: str | Path) -> list[Path]:
    """Write base.png, base.csv, base.npz and (for views without images) base.svg; returns the files."""
    base = Path(base)
    if base.suffix.lower() in (".png", ".csv", ".npz", ".svg"):
        base = base.with_suffix("")
    written = []
    png = base.with_suffix(".png")
    view.grab().save(str(png))
    written.append(png)
    data = view.export_data()
    csv_path, npz_path = base.with_suffix(".csv"), base.with_suffix(".npz")
    write_csv(csv_path, data)
    np.savez(npz_path, **{k: np.asarray(v) for k, v in data.items()})
    written += [csv_path, npz_path]
    svg = write_svg(view, base.with_suffix(".svg"))
    if svg is not None:
        written.append(svg)
    return written
