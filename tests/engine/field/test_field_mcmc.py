"""Parameter-space MCMC for φ⁴ as a network: honest diagnostics and calibrated errors (docs/physics.md §7, issue 11).

The sampler's τ_int is measured on the reported observables (φ(xᵢ)φ(xⱼ), φ(xᵢ)²φ(xⱼ)²), errors come from
whole chains as jackknife replicates, and the free control variate is the chain's own independence proposals
(not e^{+(λ/4!)F} reweighting, whose variance is dominated by F's tail) with a fitted coefficient β (§7.5).
Tolerances: 4 combined standard errors; calibration: the χ² law of the z-scores' SD over seeds.
"""
import math

import os

import numpy as np
import pytest
from scipy.signal import lfilter

from nnqft_engine.field import FieldSpec, McmcSettings, measure_field, measure_gaussian_field
from nnqft_engine.field.mcmc import adapt_window, integrated_autocorrelation_time
from nnqft_engine.sampling.measure import run_to_completion
from nnqft_engine.spec import SampleSettings

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PTS = np.linspace(-1.6, 1.6, 9)  # the φ⁴ view's measurement points at L = 4
IU = np.triu_indices(len(PTS))


def _spec(width, lam=0.5):
    return FieldSpec(dim=1, mass=1.0, cutoff=4.0, box=4.0, lam=lam, alpha=0.0, width=width)


def _run(spec, sampler, ensemble, seed=0, x=PTS, **mcmc):
    settings = McmcSettings(**{"chains": 64, "burn_in": 60, **mcmc})
    return run_to_completion(measure_field(spec, x, SampleSettings(ensemble=ensemble, seed=seed), sampler, settings))


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_windowed_tau_int_of_ar1_matches_closed_form(rho):
    """AR(1) x_t = ρx_{t−1} + ε_t: τ_int = (1+ρ)/(2(1−ρ)); n = 1.3·10⁶ gives a Madras–Sokal error ≤ 0.9 %."""
    rng = np.random.default_rng(5)
    x = lfilter([1.0], [1.0, -rho], rng.standard_normal((20_500, 64)), axis=0)[500:]
    exact = (1 + rho) / (2 * (1 - rho))
    assert integrated_autocorrelation_time(x) == pytest.approx(exact, rel=0.03)


def test_window_adaptation_keeps_independence_proposals_and_targets_the_band():
    assert adapt_window(500, 500, 0.97) == 500  # k = N accepted often: nothing decorrelates faster
    assert adapt_window(500, 500, 0.3) == 500
    assert adapt_window(500, 500, 0.1) == 250  # at most halved per measurement
    assert adapt_window(100, 500, 0.2) == 50
    assert adapt_window(100, 500, 0.4) == 100  # inside [0.3, 0.5]: frozen
    assert adapt_window(100, 500, 0.9) == 200 and adapt_window(400, 500, 0.9) == 500
    assert adapt_window(1, 500, 0.01) == 1


@pytest.mark.slow
def test_tau_int_is_measured_on_the_reported_observables():
    """λ = 0, window k = N/10: each step replaces 10 % of the neurons, so corr(φ_t, φ_{t+1}) = 0.9 and for the
    (near-Gaussian) field corr(φ_t², φ_{t+1}²) = 0.81: τ_int(φ²) = 1.81/0.38 = 4.76."""
    est = _run(_spec(100, lam=0.0), "mcmc", 64 * 500, x=[-1.0, 0.0, 1.0], refresh=0.1, burn_in=40)
    assert est.acceptance == 1.0 and est.window == 10 and est.free_reference == "exact"
    assert est.tau_int == pytest.approx(1.81 / 0.38, rel=0.25)
    assert 0.5 <= est.tau_int_f <= est.tau_int
    assert est.ess == pytest.approx(est.n / (2 * est.tau_int))
    assert est.block_steps == 500  # whole chains are the jackknife replicates
    assert np.all(np.abs(est.delta_g4c_pair) < 4 * est.delta_g4c_pair_err)  # λ = 0: no change


