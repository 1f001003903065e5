"""The controls dock: every shared setting, each with a tooltip saying what it does to the physics.

The panel only *proposes* changes (`changed` signal with a dict); the main window validates them against the
state object and calls `set_state` back, so the widgets always show the state as it is.
"""
from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from nnqft_engine.spec import (
    ACTIVATIONS,
    DEVICES,
    INDEPENDENCE,
    PARAMETERIZATIONS,
    PRIORS,
)

from .state import MAX_WIDTH, AppState

LOG_STEPS = 500   # slider positions over 10^0 … 10^5

TIPS = {
    "width": "Hidden-layer width N (log scale). N → ∞ makes the ensemble a Gaussian process (free field); "
             "finite N adds interactions: connected G4 ∝ 1/N, G6 ∝ 1/N².",
    "depth": "Number of hidden layers L. Deeper kernels compose the layer map L times; finite-width "
             "corrections grow with depth/N.",
    "activation": "Nonlinearity φ. It fixes the NNGP/NTK kernels (arc-cosine for relu, arcsin for erf…) "
                  "and the size of the 1/N interactions.",
    "prior": "Distribution family of every weight and bias, scaled to the same variance. Only cumulants above "
             "the second differ: G2 at large N is universal, G4c at small N is not.",
    "prior_dof": "Degrees of freedom ν of the Student-t prior (ν > 4): smaller ν means heavier tails, "
                 "kurtosis 3(ν−2)/(ν−4), larger finite-N G4c.",
    "sigma_w": "Weight scale σ_w: weights have variance σ_w²/fan-in. Sets the kernel's amplitude and shape.",
    "sigma_b": "Bias scale σ_b: biases have variance σ_b². Adds a constant σ_b² to every covariance.",
    "parameterization": "standard: gradients w.r.t. W itself (NTK grows with N); ntk: W = σ_w/√fan-in·ω, "
                        "gradients w.r.t. ω (finite NTK). Same ensemble at initialization.",
    "independence": "Break the i.i.d. sampling of parameters. shared-scale: each network scales its readout by "
                    "one random s (a scale mixture of Gaussians); sequential: a neuron's readout depends on "
                    "the previous neuron's weight. Both keep G4c ≠ 0 as N → ∞.",
    "independence_strength": "Strength v of the dependence (shared-scale: Var(s²) = v). 0 = independent.",
    "ensemble": "Number of networks M drawn. Error bars shrink like 1/√M; estimates refine live.",
    "seed": "Random seed: the same seed and settings reproduce the same ensemble exactly.",
    "same": "Redraw the same ensemble (same seed): the numbers must not change.",
    "new": "Draw a new ensemble (seed + 1): the numbers move within their error bars.",
    "x1": "Input x₁: the point of the histogram, the row of G2(x₁, x) and the G4 slice. Drag it on the plots.",
    "x2": "Input x₂: the partner point of the joint (f(x₁), f(x₂)) scatter.",
    "device": "Where networks are sampled: auto = CUDA GPU, else Apple GPU, else CPU. A GPU failure falls "
              "back to the CPU with a message.",
    "dtype": "Sampling precision. Theory is always float64.",
}


def width_to_slider(width: int) -> int:
    return int(round(math.log10(max(1, width)) / 5 * LOG_STEPS))


def slider_to_width(pos: int) -> int:
    w = 10 ** (pos / LOG_STEPS * 5)
    # round to 2 significant digits so the shown numbers are readable
    digits = max(0, int(math.floor(math.log10(w))) - 1)
    return int(min(MAX_WIDTH, max(1, round(w / 10**digits) * 10**digits)))


