"""Training: an ensemble trained by gradient descent beside the closed-form NTK (or NNGP) flow prediction.

The run itself (jobs.training.TrainingJob) survives pauses and learning-rate changes; this view draws it and
holds the play / pause / step / restart controls.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .. import plotting
from ..jobs.training import N_SHOWN, TrainingJob, TrainingResult
from ..state import DATASETS, NETWORK_FIELDS, AppState
from .base import ViewBase

MIN_DRIFT_SCALE = 0.1   # the NTK-drift axis shows at least 0 … 10 %


class TrainingView(ViewBase):
    key = "training"
    title = "Training"
    continuous = True
    needs = NETWORK_FIELDS | {"seed", "device", "dtype", "dataset", "train_mode", "train_ensemble",
                              "x_min", "x_max"}
    caption = ("An ensemble trained by gradient descent beside the closed-form NTK (or NNGP) flow "
               "prediction. Space plays and pauses.")

    def __init__(self, host, parent=None):
        super().__init__(host, parent)
        self.playing = True
        self._single_step = False
        self.job = TrainingJob()
        s = host.current_state()
        self.live = {"lr": s.lr, "steps": s.steps_per_frame}
        self._data: dict[str, np.ndarray] = {}

    def build(self) -> Iterator[None]:
        lay = self.layout_
        self.info = QtWidgets.QLabel()
        self.info.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.info.setWordWrap(True)
        lay.addWidget(self.info)
        self.canvas = self.add_canvas()
        self.fit = self.add_plot(self.canvas, 0, 0, "Networks during training", "x", "f_t(x)", colspan=2)
        yield
        self.loss = self.add_plot(self.canvas, 1, 0, "Training loss", "t = Σ η", "loss")
        yield
        # The drift grows towards the top right: its legend goes top left.
        self.drift = self.add_plot(self.canvas, 1, 1, "NTK drift ‖Θ̂_t − Θ̂₀‖ / ‖Θ̂₀‖", "t = Σ η", "drift")
        yield
        self.loss.setLogMode(x=True, y=True)
        self.drift.setLogMode(x=True, y=False)
        for plot, side in ((self.loss, "bottom"), (self.loss, "left"), (self.drift, "bottom")):
            self.log_axis(plot, side)
        self.th_hi, self.th_lo = self.fit.plot(), self.fit.plot()
        self.th_band = pg.FillBetweenItem(self.th_hi, self.th_lo)
        self.fit.addItem(self.th_band)
        self.em_hi, self.em_lo = self.fit.plot(), self.fit.plot()
        self.em_band = pg.FillBetweenItem(self.em_hi, self.em_lo)
        self.fit.addItem(self.em_band)
        yield
        self.net_curves = [self.fit.plot(name="networks" if i == 0 else None) for i in range(N_SHOWN)]
        self.th_mean = self.fit.plot(name="NTK prediction mean ± 2σ")
        self.em_mean = self.fit.plot(name="ensemble mean ± 2σ")
        self.data_pts = self.fit.plot(name="data")
        yield
        self.loss_meas = self.loss.plot(name="measured (ensemble mean)")
        self.loss_pred = self.loss.plot(name="predicted E[loss]")
        self.drift_curve = self.drift.plot(name="measured")
        self.note = self.add_note(self.fit)

    # ---- controls ----------------------------------------------------------------------------------------
    def view_controls(self) -> QtWidgets.QWidget:
        box = QtWidgets.QGroupBox("Training")
        form = QtWidgets.QFormLayout(box)
        form.setVerticalSpacing(4)
        row = QtWidgets.QHBoxLayout()
        self.play_btn = QtWidgets.QPushButton("Pause")
        self.play_btn.setToolTip("Play / pause gradient descent (Space)")
        self.play_btn.clicked.connect(self.toggle_pause)
        step_btn = QtWidgets.QPushButton("Step")
        step_btn.setToolTip("One frame of gradient-descent steps, then pause")
        step_btn.clicked.connect(self.step_once)
        restart_btn = QtWidgets.QPushButton("Restart")
        restart_btn.setToolTip("Back to t = 0: the same initial networks (same seed)")
        restart_btn.clicked.connect(self.restart)
        for b in (self.play_btn, step_btn, restart_btn):
            row.addWidget(b)
        form.addRow(row)
        self.speed = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.speed.setRange(0, 30)   # 10^(k/10) steps per frame: 1 … 1000
        self.speed.setToolTip("Speed: gradient-descent steps per frame. Does not change the physics, only how "
                              "fast t advances on screen.")
        self.speed.valueChanged.connect(lambda v: self.host.update_state(steps_per_frame=int(round(10 ** (v / 10)))))
        form.addRow("Speed", self.speed)
        self.lr = QtWidgets.QDoubleSpinBox()
        self.lr.setDecimals(4)
        self.lr.setRange(1e-4, 100.0)
        self.lr.setSingleStep(0.01)
        self.lr.setKeyboardTracking(False)
        self.lr.setToolTip("Learning rate η. Time t = Σ η, so the flow prediction at t is unchanged; steps above "
                           "a safe fraction of the stability limit 2n/λ_max are clipped. Changing it does not "
                           "restart the run.")
        self.lr.valueChanged.connect(lambda v: self.host.update_state(lr=float(v)))
        form.addRow("Learning rate η", self.lr)
        self.lr_used = QtWidgets.QLabel("in use: η = —")   # one line from the start: the dock does not grow
        self.lr_used.setToolTip("The step size gradient descent uses: the requested η, or the largest safe "
                                "one when the request is above the stability limit.")
        form.addRow("", self.lr_used)
        self.dataset = QtWidgets.QComboBox()
        self.dataset.addItems(list(DATASETS))
        self.dataset.setToolTip("Training data (8 points on [−1, 1]). The flow fits them along the NTK's "
                                "eigen-directions: large eigenvalues first.")
        self.dataset.currentTextChanged.connect(lambda v: self.host.update_state(dataset=v))
        form.addRow("Data", self.dataset)
        self.mode = QtWidgets.QComboBox()
        self.mode.addItems(["ntk", "nngp"])
        self.mode.setToolTip("ntk: train every layer (flow driven by the NTK Θ); nngp: train only the readout "
                             "(driven by the NNGP K; t = ∞ is the GP posterior mean).")
        self.mode.currentTextChanged.connect(lambda v: self.host.update_state(train_mode=v))
        form.addRow("Trained", self.mode)
        self.m_spin = QtWidgets.QSpinBox()
        self.m_spin.setRange(2, 1024)
        self.m_spin.setKeyboardTracking(False)
        self.m_spin.setToolTip("Ensemble M: networks trained together (the dock's sampling ensemble does not apply "
                               "to training). More networks: a sharper ensemble mean and band.")
        self.m_spin.valueChanged.connect(lambda v: self.host.update_state(train_ensemble=int(v)))
        form.addRow("Ensemble M", self.m_spin)
        self.state_changed(self.host.current_state(), set())
        return box

    def state_changed(self, state: AppState, changed: set[str]) -> None:
        self.live = {"lr": state.lr, "steps": state.steps_per_frame}
        if not hasattr(self, "lr"):
            return
        for w, value in ((self.lr, state.lr), (self.dataset, state.dataset), (self.mode, state.train_mode),
                         (self.m_spin, state.train_ensemble),
                         (self.speed, int(round(10 * np.log10(max(1, state.steps_per_frame)))))):
            w.blockSignals(True)
            if isinstance(w, QtWidgets.QComboBox):
                w.setCurrentText(value)
            else:
                w.setValue(value)
            w.blockSignals(False)

    def show_lr(self, used: float, why: str = "") -> None:
        """Under the learning-rate box: the rate in use, and whether (and to what) the request was clipped."""
        requested = self.host.current_state().lr
        if not hasattr(self, "lr_used"):
            return
        if np.isclose(used, requested, rtol=1e-6):
            self.lr_used.setText(f"in use: η = {used:.3g}")
        else:
            self.lr_used.setText(f"clipped to η = {used:.3g}")
        self.lr_used.setToolTip(why or "The step size gradient descent uses.")

    def toggle_pause(self) -> bool:
        self.playing = not self.playing
        self.play_btn.setText("Pause" if self.playing else "Play")
        self.host.request_compute(self.key)
        return True

    def step_once(self) -> None:
        self.playing = False
        self.play_btn.setText("Play")
        self._single_step = True
        self.host.request_compute(self.key)

    def restart(self) -> None:
        self.job.restart()
        self.host.request_compute(self.key)

    def deactivated(self) -> None:
        pass   # the controller cancels the running job when another view computes; the run is kept

    def make_job(self, state: AppState):
        results = self.job.run(state, self.live, self.playing, self._single_step)
        self._single_step = False
        return lambda: results

    # ---- GUI side ----------------------------------------------------------------------------------------
    def show_result(self, r: TrainingResult) -> None:
        t, lw = self.theme, self.line_width()
        x = r.x
        sd_p, sd_e = np.sqrt(np.maximum(r.pred_var, 0)), np.sqrt(np.maximum(r.var, 0))
        self.th_hi.setData(x, r.pred_mean + 2 * sd_p, pen=plotting.pen(t["theory"], 1))
        self.th_lo.setData(x, r.pred_mean - 2 * sd_p, pen=plotting.pen(t["theory"], 1))
        self.th_band.setBrush(t.qcolor("band"))
        self.em_hi.setData(x, r.mean + 2 * sd_e, pen=plotting.pen(t["data"], 1))
        self.em_lo.setData(x, r.mean - 2 * sd_e, pen=plotting.pen(t["data"], 1))
        self.em_band.setBrush(t.qcolor("data_band"))
        for i, c in enumerate(self.net_curves):
            if i < len(r.nets):
                c.setData(x, r.nets[i], pen=plotting.pen(t.qcolor("muted", 150), lw * 0.5))
            else:
                c.setData([], [])
        self.th_mean.setData(x, r.pred_mean, pen=plotting.pen(t["theory"], lw, QtCore.Qt.PenStyle.DashLine))
        self.em_mean.setData(x, r.mean, pen=plotting.pen(t["data"], lw))
        self.data_pts.setData(r.tx, r.ty, pen=None, symbol="o", symbolSize=self.symbol_size(10),
                              symbolBrush=t["accent"], symbolPen=pg.mkPen(t["text"], width=1))
        ht = r.hist_t
        ok = ht > 0
        self.loss_meas.setData(ht[ok], np.maximum(r.hist_loss[ok], 1e-300), pen=plotting.pen(t["data"], lw))
        self.loss_pred.setData(r.loss_grid, np.maximum(r.loss_pred, 1e-300),
                               pen=plotting.pen(t["theory"], lw, QtCore.Qt.PenStyle.DashLine))
        dk = ok & np.isfinite(r.hist_drift)
        self.drift_curve.setData(ht[dk], r.hist_drift[dk], pen=plotting.pen(t["accent"], lw))
        # Relative drift from 0: a kernel that barely moves is drawn flat (at least a 10 % scale), not as a
        # steep climb across an axis that starts at its first value.
        top = float(np.nanmax(r.hist_drift[dk])) if dk.any() else 0.0
        self.drift.setYRange(0.0, max(MIN_DRIFT_SCALE, 1.1 * top), padding=0.0)
        self.show_lr(r.lr, r.lr_note)
        size = round(14 * self.scale())
        state = "playing" if self.playing else "paused"
        self.info.setText(f"<div style='font-size:{size}px'><b>t = {r.t:.4g}</b> (step {r.step:,}, "
                          f"η = {r.lr:.3g}) &nbsp;│&nbsp; M = {r.m} networks of width {r.width}, "
                          f"{r.mode} mode &nbsp;│&nbsp; <span style='color:{t['muted']}'>{state}</span></div>")
        self._data = {"test_x": x, "train_x": r.tx, "train_y": r.ty, "network_outputs": r.nets.T,
                      "ensemble_mean": r.mean, "ensemble_var": r.var, "prediction_mean": r.pred_mean,
                      "prediction_var": r.pred_var, "history_t": ht, "history_loss": r.hist_loss,
                      "history_ntk_drift": r.hist_drift, "loss_pred_t": r.loss_grid,
                      "loss_pred": r.loss_pred}

    def export_data(self) -> dict[str, np.ndarray]:
        return dict(self._data)
