"""Broken independence (docs/physics.md §5): the sequential mechanism's law, its exact theory, and N → ∞."""
import numpy as np
import pytest
import torch
from scipy import stats

from nnqft_engine import (
    NetworkSpec,
    SampleSettings,
    SpecError,
    measure,
    run_to_completion,
    sample_outputs,
)
from nnqft_engine.dependence import gamma_moment, sequential_scale2
from nnqft_engine.priors import sample_standardized
from nnqft_engine.theory.finite_width import exact_correlators

X = [-1.1, 0.6]


def test_zero_strength_draws_exactly_the_iid_networks():
    base = NetworkSpec(width=7, activation="tanh", prior="uniform")
    s = SampleSettings(ensemble=300, seed=3)
    ref = sample_outputs(base, X, s)
    for mech in ("sequential", "shared-scale"):
        assert np.array_equal(sample_outputs(base.replace(independence=mech), X, s), ref)


def test_sequential_draws_are_deterministic_and_change_only_later_readouts():
    spec = NetworkSpec(width=1, independence="sequential", independence_strength=0.5)
    s = SampleSettings(ensemble=200, seed=9)
    # With one neuron there is no later neuron to scale: the network is the i.i.d. one.
    assert np.array_equal(sample_outputs(spec, X, s), sample_outputs(spec.replace(independence="none"), X, s))
    wide = spec.replace(width=6)
    a, b = sample_outputs(wide, X, s), sample_outputs(wide, X, s)
    assert np.array_equal(a, b)
    assert not np.allclose(a, sample_outputs(wide.replace(independence="none"), X, s))


@pytest.mark.parametrize("prior", ["gaussian", "uniform", "laplace", "student-t"])
def test_scale_map_turns_the_prior_into_the_gamma_law(prior):
    v = 0.7
    spec = NetworkSpec(prior=prior, independence="sequential", independence_strength=v)
    u = sample_standardized(prior, (200_000,), torch.Generator().manual_seed(1), dtype=torch.float64).numpy()
    s2 = sequential_scale2(spec, u)
    assert stats.kstest(s2, stats.gamma(a=1 / v, scale=v).cdf).pvalue > 1e-3
    for k in (1, 2):
        mk = s2**k
        assert abs(mk.mean() - gamma_moment(v, k)) < 4 * mk.std() / np.sqrt(len(mk))


def test_discrete_prior_is_a_clear_error():
    spec = NetworkSpec(prior="rademacher", independence="sequential", independence_strength=0.5, width=3)
    with pytest.raises(SpecError, match="continuous prior"):
        exact_correlators(spec, X)
    with pytest.raises(SpecError, match="continuous prior"):
        run_to_completion(measure(spec, X, SampleSettings(ensemble=10)))


def _z(est, th, key):
    return np.abs(getattr(est, key) - getattr(th, key)) / getattr(est, key + "_err")


@pytest.mark.slow
@pytest.mark.parametrize("activation,prior,width,ensemble", [
    ("relu", "gaussian", 3, 120_000), ("erf", "uniform", 3, 120_000), ("tanh", "laplace", 40, 30_000)])
def test_sequential_exact_theory_matches_monte_carlo(activation, prior, width, ensemble):
    spec = NetworkSpec(activation=activation, prior=prior, width=width, sigma_w=1.2, sigma_b=0.4,
                       independence="sequential", independence_strength=0.5)
    est = run_to_completion(measure(spec, X, SampleSettings(ensemble=ensemble, seed=21)))
    th = exact_correlators(spec, X)
    assert np.all(_z(est, th, "g2") < 4)
    assert np.all(_z(est, th, "g4c_pair") < 4)
    assert np.all(_z(est, th, "g6c_diag") < 4)
    # Not the shared-scale answer: neuron 1 is correlated with the scale (an O(1/N) difference at N = 3).
    shared = exact_correlators(spec.replace(independence="shared-scale"), X)
    if width == 3:
        assert np.all(np.abs(shared.g4c_pair - th.g4c_pair) > 1e-3 * np.abs(th.g4c_pair))


def test_sequential_theory_tends_to_a_nonzero_limit():
    v = 0.5
    spec = NetworkSpec(activation="erf", sigma_w=1.2, sigma_b=0.4, independence="sequential",
                       independence_strength=v)
    k = exact_correlators(spec.replace(width=10**6), X)
    kk = k.g2 - 0.4**2  # K̃ = σ_w² H
    limit = v * (np.outer(np.diag(kk), np.diag(kk)) + 2 * kk**2)
    assert np.allclose(k.g4c_pair, limit, rtol=1e-4)
    iid = exact_correlators(spec.replace(width=10**6, independence="none"), X)
    assert np.all(np.abs(iid.g4c_pair) < 1e-4 * limit)


@pytest.mark.slow
def test_measured_sequential_g4c_does_not_vanish_with_width():
    spec = NetworkSpec(activation="erf", sigma_w=1.2, sigma_b=0.4, independence="sequential",
                       independence_strength=0.5)
    g4, err = [], []
    for width in (10, 300):
        sp = spec.replace(width=width)
        est = run_to_completion(measure(sp, X, SampleSettings(ensemble=20_000, seed=width)))
        th = exact_correlators(sp, X)
        assert np.all(_z(est, th, "g4c_diag") < 4)
        g4.append(est.g4c_diag)
        err.append(est.g4c_diag_err)
    # 30× the width: an i.i.d. G4c would drop 30-fold; this one stays resolved and ≥ 60% of its N = 10 value.
    assert np.all(g4[1] > 5 * err[1])
    assert np.all(g4[1] + 4 * err[1] > 0.6 * g4[0])
