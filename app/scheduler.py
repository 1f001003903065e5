"""Which view computes when: views whose inputs changed are marked dirty and the one on screen is requested;
results are handed to their view, timed and shown in the status bar; a request that fails on an accelerator
is retried on the CPU (device_manager). Nothing hidden keeps computing, and Space pauses."""
from __future__ import annotations

import time

from nnqft_engine import SpecError
from nnqft_engine.devices import cpu_label

from . import costing
from .compute import ComputeController
from .device_manager import DeviceManager
from .frame_timing import FrameTiming
from .state import AppState
from .status_bar import StatusBar
from .views.base import ViewBase


class Scheduler:
    """`window` is the main window: its views, state, current view, messages and `result_painted` signal."""

    def __init__(self, window, compute: ComputeController, devices: DeviceManager,
                 timing: FrameTiming, status: StatusBar):
        self.window = window
        self.compute = compute
        self.devices = devices
        self.timing = timing
        self.status = status
        self.dirty: set[str] = set()
        self.paused = False
        self.device_label = ""
        self.running: str | None = None   # key of the view whose request is computing
        self.threads: dict[str, int | None] = {}   # view key → CPU threads of its latest request
        compute.result.connect(self._on_result)
        compute.finished.connect(self._on_finished)
        compute.failed.connect(self._on_failed)

    # ---- requests ----------------------------------------------------------------------------------------
    def request_current(self, force: bool = False) -> None:
        view = self.window.current_view()
        if view is None or self.paused and not force:
            return
        if view.key not in self.dirty and not force:
            return
        self.dirty.discard(view.key)
        self.request(view)

    def request(self, view: ViewBase) -> int:
        w = self.window
        device, self.device_label = self.devices.effective(w.state.device)
        if self.devices.message:
            w.show_message(self.devices.message, error=True)
            self.devices.message = ""
        try:
            snapshot = AppState.from_dict({"device": device}, base=w.state)
            cost = costing.check(view.key, snapshot)   # nothing runs that cannot within the budgets
            job = view.make_job(snapshot)
        except SpecError as exc:
            self.refuse(view.key, str(exc))
            return -1
        threads = self.threads[view.key] = costing.threads(cost, device)
        if threads is not None:
            self.device_label = cpu_label(threads)
        self.status.computing(self.device_label)
        self.running = view.key
        self.timing.submitting()
        rid = self.compute.submit(view.key, job, threads)
        self.timing.submitted(rid)
        return rid

    def refuse(self, key: str, reason: str) -> None:
        """The view's settings cannot be computed: stop what runs for old settings, keep the state, and say
        so in the view's note (its plots keep the last valid settings)."""
        self.compute.cancel()
        if self.running == key:
            self.running = None
        self.status.progress.setText("  not computed  ")
        self.window.show_refusal(key, reason)

    def request_compute(self, key: str) -> None:
        self.dirty.add(key)
        view = self.window.current_view()
        if view is not None and view.key == key:
            self.request_current(force=True)

    def view_shown(self, view: ViewBase) -> None:
        """Leave no hidden view computing: stop it, and finish it when it is shown again."""
        if self.running is not None and self.running != view.key:
            self.compute.cancel()
            self.dirty.add(self.running)
            self.running = None
        if view.continuous:
            self.dirty.add(view.key)   # resume training where it stood (or a fresh snapshot if paused)
        self.request_current()

    def toggle_pause(self) -> None:
        w = self.window
        if w.current_view().toggle_pause():
            return
        self.paused = not self.paused
        if self.paused:
            self.compute.cancel()
            self.dirty.add(w.current_view().key)
            w.show_message("paused — Space resumes")
        else:
            w.show_message("resumed")
            self.request_current()

    # ---- results -----------------------------------------------------------------------------------------
    def _on_result(self, key: str, rid: int, result: object) -> None:
        if not self.compute.is_current(key, rid) or key not in self.window.views:
            return   # a superseded request: its numbers belong to old settings
        with self.timing.gui_work():
            self._show(key, rid, result)

    def _show(self, key: str, rid: int, result) -> None:
        view = self.window.views[key]
        try:
            view.receive(rid, result)
        except Exception as exc:  # noqa: BLE001 — a drawing bug is reported, never fatal
            self.window.show_message(f"{view.title}: could not draw the result ({type(exc).__name__}: {exc})",
                                     error=True)
            return
        self.window.show_refusal(key, "")
        now = time.perf_counter()
        self.timing.drawn(key, rid, view.isVisible(), now)
        self.status.offer(rid, result.progress, self.timing.started(rid), now)
        self.window.result_painted.emit(key, rid)

    def _on_finished(self, key: str, rid: int) -> None:
        self.status.finished(rid)
        if self.compute.is_current(key, rid) and self.running == key:
            self.running = None
        if self.compute.is_current(key, rid) and key in self.window.views:
            self.window.views[key].job_finished(rid)

    def _on_failed(self, key: str, rid: int, message: str, device_failure: bool) -> None:
        if not self.compute.is_current(key, rid):
            return
        if self.running == key:
            self.running = None
        w = self.window
        if device_failure:
            dev, _ = self.devices.effective(w.state.device)
            if dev != "cpu":
                self.devices.mark_failed(dev, message)
                w.show_message(self.devices.message, error=True)
                self.devices.message = ""
                if key in w.views:
                    self.request_compute(key)
                return
        w.show_refusal(key, message)
