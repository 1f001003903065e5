"""The app through its real worker thread: cancellation, stale results, slider storms, closing mid-computation,
and the offscreen self-test of the real entry point."""
from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import numpy as np
import pytest
import torch  # noqa: F401 — torch before Qt

pytest.importorskip("pytestqt")
from PySide6 import QtCore  # noqa: E402

from app.compute import ComputeController  # noqa: E402
from app.controls import width_to_slider  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.state import AppState  # noqa: E402
from nnqft_engine import run_to_completion  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_thread_left_running")


@pytest.fixture
def window(open_window):
    return open_window(AppState(ensemble=2000, width=16), threaded=True, pause_training=False, check_shutdown=False)


def test_newer_request_cancels_older_job_at_its_next_yield_and_its_results_are_dropped(qtbot):
    c = ComputeController()
    closed, seen = [], []
    c.result.connect(lambda key, rid, item: seen.append((rid, item)) if c.is_current(key, rid) else None)

    def endless():
        try:
            i = 0
            while True:
                time.sleep(0.005)
                i += 1
                yield {"i": i}
        finally:
            closed.append(True)

    def short():
        yield from ({"j": j} for j in range(3))

    first = c.submit("v", endless)
    qtbot.waitUntil(lambda: any(r == first for r, _ in seen), timeout=5000)
    with qtbot.waitSignal(c.finished, timeout=5000):
        second = c.submit("v", short)
    qtbot.waitUntil(lambda: closed == [True], timeout=2000)
    later = [r for r, _ in seen[[r for r, _ in seen].index(second):]]
    assert set(later) == {second} and [it["j"] for r, it in seen if r == second][-1] == 2
    assert not c.is_current("v", first)
    assert c.shutdown()


@pytest.mark.slow
def test_thousand_random_control_changes_end_on_plots_of_the_final_settings(window, qtbot):
    rng = random.Random(1234)
    ctl = window.controls
    window.update_view_settings("correlators", width_sweep=False)   # keeps the final recomputation short
    finished = set()
    window.compute.finished.connect(lambda _key, rid: finished.add(rid))
    moves = [
        lambda: ctl.width_slider.setValue(rng.randint(0, width_to_slider(200))),
        lambda: ctl.depth.setValue(rng.randint(1, 2)),
        # closed-form activations: quadrature kernels (tanh, gelu…) are correct but slow on 2 shared cores
        lambda: ctl.activation.setCurrentText(rng.choice(["relu", "erf", "sin", "cos", "linear", "gauss-net"])),
        lambda: ctl.prior.setCurrentIndex(rng.randrange(ctl.prior.count())),
        lambda: ctl.sigma_w.setValue(rng.uniform(0.2, 3.0)),
        lambda: ctl.sigma_b.setValue(rng.uniform(0.0, 1.0)),
        lambda: ctl.x1.setValue(rng.uniform(-2, 2)),
        lambda: ctl.x2.setValue(rng.uniform(-2, 2)),
        lambda: ctl.seed.setValue(rng.randint(0, 1000)),
        lambda: ctl.independence.setCurrentText(rng.choice(["none", "shared-scale"])),
        lambda: ctl.independence_strength.setValue(rng.uniform(0, 1)),
        lambda: ctl.parameterization.setCurrentIndex(rng.randrange(2)),
        lambda: window.show_view(rng.choice(["outputs", "correlators", "kernels"])),
    ]
    for i in range(1000):
        rng.choice(moves)()
        if i % 7 == 0:
            qtbot.wait(1)
    view = window.current_view()
    rid = window.compute.latest[view.key]
    qtbot.waitUntil(lambda: rid in finished and view.last_request_id == rid, timeout=120_000)
    assert rid == window.compute.latest[view.key]
    assert not [e for e in window.errors if "could not draw" in e]
    # The plots hold exactly what a fresh synchronous computation of the final settings gives.
    qtbot.wait(200)
    expected = run_to_completion(view.make_job(AppState.from_dict({"device": "cpu"}, base=window.state))())
    got = view.last_result
    for key, value in vars(expected).items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, getattr(got, key)), f"{view.key}: {key} differs from the final settings"


def test_closing_during_a_long_computation_exits_within_one_second(window, qtbot):
    window.update_state(width=2000, ensemble=1_000_000)
    rid = window.compute.latest["outputs"]
    qtbot.waitUntil(lambda: rid in window.painted_at, timeout=60_000)
    assert window.views["outputs"].last_result.progress.done < 1_000_000     # still running
    thread = window.compute.thread
    t0 = time.perf_counter()
    window.close()
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0 and not thread.is_running()


@pytest.mark.slow
def test_self_test_of_the_real_entry_point_without_stdout(tmp_path):
    out = tmp_path / "selftest.json"
    code = ("import sys; sys.stdout = None; sys.stderr = None; from app.__main__ import main; "
            f"main(['--self-test', {str(out)!r}])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    report = json.loads(out.read_text())
    assert res.returncode == 0, report
    assert report["ok"] and report["device"] and report["versions"]["torch"]
    assert set(report["views"]) >= {"outputs", "correlators", "training", "kernels"}
    assert all(v["ok"] for v in report["views"].values())
    t = report["timings"]
    assert t["slider_latency_ms"]["n"] >= 20 and t["first_frame_s"] > t["startup_s"] > 0
    # one thread at start-up; each view's request chose its own (the defaults' small calls: one)
    assert report["threads"]["startup"] == 1 and report["threads"]["cores"] >= 1
    assert set(report["threads"]["per_view"]) >= {"outputs", "correlators", "training", "kernels"}
    assert set(report["threads"]["per_view"].values()) == {1}


@pytest.mark.slow
def test_hidden_views_are_built_after_the_first_frame_and_switch_without_rebuilding(window, qtbot):
    """Start-up builds only the visible view; the others follow a plot at a time once the first frame is on
    screen, so a later tab switch finds them ready (and a half-built view completes on demand)."""
    hidden = [v for k, v in window.views.items() if k != "outputs"]
    assert not any(v.built for v in hidden)
    window.show()
    qtbot.waitUntil(lambda: bool(window.painted_at), timeout=60_000)
    qtbot.waitUntil(lambda: all(v.built for v in hidden), timeout=30_000)
    plots = {k: list(v._plots) for k, v in window.views.items()}
    for key in window.views:
        window.show_view(key)
        assert window.views[key]._plots == plots[key]     # the same plot items: nothing built twice
    assert not window.errors


def test_a_half_built_view_completes_when_it_is_needed(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(AppState(ensemble=500, width=8), threaded=False, settings=settings)
    qtbot.addWidget(w)
    view = w.views["kernels"]
    assert view.build_step() and not view.built       # one plot made
    w.show_view("kernels")                            # shown: the rest at once, then drawn
    assert view.built and view.last_result is not None and view.finite_check()["ok"]
    assert len(view._plots) == 3
    w.shutdown()
