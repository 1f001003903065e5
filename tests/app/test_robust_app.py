"""Robustness of the app through its real worker thread: requests costed before they run, long computations
cancellable (close and newer requests stop them quickly), device failures recognised by type and retried on
the CPU. Time limits are scaled by the machine's measured slowdown (it is shared and loaded)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

pytest.importorskip("pytestqt")
from PySide6 import QtCore  # noqa: E402

from app import costing  # noqa: E402
from app.compute import is_device_failure  # noqa: E402
from app.device_manager import DeviceManager  # noqa: E402
from app.state import AppState  # noqa: E402
from nnqft_engine import SpecError  # noqa: E402
from nnqft_engine.cancel import Cancelled, cancel_scope, check_cancelled  # noqa: E402
from nnqft_engine.theory.kernels import kernels  # noqa: E402
from nnqft_engine import NetworkSpec  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_thread_left_running")

# The reference workload takes about this long on an idle core of the development machine.
REFERENCE_S = 0.06


def slowdown() -> float:
    """How much slower this machine is now than an idle development core (≥ 1): best of 3 timings of a fixed
    numpy + torch workload."""
    a = np.random.default_rng(0).standard_normal((200, 200))
    t = torch.randn(64, 256, 256, dtype=torch.float64)
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(5):
            a @ a
            np.cos(a * 1.1).sum()
        torch.bmm(t, t)
        best = min(best, time.perf_counter() - t0)
    return max(1.0, best / REFERENCE_S)


@pytest.fixture(scope="module")
def factor():
    f = slowdown()
    print(f"slowdown factor {f:.2f}")
    return f


@pytest.fixture
def make_window(open_window):
    return lambda state=None, devices=None, threaded=True: open_window(
        state or AppState(ensemble=2000, width=16), devices=devices, threaded=threaded, pause_training=False,
        check_shutdown=False)


# ---- cancellation in the engine ---------------------------------------------------------------------------
def test_check_cancelled_is_a_no_op_without_a_scope_and_raises_inside_one():
    check_cancelled()
    flag = [False]
    with cancel_scope(lambda: flag[0]):
        check_cancelled()
        flag[0] = True
        with pytest.raises(Cancelled):
            check_cancelled()
    check_cancelled()   # the scope is gone


def test_the_scope_is_per_thread():
    seen = []
    with cancel_scope(lambda: True):
        t = threading.Thread(target=lambda: (check_cancelled(), seen.append("ran")))
        t.start()
        t.join()
    assert seen == ["ran"]


def test_a_quadrature_kernel_stops_at_its_next_check(factor):
    spec = NetworkSpec(activation="gelu", depth=6, input_dim=1)
    x = np.linspace(-3, 3, 42)[:, None]
    t_start = time.perf_counter()
    with cancel_scope(lambda: time.perf_counter() - t_start > 0.2):
        with pytest.raises(Cancelled):
            kernels(spec, x)
    assert time.perf_counter() - t_start < 0.2 + 0.25 * factor


# ---- costing ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key,settings,words", [
    ("training", dict(depth=2, width=2000, train_ensemble=1024), "memory"),
    ("training", dict(depth=3, width=1000, train_ensemble=512), "memory"),
    ("training", dict(width=8192, train_ensemble=512), "step"),
    ("field", dict(view_settings={"field": dict(dim=3, cutoff=3.0, box=6.0, width=1000, sampler="mcmc")}), "width"),
    ("field", dict(view_settings={"field": dict(dim=3, cutoff=6.0, box=6.0, width=2000)}), "cutoff"),
])
def test_requests_over_the_budgets_are_refused_with_one_sentence(key, settings, words):
    state = AppState(device="cpu", **settings)
    with pytest.raises(SpecError) as info:
        costing.check(key, state)
    msg = str(info.value)
    assert words in msg and "lower" in msg and "\n" not in msg


@pytest.mark.parametrize("key", ["outputs", "correlators", "kernels", "training", "field"])
def test_the_default_settings_and_presets_fit_the_budgets(key):
    from app.session import load_presets
    costing.check(key, AppState(device="cpu"))
    for p in load_presets():
        st = p.state()
        costing.check(st.view if st.view in costing.COSTS else "outputs", AppState.from_dict({"device": "cpu"}, base=st))


def test_a_refused_request_keeps_the_state_and_the_last_plots_and_says_so(make_window, qtbot):
    w = make_window(AppState(ensemble=2000, width=16, view="training", train_ensemble=16))
    view = w.views["training"]
    view.playing = False
    qtbot.waitUntil(lambda: view.last_result is not None, timeout=60_000)
    before = view.last_result
    assert w.update_state(depth=2, width=2000, train_ensemble=1024)
    assert w.state.width == 2000 and w.state.train_ensemble == 1024          # the state is kept
    note = w.refusal_note("training")
    assert "memory" in note and "last valid settings" in note
    assert w.refusal.isVisibleTo(w) and w.refusal.textFormat() == QtCore.Qt.TextFormat.PlainText
    qtbot.wait(300)
    assert view.last_result is before                                         # nothing new was drawn
    assert w.update_state(depth=1, width=16, train_ensemble=16)
    qtbot.waitUntil(lambda: view.last_result is not before, timeout=60_000)
    assert not w.refusal_note("training") and not w.refusal.isVisibleTo(w)


def test_a_job_failure_leaves_a_note_on_the_view(make_window, qtbot, monkeypatch):
    w = make_window()
    qtbot.waitUntil(lambda: w.views["outputs"].last_result is not None, timeout=60_000)
    import app.jobs.outputs as outputs

    def boom(*a, **k):
        raise ValueError("the estimate cannot be formed here")
        yield
    monkeypatch.setattr(outputs, "_results", boom)
    w.update_state(width=17)
    qtbot.waitUntil(lambda: "cannot be formed" in w.refusal_note("outputs"), timeout=30_000)
    assert "last valid settings" in w.refusal_note("outputs")


# ---- cancellation through the real worker -------------------------------------------------------------------
SLOWEST = {
    # the slowest computation of each view that the budgets still allow
    "outputs": dict(depth=6, width=800, activation="gelu", ensemble=1_000_000),
    "correlators": dict(depth=6, width=500, activation="gelu", ensemble=1_000_000),
    "kernels": dict(depth=6, activation="gelu", x_min=-10.0, x_max=10.0),
    "training": dict(width=8192, train_ensemble=128, activation="gelu"),
    "field": dict(view_settings={"field": dict(dim=2, cutoff=4.0, box=4.0, width=64, sampler="mcmc",
                                               ensemble=20_000)}),
}


def _start_slowest(make_window, qtbot, key):
    w = make_window(AppState(view=key, **SLOWEST[key]))
    costing.check(key, AppState.from_dict({"device": "cpu"}, base=w.state))   # within the budgets
    if key == "training":
        w.views["training"].playing = True
    qtbot.waitUntil(lambda: w.scheduler.running == key, timeout=30_000)
    qtbot.wait(700)                                   # well inside the computation
    assert w.compute.job_errors == []
    return w


@pytest.mark.parametrize("key", list(SLOWEST))
def test_closing_during_the_slowest_computation_of_each_view_exits_within_one_second(make_window, qtbot, factor,
                                                                                      key):
    w = _start_slowest(make_window, qtbot, key)
    thread = w.compute.thread
    assert thread is not None and thread.is_alive()
    t0 = time.perf_counter()
    w.close()
    if thread.is_alive():
        thread.join(1.0 * factor)
    elapsed = time.perf_counter() - t0
    print(f"{key}: closed in {elapsed * 1000:.0f} ms")
    assert not thread.is_alive()
    assert elapsed < 1.0 * factor, f"{key}: closing took {elapsed:.2f} s (slowdown {factor:.2f})"


@pytest.mark.parametrize("key", list(SLOWEST))
def test_a_newer_request_stops_the_old_computation_quickly(make_window, qtbot, factor, key):
    w = _start_slowest(make_window, qtbot, key)
    old_thread_job = w.scheduler.running
    started = []
    original = w.compute._run_job

    def timed(req, stale, post):
        started.append(time.perf_counter())    # the worker is free: the old job has stopped
        original(req, stale, post)
    w.compute._run_job = timed                  # the running (old) job entered before the patch
    small = dict(view_settings={"field": dict(dim=1, width=8, ensemble=640)}) if key == "field" else \
        dict(depth=1, width=8, activation="relu", ensemble=500, train_ensemble=8)
    t0 = time.perf_counter()
    w.update_state(**small)
    qtbot.waitUntil(lambda: bool(started), timeout=int(10_000 * factor))
    elapsed = started[0] - t0
    print(f"{key}: newer request started {elapsed * 1000:.0f} ms after the change")
    assert old_thread_job == key
    assert elapsed < 0.2 * factor, f"{key}: the old job stopped {elapsed:.2f} s after the newer request"


# ---- device failures ----------------------------------------------------------------------------------------
class _FakeCudaError(RuntimeError):
    pass


FAILURES = {
    "oom": lambda: torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 5.40 GiB"),
    "torch_oom": lambda: getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)("Tried to allocate 2 GiB"),
    "driver": lambda: RuntimeError("CUDA error: an illegal memory access was encountered"),
    "cudnn": lambda: RuntimeError("cuDNN error: CUDNN_STATUS_EXECUTION_FAILED"),
    "cublas": lambda: RuntimeError("CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
    "assert": lambda: RuntimeError("device-side assert triggered"),
    "mps": lambda: RuntimeError("MPS backend out of memory (MPS allocated: 1.2 GB)"),
    "hip": lambda: RuntimeError("HIP error: hipErrorNoDevice"),
}
if hasattr(torch, "AcceleratorError"):
    FAILURES["accelerator"] = lambda: torch.AcceleratorError("unspecified launch failure")


@pytest.mark.parametrize("kind", list(FAILURES))
def test_accelerator_errors_are_classified_by_type_and_origin(kind):
    assert is_device_failure(FAILURES[kind]())


@pytest.mark.parametrize("exc", [ValueError("cuda"), RuntimeError("shape mismatch"), KeyError("mps"),
                                 MemoryError("out of memory"), TypeError("cudnn")])
def test_ordinary_errors_are_not_device_failures(exc):
    assert not is_device_failure(exc)


@pytest.mark.parametrize("kind,mid_chunk", [("oom", False), ("driver", False), ("cudnn", True), ("cublas", True),
                                            ("mps", False), ("assert", True)])
def test_injected_device_failures_fall_back_to_the_cpu_once(make_window, qtbot, monkeypatch, kind, mid_chunk):
    """'cuda' looks available; the job raises the accelerator's error (at once or after a first chunk) on it."""
    import app.jobs.outputs as outputs
    real = outputs._results
    calls = []

    def failing(spec, pts, grid, settings, func_settings):
        calls.append(settings.device)
        if settings.device != "cpu":
            if mid_chunk:
                gen = real(spec, pts, grid, settings.replace(device="cpu"), func_settings.replace(device="cpu"))
                yield next(gen)
            raise FAILURES[kind]()
        yield from real(spec, pts, grid, settings, func_settings)

    monkeypatch.setattr(outputs, "_results", failing)
    tracebacks = []
    monkeypatch.setattr("traceback.print_exc", lambda *a, **k: tracebacks.append(1))
    w = make_window(AppState(device="cuda", ensemble=2000, width=16),
                    devices=DeviceManager(resolve=lambda n: torch.device("cuda")))
    view = w.views["outputs"]
    qtbot.waitUntil(lambda: "cuda" in w.devices.failed and "cpu" in calls
                    and view.last_request_id == w.compute.latest["outputs"] and view.last_result is not None
                    and view.last_result.progress.done == 2000, timeout=60_000)
    assert calls.count("cuda") == 1 and "cpu" in calls
    assert sum("falling back to the CPU" in e for e in w.errors) == 1
    assert w.device_label.startswith("CPU") and not tracebacks and not w.compute.job_errors
    assert not w.refusal_note("outputs")


