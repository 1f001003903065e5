"""Width sweeps (docs/physics.md §4, §5): 1/N and 1/N² laws, the shared-scale plateau, prior universality."""
import numpy as np
import pytest

from nnqft_engine import (
    NetworkSpec,
    SampleSettings,
    measure,
    run_to_completion,
    width_sweep,
)
from nnqft_engine.priors import kurtosis
from nnqft_engine.sampling.width_sweep import fit_log_slope
from nnqft_engine.theory.finite_width import exact_correlators
from nnqft_engine.theory.kernels import kernels


def test_fit_recovers_an_exact_power_law_and_skips_unresolved_points():
    n = np.array([1, 2, 4, 8, 16])
    g = -3.0 * n**-1.0
    slope, err = fit_log_slope(n, g, 0.01 * np.abs(g))
    assert slope == pytest.approx(-1.0, abs=1e-12) and err > 0
    noisy = np.append(g, 1e-3)  # a value within its error of zero must not pull the fit
    assert fit_log_slope(np.append(n, 32), noisy, np.append(0.01 * np.abs(g), 1e-2))[0] == pytest.approx(-1.0)


def test_sweep_yields_after_every_width_and_can_stop_early():
    spec = NetworkSpec(activation="erf", width=1)
    gen = width_sweep(spec, [0.5, 1.0], (2, 4, 8), SampleSettings(ensemble=500, seed=1))
    first = next(gen)
    assert first.widths == (2,) and first.g4c.shape == (1, 2) and np.isnan(first.slope_g4c).all()
    second = next(gen)
    assert second.widths == (2, 4) and len(second.theory) == 2
    assert np.allclose(second.theory_g4c()[1], exact_correlators(spec.replace(width=4), [0.5, 1.0]).g4c_diag)
    gen.close()  # cancellation: no further widths are measured


@pytest.mark.slow
def test_iid_sweep_slopes_are_minus_one_and_minus_two():
    # Uniform prior, saturated erf: each neuron's term is nearly a uniform variable — light tails (so the
    # 6th-cumulant estimator is well behaved) and large standardized cumulants κ4 ≈ −1.2, κ6 ≈ 6.9.
    spec = NetworkSpec(activation="erf", sigma_w=10.0, sigma_b=0.0, prior="uniform", width=1)
    settings = SampleSettings(ensemble=200_000, seed=2)
    res = run_to_completion(width_sweep(spec, [1.0], (1, 2, 3, 4, 6, 8, 12), settings))
    assert res.widths == (1, 2, 3, 4, 6, 8, 12)
    assert abs(res.slope_g4c[0] + 1.0) < 0.05 and res.slope_g4c_err[0] < 0.025
    assert abs(res.slope_g6c[0] + 2.0) < 0.1 and res.slope_g6c_err[0] < 0.05
    z4 = np.abs(res.g4c - res.theory_g4c()) / res.g4c_err
    z6 = np.abs(res.g6c - res.theory_g6c()) / res.g6c_err
    assert np.all(z4 < 4) and np.all(z6 < 4)


@pytest.mark.slow
def test_shared_scale_curve_flattens_to_the_pairing_term():
    v = 0.5
    spec = NetworkSpec(activation="erf", sigma_w=1.2, sigma_b=0.4, width=2, independence="shared-scale",
                       independence_strength=v)
    x = [0.8]
    res = run_to_completion(width_sweep(spec, x, (2, 8, 32, 128), SampleSettings(ensemble=20_000, seed=3)))
    k = exact_correlators(spec, x).g2[0, 0] - 0.4**2          # K̃ = σ_w² H
    plateau = v * 3 * k**2
    assert np.all(np.abs(res.g4c - res.theory_g4c()) < 4 * res.g4c_err)
    assert res.theory_g4c()[-1, 0] == pytest.approx(plateau, rel=0.03)
    assert abs(res.g4c[-1, 0] - plateau) < 4 * res.g4c_err[-1, 0] + 0.03 * plateau
    # Flat, unlike the i.i.d. 1/N: the fitted slope is far from −1 and close to 0.
    assert res.slope_g4c[0] > -0.3 and res.slope_g4c[0] + 1 > 5 * res.slope_g4c_err[0]


@pytest.mark.slow
def test_prior_universality_at_depth_two():
    # Variance-matched uniform (E[α⁴] = 1.8) and laplace (6) priors on every layer. Many inputs (d = 64)
    # make even the first layer's pre-activations nearly Gaussian, so the NNGPs agree to ~0.2 %.
    d = 64
    x = np.stack([np.full(d, 0.9), np.linspace(-1.0, 1.0, d)])
    base = NetworkSpec(input_dim=d, depth=2, activation="tanh", sigma_w=1.3, sigma_b=0.1)
    # The engine's prior-aware kernel cannot integrate 65 dimensions; the gaussian-prior NNGP stands in for
    # the common infinite-width limit (first-layer and 1/N differences here are ~0.3 %, below the errors).
    nngp = kernels(base.replace(width=96), x).nngp
    wide = {}
    for prior in ("uniform", "laplace"):
        spec = base.replace(prior=prior, width=96)
        wide[prior] = run_to_completion(measure(spec, x, SampleSettings(ensemble=4_000, seed=8)))
        assert np.all(np.abs(wide[prior].g2 - nngp) < 4 * wide[prior].g2_err)
    u, l = wide["uniform"], wide["laplace"]
    assert np.all(np.abs(u.g2 - l.g2) < 4 * np.hypot(u.g2_err, l.g2_err))
    narrow = {p: run_to_completion(measure(base.replace(prior=p, width=2), x, SampleSettings(ensemble=40_000,
                                                                                             seed=9)))
              for p in ("uniform", "laplace")}
    u, l = narrow["uniform"], narrow["laplace"]
    assert kurtosis("laplace") > kurtosis("uniform")
    # Higher prior kurtosis → larger connected 4-point function at small width, resolved beyond 4 σ.
    assert np.all(l.g4c_diag - u.g4c_diag > 4 * np.hypot(l.g4c_diag_err, u.g4c_diag_err))
