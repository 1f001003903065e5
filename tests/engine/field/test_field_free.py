"""The free cos-net at λ = 0: G2 = cutoff propagator, exact finite-N G4c, and the α-family's variance.

Fixed seeds; tolerances 4 standard errors (jackknife for the ensemble estimates)."""
import math

import numpy as np
import pytest
import torch

from nnqft_engine.field import (
    FieldSpec,
    exact_g4c_pair,
    g2_estimator_variance,
    measure_field,
)
from nnqft_engine.field.cosnet import draw_neurons, field_at
from nnqft_engine.sampling.measure import run_to_completion
from nnqft_engine.spec import SampleSettings

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("dim, alpha, x", [
    (1, -1.0, [[-1.0], [0.0], [0.7], [2.0]]),
    (2, 0.0, [[0.0, 0.0], [0.6, 0.0], [0.0, 1.5], [1.0, 1.0]]),
])
def test_free_g2_is_the_cutoff_propagator(dim, alpha, x):
    spec = FieldSpec(dim=dim, mass=1.0, cutoff=4.0, box=1.0, lam=0.0, alpha=alpha, width=50)
    est = run_to_completion(measure_field(spec, x, SampleSettings(ensemble=8000, seed=4, dtype="float64")))
    assert est.n == 8000 and est.ess == pytest.approx(8000)
    iu = np.triu_indices(len(x))
    pull = (est.g2 - est.propagator)[iu] / est.g2_err[iu]
    assert np.all(np.abs(pull) < 4), pull
    # λ = 0: the control-variate change is exactly zero and the one-loop G2 is the propagator.
    assert np.all(est.delta_g2 == 0) and np.allclose(est.one_loop_g2, est.propagator, rtol=1e-7)


@pytest.mark.parametrize("alpha", [-1.0, 0.0])
def test_finite_width_g4c_equals_exact_phase_average_formula(alpha):
    spec = FieldSpec(dim=1, mass=1.0, cutoff=6.0, box=1.0, lam=0.0, alpha=alpha, width=3)
    x = [[0.0], [0.5], [1.5]]
    est = run_to_completion(measure_field(spec, x, SampleSettings(ensemble=40000, seed=9, dtype="float64")))
    exact = exact_g4c_pair(spec, x)
    iu = np.triu_indices(3)
    pull = (est.g4c_pair - exact)[iu] / est.g4c_pair_err[iu]
    assert np.all(np.abs(pull) < 4), pull
    assert np.all(np.abs(exact[iu]) > 4 * est.g4c_pair_err[iu])  # the 1/N signal is resolved


def test_alpha_zero_has_smaller_g2_variance_beyond_the_correlation_length():
    """Var[φ(0)φ(r)] (the G2 estimate's variance is this/M) at r = 1.5/m and 2.5/m, N = 4, M = 10⁵."""
    n_nets, width = 100_000, 4
    r = np.array([1.5, 2.5])
    pts = torch.tensor([[0.0], [1.5], [2.5]], dtype=torch.float64)
    measured, errors, exact = {}, {}, {}
    for alpha in (-1.0, 0.0):
        spec = FieldSpec(dim=1, mass=1.0, cutoff=8.0, box=1.0, alpha=alpha, width=width)
        gen = torch.Generator().manual_seed(2024)
        w, b, c = draw_neurons(spec, (n_nets, width), gen, torch.device("cpu"), torch.float64)
        f = field_at(w, b, c, pts).numpy()
        prod = f[:, :1] * f[:, 1:]
        centred = prod - prod.mean(0)
        var = (centred**2).mean(0) * n_nets / (n_nets - 1)
        # Standard error of a sample variance: √((μ₄ − σ⁴)/M).
        errors[alpha] = np.sqrt(((centred**4).mean(0) - var**2) / n_nets)
        measured[alpha] = var
        exact[alpha] = g2_estimator_variance(spec, np.zeros((2, 1)), r[:, None])
        assert np.all(np.abs(var - exact[alpha]) < 4 * errors[alpha]), (alpha, var, exact[alpha])
    ratio = exact[0.0] / exact[-1.0]
    np.testing.assert_allclose(ratio, [0.4757, 0.4943], atol=2e-3)  # exact: α = 0 halves the variance here
    measured_ratio = measured[0.0] / measured[-1.0]
    ratio_err = measured_ratio * np.hypot(errors[0.0] / measured[0.0], errors[-1.0] / measured[-1.0])
    assert np.all(measured_ratio + 4 * ratio_err < 1.0), (measured_ratio, ratio_err)
    assert math.isfinite(float(ratio_err.max()))
