"""The main window: a shell holding the views' tabs, the controls dock, menus and the status bar, and the one
state object. Scheduling: scheduler.py; status bar: status_bar.py; sessions: session_actions.py; menus:
menus.py; self-test timings: frame_timing.py; idle building after the first frame: startup.py."""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from nnqft_engine import SpecError

from . import APP_NAME
from . import plotting  # noqa: F401 — pyqtgraph options before any plot exists
from .compute import ComputeController
from .controls import ControlsPanel
from .device_manager import DeviceManager
from .frame_timing import FrameTiming
from .menus import SHORTCUTS, build_menus, fill_presets_menu
from .migrate import migrate_state
from .presentation import CAPTION_KEYS, PresentationKeys, banner_html, enter, fit_dock, leave
from .resources import icon_path
from .scheduler import Scheduler
from .session import Preset, load_presets
from .session_actions import SessionActions
from .startup import IdleBuilder
from .state import AppState, max_width_for_depth
from .status_bar import StatusBar
from .themes import apply_qt_theme, load_theme
from .views.base import ViewBase
from .views.correlators_view import CorrelatorsView
from .views.depth_view import DepthView
from .views.field_view import FieldView
from .views.kernels_view import KernelsView
from .views.outputs_view import OutputsView
from .views.training_view import TrainingView

__all__ = ["APP_NAME", "SHORTCUTS", "MainWindow"]
VIEW_CLASSES: list[type[ViewBase]] = [OutputsView, CorrelatorsView, TrainingView, KernelsView, FieldView,
                                      DepthView]


