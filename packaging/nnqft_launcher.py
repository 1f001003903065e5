"""Entry script of the frozen app (PyInstaller runs this file as __main__).

`app/__main__.py` cannot be the entry script itself: frozen, it would run outside its package and its relative
imports would fail. freeze_support() comes first so that a multiprocessing child never re-opens the window.

The self-test times its first frame from the start of app's main(); what the bootloader and the interpreter spent
before that is part of a cold start too. When NNQFT_LAUNCH_TIMING names a file (build_installer.py sets it), the
seconds from process creation to here are written there (Linux, from /proc; 10 ms resolution).
"""
import multiprocessing
import os
import sys
import time


def _seconds_since_process_start():
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, after the command name
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _report_launch_time():
    target = os.environ.get("NNQFT_LAUNCH_TIMING")
    if target:
        pre_main = _seconds_since_process_start()
        with open(target, "w") as f:
            f.write('{"pre_main_s": %s, "at": %r}\n' % ("null" if pre_main is None else round(pre_main, 3),
                                                        time.time()))


if __name__ == "__main__":
    multiprocessing.freeze_support()
    _report_launch_time()
    from app.__main__ import main

    sys.exit(main())
