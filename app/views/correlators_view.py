"""Correlators: G2(x₁, x) with error bars against the NNGP; the measured G2 matrix; the connected G4 pair
slice against exact finite-N theory; the width sweep of |G4c|, |G6c| with theory lines and fitted slopes."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from .. import jobs, plotting
from ..jobs.correlators import SWEEP_WIDTHS, CorrelatorsResult
from ..state import NETWORK_FIELDS, SAMPLING_FIELDS, AppState
from .base import ViewBase


class CorrelatorsView(ViewBase):
    key = "correlators"
    title = "Correlators"
    needs = NETWORK_FIELDS | SAMPLING_FIELDS | {"x1", "x_min", "x_max", "view_settings"}
    caption = ("Correlators measured over the ensemble, with error bars, against the NNGP and exact "
               "finite-N theory; the width sweep shows |G4c| ∝ 1/N and |G6c| ∝ 1/N².")

    @classmethod
    def default_settings(cls) -> dict:
        return {"width_sweep": True}

    def __init__(self, host, parent=None):
        super().__init__(host, parent)
        self._data: dict[str, np.ndarray] = {}

    def build(self) -> Iterator[None]:
        self.canvas = self.add_canvas()
        self.g2_plot = self.add_plot(self.canvas, 0, 0, "G2(x₁, x)", "x", "G2")
        yield
        self.mat_plot = self.add_plot(self.canvas, 0, 1, "Measured G2 matrix", "x", "x′")
        yield
        self.g4_plot = self.add_plot(self.canvas, 1, 0, "Connected G4(x₁, x₁, x, x)", "x", "G4c")
        yield
        # |G_c| falls from the top left: the legend goes top right, the slopes bottom left.
        self.sw_plot = self.add_plot(self.canvas, 1, 1, "Width sweep at x₁", "width N", "|G_c|")
        # The second row carries the sweep's two legend rows and its slopes, which the row's preferred height
        # already holds: spare height is shared equally (3:2 for the first row left the sweep ~70 px at 720p).
        yield
        self.sw_plot.setLogMode(x=True, y=True)
        self.log_axis(self.sw_plot, "left")
        self.sw_plot.getAxis("bottom").setTicks([[(float(np.log10(w)), str(w)) for w in SWEEP_WIDTHS], []])
        self.g2_theory = self.g2_plot.plot(name="NNGP (N = ∞)")
        self.g2_meas = self.g2_plot.plot(name="measured ± 1σ")
        self.g2_err = plotting.ErrorBars()
        self.g2_plot.addItem(self.g2_err)
        self.img = pg.ImageItem()
        self.mat_plot.addItem(self.img)
        self.bar = pg.ColorBarItem(values=(0, 1), width=14, interactive=False)
        self.bar.setImageItem(self.img, insert_in=self.mat_plot)
        yield
        self.g4_theory = self.g4_plot.plot(name="exact finite N")
        self.g4_meas = self.g4_plot.plot(name="measured ± 1σ")
        self.g4_err = plotting.ErrorBars()
        self.g4_plot.addItem(self.g4_err)
        yield
        self.g4_note = self.add_note(self.g4_plot)
        self.g2_note = self.add_note(self.g2_plot)
        self.sw_curves = {k: self.sw_plot.plot(name=k) for k in
                          ("|G4c| measured", "|G6c| measured", "|G4c| theory", "|G6c| theory")}
        # Upper limits (▽) stay out of the legend: the note explains them.
        self.sw_curves.update({k: self.sw_plot.plot() for k in ("|G4c| upper limit", "|G6c| upper limit")})
        # ±1σ of the significant points; an ErrorBarItem ignores log mode, so it is given log10 coordinates.
        self.sw_errs = {k: plotting.ErrorBars() for k in ("|G4c| measured", "|G6c| measured")}
        for bars in self.sw_errs.values():
            self.sw_plot.addItem(bars)
        self.sw_note = self.add_note(self.sw_plot, corner="bottom-left", width=0.7)

    def make_job(self, state: AppState):
        results = jobs.correlators.run(state)
        return lambda: results

    # ---- GUI side ----------------------------------------------------------------------------------------
    def show_result(self, r: CorrelatorsResult) -> None:
        t, lw = self.theme, self.line_width()
        g = r.grid
        g2_row, g2_err = r.g2[0, 1:], r.g2_err[0, 1:]
        if r.k_fine is not None:
            self.g2_theory.setData(r.fine, r.k_fine, pen=plotting.pen(t["theory"], lw))
        else:
            self.g2_theory.setData(g, r.k[0, 1:], pen=plotting.pen(t["theory"], lw))
        self.g2_meas.setData(g, g2_row, pen=None, symbol="o", symbolSize=self.symbol_size(),
                             symbolBrush=t["data"], symbolPen=None)
        self.g2_err.set(g, g2_row, g2_err, plotting.pen(t["data"], lw * 0.8))
        mat = r.g2[1:, 1:]
        self.show_image(self.mat_plot, self.img, self.bar, mat, float(g[0]), float(g[-1]))
        notes = ([] if np.all(np.isfinite(r.k[0])) else [plotting.INFINITE_NNGP]) + \
            ([] if np.all(np.isfinite(r.g2)) else [plotting.OVERFLOW])
        self.g2_note.setText("\n".join(notes))
        # A point whose error the engine cannot vouch for (heavy tail) is hollow, without a bar: ⚠ in the note.
        bad = np.zeros(len(g), bool) if r.g4_unreliable is None else np.asarray(r.g4_unreliable, bool)
        # (one brush for all when nothing is flagged: the legend's sample takes the item's first style)
        brush = [pg.mkBrush(0, 0, 0, 0) if b else pg.mkBrush(t["data"]) for b in bad] if bad.any() else t["data"]
        spen = [pg.mkPen(t["data"], width=2) for _ in bad] if bad.any() else None
        self.g4_meas.setData(g, r.g4, pen=None, symbol="o", symbolSize=self.symbol_size(),
                             symbolBrush=brush, symbolPen=spen)
        self.g4_err.set(g, r.g4, np.where(bad, np.nan, r.g4_err), plotting.pen(t["data"], lw * 0.8))
        warn = "\n⚠ hollow: no honest error (heavy tail)" if bad.any() else ""
        if r.g4_theory is not None:
            if r.g4_theory_fine is not None:
                self.g4_theory.setData(r.fine, r.g4_theory_fine, pen=plotting.pen(t["theory2"], lw))
            else:
                self.g4_theory.setData(g, r.g4_theory, pen=plotting.pen(t["theory2"], lw))
            self.g4_note.setText(f"N = {r.width}, networks {r.progress.done:,}" + warn)
        else:
            self.g4_theory.setData([], [])
            self.g4_note.setText((r.fw_reason if r.fw_reason.endswith("…") else "theory not available — " + r.fw_reason)
                                 + warn)
        if self.g4_theory.name() != r.g4_label:   # "exact finite N" or "1/N theory"; the legend follows the name
            self.g4_theory.opts["name"] = r.g4_label
            label = self.g4_plot.legend.getLabel(self.g4_theory)
            if label is not None:
                label.setText(r.g4_label)
            self.g4_plot.legend.updateSize()
        self._data = {"grid_x": g, "g2_x1_measured": g2_row, "g2_x1_err": g2_err, "g2_x1_nngp": r.k[0, 1:],
                      **({"fine_x": r.fine, "g2_x1_nngp_fine": r.k_fine} if r.k_fine is not None else {}),
                      "g2_matrix_measured": mat, "g4c_pair_measured": r.g4, "g4c_pair_err": r.g4_err,
                      "g4c_pair_unreliable": bad.astype(float)}
        if r.g4_theory is not None:
            self._data["g4c_pair_theory"] = r.g4_theory
        if r.g4_theory_fine is not None:
            self._data["g4c_pair_theory_fine"] = r.g4_theory_fine
        self._show_sweep(r, lw)

    def _show_sweep(self, r: CorrelatorsResult, lw: float) -> None:
        t, sw = self.theme, r.sweep
        if sw is None:
            for c in self.sw_curves.values():
                c.setData([], [])
            for bars in self.sw_errs.values():
                bars.clear()
            self.sw_note.setText(r.sweep_reason or "width sweep runs after the measurement…")
            return
        w = np.asarray(sw.widths, dtype=float)
        styles = {"|G4c| measured": (sw.g4, t["data"], True), "|G6c| measured": (sw.g6, t["accent"], True),
                  "|G4c| upper limit": (sw.g4_upper, t["data"], "limit"),
                  "|G6c| upper limit": (sw.g6_upper, t["accent"], "limit"),
                  "|G4c| theory": (sw.g4_theory, t["theory"], False),
                  "|G6c| theory": (sw.g6_theory, t["theory2"], False)}
        for name, (vals, color, dots) in styles.items():
            c = self.sw_curves[name]
            if vals is None:
                c.setData([], [])
                if name in self.sw_errs:
                    self.sw_errs[name].clear()
                continue
            v = np.abs(plotting.finite(vals))
            v = np.where(v > 0, v, np.nan)
            m = np.isfinite(v)
            if dots == "limit":
                # not significant (|G| < 3σ or no honest error): an upper limit |Ĝ| + 2σ, a hollow ▽
                c.setData(w[m], v[m], pen=None, symbol="t", symbolSize=self.symbol_size(11),
                          symbolBrush=pg.mkBrush(0, 0, 0, 0), symbolPen=pg.mkPen(color, width=2))
            elif dots:
                # significant points only (the ones the slope is fitted from), filled
                sig = np.ones(len(w), bool) if (sw.g4_sig if "G4" in name else sw.g6_sig) is None else \
                    np.asarray(sw.g4_sig if "G4" in name else sw.g6_sig, bool)
                m = m & sig
                c.setData(w[m], v[m], pen=None, symbol="o", symbolSize=self.symbol_size(11),
                          symbolBrush=pg.mkBrush(color), symbolPen=pg.mkPen(color, width=2))
                self._sweep_error_bars(name, w[m], v[m], np.asarray(sw.g4_err if "G4" in name else sw.g6_err,
                                                                    dtype=float)[m], color, lw)
            else:
                c.setData(w[m], v[m], pen=plotting.pen(color, lw, QtCore.Qt.PenStyle.DashLine))
            self._data["sweep_" + name.replace("|", "").replace(" ", "_")] = np.asarray(vals, dtype=float)
        self._data["sweep_widths"] = w
        self._data["sweep_G4c_err"] = np.asarray(sw.g4_err, dtype=float)
        self._data["sweep_G6c_err"] = np.asarray(sw.g6_err, dtype=float)
        # Short lines: at 1280×720 four wrapped ones left the sweep ~70 px of data.
        fits = [(lab, s, e, note) for lab, s, e, note in
                (("|G4c|", sw.slope4, sw.slope4_err, sw.g4_note), ("|G6c|", sw.slope6, sw.slope6_err, sw.g6_note))]
        slopes = [f"{lab.strip('|')} {s:+.2f} ± {e:.2f}".replace("-", "−") for lab, s, e, _ in fits if np.isfinite(s)]
        lines = ([f"slope {', '.join(slopes)}"] if slopes else []) \
            + [note for _, s, _, note in fits if not np.isfinite(s) and note]
        lines += [f"theory −1, −2; {sw.ensemble:,} networks per width", "▽ upper limit |Ĝ| + 2σ where |Ĝ| < 3σ"]
        self.sw_note.setText("\n".join(lines) + ("\ntheory: " + sw.reason if sw.reason else ""))

    def _sweep_error_bars(self, name: str, w: np.ndarray, v: np.ndarray, err: np.ndarray, color, lw: float) -> None:
        """±1σ bars in the log-log sweep; significant points have |Ĝ| ≥ 3σ, so |Ĝ| − σ > 0."""
        err = np.where(np.isfinite(err), err, 0.0)
        low = np.maximum(v - err, v * 1e-3)
        self.sw_errs[name].set_asymmetric(np.log10(w), np.log10(v), np.log10(v + err) - np.log10(v),
                                          np.log10(v) - np.log10(low), plotting.pen(color, lw))

    def export_data(self) -> dict[str, np.ndarray]:
        return dict(self._data)

