"""Theory at every depth in the app (Correlators, Outputs, width sweep: the deep 1/N recursion) and the Depth
view: phase diagram with a draggable point, correlation flow, excess kurtosis against depth."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch  # noqa: F401 — torch before Qt, as in the app

pytest.importorskip("pytestqt")

from app import jobs  # noqa: E402
from app.jobs import depth as depth_job  # noqa: E402
from app.session import load_presets  # noqa: E402
from app.state import AppState  # noqa: E402
from nnqft_engine import NetworkSpec  # noqa: E402
from nnqft_engine.theory.criticality import criticality  # noqa: E402
from nnqft_engine.theory.deep import deep_correlators  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_thread_left_running")
CRITICAL_RELU = dict(activation="relu", sigma_w=math.sqrt(2.0), sigma_b=0.0)


@pytest.fixture
def make_window(open_window):
    return open_window


def test_depth_view_builds_and_shows_a_result(make_window):
    w = make_window(AppState(width=16, ensemble=400, view="depth", **CRITICAL_RELU))
    w.show_view("depth")
    v = w.views["depth"]
    assert list(w.views).index("depth") == 5 and w.tabs.tabText(5).startswith("6")
    r = v.last_result
    assert r is not None and r.progress.done == r.progress.requested == 6 * 400
    assert np.all(np.isfinite(r.kurt_measured)) and np.all(np.isfinite(r.c_measured))
    assert r.point["chi_perp"] == pytest.approx(1.0) and r.sw_critical == pytest.approx(math.sqrt(2))
    assert np.allclose(r.boundary_sw, math.sqrt(2), atol=1e-9)   # relu: χ⊥ = σ_w²/2 at every σ_b
    assert "χ⊥ = 1" in v.numbers.text() and "edge of chaos" in v.numbers.text()
    assert v.finite_check()["ok"]
    # 15L/16 leaves the 1/N range (> 1) at L = 2, and the view says so
    assert "from L = 2" in v.kurt_note.toPlainText()


def test_dragging_the_point_updates_sigma_w_and_sigma_b(make_window, qtbot):
    w = make_window(AppState(width=8, ensemble=200, view="depth", **CRITICAL_RELU))
    w.show_view("depth")
    v = w.views["depth"]
    rid = v.last_request_id
    v.target.setPos(1.1, 0.4)                 # a drag in progress: throttled, applied by the timer
    assert v._drag_timer.isActive()
    qtbot.waitUntil(lambda: w.state.sigma_w == 1.1 and w.state.sigma_b == 0.4, timeout=3000)
    v.target.setPos(0.8, 0.25)
    v.target.sigPositionChangeFinished.emit(v.target)   # release: applied at once
    assert (w.state.sigma_w, w.state.sigma_b) == (0.8, 0.25)
    assert v.last_request_id > rid and v.last_result.sigma_w == 0.8
    # and the point follows the state when the controls move it
    w.update_state(sigma_w=1.3)
    assert v.target.pos().x() == pytest.approx(1.3)


@pytest.mark.parametrize("width", [64, 100])
def test_depth_theory_at_relu_criticality_grows_linearly_in_depth(width):
    spec = NetworkSpec(width=width, depth=6, **CRITICAL_RELU)
    kurt, reason = depth_job.kurtosis_theory(spec, 0.5)
    assert reason == ""
    # docs/physics.md §8: V^(ℓ+1) = 5K² + V^(ℓ), so G4c/G2² = 3V/(N K²) = 15L/N exactly at leading order
    assert np.allclose(kurt, 15.0 * depth_job.DEPTHS / width, rtol=1e-10)
    over = [L for L in depth_job.DEPTHS if 15.0 * L / width > 1.0]
    assert depth_job.leaves_range(kurt) == (int(over[0]) if over else None)   # N = 64: L = 5; N = 100: never
    # and the job yields it before any network is sampled
    first = next(depth_job.run(AppState(width=width, ensemble=100, **CRITICAL_RELU)))
    assert first.progress.done == 0 and np.allclose(first.kurt_theory, kurt)
    assert first.c_theory[0] == pytest.approx(-1.0) and first.c_theory[1] == pytest.approx(0.0, abs=1e-12)


def test_correlators_at_depth_3_draw_the_1_over_n_theory(make_window):
    state = AppState(width=16, depth=3, ensemble=1000, view="correlators", activation="erf", sigma_b=0.3,
                     view_settings={"correlators": {"width_sweep": False}})
    w = make_window(state)
    w.show_view("correlators")
    v = w.views["correlators"]
    r = v.last_result
    assert r.g4_theory is not None and r.g4_label == "1/N theory"
    assert "not available" not in v.g4_note.toPlainText()
    assert v.g4_plot.legend.getLabel(v.g4_theory).text == "1/N theory"
    pts = np.append(state.x1, r.grid)[:, None]
    ref = deep_correlators(w.state.network_spec(), pts)
    np.testing.assert_allclose(v.export_data()["g4c_pair_theory"], ref.g4c_pair[0, 1:], rtol=1e-12, atol=1e-15)
    fine = np.append(state.x1, r.fine)[:, None]
    np.testing.assert_allclose(r.g4_theory_fine, deep_correlators(w.state.network_spec(), fine).g4c_pair[0, 1:],
                               rtol=1e-12, atol=1e-15)


def test_width_sweep_line_at_depth_2_is_the_1_over_n_theory():
    spec = NetworkSpec(width=16, depth=2, activation="erf", sigma_w=1.5, sigma_b=0.2)
    for sp in (spec, spec.replace(prior="laplace")):   # laplace: G4c = A/N + κ₄σ_b⁴ (docs/physics.md §8.1)
        g4n, reason, const = jobs.correlators._deep_sweep_g4(sp, np.array([[0.8]]))
        assert reason == "" and const == pytest.approx((3.0 if sp.prior == "laplace" else 0.0) * 0.2**4)
        for n in jobs.correlators.SWEEP_WIDTHS:
            ref = deep_correlators(sp.replace(width=n), np.array([[0.8]])).g4c_diag[0]
            assert g4n / n + const == pytest.approx(ref, rel=1e-12)
    # an ensemble the deep theory does not cover: its sentence instead of a line
    g4n, reason, _ = jobs.correlators._deep_sweep_g4(spec.replace(prior="uniform", activation="relu"),
                                                     np.array([[0.8]]))
    assert g4n is None and "does not cover relu" in reason


def test_slow_activation_at_depth_says_computing_first_then_draws_theory():
    state = AppState(width=8, depth=3, ensemble=300, activation="tanh",
                     view_settings={"correlators": {"width_sweep": False}})
    results = list(jobs.correlators.run(state))
    assert results[0].g4_theory is None and results[0].fw_reason.endswith("computing…")
    assert results[-1].g4_theory is not None and len(results[-1].fine) == jobs.correlators.FINE_GRID_QUADRATURE


def test_outputs_at_depth_2_show_the_1_over_n_variance_and_kurtosis(make_window):
    state = AppState(width=16, depth=2, ensemble=1000, activation="erf", sigma_b=0.3)
    w = make_window(state)
    v = w.views["outputs"]
    r = v.last_result
    ref = deep_correlators(w.state.network_spec(), np.array([[state.x1], [state.x2]]))
    assert r.var_fw == pytest.approx(ref.g2[0, 0], rel=1e-12)
    assert r.kurt_fw == pytest.approx(ref.kurtosis[0], rel=1e-12)
    text = v.numbers.text()
    assert "1/N theory at this N" in text and f"{r.var_fw:.4g}" in text


def test_outputs_at_depth_2_with_the_laplace_prior_show_its_1_over_n_theory(make_window):
    state = AppState(width=16, depth=2, ensemble=500, activation="tanh", sigma_b=0.3, prior="laplace")
    w = make_window(state)
    r = w.views["outputs"].last_result
    ref = deep_correlators(w.state.network_spec(), np.array([[state.x1], [state.x2]]))
    assert r.var_fw == pytest.approx(ref.g2[0, 0], rel=1e-12)
    assert r.kurt_fw == pytest.approx(ref.kurtosis[0], rel=1e-12)


def test_outputs_at_depth_2_with_an_uncovered_prior_show_the_reason(make_window):
    w = make_window(AppState(width=16, depth=2, ensemble=500, prior="uniform", activation="relu"))
    r = w.views["outputs"].last_result
    assert r.var_fw is None and "does not cover relu" in r.fw_reason
    assert "does not cover relu" in w.views["outputs"].numbers.text()


def test_depth_preset_numbers_match_the_engine():
    preset = {p.name: p for p in load_presets()}["8-depth"]
    s = preset.state()
    assert s.view == "depth" and (s.activation, s.sigma_b, s.width) == ("relu", 0.0, 64)
    cp = criticality(s.activation, s.sigma_b, s.sigma_w)
    assert cp.chi_perp == pytest.approx(1.0, abs=1e-12) and cp.c_star == 1.0 and math.isinf(cp.correlation_depth)
    kurt, _ = depth_job.kurtosis_theory(s.network_spec(depth=6), s.x1)
    assert "χ⊥ = 1" in preset.caption and "15L/N" in preset.caption
    assert f"{kurt[0]:.2f} per layer at N = 64" in preset.caption           # 15/64 = 0.23
    assert depth_job.leaves_range(kurt) == 5 and "beyond L = 4" in preset.caption
