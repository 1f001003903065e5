"""Workarounds for bugs in the libraries the app uses: each fenced to where it is needed and installed once at
start-up by the launcher (`__main__`) and the test suite, never as a side effect of an import.

PySide6 refcount bug. Measured here with PySide6 6.12.0 on CPython 3.11.7: every `Signal.emit()` from Python
drops one reference to True, and every Python slot called from Qt drops one to None. On CPython ≥ 3.12 these
singletons are immortal and nothing happens; on 3.11 their counts run down and the process aborts ("Fatal
Python error: bool_dealloc") after about a thousand signals — reproduced in a 15-line script with a plain
QObject, a Signal(object) and a Python slot (tests/app/test_app.py keeps that probe). No upstream report was
found. Rather than pin a version range we do not know, `install` runs the same probe (a handful of emits)
and adds head-room only where it sees the counts drop.
"""
from __future__ import annotations

import ctypes
import sys

HEADROOM = 10**12
_installed = False


def signals_leak_references(emits: int = 8) -> bool:
    """True if emitting a Qt signal to a Python slot lowers the reference counts of True or None."""
    from PySide6 import QtCore

    class _Probe(QtCore.QObject):
        fired = QtCore.Signal(object)

    probe = _Probe()
    probe.fired.connect(lambda _value: None)
    before = (sys.getrefcount(True), sys.getrefcount(None))
    for _ in range(emits):
        probe.fired.emit(0)
    after = (sys.getrefcount(True), sys.getrefcount(None))
    return any(a < b for a, b in zip(after, before))


def install_refcount_guard() -> bool:
    """Give None, True and False a huge surplus of references where the bug shows (CPython < 3.12, standard
    build): a surplus reference on an object that is never freed is harmless, and the bug cannot use up 10¹².
    Idempotent; True if the guard is (now) installed."""
    global _installed
    if _installed:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython" or not signals_leak_references():
        return False
    for obj in (None, True, False):
        refcnt = ctypes.c_ssize_t.from_address(id(obj))   # ob_refcnt is the first field of every object
        if refcnt.value < HEADROOM:
            refcnt.value += HEADROOM
    _installed = True
    return True
