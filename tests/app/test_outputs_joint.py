"""The Outputs view's exact joint density of (f(x₁), f(x₂)) (docs/physics.md §4.6): on "CLT at work" (relu, N = 2)
its 39/86/99 % contours are drawn beside dashed NNGP ellipses, with the smoothing stated; it comes after the first
results (the first frame is not delayed); where it does not exist the joint plot says why."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch  # noqa: F401 — torch before Qt, as in the app

pytest.importorskip("pytestqt")
from PySide6 import QtCore  # noqa: E402

from app import jobs  # noqa: E402
from app.session import load_presets  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_thread_left_running")
HPD = (1 - np.exp(-0.5), 1 - np.exp(-2.0))


def _clt_state(**changes):
    preset = next(p for p in load_presets() if p.name == "1-clt")
    return dataclasses.replace(preset.state(), **{"ensemble": 2000, **changes})


@pytest.mark.slow
def test_clt_preset_draws_the_exact_joint_contours(open_window):
    w = open_window(_clt_state())
    v = w.views["outputs"]
    r = v.last_result
    j = r.joint
    assert j is not None and r.joint_reason == ""
    assert j.x == (1.0, -0.5) and j.width == 2
    # Three closed level lines inside the density's window, each through points where p equals its level.
    for item, level in zip(v.joint_lines, j.levels):
        x, y = item.getData()
        ok = np.isfinite(x)
        assert ok.sum() > 50
        i = np.clip(np.round((x[ok] - j.f1[0]) / (j.f1[1] - j.f1[0])).astype(int), 0, len(j.f1) - 1)
        k = np.clip(np.round((y[ok] - j.f2[0]) / (j.f2[1] - j.f2[0])).astype(int), 0, len(j.f2) - 1)
        near = j.p[i, k]
        assert np.median(np.abs(near - level)) < 0.5 * level
    assert v.joint_lines[0].name() == "exact joint density, N = 2 (39/86/99 %)"
    assert v.joint_lines[0].name() in [label.text for _, label in v.joint.legend.items]
    assert all(e.opts["pen"].style() == QtCore.Qt.PenStyle.DashLine for e in v.ellipses)
    assert "1.6 grid steps" in v.joint_note.toPlainText()
    assert "joint_density" in v.export_data()


@pytest.mark.slow
def test_erf_draws_the_exact_joint_contours_on_the_scatter(open_window):
    """A smooth activation (erf, N = 3, the priors preset with gaussian weights): contours from the back-projected
    density, and the sampled networks sit inside them as often as the contours say (±5 binomial SE)."""
    preset = next(p for p in load_presets() if p.name == "3-priors")
    w = open_window(dataclasses.replace(preset.state(), prior="gaussian", ensemble=20_000))
    v = w.views["outputs"]
    j = v.last_result.joint
    assert j is not None and v.last_result.joint_reason == "" and j.diagonal_mass == 0.0
    assert all(np.isfinite(item.getData()[0]).sum() > 50 for item in v.joint_lines)
    assert "1.6 grid steps" in v.joint_note.toPlainText()
    _scatter_inside_as_often_as_the_contours_say(v)


def _scatter_inside_as_often_as_the_contours_say(v):
    """The scatter plus the same smoothing noise has exactly the drawn law: the fraction of it inside the 39 % and
    86 % level sets (p read off bilinearly) is binomial around those masses (±5 SE)."""
    from scipy.interpolate import RegularGridInterpolator
    j = v.last_result.joint
    pts = v.last_result.scatter + np.random.default_rng(3).standard_normal(v.last_result.scatter.shape) * j.smooth
    p_at = RegularGridInterpolator((j.f1, j.f2), j.p, bounds_error=False, fill_value=0.0)(pts)
    for level, mass in zip(j.levels[:2], HPD):
        inside = (p_at >= level).mean()
        assert abs(inside - mass) < 5 * np.sqrt(mass * (1 - mass) / len(pts)), (inside, mass, len(pts))


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["sin", "cos"])
def test_sin_and_cos_draw_the_exact_joint_contours_at_small_n(open_window, activation):
    """sin and cos at N = 4, x = (1, −0.5) (σ_b = 0.3): the arcs' rays (neuron_cf_periodic), computed after the
    sample; the sampled networks sit inside the contours as often as they say."""
    w = open_window(_clt_state(activation=activation, width=4, sigma_b=0.3, ensemble=20_000))
    v = w.views["outputs"]
    j = v.last_result.joint
    assert j is not None and v.last_result.joint_reason == "" and j.x == (1.0, -0.5) and j.width == 4
    assert all(np.isfinite(item.getData()[0]).sum() > 50 for item in v.joint_lines)
    _scatter_inside_as_often_as_the_contours_say(v)


@pytest.mark.slow
@pytest.mark.parametrize("prior", ["laplace", "uniform"])
def test_relu_under_laplace_and_uniform_priors_draws_the_exact_joint_contours(open_window, prior):
    """"CLT at work" (relu, N = 2) switched to the laplace or uniform prior: the closed form over cones
    (neuron_cf_relu_cones) gives contours, and the sampled networks sit inside them as often as they say."""
    w = open_window(_clt_state(prior=prior, ensemble=20_000))
    v = w.views["outputs"]
    r = v.last_result
    j = r.joint
    assert j is not None and r.joint_reason == "" and 0.0 < j.diagonal_mass < 1.0
    assert all(np.isfinite(item.getData()[0]).sum() > 50 for item in v.joint_lines)
    assert "1.6 grid steps" in v.joint_note.toPlainText()
    from scipy.interpolate import RegularGridInterpolator
    pts = r.scatter + np.random.default_rng(3).standard_normal(r.scatter.shape) * j.smooth
    p_at = RegularGridInterpolator((j.f1, j.f2), j.p, bounds_error=False, fill_value=0.0)(pts)
    for level, mass in zip(j.levels[:2], HPD):
        inside = (p_at >= level).mean()
        assert abs(inside - mass) < 5 * np.sqrt(mass * (1 - mass) / len(pts)), (inside, mass, len(pts))


@pytest.mark.parametrize("change, why", [(dict(depth=2), "depth 1"), pytest.param(dict(activation="gelu", prior="student-t"), "2-D quadrature", marks=pytest.mark.slow),
                                         (dict(x2=1.0), "x₁ = x₂")])
def test_where_there_is_no_joint_density_the_view_says_why(open_window, change, why):
    w = open_window(_clt_state(**change))
    v = w.views["outputs"]
    r = v.last_result
    assert r.joint is None and why in r.joint_reason
    assert all(not len(item.getData()[0] if item.getData()[0] is not None else []) for item in v.joint_lines)
    assert "Exact joint density: not available" in v.joint_note.toPlainText()
    assert why in v.joint_note.toolTip().replace("\n", " ")
    assert all(e.opts["pen"].style() == QtCore.Qt.PenStyle.SolidLine for e in v.ellipses)


def test_the_first_results_come_before_the_joint_density():
    """The histogram's first frame is not delayed: the 1-D density comes from the second result on and the joint
    one after it, each once (cached for a repeated request)."""
    from app.jobs import joint_density as jj
    jj._CACHE.clear()
    state = _clt_state(ensemble=20_000, x2=-0.25)
    results = list(jobs.outputs.run(state))
    assert results[0].exact is None and results[0].joint is None and results[0].joint_reason is None
    first_joint = next(i for i, r in enumerate(results) if r.joint is not None)
    first_exact = next(i for i, r in enumerate(results) if r.exact is not None)
    assert first_joint > first_exact > 0
    assert results[-1].joint is results[first_joint].joint
    spec = state.network_spec()
    assert not jj.needs_work(spec, 1.0, -0.25)


def _priors_state(**changes):
    preset = next(p for p in load_presets() if p.name == "3-priors")
    return dataclasses.replace(preset.state(), **{"prior": "gaussian", "ensemble": 20_000, **changes})


def test_a_joint_density_too_long_between_chunks_comes_after_the_sample(monkeypatch, open_window):
    """Over the between-chunks budget (lowered here, so that erf at N = 3, ~1.5e7 terms, exceeds it) but within
    MAX_WORK: the sample runs to its end first, saying the joint density comes after it, then the joint
    density arrives — the same one an unhurried request computes."""
    from app.jobs import joint_density as jj
    from app.jobs import outputs
    jj._CACHE.clear()
    monkeypatch.setattr(outputs, "INTERACTIVE_WORK", 1e5)
    state = _priors_state(ensemble=200_000)   # several chunks: the joint density is asked for between them
    results = list(jobs.outputs.run(state))
    last = results[-1]
    assert last.joint is not None and last.joint_reason == "" and not any(r.joint for r in results[:-1])
    waiting = results[-2]
    assert waiting.progress.done == state.ensemble and waiting.joint_after_sample and waiting.joint_reason is None
    jj._CACHE.clear()
    spec = state.network_spec()
    assert np.array_equal(last.joint.p, jj.exact_joint(spec, state.x1, state.x2).p)
    w = open_window(state)
    v = w.views["outputs"]
    v.show_result(waiting)
    assert v.joint_note.toPlainText() == "Exact joint density: computing after the sample (~1 s)…"


def test_a_joint_density_over_the_full_budget_is_refused_with_its_cost(monkeypatch):
    from app.jobs import joint_density as jj
    from app.jobs import outputs
    jj._CACHE.clear()
    monkeypatch.setattr(outputs, "INTERACTIVE_WORK", 1e5)
    monkeypatch.setattr(outputs, "MAX_WORK", 2e5)
    last = list(jobs.outputs.run(_priors_state(ensemble=5000)))[-1]
    assert last.joint is None and "over the budget of 2e+05" in last.joint_reason


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["gelu", "silu", "sin"])
def test_priors_preset_with_a_one_minimum_or_periodic_activation_draws_the_exact_joint_contours(open_window,
                                                                                                activation):
    """The Priors preset (laplace, N = 3, x = ±1) switched to gelu or silu (the folded laplace rays,
    neuron_cf_fold_priors) or sin (the arcs' geometric series, neuron_cf_periodic_laplace; refused before at every
    N); the sampled networks sit inside the contours as often as they say."""
    preset = next(p for p in load_presets() if p.name == "3-priors")
    w = open_window(dataclasses.replace(preset.state(), activation=activation, ensemble=20_000))
    v = w.views["outputs"]
    j = v.last_result.joint
    assert j is not None and v.last_result.joint_reason == "" and w.state.prior == "laplace"
    assert all(np.isfinite(item.getData()[0]).sum() > 50 for item in v.joint_lines)
    _scatter_inside_as_often_as_the_contours_say(v)


@pytest.mark.slow
def test_priors_preset_under_student_t_with_sin_draws_the_exact_joint_contours(open_window):
    """The Priors preset (x = ±1, σ_w = 2, σ_b = 0.1) switched to the student-t prior (ν = 6), sin, N = 16: one phasor
    per weight (neuron_cf_periodic_student_t; the parameter rule refused below N ≈ 16384 before); the sampled networks
    sit inside the contours as often as they say."""
    preset = next(p for p in load_presets() if p.name == "3-priors")
    w = open_window(dataclasses.replace(preset.state(), activation="sin", prior="student-t", width=16,
                                        ensemble=20_000))
    v = w.views["outputs"]
    j = v.last_result.joint
    assert j is not None and v.last_result.joint_reason == "" and w.state.prior == "student-t"
    assert all(np.isfinite(item.getData()[0]).sum() > 50 for item in v.joint_lines)
    _scatter_inside_as_often_as_the_contours_say(v)
