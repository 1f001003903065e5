"""Depth: the (σ_w, σ_b) phase diagram with a draggable current point, the correlation of two inputs flowing
through the layers to its fixed point c*, and the excess kurtosis G4c/G2² growing with depth at fixed N
(1/N theory against sampled networks). Computation: jobs.depth."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .. import plotting
from ..jobs import depth as depth_job
from ..jobs.depth import DEPTHS, LAYERS, DepthResult
from ..state import NETWORK_FIELDS, SAMPLING_FIELDS, AppState
from .base import ViewBase

DRAG_INTERVAL_MS = 150        # a dragged point updates the state at most this often
CHI_DECADES = 1.0             # colour scale: log₁₀ χ⊥ in [−1, 1], white at the edge of chaos
PHASE_COLORMAP = "CET-D1"     # blue (ordered) – white – red (chaotic)


def _fmt(v: float | None, fmt: str = ".4g") -> str:
    if v is None or not np.isfinite(v):
        return "∞" if v is not None and v > 0 else "—"
    return format(v, fmt)


def phase_word(chi: float) -> str:
    if abs(chi - 1.0) < 1e-6:
        return "edge of chaos"
    return "ordered" if chi < 1.0 else "chaotic"


class DepthView(ViewBase):
    key = "depth"
    title = "Depth"
    # The view sweeps depth itself (L = 1 … 6): the depth control only moves the marker.
    needs = (NETWORK_FIELDS - {"depth"}) | SAMPLING_FIELDS | {"x1", "x2", "x_min", "x_max"}

    def __init__(self, host, parent=None):
        super().__init__(host, parent)
        self._data: dict[str, np.ndarray] = {}
        self._pending: tuple[float, float] | None = None
        self._drag_timer = QtCore.QTimer(self)
        self._drag_timer.setSingleShot(True)
        self._drag_timer.setInterval(DRAG_INTERVAL_MS)
        self._drag_timer.timeout.connect(self._push_point)

    def build(self) -> Iterator[None]:
        self.numbers = QtWidgets.QLabel()
        self.numbers.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.numbers.setWordWrap(True)
        self.layout_.addWidget(self.numbers)
        self.canvas = self.add_canvas()
        self.phase_plot = self.add_plot(self.canvas, 0, 0, "χ⊥: blue ordered, red chaotic, green = 1", "σ_w", "σ_b")
        yield
        # The correlation flow takes the right column's full height and the kurtosis sits under the phase
        # diagram: in one row under both, at 1280×720 the legends and notes left each plot ~40 px of data.
        self.flow_plot = self.add_plot(self.canvas, 0, 1, "Correlation c⁽ˡ⁾(x₁, x₂)", "layer ℓ", "c", rowspan=2)
        yield
        self.kurt_plot = self.add_plot(self.canvas, 1, 0, "Excess kurtosis G4c/G2² at x₁", "depth L", "G4c / G2²")
        yield
        self.img = pg.ImageItem()
        self.phase_plot.addItem(self.img)
        self.bar = pg.ColorBarItem(values=(-CHI_DECADES, CHI_DECADES), width=14, interactive=False,
                                   label="log₁₀ χ⊥")
        self.bar.axis.setTicks([[(v, f"{v:g}") for v in (-CHI_DECADES, 0.0, CHI_DECADES)]])   # legible when short
        self.bar.setImageItem(self.img, insert_in=self.phase_plot)
        self.boundary = self.phase_plot.plot()   # the edge of chaos: named in the title (a legend row costs height)
        self.target = pg.TargetItem(pos=(1.0, 0.1), size=16, movable=True, symbol="o")
        self.phase_plot.addItem(self.target)
        self.target.sigPositionChanged.connect(self._point_dragged)
        self.target.sigPositionChangeFinished.connect(self._point_released)
        self.phase_note = self.add_note(self.phase_plot, corner="top-left", width=0.6)
        yield
        self.c_partners = [self.flow_plot.plot(name="(x₁, x), other x" if i == 0 else None)
                           for i in range(depth_job.FLOW_PARTNERS)]
        self.c_star = pg.InfiniteLine(angle=0, movable=False)
        self.flow_plot.addItem(self.c_star)
        self.c_theory = self.flow_plot.plot(name="(x₁, x₂), N = ∞")
        self.c_meas = self.flow_plot.plot(name="measured (L = ℓ − 1)")
        self.flow_note = self.add_note(self.flow_plot, corner="top-left", width=0.6)
        yield
        self.limit_line = pg.InfiniteLine(angle=0, pos=1.0, movable=False)
        self.kurt_plot.addItem(self.limit_line)
        self.k_theory = self.kurt_plot.plot(name="1/N theory")
        self.k_beyond = self.kurt_plot.plot(name="beyond its range")
        self.k_meas = self.kurt_plot.plot(name="measured ± 1σ")
        self.k_err = plotting.ErrorBars()
        self.kurt_plot.addItem(self.k_err)
        self.depth_marker = pg.InfiniteLine(angle=90, movable=False, label="depth control",
                                            labelOpts=plotting.MARKER_LABEL)
        self.kurt_plot.addItem(self.depth_marker)
        self.kurt_note = self.add_note(self.kurt_plot, corner="bottom-right", width=0.45)
        self.kurt_plot.setXRange(0.7, DEPTHS[-1] + 0.3, padding=0)
        self.flow_plot.setXRange(0.8, LAYERS[-1] + 0.2, padding=0)

    def make_job(self, state: AppState):
        results = depth_job.run(state)
        return lambda: results

    # ---- the draggable point ------------------------------------------------------------------------------
    def _clamped(self) -> tuple[float, float]:
        p = self.target.pos()
        return round(max(0.01, float(p.x())), 3), round(max(0.0, float(p.y())), 3)

    def _point_dragged(self, *_) -> None:
        self._pending = self._clamped()
        if not self._drag_timer.isActive():
            self._drag_timer.start()

    def _point_released(self, *_) -> None:
        self._drag_timer.stop()
        self._pending = self._clamped()
        self._push_point()

    def _push_point(self) -> None:
        if self._pending is None:
            return
        sw, sb = self._pending
        self._pending = None
        s = self.host.current_state()
        if (sw, sb) != (s.sigma_w, s.sigma_b):
            self.host.update_state(sigma_w=sw, sigma_b=sb)

    def state_changed(self, state: AppState, changed: set[str]) -> None:
        if not self.built:
            return
        p = self.target.pos()
        if self._pending is None and (abs(p.x() - state.sigma_w) > 1e-9 or abs(p.y() - state.sigma_b) > 1e-9):
            self.target.blockSignals(True)
            self.target.setPos(state.sigma_w, state.sigma_b)
            self.target.blockSignals(False)
        self.depth_marker.setValue(state.depth)

    def deactivated(self) -> None:
        self._drag_timer.stop()

    # ---- GUI side ----------------------------------------------------------------------------------------
    def show_result(self, r: DepthResult) -> None:
        t, lw = self.theme, self.line_width()
        self._data = {"layers": LAYERS.astype(float), "c_theory_x1_x2": r.c_theory,
                      "c_measured_output": r.c_measured, "depths": DEPTHS.astype(float),
                      "kurtosis_theory": r.kurt_theory, "kurtosis_measured": r.kurt_measured,
                      "kurtosis_err": r.kurt_err}
        self._show_phase(r, lw)
        self._show_flow(r, lw)
        self._show_kurtosis(r, lw)
        self._numbers(r)
        self.state_changed(self.host.current_state(), set())
        for line, color in ((self.limit_line, t["muted"]), (self.depth_marker, t["muted"])):
            line.setPen(plotting.pen(color, 1.5, QtCore.Qt.PenStyle.DotLine))
        self.depth_marker.label.setColor(t["muted"])

    def _show_phase(self, r: DepthResult, lw: float) -> None:
        t = self.theme
        self.target.setPen(pg.mkPen("#111111", width=2))
        self.target.setBrush(pg.mkBrush(t["theory"]))
        if r.chi_perp is None:
            self.img.clear()
            self.boundary.setData([], [])
            self.phase_note.setText(r.phase_reason)
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            logchi = np.clip(np.log10(r.chi_perp), -CHI_DECADES, CHI_DECADES)
        cmap = pg.colormap.get(PHASE_COLORMAP)
        self.img.setImage(plotting.finite(logchi), levels=(-CHI_DECADES, CHI_DECADES),
                          lut=cmap.getLookupTable(nPts=256), autoLevels=False)
        sw, sb = r.phase_sw, r.phase_sb
        dw, db = (sw[1] - sw[0]), (sb[1] - sb[0])
        self.img.setRect(QtCore.QRectF(sw[0] - dw / 2, sb[0] - db / 2, sw[-1] - sw[0] + dw, sb[-1] - sb[0] + db))
        self.bar.setColorMap(cmap)
        self.boundary.setData(r.boundary_sw, sb, pen=plotting.pen(t["accent"], lw), connect="finite")
        # Room below σ_b = 0 so the point stays whole there.
        self.phase_plot.setXRange(sw[0] - dw, sw[-1] + dw, padding=0)
        self.phase_plot.setYRange(sb[0] - 0.05 * (sb[-1] - sb[0]), sb[-1] + db, padding=0)
        self.phase_note.setText("")
        self._data.update({"phase_sigma_w": sw, "phase_sigma_b": sb, "phase_chi_perp": r.chi_perp,
                           "boundary_sigma_w": r.boundary_sw})

    def _show_flow(self, r: DepthResult, lw: float) -> None:
        t = self.theme
        for i, c in enumerate(self.c_partners):
            c.setData(LAYERS, plotting.finite(r.c_partners[i]), pen=plotting.pen(t["theory"], lw * 0.4))
        self.c_theory.setData(LAYERS, plotting.finite(r.c_theory), pen=plotting.pen(t["theory"], lw),
                              symbol="o", symbolSize=6, symbolBrush=t["theory"], symbolPen=None)
        cm = np.isfinite(r.c_measured)     # only the depths measured so far (all-NaN scatter data warn)
        self.c_meas.setData(DEPTHS[cm] + 1.0, r.c_measured[cm], pen=None, symbol="o",
                            symbolSize=14 if self.presentation else 10, symbolBrush=t["data"], symbolPen=None)
        cs = None if r.point is None else r.point["c_star"]
        if cs is not None and np.isfinite(cs):
            self.c_star.setPen(plotting.pen(t["theory2"], lw * 0.8, QtCore.Qt.PenStyle.DashLine))
            self.c_star.setValue(cs)
            self.c_star.show()
        else:
            self.c_star.hide()
        self.flow_plot.setYRange(-1.05, 1.05, padding=0)
        self.flow_note.setText(f"dashed: fixed point c* = {_fmt(cs, '.3g')}" if cs is not None else "")
        self._data["c_partners"] = r.c_partners

    def _show_kurtosis(self, r: DepthResult, lw: float) -> None:
        t = self.theme
        kt = plotting.finite(r.kurt_theory)
        first_out = depth_job.leaves_range(r.kurt_theory)
        inside = kt.copy()
        beyond = np.full_like(kt, np.nan)
        if first_out is not None:
            i = first_out - 1
            inside[i:] = np.nan
            beyond[max(0, i - 1):] = kt[max(0, i - 1):]
        self.k_theory.setData(DEPTHS, inside, pen=plotting.pen(t["theory"], lw), connect="finite")
        self.k_beyond.setData(DEPTHS, beyond, connect="finite",
                              pen=plotting.pen(t["theory"], lw, QtCore.Qt.PenStyle.DotLine))
        km = np.isfinite(r.kurt_measured)
        self.k_meas.setData(DEPTHS[km], r.kurt_measured[km], pen=None, symbol="o",
                            symbolSize=14 if self.presentation else 10, symbolBrush=t["data"], symbolPen=None)
        self.k_err.set(DEPTHS, r.kurt_measured, r.kurt_err, plotting.pen(t["data"], lw * 0.8))
        vals = np.concatenate([kt[np.isfinite(kt)], (r.kurt_measured + r.kurt_err)[np.isfinite(r.kurt_measured)],
                               [0.0, 0.1]])
        lo = min(0.0, float(np.min(vals)))
        self.steady_axis("kurt_y", self.kurt_plot, "y", lo, 1.1 * float(np.max(vals)))
        lines = [f"N = {r.width}, {r.ensemble:,} networks/depth"]
        if r.kurt_reason:
            lines.append("1/N theory at L ≥ 2: " + r.kurt_reason)
        elif first_out is not None:
            lines.append(f"1/N theory out of range (|G4c/G2²| > 1) from L = {first_out}")
        else:
            lines.append("1/N theory in range (|G4c/G2²| ≤ 1) up to L = 6")
        self.kurt_note.setText(" · ".join(lines))   # one line where it fits: the plot is short at 720p

    def _numbers(self, r: DepthResult) -> None:
        t = self.theme
        size = 22 if self.presentation else 15
        th, mu = t["theory"], t["muted"]
        head = f"<b>{r.activation}</b> at σ_w = {r.sigma_w:.4g}, σ_b = {r.sigma_b:.4g}: "
        if r.point is None:
            body = f"<span style='color:{mu}'>{r.phase_reason}</span>"
        else:
            p = r.point
            body = (f"<span style='color:{th}'>q* = {_fmt(p['q_star'])}, χ⊥ = {_fmt(p['chi_perp'])}, "
                    f"χ∥ = {_fmt(p['chi_parallel'])}, ξ_c = {_fmt(p['correlation_depth'], '.3g')}</span> "
                    f"({phase_word(p['chi_perp'])})")
        crit = (f"; critical σ_w at σ_b = {r.sigma_b:.3g}: {r.sw_critical:.4g}" if r.sw_critical is not None
                else (f"; <span style='color:{mu}'>{r.sw_critical_reason}</span>" if r.sw_critical_reason else ""))
        self.numbers.setText(f"<div style='font-size:{size}px'>{head}{body}{crit}</div>")

    def export_data(self) -> dict[str, np.ndarray]:
        return dict(self._data)