# ---- non-finite estimates -------------------------------------------------------------------------------------
def test_overflowed_moments_give_no_kurtosis_rather_than_zero():
    from nnqft_engine import EnsembleStats
    for values in (torch.tensor([[1.0], [2.0], [float("inf")], [3.0]], dtype=torch.float64),
                   torch.tensor([[1e200], [-1e300], [1e300], [-1e200]], dtype=torch.float64)):
        stats = EnsembleStats(1)
        stats.update(0, values)
        est = stats.estimate()
        assert np.isnan(est.kurtosis[0]) and not np.isfinite(est.kurtosis_err[0])
    stats = EnsembleStats(1)                 # constant outputs keep kurtosis 0 (no spread, no tails)
    stats.update(0, torch.zeros(8, 1, dtype=torch.float64))
    assert stats.estimate().kurtosis[0] == 0.0


def test_the_outputs_view_shows_a_dash_not_zero_for_non_finite_moments():
    from app.views.outputs_view import _pm
    assert "—" in _pm(float("nan"), float("nan"), "+.3g") and "0 ± 0" not in _pm(float("nan"), 0.0, "+.3g")


def test_inputs_too_large_for_floating_point_are_refused_at_the_control():
    with pytest.raises(SpecError, match="x1 must be a number between"):
        AppState(x1=1e300).validate()
    AppState(x1=1e6).validate()


# ---- memory ---------------------------------------------------------------------------------------------------
def test_a_kept_training_run_is_released_when_its_settings_move_on(make_window, qtbot):
    w = make_window(AppState(ensemble=2000, width=16, train_ensemble=16), threaded=False)
    w.views["training"].playing = False           # inline runs must not train on and on
    w.show_view("training")
    job = w.views["training"].job
    assert job._run is not None and job._run.trainer is not None
    w.update_state(lr=0.5)                        # the learning rate does not define the run: kept
    assert job._run is not None
    w.show_view("outputs")
    w.update_state(width=40)                      # the ensemble changed while another view is shown: dropped
    assert job._run is None
