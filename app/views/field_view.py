"""Field theory: φ⁴ theory built as a cos-net (docs/physics.md §7, 2307.03223 §4).

Top left: sampled free field configurations (curves in d = 1, an image of one configuration in d = 2, its
z = 0 slice in d = 3). Top right: G2(x₀, x₀ + r) against the cutoff propagator and the one-loop prediction on
a log scale (the slope is the mass). Bottom: the λ-induced change of G4c(x₀, x₀, x, x) with error bars against
tree level −λ∫_V ΠG, the free cos-net's own O(1/N) G4c, and the coupling reconstructed from the measurement.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .. import jobs, plotting
from ..jobs.field import DEFAULTS, N_CURVES, FieldResult
from ..state import AppState
from .base import ViewBase

# Slider stops: the view's parameters take these values (presets may set any valid value).
STOPS = {
    "mass": [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0],
    "cutoff": [2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0],
    "lam": [0.0, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0],
    "alpha": [-1.0, -0.5, 0.0, 0.5],
    "box": [2.0, 3.0, 4.0, 6.0, 8.0],
    "dim": [1, 2, 3],
}
LABELS = {"mass": "mass m", "cutoff": "cutoff Λ", "lam": "coupling λ", "alpha": "α (momenta)", "box": "box L",
          "dim": "dimension d"}
TIPS = {
    "mass": "Mass m: G(r) decays like e^{−mr}; the log plot's slope.",
    "cutoff": "Momentum cutoff Λ: momenta |b| < Λ; G2 is the cutoff propagator at every width.",
    "lam": "φ⁴ coupling λ: parameter density × e^{−(λ/4!)∫_V φ⁴} (1/4! convention; 2008.08601's is λ/24).",
    "alpha": "α-family: momenta ∝ (p²+m²)^{−(1+α)}, amplitude² ∝ (p²+m²)^α. α = −1 the paper's, α = 0 the "
             "propagator-weighted one (smaller finite-N error). G2 is the same for every α.",
    "box": "Side L of the interaction box V = [−L/2, L/2]^d.",
    "dim": "Dimension d (1, 2 or 3).",
}


class FieldView(ViewBase):
    key = "field"
    title = "Field theory"
    # Width N and ensemble M are the dock's shared controls (one control per concept).
    needs = frozenset({"width", "ensemble", "seed", "device", "dtype", "view_settings"})
    caption = ("φ⁴ theory as a cos-net: the free field's propagator, the λ-induced ΔG4c against tree level, "
               "and the coupling read back from the data. Width N and ensemble M: the dock.")

    @classmethod
    def default_settings(cls) -> dict:
        return dict(DEFAULTS)

    def __init__(self, host, parent=None):
        super().__init__(host, parent)
        self._data: dict[str, np.ndarray] = {}
        self._sliders: dict[str, QtWidgets.QSlider] = {}
        self._values: dict[str, QtWidgets.QLabel] = {}

    def build(self) -> Iterator[None]:
        self.canvas = self.add_canvas()
        self.cfg_plot = self.add_plot(self.canvas, 0, 0, "Sampled free field φ(x)", "x", "φ")
        yield
        self.g2_plot = self.add_plot(self.canvas, 0, 1, "G2(x₀, x₀ + r)", "r", "G2 (log scale)")
        yield
        self.g4_plot = self.add_plot(self.canvas, 1, 0, "ΔG4c(x₀, x₀, x, x): interaction vs tree level", "r",
                                     "G4c", colspan=2)
        yield
        self.g2_plot.setLogMode(y=True)
        self.log_axis(self.g2_plot, "left")
        self.cfg_curves = [self.cfg_plot.plot() for _ in range(N_CURVES)]
        self.img = pg.ImageItem()
        self.cfg_plot.addItem(self.img)
        self.cfg_bar = pg.ColorBarItem(values=(0, 1), width=14, interactive=False, label="φ")
        self.cfg_bar.setImageItem(self.img, insert_in=self.cfg_plot)
        self._show_bar(False)
        self.g2_prop = self.g2_plot.plot(name="cutoff propagator")
        self.g2_loop = self.g2_plot.plot(name="one loop")
        self.g2_meas = self.g2_plot.plot(name="measured ± 1σ")
        self.g2_err = pg.ErrorBarItem()
        self.g2_plot.addItem(self.g2_err)
        yield
        self.tree = self.g4_plot.plot(name="tree level −λ∫_V ΠG")
        self.free = self.g4_plot.plot(name="free cos-net O(1/N) (subtracted)")
        self.g4_meas = self.g4_plot.plot(name="measured ΔG4c ± 1σ")
        self.g4_errbars = plotting.ErrorBars()
        self.g4_plot.addItem(self.g4_errbars)
        # G2 falls from the top left and ΔG4c rises to 0 from the bottom left: notes go where the data are not.
        self.g4_note = self.add_note(self.g4_plot, corner="bottom-right", width=0.5)
        self.g2_note = self.add_note(self.g2_plot, corner="bottom-left", width=0.6)

    # ---- controls -------------------------------------------------------------------------------------------
    def view_controls(self) -> QtWidgets.QWidget:
        box = QtWidgets.QGroupBox("φ⁴ field")
        form = QtWidgets.QFormLayout(box)
        form.setVerticalSpacing(4)
        for name, stops in STOPS.items():
            row = QtWidgets.QHBoxLayout()
            slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
            slider.setRange(0, len(stops) - 1)
            slider.setToolTip(TIPS[name])
            value = QtWidgets.QLabel()
            value.setMinimumWidth(44)
            slider.valueChanged.connect(lambda i, n=name: self._slider_moved(n, i))
            row.addWidget(slider, 1)
            row.addWidget(value)
            form.addRow(LABELS[name], row)
            self._sliders[name], self._values[name] = slider, value
        self.sampler = QtWidgets.QComboBox()
        self.sampler.addItems(["reweight", "mcmc"])
        self.sampler.setToolTip("reweight: free draws weighted by e^{−(λ/4!)∫φ⁴} (ESS shown). mcmc: exact "
                                "Metropolis chains in parameter space (acceptance, τ_int shown).")
        self.sampler.currentTextChanged.connect(lambda s: self.host.update_view_settings(self.key, sampler=s))
        form.addRow("sampler", self.sampler)
        self._sync_controls()
        return box

    def _slider_moved(self, name: str, index: int) -> None:
        value = STOPS[name][index]
        self._values[name].setText(f"{value:g}")
        if self.settings().get(name) != value:
            self.host.update_view_settings(self.key, **{name: value})

    def _sync_controls(self) -> None:
        s = self.settings()
        for name, slider in self._sliders.items():
            stops = np.asarray(STOPS[name], dtype=float)
            idx = int(np.argmin(np.abs(stops - float(s[name]))))
            slider.blockSignals(True)
            slider.setValue(idx)
            slider.blockSignals(False)
            self._values[name].setText(f"{s[name]:g}")
        if hasattr(self, "sampler"):
            self.sampler.blockSignals(True)
            self.sampler.setCurrentText(s["sampler"])
            self.sampler.blockSignals(False)

    def state_changed(self, state: AppState, changed: set[str]) -> None:
        if self._sliders:
            self._sync_controls()

    def make_job(self, state: AppState):
        results = jobs.field.run(state)
        return lambda: results

    # ---- GUI side ----------------------------------------------------------------------------------------
    def show_result(self, r: FieldResult) -> None:
        t, lw = self.theme, self.line_width()
        size = self.symbol_size()
        self._show_configs(r, lw)
        rr = r.r
        self.g2_prop.setData(rr, r.propagator, pen=plotting.pen(t["theory"], lw))
        self.g2_loop.setData(rr, r.one_loop, pen=plotting.pen(t["theory2"], lw, QtCore.Qt.PenStyle.DashLine))
        g2, err = np.asarray(r.g2), np.asarray(r.g2_err)
        ok = g2 > 0
        self.g2_meas.setData(rr[ok], g2[ok], pen=None, symbol="o", symbolSize=size, symbolBrush=t["data"],
                             symbolPen=None)
        top = np.log10(g2[ok] + err[ok]) - np.log10(g2[ok])
        low = np.log10(g2[ok]) - np.log10(np.maximum(g2[ok] - err[ok], 1e-3 * g2[ok]))
        self.g2_err.setData(x=rr[ok], y=np.log10(g2[ok]), top=top, bottom=low, beam=0.0,
                            pen=plotting.pen(t["data"], lw * 0.8))
        acc = "" if r.sampler == "reweight" else \
            f", acceptance {r.acceptance:.2f}, τ_int {r.tau_int:.2f}"
        p = r.progress
        capped = "" if r.width == self.host.current_state().width else f" (width capped at {r.width:,})"
        self.g2_note.setText(f"N = {r.width:,}{capped}; {r.sampler}: {p.done:,}/{p.requested:,} samples, "
                             f"ESS {r.ess:,.0f}{acc}")
        self.tree.setData(rr, r.tree, pen=plotting.pen(t["theory"], lw))
        self.free.setData(rr, r.free_g4, pen=plotting.pen(t["theory2"], lw, QtCore.Qt.PenStyle.DotLine))
        self.g4_meas.setData(rr, r.dg4, pen=None, symbol="o", symbolSize=size, symbolBrush=t["data"],
                             symbolPen=None)
        self.g4_errbars.set(rr, r.dg4, r.dg4_err, plotting.pen(t["data"], lw * 0.8))
        shown = np.concatenate([np.asarray(a, dtype=float).ravel() for a in
                                (r.tree, r.free_g4, np.asarray(r.dg4) - r.dg4_err,
                                 np.asarray(r.dg4) + r.dg4_err)])
        shown = shown[np.isfinite(shown)]
        if len(shown):
            lo, hi = float(shown.min()), float(shown.max())
            self.steady_axis("g4_y", self.g4_plot, "y", lo, hi, margin=0.05, min_fill=0.75)
        # λ̂ is the tree-level projection of ΔG4c: O(λ²) lowers it (0.36 at λ = 0.5 even at N = ∞, §7.5).
        self.g4_note.setText(f"reconstructed λ = {r.lam_hat:.3g} ± {r.lam_hat_err:.2g}, tree-level fit (input λ = "
                             f"{r.lam:g}; O(λ²) lowers the fit; 1/4! convention, 2008.08601's λ = "
                             f"{r.lam_hat / 24:.3g})")
        self._data.update({"r": rr, "g2_measured": g2, "g2_err": err, "propagator": r.propagator,
                           "g2_one_loop": r.one_loop, "delta_g4c_measured": r.dg4, "delta_g4c_err": r.dg4_err,
                           "g4c_tree": r.tree, "g4c_free_exact": r.free_g4})

    def _show_bar(self, on: bool) -> None:
        """The colour bar of the d ≥ 2 image; in d = 1 it is hidden and gives its room back."""
        self.cfg_bar.setVisible(on)
        self.cfg_bar.setMaximumWidth(1e6 if on else 0)
        self.cfg_bar.setMinimumWidth(0)

    def _show_configs(self, r: FieldResult, lw: float) -> None:
        t = self.theme
        cfg, axis = np.asarray(r.configs), np.asarray(r.config_axis)
        if r.dim == 1:
            self.img.clear()
            self.img.hide()
            self._show_bar(False)
            colors = [t["data"], t["theory"], t["theory2"], t["accent"]]
            for k, curve in enumerate(self.cfg_curves):
                curve.setData(axis, cfg[k], pen=plotting.pen(colors[k % len(colors)], lw))
            self.cfg_plot.setLabel("left", "φ")
            self._data.update({"config_x": axis, **{f"config_{k}": cfg[k] for k in range(len(cfg))}})
        else:
            for curve in self.cfg_curves:
                curve.setData([], [])
            img = cfg[0].reshape(len(axis), len(axis))
            self.img.show()
            self._show_bar(True)
            self.show_image(self.cfg_plot, self.img, self.cfg_bar, img, float(axis[0]), float(axis[-1]))
            self.cfg_plot.setLabel("left", "y")
            self._data.update({"config_axis": axis, "config_image": img})

    def export_data(self) -> dict[str, np.ndarray]:
        return dict(self._data)

