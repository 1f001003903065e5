"""Monte-Carlo ensembles against the analytic NNGP; honest error bars; determinism and chunk independence.

Depth 1: G2 = σ_b² + σ_w² E[φφ] holds exactly at every width (docs/physics.md §4), so narrow nets are used and the
estimate is strongly non-Gaussian, a good test of the error bars. Depth ≥ 2: the G2 bias is O(1/N); at
N = 96 it is ~1% of G2, well below 4 standard errors of 1200 networks (~16%).

gauss-net is excluded at depth ≥ 2: there a finite-width network has *no* second moment at all. The next
layer's pre-activation variance is a sum of log-normal terms e^{2z−2q}, and E[e^{2z'}] over it is a log-normal
moment-generating function, which diverges; the infinite-width kernel is finite only in the limit.
"""
import math

import numpy as np
import pytest

from nnqft_engine import (
    NetworkSpec,
    SampleSettings,
    activation_names,
    measure,
    run_to_completion,
    sample_outputs,
)
from nnqft_engine.theory.kernels import kernels

X = np.array([-1.0, 0.3, 1.2])
CPU = dict(device="cpu")


def _check_g2(spec, settings):
    est = run_to_completion(measure(spec, X, settings))
    nngp = kernels(spec, X).nngp
    assert est.n == settings.ensemble
    z = np.abs(est.g2 - nngp) / est.g2_err
    assert z.max() < 4.0, f"{spec}\nMC {est.g2}\nNNGP {nngp}\nSE {est.g2_err}"
    assert (np.abs(est.mean) / est.mean_err).max() < 4.0


@pytest.mark.parametrize("activation", activation_names())
@pytest.mark.parametrize("prior", ["gaussian", "uniform", "laplace", "student-t", "rademacher"])
def test_depth1_g2_matches_nngp_at_any_width(activation, prior):
    spec = NetworkSpec(depth=1, width=16, activation=activation, sigma_w=1.0, sigma_b=0.2, prior=prior)
    if activation == "gauss-net" and prior in ("laplace", "student-t"):
        pytest.skip("gauss-net has no second moment under heavy-tailed first-layer priors (see test_kernels)")
    _check_g2(spec, SampleSettings(ensemble=8000, seed=1, **CPU))


@pytest.mark.parametrize("activation", [a for a in activation_names() if a != "gauss-net"])
@pytest.mark.parametrize("depth", [2, 3])
@pytest.mark.parametrize("prior", ["gaussian", "uniform"])
def test_deep_g2_matches_nngp_for_wide_networks(activation, depth, prior):
    spec = NetworkSpec(depth=depth, width=96, activation=activation, sigma_w=1.0, sigma_b=0.2, prior=prior)
    _check_g2(spec, SampleSettings(ensemble=1200, seed=2, **CPU))


def test_float64_path():
    spec = NetworkSpec(depth=2, width=64, activation="tanh", sigma_b=0.3, prior="laplace")
    settings = SampleSettings(ensemble=1200, seed=4, dtype="float64", **CPU)
    chunk = next(iter(__import__("nnqft_engine").iter_outputs(spec, X, settings)))
    assert chunk.values.dtype.is_floating_point and chunk.values.element_size() == 8
    _check_g2(spec, settings)


def _replicates(spec, settings, seeds):
    ests = [run_to_completion(measure(spec, X, settings.replace(seed=s))) for s in seeds]
    return {k: (np.array([getattr(e, k) for e in ests]), np.array([getattr(e, k + "_err") for e in ests]))
            for k in ("mean", "g2", "g4c_diag", "kurtosis")}


@pytest.mark.slow
def test_standard_errors_match_scatter_over_seeds():
    """Var over K seeds / mean(reported SE²) ≈ 1. For G2 the truth is known (depth 1), so the residuals give
    K degrees of freedom; for the others the seed mean is used (K−1). The ratio's own sd is
    √(2/dof + κ/K) with κ the excess kurtosis of the estimates, so |ratio − 1| < 4 sd is the tolerance."""
    spec = NetworkSpec(depth=1, width=6, activation="erf", sigma_w=1.3, sigma_b=0.2, prior="laplace")
    k = 150
    reps = _replicates(spec, SampleSettings(ensemble=400, **CPU), range(100, 100 + k))
    truth = {"g2": kernels(spec, X).nngp, "mean": np.zeros(len(X))}
    for name, (vals, errs) in reps.items():
        centre = truth.get(name, vals.mean(0))
        dof = k if name in truth else k - 1
        resid = vals - centre
        ratio = (resid**2).sum(0) / dof / (errs**2).mean(0)
        excess = (resid**4).mean(0) / (resid**2).mean(0) ** 2 - 3.0
        sd = np.sqrt(2.0 / dof + np.maximum(excess, 0.0) / k)
        assert np.all(np.abs(ratio - 1.0) < 4.0 * sd), f"{name}: ratio {ratio}, sd {sd}"


