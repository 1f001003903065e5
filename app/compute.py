"""The compute controller: one worker thread, throttled requests, ids, cancellation, stale-result dropping.

napari's slicer pattern: a single slot holds the newest request; a newer one replaces it and cancels the
running job at its next yield (each yield of an engine generator is a cancellation point). Results carry the
request id; the GUI shows a result only if its id is still the newest for its view. Jobs already return
numpy, so nothing torch-shaped crosses threads. `threaded=False` runs jobs inline for deterministic tests.

The worker never touches Qt: it appends events to a deque that a GUI-thread timer drains and turns into
signals. (Emitting Python-object signals from a worker thread crashed PySide6 6.12 on Python 3.11 here at
random after some minutes — refcounts of shared objects manipulated off the GIL; this design avoids it and
also coalesces running results the GUI had no time to draw.)
"""
from __future__ import annotations

import atexit
import collections
import threading
import time
import traceback
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from PySide6 import QtCore

from nnqft_engine import DeviceUnavailable, SpecError
from nnqft_engine.cancel import Cancelled, cancel_scope
from nnqft_engine.threads import torch_threads

Job = Callable[[], Iterator[Any]]

# The GUI is sent at most one running result per interval (the first and the last are always sent).
EMIT_INTERVAL_S = 0.05
# How often the GUI thread collects the worker's events.
DRAIN_INTERVAL_MS = 5


_ORPHANS: list[threading.Thread] = []


def _release_memory() -> None:
    """Hand freed heap back to the OS after a job (glibc keeps big freed arenas otherwise: RSS would stay at
    the high-water mark of the largest settings ever computed)."""
    global _TRIM
    if _TRIM is None:
        try:
            import ctypes
            import ctypes.util
            _TRIM = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except Exception:  # noqa: BLE001 — not glibc (macOS, Windows): nothing to do
            _TRIM = False
    if _TRIM:
        try:
            _TRIM(0)
        except Exception:  # noqa: BLE001
            pass


_TRIM = None
# Every worker ever started (weakly): tests assert none is left running.
LIVE_WORKERS: "weakref.WeakSet[_Worker]" = weakref.WeakSet()


def wait_for_orphans(timeout_s: float = 10.0) -> bool:
    """At process exit: let workers stopped during a long chunk finish it."""
    ok = all(t.join_for(timeout_s) for t in _ORPHANS)
    _ORPHANS.clear()
    return ok


@dataclass
class Request:
    id: int
    key: str
    job: Job
    threads: int | None = None   # torch CPU threads while it runs (costing.threads); None: leave as is


# Text that only accelerator runtimes put in their errors (CUDA, cuDNN, cuBLAS, cuFFT, cuSOLVER, NCCL, HIP/ROCm,
# Apple's MPS and Metal). Matched on RuntimeError-family exceptions only, never on arbitrary messages.
_ACCELERATOR_MARKERS = ("cuda", "cudnn", "cublas", "cufft", "curand", "cusolver", "cusparse", "nccl",
                        "device-side assert", "hip error", "hiperror", "rocm", "miopen", "hipblas",
                        "mps backend", "mps:", "metal", "out of memory", "accelerator")


def _accelerator_error_types() -> tuple[type, ...]:
    import torch
    types = [DeviceUnavailable]
    for owner, name in ((torch, "OutOfMemoryError"), (torch.cuda, "OutOfMemoryError"),
                        (torch, "AcceleratorError"), (torch.cuda, "CudaError"),
                        (getattr(torch, "mps", None), "OutOfMemoryError")):
        t = getattr(owner, name, None) if owner is not None else None
        if isinstance(t, type) and issubclass(t, BaseException):
            types.append(t)
    return tuple(types)


