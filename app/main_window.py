"""The main window: state object ↔ controls, views, compute controller, status bar, menus and shortcuts."""
from __future__ import annotations

import collections
import gc
import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from nnqft_engine import SpecError

from . import plotting  # noqa: F401 — pyqtgraph options before any plot exists
from .compute import ComputeController
from .controls import ControlsPanel
from .device_manager import DeviceManager
from .export import export_view
from .resources import icon_path
from .session import Preset, load_presets, load_session, save_session
from .state import AppState, max_width_for_depth
from .themes import apply_qt_theme, load_theme
from .views.base import ViewBase
from .views.correlators_view import CorrelatorsView
from .views.kernels_view import KernelsView
from .views.outputs_view import OutputsView
from .views.training_view import TrainingView

APP_NAME = "NN-QFT Explorer"
RECENT_KEY = "recent_sessions"
STATUS_INTERVAL_S = 0.25
SHORTCUTS = [
    ("Space", "pause / resume (training plays and pauses)"), ("N", "new draw (seed + 1)"),
    ("F", "presentation mode: full screen, large fonts, thick lines"), ("H", "hide / show the controls"),
    ("1 – 5", "switch view"), ("Ctrl+S", "save session"), ("Ctrl+O", "open session"),
    ("Ctrl+E", "export the current view (PNG, SVG, CSV, NPZ)"), ("Ctrl+T", "light / dark theme"),
    ("F1", "this help"),
]


def _view_classes() -> list[type[ViewBase]]:
    classes: list[type[ViewBase]] = [OutputsView, CorrelatorsView, TrainingView, KernelsView]
    try:  # written by the field engineer; optional until it lands
        from .views.field_view import FieldView
        classes.append(FieldView)
    except Exception:  # noqa: BLE001 — a broken optional view must not stop the app
        pass
    return classes


