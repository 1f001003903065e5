"""Presentation helpers: the controls dock sized to fit the screen, and the keys a presenter's clicker sends.

`fit_dock` makes every control of the view on screen visible without scrolling: the dock is as wide as its
widest row and, where the rows are taller than the screen, its font shrinks step by step (never below
MIN_DOCK_PT) until they fit. `controls_fit` reports whether they do (tests, self-test).
"""
from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from . import plotting
from .state import MAX_CAPTION, MAX_TITLE
from .themes import load_theme

MIN_DOCK_PT = 8.0
STEP_KEYS = {QtCore.Qt.Key.Key_PageDown: +1, QtCore.Qt.Key.Key_PageUp: -1,
             QtCore.Qt.Key.Key_Right: +1, QtCore.Qt.Key.Key_Left: -1}
ARROWS = {QtCore.Qt.Key.Key_Right, QtCore.Qt.Key.Key_Left}
TEXT_FIELDS = (QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox, QtWidgets.QTextEdit, QtWidgets.QPlainTextEdit)


def _settle(window: QtWidgets.QMainWindow) -> None:
    """Lay the window out now (geometry of the dock and its scroll area) without running the event loop."""
    for w in (window.dock_body, window.dock.widget(), window.dock, window):
        if w.layout() is not None:
            w.layout().invalidate()
            w.layout().activate()


def _needed(body: QtWidgets.QWidget, width: int) -> QtCore.QSize:
    """The room the dock's rows need at this width (wrapped labels make it taller)."""
    hint = body.sizeHint()
    if body.layout() is not None and body.layout().hasHeightForWidth():
        hint.setHeight(max(hint.height(), body.layout().heightForWidth(width)))
    return hint


def controls_fit(window) -> dict:
    """Whether every control in the dock is visible without scrolling: {'ok', 'needed', 'available'}."""
    _settle(window)
    body, viewport = window.dock_body, window.dock_scroll.viewport()
    need = _needed(body, viewport.width())
    hidden = []
    for w in body.findChildren(QtWidgets.QWidget):
        if not w.isVisibleTo(body) or isinstance(w, (QtWidgets.QStackedWidget, QtWidgets.QGroupBox)):
            continue
        r = QtCore.QRect(w.mapTo(body, QtCore.QPoint(0, 0)), w.size())
        if r.right() > viewport.width() + 1 or r.bottom() > viewport.height() + 1:
            hidden.append(w.objectName() or type(w).__name__)
    ok = need.height() <= viewport.height() + 1 and need.width() <= viewport.width() + 1 and not hidden
    return {"ok": bool(ok), "needed": [need.width(), need.height()],
            "available": [viewport.width(), viewport.height()], "clipped": hidden[:8],
            "dock_font_pt": round(window.dock.font().pointSizeF(), 1)}


def fit_dock(window) -> None:
    """Size the dock to its widest row and shrink its font until its rows fit the height available."""
    if not window.dock.isVisible() and window.isVisible():
        return
    font = QtGui.QFont(QtWidgets.QApplication.font())
    pt = font.pointSizeF()
    scroll = window.dock_scroll
    while True:
        font.setPointSizeF(pt)
        window.dock.setFont(font)
        _settle(window)
        need = window.dock_body.sizeHint()
        frame = 2 * scroll.frameWidth() + scroll.verticalScrollBar().sizeHint().width()
        width = need.width() + frame + 4
        window.dock.setMinimumWidth(width)
        window.dock.setMaximumWidth(width)
        _settle(window)
        need = _needed(window.dock_body, scroll.viewport().width())   # wrapped labels: taller when narrow
        if need.height() <= scroll.viewport().height() or pt <= MIN_DOCK_PT:
            return
        pt = max(MIN_DOCK_PT, pt - 0.5)


