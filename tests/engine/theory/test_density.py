"""Exact depth-1 output density (docs/physics.md §4.3) against 10⁶ sampled networks, with its spike at 0, and
against an independent inversion under the laplace prior at small N (the Priors preset)."""
import json
import math

import numpy as np
import pytest
from _density_references import smoothed_marginal
from scipy import stats

from nnqft_engine import NetworkSpec, SampleSettings, SpecError, sample_outputs
from nnqft_engine.cli.main import main
from nnqft_engine.theory.density import output_density

SPEC = NetworkSpec(activation="relu", width=2, sigma_w=1.5, sigma_b=0.1)
PRIORS = NetworkSpec(activation="erf", width=3, prior="laplace", sigma_w=2.0, sigma_b=0.1)   # the "Priors" preset


def _bin_mass(d, edges):
    """Expected probability per bin: the density integrated over each bin (trapezoid on the fine grid)."""
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (d.p[1:] + d.p[:-1]) * np.diff(d.f))])
    return np.diff(np.interp(edges, d.f, cdf))


@pytest.mark.slow
def test_relu_n2_density_matches_a_million_networks_chi_square():
    d = output_density(SPEC, 1.0)
    f = sample_outputs(SPEC, [1.0], SampleSettings(ensemble=10**6, seed=11, dtype="float64"))
    f = np.asarray(f, dtype=np.float64).ravel()
    sb = SPEC.sigma_b
    # Fine bins over the spike (±4σ_b around 0), coarser ones in the bulk, open tails merged at both ends.
    spike = np.linspace(-4 * sb, 4 * sb, 33)
    bulk = np.linspace(-8.0, 8.0, 161)
    edges = np.unique(np.concatenate([bulk[np.abs(bulk) > 4 * sb + 1e-9], spike]))
    counts, _ = np.histogram(f, edges)
    expected = _bin_mass(d, edges) * len(f)
    keep = expected > 20
    chi2 = float((((counts - expected) ** 2) / expected)[keep].sum())
    pval = stats.chi2.sf(chi2, keep.sum() - 1)
    assert pval > 1e-4, (chi2, keep.sum())
    # The spike alone: the mass within ±4σ_b (atom weight p_off^N = 1/4 plus the bulk's share) agrees to 4 SE.
    inside = (np.abs(f) < 4 * sb).mean()
    want = _bin_mass(d, np.array([-4 * sb, 4 * sb]))[0]
    assert abs(inside - want) < 4 * math.sqrt(want * (1 - want) / len(f))
    assert d.atom_weight == pytest.approx(0.25)


@pytest.mark.parametrize("kw", [pytest.param(dict(activation="relu", width=2, sigma_w=1.5, sigma_b=0.1),
                                             marks=pytest.mark.slow),
                                dict(activation="tanh", width=3, sigma_w=1.5, sigma_b=0.3),
                                pytest.param(dict(activation="erf", width=4, sigma_w=2.0, sigma_b=0.3,
                                                  prior="uniform"), marks=pytest.mark.slow),
                                dict(activation="erf", width=3, sigma_w=2.0, sigma_b=0.1, prior="laplace"),
                                dict(activation="tanh", width=3, sigma_w=2.0, sigma_b=0.1, prior="uniform")])
