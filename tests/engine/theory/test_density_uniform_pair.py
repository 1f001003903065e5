"""Two neurons under the uniform prior, any smooth φ (docs/physics.md §4.3): p(f) = E_{z₂}[(G₁(f + w₂) −
G₁(f − w₂))/(2w₂)] in f-space, G₁ the one-neuron CDF. sin, silu and linear were refused here (their Φ ~ t⁻³
never converged on a grid); tanh, erf, gelu and cos were inverted with a cut erring by up to 1e-6."""
import math

import numpy as np
import pytest
from _density_references import smoothed_f_space, smoothed_marginal
from scipy import integrate

from nnqft_engine import NetworkSpec
from nnqft_engine.theory import density_uniform_neuron
from nnqft_engine.theory.density import output_density, preactivation_density

H = 0.1
PTS = np.array([-2.0, -0.3, 0.0, 0.05, 0.4, 1.5])


def _spec(activation: str) -> NetworkSpec:
    return NetworkSpec(activation=activation, width=2, prior="uniform", sigma_w=1.5, sigma_b=0.1)


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["sin", "linear"])
def test_one_neuron_cdf_is_the_integral_of_its_density(activation):
    """G₁(b) − G₁(a) against adaptive quadrature of the one-neuron density (checked on its own against an
    independent inversion), across the kinks at ±√3σ_b; G₁ → 0 and 1 beyond the support."""
    spec = _spec(activation)
    ro = spec.sigma_w / math.sqrt(2)
    pz = lambda z: preactivation_density(spec, 1.0, z)   # noqa: E731
    args = (1.0, spec.sigma_w, spec.sigma_b, activation, pz, ro)
    bias = math.sqrt(3) * spec.sigma_b
    for a, b in [(-0.5, 0.3), (0.05, 0.15), (1.0, 2.0), (-3.0, -0.2)]:
        ga, gb = density_uniform_neuron.one_uniform_neuron_cdf(np.array([a, b]), *args)
        want = integrate.quad(lambda v: density_uniform_neuron.one_uniform_neuron(np.array([v]), *args)[0], a, b,
                              points=[p for p in (-bias, 0.0, bias) if a < p < b], limit=400,
                              epsabs=1e-14, epsrel=1e-13)[0]
        assert gb - ga == pytest.approx(want, abs=1e-10)
    far = density_uniform_neuron.one_uniform_neuron_cdf(np.array([-50.0, 50.0]), *args)
    np.testing.assert_allclose(far, [0.0, 1.0], atol=1e-15)


@pytest.mark.parametrize("activation", ["sin", "silu", "linear", "gelu"])
def test_two_neurons_hold_mass_and_variance_on_the_grid(activation):
    """Computed where it was refused (sin, silu, linear): on the default grid p ≥ 0, its trapezoid mass is 1 and
    its second moment the exact variance σ_b² + σ_w²E[φ²], to the grid's resolution of the law's kinks
    (measured: mass 6e-8, variance 1.3e-9 for gelu)."""
    spec = _spec(activation)
    d = output_density(spec, 1.0)
    df = np.gradient(d.f)
    assert np.all(d.p >= 0) and d.clipped_mass == 0.0
    assert (d.p * df).sum() == pytest.approx(1.0, abs=2e-7)
    assert (d.p * d.f**2 * df).sum() == pytest.approx(d.variance, rel=1e-8)
    support = np.abs(d.f) > 8.0 * math.sqrt(d.variance)
    assert np.all(d.p[support] == 0.0)   # bounded terms: nothing beyond the support


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["sin", "linear", "tanh"])
def test_two_neurons_smoothed_is_an_independent_inversion(activation):
    """Against _density_references.smoothed_marginal (sinc readout, C₁ by adaptive quadrature over z, Φ = ψ(σ_b t)
    C₁(t)² inverted under the smoothing). Measured: ≤ 1.4e-11 of the peak (linear), 3.7e-12 (sin), 4.9e-12
    (tanh, which the old cut inversion held to only ~1e-6)."""
    spec = _spec(activation)
    want = smoothed_marginal(spec, 1.0, H, PTS, zeros=[-math.pi, 0.0, math.pi] if activation == "sin" else [0.0])
    bias = math.sqrt(3) * spec.sigma_b
    got = smoothed_f_space(spec, 1.0, H, PTS, [-bias, 0.0, bias])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10 * want.max())


def test_two_neurons_where_phi_underflows_to_zero_on_a_stretch_of_z():
    """gelu at σ_w|x| = 7.5: φ(z) is exactly 0 in float64 below z ≈ −8.4 (a fifth of z's support), where the
    quotient (G₁(f + w) − G₁(f − w))/2w is 0/0 — it dropped that mass (19 %) until its limit g₁(f) was used;
    the stretch's end is one zero of φ, not hundreds (the cuts took 80 s). The variance is the exact one."""
    spec = NetworkSpec(activation="gelu", width=2, prior="uniform", sigma_w=3.0, sigma_b=0.01)
    d = output_density(spec, 2.5)
    assert np.all(np.isfinite(d.p) & (d.p >= 0))
    assert np.trapezoid(d.p * d.f**2, d.f) == pytest.approx(d.variance, rel=1e-6)
    assert np.trapezoid(d.p, d.f) == pytest.approx(1.0, abs=5e-3)   # the peak (width σ_b) on a 0.15-step grid
