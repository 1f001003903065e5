"""Export of the current view: PNG of the whole view, SVG of views that render correctly as vectors (those
without images), and every plotted array as CSV columns and NPZ entries."""
from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

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
    """The whole view as a vector SVG with the PNG's layout: the widget itself rendered through Qt's SVG painter,
    at its own size (viewBox = the widget's size in pixels, one SVG unit per pixel). Images (kernels, the G2
    matrix, a 2-D field) are embedded as bitmaps; curves, text and axes stay vectors."""
    size = view.size()
    gen = QtSvg.QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(size)
    gen.setViewBox(QtCore.QRect(0, 0, size.width(), size.height()))
    gen.setResolution(96)
    gen.setTitle(f"NN-QFT Explorer — {view.title}")
    painter = QtGui.QPainter()
    # Scatter symbols are normally stamped from a cached bitmap atlas; in a vector file they must be paths.
    scatters = [item for plot in view._plots for item in plot.items
                for item in ([item.scatter] if isinstance(item, pg.PlotDataItem) else [item])
                if isinstance(item, pg.ScatterPlotItem) and item.opts.get("useCache", True)]
    for item in scatters:
        item.opts["useCache"] = False
    if not painter.begin(gen):
        return None
    try:
        view.render(painter, QtCore.QPoint(0, 0), QtGui.QRegion(view.rect()),
                    QtWidgets.QWidget.RenderFlag.DrawWindowBackground | QtWidgets.QWidget.RenderFlag.DrawChildren)
    finally:
        painter.end()
        for item in scatters:
            item.opts["useCache"] = True
    if not (path.exists() and path.stat().st_size > 0):
        return None
    text = bake_transforms(path.read_text(encoding="utf-8"))
    # Qt states the size in millimetres rounded to 3 decimals, which renderers round to a pixel more or less
    # than the PNG: state it in pixels, exactly the viewBox.
    text = re.sub(r'(<svg\b[^>]*?)\swidth="[^"]*"\s+height="[^"]*"', rf'\1 width="{size.width()}px" '
                  rf'height="{size.height()}px"', text, count=1)
    path.write_text(text, encoding="utf-8")
    return path


_MATRIX = re.compile(r"^\s*matrix\(([^)]*)\)\s*$")
_TOKEN = re.compile(r"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _bake_path(d: str, m: tuple[float, ...]) -> str | None:
    """Path data with the affine matrix m applied to every point; None for commands it does not handle."""
    a, b, c, dd, e, f = m
    out, nums, cmd = [], [], ""

    def flush() -> None:
        for i in range(0, len(nums) - 1, 2):
            x, y = nums[i], nums[i + 1]
            out.append(f"{a * x + c * y + e:.6g},{b * x + dd * y + f:.6g}")
        nums.clear()

    for tok in _TOKEN.findall(d):
        if tok.isalpha():
            if len(nums) % 2:
                return None
            flush()
            if tok not in "MLCQSTZ":
                return None   # relative commands, arcs, H/V: keep the transform instead
            cmd = tok
            out.append(tok)
        else:
            nums.append(float(tok))
    flush()
    return " ".join(out) if cmd else None


def bake_transforms(svg: str) -> str:
    """Apply each group's matrix to the coordinates of its paths and polylines and drop it.

    Qt writes a curve as a path in data coordinates under its group's data→pixel matrix, with
    vector-effect="non-scaling-stroke" for cosmetic pens. librsvg and ImageMagick ignore that effect and scale
    the stroke by the matrix (a 2.5 px line × 388 becomes a huge filled band); with the matrix baked into the
    points there is nothing to scale, and every renderer draws the same picture."""
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    for g in root.iter(f"{ns}g"):
        match = _MATRIX.match(g.get("transform", ""))
        if not match:
            continue
        m = tuple(float(v) for v in match.group(1).replace(",", " ").split())
        if len(m) != 6:
            continue
        for child in list(g):
            tag = child.tag.replace(ns, "")
            baked = None
            if tag == "path" and "transform" not in child.attrib:
                baked = _bake_path(child.get("d", ""), m)
                if baked is not None:
                    child.set("d", baked)
            elif tag in ("polyline", "polygon") and "transform" not in child.attrib:
                pts = [float(v) for v in _TOKEN.findall(child.get("points", ""))]
                if len(pts) % 2 == 0:
                    baked = " ".join(f"{m[0] * x + m[2] * y + m[4]:.6g},{m[1] * x + m[3] * y + m[5]:.6g}"
                                     for x, y in zip(pts[::2], pts[1::2]))
                    child.set("points", baked)
            if baked is None:   # text, images, rectangles: the group's matrix moves onto the element
                child.set("transform", f"matrix({match.group(1)})" + (" " + child.get("transform")
                                                                      if child.get("transform") else ""))
        del g.attrib["transform"]
    return '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + ET.tostring(root, encoding="unicode")


def settings_of(view: ViewBase, state=None) -> dict:
    """What reproduces the export: the whole state (AppState.to_dict()), the view, versions."""
    from .session import versions
    state = state if state is not None else view.host.current_state()
    return {"kind": "nnqft-explorer-export", "view": view.key, "state": state.to_dict(), "versions": versions()}


def export_view(view: ViewBase, base: str | Path, state=None) -> list[Path]:
    """Write base.png, base.svg (same layout, vectors), base.csv and base.npz (every plotted array, error bars
    included) and base.json (the settings that reproduce them; also in the NPZ as `settings_json`)."""
    base = Path(base)
    if base.suffix.lower() in (".png", ".csv", ".npz", ".svg", ".json"):
        base = base.with_suffix("")
    written = []
    png = base.with_suffix(".png")
    view.grab().save(str(png))
    written.append(png)
    svg = write_svg(view, base.with_suffix(".svg"))
    if svg is not None:
        written.append(svg)
    data = view.export_data()
    settings = json.dumps(settings_of(view, state), indent=2, ensure_ascii=False, default=str)
    csv_path, npz_path, json_path = base.with_suffix(".csv"), base.with_suffix(".npz"), base.with_suffix(".json")
    write_csv(csv_path, data)
    np.savez(npz_path, settings_json=np.array(settings), **{k: np.asarray(v) for k, v in data.items()})
    json_path.write_text(settings + "\n", encoding="utf-8")
    written += [csv_path, npz_path, json_path]
    return written