def is_device_failure(exc: BaseException) -> bool:
    """An accelerator failed (absent, out of memory, driver, cuDNN/cuBLAS/MPS/HIP error, device-side assert): the
    app falls back to the CPU. Classified by type first (torch's OutOfMemoryError and AcceleratorError, CUDA
    errors), then by the runtime's own markers in a RuntimeError's text; the cause chain is followed."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, _accelerator_error_types()):
            return True
        if isinstance(exc, RuntimeError):
            text = str(exc).lower()
            if any(m in text for m in _ACCELERATOR_MARKERS):
                return True
        exc = exc.__cause__ or exc.__context__
    return False


class _Worker(threading.Thread):
    """The compute thread. A plain Python thread: it never calls Qt (see the module note), so it needs
    none of QThread's machinery."""

    def __init__(self, controller: "ComputeController"):
        super().__init__(name="nnqft-compute", daemon=True)
        self._c = controller
        self._cv = threading.Condition()
        self._pending: Request | None = None
        self._latest = 0
        self._stopping = False

    def is_running(self) -> bool:
        return self.is_alive()

    def join_for(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for the thread to end; True if it has."""
        self.join(timeout_s)
        return not self.is_alive()

    def put(self, req: Request) -> None:
        with self._cv:
            self._pending = req
            self._latest = req.id
            self._cv.notify()

    def cancel_up_to(self, latest: int) -> None:
        with self._cv:
            self._latest = latest
            if self._pending is not None and self._pending.id < latest:
                self._pending = None

    def stop(self) -> None:
        with self._cv:
            self._stopping = True
            self._pending = None
            self._cv.notify()

    def stale(self, req: Request) -> bool:
        return self._stopping or req.id != self._latest

    def run(self) -> None:
        while True:
            with self._cv:
                while self._pending is None and not self._stopping:
                    self._cv.wait()
                if self._stopping:
                    return
                req, self._pending = self._pending, None
            self._c._execute(req, self.stale)


class ComputeController(QtCore.QObject):
    """Owns the worker thread. Signals carry (view key, request id, …) and arrive in the GUI thread."""

    result = QtCore.Signal(str, int, object)
    finished = QtCore.Signal(str, int)
    failed = QtCore.Signal(str, int, str, bool)   # key, id, one-line message, is a device failure

    def __init__(self, parent: QtCore.QObject | None = None, *, threaded: bool = True, throttle_ms: int = 30):
        super().__init__(parent)
        self.threaded = threaded
        self._next_id = 0
        self.latest: dict[str, int] = {}
        self._queued: Request | None = None
        self._last_dispatch = 0.0
        self.throttle_s = throttle_ms / 1000
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._dispatch_queued)
        self._events: collections.deque = collections.deque()
        self._drain_timer = QtCore.QTimer(self)
        self._drain_timer.setInterval(DRAIN_INTERVAL_MS)
        self._drain_timer.timeout.connect(self._drain)
        self._worker: _Worker | None = None
        # One line per job that failed with an unexpected exception (tests count them; a storm expects none).
        self.job_errors: list[str] = []
        if threaded:
            self._drain_timer.start()
            self._worker = _Worker(self)
            LIVE_WORKERS.add(self._worker)
            self._worker.start()

    # ---- requests ---------------------------------------------------------------------------------------
    def submit(self, key: str, job: Job, threads: int | None = None) -> int:
        """Ask for a fresh result of view `key` (run with `threads` torch CPU threads, None: as set); returns
        the request id. Older requests become stale."""
        self._next_id += 1
        req = Request(self._next_id, key, job, threads)
        self.latest[key] = req.id
        if not self.threaded:
            self._execute(req, lambda r: r.id != self._next_id)
            self._drain()
            return req.id
        self._worker.cancel_up_to(req.id)   # the running job stops at its next yield
        self._queued = req
        # Throttle with a leading edge: the first change goes at once, a storm is coalesced.
        wait = self._last_dispatch + self.throttle_s - time.perf_counter()
        if wait <= 0 and not self._timer.isActive():
            self._dispatch_queued()
        elif not self._timer.isActive():
            self._timer.start(max(1, int(wait * 1000)))
        return req.id

    def cancel(self) -> None:
        """Drop everything queued or running (pause, view switch without recompute)."""
        self._next_id += 1
        self._queued = None
        self._timer.stop()
        self.latest = {k: -1 for k in self.latest}
        if self._worker is not None:
            self._worker.cancel_up_to(self._next_id)

    def is_current(self, key: str, request_id: int) -> bool:
        return self.latest.get(key) == request_id

    def _dispatch_queued(self) -> None:
        req, self._queued = self._queued, None
        if req is None:
            return
        self._last_dispatch = time.perf_counter()
        if req.id == self._next_id:
            self._worker.put(req)

    # ---- worker side ------------------------------------------------------------------------------------
    def _execute(self, req: Request, stale: Callable[[Request], bool]) -> None:
        """Run one job (worker thread, or inline when not threaded), emitting throttled running results."""
        post = self._events.append
        try:
            # torch's thread count is per calling thread: set in the worker, restored after the job
            with cancel_scope(lambda: stale(req)), torch_threads(req.threads):
                self._run_job(req, stale, post)
        except Cancelled:
            pass   # superseded or closing: the engine stopped at its next cancellation point
        except (SpecError, ValueError) as exc:
            post(("failed", req.key, req.id, str(exc), False))
        except MemoryError:
            post(("failed", req.key, req.id, "not enough memory for these settings; lower the width, the depth or "
                  "the ensemble", False))
        except Exception as exc:  # noqa: BLE001 — any failure becomes a status-bar message, never a crash
            device = is_device_failure(exc)
            msg = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
            if not device:
                self.job_errors.append(msg)
                del self.job_errors[:-100]
                traceback.print_exc()
            post(("failed", req.key, req.id, msg, device))
        finally:
            if self.threaded:
                _release_memory()

    def _run_job(self, req: Request, stale: Callable[[Request], bool], post) -> None:
        gen = None
        try:
            gen = req.job()
            last_emit, held = 0.0, None
            for item in gen:
                if stale(req):
                    return
                now = time.perf_counter()
                if now - last_emit >= EMIT_INTERVAL_S or not self.threaded or last_emit == 0.0:
                    post(("result", req.key, req.id, item))
                    last_emit, held = now, None
                    if self.threaded:
                        time.sleep(0.003)   # let the GUI thread take the GIL and paint
                else:
                    held = item
            if stale(req):
                return
            if held is not None:
                post(("result", req.key, req.id, held))
            post(("finished", req.key, req.id))
        finally:
            if gen is not None and hasattr(gen, "close"):
                try:
                    gen.close()
                except Exception:  # noqa: BLE001
                    pass

    def _drain(self) -> None:
        """GUI thread: turn the worker's events into signals; of several running results of one request
        only the newest is delivered (each is cumulative)."""
        events = []
        while self._events:
            events.append(self._events.popleft())
        newest_result = {}
        for i, ev in enumerate(events):
            if ev[0] == "result":
                newest_result[ev[2]] = i
        for i, ev in enumerate(events):
            kind = ev[0]
            if kind == "result" and newest_result[ev[2]] == i:
                self.result.emit(ev[1], ev[2], ev[3])
            elif kind == "finished":
                self.finished.emit(ev[1], ev[2])
            elif kind == "failed":
                self.failed.emit(ev[1], ev[2], ev[3], ev[4])

    # ---- lifetime ---------------------------------------------------------------------------------------
    def shutdown(self, timeout_s: float = 0.9) -> bool:
        """Stop the worker; True if it ended within the timeout (it stops at the running job's next yield)."""
        self._timer.stop()
        self._drain_timer.stop()
        self._queued = None
        if self._worker is None:
            return True
        self._worker.stop()
        ok = self._worker.join_for(timeout_s)
        if not ok:
            # Still inside one engine chunk: it exits at its next yield; joined at process exit.
            _ORPHANS.append(self._worker)
        self._worker = None
        return ok

    @property
    def thread(self) -> "_Worker | None":
        return self._worker


atexit.register(wait_for_orphans)
