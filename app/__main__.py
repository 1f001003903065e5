"""Entry point: `nnqft`, `nnqft-gui`, `python -m app` (and the frozen executable).

Order matters: freeze_support first (frozen builds), torch before Qt (Windows DLL load order), the high-DPI
rounding policy before the QApplication exists.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time


def _ensure_streams() -> None:
    """A windowed build has no stdout/stderr: give Python somewhere harmless to write. A console in a legacy code
    page (Windows cp1252 when redirected) gets UTF-8, so a message with σ or φ cannot raise mid-sentence."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))
        elif (getattr(stream, "encoding", None) or "").lower().replace("-", "") != "utf8" \
                and hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")


def _parse(argv: list[str]):
    import argparse

    from .resources import resource_path

    presets = sorted(f.stem for f in resource_path("presets").glob("*.json"))
    p = argparse.ArgumentParser(prog="nnqft", description="NN-QFT Explorer: random networks as field theories.",
                                epilog="presets: " + ", ".join(presets))
    p.add_argument("session", nargs="?", help="a session file (.json) to open")
    p.add_argument("--preset", metavar="NAME", help="start with this preset (one of the names listed below)")
    p.add_argument("--self-test", metavar="OUT.json", help="run the offscreen self-test, write its report, exit")
    p.add_argument("--strict-timings", action="store_true",
                   help="with --self-test: also fail when the timing targets are missed")
    p.add_argument("--presentation", action="store_true",
                   help="start in presentation mode (with --self-test: check it, e.g. that the controls fit)")
    p.add_argument("--size", metavar="WxH", type=_size,
                   help="window size (with --presentation: the screen to fit, e.g. 1280x720)")
    p.add_argument("--export-dir", metavar="DIR", help="with --self-test: export every view (PNG, SVG, CSV, NPZ) here")
    p.add_argument("--theme", choices=("light", "dark"), help="colour theme")
    return p.parse_args(argv)


def _size(text: str) -> tuple[int, int]:
    import argparse
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 1280x720, not {text!r}") from None
    if w < 320 or h < 240:
        raise argparse.ArgumentTypeError("size must be at least 320x240")
    return w, h


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()
    t_start = time.perf_counter()
    _ensure_streams()
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from .qt_platform_check import choose_platform

    problem, platform = choose_platform()   # Linux/X11 only: name missing xcb libraries instead of Qt's guess
    if problem:
        print(problem, file=sys.stderr)
        return 1
    if platform:
        os.environ["QT_QPA_PLATFORM"] = platform
    import torch  # noqa: F401 — before Qt, always

    # One thread until a request asks for more (costing.threads, set in the worker per job): the live views'
    # torch calls are small, and on contended OpenMP threads small calls ran 5–20× slower.
    torch.set_num_threads(1)
    from PySide6 import QtCore, QtGui, QtWidgets

    QtGui.QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        QtCore.Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    from .compat import install_refcount_guard

    install_refcount_guard()
    app.setApplicationName("NN-QFT Explorer")
    app.setOrganizationName("nnqft")
    from .resources import icon_path

    if icon_path().exists():
        app.setWindowIcon(QtGui.QIcon(str(icon_path())))
    if args.self_test:
        from .selftest import run_self_test

        return _exit(run_self_test(args.self_test, t_start, strict_timings=args.strict_timings,
                                   presentation=args.presentation, size=args.size, export_dir=args.export_dir,
                                   theme=args.theme))

    from .main_window import MainWindow
    from .state import AppState

    window = MainWindow(AppState(), freeze_heap=True)
    if args.theme:
        window.update_state(theme=args.theme)
    if args.preset:
        match = [p for p in window.presets if p.name == args.preset]
        if not (match and window.apply_preset(match[0])):
            # A bad preset was skipped at load (its reason is in the status bar): say it and run on defaults.
            reason = next((e for e in window.errors if f"{args.preset}.json" in e), "")
            msg = reason or f"no preset named {args.preset!r}"
            print(f"nnqft: {msg}; starting with the default settings", file=sys.stderr)
            window.show_message(msg, error=True)
    if args.session and not window.open_session(args.session):
        print(f"nnqft: {window.sessions.last_error}; starting with the default settings", file=sys.stderr)
    if args.size:
        window.resize(*args.size)
    window.show()
    if args.presentation:
        window.set_presentation(True, size=args.size)
    code = app.exec()
    window.shutdown()
    return _exit(code)


def _exit(code: int) -> int:
    """Leave without Python's finalizer tearing down Qt, torch and pyqtgraph objects in arbitrary order
    (that teardown can crash after all work is done); workers are joined and streams flushed first."""
    from .compute import wait_for_orphans

    wait_for_orphans()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
