"""The Outputs view's exact finite-N density (docs/physics.md §4.3): on the "CLT at work" preset (relu, N = 2) it
is carried, normalised, non-negative, spiked at 0 (both neurons off) far above the NNGP Gaussian, and drawn;
under the rademacher prior f has atoms and the exact probability per bin is drawn; where there is no exact law
(depth 2) the plot says why instead."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch  # noqa: F401 — torch before Qt, as in the app

pytest.importorskip("pytestqt")
from scipy.integrate import simpson  # noqa: E402

from app.session import load_presets  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_thread_left_running")


@pytest.fixture
def clt_window(open_window):
    """A synchronous window on the CLT preset with a small ensemble (the density does not depend on it)."""
    preset = next(p for p in load_presets() if p.name == "1-clt")
    state = dataclasses.replace(preset.state(), ensemble=2000)
    return open_window(state)


def _chi2_sf(r, bin_probability: np.ndarray) -> tuple[float, int]:
    """(χ² survival probability, bins used) of the histogram's counts against the expected probability per bin,
    over the bins expecting ≥ 20 networks."""
    from scipy import stats
    n = r.progress.done
    counts, expected = r.density * np.diff(r.edges) * n, bin_probability * n
    keep = expected >= 20
    chi2 = float((((counts[keep] - expected[keep]) ** 2) / expected[keep]).sum())
    return float(stats.chi2.sf(chi2, keep.sum())), int(keep.sum())


def _exact_and_gaussian_sf(r) -> tuple[float, float, int]:
    """χ² survival probabilities of the histogram against the exact density's bin means and against the NNGP
    Gaussian on the same bins (the bins where the exact density expects ≥ 20 networks)."""
    from scipy import stats
    exact = r.exact.bin_mean * np.diff(r.edges)
    sf_exact, used = _chi2_sf(r, exact)
    gauss = np.diff(stats.norm.cdf(r.edges / np.sqrt(r.k[0, 0])))
    sf_gauss, _ = _chi2_sf(r, np.where(exact * r.progress.done >= 20, gauss, 0.0))
    return sf_exact, sf_gauss, used


def test_clt_preset_carries_and_draws_the_exact_density_with_its_spike(clt_window):
    w = clt_window
    v = w.views["outputs"]
    r = v.last_result
    assert (r.width, r.depth, w.state.activation) == (2, 1, "relu")
    e = r.exact
    assert e is not None and r.exact_reason == ""
    # Normalised: σ_b > 0, so the atom p_off^N = 1/4 is the bias-density spike inside p (nothing outside it).
    assert e.atom_weight == pytest.approx(0.25) and e.atom_in_p
    assert simpson(e.p, x=e.f) == pytest.approx(1.0 - (0.0 if e.atom_in_p else e.atom_weight), abs=1e-6)
    assert np.all(e.p >= 0)
    # The spike: near 0 the density towers over the NNGP Gaussian's peak (1/√(2πK)).
    gauss_peak = 1.0 / np.sqrt(2 * np.pi * r.k[0, 0])
    near0 = np.abs(e.f) < 0.05
    assert e.p[near0].max() > 4.0 * gauss_peak
    # Bin-averaged, as the histogram sees it: the same probability per bin as the density.
    assert np.sum(e.bin_mean * np.diff(r.edges)) == pytest.approx(simpson(e.p[(e.f >= r.edges[0])
                                                                              & (e.f <= r.edges[-1])],
                                                                         x=e.f[(e.f >= r.edges[0])
                                                                               & (e.f <= r.edges[-1])]),
                                                                 abs=1e-4)
    # Drawn: the curve holds the density, with its spike; the legend names it with N; the y-range shows the peak.
    x, y = v.exact_curve.getData()
    assert np.array_equal(x, e.f) and np.array_equal(y, e.p)
    assert v.exact_curve.name() == "exact (N = 2)"
    assert "exact (N = 2)" in [label.text for _, label in v.hist.legend.items]
    assert "Edgeworth (truncated)" == v.edge_curve.name()
    assert v.hist.getViewBox().viewRange()[1][1] >= e.p.max()
    assert "Spike at 0" in v.hist_note.toPlainText() and "histogram" in v.hist_note.toolTip()
    assert "exact_density" in v.export_data()
    # The truncated Edgeworth series goes negative here: hidden, with its reason.
    assert np.nanmin(r.edgeworth) < 0 and not len(v.edge_curve.getData()[0] or [])
    assert "Edgeworth series: negative, hidden" in v.hist_note.toPlainText()


@pytest.mark.parametrize("change, why", [(dict(depth=2), "depth 1"), (dict(prior="rademacher", depth=2), "depth 1")])
def test_where_there_is_no_exact_density_the_view_says_why(clt_window, change, why):
    w = clt_window
    w.update_state(**change)
    v = w.views["outputs"]
    r = v.last_result
    assert r.exact is None and why in r.exact_reason
    x, _ = v.exact_curve.getData()
    assert x is None or not len(x)
    assert "exact (N = 2)" not in [label.text for _, label in v.hist.legend.items]
    note = v.hist_note.toPlainText()
    # the note gives the reason's first clause (at most ~70 characters of it), the tooltip all of it
    assert "Exact density: not available" in note and why in v.hist_note.toolTip().replace("\n", " ")


def test_without_bias_the_rademacher_atom_at_zero_sits_mid_bin_and_the_histogram_agrees(clt_window):
    # relu, σ_b = 0: f = 0 when the active neurons' signs cancel (weight 0.31 at N = 3), which float32 leaves
    # ±1 ulp off 0. With 0 an edge, ~10 % of that atom was counted in the bin left of it (χ² p ≈ 0).
    w = clt_window
    w.update_state(prior="rademacher", sigma_b=0.0, width=3, ensemble=20_000)
    r = w.views["outputs"].last_result
    centre = int(np.searchsorted(r.edges, 0.0)) - 1
    assert r.edges[centre] < 0 < r.edges[centre + 1] and r.edges[centre + 1] == pytest.approx(-r.edges[centre])
    sf, used = _chi2_sf(r, r.exact.bin_mean * np.diff(r.edges))
    assert sf > 1e-4 and used >= 5, (sf, used)


def test_under_the_rademacher_prior_the_exact_law_is_drawn_per_bin(clt_window):
    # f takes finitely many values: no density, the exact probability of each bin over its width instead.
    w = clt_window
    w.update_state(prior="rademacher", ensemble=20_000)
    v = w.views["outputs"]
    r = v.last_result
    e = r.exact
    assert e is not None and r.exact_reason == "" and e.atoms > 10
    assert np.sum(e.bin_mean * np.diff(r.edges)) == pytest.approx(1.0, abs=1e-12)   # every atom inside ±4.5 sd
    sf, used = _chi2_sf(r, e.bin_mean * np.diff(r.edges))
    assert sf > 1e-4 and used >= 10, (sf, used)
    x, y = v.exact_curve.getData()
    assert np.array_equal(y[1:-1:2], e.bin_mean)
    assert "exact per bin (N = 2)" in [label.text for _, label in v.hist.legend.items]
    assert f"takes {e.atoms} values" in v.hist_note.toPlainText() and "no density" in v.hist_note.toolTip()
    assert v.hist.getViewBox().viewRange()[1][1] >= e.bin_mean.max()
    # the joint: its atoms smoothed like the densities' (docs/physics.md §4.3), contours drawn, named a law
    j = r.joint
    assert j is not None and r.joint_reason == "" and j.atoms >= e.atoms
    assert "exact joint law, N = 2 (39/86/99 %)" in [label.text for _, label in v.joint.legend.items]
    assert len(v.joint_lines[0].getData()[0]) and f"takes {j.atoms} values" in v.joint_note.toPlainText()


@pytest.mark.parametrize("dof, infinite", [(6.0, "κ₆ = ∞"), (4.5, "κ₆ = ∞"), (8.0, None)])
def test_the_edgeworth_series_says_which_cumulant_the_prior_makes_infinite(clt_window, dof, infinite):
    """Student-t ν ≤ 6: E[a⁶] diverges, so κ₆ (and with it the series) does not exist; ν = 8 has all three."""
    w = clt_window
    w.update_state(prior="student-t", prior_dof=dof, activation="tanh", width=8)
    v = w.views["outputs"]
    note = v.hist_note.toPlainText()
    if infinite:
        assert v.last_result.edgeworth is None
        assert f"Edgeworth series: not available ({infinite})" in note.replace("\u00a0", " ")
        assert "too heavy" in v.hist_note.toolTip()
    else:
        assert v.last_result.edgeworth is not None and "Edgeworth series: not available" not in note


def test_exact_density_is_the_gaussian_at_large_width_and_fast():
    from nnqft_engine import NetworkSpec, histogram_edges
    from app.jobs.exact_density import exact_density

    spec = NetworkSpec(activation="relu", width=100_000, sigma_w=1.5, sigma_b=0.1)
    k = 0.01 + 2.25 * (2.25 + 0.01) / 2
    edges = histogram_edges(np.array([np.sqrt(k)]), bins=72, width_sd=4.5)[0]
    e = exact_density(spec, 1.0, edges)
    gauss = np.exp(-0.5 * e.f**2 / k) / np.sqrt(2 * np.pi * k)
    assert np.abs(e.p - gauss).max() < 1e-3 * gauss.max()
    assert e.seconds < 2.0


@pytest.mark.parametrize("prior", ["laplace", "uniform"])
def test_clt_preset_switched_to_a_non_gaussian_prior_still_draws_the_exact_density(clt_window, prior):
    """relu × laplace/uniform at N = 2 (refused until the one-active-neuron law moved to f-space): drawn from the
    inversion's own grid, with its spike, which also tops the bin averages."""
    w = clt_window
    w.update_state(prior=prior)
    v = w.views["outputs"]
    r = v.last_result
    e = r.exact
    assert e is not None and r.exact_reason == "", r.exact_reason
    assert e.atom_weight == pytest.approx(0.25) and e.atom_in_p and np.all(e.p >= 0)
    assert np.all(np.diff(e.f) > 0)
    x, y = v.exact_curve.getData()
    assert np.array_equal(x, e.f) and np.array_equal(y, e.p)
    assert e.p[np.abs(e.f) < 0.05].max() > 4.0 / np.sqrt(2 * np.pi * r.k[0, 0])   # the spike over the Gaussian
    assert np.all(e.bin_mean >= 0)
    assert r.edges[np.argmax(e.bin_mean)] <= 0.0 <= r.edges[np.argmax(e.bin_mean) + 1]   # the spike's bin is the highest