class MainWindow(QtWidgets.QMainWindow):
    result_painted = QtCore.Signal(str, int)   # (view key, request id) after a result was drawn

    def __init__(self, state: AppState | None = None, *, threaded: bool = True,
                 devices: DeviceManager | None = None, settings: QtCore.QSettings | None = None,
                 freeze_heap: bool = False):
        super().__init__()
        # The launcher freezes the start-up heap after the first frame: the cyclic garbage collector then
        # ignores torch's, Qt's and pyqtgraph's hundreds of thousands of objects, and its full collections
        # (~0.1 s here, at random moments) stop freezing the GUI.
        self._freeze_heap = freeze_heap
        # Hidden views are built a step (about one plot) at a time once the first frame is on screen.
        self._prebuild = QtCore.QTimer(self)
        self._prebuild.setInterval(40)
        self._prebuild.timeout.connect(self._prebuild_step)
        self._prebuild_done = False
        self.state = state or AppState()
        self.devices = devices or DeviceManager()
        self.qsettings = settings or QtCore.QSettings("nnqft", "nnqft-explorer")
        self.paused = False
        self.presentation = False
        self.errors: list[str] = []
        self.device_label = ""
        self.dirty: set[str] = set()
        self.request_started: dict[int, float] = {}
        self.painted_at: dict[int, float] = {}
        self._unpainted: dict[str, int] = {}
        self._status_at = 0.0
        self._last_progress: tuple[int, dict] | None = None   # view key → id of a result drawn but not yet on screen
        self._submit_time = time.perf_counter()
        self._running: str | None = None   # key of the view whose request is computing
        self.gui_work_ms: collections.deque = collections.deque(maxlen=2000)   # GUI-thread time per event
        self.setWindowTitle(APP_NAME)
        if icon_path().exists():
            self.setWindowIcon(QtGui.QIcon(str(icon_path())))
        self.compute = ComputeController(self, threaded=threaded)
        self.compute.result.connect(self._on_result)
        self.compute.finished.connect(self._on_finished)
        self.compute.failed.connect(self._on_failed)
        self._build_ui()
        self._build_menus()
        self.presets = load_presets()
        self._fill_presets_menu()
        self._sync_all()
        self.resize(1500, 950)

    # ---- UI ------------------------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        lay.setContentsMargins(6, 6, 6, 0)
        self.banner = QtWidgets.QLabel()
        self.banner.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.banner.setWordWrap(True)
        lay.addWidget(self.banner)
        self.tabs = QtWidgets.QTabWidget()
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.views: dict[str, ViewBase] = {}
        for cls in _view_classes():
            try:
                view = cls(self)
            except Exception as exc:  # noqa: BLE001
                self.errors.append(f"view {cls.__name__} failed to start: {exc}")
                continue
            self.views[view.key] = view
            view.frame_painted = lambda k=view.key: self._frame_painted(k)
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
        dl.addWidget(self.controls)
        dl.addWidget(self.view_controls)
        dl.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(dock_body)
        self.dock = QtWidgets.QDockWidget("Controls", self)
        self.dock.setObjectName("controls")
        self.dock.setWidget(scroll)
        self.dock.setMinimumWidth(380)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)

        sb = self.statusBar()
        self.status_device = QtWidgets.QLabel()
        self.status_progress = QtWidgets.QLabel()
        self.status_rate = QtWidgets.QLabel()
        self.status_message = QtWidgets.QLabel()
        sb.addWidget(self.status_message, 1)
        for w in (self.status_progress, self.status_rate, self.status_device):
            sb.addPermanentWidget(w)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        self._action(file_menu, "&Open session…", "Ctrl+O", self.open_session_dialog)
        self._action(file_menu, "&Save session…", "Ctrl+S", self.save_session_dialog)
        self.recent_menu = file_menu.addMenu("Recent sessions")
        self._action(file_menu, "&Export view…", "Ctrl+E", self.export_dialog)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", "Ctrl+Q", self.close)
        self.presets_menu = mb.addMenu("&Presets")
        view_menu = mb.addMenu("&View")
        for i, key in enumerate(self.views):
            self._action(view_menu, self.views[key].title, str(i + 1), lambda k=key: self.show_view(k))
        view_menu.addSeparator()
        self._action(view_menu, "Presentation mode", "F", self.toggle_presentation)
        self._action(view_menu, "Hide / show controls", "H", self.toggle_controls)
        self._action(view_menu, "Light / dark theme", "Ctrl+T", self.toggle_theme)
        self._action(view_menu, "Pause / resume", "Space", self.toggle_pause)
        self._action(view_menu, "New draw", "N", self.new_draw)
        help_menu = mb.addMenu("&Help")
        self._action(help_menu, "Keyboard shortcuts", "F1", self.show_help)
        self._refresh_recent()

    def _action(self, menu, text, shortcut, slot) -> QtGui.QAction:
        act = QtGui.QAction(text, self)
        act.setShortcut(QtGui.QKeySequence(shortcut))
        act.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(lambda *_: slot())
        menu.addAction(act)
        self.addAction(act)
        return act

    def _fill_presets_menu(self) -> None:
        self.presets_menu.clear()
        for p in self.presets:
            act = self.presets_menu.addAction(p.title)
            act.setToolTip(p.caption)
            act.triggered.connect(lambda *_, pr=p: self.apply_preset(pr))

    # ---- state ---------------------------------------------------------------------------------------------
    def current_state(self) -> AppState:
        return self.state

    def update_state(self, **values) -> bool:
        """Validate and apply a change; views that depend on it recompute. False (+ message) if invalid."""
        t0 = time.perf_counter()
        try:
            return self._update_state(values)
        finally:
            self.gui_work_ms.append((time.perf_counter() - t0) * 1000)

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
            self._update_banner()
        self.controls.set_state(new)
        for view in self.views.values():
            view.state_changed(new, changed)
            if changed & view.needs:
                self.dirty.add(view.key)
        if "view" in changed:
            self.show_view(new.view)
        self._request_current()

    def _sync_all(self) -> None:
        self._apply_theme()
        self._update_banner()
        self.controls.set_state(self.state)
        for view in self.views.values():
            view.state_changed(self.state, set())
        self.dirty = set(self.views)
        key = self.state.view if self.state.view in self.views else "outputs"
        self.tabs.setCurrentWidget(self.views[key])
        self.controls.set_relevant(self.views[key].needs)
        self._request_current()

    def _update_banner(self) -> None:
        s = self.state
        t = load_theme(s.theme)
        big = 26 if self.presentation else 18
        small = 18 if self.presentation else 13
        if s.title:
            self.banner.setText(f"<span style='font-size:{big}px; font-weight:600'>{s.title}</span>"
                                f"<span style='font-size:{small}px; color:{t['muted']}'> — {s.caption}</span>")
        else:
            self.banner.setText(f"<span style='font-size:{small}px; color:{t['muted']}'>NN-QFT Explorer — an "
                                "ensemble of random networks against its field theory. Presets: menu Presets. "
                                "Shortcuts: F1.</span>")

    # ---- compute ---------------------------------------------------------------------------------------------
    def current_view(self) -> ViewBase:
        return self.tabs.currentWidget()

    def _request_current(self, force: bool = False) -> None:
        view = self.current_view()
        if view is None or self.paused and not force:
            return
        if view.key not in self.dirty and not force:
            return
        self.dirty.discard(view.key)
        self.request(view)

    def request(self, view: ViewBase) -> int:
        device, self.device_label = self.devices.effective(self.state.device)
        if self.devices.message:
            self.show_message(self.devices.message, error=True)
            self.devices.message = ""
        snapshot = AppState.from_dict({"device": device}, base=self.state)
        try:
            job = view.make_job(snapshot)
        except SpecError as exc:
            self.show_message(str(exc), error=True)
            return -1
        self.status_device.setText(f"  {self.device_label}  ")
        self.status_progress.setText("  computing…  ")
        self.status_rate.setText("")
        self._running = view.key
        self._submit_time = time.perf_counter()   # inline (test) runs deliver results inside submit()
        rid = self.compute.submit(view.key, job)
        self.request_started[rid] = self._submit_time
        return rid

    def request_compute(self, key: str) -> None:
        self.dirty.add(key)
        if self.current_view() is not None and self.current_view().key == key:
            self._request_current(force=True)

    def _on_result(self, key: str, rid: int, result: object) -> None:
        if not self.compute.is_current(key, rid) or key not in self.views:
            return   # a superseded request: its numbers belong to old settings
        t0 = time.perf_counter()
        try:
            self._show(key, rid, result)
        finally:
            self.gui_work_ms.append((time.perf_counter() - t0) * 1000)

    def _show(self, key: str, rid: int, result: dict) -> None:
        view = self.views[key]
        try:
            view.receive(rid, result)
        except Exception as exc:  # noqa: BLE001 — a drawing bug is reported, never fatal
            self.show_message(f"{view.title}: could not draw the result ({type(exc).__name__}: {exc})", error=True)
            return
        now = time.perf_counter()
        if view.isVisible():
            self._unpainted[key] = rid       # painted_at is stamped when the frame is really painted
        else:
            self.painted_at.setdefault(rid, now)
        self._last_progress = (rid, result)
        if now - self._status_at >= STATUS_INTERVAL_S:   # a few Hz: each change repaints the status bar
            self._show_progress(rid, result)
        self.result_painted.emit(key, rid)

    def _show_progress(self, rid: int, result: dict) -> None:
        now = self._status_at = time.perf_counter()
        n, req = result.get("n"), result.get("requested", result.get("total"))
        if "step" in result and "t" in result:
            self.status_progress.setText(f"  step {result['step']:,}, t = {result['t']:.4g}  ")
        elif n is None:
            self.status_progress.setText("  theory: exact  ")
        if n is not None and req:
            started = self.request_started.get(rid, self._submit_time)
            rate = n / max(now - started, 1e-6)
            self.status_progress.setText(f"  networks {n:,} / {req:,}  ")
            self.status_rate.setText(f"  {rate:,.0f} networks/s  ")

    def _frame_painted(self, key: str) -> None:
        rid = self._unpainted.pop(key, None)
        if rid is not None:
            self.painted_at.setdefault(rid, time.perf_counter())
            if not self._prebuild_done and not self._prebuild.isActive():
                self._settle_heap()
                self._prebuild.start()

    def _prebuild_step(self) -> None:
        for view in self.views.values():
            if view.build_step():
                return
        self._prebuild.stop()
        self._prebuild_done = True
        self._settle_heap()

    def _settle_heap(self) -> None:
        if self._freeze_heap:
            gc.collect()
            gc.freeze()

    def _on_finished(self, key: str, rid: int) -> None:
        if self._last_progress is not None and self._last_progress[0] == rid:
            self._show_progress(*self._last_progress)   # the final numbers, whatever the rate limit
        if self.compute.is_current(key, rid) and self._running == key:
            self._running = None
        if self.compute.is_current(key, rid) and key in self.views:
            self.views[key].job_finished(rid)

    def _on_failed(self, key: str, rid: int, message: str, device_failure: bool) -> None:
        if not self.compute.is_current(key, rid):
            return
        if self._running == key:
            self._running = None
        if device_failure:
            dev, _ = self.devices.effective(self.state.device)
            if dev != "cpu":
                self.devices.mark_failed(dev, message)
                self.show_message(self.devices.message, error=True)
                self.devices.message = ""
                if key in self.views:
                    self.request_compute(key)
                return
        self.show_message(f"{self.views[key].title if key in self.views else key}: {message}", error=True)

    def show_message(self, text: str, error: bool = False) -> None:
        if error:
            self.errors.append(text)
        t = load_theme(self.state.theme)
        color = t["theory2"] if error else t["text"]
        self.status_message.setText(f"<span style='color:{color}'>{text}</span>")

    # ---- actions -------------------------------------------------------------------------------------------
    def show_view(self, key: str) -> None:
        if key in self.views and self.current_view() is not self.views[key]:
            self.tabs.setCurrentWidget(self.views[key])

    def _tab_changed(self, _index: int) -> None:
        view = self.current_view()
        if view is None:
            return
        self.view_controls.setCurrentIndex(self._view_control_index[view.key])
        self.controls.set_relevant(view.needs)
        if self.state.view != view.key:
            self.state.view = view.key
        for other in self.views.values():
            if other is not view:
                other.deactivated()
        running = self._running
        if running is not None and running != view.key:
            # Leave no hidden view computing: stop it, and finish it when it is shown again.
            self.compute.cancel()
            self.dirty.add(running)
            self._running = None
        if view.continuous:
            self.dirty.add(view.key)   # resume training where it stood (or a fresh snapshot if paused)
        self._request_current()

    def same_draw(self) -> None:
        self.request_compute(self.current_view().key)

    def new_draw(self) -> None:
        self.update_state(seed=self.state.seed + 1)

    def toggle_pause(self) -> None:
        if self.current_view().toggle_pause():
            return
        self.paused = not self.paused
        if self.paused:
            self.compute.cancel()
            self.dirty.add(self.current_view().key)
            self.show_message("paused — Space resumes")
        else:
            self.show_message("resumed")
            self._request_current()

    def toggle_controls(self) -> None:
        self.dock.setVisible(not self.dock.isVisible())

    def toggle_theme(self) -> None:
        self.update_state(theme="light" if self.state.theme == "dark" else "dark")

    def toggle_presentation(self) -> None:
        self.set_presentation(not self.presentation)

    def set_presentation(self, on: bool) -> None:
        self.presentation = on
        if on:
            self.showFullScreen()
        else:
            self.showNormal()
        self._apply_theme()
        for view in self.views.values():
            view.set_presentation(on)
        self._update_banner()

    def _apply_theme(self) -> None:
        theme = load_theme(self.state.theme)
        app = QtWidgets.QApplication.instance()
        if app is not None:
            apply_qt_theme(app, theme, font_scale=1.5 if self.presentation else 1.0)
        for view in self.views.values():
            view.apply_theme(theme)
        self._update_banner()

    def apply_preset(self, preset: Preset) -> None:
        new = preset.state(self.state)
        changed = {k for k in new.to_dict() if getattr(new, k) != getattr(self.state, k)}
        self._set_state(new, changed | {"title"})
        self.show_view(new.view)

    def load_state(self, new: AppState) -> None:
        changed = {k for k in new.to_dict() if getattr(new, k) != getattr(self.state, k)}
        self._set_state(new, changed)
        self.show_view(new.view)

    # ---- sessions, export, help -----------------------------------------------------------------------------
    def save_session(self, path: str | Path) -> None:
        save_session(path, self.state, self.device_label)
        self._remember(str(path))
        self.show_message(f"session saved to {path}")

    def open_session(self, path: str | Path) -> bool:
        try:
            new = load_session(path)
        except SpecError as exc:
            self.show_message(str(exc), error=True)
            QtWidgets.QMessageBox.warning(self, APP_NAME, str(exc)) if self.isVisible() and \
                not self.property("no_dialogs") else None
            return False
        self.load_state(new)
        self._remember(str(path))
        self.show_message(f"session {Path(path).name} opened")
        return True

    def _remember(self, path: str) -> None:
        recent = [p for p in (self.qsettings.value(RECENT_KEY) or []) if p != path]
        self.qsettings.setValue(RECENT_KEY, [path] + recent[:7])
        self._refresh_recent()

    def recent_sessions(self) -> list[str]:
        value = self.qsettings.value(RECENT_KEY) or []
        return [value] if isinstance(value, str) else list(value)

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_sessions():
            self.recent_menu.addAction(p).triggered.connect(lambda *_, path=p: self.open_session(path))
        self.recent_menu.setEnabled(bool(self.recent_sessions()))

    def open_session_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open session", "", "Sessions (*.json)")
        if path:
            self.open_session(path)

    def save_session_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save session", "session.json", "Sessions (*.json)")
        if path:
            self.save_session(path)

    def export_dialog(self) -> None:
        view = self.current_view()
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export view (PNG, SVG, CSV, NPZ)",
                                                        f"{view.key}.png", "PNG image (*.png)")
        if path:
            files = export_view(view, path)
            self.show_message("exported " + ", ".join(f.name for f in files))

    def show_help(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS)
        QtWidgets.QMessageBox.information(self, "Keyboard shortcuts", f"<table>{rows}</table>")

    # ---- lifetime ----------------------------------------------------------------------------------------
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> bool:
        self._prebuild.stop()
        for view in self.views.values():
            view.deactivated()
        return self.compute.shutdown(0.9)