def test_density_is_normalised_non_negative_with_the_right_variance(kw):
    d = output_density(NetworkSpec(**kw), 1.0)
    assert np.all(d.p >= 0)
    assert d.clipped_mass < 1e-10
    assert np.trapezoid(d.p, d.f) == pytest.approx(1.0, abs=1e-6)
    assert np.trapezoid(d.p * d.f**2, d.f) == pytest.approx(d.variance, rel=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("h", [0.05, 0.2])
def test_priors_preset_density_smoothed_is_an_independent_inversion(h):
    """Its Φ decays only like t⁻⁵ (laplace bias and readout, N = 3). Convolved with N(0, h²) it must equal the
    smoothed density from adaptive quadrature (_density_references.smoothed_marginal). Measured: 1.9e-9 (h = 0.05)
    and 8.4e-10 (h = 0.2) of the peak."""
    pts = np.array([-3.0, -1.0, -0.3, 0.0, 0.2, 1.5])
    u = np.linspace(-9 * h, 9 * h, 361)
    d = output_density(PRIORS, -1.0, grid=(pts[:, None] + u[None, :]).ravel())
    kernel = np.exp(-0.5 * (u / h) ** 2) / (math.sqrt(2 * math.pi) * h)
    mine = np.trapezoid(d.p.reshape(len(pts), -1) * kernel, u, axis=1)
    want = smoothed_marginal(PRIORS, -1.0, h, pts)
    np.testing.assert_allclose(mine, want, rtol=0, atol=1e-8 * want.max())


@pytest.mark.slow
@pytest.mark.parametrize("spec", [PRIORS, NetworkSpec(activation="tanh", width=2, sigma_w=1.5, sigma_b=0.3,
                                                      prior="student-t", prior_dof=5.0)])
def test_heavy_prior_density_matches_a_million_networks_chi_square(spec):
    """The Priors preset (laplace) and a Student-t prior at N = 2 (its Bessel-function ψ read from a table)."""
    d = output_density(spec, 1.0)
    f = np.asarray(sample_outputs(spec, [1.0], SampleSettings(ensemble=10**6, seed=11, dtype="float64"))).ravel()
    edges = np.linspace(-9.0, 9.0, 181)        # bins of 0.07 sd: the peak's shape is resolved
    counts, _ = np.histogram(f, edges)
    expected = _bin_mass(d, edges) * len(f)
    keep = expected > 20
    chi2 = float((((counts - expected) ** 2) / expected)[keep].sum())
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-4, (chi2, keep.sum())


def test_large_width_density_is_the_nngp_gaussian():
    spec = NetworkSpec(activation="relu", width=20000, sigma_w=1.5, sigma_b=0.3)
    d = output_density(spec, 0.8)
    k = spec.sigma_b**2 + spec.sigma_w**2 * (0.8**2 * spec.sigma_w**2 + spec.sigma_b**2) / 2  # relu: E[relu²] = q/2
    gauss = np.exp(-0.5 * d.f**2 / k) / math.sqrt(2 * math.pi * k)
    assert d.variance == pytest.approx(k, rel=1e-12)
    assert np.abs(d.p - gauss).max() < 2e-3 * gauss.max()  # the 1/N correction: κ₄/σ⁴ ~ 1e-4


def test_cli_theory_density_key(capsys):
    assert main(["theory", "--activation", "relu", "--width", "50", "--sigma-w", "1.5", "--x", "1,0.5",
                 "--density"]) == 0
    out = json.loads(capsys.readouterr().out)
    f, p = np.array(out["density"]["f"]), np.array(out["density"]["p"])
    assert f.shape == p.shape and np.trapezoid(p, f) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("kw, words", [
    # gelu × laplace at N = 4 with a small σ_b: gelu nears 0 as z → −∞, so Φ decays slowly (N ≤ 3: f-space)
    (dict(activation="gelu", width=4, sigma_w=1.5, sigma_b=0.01, prior="laplace"), "decays slowly"),
])
def test_an_inversion_too_large_is_refused_before_it_is_built(kw, words, monkeypatch):
    """The engine refuses with a sentence (the app shows it) instead of building it."""
    import nnqft_engine.theory.density as density
    monkeypatch.setattr(density, "_checked", lambda *a: pytest.fail("the inversion was started"))
    with pytest.raises(SpecError) as err:
        output_density(NetworkSpec(**kw), 1.0)
    assert words in str(err.value)
    assert density.MAX_TERMS <= 2e8


def test_an_inversion_over_the_term_budget_is_refused_before_it_is_built(monkeypatch):
    """sin × uniform at N = 3: a z-quadrature per Fourier point (~1e7 terms here); with the budget below that, the
    sentence names the terms and nothing is built."""
    import nnqft_engine.theory.density as density
    monkeypatch.setattr(density, "_checked", lambda *a: pytest.fail("the inversion was started"))
    monkeypatch.setattr(density, "MAX_TERMS", 1e4)
    with pytest.raises(SpecError, match="terms"):
        output_density(NetworkSpec(activation="sin", width=3, sigma_w=2.0, sigma_b=0.1, prior="uniform"), 1.0)


@pytest.mark.parametrize("dof", [30.0, 100.0])
def test_student_t_at_large_dof_keeps_its_mass_and_variance(dof):
    """relu × student-t at large ν (σ_b = 1, N = 1 and 5): the variance against its closed form
    σ_b² + σ_w²(σ_w²x² + σ_b²)/2 and the grid's mass and second moment. The prior's reach once stopped at
    10^{16/(ν−2)} (3.7 at ν = 30, 1.5 at ν = 100): the variance came out 2.6 % and 57 % low."""
    for n in (1, 5):
        d = output_density(NetworkSpec(activation="relu", width=n, sigma_w=1.5, sigma_b=1.0, prior="student-t",
                                       prior_dof=dof), 1.0)
        assert d.variance == pytest.approx(1.0 + 2.25 * (2.25 + 1.0) / 2, rel=1e-12)
        assert np.trapezoid(d.p, d.f) == pytest.approx(1.0, abs=1e-9)
        assert np.trapezoid(d.p * d.f**2, d.f) == pytest.approx(d.variance, rel=1e-8)


# |∫p − 1| by the trapezoid over the returned grid. What is left is not the spike's: the one-active law (in f-space,
# laplace and uniform) curves on the scale of σ_b to 1 around 0, and the window's grid (~1/100 of the standard
# deviation) takes its trapezoid to O(δf²): 1e-5 (laplace, plus its spike's cusp, (√2/100)²/12 of the spike's
# mass at 100 points per σ_b), 4e-6 (uniform); student-t: the tails beyond the window.
_SPIKE_MASS_TOL = {"gaussian": 1e-9, "uniform": 5e-6, "student-t": 2e-6, "laplace": 2e-5}


@pytest.mark.parametrize("prior", ["gaussian", "laplace", "uniform", "student-t"])
@pytest.mark.parametrize("sb,n", [(0.1, 1), (0.1, 2), (0.01, 1), (0.01, 2)])
def test_relu_bias_spike_holds_its_mass_on_the_grid(prior, sb, n):
    """relu's all-off spike (the bias density, width σ_b) sits on a grid fine enough for it: the window's grid
    (≥ span/40000) once missed it — the trapezoid mass came out 1 + 5.5e-2 (laplace, σ_b = 0.01, N = 1), 1 − 1.2e-2
    (uniform: its edges off the grid), 1 − 2.2e-3 (uniform, σ_b = 0.1, N = 2)."""
    d = output_density(NetworkSpec(activation="relu", sigma_w=1.5, sigma_b=sb, width=n, prior=prior), 1.0)
    assert np.all(np.diff(d.f) > 0) and np.all(d.p >= 0)
    assert abs(np.trapezoid(d.p, d.f) - 1.0) < _SPIKE_MASS_TOL[prior]
    spike = np.abs(d.f) <= 2 * sb
    assert np.diff(d.f[spike]).max() <= sb / 8 * (1 + 1e-9)
    if prior == "uniform":   # the spike's edges are grid points, one on each side of the jump
        assert np.sum(np.abs(np.abs(d.f) / (math.sqrt(3) * sb) - 1) < 1e-12) == 4
