"""The two widgets every view uses: its plot canvas (which reports real paints) and the notes under plots."""
from __future__ import annotations

from typing import Callable

import pyqtgraph as pg
from PySide6 import QtCore

from .. import plotting


class Canvas(pg.GraphicsLayoutWidget):
    """A view's plot area; tells its view when a frame has really been painted (for latency timings)."""

    SPACING = 6.0   # between cells; Qt's default, set explicitly: asking the style for it mid-theme-change crashed

    def __init__(self, on_painted: Callable[[], None]):
        super().__init__()
        self._on_painted = on_painted
        self.ci.layout.setHorizontalSpacing(self.SPACING)
        self.ci.layout.setVerticalSpacing(self.SPACING)

    def paintEvent(self, event) -> None:  # noqa: N802 — Qt override
        super().paintEvent(event)
        self._on_painted()

    def resizeEvent(self, event) -> None:  # noqa: N802 — Qt override
        self.equal_columns()
        super().resizeEvent(event)

    def equal_columns(self) -> None:
        """Every column gets an equal share of the width, whatever its legends' and notes' text asks for: a
        legend gaining a longer entry would otherwise move the column border, resizing (and redrawing every
        axis of) both plots at each new result. Views lay legends and notes out for this share (_fit_below)."""
        central = getattr(self, "ci", None)   # resized once inside pyqtgraph's __init__, before ci exists
        if central is None:
            return
        grid = central.layout
        n = grid.columnCount()
        if n < 2:
            return
        left, _top, right, _bottom = grid.getContentsMargins()
        share = (self.viewport().width() - left - right
                 - self.SPACING * (n - 1)) / n
        share = max(40.0, share)
        if max(self._column_need(grid, col) for col in range(n)) > share:
            # a column's content needs more than its share (long ticks or titles on a small screen): let the
            # layout divide the width by content, as it does by default, rather than cut a plot off
            for col in range(n):
                grid.setColumnMinimumWidth(col, 0.0)
                grid.setColumnMaximumWidth(col, self.UNBOUNDED)
            return
        for col in range(n):
            if abs(grid.columnMinimumWidth(col) - share) > 0.5 or abs(grid.columnMaximumWidth(col) - share) > 0.5:
                grid.setColumnFixedWidth(col, share)

    UNBOUNDED = 16777215.0   # QWIDGETSIZE_MAX

    @staticmethod
    def _column_need(grid, col: int) -> float:
        """The widest minimum width of the items in `col` that occupy that column alone."""
        need = 0.0
        for row in range(grid.rowCount()):
            item = grid.itemAt(row, col)
            if item is None or (col > 0 and grid.itemAt(row, col - 1) is item) or \
                    (col + 1 < grid.columnCount() and grid.itemAt(row, col + 1) is item):
                continue
            need = max(need, item.effectiveSizeHint(QtCore.Qt.SizeHint.MinimumSize).width())
        return need


class Note(pg.LabelItem):
    """A note under its plot: wraps at the plot's width; takes no room when empty."""

    def __init__(self):
        super().__init__("", justify="left", size=f"{plotting.NOTE_PT}pt")
        self.text = ""
        self._wrap = 300.0
        self.item.setTextWidth(self._wrap)

    def setText(self, text, **args) -> None:  # noqa: N802 — pyqtgraph's naming
        import html
        text = str(text or "")
        shown = "<br>".join(html.escape(line) for line in text.split("\n"))
        super().setText(shown, **args)
        self.text = text
        plotting.collapse(self, not text)

    def toPlainText(self) -> str:  # noqa: N802 — like TextItem's
        return self.text

    def setColor(self, color) -> None:  # noqa: N802
        self.setAttr("color", color)
        self.setText(self.text)

    def set_size(self, pt: float) -> None:
        self.setAttr("size", f"{pt:g}pt")
        self.setText(self.text)

    def set_wrap(self, px: float) -> bool:
        """Wrap at px; whether that changed the wrap width."""
        if abs(px - self._wrap) > 2:
            self._wrap = px
            self.item.setTextWidth(px)
            self.updateMin()
            return True
        return False

    def updateMin(self) -> None:  # noqa: N802 — pyqtgraph's naming
        """Wraps instead of widening the layout: no minimum width, its wrapped height."""
        super().updateMin()
        h = self.itemRect().height() if self.text else 0.0
        self.setMinimumWidth(10)
        self.setMinimumHeight(h)
        self._sizeHint[QtCore.Qt.SizeHint.MinimumSize] = (10, h)
        self._sizeHint[QtCore.Qt.SizeHint.PreferredSize] = (10, h)
        self.updateGeometry()
