"""A new result must not move the plots: a frame that resizes a plot redraws all its axes (2–4× a frame that
does not), and while a slider is dragged that was most of the GUI thread's busy time. Legends and notes keep
their room while results stream in (views/room.py), columns share the width equally (Canvas.equal_columns),
and the joint density's level lines are computed by the job (jobs/contours.py), checked here against
pyqtgraph's own isocurve and against a circle."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch  # noqa: F401 — torch before Qt, as in the app

pytest.importorskip("pytestqt")
import pyqtgraph as pg  # noqa: E402

from app.jobs.contours import level_line  # noqa: E402
from app.state import AppState  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_thread_left_running")


def _nearest(a: np.ndarray, b: np.ndarray) -> float:
    """The largest distance from a point of a to its nearest point of b."""
    return float(np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min(axis=1).max())


@pytest.mark.parametrize("level", [0.05, 0.3, 0.6])
def test_level_lines_are_pyqtgraphs_isocurve_points(level):
    x, y = np.linspace(-3, 3, 61), np.linspace(-2.5, 3.5, 71)
    gx, gy = np.meshgrid(x, y, indexing="ij")
    z = np.exp(-(gx**2 + 0.5 * gx * gy + gy**2) / 2) + 0.3 * np.exp(-3 * ((gx - 1.5) ** 2 + (gy - 2) ** 2))
    cx, cy = level_line(x, y, z, level)
    mine = np.c_[cx, cy][np.isfinite(cx)]
    ref = np.concatenate([np.asarray(line, float) - 0.5 for line in pg.functions.isocurve(z, level, connected=True)])
    ref = np.c_[x[0] + ref[:, 0] * (x[1] - x[0]), y[0] + ref[:, 1] * (y[1] - y[0])]
    assert len(mine) > 40
    assert _nearest(mine, ref) < 1e-9 and _nearest(ref, mine) < 1e-9
    assert np.isnan(cx[2::3]).all() and len(cx) % 3 == 0     # segments, each followed by a gap


def test_level_line_of_a_gaussian_is_its_circle():
    """z = e^{−r²/2} at level e^{−1/2}: radius 1, up to the edge interpolation's error h²·max|z″|/(8·min|z′|)."""
    x = np.linspace(-2, 2, 81)
    h = x[1] - x[0]
    gx, gy = np.meshgrid(x, x, indexing="ij")
    cx, cy = level_line(x, x, np.exp(-(gx**2 + gy**2) / 2), float(np.exp(-0.5)))
    r = np.hypot(cx, cy)[np.isfinite(cx)]
    # along an axis-parallel edge near r = 1: |z″| ≤ 2e^{−(1−h)²/2}·… bounded by 2, |z′| ≥ e^{−(1+h)²/2}·(1−h)/… ≥ 0.5
    bound = h**2 * 2.0 / (8 * 0.5)
    assert len(r) > 100 and np.abs(r - 1).max() < bound


def _plot_rects(view) -> list:
    view.canvas.ci.layout.activate()
    return [tuple(round(v, 3) for v in p.getViewBox().sceneBoundingRect().getRect()) for p in view._plots]


@pytest.mark.slow
def test_results_do_not_move_the_outputs_plots(open_window, qtbot):
    w = open_window(AppState(ensemble=1000), show=True)
    w.resize(1600, 1000)
    w.show_view("outputs")
    v = w.views["outputs"]
    rects: list = []
    receive = v.receive

    def recording(request_id, result):
        receive(request_id, result)
        rects.append(_plot_rects(v))
    v.receive = recording
    rects.clear()
    for width in (24, 32, 40, 48, 24, 32):
        w.update_state(width=width)
    assert len(rects) >= 6
    assert all(r == rects[0] for r in rects), "a result moved a plot"
    hist, joint = v._plots[0].getViewBox().sceneBoundingRect(), v._plots[1].getViewBox().sceneBoundingRect()
    outer = [v._cells[p].geometry().width() for p in v._plots[:2]]
    assert abs(outer[0] - outer[1]) < 1.0        # the two columns share the width equally
    assert hist.width() > 0 and joint.width() > 0
    # once the results pause, the room no longer needed is given back
    assert v._room.holding
    qtbot.waitUntil(lambda: not v._room.holding, timeout=5000)
    assert all(v._cells[p].layout.rowMinimumHeight(r) == 0 for p in v._plots for r in (1, 2)
               if r < v._cells[p].layout.rowCount())


def test_every_plot_draws_major_ticks_only_and_caches_its_axes(open_window):
    """A re-ranged axis redraws its ticks and the grid it carries; minor grid lines made that ~6× slower and
    were the GUI thread's longest stretches (README, self-test `gui_max_busy_ms`)."""
    from PySide6 import QtWidgets
    w = open_window(AppState())
    cached = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    for view in w.views.values():
        view.ensure_built()
        assert view._plots
        for plot in view._plots:
            for side in ("left", "bottom"):
                assert plot.getAxis(side).style["maxTickLevel"] == 0
            assert all(plot.getAxis(s).cacheMode() == cached for s in ("left", "bottom", "right", "top"))
