"""CPU threads chosen per request (app/costing.threads on nnqft_engine.threads.choose_threads): the live
views' small torch calls run on one thread (on contended OpenMP threads they ran 5–20× slower), big work gets
more, the worker runs each job with its count and restores it, and the status bar names it."""
from __future__ import annotations

import pytest
import torch  # noqa: F401 — torch before Qt

pytest.importorskip("pytestqt")

from app import costing  # noqa: E402
from app.compute import ComputeController  # noqa: E402
from app.state import AppState  # noqa: E402
from nnqft_engine import threads as engine_threads  # noqa: E402
from nnqft_engine.threads import SMALL_WORK, choose_threads  # noqa: E402


@pytest.mark.parametrize("key", sorted(costing.COSTS))
def test_live_views_at_their_defaults_get_one_thread(key, monkeypatch):
    monkeypatch.setattr(engine_threads, "available_cores", lambda: 16)   # even on a big machine
    cost = costing.estimate(key, AppState(device="cpu"))
    assert 0 < cost.call_elements < SMALL_WORK
    assert costing.threads(cost, "cpu") == 1


def test_big_work_gets_more_threads_and_accelerators_are_left_alone(monkeypatch):
    monkeypatch.setattr(engine_threads, "available_cores", lambda: 16)
    big = costing.estimate("training", AppState(device="cpu", train_ensemble=4096, width=512))
    assert big.call_elements >= 4 * SMALL_WORK
    assert costing.threads(big, "cpu") == choose_threads(int(big.call_elements), cores=16) > 1
    assert costing.threads(big, "cuda") is None
    assert costing.threads(None, "cpu") == 1


def _threads_seen(controller: ComputeController, qtbot, threads):
    seen = []
    controller.result.connect(lambda key, rid, item: seen.append(item))

    def job():
        yield torch.get_num_threads()
    with qtbot.waitSignal(controller.finished, timeout=10_000):
        controller.submit("t", job, threads)
    return seen[-1]


def test_the_worker_runs_each_job_with_its_threads_and_restores_them(qtbot):
    c = ComputeController()
    try:
        before = _threads_seen(c, qtbot, None)          # the worker's own setting
        assert _threads_seen(c, qtbot, 2) == 2
        assert _threads_seen(c, qtbot, 1) == 1
        assert _threads_seen(c, qtbot, None) == before  # restored after each job
    finally:
        assert c.shutdown(5.0)


def test_inline_jobs_restore_the_callers_threads(qtbot):
    c = ComputeController(threaded=False)
    before = torch.get_num_threads()
    assert _threads_seen(c, qtbot, 1 if before > 1 else 2) != before
    assert torch.get_num_threads() == before


def test_the_status_bar_names_the_threads_of_the_request(open_window, qtbot):
    w = open_window(AppState(ensemble=500, width=8, device="cpu"))
    w.request_compute("outputs")
    assert w.scheduler.threads["outputs"] == 1
    assert w.device_label == "CPU (1 thread)"
    assert "CPU (1 thread)" in w.status.device.text()
