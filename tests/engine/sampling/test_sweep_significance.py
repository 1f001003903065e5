"""The width sweep shows only what the data support (sampling/width_sweep.py): insignificant points are upper
limits, no slope from fewer than MIN_FIT_POINTS significant widths, and the "1/N interactions" preset's sweep
really shows |G4c| ∝ 1/N and |G6c| ∝ 1/N²."""
import json
from pathlib import Path

import numpy as np
import pytest

from nnqft_engine import NetworkSpec, SampleSettings, run_to_completion, width_sweep
from nnqft_engine.sampling.width_sweep import MIN_FIT_POINTS, SIGNIFICANCE, WidthSweepResult, fit_log_slope

PRESET = json.loads((Path(__file__).parents[3] / "resources/presets/2-interactions.json").read_text("utf-8"))


def synthetic(g6, g6_err, flagged=None) -> WidthSweepResult:
    widths = (2, 4, 8, 16, 32)
    k = len(widths)
    col = lambda a: np.asarray(a, dtype=float)[:, None]   # noqa: E731
    g4 = 1.0 / np.array(widths, dtype=float)
    s6, e6 = fit_log_slope(widths, g6, g6_err, flagged)
    s4, e4 = fit_log_slope(widths, g4, 0.01 * g4)
    return WidthSweepResult(
        x=np.array([[0.5]]), widths=widths, g2=np.ones((k, 1)), g2_err=np.full((k, 1), 0.01), g4c=col(g4),
        g4c_err=col(0.01 * g4), g6c=col(g6), g6c_err=col(g6_err), theory=(None,) * k,
        slope_g4c=np.array([s4]), slope_g4c_err=np.array([e4]), slope_g6c=np.array([s6]),
        slope_g6c_err=np.array([e6]), g4c_flagged=np.zeros((k, 1), bool),
        g6c_flagged=np.zeros((k, 1), bool) if flagged is None else col(flagged).astype(bool))


def test_insignificant_points_are_upper_limits_and_two_points_fit_no_slope():
    # Exact 1/N² values; the errors make only N = 2 and 4 significant (> 3σ), the rest noise.
    n = np.array([2, 4, 8, 16, 32], dtype=float)
    g6 = 8.0 / n**2
    err = np.array([0.1, 0.1, 0.1, 0.1, 0.1])
    res = synthetic(-g6, err)
    sig = res.significant("g6c")[:, 0]
    assert sig.tolist() == [True, True, False, False, False]
    up = res.upper_limit("g6c")[:, 0]
    assert np.isnan(up[:2]).all() and np.allclose(up[2:], g6[2:] + 2 * err[2:])
    assert np.isnan(res.slope_g6c[0]) and "2 of 5 widths significant" in res.slope_note("g6c")[0]
    assert res.slope_note("g4c") == [""] and res.slope_g4c[0] == pytest.approx(-1.0)
    # A third significant width: now a slope, from the significant points only.
    err3 = np.array([0.1, 0.1, 0.01, 0.1, 0.1])
    res3 = synthetic(-g6, err3)
    assert res3.significant("g6c")[:, 0].sum() == MIN_FIT_POINTS
    assert res3.slope_g6c[0] == pytest.approx(-2.0) and res3.slope_note("g6c") == [""]
    # A point the engine flags (no honest error) is neither significant nor fitted, however large.
    res_f = synthetic(-g6, err3, flagged=[False, False, True, False, False])
    assert np.isnan(res_f.slope_g6c[0]) and not res_f.significant("g6c")[2, 0]
    assert SIGNIFICANCE == 3.0


def _preset_spec() -> tuple[NetworkSpec, float]:
    s = PRESET["settings"]
    return NetworkSpec(activation=s["activation"], sigma_w=s["sigma_w"], sigma_b=s["sigma_b"], width=2), s["x1"]


def test_preset_g4c_slope_is_minus_one():
    spec, x1 = _preset_spec()
    res = run_to_completion(width_sweep(spec, [x1], (2, 4, 8, 16, 32, 64, 128), SampleSettings(ensemble=50_000,
                                                                                                seed=11)))
    assert res.significant("g4c").all()
    assert abs(res.slope_g4c[0] + 1.0) < 3 * res.slope_g4c_err[0] and res.slope_g4c_err[0] < 0.05


@pytest.mark.slow
def test_preset_g6c_is_significant_and_falls_as_one_over_n_squared():
    spec, x1 = _preset_spec()
    m = PRESET["settings"]["view_settings"]["correlators"]["sweep_ensemble"]
    res = run_to_completion(width_sweep(spec, [x1], (2, 4, 8, 16, 32), SampleSettings(ensemble=m, seed=12)))
    assert res.significant("g6c").sum() >= 4
    z = (res.g6c - res.theory_g6c()) / res.g6c_err
    assert np.all(np.abs(z) < 4), z
    assert abs(res.slope_g6c[0] + 2.0) < 3 * res.slope_g6c_err[0] and res.slope_g6c_err[0] < 0.15
