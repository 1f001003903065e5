"""Error bars that mean what they say (sampling/honesty.py, theory/estimator_variance.py, docs/physics.md §4.5).

Calibration: over S independent seeds the z-scores (estimate − exact)/reported error must have SD ≈ 1. For S
Gaussian z's, (S−1)·s²/σ² ~ χ²(S−1); with S = 40 the two-sided 99.9 % interval of s at σ = 1 is
[√(χ²₀.₀₀₀₅/39), √(χ²₀.₉₉₉₅/39)] ≈ [0.65, 1.41] (computed below), so a correct error fails one such check once in
a thousand runs, and an error off by a factor 1.5 fails it most of the time.
"""
import json

import numpy as np
import pytest
from scipy import stats as sps

from nnqft_engine import NetworkSpec, SampleSettings, measure, run_to_completion
from nnqft_engine.cli.main import main as cli_main
from nnqft_engine.sampling.ensemble import iter_outputs
from nnqft_engine.sampling.honesty import ErrorReview
from nnqft_engine.sampling.statistics import EnsembleStats
from nnqft_engine.spec import as_points
from nnqft_engine.theory.estimator_variance import _cumulants_from_moments, output_moments
from nnqft_engine.theory.finite_width import exact_correlators

SEEDS = 40
LIGHT = NetworkSpec(activation="erf", sigma_w=2.0, sigma_b=0.2, width=4)
HEAVY = NetworkSpec(activation="gauss-net", sigma_w=1.0, sigma_b=0.2, width=2)


def sd_interval(seeds: int, p: float = 1e-3) -> tuple[float, float]:
    dof = seeds - 1
    return (float(np.sqrt(sps.chi2.ppf(p / 2, dof) / dof)), float(np.sqrt(sps.chi2.ppf(1 - p / 2, dof) / dof)))


def test_exact_output_moments_reproduce_the_exact_cumulants():
    for spec in (LIGHT, HEAVY, LIGHT.replace(prior="laplace", width=3)):
        x = [0.3, 0.8]
        kap = _cumulants_from_moments(output_moments(spec, x))
        th = exact_correlators(spec, x)
        np.testing.assert_allclose(kap[2], np.diag(th.g2), rtol=1e-9)
        np.testing.assert_allclose(kap[4], th.g4c_diag, rtol=1e-7)
        np.testing.assert_allclose(kap[6], th.g6c_diag, rtol=1e-6)


@pytest.mark.slow
def test_reported_errors_are_calibrated_over_seeds():
    x = [0.8]
    pts = as_points(x, 1)
    th = exact_correlators(LIGHT, x)
    truth = {"g2": th.g2[0, 0], "g4c_diag": th.g4c_diag[0], "kurtosis": th.kurtosis[0]}
    review = ErrorReview(LIGHT, pts)
    z = {k: [] for k in truth}
    zjk = {k: [] for k in truth}
    for seed in range(SEEDS):
        st = EnsembleStats(1)
        for c in iter_outputs(LIGHT, pts, SampleSettings(ensemble=20_000, seed=100 + seed)):
            st.update(c.start, c.values)
        raw = st.estimate()
        est = review.review(raw)
        assert not any(est.unreliable[k].any() for k in truth)
        for k in truth:
            val, err, jk = (np.diag(getattr(e, a)) if k == "g2" else getattr(e, a)
                            for e, a in ((est, k), (est, k + "_err"), (raw, k + "_err")))
            z[k].append((val[0] - truth[k]) / err[0])
            zjk[k].append((val[0] - truth[k]) / jk[0])
    lo, hi = sd_interval(SEEDS)
    for k in truth:   # the reported (exact) error and the jackknife it is checked against
        for zs in (z[k], zjk[k]):
            sd = float(np.std(zs, ddof=1))
            print(k, "SD of z", round(sd, 3), "mean", round(float(np.mean(zs)), 3))
            assert lo < sd < hi, (k, sd, (lo, hi))
            assert abs(np.mean(zs)) < 4 / np.sqrt(SEEDS) * max(sd, 1.0), (k, np.mean(zs))


def test_heavy_tail_is_flagged_and_the_sample_json_says_so(capsys):
    est = run_to_completion(measure(HEAVY, [0.8], SampleSettings(ensemble=20_000, seed=1)))
    assert est.unreliable["g4c_diag"].all() and est.unreliable["kurtosis"].all()
    assert est.unreliable["g6c_diag"].all() and not est.unreliable["g2"].any()
    assert any(w.startswith("G4c") for w in est.warnings) and any(w.startswith("G6c") for w in est.warnings)
    code = cli_main(["sample", "--activation", "gauss-net", "--width", "2", "--sigma-w", "1", "--sigma-b", "0.2",
                     "--x", "0.8", "--ensemble", "20000", "--seed", "1", "--device", "cpu"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and any("G4c" in w and "E[f⁸]" in w for w in out["warnings"])


def test_infinite_moments_are_flagged_and_light_tails_are_not():
    t6 = LIGHT.replace(prior="student-t", prior_dof=6.0, activation="tanh", width=3)
    est = run_to_completion(measure(t6, [0.8], SampleSettings(ensemble=5_000, seed=2)))
    assert any("G4c" in w and "infinite" in w for w in est.warnings)
    light = run_to_completion(measure(LIGHT, [0.2, 0.8], SampleSettings(ensemble=100_000, seed=3)))
    assert light.warnings == () and not any(v.any() for v in light.unreliable.values())
    # Deeper: no exact variance, the tail diagnostic decides (erf outputs have light tails; gauss-net does not).
    deep = run_to_completion(measure(LIGHT.replace(depth=2), [0.8], SampleSettings(ensemble=100_000, seed=4)))
    assert not deep.unreliable["g4c_diag"].any()
    deep_gn = run_to_completion(measure(HEAVY.replace(depth=2), [0.8], SampleSettings(ensemble=20_000, seed=4)))
    assert deep_gn.unreliable["g4c_diag"].all() and "largest" in deep_gn.warnings[0]
