"""Exact depth-1 joint density of (f(x₁), f(x₂)) (docs/physics.md §4.6): the closed-form neuron characteristic
function against independent 2-D integration, its moments and marginal against closed forms and the 1-D exact
density, and a χ² against 10⁶ sampled networks (plus the same smoothing noise)."""
import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

from nnqft_engine import NetworkSpec, SampleSettings, SpecError, sample_outputs
from nnqft_engine.cli.main import main
from nnqft_engine.theory.density import output_density
from nnqft_engine.theory.joint_density import HPD_MASSES, joint_density, preactivation_cov, relu_neuron_cf

SPEC = NetworkSpec(activation="relu", width=2, sigma_w=1.5, sigma_b=0.1)


@pytest.mark.parametrize("q", [(2.0, -1.0)] + [pytest.param(q, marks=pytest.mark.slow)
                                                 for q in ((0.3, 1.0), (-3.0, 5.0), (10.0, 7.0))])
def test_relu_neuron_cf_against_nested_adaptive_quadrature(q):
    sig = preactivation_cov(SPEC, 1.0, -0.5)
    inv, det = np.linalg.inv(sig), np.linalg.det(sig)

    def integrand(z2, z1):
        z = np.array([z1, z2])
        g = q[0] * max(z1, 0.0) + q[1] * max(z2, 0.0)
        return math.exp(-0.5 * z @ inv @ z - 0.5 * g * g) / (2 * math.pi * math.sqrt(det))

    # Split at the kinks z₁ = 0, z₂ = 0: four quadrants, each analytic.
    total = 0.0
    for lo1, hi1 in ((-12.0, 0.0), (0.0, 12.0)):
        for lo2, hi2 in ((-12.0, 0.0), (0.0, 12.0)):
            total += integrate.dblquad(integrand, lo1, hi1, lo2, hi2, epsabs=1e-13, epsrel=1e-12)[0]
    got = relu_neuron_cf(sig, np.array([q[0]]), np.array([q[1]]))[0]
    assert got == pytest.approx(total, rel=1e-9, abs=1e-12)


@pytest.mark.slow
def test_normalised_with_the_exact_covariance_and_the_1d_marginal():
    """On a window holding the whole law: mass 1, covariance = G2 (the NNGP) + the smoothing, and the marginal of
    f(x₂) = the 1-D exact density (an independent inversion) convolved with the same Gaussian."""
    x1, x2 = 1.0, -0.5
    sd = np.sqrt([2.5525, 0.6540625])
    d = joint_density(SPEC, x1, x2, half_range=30 * sd, points=801)
    cell = (d.f1[1] - d.f1[0]) * (d.f2[1] - d.f2[0])
    f1, f2 = np.meshgrid(d.f1, d.f2, indexing="ij")
    assert d.p.sum() * cell == pytest.approx(1.0, abs=1e-8)
    assert d.clipped_mass < math.exp(-0.5 * (1.6 * math.pi) ** 2)   # the ringing stays below the cut-off level
    want = d.cov + np.diag(np.square(d.smooth))
    got = np.array([[(d.p * f1 * f1).sum(), (d.p * f1 * f2).sum()],
                    [(d.p * f1 * f2).sum(), (d.p * f2 * f2).sum()]]) * cell
    # What clipping the ringing (and the mass lost to the tails) can move a second moment by, at most:
    moved = (d.clipped_mass + abs(1 - d.p.sum() * cell)) * max(d.f1[-1], d.f2[-1]) ** 2
    np.testing.assert_allclose(got, want, rtol=0, atol=moved + 1e-12)
    # G2 of relu at depth 1: σ_b² + σ_w²·√(k₁₁k₂₂)(sin θ + (π − θ)cos θ)/2π (docs/physics.md §3).
    sig = preactivation_cov(SPEC, x1, x2)
    th = math.acos(sig[0, 1] / math.sqrt(sig[0, 0] * sig[1, 1]))
    g12 = 0.01 + 2.25 * math.sqrt(sig[0, 0] * sig[1, 1]) * (math.sin(th) + (math.pi - th) * math.cos(th)) / (2 * math.pi)
    assert d.cov[0, 1] == pytest.approx(g12, rel=1e-12)
    marg = d.p.sum(axis=0) * (d.f1[1] - d.f1[0])
    one = output_density(SPEC, x2, grid=np.linspace(-15, 15, 30001))
    h = d.smooth[1]
    for i in range(0, len(d.f2), 40):
        conv = np.trapezoid(one.p * np.exp(-0.5 * ((d.f2[i] - one.f) / h) ** 2), one.f) / (h * math.sqrt(2 * math.pi))
        assert marg[i] == pytest.approx(conv, abs=1e-7 * marg.max())


