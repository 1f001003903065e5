"""Steady room under the plots while results stream in.

A plot's legend and note sit in rows 1 and 2 of its cell. Their heights change from one result to the next
(a note appears for a first estimate, a legend gains the exact-density entry), and every change resizes the
plot above: its axes, ticks and grid are redrawn from scratch, which made a frame 2–4× slower than one with
the same layout. So rows keep the largest height they needed while results keep coming, and give back what
they no longer need once the results have paused for HOLD_S: a single re-layout, when nobody is dragging.
"""
from __future__ import annotations

from collections.abc import Iterable

import pyqtgraph as pg
import shiboken6
from PySide6 import QtCore

HOLD_S = 1.5
ROWS_BELOW = (1, 2)   # legend, note (BaseView.add_plot / add_note)


def row_height(grid: QtCore.QObject, row: int) -> float:
    """What the items in `row` of a QGraphicsGridLayout ask for now (0 for a collapsed or hidden item)."""
    need = 0.0
    for col in range(max(1, grid.columnCount())):
        item = grid.itemAt(row, col)
        if item is None:
            continue
        graphics = item.graphicsItem() if hasattr(item, "graphicsItem") else None
        if graphics is not None and not graphics.isVisible():
            continue
        hint = item.effectiveSizeHint(QtCore.Qt.SizeHint.PreferredSize).height()
        need = max(need, min(hint, item.maximumHeight()))
    return need


class RoomHolder:
    """Holds each cell's rows below its plot at their largest recent height (see the module docstring)."""

    def __init__(self, parent: QtCore.QObject, hold_s: float = HOLD_S):
        self._held: dict[int, dict[int, float]] = {}
        self._cells: list[pg.GraphicsLayout] = []
        self._timer = QtCore.QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(hold_s * 1000))
        self._timer.timeout.connect(self.release)

    def hold(self, cells: Iterable[pg.GraphicsLayout]) -> None:
        """After a result was drawn: no row below a plot shrinks until the results pause."""
        self._cells = [c for c in cells if shiboken6.isValid(c)]
        for cell in self._cells:
            held = self._held.setdefault(id(cell), {})
            for row in ROWS_BELOW:
                if row >= cell.layout.rowCount():
                    continue
                h = max(row_height(cell.layout, row), held.get(row, 0.0))
                if h != held.get(row):
                    held[row] = h
                    cell.layout.setRowMinimumHeight(row, h)
        self._timer.start()

    def rebase(self, cell: pg.GraphicsLayout) -> None:
        """The cell's rows were laid out anew for a new size (a legend in more columns, a note wrapped wider):
        hold no more than they need now, not an older maximum from a narrower layout."""
        held = self._held.get(id(cell))
        if held is None or not shiboken6.isValid(cell):
            return
        for row in held:
            held[row] = min(held[row], row_height(cell.layout, row))
            cell.layout.setRowMinimumHeight(row, held[row])

    def release(self) -> None:
        """Give back the room no longer needed (one re-layout)."""
        self._timer.stop()
        for cell in self._cells:
            if not shiboken6.isValid(cell):   # the view was rebuilt meanwhile
                continue
            for row in self._held.pop(id(cell), {}):
                cell.layout.setRowMinimumHeight(row, 0.0)
        self._held.clear()

    @property
    def holding(self) -> bool:
        return bool(self._held)