def enter(window, size: tuple[int, int] | None) -> None:
    """Presentation mode on `window`: the normal layout saved, one scale for the screen, fonts first (the dock's
    fit depends on them), then full screen (or `size`) and the dock fitted."""
    # The rectangle itself, not saveGeometry(): restoreGeometry clamps to the screen it thinks it is on.
    window._normal_layout = (QtCore.QRect(window.geometry()), window.saveState(), window.windowState())
    window.presentation = True
    screen = window.screen().size() if window.screen() is not None else QtCore.QSize(1920, 1080)
    window.presentation_scale = plotting.presentation_scale(size[1] if size else screen.height())
    window._apply_theme()
    for view in window.views.values():
        view.set_presentation(True, window.presentation_scale)
    if size is None:
        # Full screen is the window manager's job; without one (a bare X server, some kiosk setups) the window
        # keeps its size, so cover the screen ourselves first.
        if window.screen() is not None:
            window.setGeometry(window.screen().geometry())
        window.showFullScreen()
    else:
        window.setGeometry(0, 0, *size)
    fit_dock(window)


def leave(window, _size=None) -> None:
    """Back to the layout saved by `enter`: geometry, window state, dock (width, font), fonts and lines."""
    window.presentation = False
    window._apply_theme()
    for view in window.views.values():
        view.set_presentation(False)
    window.dock.setFont(QtGui.QFont())   # inherits the application's font again
    window.dock.setMinimumWidth(380)
    window.dock.setMaximumWidth(16777215)
    geometry, dock_state, window_state = window._normal_layout or (None, None, None)
    window.setWindowState(window_state if window_state is not None else QtCore.Qt.WindowState.WindowNoState)
    if geometry is not None:
        window.setGeometry(geometry)
        window.restoreState(dock_state)


# Settings a caption's physics statements depend on, with their on-screen names. Width is not among them: captions
# invite dragging it and state their numbers per N.
CAPTION_KEYS = {"depth": "depth", "activation": "φ", "sigma_w": "σ_w", "sigma_b": "σ_b", "prior": "prior",
                "prior_dof": "ν", "parameterization": "parameterization", "independence": "independence",
                "independence_strength": "v", "x1": "x₁", "x2": "x₂"}


def changed_since_caption(base, state) -> list[str]:
    """The on-screen names of the caption settings in which `state` differs from `base` (where the caption was set)."""
    if base is None:
        return []
    return [name for key, name in CAPTION_KEYS.items() if getattr(base, key, None) != getattr(state, key, None)]


def banner_html(window, view) -> str:
    """The banner: a preset's title and caption over its own view, the view's own caption elsewhere."""
    s = window.state
    t = load_theme(s.theme)
    k = window.presentation_scale if window.presentation else 1.0
    big, small = round(18 * k), round(13 * k)
    key = view.key if view is not None else s.view

    def line(title: str, caption: str) -> str:
        return (f"<span style='font-size:{big}px; font-weight:600'>{title}</span>"
                f"<span style='font-size:{small}px; color:{t['muted']}'> — {caption}</span>")

    if s.title and key == window.title_view:
        # Titles and captions come from files: shown as plain text (escaped), never as markup.
        text = line(html.escape(s.title[:MAX_TITLE]), html.escape(s.caption[:MAX_CAPTION]))
        moved = changed_since_caption(window.caption_state, s)
        if moved:   # the caption's numbers belong to the preset's settings, not to these
            text += (f"<span style='font-size:{small}px; color:{t['theory']}'> (changed since: "
                     f"{', '.join(moved)}; the caption describes the preset's settings)</span>")
        return text
    if view is not None and view.caption:
        return line(view.title, view.caption)
    return (f"<span style='font-size:{small}px; color:{t['muted']}'>NN-QFT Explorer — an ensemble of random "
            "networks against its field theory. Presets: menu Presets. Shortcuts: F1.</span>")


class PresentationKeys(QtCore.QObject):
    """PageDown / PageUp step through the presets in menu order (what a clicker sends), and → / ← too
    unless a text field (a spin box, a line edit) has the focus."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.app = QtWidgets.QApplication.instance()
        self.app.installEventFilter(self)

    def remove(self) -> None:
        if self.app is not None:
            self.app.removeEventFilter(self)
            self.app = None

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 — Qt override
        if event.type() != QtCore.QEvent.Type.KeyPress or event.key() not in STEP_KEYS:
            return False
        if event.modifiers() & ~QtCore.Qt.KeyboardModifier.KeypadModifier:
            return False
        if not isinstance(obj, QtWidgets.QWidget) or obj.window() is not self.window:
            return False
        if event.key() in ARROWS and isinstance(obj, TEXT_FIELDS + (QtWidgets.QComboBox,)):
            return False
        self.window.step_preset(STEP_KEYS[event.key()])
        return True
