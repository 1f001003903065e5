"""The status bar: a message (errors kept for the self-test), the running request's progress and rate, and
the device computing. Progress is redrawn a few times a second at most: each change repaints the bar."""
from __future__ import annotations

import html

import time

from PySide6 import QtWidgets

from .jobs.progress import Progress

STATUS_INTERVAL_S = 0.25


MAX_ERRORS = 1000


class StatusBar:
    def __init__(self, bar: QtWidgets.QStatusBar):
        self.device = QtWidgets.QLabel()
        self.progress = QtWidgets.QLabel()
        self.rate = QtWidgets.QLabel()
        self.message = QtWidgets.QLabel()
        bar.addWidget(self.message, 1)
        for w in (self.progress, self.rate, self.device):
            bar.addPermanentWidget(w)
        self.errors: list[str] = []
        self._shown_at = 0.0
        self._pending: tuple[int, Progress, float] | None = None   # the newest progress offered

    def show_message(self, text: str, color: str, error: bool = False) -> None:
        if error:
            self.errors.append(text)
            del self.errors[:-MAX_ERRORS]   # the newest only: a long session stays flat
        # messages quote file names and contents: escaped, never interpreted as markup
        self.message.setText(f"<span style='color:{color}'>{html.escape(text)}</span>")

    def computing(self, device_label: str) -> None:
        """A request was submitted on this device."""
        self.device.setText(f"  {device_label}  ")
        self.progress.setText("  computing…  ")
        self.rate.setText("")

    def offer(self, request_id: int, progress: Progress, started: float, now: float) -> None:
        """A result was drawn: show its progress unless the bar changed less than STATUS_INTERVAL_S ago."""
        self._pending = (request_id, progress, started)
        if now - self._shown_at >= STATUS_INTERVAL_S:
            self.show_progress(progress, started)

    def finished(self, request_id: int) -> None:
        """The request ended: its final numbers, whatever the rate limit."""
        if self._pending is not None and self._pending[0] == request_id:
            self.show_progress(*self._pending[1:])

    def show_progress(self, progress: Progress, started: float) -> None:
        now = self._shown_at = time.perf_counter()
        p = progress
        if p.step is not None and p.t is not None:
            self.progress.setText(f"  step {p.step:,}, t = {p.t:.4g}  ")
        elif p.done is None:
            self.progress.setText(f"  {p.label}  ")
        if p.done is not None and p.requested:
            rate = p.done / max(now - started, 1e-6)
            self.progress.setText(f"  networks {p.done:,} / {p.requested:,}  ")
            self.rate.setText(f"  {rate:,.0f} networks/s  ")
