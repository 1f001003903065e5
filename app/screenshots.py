"""Regenerate README screenshots from the real window: `python -m app.screenshots [OUT_DIR]`.

Runs offscreen and synchronously (every job to completion), one preset per view, and keeps each PNG small.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402,F401 — torch before Qt
from PySide6 import QtCore, QtWidgets  # noqa: E402

SHOTS = [("outputs", "3-priors"), ("outputs", "1-clt", {}, "outputs-clt"), ("correlators", "2-interactions"), ("training", "5-lazy"),
         ("kernels", "6-kernels"), ("field", "7-phi4"), ("depth", "8-depth"),
         ("correlators", "2-interactions", {"depth": 3, "activation": "erf", "sigma_w": 2.0, "title": "1/N interactions at depth 3", "caption":
          "beyond depth 1 the finite-N curve is the leading order in 1/N (errors O(1/N²)); the width sweep draws "
          "the same 1/N line for |G4c|"}, "correlators-depth3")]
MAX_BYTES = 300_000


def main(out_dir: str | None = None) -> int:
    from .main_window import MainWindow
    from .resources import resource_path
    from .state import AppState

    out = Path(out_dir) if out_dir else resource_path("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    settings = QtCore.QSettings(str(out / ".shots.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(AppState(), threaded=False, settings=settings)
    w.resize(1600, 960)
    w.show()
    presets = {p.name: p for p in w.presets}
    for key, preset, *extra in SHOTS:
        changes, name = extra if extra else ({}, key)
        if key not in w.views:
            continue
        view = w.views[key]
        if key == "training":
            view.playing = False
        if preset in presets:
            w.apply_preset(presets[preset])
        if changes:
            w.update_state(**changes)
        w.show_view(key)
        if key == "training":
            for _ in range(12):       # a few frames of training, then the picture
                view.step_once()
        for _ in range(3):   # axes size themselves while painting: let the layout catch up
            app.processEvents()
            w.grab()
        img = w.grab().toImage()
        path = out / f"{name}.png"
        for width in (1600, 1400, 1200, 1000):
            img.scaledToWidth(width, QtCore.Qt.TransformationMode.SmoothTransformation).save(str(path), "PNG", 9)
            if path.stat().st_size < MAX_BYTES:
                break
        print(f"{path} {path.stat().st_size // 1024} KB")
    w.shutdown()
    (out / ".shots.ini").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1] if len(sys.argv) > 1 else None)
    sys.stdout.flush()
    os._exit(code)
