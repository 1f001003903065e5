"""The view protocol: what every view (Outputs, Correlators, Training, Kernels, Field theory) implements.

A view is a QWidget that
- names itself (`key`, `title`) and says which `AppState` fields it depends on (`needs`); a change to any of
  those makes the main window ask the compute controller for a fresh result for this view;
- turns a snapshot of the state into a *job* (`make_job`): a zero-argument callable that, run in the worker
  thread, returns an iterator of results. The computation lives in the Qt-free `app.jobs` package (one module
  per view) and yields frozen dataclasses (numpy arrays and plain numbers only, no tensors), each carrying a
  `progress` record for the status bar. Each yield is a progress point and a place where a superseded request
  is cancelled;
- builds its plots in `build()`, a generator that yields after each plot: the main window builds hidden views
  a step at a time in idle time after the first frame (so start-up does not wait for them, and no step blocks
  the GUI for long), or all at once when the view is shown or receives a result first;
- draws a result (`show_result`, GUI thread, must be quick) and says when no theory is available instead of
  inventing numbers;
- exports everything it plots (`export_data` → {name: array}) and the plot items for PNG/SVG (`export_items`);
- follows the theme (`apply_theme`) and presentation mode (`set_presentation`).

View-specific settings that the shared controls dock does not cover are kept in
`state.view_settings[key]` through `self.host.update_view_settings(key, **values)`, so they are saved in
sessions and presets; `default_settings()` supplies their initial values. A view's own controls (sliders for
the field view, play/pause for training) come from `view_controls()` and are shown in the dock while the
view is active.
"""
from __future__ import annotations

from typing import Any, Callable, ClassVar, Iterator, Protocol

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6 import QtCore, QtWidgets

from .. import plotting
from ..state import AppState
from ..themes import Theme, load_theme
from .room import RoomHolder
from .widgets import Canvas, Note

Job = Callable[[], Iterator[Any]]


class ViewHost(Protocol):
    """What a view may ask of the main window."""

    def current_state(self) -> AppState: ...
    def update_view_settings(self, key: str, **values) -> None: ...
    def update_state(self, **values) -> None: ...
    def request_compute(self, key: str) -> None: ...
    def show_message(self, text: str, error: bool = False) -> None: ...


