"""Test-wide setup: headless Qt before any QApplication exists; modest torch threading."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")


import threading  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402,F401 — before Qt, as in the launcher

from app.compat import install_refcount_guard  # noqa: E402

install_refcount_guard()   # what the launcher does at start-up (see app/compat.py)


@pytest.fixture
def no_thread_left_running():
    """Fail a test that leaves a compute thread running (napari's rule); app tests opt in."""
    yield
    from app.compute import LIVE_WORKERS
    running = [t.name for t in list(LIVE_WORKERS) if t.is_running()]
    running += [t.name for t in threading.enumerate() if t.name.startswith("nnqft") and t not in LIVE_WORKERS]
    assert not running, f"compute threads left running: {running}"


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module: on a shared 2-core box two threads per small tile mostly spin-wait."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
