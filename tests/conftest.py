"""Test-wide setup: headless Qt before any QApplication exists; modest torch threading."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")


import threading  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402 — before Qt, as in the launcher

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


# --- Running in parallel (pytest-xdist, `-n 2` from pyproject.toml) ----------------------------------------------
# The numerical references are single-threaded quadrature and sampling, so two workers halve the suite's wall time
# on two cores. Tests that time the app or the CLI (latency, cancellation, first frame) or wait on a window's
# threads must not share the machine with a busy neighbour: they are `exclusive` and run while the other worker
# waits. Two lock files make that fair: an exclusive test closes the gate (no new test starts), then waits for the
# running one; every other test passes the gate and holds the main lock shared.
_EXCLUSIVE_DIRS = ("tests/app/", "tests/packaging/")
_EXCLUSIVE_FILES = ("tests/engine/cli/test_cli_fuzz.py",)


def pytest_configure(config):
    config.addinivalue_line("markers", "exclusive: runs alone under pytest-xdist (it times the code or a window)")


def pytest_collection_modifyitems(config, items):
    root = str(config.rootpath).rstrip("/") + "/"
    for item in items:
        rel = str(item.path).removeprefix(root)
        if rel.startswith(_EXCLUSIVE_DIRS) or rel in _EXCLUSIVE_FILES:
            item.add_marker(pytest.mark.exclusive)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    worker = getattr(item.config, "workerinput", None)
    if worker is None:                      # not under xdist: nothing to share
        yield
        return
    import fcntl
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.gettempdir()) / f"nnqft-tests-{worker['testrunuid']}"
    folder.mkdir(exist_ok=True)
    exclusive = item.get_closest_marker("exclusive") is not None
    threads = torch.get_num_threads()
    with open(folder / "gate", "a+") as gate, open(folder / "main", "a+") as main:
        if exclusive:
            fcntl.flock(gate, fcntl.LOCK_EX)
            fcntl.flock(main, fcntl.LOCK_EX)
        else:
            fcntl.flock(gate, fcntl.LOCK_SH)
            fcntl.flock(main, fcntl.LOCK_SH)
            fcntl.flock(gate, fcntl.LOCK_UN)
            torch.set_num_threads(1)        # one core each: two workers' OpenMP threads would contend
        try:
            yield
        finally:
            torch.set_num_threads(threads)
            fcntl.flock(main, fcntl.LOCK_UN)
            fcntl.flock(gate, fcntl.LOCK_UN)
