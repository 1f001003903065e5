"""What follows the first frame: the hidden views are built a step (about one plot) at a time in idle time,
so start-up does not wait for them and no step blocks the GUI for long; and, when the launcher asks for it,
the start-up heap is frozen."""
from __future__ import annotations

import gc
from typing import Iterable

from PySide6 import QtCore

from .views.base import ViewBase

BUILD_INTERVAL_MS = 40


def settle_heap() -> None:
    """Freeze the heap: the cyclic garbage collector then ignores torch's, Qt's and pyqtgraph's hundreds of
    thousands of objects, and its full collections (~0.1 s here, at random moments) stop freezing the GUI."""
    gc.collect()
    gc.freeze()


class IdleBuilder(QtCore.QObject):
    def __init__(self, parent: QtCore.QObject, views: Iterable[ViewBase], freeze_heap: bool = False):
        super().__init__(parent)
        self._views = views
        self._freeze_heap = freeze_heap
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(BUILD_INTERVAL_MS)
        self._timer.timeout.connect(self._step)
        self.done = False

    def first_frame(self) -> None:
        """A result is on screen: start building the rest (once)."""
        if not self.done and not self._timer.isActive():
            self._settle_heap()
            self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _step(self) -> None:
        for view in self._views:
            if view.build_step():
                return
        self._timer.stop()
        self.done = True
        self._settle_heap()

    def _settle_heap(self) -> None:
        if self._freeze_heap:
            settle_heap()
