"""Work around a reference-count bug of PySide6 6.12 on Python < 3.12.

Measured here (PySide6 6.12.0, Python 3.11.7): every `Signal.emit()` from Python drops one reference to
True, and every Python slot called from Qt drops one reference to None. On Python ≥ 3.12 these singletons
are immortal and nothing happens; on 3.11 their counts run down with use and the process aborts with
"Fatal Python error: none_dealloc / bool_dealloc" after a few thousand signals. We give the three
singletons a huge head-room once, at import: a surplus reference on an object that is never freed anyway
is harmless, and the bug cannot exhaust 10¹² references.
"""
from __future__ import annotations

import ctypes
import sys

HEADROOM = 10**12


def _singletons() -> list:
    """Objects that are immortal on Python ≥ 3.12 (and shared singletons on 3.11): code built assuming
    immortality may hand them out without a reference."""
    return [None, True, False]


def install() -> bool:
    """True if the head-room was added (CPython < 3.12, standard build); idempotent."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    for obj in _singletons():
        refcnt = ctypes.c_ssize_t.from_address(id(obj))   # ob_refcnt is the first field of every object
        if refcnt.value < HEADROOM:
            refcnt.value += HEADROOM
    return True
