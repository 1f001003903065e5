"""The menu bar and its keyboard shortcuts (listed under Help → Keyboard shortcuts, F1)."""
from __future__ import annotations

import html

from typing import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from .export import export_view

SHORTCUTS = [
    ("Space", "pause / resume (training plays and pauses)"), ("N", "new draw (seed + 1)"),
    ("F", "presentation mode: full screen, large fonts, thick lines"), ("H", "hide / show the controls"),
    ("1 – 6", "switch view"), ("Ctrl+S", "save session"), ("Ctrl+O", "open session"),
    ("Ctrl+E", "export the current view (PNG, SVG, CSV, NPZ, settings JSON)"), ("Ctrl+T", "light / dark theme"),
    ("PageDown / PageUp, → / ←", "next / previous preset (a presenter's clicker)"),
    ("F1", "this help"),
]


def add_action(window: QtWidgets.QMainWindow, menu: QtWidgets.QMenu, text: str, shortcut: str,
               slot: Callable[[], object]) -> QtGui.QAction:
    act = QtGui.QAction(text, window)
    act.setShortcut(QtGui.QKeySequence(shortcut))
    act.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
    act.triggered.connect(lambda *_: slot())
    menu.addAction(act)
    window.addAction(act)
    return act


def build_menus(w) -> tuple[QtWidgets.QMenu, QtWidgets.QMenu]:
    """File, Presets, View and Help on the main window `w`; returns (recent sessions, presets) menus, which the
    window fills."""
    mb = w.menuBar()
    file_menu = mb.addMenu("&File")
    add_action(w, file_menu, "&Open session…", "Ctrl+O", lambda: w.sessions.open_dialog())
    add_action(w, file_menu, "&Save session…", "Ctrl+S", lambda: w.sessions.save_dialog())
    recent_menu = file_menu.addMenu("Recent sessions")
    add_action(w, file_menu, "&Export view…", "Ctrl+E", lambda: export_dialog(w))
    file_menu.addSeparator()
    add_action(w, file_menu, "&Quit", "Ctrl+Q", w.close)
    presets_menu = mb.addMenu("&Presets")
    view_menu = mb.addMenu("&View")
    for i, key in enumerate(w.views):
        add_action(w, view_menu, w.views[key].title, str(i + 1), lambda k=key: w.show_view(k))
    view_menu.addSeparator()
    add_action(w, view_menu, "Presentation mode", "F", w.toggle_presentation)
    add_action(w, view_menu, "Hide / show controls", "H", w.toggle_controls)
    add_action(w, view_menu, "Light / dark theme", "Ctrl+T", w.toggle_theme)
    add_action(w, view_menu, "Pause / resume", "Space", w.toggle_pause)
    add_action(w, view_menu, "New draw", "N", w.new_draw)
    help_menu = mb.addMenu("&Help")
    add_action(w, help_menu, "Keyboard shortcuts", "F1", lambda: show_help(w))
    return recent_menu, presets_menu


def fill_presets_menu(menu: QtWidgets.QMenu, presets, apply: Callable) -> None:
    menu.clear()
    for p in presets:
        act = menu.addAction(p.title)
        act.setToolTip(html.escape(p.caption))   # file contents: never rich text
        act.triggered.connect(lambda *_, pr=p: apply(pr))


def show_help(parent: QtWidgets.QWidget) -> None:
    rows = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS)
    QtWidgets.QMessageBox.information(parent, "Keyboard shortcuts", f"<table>{rows}</table>")


def export_dialog(w) -> None:
    """Export the main window's current view (PNG, SVG, CSV, NPZ)."""
    view = w.current_view()
    path, _ = QtWidgets.QFileDialog.getSaveFileName(w, "Export view (PNG, SVG, CSV, NPZ)", f"{view.key}.png",
                                                    "PNG image (*.png)")
    if path:
        files = export_view(view, path, w.state)
        w.show_message("exported " + ", ".join(f.name for f in files))