def test_same_seed_same_numbers():
    spec = NetworkSpec(depth=2, width=32, activation="relu", prior="student-t")
    s = SampleSettings(ensemble=700, seed=9, **CPU)
    a, b = run_to_completion(measure(spec, X, s)), run_to_completion(measure(spec, X, s))
    for key in ("mean", "g2", "g2_err", "g4c_diag", "g4c_pair", "kurtosis"):
        assert np.array_equal(getattr(a, key), getattr(b, key))
    c = run_to_completion(measure(spec, X, s.replace(seed=10)))
    assert not np.array_equal(a.g2, c.g2)


@pytest.mark.parametrize("spec", [NetworkSpec(depth=1, width=300, activation="erf", prior="laplace"),
                                  NetworkSpec(depth=2, width=48, activation="silu", independence="shared-scale",
                                              independence_strength=0.5)])
def test_chunking_and_memory_budget_change_nothing(spec):
    base = SampleSettings(ensemble=700, seed=5, **CPU)
    ref = sample_outputs(spec, X, base)
    ref_est = run_to_completion(measure(spec, X, base))
    for variant in (base.replace(chunk_networks=1), base.replace(chunk_networks=333),
                    base.replace(memory_budget_mb=1.0), base.replace(memory_budget_mb=4096.0)):
        assert np.array_equal(sample_outputs(spec, X, variant), ref)
        est = run_to_completion(measure(spec, X, variant))
        for key in ("g2", "g2_err", "g4c_diag", "g4c_pair", "kurtosis"):
            np.testing.assert_allclose(getattr(est, key), getattr(ref_est, key), rtol=1e-9, atol=1e-12)


def test_running_estimates_sharpen_and_cover_the_ensemble():
    spec = NetworkSpec(depth=1, width=64, activation="tanh")
    ests = list(measure(spec, X, SampleSettings(ensemble=3000, seed=0, chunk_networks=256, **CPU)))
    assert len(ests) > 2 and ests[-1].n == 3000
    assert [e.n for e in ests] == sorted(e.n for e in ests)
    assert ests[-1].g2_err[0, 0] < ests[0].g2_err[0, 0] * math.sqrt(ests[0].n / ests[-1].n) * 1.5


@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.parametrize("width", [2, 4])
def test_tiny_widths_are_bit_identical_for_any_chunking(width, depth):
    """Blocks of thousands of tiny networks (issue 15): chunk sizes below, at and above a block, and memory
    budgets, end chunks at tiles inside blocks or span blocks; the outputs must not change by a bit."""
    from nnqft_engine.sampling.ensemble import block_size, iter_outputs, tile_networks
    spec = NetworkSpec(depth=depth, width=width, activation="erf", sigma_w=1.2, sigma_b=0.1, prior="laplace")
    x = np.linspace(-2.0, 2.0, 16)
    bs = block_size(spec)
    assert bs >= 4096
    n = 2 * bs + 1234
    base = SampleSettings(ensemble=n, seed=7, dtype="float32", **CPU)
    ref = sample_outputs(spec, x, base)
    assert ref.shape == (n, 16) and np.isfinite(ref).all()
    ref_est = run_to_completion(measure(spec, x, base))
    tile = tile_networks(spec, 16)
    for variant in (base.replace(chunk_networks=1), base.replace(chunk_networks=777),
                    base.replace(chunk_networks=bs), base.replace(chunk_networks=bs + 1),
                    base.replace(chunk_networks=3 * bs), base.replace(memory_budget_mb=1.0),
                    base.replace(memory_budget_mb=4096.0)):
        chunks = list(iter_outputs(spec, x, variant))
        assert [c.start for c in chunks] == list(np.cumsum([0] + [len(c.values) for c in chunks[:-1]]))
        if variant.chunk_networks is not None and variant.chunk_networks < min(tile, bs):
            assert len(chunks[0].values) <= max(variant.chunk_networks, tile)   # the first estimate comes early
        assert np.array_equal(sample_outputs(spec, x, variant), ref)
        est = run_to_completion(measure(spec, x, variant))
        for key in ("g2", "g2_err", "g4c_diag", "g4c_pair", "kurtosis"):
            np.testing.assert_allclose(getattr(est, key), getattr(ref_est, key), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("depth", [1, 2])
def test_small_chunks_are_honoured_inside_big_blocks(depth):
    """Chunks end at the first tile boundary at or after chunk_networks (tiles: a fixed amount of work)."""
    from nnqft_engine.sampling.ensemble import block_size, iter_outputs, tile_networks
    spec = NetworkSpec(depth=depth, width=64, activation="tanh")
    x = np.linspace(-1.0, 1.0, 16)
    bs, tile = block_size(spec), tile_networks(spec, 16)
    assert bs >= 2 * 256
    chunks = list(iter_outputs(spec, x, SampleSettings(ensemble=2 * bs + 500, seed=0, chunk_networks=256, **CPU)))
    sizes = [len(c.values) for c in chunks]
    assert sum(sizes) == 2 * bs + 500 and len(sizes) > 2
    assert max(sizes) < 256 + min(tile, bs)
