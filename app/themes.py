"""Light and dark themes, applied to Qt (palette + Fusion) and to pyqtgraph plots (which ignore QPalette)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from PySide6 import QtGui, QtWidgets

from .resources import resource_path


@dataclass(frozen=True)
class Theme:
    name: str
    colors: dict

    def __getitem__(self, key):
        return self.colors[key]

    def qcolor(self, key: str, alpha: int | None = None) -> QtGui.QColor:
        value = self.colors[key]
        c = QtGui.QColor(*value) if isinstance(value, list) else QtGui.QColor(value)
        if alpha is not None:
            c.setAlpha(alpha)
        return c

    def series(self, i: int) -> str:
        s = self.colors["series"]
        return s[i % len(s)]


@lru_cache(maxsize=None)
def load_theme(name: str) -> Theme:
    with open(resource_path("themes", f"{name}.json"), encoding="utf-8") as fh:
        colors = json.load(fh)
    return Theme(name=name, colors=colors)


# Qt palette role → theme colour name.
_PALETTE_ROLES = {
    "Window": "window", "WindowText": "text", "Base": "base", "AlternateBase": "window", "Text": "text",
    "Button": "window", "ButtonText": "text", "ToolTipBase": "base", "ToolTipText": "text",
    "Highlight": "highlight", "PlaceholderText": "muted",
}


def apply_qt_theme(app: QtWidgets.QApplication, theme: Theme, font_scale: float = 1.0) -> None:
    """Fusion style with a palette built from the theme; `font_scale` enlarges fonts for presentations."""
    if app.style() is None or app.style().name().lower() != "fusion":
        # once: replacing the style deletes the old QStyle under every live widget (a segfault seen when a
        # window was built while an earlier test's windows were still being torn down)
        app.setStyle("Fusion")
    pal = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    for role_name, colour in _PALETTE_ROLES.items():
        pal.setColor(getattr(role, role_name), theme.qcolor(colour))
    pal.setColor(role.HighlightedText, QtGui.QColor("#ffffff"))
    # Disabled controls look disabled as a whole: label, value, slider groove and handle (Fusion draws a
    # slider's filled groove in Highlight, its handle in Button), spin box frames.
    disabled = QtGui.QPalette.ColorGroup.Disabled
    for role_name in ("Text", "WindowText", "ButtonText", "Highlight", "PlaceholderText"):
        pal.setColor(disabled, getattr(role, role_name), theme.qcolor("disabled"))
    for role_name in ("Base", "Button"):
        pal.setColor(disabled, getattr(role, role_name), theme.qcolor("window"))
    app.setPalette(pal)
    font = app.font()
    base = app.property("nnqft_base_point_size")
    if base is None:
        base = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
        app.setProperty("nnqft_base_point_size", base)
    font.setPointSizeF(float(base) * font_scale)
    app.setFont(font)