class ViewBase(QtWidgets.QWidget):
    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    # AppState fields whose change triggers a recompute of this view ("view_settings" = its own dict).
    needs: ClassVar[frozenset] = frozenset()
    # True for views that keep running (training): the job ends only when paused or cancelled.
    continuous: ClassVar[bool] = False
    # One sentence shown in the banner while the view is on screen (a preset's banner belongs to its view).
    caption: ClassVar[str] = ""

    def __init__(self, host: ViewHost, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.host = host
        self.theme: Theme = load_theme(host.current_state().theme)
        self.presentation = False
        self._scale = plotting.PRESENTATION_SCALE   # fonts, lines and symbols in presentation mode
        self.last_result: Any | None = None   # the newest result drawn (a jobs.*Result)
        self.last_request_id = -1
        self._plots: list[pg.PlotItem] = []
        self._legend_entries: dict[int, dict] = {}   # id(plot) → id(curve) → its legend entry (_relayout_legend)
        self._notes: list[pg.TextItem] = []
        self.layout_ = QtWidgets.QVBoxLayout(self)
        self.layout_.setContentsMargins(4, 4, 4, 4)
        self.built = False
        self._complete = False   # plots exist (the last build steps may still be pending)
        self._cells: dict[pg.PlotItem, pg.GraphicsLayout] = {}
        self._note_of: dict[pg.PlotItem, "Note"] = {}
        self._ranges: dict[str, tuple[float, float]] = {}   # axis ranges set by steady_axis
        self._builder: Iterator[None] | None = None
        self._canvases: list[Canvas] = []
        self._room = RoomHolder(self)   # legends and notes keep their room while results stream in (room.py)
        # Called after the view's canvas painted a frame (the main window times results with it).
        self.frame_painted: Callable[[], None] = lambda: None

    def ensure_built(self) -> None:
        """Create the plots now if they do not exist yet, in the current theme and presentation mode."""
        while self.build_step():
            pass

    def build_step(self) -> bool:
        """Advance the build by one step (about one plot); False once the view is complete."""
        if self.built:
            return False
        if self._builder is None:
            self._builder = self._build_steps()
        try:
            next(self._builder)
            return True
        except StopIteration:
            return False

    def _build_steps(self) -> Iterator[None]:
        yield from self.build() or ()
        yield
        self._complete = True
        self.set_presentation(self.presentation)   # also applies the theme
        yield
        # Markers and ranges follow the state before the first frame is painted (they used to wait for the
        # next state change: `built` was set before this step ran, which ended the build early).
        self.state_changed(self.host.current_state(), set())
        self.built = True

    def showEvent(self, event) -> None:  # noqa: N802 — Qt override
        self.ensure_built()
        super().showEvent(event)

    def add_canvas(self) -> pg.GraphicsLayoutWidget:
        """The view's plot area, below anything already in its vertical layout."""
        canvas = Canvas(lambda: self.frame_painted())
        self.layout_.addWidget(canvas, 1)
        self._canvases.append(canvas)
        return canvas

    # ---- to implement ------------------------------------------------------------------------------------
    @classmethod
    def default_settings(cls) -> dict:
        return {}

    def build(self) -> Iterator[None]:
        """Create the view's widgets and plot items, yielding after each plot (driven by `build_step`)."""
        raise NotImplementedError

    def make_job(self, state: AppState) -> Job:
        """Typically `results = jobs.<view>.run(state); return lambda: results`: `run` reads the settings now, in
        the GUI thread (a bad one raises SpecError here, reported by the scheduler); its generator computes
        only when the worker iterates it."""
        raise NotImplementedError

    def show_result(self, result: Any) -> None:
        raise NotImplementedError

    def export_data(self) -> dict[str, np.ndarray]:
        """Every plotted array by a readable name (written as CSV columns and NPZ entries)."""
        return {}

    def view_controls(self) -> QtWidgets.QWidget | None:
        return None

    def controls_needed(self, state: AppState) -> set[str]:
        """The shared settings the dock shows for this view: those that change what it draws."""
        return set(self.needs)

    def finite_check(self) -> dict:
        """For the self-test: {'ok': bool, ...} — ok when every plotted array holds finite numbers."""
        data = self.export_data()
        bad = [k for k, v in data.items() if np.asarray(v).size and not np.all(np.isfinite(
            np.asarray(v, dtype=float)[~np.isnan(np.asarray(v, dtype=float))]))]
        ok = bool(data) and not bad and self.last_result is not None
        return {"ok": ok, "arrays": len(data), "nonfinite": bad}

    # ---- provided ------------------------------------------------------------------------------------------
    def settings(self) -> dict:
        merged = dict(self.default_settings())
        merged.update(self.host.current_state().view_settings.get(self.key, {}))
        return merged

    def job_finished(self, request_id: int) -> None:
        """The request's generator ended; its last result is on screen."""

    def deactivated(self) -> None:
        """The view was hidden or the app is closing: stop anything continuous."""

    def toggle_pause(self) -> bool:
        """Space bar. Returns True if the view handled it (only continuous views do)."""
        return False

    def state_changed(self, state: AppState, changed: set[str]) -> None:
        """Called after any state change (the view's own controls may need to follow, e.g. a preset)."""

    def receive(self, request_id: int, result: Any) -> None:
        self.ensure_built()
        self.last_request_id = request_id
        self.last_result = result
        self.show_result(result)
        self.sync_legends()
        for canvas in self._canvases:
            canvas.equal_columns()   # columns added by late build steps get their share too
        self._room.hold(self._cells.values())

    def release_room(self) -> None:
        """Give back the room held under the plots for earlier results (a new preset, session or mode)."""
        self._room.release()

    def export_items(self) -> list[tuple[str, pg.PlotItem]]:
        """(name, plot item) pairs of the view's plots."""
        return [(p.titleLabel.text or f"plot{i}", p) for i, p in enumerate(self._plots)]

    def add_plot(self, layout: pg.GraphicsLayoutWidget, row: int, col: int, title: str, xlabel: str,
                 ylabel: str, legend_offset=None, colspan: int = 1, rowspan: int = 1, **kw) -> pg.PlotItem:
        """A plot in its own cell of `layout`, with its legend and its notes *below* it: neither can cover
        data (`legend_offset` is accepted for old callers and ignored)."""
        cell = layout.addLayout(row=row, col=col, colspan=colspan, rowspan=rowspan)
        cell.setContentsMargins(0, 0, 0, 0)
        cell.setSpacing(0)
        cell.layout.setRowStretchFactor(0, 1)   # room beyond what legend and note need goes to the data
        # No context menus on stage: enableMenu=False also skips building them (a third of start-up per plot).
        plot = cell.addPlot(row=0, col=0, title=title, enableMenu=False,
                            viewBox=plotting.SteadyViewBox(enableMenu=False), **kw)
        plot.setLabel("bottom", xlabel)
        plot.setLabel("left", ylabel)
        for side in ("left", "bottom"):
            plot.getAxis(side).enableAutoSIPrefix(False)
            # Axes grow to fit their labels but never shrink: a new range does not re-layout the whole canvas.
            # Major ticks only: the grid is drawn by the axes, and its minor lines made a re-ranged axis ~6×
            # slower to redraw (5 ms against 1 ms each; the GUI's longest stretches were such frames).
            plot.getAxis(side).setStyle(autoReduceTextSpace=False, maxTickLevel=0)
        for side in ("left", "bottom", "right", "top"):
            # Axes (ticks, labels and grid) are the costliest part of a frame; cached as pixmaps they are
            # redrawn only when their range changes, not at every refinement of the data.
            plot.getAxis(side).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setMenuEnabled(False)
        legend = plotting.Legend(labelTextSize=f"{plotting.LEGEND_PT}pt", colCount=4, horSpacing=14)
        legend.setBrush(None)
        legend.setPen(None)
        legend.layout.setContentsMargins(6, 2, 6, 2)   # no frame to keep clear of: the 9 px default took data rows
        cell.addItem(legend, row=1, col=0)
        plot.legend = legend   # PlotItem.addItem(name=…) fills it
        plotting.collapse(legend, True)
        plot.getViewBox().sigResized.connect(lambda *_, p=plot: self._fit_below(p, resized=True))
        self._cells[plot] = cell
        cell.colspan = colspan
        self._plots.append(plot)
        return plot

    @staticmethod
    def log_axis(plot: pg.PlotItem, side: str) -> None:
        """Label a log-mode axis at 1, 2, 5 × 10^k for whatever range it shows (plotting.log_ticks)."""
        axis, vb = plot.getAxis(side), plot.getViewBox()
        index = 0 if side in ("bottom", "top") else 1

        def retick(*_) -> None:
            lo, hi = vb.viewRange()[index]
            length = vb.width() if index == 0 else vb.height()
            per_label = (5.0 if index == 0 else 2.2) * axis.style["tickFont"].pointSizeF() \
                if axis.style.get("tickFont") is not None else 25.0
            axis.setTicks(plotting.log_ticks(10.0 ** lo, 10.0 ** hi, max(2, int(length // per_label))))

        vb.sigRangeChanged.connect(retick)
        vb.sigResized.connect(retick)
        retick()

    def show_image(self, plot: pg.PlotItem, img: pg.ImageItem, bar: pg.ColorBarItem, data, x0: float,
                   x1: float, y0: float | None = None, y1: float | None = None) -> None:
        """An image over [x0, x1] × [y0, y1] with its colour bar (about five ticks); the plot shows exactly that
        square, whatever the panel's shape (no aspect lock that would crop one axis)."""
        y0, y1 = (x0, x1) if y0 is None else (y0, y1)
        lo, hi = plotting.finite_levels(data)
        img.setImage(plotting.finite(data), levels=(lo, hi), lut=plotting.colormap_lut(self.theme["colormap"]),
                     autoLevels=False)
        img.setRect(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
        bar.setColorMap(pg.colormap.get(self.theme["colormap"]))
        bar.setLevels((lo, hi))
        bar.axis.setTicks(plotting.nice_ticks(lo, hi, 5))
        plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)

    def add_note(self, plot: pg.PlotItem, text: str = "", corner: str = "", width: float = 1.0) -> "Note":
        """A text line (or a few) under the plot and its legend, for 'theory not available' and values: never
        over the data. One note per plot (a second call returns the same one); `corner` and `width` are
        accepted for old callers and ignored."""
        if plot in self._note_of:
            return self._note_of[plot]
        note = Note()
        self._cells[plot].addItem(note, row=2, col=0)
        note.setText(text)
        self._note_of[plot] = note
        self._notes.append(note)
        return note

    def _fit_below(self, plot: pg.PlotItem, resized: bool = False) -> None:
        """Wrap the plot's note and lay out its legend's entries in as many columns as the plot's share of the
        canvas holds. The share, not the plot's current width: a legend laid out wide keeps its column wide
        (its minimum width), which would keep the legend wide — and the canvas wider than the window.
        `resized`: the plot's size changed (not its content); room held under it for a narrower layout (say,
        a legend in one column before the window reached its size) is then re-based on the new layout."""
        width = max(60.0, min(plot.width(), self._share_of_canvas(plot)) - 12)
        note = self._note_of.get(plot)
        relaid = note is not None and note.set_wrap(width)
        legend = plot.legend
        if legend is not None and legend.items:
            gap = legend.layout.horizontalSpacing()   # between a sample and its label, and between entries
            cols = plotting.legend_columns([s.boundingRect().width() + lab.itemRect().width() + 2 * gap + 4
                                            for s, lab in legend.items], width - 12 + gap)   # 12: margins
            relaid = relaid or cols != legend.columnCount
            legend.setColumnCount(cols)
        if resized and relaid and self._room.holding:
            self._room.rebase(self._cells[plot])

    def _share_of_canvas(self, plot: pg.PlotItem) -> float:
        views = plot.scene().views() if plot.scene() is not None else []
        if not views or not shiboken6.isValid(views[0].ci.layout):   # torn down at exit
            return plot.width()
        columns = max(1, views[0].ci.layout.columnCount())
        return views[0].viewport().width() * getattr(self._cells[plot], "colspan", 1) / columns

    def _style_legend(self, plot: pg.PlotItem) -> None:
        """The theme's text colour and the mode's size on every entry (pyqtgraph keeps a label's first colour)."""
        size = f"{plotting.LEGEND_PT * self.scale():g}pt"
        color = self.theme["plot_foreground"]
        plot.legend.setLabelTextColor(color)
        plot.legend.setLabelTextSize(size)
        for _, label in plot.legend.items:
            label.setText(label.text, color=color, size=size)
        plot.legend.updateSize()

    def sync_legends(self) -> None:
        """Each legend lists exactly the named curves that are drawn (a curve without data has no entry)."""
        for plot in self._plots:
            legend = plot.legend
            if legend is None:
                continue
            want = [(item, item.name()) for item in plot.listDataItems()
                    if item.name() and plotting.drawn(item)]
            have = [(sample.item, label.text) for sample, label in legend.items]
            if want != have:
                if [item for item, _ in want] == [item for item, _ in have]:
                    for (_, name), (_, label) in zip(want, legend.items):
                        if label.text != name:
                            label.setText(name)   # keeps its colour and size
                else:
                    self._relayout_legend(plot, want)
                legend.columnCount = -1   # forces the re-layout in _fit_below
                self._fit_below(plot)
            plotting.collapse(legend, not want)

    def _relayout_legend(self, plot: pg.PlotItem, want: list) -> None:
        """Lay the legend out with exactly `want`'s entries, in order. Entries are made once per curve and kept
        (hidden) while their curve is not drawn: a slider move blanks and redraws the exact density, and
        building new label items each time cost ~10 ms of the GUI thread per result."""
        legend = plot.legend
        kept = self._legend_entries.setdefault(id(plot), {})
        for sample, label in legend.items:
            kept[id(sample.item)] = (sample, label)
        for i in range(legend.layout.count() - 1, -1, -1):
            legend.layout.removeAt(i)
        for sample, label in kept.values():
            sample.setVisible(False)
            label.setVisible(False)
        legend.items, legend.rowCount = [], 1
        color, size = legend.opts["labelTextColor"], legend.opts["labelTextSize"]
        made = False
        for item, name in want:
            entry = kept.get(id(item))
            if entry is None or entry[0].item is not item:
                legend.addItem(item, name)
                kept[id(item)] = legend.items[-1]
                made = True
                continue
            sample, label = entry
            if (label.text, label.opts.get("color"), label.opts.get("size")) != (name, color, size):
                label.setText(name, color=color, size=size)   # the theme or mode may have changed meanwhile
            sample.setVisible(True)
            label.setVisible(True)
            legend.items.append(entry)
            legend._addItemToLayout(sample, label)
        if made:
            self._style_legend(plot)   # the theme's colour and the mode's size (also updates the size)
        else:
            legend.updateSize()

    def steady_axis(self, name: str, plot: pg.PlotItem, axis: str, lo: float, hi: float, **kw) -> None:
        """Set an axis range only when the data have left it or shrunk well inside it (plotting.steady_range):
        slider moves and refinements then rarely redraw the (cached) axes."""
        new = plotting.steady_range(self._ranges.get(name), lo, hi, **kw)
        if new is not None:
            self._ranges[name] = new
            (plot.setXRange if axis == "x" else plot.setYRange)(*new, padding=0.02)

    def scale(self) -> float:
        """Presentation mode enlarges fonts, line widths and symbols by one common factor."""
        return self._scale if self.presentation else 1.0

    def line_width(self) -> float:
        return plotting.LINE_WIDTH * self.scale()

    def symbol_size(self, base: float = 9.0) -> float:
        return base * self.scale()

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        for w in self.findChildren(pg.GraphicsLayoutWidget):
            w.setBackground(theme["plot_background"])
        fg = theme["plot_foreground"]
        k = self.scale()
        for plot in self._plots:
            for side in ("left", "bottom", "right", "top"):
                ax = plot.getAxis(side)
                ax.setPen(fg)
                ax.setTextPen(fg)
                ax.label.setDefaultTextColor(pg.mkColor(fg))
            plot.titleLabel.setText(plot.titleLabel.text, color=fg, size=f"{plotting.TITLE_PT * k:g}pt")
            plot.showGrid(x=True, y=True, alpha=theme["grid_alpha"])
            if plot.legend is not None:
                self._style_legend(plot)
        for bar in self.colorbars():
            bar.axis.setPen(fg)
            bar.axis.setTextPen(fg)
        for note in self._notes:
            note.setColor(fg)
        if self.last_result is not None:
            self.show_result(self.last_result)
            self.sync_legends()

    def colorbars(self) -> list[pg.ColorBarItem]:
        """The colour bars inserted into the view's plots (ColorBarItem(insert_in=plot))."""
        return [item for plot in self._plots for i in range(plot.layout.count())
                if isinstance(item := plot.layout.itemAt(i), pg.ColorBarItem)]

    def set_presentation(self, on: bool, scale: float | None = None) -> None:
        self.presentation = on
        if scale is not None:
            self._scale = scale
        k = self.scale()
        font = QtWidgets.QApplication.font()
        font.setPointSizeF(plotting.TICK_PT * k)
        for plot in self._plots:
            for side in ("left", "bottom"):
                plot.getAxis(side).setStyle(tickFont=font)
                plot.getAxis(side).label.setFont(font)
            for item in plot.items:
                if isinstance(item, pg.InfiniteLine) and getattr(item, "label", None) is not None:
                    item.label.setFont(font)
        for bar in self.colorbars():
            bar.axis.setStyle(tickFont=font)
        for note in self._notes:
            note.set_size(plotting.NOTE_PT * k)
        self.apply_theme(self.theme)
        for plot in self._plots:
            self._fit_below(plot)