class ControlsPanel(QtWidgets.QWidget):
    changed = QtCore.Signal(dict)
    same_draw = QtCore.Signal()
    new_draw = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        form = self.form = QtWidgets.QFormLayout(self)
        form.setVerticalSpacing(4)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.widgets: dict[str, QtWidgets.QWidget] = {}
        self._rows: dict[str, list[QtWidgets.QWidget]] = {}   # key → label, field and any buttons beside it
        self._relevant: set[str] | None = None

        self.width_slider, self.width_label, row = self._labelled_slider(0, LOG_STEPS)
        self._add(form, "Width N", row, "width", self.width_slider)
        self.width_slider.valueChanged.connect(self._width_moved)

        self.depth = self._spin(1, 6)
        self._add(form, "Depth L", self.depth, "depth")
        self.activation = self._combo(ACTIVATIONS)
        self._add(form, "Activation φ", self.activation, "activation")
        self.prior = self._combo(PRIORS)
        self._add(form, "Prior", self.prior, "prior")
        self.prior_dof = self._dspin(4.1, 100.0, 0.5, 1)
        self._add(form, "Student-t ν", self.prior_dof, "prior_dof")
        self.sigma_w = self._dspin(0.0, 10.0, 0.1, 2)
        self._add(form, "σ_w", self.sigma_w, "sigma_w")
        self.sigma_b = self._dspin(0.0, 10.0, 0.05, 2)
        self._add(form, "σ_b", self.sigma_b, "sigma_b")
        self.parameterization = self._combo(PARAMETERIZATIONS)
        self._add(form, "Parameterization", self.parameterization, "parameterization")
        self.independence = self._combo(INDEPENDENCE)
        self._add(form, "Independence", self.independence, "independence")
        self.independence_strength = self._dspin(0.0, 5.0, 0.05, 2)
        self._add(form, "Strength v", self.independence_strength, "independence_strength")

        # 10^(k/10): 100 … 1,000,000 networks
        self.ensemble_slider, self.ensemble_label, row = self._labelled_slider(20, 60)
        self._add(form, "Ensemble M", row, "ensemble", self.ensemble_slider)
        self.ensemble_slider.valueChanged.connect(self._ensemble_moved)

        self.seed = self._spin(0, 2**31 - 1)
        same, new = QtWidgets.QPushButton("Same draw"), QtWidgets.QPushButton("New draw (N)")
        same.setToolTip(TIPS["same"])
        new.setToolTip(TIPS["new"])
        same.clicked.connect(self.same_draw)
        new.clicked.connect(self.new_draw)
        self._add(form, "Seed", self.seed, "seed")
        row = QtWidgets.QHBoxLayout()   # a row of its own: the dock stays narrow at presentation font sizes
        row.addWidget(same)
        row.addWidget(new)
        form.addRow("", row)
        self._rows["seed"] += [same, new]
        self._button_row = form.rowCount() - 1
        self.x1 = self._dspin(-10.0, 10.0, 0.05, 3)
        self._add(form, "x₁", self.x1, "x1")
        self.x2 = self._dspin(-10.0, 10.0, 0.05, 3)
        self._add(form, "x₂", self.x2, "x2")
        self.device = self._combo(DEVICES)
        self._add(form, "Device", self.device, "device")
        self.dtype = self._combo(("float32", "float64"))
        self._add(form, "Precision", self.dtype, "dtype")
        self._updating = False

    # ---- construction helpers ----------------------------------------------------------------------------
    def _add(self, form, label, field, key, widget=None):
        widget = widget or field
        self.widgets[key] = widget
        lab = QtWidgets.QLabel(label)
        lab.setToolTip(TIPS[key])
        widget.setToolTip(TIPS[key])
        self._rows[key] = [lab, widget]
        if isinstance(field, QtWidgets.QLayout):
            self._rows[key] += [field.itemAt(i).widget() for i in range(field.count())
                                if field.itemAt(i).widget() not in (None, widget)]
        if isinstance(field, QtWidgets.QLayout):
            form.addRow(lab, field)
        else:
            form.addRow(lab, field)
        if isinstance(widget, QtWidgets.QComboBox):
            widget.currentTextChanged.connect(lambda v, k=key: self._emit(k, v))
        elif isinstance(widget, QtWidgets.QDoubleSpinBox):
            widget.valueChanged.connect(lambda v, k=key: self._emit(k, float(v)))
        elif isinstance(widget, QtWidgets.QSpinBox):
            widget.valueChanged.connect(lambda v, k=key: self._emit(k, int(v)))

    @staticmethod
    def _combo(items) -> QtWidgets.QComboBox:
        c = QtWidgets.QComboBox()
        c.addItems(list(items))
        return c

    @staticmethod
    def _labelled_slider(low: int, high: int) -> tuple[QtWidgets.QSlider, QtWidgets.QLabel, QtWidgets.QHBoxLayout]:
        """A horizontal slider with its value shown at the right, as one form row."""
        slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        slider.setRange(low, high)
        label = QtWidgets.QLabel()
        label.setMinimumWidth(70)
        label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(slider, 1)
        row.addWidget(label)
        return slider, label, row

    @staticmethod
    def _spin(lo, hi) -> QtWidgets.QSpinBox:
        s = QtWidgets.QSpinBox()
        s.setRange(lo, hi)
        s.setKeyboardTracking(False)
        return s

    @staticmethod
    def _dspin(lo, hi, step, decimals) -> QtWidgets.QDoubleSpinBox:
        s = QtWidgets.QDoubleSpinBox()
        s.setRange(lo, hi)
        s.setSingleStep(step)
        s.setDecimals(decimals)
        s.setKeyboardTracking(False)
        return s

    # ---- events ------------------------------------------------------------------------------------------
    def _emit(self, key, value) -> None:
        if not self._updating:
            self.changed.emit({key: value})

    def _width_moved(self, pos: int) -> None:
        w = slider_to_width(pos)
        self.width_label.setText(f"{w:,}")
        self._emit("width", w)

    def _ensemble_moved(self, pos: int) -> None:
        m = int(round(10 ** (pos / 10), -1 if pos < 30 else -2))
        self.ensemble_label.setText(f"{m:,}")
        self._emit("ensemble", m)

    def set_relevant(self, keys) -> None:
        """Show only the settings the view on screen uses (its `controls_needed`), so nobody turns a dial that
        changes nothing on screen and the dock fits on a projector."""
        self._relevant = set(keys)
        self._apply_enabled()

    def shown(self, key: str) -> bool:
        return self._relevant is None or key in self._relevant

    def _apply_enabled(self) -> None:
        s = getattr(self, "_state", None)
        # Settings that exist only for another setting's value: shown, but disabled (slider and value too).
        own = {"prior_dof": s is None or s.prior == "student-t",
               "independence_strength": s is None or s.independence != "none"}
        # Every slider move lands here: redo the ~60 widget calls only when what they show changed.
        applied = (None if self._relevant is None else frozenset(self._relevant), tuple(own.values()))
        if applied == getattr(self, "_applied", None):
            return
        self._applied = applied
        for key, row in self._rows.items():
            self.form.setRowVisible(row[0], self.shown(key))
            on = own.get(key, True)
            for w in row:
                w.setEnabled(on)
            tip = TIPS[key] + ("" if on else "\n(Has no effect with the current settings.)")
            for w in row[:2]:
                w.setToolTip(tip)
        self.form.setRowVisible(self._button_row, self.shown("seed"))

    def set_state(self, s: AppState) -> None:
        """Show the state without emitting changes."""
        self._updating = True
        try:
            for w in self.widgets.values():
                w.blockSignals(True)
            self.width_slider.setValue(width_to_slider(s.width))
            self.width_label.setText(f"{s.effective_width:,}" + ("" if s.effective_width == s.width else "*"))
            self.depth.setValue(s.depth)
            for key in ("activation", "prior", "parameterization", "independence", "device", "dtype"):
                getattr(self, key).setCurrentText(getattr(s, key))
            for key in ("prior_dof", "sigma_w", "sigma_b", "independence_strength", "x1", "x2"):
                getattr(self, key).setValue(getattr(s, key))
            self._state = s
            self._apply_enabled()
            self.ensemble_slider.setValue(int(round(10 * math.log10(max(1, s.ensemble)))))
            self.ensemble_label.setText(f"{s.ensemble:,}")
            self.seed.setValue(min(s.seed, 2**31 - 1))
        finally:
            for w in self.widgets.values():
                w.blockSignals(False)
            self._updating = False
