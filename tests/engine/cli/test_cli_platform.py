"""Code paths for Windows and legacy consoles, exercised on any OS: UTF-8 streams, RAM, peak memory."""
import ctypes
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnqft_engine.bench import gpu_check
from nnqft_engine.cost import machine_memory_mb

ROOT = Path(__file__).resolve().parents[3]


def _cli(*argv, encoding="cp1252", extra=None):
    # PYTHONIOENCODING=cp1252 gives the streams a redirected Windows console has (Western code page).
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING=encoding, **(extra or {}))
    return subprocess.run([sys.executable, "-m", "nnqft_engine", *argv], capture_output=True, env=env, timeout=60,
                          check=False)


@pytest.mark.slow
def test_legacy_code_page_gets_utf8_help_and_errors_without_a_traceback():
    helped = _cli("theory", "--help")
    assert helped.returncode == 0, helped.stderr.decode("utf-8", "replace")
    assert "σ" in helped.stdout.decode("utf-8") and b"Traceback" not in helped.stderr
    usage = _cli("--help")
    assert usage.returncode == 0 and "φ⁴" in usage.stdout.decode("utf-8")
    bad = _cli("sample", "--sigma-w", "-1", "--x=0")
    assert bad.returncode == 2 and len(bad.stderr.decode("utf-8").strip().splitlines()) == 1
    assert bad.stdout == b""


def test_json_on_stdout_is_ascii_whatever_the_stream(capsys):
    from nnqft_engine.cli.main import main
    assert main(["kernel", "--activation", "erf", "--x=-1,0.5"]) == 0
    out = capsys.readouterr().out
    assert out.isascii() and isinstance(json.loads(out), dict)


class _FakeKernel32:
    """GlobalMemoryStatusEx as Windows answers it: fills ullTotalPhys of the structure passed by reference."""
    def __init__(self, total):
        self.total = total

    def GlobalMemoryStatusEx(self, ref):   # the Win32 name
        status = ref._obj
        assert status.dwLength == ctypes.sizeof(status)       # Windows refuses the call otherwise
        status.ullTotalPhys = self.total
        return 1


def test_windows_ram_comes_from_global_memory_status():
    assert machine_memory_mb("win32", _FakeKernel32(16 * 2**30)) == 16 * 1024
    assert math.isinf(machine_memory_mb("win32", _FakeKernel32(0)))       # a failed call: no limit invented


def test_posix_ram_matches_proc_meminfo():
    if not os.path.exists("/proc/meminfo"):
        pytest.skip("needs Linux's /proc/meminfo")
    with open("/proc/meminfo") as f:
        kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    # sysconf counts the same physical pages the kernel reports; MemTotal leaves out the kernel's reserve.
    assert kib / 1024 <= machine_memory_mb() <= kib / 1024 * 1.05


def test_gpu_check_imports_and_measures_without_the_posix_resource_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "resource", None)        # what `import resource` meets on Windows
    monkeypatch.setattr(gpu_check, "_windows_peak_working_set", lambda: 123.0 * 2**20)
    assert gpu_check.peak_rss_bytes() == 123.0 * 2**20


def test_peak_rss_is_this_process_on_posix():
    if os.name != "posix":
        pytest.skip("POSIX ru_maxrss")
    with open("/proc/self/status") as f:
        hwm = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM")), None)
    if hwm is None:
        pytest.skip("no VmHWM here")
    assert abs(gpu_check.peak_rss_bytes() - hwm) <= 0.05 * hwm
