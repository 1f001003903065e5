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
# Presentation mode multiplies every font size, line width and symbol size by this one factor.
PRESENTATION_SCALE = 1.5
PRESENTATION_LINE_WIDTH = LINE_WIDTH * PRESENTATION_SCALE
TICK_PT, TITLE_PT, LEGEND_PT, NOTE_PT = 10.0, 11.0, 10.0, 10.0


def presentation_scale(screen_height: int) -> float:
    """The factor for a screen: 1.5 on 1080p and up, 1.25 on a 720p projector (whose plots need the room)."""
    return PRESENTATION_SCALE if screen_height >= 1000 else 1.25


class Legend(pg.LegendItem):
    """A legend that lives in a layout cell (under its plot): it asks the layout for room instead of moving
    itself to (0, 0) of its parent, over the plot, as pyqtgraph's updateSize does."""

    def updateSize(self) -> None:  # noqa: N802 — pyqtgraph's naming
        self.layout.invalidate()
        self.updateGeometry()


def legend_columns(entry_widths: list[float], width: float) -> int:
    """The most columns whose entries (filled row by row, each column as wide as its widest entry) fit in
    `width`: sizing every column by the widest entry overall put a three-entry legend in three rows at 720p."""
    for cols in range(len(entry_widths), 1, -1):
        if sum(max(entry_widths[c::cols]) for c in range(cols)) <= width:
            return cols
    return 1


def collapse(item, empty: bool) -> None:
    """Hide a layout item and give its room back (empty), or show it again."""
    item.setVisible(not empty)
    item.setMaximumHeight(0 if empty else 1e6)


def drawn(item) -> bool:
    """Whether a PlotDataItem shows anything: visible, with at least one finite point."""
    if not item.isVisible():
        return False
    x, y = item.getData()
    if x is None or y is None or not len(x):
        return False
    y = np.asarray(y, dtype=float)
    return bool(np.isfinite(y).any())


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


def finite(a) -> np.ndarray:
    """Replace non-finite entries by NaN so pyqtgraph skips them instead of raising."""
    arr = np.asarray(a, dtype=float)
    return np.where(np.isfinite(arr), arr, np.nan)


def finite_levels(data) -> tuple[float, float]:
    """Colour levels spanning the finite entries (a non-empty interval even when they are all equal or none
    is finite), so an infinite kernel entry cannot break an image."""
    arr = np.asarray(data, dtype=float)
    f = arr[np.isfinite(arr)]
    lo, hi = (float(f.min()), float(f.max())) if len(f) else (0.0, 1.0)
    return lo, hi if hi > lo else lo + max(1e-12, abs(lo) * 1e-12)


INFINITE_NNGP = "the NNGP is infinite here: E[φ(z)²] diverges under this prior"
OVERFLOW = "measured values not finite: the outputs overflow at this width"


class ErrorBars(pg.ErrorBarItem):
    """Error bars that accept NaN-free arrays and can be updated in one call."""

    def set(self, x, y, err, pen) -> None:
        x, y, err = (np.nan_to_num(finite(a), nan=0.0) for a in (x, y, err))
        self.setData(x=x, y=y, height=2 * err, top=None, bottom=None, beam=0.0, pen=pen)

    def set_asymmetric(self, x, y, top, bottom, pen) -> None:
        """Bars reaching `top` above and `bottom` below each point. `height` is cleared: pyqtgraph keeps every
        option it was ever given, and a stale `height` of another length breaks the paint (a crash in Qt)."""
        self.setData(x=x, y=y, top=top, bottom=bottom, height=None, beam=0.0, pen=pen)

    def clear(self) -> None:
        self.setData(x=None, y=None, height=None, top=None, bottom=None)