def test_hpd_levels_hold_their_mass():
    d = joint_density(SPEC, 1.0, 0.3, half_range=(30.0, 30.0), points=601)
    cell = (d.f1[1] - d.f1[0]) * (d.f2[1] - d.f2[0])
    for level, mass in zip(d.levels, HPD_MASSES):
        # The level set grows cell by cell (two at once: p(f) = p(−f)), so it overshoots by < 2 cells at the level.
        assert mass <= d.p[d.p >= level].sum() * cell < mass + 2 * level * cell
    assert d.levels[0] > d.levels[1] > d.levels[2] > 0
    sig = preactivation_cov(SPEC, 1.0, 0.3)
    p00 = 0.25 + math.asin(sig[0, 1] / math.sqrt(sig[0, 0] * sig[1, 1])) / (2 * math.pi)
    assert d.diagonal_mass == pytest.approx(p00**2, rel=1e-14)


@pytest.mark.parametrize("activation", ["relu", "tanh"])   # the closed form, and the back-projection along rays
def test_large_width_joint_density_is_the_smoothed_nngp_gaussian(activation):
    spec = NetworkSpec(activation=activation, width=100_000, sigma_w=1.5, sigma_b=0.3)
    d = joint_density(spec, 0.8, -0.4)
    c = d.cov + np.diag(np.square(d.smooth))
    f1, f2 = np.meshgrid(d.f1, d.f2, indexing="ij")
    ci = np.linalg.inv(c)
    gauss = np.exp(-0.5 * (ci[0, 0] * f1**2 + 2 * ci[0, 1] * f1 * f2 + ci[1, 1] * f2**2)) / (
        2 * math.pi * math.sqrt(np.linalg.det(c)))
    # The 1/N correction: relative size ~ excess kurtosis ≲ 15/N ≈ 1.5e-4 of the peak.
    assert np.abs(d.p - gauss).max() < 1e-3 * gauss.max()
    assert d.diagonal_mass < 1e-300 or d.diagonal_mass == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("x2", [0.3, -0.5])
def test_relu_n2_joint_density_against_a_million_networks_chi_square(x2):
    """The law of (f₁ + ε₁, f₂ + ε₂) with εₖ ~ N(0, smoothₖ²) is exactly what joint_density draws; its bin
    averages (box option) are the expected histogram. Bins of 6×6 grid steps, those with ≥ 20 expected."""
    x1, k = 1.0, 6
    d = joint_density(SPEC, x1, x2, points=121)
    b = joint_density(SPEC, x1, x2, points=121, box=(k, k))
    f = sample_outputs(SPEC, [x1, x2], SampleSettings(ensemble=10**6, seed=5, dtype="float64"))
    g = f + np.random.default_rng(1).standard_normal(f.shape) * np.array(d.smooth)
    step = np.array([d.f1[1] - d.f1[0], d.f2[1] - d.f2[0]])
    idx = np.arange(3, 121, k)
    edges = [np.append(c - k * step[i] / 2, c[-1] + k * step[i] / 2) for i, c in enumerate((b.f1[idx], b.f2[idx]))]
    counts, _, _ = np.histogram2d(g[:, 0], g[:, 1], bins=edges)
    expected = b.p[np.ix_(idx, idx)] * (k * step[0]) * (k * step[1]) * len(g)
    keep = expected > 20
    with np.errstate(invalid="ignore", divide="ignore"):
        chi2 = float((((counts - expected) ** 2) / expected)[keep].sum())
    assert stats.chi2.sf(chi2, keep.sum()) > 1e-4, (chi2, keep.sum())
    # The diagonal mass: both neurons off at x₁ and x₂, so f = (c, c) exactly (4 binomial SE).
    on_diagonal = (f[:, 0] == f[:, 1]).mean()
    pm = d.diagonal_mass
    assert abs(on_diagonal - pm) < 4 * math.sqrt(pm * (1 - pm) / len(f))


@pytest.mark.parametrize("kw, x2, words", [
    (dict(depth=2), 0.3, "depth 1"),
    (dict(prior="student-t", activation="gelu"), 0.3, "2-D quadrature"),
    (dict(activation="sin", prior="student-t"), 0.3, "over the budget"),   # the phasor rays, ~3e8 terms here
    (dict(sigma_b=0.0), 0.3, "sits on a line"),          # relu, σ_b = 0: x₁, x₂ on one side of 0
    (dict(sigma_b=0.0, activation="tanh"), -0.3, "σ_b > 0"),
    (dict(), 1.0, "x₁ = x₂"),
    (dict(independence="shared-scale", independence_strength=0.3), 0.3, "i.i.d."),
])
def test_refused_with_a_reason(kw, x2, words):
    spec = NetworkSpec(**{**dict(activation="relu", width=2, sigma_w=1.5, sigma_b=0.1), **kw})
    with pytest.raises(SpecError, match=words):
        joint_density(spec, 1.0, x2)


def test_cli_theory_joint_density_key(capsys):
    assert main(["theory", "--activation", "relu", "--width", "3", "--sigma-w", "1.5", "--x", "1,0.3",
                 "--joint-density"]) == 0
    out = json.loads(capsys.readouterr().out)["joint_density"]
    p = np.array(out["p"])
    assert p.shape == (len(out["f1"]), len(out["f2"])) and np.all(p >= 0)
    assert len(out["smooth"]) == 2 and len(out["levels"]) == 3