@pytest.mark.parametrize("activation, prior", [("sin", "laplace"), ("cos", "student-t")])
def test_sin_and_cos_under_heavy_tailed_priors_draw_the_exact_density(clt_window, activation, prior):
    """Refused before (sin/cos × laplace, student-t at N = 2): now drawn, and the bin averages agree with the
    histogram of the preset's 50 000 networks (χ² over bins expecting ≥ 20; fixed seed)."""
    w = clt_window
    w.update_state(activation=activation, prior=prior, ensemble=50_000)
    v = w.views["outputs"]
    r = v.last_result
    e = r.exact
    assert e is not None and r.exact_reason == "", r.exact_reason
    assert np.all(e.p >= 0) and e.atom_weight == 0.0
    x, y = v.exact_curve.getData()
    assert np.array_equal(x, e.f) and np.array_equal(y, e.p)
    sf_exact, sf_gauss, used = _exact_and_gaussian_sf(r)
    assert used > 30 and sf_exact > 1e-4 and sf_gauss < 1e-6     # the NNGP is rejected on the same bins


@pytest.mark.parametrize("prior", ["gaussian", "uniform", "laplace", "student-t"])
def test_relu_without_biases_draws_the_exact_density_and_its_atom(clt_window, prior):
    """relu with σ_b = 0 (refused before: a logarithmic spike no Fourier grid resolves): gaussian a closed form,
    uniform k ≤ 2 and laplace, student-t (ν = 6) k ≤ 4 active neurons in f-space and the rest inverted; the
    all-off atom ¼ drawn as a point mass; bin averages plus the atom agree with the histogram of 50 000 networks
    (χ², fixed seed)."""
    from PySide6 import QtWidgets
    w = clt_window
    w.update_state(sigma_b=0.0, prior=prior, ensemble=50_000)
    v = w.views["outputs"]
    r = v.last_result
    e = r.exact
    assert e is not None and r.exact_reason == "", r.exact_reason
    assert e.atom_weight == pytest.approx(0.25) and not e.atom_in_p and np.all(np.isfinite(e.p) & (e.p >= 0))
    assert v.atom_line.isVisible() and "point mass 0.25" in v.hist_note.toPlainText()
    # its label stays inside the plot, right of the line (centred on it, it ran over the y axis' tick labels)
    w.set_presentation(True, (1280, 720))   # large fonts, small plot: where it overlapped
    w.show()
    QtWidgets.QApplication.processEvents()
    v.atom_line.label.updatePosition()
    label, box = v.atom_line.label.sceneBoundingRect(), v.hist.getViewBox().sceneBoundingRect()
    assert box.left() <= label.left() and label.right() <= box.right()
    expected = e.bin_mean * np.diff(r.edges)
    expected[np.searchsorted(r.edges, 0.0, side="right") - 1] += e.atom_weight   # the atom's bin
    sf, used = _chi2_sf(r, expected)
    assert used > 30 and sf > 1e-4


