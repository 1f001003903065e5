"""The exact 1-D density of f(x) at N = 1 and 2 for smooth activations (docs/physics.md §4.3): under laplace one
neuron in f-space (a mixture of two-laplace laws over z) and two by an inversion whose neuron characteristic
function is tabulated on log t (log_interp); under uniform one neuron in f-space (trapezoid laws over z, split
at their kinks through φ⁻¹). Each against an independent inversion."""
import math

import numpy as np
import pytest
from _density_references import smoothed_marginal
from test_density_relu_priors import _smoothing_rule

from nnqft_engine import NetworkSpec
from nnqft_engine.activations import get_activation
from nnqft_engine.theory.density import fourier_part, output_density
from nnqft_engine.theory.log_interp import LogTable

H = 0.1
PTS = np.array([-2.0, -0.3, 0.0, 0.05, 0.4, 1.5])


def _smoothed(spec, x, singular=(0.0,)):
    """The density convolved with N(0, H²) at PTS: the f-space part by Gauss–Legendre graded towards its
    singular points, the inverted part exactly (each cosine's Gaussian convolution)."""
    part = fourier_part(spec, x)
    t = np.arange(len(part.weights)) * part.step
    out = (part.weights * np.cos(np.outer(PTS, t)) * np.exp(-0.5 * (H * t) ** 2)).sum(axis=1) / math.pi
    if part.f_space is not None:
        for i, pt in enumerate(PTS):
            f, w = _smoothing_rule(pt - 10 * H, pt + 10 * H, list(singular), H / 8)
            kernel = np.exp(-0.5 * ((f - pt) / H) ** 2) / (math.sqrt(2 * math.pi) * H)
            out[i] += w @ (part.f_space(f) * kernel)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("activation, n", [("erf", 1), ("gelu", 1), ("sigmoid", 1), ("erf", 2), ("silu", 2)])
def test_laplace_small_n_smoothed_is_an_independent_inversion(activation, n):
    """Against _density_references.smoothed_marginal (C₁ by adaptive quadrature over z, Φ = ψ(σ_b t)C₁(t)^N
    inverted by Gauss–Legendre under the smoothing): N = 1 needs no inversion at all here, N = 2 one whose C₁ is
    read from the log-t table. Measured: ≤ 3.7e-10 of the peak (gelu, N = 1)."""
    spec = NetworkSpec(activation=activation, width=n, prior="laplace", sigma_w=1.5, sigma_b=0.1)
    want = smoothed_marginal(spec, 1.0, H, PTS)
    np.testing.assert_allclose(_smoothed(spec, 1.0), want, rtol=0, atol=1e-9 * want.max())


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["erf", "softplus", "sigmoid"])
def test_one_neuron_under_uniform_smoothed_is_an_independent_inversion(activation):
    """The f-space law of one neuron under uniform against smoothed_marginal (sinc readout, C₁ by adaptive
    quadrature). p(f) has kinks where |f| = √3σ_b and where |f| ∓ √3σ_b is the image of an end or corner of z's
    trapezoid: the smoothing rule is split there. Measured: ≤ 1.4e-15 of the peak."""
    spec = NetworkSpec(activation=activation, width=1, prior="uniform", sigma_w=1.5, sigma_b=0.1)
    phi = get_activation(activation).numpy_fn
    a, b, bias = 1.5, 0.1, math.sqrt(3) * 0.1
    ends = [math.sqrt(3) * (a + b), math.sqrt(3) * (a - b)]
    amps = [math.sqrt(3) * 1.5 * abs(float(phi(np.array(sign * e), 0.0))) for e in ends for sign in (1, -1)]
    singular = {0.0, bias, -bias} | {sign * (amp + k * bias) for amp in amps for k in (1, -1) for sign in (1, -1)}
    want = smoothed_marginal(spec, 1.0, H, PTS)
    np.testing.assert_allclose(_smoothed(spec, 1.0, sorted(singular)), want, rtol=0, atol=1e-9 * want.max())


def test_log_table_reads_back_an_analytic_function_to_rounding():
    """C(t) = 1/(1 + t²/2) mixed over scales (the laplace readout's ψ): analytic for Re t > 0."""
    scales = np.geomspace(1e-3, 10.0, 40)

    def c(t):
        return (1.0 / (1.0 + 0.5 * np.outer(t, scales) ** 2)).mean(axis=1)

    table = LogTable(c, 0.1, 1e6)
    t = np.geomspace(0.1, 1e6, 1777)
    np.testing.assert_allclose(table(t), c(t), rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("activation", ["erf", "tanh", "sigmoid", "softplus", "silu", "gelu", "linear"])
def test_one_neuron_under_laplace_computes_for_every_activation_that_vanishes_only_at_0(activation):
    """Refused before (Φ ~ t⁻³ with a z-quadrature per Fourier point); now a mixture in f-space: positive, and
    on its window (which holds the product tail a·φ(z)) of mass 1 and the exact variance σ_b² + σ_w²E[φ(z)²]
    to 1e-9 (Gauss–Legendre graded towards the cusp at f = 0)."""
    spec = NetworkSpec(activation=activation, width=1, prior="laplace", sigma_w=1.5, sigma_b=0.1)
    d = output_density(spec, 1.0)
    assert d.p.min() >= 0 and d.clipped_mass == 0.0
    f, w = _smoothing_rule(d.f[0], d.f[-1], [0.0], 0.5)
    p = output_density(spec, 1.0, grid=f).p
    assert w @ p == pytest.approx(1.0, abs=1e-9)
    assert w @ (p * f**2) == pytest.approx(d.variance, rel=1e-9)
