"""Export of the current view: PNG of the whole view, SVG of each plot that renders correctly as SVG
(plots without images), and every plotted array as CSV columns and NPZ entries."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pyqtgraph.exporters import SVGExporter

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


def export_view(view: ViewBase, base: str | Path) -> list[Path]:
    """Write base.png, base.csv, base.npz and base-<plot>.svg for image-free plots; returns the files."""
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
    for i, (name, plot) in enumerate(view.export_items()):
        if any(isinstance(item, pg.ImageItem) for item in plot.items):
            continue   # embedded bitmaps in pyqtgraph's SVG are unreliable: the PNG covers these
        svg = base.parent / f"{base.name}-{i}.svg"
        try:
            SVGExporter(plot).export(str(svg))
        except Exception:  # noqa: BLE001 — pyqtgraph cannot write some items as SVG: the PNG covers them
            svg.unlink(missing_ok=True)
            continue
        written.append(svg)
    return written