@pytest.mark.slow
def test_mcmc_agrees_with_reweighting_at_lambda_half():
    """Issue 11's setting (N = 500, M = 24000): λ̂ and ΔG4c agree within 4σ, and λ̂ with the N = ∞ theory
    (Gaussian field reweighted, M = 2·10⁵), which lies many σ below λ = 0.5 (higher orders, §7.5); the
    chain mixes and says so. Measured: 0.335 ± 0.022, 0.394 ± 0.028, N = ∞ 0.360 ± 0.009."""
    spec = _spec(500)
    a, b = _run(spec, "reweight", 24000), _run(spec, "mcmc", 24000)
    inf = run_to_completion(measure_gaussian_field(spec, PTS, SampleSettings(ensemble=200_000, seed=0)))
    assert abs(a.lam_hat - b.lam_hat) < 4 * math.hypot(a.lam_hat_err, b.lam_hat_err)
    for est in (a, b):
        assert abs(est.lam_hat - inf.lam_hat) < 4 * math.hypot(est.lam_hat_err, inf.lam_hat_err)
    assert spec.lam - inf.lam_hat > 4 * inf.lam_hat_err
    for est in (a, b):  # the free control variate (β fitted, §7.5) beats no control
        assert 0 < est.lam_hat_beta < 1 and est.lam_hat_err < 0.5 * est.lam_hat_raw_err
    diff = (a.delta_g4c_pair - b.delta_g4c_pair)[IU] / np.hypot(a.delta_g4c_pair_err, b.delta_g4c_pair_err)[IU]
    assert np.all(np.abs(diff) < 4), diff
    assert b.lam_hat > 4 * b.lam_hat_err  # resolved
    assert b.window == 500 and b.free_reference == "proposals"
    assert 0.9 < b.acceptance < 1.0 and 0.5 <= b.tau_int < 0.7 and b.tau_int_f >= 0.5
    assert b.ess == pytest.approx(b.n / (2 * b.tau_int)) and b.block_steps == 24000 / 64


def _z_sd(ests, key):
    """SD of z = (estimate − mean over seeds)/err, pooled over a matrix's upper triangle. With calibrated
    errors (S − 1)·SD² ~ χ²_{S−1} per element (the mean is fitted); pooling correlated elements only
    narrows that law."""
    v = np.array([np.asarray(getattr(e, key))[IU] if np.ndim(getattr(e, key)) else getattr(e, key) for e in ests])
    err = np.array([np.asarray(getattr(e, key + "_err"))[IU] if np.ndim(getattr(e, key)) else getattr(e, key + "_err")
                    for e in ests])
    z = (v - v.mean(0)) / err
    return float(np.sqrt((z**2).sum() / ((len(ests) - 1) * (z.size // len(ests)))))


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["mcmc", "reweight"])
def test_coupling_errors_are_calibrated_over_seeds(sampler):
    """20 seeds at N = 50, M = 4000 (λ = 0.5, Λ = 4, L = 4): SD of the z-scores in issue 11's [0.7, 1.4].
    For exactly calibrated errors 19·SD² ~ χ²₁₉, inside that band with probability 0.96. The plain
    difference E_λ − E_0 (β = 1) gave SD 1.95 for the chains; the fitted control variate is what passes.
    The same for ΔG4c and ΔG2 at the 45 pairs (pooled; measured 1.07–1.14 and 0.93–1.05)."""
    ests = [_run(_spec(50), sampler, 4000, seed=s) for s in range(20)]
    for key in ("lam_hat", "delta_g4c_pair", "delta_g2"):
        assert 0.7 <= _z_sd(ests, key) <= 1.4, (key, _z_sd(ests, key))


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("NNQFT_CALIBRATION"), reason="issue 11's configuration, 2–5 min: "
                    "run with NNQFT_CALIBRATION=1")
def test_mcmc_coupling_errors_are_calibrated_at_the_issue_config():
    """N = 500, M = 8000, 10 seeds: 9·SD² ~ χ²₉, in [0.7, 1.4] with probability 0.84 (measured SD: 1.05)."""
    sd = _z_sd([_run(_spec(500), "mcmc", 8000, seed=s) for s in range(10)], "lam_hat")
    assert 0.7 <= sd <= 1.4, sd
