"""Sessions from the File menu: open and save (with their dialogs), and the recent-sessions list kept in
QSettings."""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from nnqft_engine import SpecError

from . import APP_NAME
from .session import load_session, save_session

RECENT_KEY = "recent_sessions"


class SessionActions:
    """`window` is the main window: its state, device label, messages and `load_state`."""

    def __init__(self, window, settings: QtCore.QSettings, recent_menu: QtWidgets.QMenu):
        self.window = window
        self.qsettings = settings
        self.recent_menu = recent_menu
        self.last_error = ""
        self.refresh_recent()

    def save(self, path: str | Path) -> None:
        w = self.window
        save_session(path, w.state, w.device_label)
        self._remember(str(path))
        w.show_message(f"session saved to {path}")

    def open(self, path: str | Path) -> bool:
        w = self.window
        try:
            new = load_session(path)
        except SpecError as exc:
            self._refuse(str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 — a file must never take the app down
            self._refuse(f"{Path(str(path)).name} could not be opened ({type(exc).__name__})")
            return False
        w.load_state(new)
        self._remember(str(path))
        w.show_message(f"session {Path(path).name} opened")
        return True

    def _refuse(self, message: str) -> None:
        """Say what is wrong; the previous state stays as it was."""
        w = self.window
        self.last_error = message
        w.show_message(f"{message} — the previous settings are kept", error=True)
        if w.isVisible() and not w.property("no_dialogs"):
            QtWidgets.QMessageBox.warning(w, APP_NAME, f"{message}.\n\nThe previous settings are kept.")

    def recent_sessions(self) -> list[str]:
        value = self.qsettings.value(RECENT_KEY) or []
        return [value] if isinstance(value, str) else [str(v) for v in value][:8]

    def _remember(self, path: str) -> None:
        recent = [p for p in (self.qsettings.value(RECENT_KEY) or []) if p != path]
        self.qsettings.setValue(RECENT_KEY, [path] + recent[:7])
        self.refresh_recent()

    def refresh_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_sessions():
            self.recent_menu.addAction(p).triggered.connect(lambda *_, path=p: self.open(path))
        self.recent_menu.setEnabled(bool(self.recent_sessions()))

    def open_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Open session", "", "Sessions (*.json)")
        if path:
            self.open(path)

    def save_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Save session", "session.json",
                                                        "Sessions (*.json)")
        if path:
            self.save(path)
