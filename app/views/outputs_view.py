"""Outputs: the distribution of f(x) over the ensemble against the NNGP Gaussian, the exact finite-N density
(depth 1: with relu's all-neurons-off spike, and averaged over the histogram's bins) and the truncated Edgeworth
series; variance and excess kurtosis ± error beside theory; sampled functions; the joint (f(x₁), f(x₂))."""
from __future__ import annotations

import html

from typing import Iterator

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .. import jobs, plotting
from ..jobs.outputs import OutputsResult, robust_sd
from ..state import NETWORK_FIELDS, SAMPLING_FIELDS, AppState
from .base import ViewBase


def _brief(reason: str, limit: int = 70) -> str:
    """A refusal's first clause for the note under a plot (five wrapped lines squeezed the plots at 720p); the
    whole reason goes in the note's tooltip. The note already names the density, so a reason's own "the exact …
    density" subject is dropped where a verb follows it ("… needs i.i.d. parameters")."""
    for subject in ("the exact output density ", "the exact joint density ", "the exact density here "):
        rest = reason[len(subject):]
        if reason.startswith(subject) and rest.split(" ", 1)[0] in ("needs", "is", "exists"):
            reason = rest
    if len(reason) <= limit:
        return reason
    cuts = [i for i in (reason.find(m) for m in (" (", ": ", "; ", " — ")) if i >= 20]
    return reason[:min(cuts)] + " (hover for why)" if cuts else reason


def _wrap(text: str, width: int = 38) -> str:
    import textwrap
    return "\n".join(textwrap.wrap(text, width))


def robust_half_range(values: np.ndarray, sd: float, n_sd: float) -> float:
    """Half-width of a symmetric plot range: n_sd theory standard deviations (robust ones of the values where
    theory has none), widened to hold every value unless one lies beyond twice that (heavy tails, overflow):
    such outliers are clipped rather than flattening everything else."""
    base = n_sd * sd if np.isfinite(sd) and sd > 0 else 1.6 * n_sd * robust_sd(values)
    f = np.abs(values[np.isfinite(values)])
    data = float(f.max()) if len(f) else 0.0
    return data if base < data <= 2.0 * base else base


def _num(v: float, fmt: str) -> str:
    return format(v, fmt) if np.isfinite(v) else ("∞" if v > 0 else "—")


def _pm(v: float, err: float, fmt: str, valid: bool = True, honest: bool = True) -> str:
    """A measured value ± its error; ⚠ instead of ± where the sample gives no honest error (heavy tails), a dash
    where the ensemble gives no finite number."""
    if not (valid and np.isfinite(v)):
        return "<b>—</b>"
    if not honest or not np.isfinite(err):
        return f"<b>{v:{fmt}} ⚠</b>"
    return f"<b>{v:{fmt}} ± {err:.2g}</b>"


def divergence_note(r: OutputsResult) -> str:
    """One sentence when the ensemble has no finite variance (or overflowed), else ""."""
    parts = []
    if not np.isfinite(r.k[0, 0]):
        parts.append("the NNGP variance is infinite here (E[φ(z)²] diverges under this prior), so there is no "
                     "Gaussian limit to compare with")
    if r.nonfinite:
        parts.append(f"{r.nonfinite:,} of {r.progress.done:,} networks overflowed to ±∞ in {r.dtype}: at this width "
                     "the outputs' tails are too heavy for finite moments, and the measured ones do not converge")
    return ("No finite variance: " + "; ".join(parts) + ".") if parts else ""


