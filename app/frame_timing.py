"""Timings for the self-test: when each request was submitted, when its first result was really painted on
screen, and how long each GUI-thread handler (a change of settings, drawing a result) took."""
from __future__ import annotations

import collections
import contextlib
import time
from typing import Iterator


MAX_KEPT = 4096


class FrameTiming:
    def __init__(self):
        self.request_started: dict[int, float] = {}
        self.painted_at: dict[int, float] = {}       # request id → its first result on screen
        self.gui_work_ms: collections.deque = collections.deque(maxlen=2000)   # GUI-thread time per event
        self._unpainted: dict[str, int] = {}          # view key → id of a result drawn but not yet on screen
        self._submit_time = time.perf_counter()

    @contextlib.contextmanager
    def gui_work(self) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.gui_work_ms.append((time.perf_counter() - t0) * 1000)

    def submitting(self) -> None:
        """Called just before a submit: inline (test) runs deliver results inside submit()."""
        self._submit_time = time.perf_counter()

    def submitted(self, request_id: int) -> None:
        self.request_started[request_id] = self._submit_time
        # a long session makes tens of thousands of requests: keep the newest (flat memory)
        for d in (self.request_started, self.painted_at):
            if len(d) > MAX_KEPT:
                for rid in list(d)[: len(d) - MAX_KEPT // 2]:
                    del d[rid]

    def started(self, request_id: int) -> float:
        return self.request_started.get(request_id, self._submit_time)

    def drawn(self, key: str, request_id: int, visible: bool, now: float) -> None:
        """A result was drawn; a visible view's is stamped when its frame is really painted."""
        if visible:
            self._unpainted[key] = request_id
        else:
            self.painted_at.setdefault(request_id, now)

    def painted(self, key: str) -> bool:
        """The view's canvas painted a frame; True if it showed a result not yet on screen."""
        rid = self._unpainted.pop(key, None)
        if rid is None:
            return False
        self.painted_at.setdefault(rid, time.perf_counter())
        return True