class MainWindow(QtWidgets.QMainWindow):
    result_painted = QtCore.Signal(str, int)   # (view key, request id) after a result was drawn

    def __init__(self, state: AppState | None = None, *, threaded: bool = True,
                 devices: DeviceManager | None = None, settings: QtCore.QSettings | None = None,
                 freeze_heap: bool = False):
        super().__init__()
        self.state = migrate_state(state or AppState())
        # The view a preset's (or session's) title and caption belong to: other views show their own caption.
        self.title_view = self.state.view if self.state.title else ""
        self.caption_state = self.state   # the settings the title's caption was written for (changed_since_caption)
        self.preset_index = -1
        self.presentation = False
        self.presentation_scale = 1.5
        self._normal_layout: tuple | None = None
        self.setWindowTitle(APP_NAME)
        if icon_path().exists():
            self.setWindowIcon(QtGui.QIcon(str(icon_path())))
        self.status = StatusBar(self.statusBar())
        self.errors = self.status.errors
        self.timing = FrameTiming()
        self.compute = ComputeController(self, threaded=threaded)
        self.scheduler = Scheduler(self, self.compute, devices or DeviceManager(), self.timing, self.status)
        self._build_ui()
        # Hidden views are built a step (about one plot) at a time once the first frame is on screen; the
        # launcher also freezes the start-up heap then (startup.settle_heap).
        self.idle_builder = IdleBuilder(self, self.views.values(), freeze_heap)
        recent_menu, self.presets_menu = build_menus(self)
        self.sessions = SessionActions(self, settings or QtCore.QSettings("nnqft", "nnqft-explorer"), recent_menu)
        preset_errors: list[str] = []
        self.presets = load_presets(preset_errors)   # a bad preset is skipped with a message, never fatal
        self.keys = PresentationKeys(self)
        fill_presets_menu(self.presets_menu, self.presets, self.apply_preset)
        self._sync_all()
        for message in preset_errors:
            self.show_message(message, error=True)
        # A real screen smaller than the default (a 1280×720 projector) gets a window that fits it; the
        # offscreen platform's fake 800×600 screen does not shrink the window the self-test and tests draw.
        avail = self.screen().availableGeometry() if self.screen() is not None else None
        if avail is None or QtGui.QGuiApplication.platformName() == "offscreen":
            self.resize(1500, 950)
        else:
            self.resize(min(1500, avail.width()), min(950, avail.height()))

    # ---- what tests and the self-test read -------------------------------------------------------------------
    @property
    def devices(self) -> DeviceManager:
        return self.scheduler.devices

    @property
    def device_label(self) -> str:
        return self.scheduler.device_label

    @property
    def painted_at(self) -> dict[int, float]:
        return self.timing.painted_at

    @property
    def gui_work_ms(self):
        return self.timing.gui_work_ms

    # ---- UI ------------------------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        lay.setContentsMargins(6, 6, 6, 0)
        self.banner = QtWidgets.QLabel()
        self.banner.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.banner.setWordWrap(True)
        lay.addWidget(self.banner)
        # A view whose settings cannot be computed (refused by costing, or its job failed) says so here; its
        # plots keep the last valid settings. Plain text: reasons may quote file contents.
        self.refusal = QtWidgets.QLabel()
        self.refusal.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.refusal.setWordWrap(True)
        self.refusal.setObjectName("refusal_note")
        self.refusal.hide()
        self._refusals: dict[str, str] = {}
        lay.addWidget(self.refusal)
        self.tabs = QtWidgets.QTabWidget()
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.views: dict[str, ViewBase] = {}
        for cls in VIEW_CLASSES:
            try:
                view = cls(self)
            except Exception as exc:  # noqa: BLE001
                self.errors.append(f"view {cls.__name__} failed to start: {exc}")
                continue
            self.views[view.key] = view
            # A result's first painted frame is timed; the first of all starts building the hidden views.
            view.frame_painted = lambda k=view.key: self.timing.painted(k) and self.idle_builder.first_frame()
            self.tabs.addTab(view, f"{len(self.views)}  {view.title}")
        self.tabs.currentChanged.connect(self._tab_changed)

        self.controls = ControlsPanel()
        self.controls.changed.connect(lambda d: self.update_state(**d))
        self.controls.same_draw.connect(self.same_draw)
        self.controls.new_draw.connect(self.new_draw)
        self.view_controls = QtWidgets.QStackedWidget()
        self._view_control_index: dict[str, int] = {}
        for key, view in self.views.items():
            w = view.view_controls() or QtWidgets.QWidget()
            self._view_control_index[key] = self.view_controls.addWidget(w)
        dock_body = QtWidgets.QWidget()
        dl = QtWidgets.QVBoxLayout(dock_body)
        dl.setContentsMargins(8, 6, 8, 6)
        dl.addWidget(self.controls)
        dl.addWidget(self.view_controls)
        dl.addStretch(1)
        scroll = self.dock_scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(dock_body)
        self.dock_body = dock_body
        self.dock = QtWidgets.QDockWidget("Controls", self)
        self.dock.setObjectName("controls")
        self.dock.setWidget(scroll)
        self.dock.setMinimumWidth(380)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)

    # ---- state ---------------------------------------------------------------------------------------------
    def current_state(self) -> AppState:
        return self.state

    def update_state(self, **values) -> bool:
        """Validate and apply a change; views that depend on it recompute. False (+ message) if invalid."""
        with self.timing.gui_work():
            return self._update_state(values)

    def _update_state(self, values: dict) -> bool:
        try:
            new = AppState.from_dict(values, base=self.state)
        except SpecError as exc:
            self.show_message(str(exc), error=True)
            self.controls.set_state(self.state)
            return False
        self._set_state(new, {k for k in values if getattr(self.state, k) != getattr(new, k)})
        return True

    def update_view_settings(self, key: str, **values) -> None:
        vs = dict(self.state.view_settings)
        vs[key] = {**vs.get(key, {}), **values}
        self.update_state(view_settings=vs)

    def _set_state(self, new: AppState, changed: set[str]) -> None:
        self.state = new
        if not changed:
            return
        if changed & {"width", "depth"} and new.width != new.effective_width:
            self.show_message(f"width capped at {max_width_for_depth(new.depth):,} at depth {new.depth} "
                              "(deep layers cost N² per network)")
        if "theme" in changed:
            self._apply_theme()
        if changed & {"title", "caption"}:
            self.caption_state = new
        if changed & ({"title", "caption"} | set(CAPTION_KEYS)):
            self._update_banner()
        self.controls.set_state(new)
        self._relevant_controls()
        for view in self.views.values():
            view.state_changed(new, changed)
            release = getattr(getattr(view, "job", None), "release_if_moved", None)
            if release is not None and changed & view.needs:
                release(new)   # a kept run of settings that moved on holds no memory
            if changed & view.needs:
                self.scheduler.dirty.add(view.key)
        if "view" in changed:
            self.show_view(new.view)
        self.scheduler.request_current()

    def _sync_all(self) -> None:
        self._apply_theme()
        self._update_banner()
        self.controls.set_state(self.state)
        for view in self.views.values():
            view.state_changed(self.state, set())
        self.scheduler.dirty = set(self.views)
        key = self.state.view if self.state.view in self.views else "outputs"
        self.tabs.setCurrentWidget(self.views[key])
        self._show_view_controls(key)
        self._relevant_controls()
        self.scheduler.request_current()

    def _relevant_controls(self) -> None:
        view = self.current_view()
        if view is not None:
            self.controls.set_relevant(view.controls_needed(self.state))

    def _update_banner(self) -> None:
        """The preset's (or session's) title and caption over the view they belong to; every other view shows
        its own caption (presentation.banner_html)."""
        view = self.current_view() if hasattr(self, "tabs") else None
        self.banner_view = view.key if view is not None else self.state.view
        self.banner.setText(banner_html(self, view))

    def apply_preset(self, preset: Preset) -> bool:
        try:
            new = migrate_state(preset.state(self.state))
        except SpecError as exc:
            self.show_message(f"preset {preset.name}: {exc}", error=True)
            return False
        if preset in self.presets:
            self.preset_index = self.presets.index(preset)
        changed = {k for k in new.to_dict() if getattr(new, k) != getattr(self.state, k)}
        self.title_view = new.view
        self._show_state(new, changed | {"title"})
        return True

    def step_preset(self, step: int) -> None:
        """PageDown / PageUp (a presenter's clicker), → / ←: the next or previous preset in menu order."""
        if not self.presets:
            return
        i = min(max(self.preset_index + step, 0), len(self.presets) - 1)
        if i != self.preset_index or self.preset_index < 0:
            self.apply_preset(self.presets[i])

    def load_state(self, new: AppState) -> None:
        new = migrate_state(new)
        changed = {k for k in new.to_dict() if getattr(new, k) != getattr(self.state, k)}
        self.title_view = new.view if new.title else ""
        self._show_state(new, changed | {"title"})

    def _show_state(self, new: AppState, changed: set[str]) -> None:
        """Switch to the new state's view first, so the first frame painted there shows the new state."""
        self.state = new
        for view in self.views.values():
            view.release_room()   # a preset or session lays the plots out afresh (views/room.py)
        self.show_view(new.view)
        self._set_state(new, changed)
        self._update_banner()

    # ---- views ---------------------------------------------------------------------------------------------
    def current_view(self) -> ViewBase:
        return self.tabs.currentWidget()

    def request_compute(self, key: str) -> None:
        self.scheduler.request_compute(key)

    def show_message(self, text: str, error: bool = False) -> None:
        t = load_theme(self.state.theme)
        self.status.show_message(text, t["theory2"] if error else t["text"], error)

    def show_refusal(self, key: str, reason: str) -> None:
        """Note on view `key` that its settings were not computed (reason), or clear it (reason '')."""
        if reason:
            title = self.views[key].title if key in self.views else key
            self._refusals[key] = f"{title}: {reason}. The plots show the last valid settings."
            self.show_message(f"{title}: {reason}", error=True)
        else:
            self._refusals.pop(key, None)
        self._update_refusal()

    def refusal_note(self, key: str) -> str:
        return self._refusals.get(key, "")

    def _update_refusal(self) -> None:
        view = self.current_view()
        text = self._refusals.get(view.key, "") if view is not None else ""
        if text:
            t = load_theme(self.state.theme)
            self.refusal.setStyleSheet(f"color: {t['theory2']}; font-weight: 600; padding: 2px;")
            self.refusal.setText("⚠ " + text)
        self.refusal.setVisible(bool(text))

    def show_view(self, key: str) -> None:
        if key in self.views and self.current_view() is not self.views[key]:
            self.tabs.setCurrentWidget(self.views[key])

    def _tab_changed(self, _index: int) -> None:
        view = self.current_view()
        if view is None:
            return
        self._show_view_controls(view.key)
        self._update_refusal()
        if self.state.view != view.key:
            self.state.view = view.key
        self._relevant_controls()
        self._update_banner()
        if self.presentation:
            fit_dock(self)
        for other in self.views.values():
            if other is not view:
                other.deactivated()
        self.scheduler.view_shown(view)

    def _show_view_controls(self, key: str) -> None:
        self.view_controls.setCurrentIndex(self._view_control_index[key])
        # A stacked widget is as tall as its tallest page: only the page on screen may claim room.
        policy = QtWidgets.QSizePolicy.Policy
        for i in range(self.view_controls.count()):
            page = self.view_controls.widget(i)
            on = i == self.view_controls.currentIndex()
            page.setSizePolicy(policy.Preferred if on else policy.Ignored, policy.Preferred if on else policy.Ignored)
            page.adjustSize()
        self.view_controls.updateGeometry()

    # ---- actions -------------------------------------------------------------------------------------------
    def same_draw(self) -> None:
        self.request_compute(self.current_view().key)

    def new_draw(self) -> None:
        self.update_state(seed=self.state.seed + 1)

    def toggle_pause(self) -> None:
        self.scheduler.toggle_pause()

    def toggle_controls(self) -> None:
        self.dock.setVisible(not self.dock.isVisible())

    def toggle_theme(self) -> None:
        self.update_state(theme="light" if self.state.theme == "dark" else "dark")

    def toggle_presentation(self) -> None:
        self.set_presentation(not self.presentation)

    def set_presentation(self, on: bool, size: tuple[int, int] | None = None) -> None:
        """Full screen (or `size`, for the self-test and tests), fonts, lines and symbols enlarged together, the
        dock sized so every control shows without scrolling. Leaving restores the window, dock and fonts
        exactly (presentation.enter / leave)."""
        if on != self.presentation:
            for view in self.views.values():
                view.release_room()   # new font sizes: notes and legends need other heights
            (enter if on else leave)(self, size)
            self._update_banner()

    def _apply_theme(self) -> None:
        theme = load_theme(self.state.theme)
        app = QtWidgets.QApplication.instance()
        if app is not None:
            apply_qt_theme(app, theme, font_scale=self.presentation_scale if self.presentation else 1.0)
        for view in self.views.values():
            view.apply_theme(theme)
        self._update_banner()
        if self.presentation:
            fit_dock(self)

    # ---- sessions --------------------------------------------------------------------------------------------
    def save_session(self, path: str | Path) -> None:
        self.sessions.save(path)

    def open_session(self, path: str | Path) -> bool:
        return self.sessions.open(path)

    def recent_sessions(self) -> list[str]:
        return self.sessions.recent_sessions()

    # ---- lifetime ----------------------------------------------------------------------------------------
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 — Qt override
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> bool:
        self.keys.remove()
        self.idle_builder.stop()
        for view in self.views.values():
            view.deactivated()
        return self.compute.shutdown(0.9)
