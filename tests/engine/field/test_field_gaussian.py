"""The deformed theory at N = ∞ by reweighting the exact Gaussian field (field/gaussian.py, docs/physics.md §7.5).

Tolerances: 4 jackknife standard errors."""
import numpy as np
import pytest

from nnqft_engine.field import FieldSpec, measure_gaussian_field
from nnqft_engine.sampling.measure import run_to_completion
from nnqft_engine.spec import SampleSettings, SpecError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PTS = np.linspace(-1.6, 1.6, 9)
IU = np.triu_indices(len(PTS))


def _spec(lam):
    return FieldSpec(dim=1, mass=1.0, cutoff=4.0, box=4.0, lam=lam, alpha=0.0, width=500)


def test_free_gaussian_reference_is_the_cutoff_propagator_with_no_g4c():
    est = run_to_completion(measure_gaussian_field(_spec(0.0), PTS, SampleSettings(ensemble=12000, seed=3)))
    assert est.sampler == "gaussian" and est.n == 12000 and np.all(est.free_g4c_pair == 0)
    assert np.all(np.abs(est.g2 - est.propagator)[IU] < 4 * est.g2_err[IU])
    assert np.all(np.abs(est.g4c_pair)[IU] < 4 * est.g4c_pair_err[IU])
    assert est.lam_hat == 0 and est.lam_hat_beta == pytest.approx(1.0)  # λ = 0: the control is the estimate


def test_too_many_box_nodes_is_a_clear_error():
    spec = FieldSpec(dim=2, mass=1.0, cutoff=8.0, box=6.0, lam=0.5, width=10)
    with pytest.raises(SpecError, match="at most 4096"):
        next(measure_gaussian_field(spec, [[0.0, 0.0]], SampleSettings(ensemble=100)))
