"""Edgeworth-corrected density: normalised, reproduces the cumulants it was given, and fits finite-N data."""
import math

import numpy as np
import pytest
from scipy import integrate

from nnqft_engine import NetworkSpec, SampleSettings, sample_outputs
from nnqft_engine.theory.edgeworth import edgeworth_density
from nnqft_engine.theory.finite_width import exact_correlators


def _cumulants(variance, k3, k4, k6):
    sd = math.sqrt(variance)
    f = np.linspace(-30 * sd, 30 * sd, 400_001)
    p = edgeworth_density(f, variance, k4, k6, k3)
    mom = [integrate.simpson(p * f**k, x=f) for k in range(9)]
    m = mom[1]
    c = [integrate.simpson(p * (f - m) ** k, x=f) for k in range(9)]
    return mom[0], m, {2: c[2], 3: c[3], 4: c[4] - 3 * c[2] ** 2, 5: c[5] - 10 * c[3] * c[2],
                       6: c[6] - 15 * c[4] * c[2] - 10 * c[3] ** 2 + 30 * c[2] ** 3,
                       8: c[8] - 28 * c[6] * c[2] - 56 * c[5] * c[3] - 35 * c[4] ** 2 + 420 * c[4] * c[2] ** 2
                       + 560 * c[3] ** 2 * c[2] - 630 * c[2] ** 4}


@pytest.mark.parametrize("variance,k3,k4,k6", [(2.5, 0.0, 1.3, -0.7), (0.4, 0.05, -0.02, 0.01),
                                               (1.0, 0.0, 0.0, 0.0), (3.0, 0.8, 2.0, 5.0)])
def test_density_is_normalised_and_reproduces_its_cumulants(variance, k3, k4, k6):
    norm, mean, c = _cumulants(variance, k3, k4, k6)
    assert norm == pytest.approx(1.0, abs=1e-10)
    assert mean == pytest.approx(0.0, abs=1e-10)
    scale = variance ** 0.5
    for order, want in ((2, variance), (3, k3), (4, k4), (5, 0.0), (6, k6), (8, 0.0)):
        assert c[order] == pytest.approx(want, abs=1e-8 * scale**order), order


def test_zero_cumulants_give_the_gaussian():
    f = np.linspace(-4, 4, 9)
    assert np.allclose(edgeworth_density(f, 2.0, 0.0), np.exp(-f**2 / 4) / math.sqrt(4 * math.pi), rtol=1e-14)


def test_finite_width_histogram_prefers_the_edgeworth_density():
    # Width 3 with the uniform prior: excess kurtosis ≈ −0.33 — visibly platykurtic, so the Gaussian misfits.
    spec = NetworkSpec(activation="erf", sigma_w=3.0, sigma_b=0.0, prior="uniform", width=3)
    th = exact_correlators(spec, [1.0])
    f = sample_outputs(spec, [1.0], SampleSettings(ensemble=200_000, seed=4))[:, 0]
    edges = np.linspace(-4, 4, 41) * math.sqrt(th.g2[0, 0])
    counts, _ = np.histogram(f, edges)
    centres = 0.5 * (edges[1:] + edges[:-1])
    width = np.diff(edges)

    def chi2(density):
        expected = density * width * len(f)
        ok = expected > 20
        return float(np.sum((counts[ok] - expected[ok]) ** 2 / expected[ok])), int(ok.sum())

    ew, dof = chi2(edgeworth_density(centres, th.g2[0, 0], th.g4c_diag[0], th.g6c_diag[0]))
    gauss, _ = chi2(edgeworth_density(centres, th.g2[0, 0], 0.0))
    # Bin-centre evaluation and the dropped O(1/N³) terms stay well inside the statistical spread.
    assert ew < dof + 5 * math.sqrt(2 * dof)
    assert gauss > 10 * ew
