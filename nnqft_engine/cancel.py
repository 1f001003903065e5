"""Cooperative cancellation for long engine computations, free of Qt and of threads' machinery.

A caller that may want to stop a computation early (the app's worker thread) installs a check with
`cancel_scope(is_cancelled)`; engine loops call `check_cancelled()` at least every ~50 ms of work (per
kernel layer and quadrature block, per field tile and MCMC step, per sampling chunk), and it raises
`Cancelled` once the check says so. Without a scope (the CLI, tests, scripts) `check_cancelled()` is a
no-op, so results never depend on it. The check is thread-local: a scope in one thread never stops
another thread's computation.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Callable, Iterator

__all__ = ["Cancelled", "cancel_scope", "check_cancelled", "cancellation_installed", "installed_check"]


class Cancelled(Exception):
    """The computation was stopped by its caller (a newer request, or the app closing)."""


_local = threading.local()


def check_cancelled() -> None:
    """Raise `Cancelled` if this thread's installed check says stop; a no-op without one."""
    check = getattr(_local, "check", None)
    if check is not None and check():
        raise Cancelled("cancelled")


def cancellation_installed() -> bool:
    return getattr(_local, "check", None) is not None


def installed_check() -> Callable[[], bool] | None:
    """This thread's installed check (None without one): to hand on to helper threads of the same work."""
    return getattr(_local, "check", None)


@contextlib.contextmanager
def cancel_scope(is_cancelled: Callable[[], bool]) -> Iterator[None]:
    """Within the block, `check_cancelled()` in this thread raises once `is_cancelled()` is true."""
    previous = getattr(_local, "check", None)
    _local.check = is_cancelled
    try:
        yield
    finally:
        _local.check = previous