def steady_range(current: tuple[float, float] | None, lo: float, hi: float, margin: float = 0.05,
                 min_fill: float = 0.6, grow: float = 0.0) -> tuple[float, float] | None:
    """A new axis range for data spanning [lo, hi], or None to keep `current`.

    The range changes only when the data leave it or fill less than `min_fill` of it, so data that sharpen or
    shift a little do not redraw the axes (their ticks, labels and grid are most of a frame's cost). Data
    that grow past an edge (a time axis) get `grow` × their span of head-room beyond it.
    """
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return None
    pad = margin * (hi - lo)
    if current is None:
        return lo - pad, hi + pad
    c_lo, c_hi = current
    if c_lo <= lo and hi <= c_hi and (hi - lo) >= min_fill * (c_hi - c_lo):
        return None
    # Head-room only for data outgrowing the range (a little wider than it), not for a jump to another scale.
    span, c_span = hi - lo, c_hi - c_lo
    extra = grow * span if min_fill * c_span <= span <= 2.0 * c_span else 0.0
    return lo - pad - (extra if lo < c_lo else 0.0), hi + pad + (extra if hi > c_hi else 0.0)


class PointCloud(pg.GraphicsObject):
    """Many equal dots drawn in one QPainter.drawPoints call. pg.ScatterPlotItem builds per-point style keys
    in Python (~7 ms for 1500 points at every update); a scatter whose points all look alike needs none."""

    def __init__(self, size_px: float = 4.0):
        super().__init__()
        self._size = size_px
        self._color = QtGui.QColor(0, 0, 0)
        self._poly = QtGui.QPolygonF()
        self._bounds = QtCore.QRectF()
        self.xData = self.yData = np.zeros(0)

    def setData(self, x, y, color) -> None:  # noqa: N802 — pyqtgraph's naming
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        keep = np.isfinite(x) & np.isfinite(y)
        self.xData, self.yData = x[keep], y[keep]
        self.prepareGeometryChange()
        self._color = pg.mkColor(color)
        if len(self.xData):
            self._poly = pg.functions.arrayToQPolygonF(self.xData, self.yData)
            self._bounds = QtCore.QRectF(self.xData.min(), self.yData.min(), np.ptp(self.xData), np.ptp(self.yData))
        else:
            self._poly, self._bounds = QtGui.QPolygonF(), QtCore.QRectF()
        self.update()

    def dataBounds(self, ax, frac=1.0, orthoRange=None):  # noqa: N802,N803 — pyqtgraph autorange hook
        data = self.xData if ax == 0 else self.yData
        return (None, None) if not len(data) else (float(data.min()), float(data.max()))

    def pixelPadding(self) -> float:  # noqa: N802
        return self._size

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802
        px = self.pixelLength(QtCore.QPointF(1.0, 0.0)) or 0.0
        py = self.pixelLength(QtCore.QPointF(0.0, 1.0)) or 0.0
        return self._bounds.adjusted(-self._size * px, -self._size * py, self._size * px, self._size * py)

    def paint(self, painter, *args) -> None:
        if not len(self.xData):
            return
        p = QtGui.QPen(self._color, self._size)
        p.setCosmetic(True)
        p.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
        painter.setPen(p)
        painter.drawPoints(self._poly)


class SteadyViewBox(pg.ViewBox):
    """Auto-range with hysteresis (`steady_range`): refining or slightly changed data keep the axes as they
    are, so the cached axes are not redrawn at every update; data that leave the range or shrink well inside
    it re-range as usual. Explicit ranges (zoom, setRange from code) are applied unchanged."""

    def setRange(self, rect=None, xRange=None, yRange=None, padding=None, update=True,  # noqa: N802
                 disableAutoRange=True):  # noqa: N803 — pyqtgraph's signature
        if self._updatingRange and not disableAutoRange and rect is None:   # called by updateAutoRange
            current = self.viewRange()
            xRange = self._steady(current[0], xRange)
            yRange = self._steady(current[1], yRange)
            if xRange is None and yRange is None:
                return
        super().setRange(rect, xRange, yRange, padding, update, disableAutoRange)

    def _steady(self, current, target):
        if target is None:
            return None
        lo, hi = float(target[0]), float(target[1])
        return steady_range((current[0], current[1]), lo, hi, margin=0.04, min_fill=0.75, grow=0.25)