@pytest.mark.parametrize("prior, activation, width", [("uniform", "gelu", 1), ("uniform", "cos", 1),
                                                     ("uniform", "sin", 2), ("uniform", "linear", 2),
                                                     ("laplace", "gelu", 2)])
def test_small_networks_draw_the_exact_density_where_it_was_refused(clt_window, prior, activation, width):
    """Refused before: under uniform gelu and cos at N = 1 (f-space was only for monotone φ), sin and linear at
    N = 2 (their Φ ~ t⁻³ never converged; now the two-neuron f-space law); gelu × laplace at N = 2 (now g₁ ⊛ q in
    f-space). The bin averages against the histogram of 50 000 networks (χ², fixed seed); the NNGP Gaussian
    rejected on the same bins."""
    w = clt_window
    w.update_state(activation=activation, prior=prior, width=width, ensemble=50_000)
    r = w.views["outputs"].last_result
    e = r.exact
    assert e is not None and r.exact_reason == "", r.exact_reason
    assert np.all(e.p >= 0) and e.atom_weight == 0.0
    sf_exact, sf_gauss, used = _exact_and_gaussian_sf(r)
    assert used > 30 and sf_exact > 1e-4 and sf_gauss < 1e-6     # the NNGP is rejected on the same bins


def test_a_refusal_note_drops_only_a_subject_the_note_already_names():
    """"Exact density: not available — needs i.i.d. parameters …": the reason's "the exact … density" goes where a
    verb follows it; a subject with a qualifier stays whole (stripped, it read "for sin … is a quadrature")."""
    from app.views.outputs_view import _brief
    assert _brief("the exact output density needs i.i.d. parameters (independence 'none')") \
        == "needs i.i.d. parameters (independence 'none')"
    qualified = "the exact joint density for sin under the uniform prior is slow"
    assert _brief(qualified) == qualified
    long = "the exact joint density for sin under the uniform prior is a 2-D quadrature of a ridge here: too slow"
    assert _brief(long).startswith("the exact joint density for sin") and _brief(long).endswith("(hover for why)")