class OutputsView(ViewBase):
    key = "outputs"
    title = "Outputs"
    needs = NETWORK_FIELDS | SAMPLING_FIELDS | {"x1", "x2", "x_min", "x_max"}
    caption = ("The distribution of f(x₁) over an ensemble of random networks against the N = ∞ Gaussian "
               "(NNGP) and finite-N theory. Drag the x₁, x₂ markers on the lower plot.")

    def __init__(self, host, parent=None):
        super().__init__(host, parent)
        self.func_curves: list[pg.PlotDataItem] = []
        self.x_lines: list[pg.InfiniteLine] = []
        self._data: dict[str, np.ndarray] = {}
        self._static_key: tuple = ()
        self._static_funcs = None
        self._scatter_rows = -1
        self._reasons: list[str] = []
        self._tips: list[str] = []

    def build(self) -> Iterator[None]:
        lay = self.layout_
        self.numbers = QtWidgets.QLabel()
        self.numbers.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.numbers.setWordWrap(True)
        lay.addWidget(self.numbers)
        self.canvas = self.add_canvas()
        self.hist = self.add_plot(self.canvas, 0, 0, "Distribution of f(x₁)", "f(x₁)", "density")
        yield
        # The joint takes the right column's full height, the sampled functions sit under the histogram: in a
        # row under both, at 1280×720 the legends and notes left the histogram and the functions ~40 px of data.
        self.joint = self.add_plot(self.canvas, 0, 1, "Joint (f(x₁), f(x₂))", "f(x₁)", "f(x₂)", rowspan=2)
        yield
        self.funcs = self.add_plot(self.canvas, 1, 0, "Sampled networks f(x)", "x", "f(x)")
        # The histogram's cell also holds a legend and a note (~110 px at 720p): room beyond what the cells ask
        # for goes mostly to it (shared equally, its data was ~80 px tall at 1280×720 presentation).
        self.canvas.ci.layout.setRowStretchFactor(0, 2)
        self.canvas.ci.layout.setRowStretchFactor(1, 1)
        yield
        self.hist_note = self.add_note(self.hist)
        self.hist_curve = self.hist.plot(name="ensemble")
        self.gauss_curve = self.hist.plot(name="NNGP (N = ∞)")
        self.exact_curve = self.hist.plot(name="exact density")
        self.exact_bins = self.hist.plot()   # dotted: the exact density per bin (the note says so)
        self.edge_curve = self.hist.plot(name="Edgeworth (truncated)")   # short: two legend columns at 720p
        # the atom sits at 0, mid-plot: its label starts just right of it (centred, it ran over the y axis)
        self.atom_line = pg.InfiniteLine(pos=0.0, angle=90, movable=False, label="atom",
                                         labelOpts={**plotting.MARKER_LABEL, "anchors": [(-0.03, 0), (-0.03, 0)]})
        self.atom_line.setVisible(False)
        self.hist.addItem(self.atom_line)
        self._exact_shown = ()
        self.scatter = plotting.PointCloud(size_px=4)
        self.joint.addItem(self.scatter)
        self.ellipses = [self.joint.plot(name="NNGP 1σ, 2σ" if i == 0 else None) for i in range(2)]
        # The exact joint density's contours holding 39/86/99 % (1σ, 2σ, 3σ of a 2-D Gaussian).
        self.joint_lines = [self.joint.plot(name="exact joint density" if i == 0 else None) for i in range(3)]
        self.joint_note = self.add_note(self.joint)
        self._joint_shown = ()
        for i, name in enumerate(("x1", "x2")):
            line = pg.InfiniteLine(angle=90, movable=True, label=f"x{'₁₂'[i]}",
                                   labelOpts=plotting.MARKER_LABEL)
            line.sigPositionChangeFinished.connect(lambda ln, n=name: self._line_moved(n, ln))
            self.funcs.addItem(line)
            self.x_lines.append(line)

    def _line_moved(self, name: str, line) -> None:
        self.host.update_state(**{name: round(float(line.value()), 3)})

    def apply_theme(self, theme) -> None:
        super().apply_theme(theme)
        if self.x_lines:
            self._style_markers()

    def state_changed(self, state: AppState, changed: set[str]) -> None:
        for line, value in zip(self.x_lines, (state.x1, state.x2)):
            if abs(line.value() - value) > 1e-9:
                line.blockSignals(True)
                line.setValue(value)
                line.blockSignals(False)

    def make_job(self, state: AppState):
        results = jobs.outputs.run(state)
        return lambda: results

    # ---- GUI side ----------------------------------------------------------------------------------------
    def show_result(self, r: OutputsResult) -> None:
        # Refinements of one request change only the histogram, the scatter and the numbers; everything else
        # (and the axis ranges, so the cached axes need no redraw) is drawn once per request, theme and mode.
        static_key = (self.last_request_id, self.theme["name"], self.presentation)
        if static_key != self._static_key or r.funcs is not self._static_funcs:
            self._static_key, self._static_funcs = static_key, r.funcs
            self._show_static(r)
        t, lw = self.theme, self.line_width()
        self.hist_curve.setData(*plotting.stepped(r.edges, r.density),
                                pen=plotting.pen(t["data"], lw), fillLevel=0, brush=t.qcolor("data_fill"))
        if (static_key, id(r.exact), r.exact_reason) != self._exact_shown:
            self._exact_shown = (static_key, id(r.exact), r.exact_reason)
            self._show_exact(r)
        if (static_key, id(r.joint), r.joint_reason) != self._joint_shown:
            self._joint_shown = (static_key, id(r.joint), r.joint_reason)
            self._show_joint(r)
        peaks = [np.nanmax(r.density), np.nanmax(r.gauss) if r.gauss is not None else 0.0]
        if r.exact is not None:   # the spike's full height stays on screen
            inside = (r.exact.f >= r.edges[0]) & (r.exact.f <= r.edges[-1])
            peaks.append(float(np.max(r.exact.p[inside], initial=np.max(r.exact.bin_mean))))
        top = np.nanmax(peaks)
        self.steady_axis("hist_y", self.hist, "y", 0.0, 1.08 * top, margin=0.0, min_fill=0.8)
        sc = r.scatter
        if len(sc) != self._scatter_rows:
            self._scatter_rows = len(sc)
            self.scatter.setData(sc[:, 0], sc[:, 1], t.qcolor("data", 110))
            for axis, name in ((0, "x"), (1, "y")):
                # Symmetric: the 3σ NNGP ellipse and (nearly) every point.
                half = robust_half_range(sc[:, axis], float(np.sqrt(max(r.k[axis, axis], 0.0))), 3.0)
                self.steady_axis(f"joint_{name}", self.joint, name, -half, half)
        self._numbers(r)
        self._data = {"hist_bin_left": r.edges[:-1], "hist_bin_right": r.edges[1:],
                      "hist_density": r.density,
                      "scatter_f_x1": sc[:, 0], "scatter_f_x2": sc[:, 1], "grid_x": r.grid,
                      "sampled_functions": r.funcs, "nngp_cov_x1x2": r.k,
                      "variance": np.array([r.var, r.var_err]),
                      "excess_kurtosis": np.array([r.kurt, r.kurt_err])}
        if r.gauss is not None:
            self._data["gauss_density"] = r.gauss
        if self.edge_curve.xData is not None and len(self.edge_curve.xData):
            self._data["edgeworth_density"] = r.edgeworth
        if r.joint is not None:
            self._data.update(joint_f1=r.joint.f1, joint_f2=r.joint.f2, joint_density=r.joint.p,
                              joint_levels=r.joint.levels, joint_smoothing=np.array(r.joint.smooth))
        if r.exact is not None:
            self._data.update(exact_f=r.exact.f, exact_density=r.exact.p, exact_bin_mean=r.exact.bin_mean,
                              exact_atom_weight=np.array([r.exact.atom_weight]))

    def _show_static(self, r: OutputsResult) -> None:
        """What one request draws once: theory curves, ellipses, sampled functions, the x markers."""
        t, lw = self.theme, self.line_width()
        self._scatter_rows = -1
        self.steady_axis("hist_x", self.hist, "x", float(r.edges[0]), float(r.edges[-1]), margin=0.0)
        self.steady_axis("funcs_x", self.funcs, "x", float(r.grid[0]), float(r.grid[-1]), margin=0.0)
        half = robust_half_range(r.funcs, r.funcs_sd, 2.5)
        self.steady_axis("funcs_y", self.funcs, "y", -half, half)
        reasons = self._reasons = []
        self._tips: list[str] = []
        if r.gauss is None:
            self.gauss_curve.setData([], [])
            reasons.append("NNGP: infinite variance")
        else:
            self.gauss_curve.setData(r.z, r.gauss, pen=plotting.pen(t["theory"], lw))
        # Why a theory curve is absent goes into the note under the plot (its legend entry goes with it).
        edge = r.edgeworth
        if edge is not None and np.nanmin(edge) < -0.02 * np.nanmax(edge):
            # A truncated cumulant series turns negative when the cumulants are not small: say so.
            self.edge_curve.setData([], [])
            reasons.append("Edgeworth series: negative, hidden")
            self._tips.append("Edgeworth series (truncated): the cumulant series goes negative where κ₄/σ⁴ ≳ 1 "
                              "(small N); it is an asymptotic expansion, not the finite-N density.")
        elif edge is not None:
            self.edge_curve.setData(r.z, plotting.finite(edge),
                                    pen=plotting.pen(t["accent"], lw, QtCore.Qt.PenStyle.DashLine))
        else:
            self.edge_curve.setData([], [])
            short = (r.edge_reason or "").split(":")[0].replace(" ", "\u00a0")   # "κ₆ = ∞" never wraps apart
            why = " at depth > 1" if r.depth > 1 else (f" ({short})" if short else "")
            reasons.append("Edgeworth series: not available" + why)
            self._tips.append(f"Edgeworth series: {r.edge_reason or r.fw_reason}")
        for i, ns in enumerate((1.0, 2.0)):
            ex, ey = plotting.ellipse(r.k, ns)
            self.ellipses[i].setData(ex, ey, pen=plotting.pen(t["theory"], lw))
        while len(self.func_curves) < r.funcs.shape[1]:
            self.func_curves.append(self.funcs.plot())
        for i, c in enumerate(self.func_curves):
            c.setData(r.grid, r.funcs[:, i], pen=plotting.pen(t.series(i), lw * 0.8))
        self._style_markers()

    def _show_exact(self, r: OutputsResult) -> None:
        """The exact finite-N density (drawn on its own fine grid, so relu's spike at 0 — all N neurons off, weight
        p_off^N, width σ_b — is resolved), the same averaged over the histogram's bins (what the histogram
        estimates: a spike narrower than a bin shows lower there), a point mass as a marked line; or why not."""
        t, lw = self.theme, self.line_width()
        e = r.exact
        notes, tips = [], []
        if e is None:
            self.exact_curve.setData([], [])
            self.exact_bins.setData([], [])
            self.atom_line.setVisible(False)
            if r.exact_reason:
                notes.append(f"Exact density: not available — {_brief(r.exact_reason)}.")
                tips.append(f"Exact density: not available — {r.exact_reason}.")
            elif r.depth == 1:
                notes.append("Exact density: computing…")
        elif e.atoms:
            self.exact_curve.opts["name"] = f"exact per bin (N = {r.width:,})"
            self.exact_curve.setData(*plotting.stepped(r.edges, e.bin_mean), pen=plotting.pen(t["theory2"], lw))
            self.exact_bins.setData([], [])
            self.atom_line.setVisible(False)
            notes.append(f"Exact: f takes {e.atoms:,} values (every parameter ±1), shown per bin.")
            tips.append(f"Exact law: with the rademacher prior every weight and bias is ±1 times its scale, so f(x₁) "
                        f"takes {e.atoms:,} values at N = {r.width} and has no density. The solid steps are the exact "
                        "probability of each histogram bin divided by its width: what the histogram estimates "
                        "(docs/physics.md §4.3).")
        else:
            self.exact_curve.opts["name"] = f"exact (N = {r.width:,})"   # short: two legend columns at 720p
            self.exact_curve.setData(e.f, e.p, pen=plotting.pen(t["theory2"], lw))
            self.exact_bins.setData(*plotting.stepped(r.edges, e.bin_mean),
                                    pen=plotting.pen(t["theory2"], 0.6 * lw, QtCore.Qt.PenStyle.DotLine))
            if e.atom_weight > 1e-4 and e.atom_in_p:
                notes.append(f"Spike at 0: {_all_neurons(r.width)} off, weight {e.atom_weight:.3g}. Dotted: per bin.")
                tips.append(f"Exact density: the spike at f = 0 is the event that all N = {r.width} relu neurons "
                            f"are off (probability ½^N = {e.atom_weight:.3g}), when f is the bias alone: a "
                            f"Gaussian of width σ_b = {e.spike_width:g}. The solid curve resolves it on a fine "
                            "grid; the dotted steps average the density over the histogram's "
                            "bins, which is what the histogram estimates.")
            if e.atom_weight > 0 and not e.atom_in_p:
                self.atom_line.setPen(plotting.pen(t["theory2"], 2 * lw))
                self.atom_line.label.setFormat(f"atom {e.atom_weight:.3g}")   # the note says the rest
                self.atom_line.label.setColor(t["theory2"])
                notes.append(f"Plus a point mass {e.atom_weight:.3g} at 0 (all neurons off, σ_b = 0).")
            self.atom_line.setVisible(e.atom_weight > 0 and not e.atom_in_p)
        self.hist_note.setText(" ".join(notes + [r_ + "." for r_ in self._reasons]))
        self.hist_note.setToolTip("\n\n".join(_wrap(tip, 60) for tip in self._tips + tips))

    def _show_joint(self, r: OutputsResult) -> None:
        """Contours of the exact joint density of (f(x₁), f(x₂)) holding 39/86/99 % (its law smoothed by a
        Gaussian of 1.6 grid steps, said in the note: relu's both-off mass on the diagonal has no density
        otherwise), the NNGP ellipses dashed beside them; or why there are none."""
        t, lw = self.theme, self.line_width()
        j = r.joint
        dash = QtCore.Qt.PenStyle.DashLine if j is not None else QtCore.Qt.PenStyle.SolidLine
        for item in self.ellipses:
            item.setPen(plotting.pen(t["theory"], lw, dash))
        if j is None:
            for item in self.joint_lines:
                item.setData([], [])
            if r.joint_reason:
                self.joint_note.setText(f"Exact joint density: not available — {_brief(r.joint_reason)}.")
            else:
                waiting = (f"computing after the sample (~{r.joint_after_sample:.0f} s)…" if r.joint_after_sample
                           else "computing…")
                self.joint_note.setText(f"Exact joint density: {waiting}" if r.depth == 1 else "")
            self.joint_note.setToolTip(_wrap(f"Exact joint density: not available — {r.joint_reason}.", 60)
                                       if r.joint_reason else "")
            return
        what = "law" if j.atoms else "density"     # rademacher: atoms, smoothed
        self.joint_lines[0].opts["name"] = f"exact joint {what}, N = {r.width:,} (39/86/99 %)"
        for item, (cx, cy) in zip(self.joint_lines, r.joint_lines):   # computed by the job (jobs/contours.py)
            item.setData(cx, cy, pen=plotting.pen(t["theory2"], lw), connect="finite")
        law = (f"(f(x₁), f(x₂)) takes {j.atoms:,} values (every parameter ±1); its law" if j.atoms
               else "the law of (f(x₁), f(x₂))")
        text = (f"Exact contours: {law} smoothed by a Gaussian of 1.6 grid steps "
                f"(σ = {j.smooth[0]:.2g}, {j.smooth[1]:.2g}).")
        if j.diagonal_mass > 1e-3:
            text += f" Ridge on the diagonal: {_all_neurons(r.width)} off at x₁ and x₂ (weight {j.diagonal_mass:.3g})."
        if j.axis_mass > 1e-3:   # σ_b = 0, x₁x₂ < 0
            text += (f" Ridges on the axes: {_all_neurons(r.width)} active at x₁ only, or at x₂ only (weight "
                     f"{j.axis_mass:.3g} each).")
        self.joint_note.setText(text)
        self.joint_note.setToolTip(_wrap(
            ("The exact finite-N joint law at depth 1: with the rademacher prior a sum over its atoms "
             "(docs/physics.md §4.3)" if j.atoms else
             "The exact finite-N joint density at depth 1 by Fourier inversion of the characteristic function "
             "(docs/physics.md §4.6: one 2-D FFT for relu, back-projection along rays for the smooth "
             "activations)") + ". Its level lines hold 39 %, 86 % and 99 % of the probability "
            "(what the 1σ, 2σ, 3σ ellipses hold for a Gaussian). It is drawn for the law of f plus independent "
            "Gaussian noise of 1.6 grid steps: relu puts mass on lines (f = (c, c) when every neuron is off at "
            "both points), which have no 2-D density; the noise also sets where the inversion may stop. The "
            "dashed ellipses are the N = ∞ (NNGP) Gaussian's.", 60))

    def _style_markers(self) -> None:
        t = self.theme
        for line in self.x_lines:
            line.setPen(plotting.pen(t["muted"], 2 * self.scale(), QtCore.Qt.PenStyle.DashLine))
            line.label.setColor(t["plot_foreground"])

    def _numbers(self, r: OutputsResult) -> None:
        t = self.theme
        size = round(15 * self.scale())
        d, th, th2, mu = t["data"], t["theory"], t["theory2"], t["muted"]
        fw_var = f"{r.var_fw:.4g}" if r.var_fw is not None else "n/a"
        fw_k = f"{r.kurt_fw:+.3g}" if r.kurt_fw is not None else "n/a"
        why = "" if r.kurt_fw is not None else f"<span style='color:{mu}'>finite-N theory: {r.fw_reason}</span>"
        note = divergence_note(r)
        ok = not r.nonfinite   # moments of a sample holding ±∞ are no estimates

        def td(text, color=None):
            c = f"color:{color};" if color else ""
            return f"<td style='padding-right:22px; {c}'>{text}</td>"

        rows = [
            td(f"<b>x₁ = {r.x1:.3g}</b>, N = {r.width:,}")
            + td(f"measured: {r.progress.done:,} / {r.progress.requested:,}")
            + td("N = ∞ (NNGP)", th) + td("exact at this N" if r.depth == 1 else "1/N theory at this N", th2),
            td("variance") + td(_pm(r.var, r.var_err, ".4g", ok, not r.var_unreliable), d) + td(_num(r.k[0, 0], ".4g"), th)
            + td(fw_var, th2),
            td("excess kurtosis") + td(_pm(r.kurt, r.kurt_err, "+.3g", ok, not r.kurt_unreliable), d)
            + td("0" if np.isfinite(r.k[0, 0]) else "—", th) + td(fw_k, th2) + td(why),
        ]
        tip = ""
        if r.warnings and ok:
            # One line on screen (five wrapped lines squeezed the plots to nothing at 720p); the sentences in the
            # tooltip. Each warning starts with the estimate it is about ("G4c at x = …: …").
            names = list(dict.fromkeys(w.split(" at ")[0] for w in r.warnings))
            note = (note + " " if note else "") + html.escape(
                f"⚠ heavy tails: the sample's own errors are not honest for {', '.join(names)} (hover for why)")
            tip = "\n\n".join(_wrap(w, 70) for w in r.warnings)
        self.numbers.setToolTip(tip)
        note_html = f"<div style='color:{th2}'>{note}</div>" if note else ""
        self.numbers.setText(f"<div style='font-size:{size}px'><table>"
                             + "".join(f"<tr>{row}</tr>" for row in rows) + f"</table>{note_html}</div>")

    def export_data(self) -> dict[str, np.ndarray]:
        return dict(self._data)


def _all_neurons(n: int) -> str:
    return {1: "the neuron", 2: "both neurons"}.get(n, f"all {n} neurons")