def log_ticks(lo: float, hi: float, max_labels: int = 12) -> list[list[tuple[float, str]]]:
    """Ticks for a log10 axis over [lo, hi] > 0: labels at 1, 2 and 5 × 10^k, unlabelled minor ticks at the
    other integers (pyqtgraph labels every minor tick of a short range, a crowded column of numbers)."""
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        return [[], []]
    major, minor = [], []
    for k in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1):
        for m in range(1, 10):
            v = m * 10.0**k
            if lo <= v <= hi:
                (major if m in (1, 2, 5) else minor).append((float(np.log10(v)), v))
    if len(major) < 2:   # less than a factor ~2.5: label every integer multiple
        major, minor = sorted(major + minor), []
    if len(major) < 2:   # less than one integer multiple in range: linear steps inside it
        vals = [v for v, _ in nice_ticks(lo, hi, 3)[0] if v > 0]
        major, minor = [(float(np.log10(v)), v) for v in vals], []
    if len(major) > max_labels:   # a short axis over many decades: label the powers of ten only
        powers = [(p, v) for p, v in major if np.isclose(v / 10.0 ** np.floor(np.log10(v) + 1e-9), 1.0)]
        if len(powers) < 2:   # less than two powers of ten in range: the two ends
            powers = [major[0], major[-1]]
        step = max(1, int(np.ceil(len(powers) / max_labels)))
        keep = powers[::step]
        minor = minor + [t for t in major if t not in keep]
        major = keep
    labels = tick_labels([v for _, v in major])
    return [[(p, lab) for (p, _), lab in zip(major, labels)], [(p, "") for p, _ in minor]]


def tick_labels(values) -> list[str]:
    """One notation for a whole axis: plain decimals, or m×10ⁿ for every label when any one needs an exponent
    (no "0.0005" beside "5e-05")."""
    vals = [float(v) for v in values]
    nonzero = [abs(v) for v in vals if v != 0]
    if nonzero and (min(nonzero) < 1e-3 or max(nonzero) >= 1e5):
        return [sci(v) for v in vals]
    return [f"{v:g}" for v in vals]


_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci(v: float) -> str:
    if v == 0:
        return "0"
    k = int(np.floor(np.log10(abs(v)) + 1e-9))
    m = v / 10.0**k
    mant = f"{m:.2g}"
    return ("" if mant == "1" else ("−" if mant == "-1" else mant + "×")) + "10" + str(k).translate(_SUP)


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[list[tuple[float, str]]]:
    """About n labelled ticks at 1, 2, 2.5 or 5 × 10^k steps over [lo, hi] (colour bars)."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return [[], []]
    raw = (hi - lo) / max(1, n - 1)
    mag = 10.0 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    vals = np.arange(np.ceil(lo / step) * step, hi + 1e-9 * step, step)
    vals = [0.0 if abs(v) < 1e-9 * step else float(v) for v in vals]
    return [list(zip(vals, tick_labels(vals))), []]


def colormap_lut(name: str) -> np.ndarray:
    return pg.colormap.get(name).getLookupTable(nPts=256)


def pen(color, width: float = LINE_WIDTH, style=QtCore.Qt.PenStyle.SolidLine) -> QtGui.QPen:
    p = pg.mkPen(color=color, width=width)
    p.setStyle(style)
    p.setCosmetic(True)
    return p


# A vertical marker's label hangs down from near the top of its plot (text top-left or top-right of the point),
# so it stays inside a short plot; pyqtgraph's default centres it there, half above the data area.
MARKER_LABEL = {"position": 0.97, "anchors": [(0, 0), (1, 0)]}

