"""nnqft_engine.sampling.statistics against direct numpy formulas on the same data, and for calibration.

EnsembleStats keeps power sums per group (network index mod GROUPS) and reports the delete-one-group
jackknife: est = g·θ − (g−1)·mean_j θ_(j), err² = (g−1)/g · Σ_j (θ_(j) − mean θ_(j))², with θ the plug-in
(1/M-normalized) correlator. The reference below recomputes exactly that from centred numpy arrays (two-pass,
no raw-moment expansion), so the two agree to rounding.
"""
import math

import numpy as np
import pytest

from nnqft_engine.sampling.statistics import GROUPS, EnsembleStats, Histogram, jackknife

FIELDS = ("mean", "g2", "g4c_diag", "g4c_pair", "kurtosis", "g6c_diag")


def plug_in(a: np.ndarray) -> dict[str, np.ndarray]:
    """Plug-in correlators of the rows of a (M, P), from centred data."""
    m = a.mean(0)
    c = a - m
    mu = {k: (c**k).mean(0) for k in (2, 3, 4, 6)}
    cov = c.T @ c / len(a)
    c22 = (c**2).T @ (c**2) / len(a)
    k4 = mu[4] - 3 * mu[2] ** 2
    return {
        "mean": m,
        "g2": cov,
        "g4c_diag": k4,
        "g4c_pair": c22 - np.outer(mu[2], mu[2]) - 2 * cov**2,
        "kurtosis": k4 / mu[2] ** 2,
        "g6c_diag": mu[6] - 15 * mu[4] * mu[2] - 10 * mu[3] ** 2 + 30 * mu[2] ** 3,
    }


def reference_jackknife(a: np.ndarray, start: int = 0, group: np.ndarray | None = None):
    """Independent delete-one-group jackknife with groups (start + row) mod GROUPS (or the given labels)."""
    if group is None:
        group = (start + np.arange(len(a))) % GROUPS
    full = plug_in(a)
    reps = [plug_in(a[group != j]) for j in range(GROUPS) if np.any(group == j)]
    g = len(reps)
    est, err = {}, {}
    for k in FIELDS:
        r = np.stack([x[k] for x in reps])
        rbar = r.mean(0)
        est[k] = g * full[k] - (g - 1) * rbar
        err[k] = np.sqrt((g - 1) / g * ((r - rbar) ** 2).sum(0))
    return est, err


def skewed_sample(seed: int, m: int, p: int = 3) -> np.ndarray:
    """Correlated, non-Gaussian rows (non-zero mean, skewness and excess kurtosis) of unit-ish scale."""
    rng = np.random.default_rng(seed)
    z = np.column_stack([rng.standard_normal(m), rng.exponential(size=m) - 1.0, rng.uniform(-1.7, 1.7, m)])[:, :p]
    mix = np.array([[1.0, 0.0, 0.0], [0.4, 0.9, 0.0], [-0.3, 0.5, 0.8]])[:p, :p]
    return z @ mix.T + 0.3


def accumulate(a: np.ndarray, cuts=(), start: int = 0) -> EnsembleStats:
    s = EnsembleStats(a.shape[1])
    bounds = [0, *cuts, len(a)]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        s.update(start + lo, a[lo:hi])
    return s


@pytest.mark.parametrize("m", [3000, 4096])  # unequal and equal group sizes
def test_estimates_and_errors_match_an_independent_jackknife(m):
    a = skewed_sample(7, m)
    e = accumulate(a).estimate()
    ref_est, ref_err = reference_jackknife(a)
    assert e.n == m
    for k in FIELDS:
        # Float64 raw-moment sums (values ~1, sixth powers ~1e2) against centred sums: ~1e-13 relative; the
        # errors are differences of replicates ~1/M apart, so allow 1e-9 of the largest entry.
        for got, want in ((getattr(e, k), ref_est[k]), (getattr(e, k + "_err"), ref_err[k])):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max(), err_msg=k)
    # Sanity of the reference itself: G4c and G6c are clearly non-zero for these data (exponential column).
    assert e.g4c_diag[1] > 2.5 * e.g4c_diag_err[1]


def test_jackknife_of_mean_and_covariance_in_closed_form():
    """Equal groups (M = 32·b): the jackknife mean is the sample mean, its error the batch-means error
    sqrt(var(group means)/g), and the bias-corrected covariance is exactly cov_plug-in + Cov(group means)/g
    (the x̄x̄ᵀ term's jackknife correction), i.e. within O(1/M) of the unbiased covariance."""
    m = 32 * 128
    a = skewed_sample(11, m)
    e = accumulate(a, cuts=(1000, 1001, 2500)).estimate()
    group_means = np.stack([a[j::GROUPS].mean(0) for j in range(GROUPS)])
    gm_cov = np.cov(group_means.T, ddof=1)
    np.testing.assert_allclose(e.mean, a.mean(0), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(e.mean_err, np.sqrt(np.diag(gm_cov) / GROUPS), rtol=1e-9)
    plug = np.cov(a.T, ddof=0)
    np.testing.assert_allclose(e.g2, plug + gm_cov / GROUPS, rtol=1e-11, atol=1e-13)
    # Versus the unbiased (ddof=1) covariance: the difference Cov(group means)/g − cov/(M−1) has mean zero
    # and SD ≈ sqrt(2/(g−1))·σ²/M on the diagonal; 4 of those bound it.
    diff = np.diag(e.g2 - np.cov(a.T, ddof=1))
    assert np.all(np.abs(diff) < 4 * math.sqrt(2 / (GROUPS - 1)) * np.diag(plug) / m)


def test_jackknife_function_on_a_linear_statistic():
    """For replicates of a mean the jackknife is exact: estimate = full value, error = batch-means SE."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((GROUPS, 50))
    full = x.mean()
    reps = np.array([np.delete(x, j, axis=0).mean() for j in range(GROUPS)])
    est, err = jackknife({"m": np.array(full)}, {"m": reps})
    assert est["m"] == pytest.approx(full, abs=1e-15)
    assert err["m"] == pytest.approx(x.mean(1).std(ddof=1) / math.sqrt(GROUPS), rel=1e-12)


def test_chunking_is_bit_identical_on_exact_data_and_consistent_on_real_data():
    # Small integers: every power sum up to the sixth is an exact float64 integer, so any summation order
    # gives the same bits; groups follow the network index, not the chunk.
    rng = np.random.default_rng(5)
    ints = rng.integers(-3, 4, size=(997, 3)).astype(np.float64)
    ref = accumulate(ints).estimate()
    for cuts in ((1,), (31, 32, 33), (100, 500, 501, 996), tuple(range(7, 997, 61))):
        got = accumulate(ints, cuts).estimate()
        for k in FIELDS:
            assert np.array_equal(getattr(got, k), getattr(ref, k)), (k, cuts)
            assert np.array_equal(getattr(got, k + "_err"), getattr(ref, k + "_err")), (k, cuts)
    # Gaussian data: identical up to float64 summation order.
    a = skewed_sample(9, 1500)
    ref = accumulate(a).estimate()
    got = accumulate(a, (3, 700, 1499)).estimate()
    for k in FIELDS:
        np.testing.assert_allclose(getattr(got, k), getattr(ref, k), rtol=1e-12, atol=1e-13)
    # Groups follow the index passed as `start`: restarting the second chunk at 0 puts its rows into other
    # groups, a different partition, and the errors follow that partition exactly.
    wrong = EnsembleStats(3)
    wrong.update(0, a[:700])
    wrong.update(0, a[700:])
    labels = np.concatenate([np.arange(700), np.arange(800)]) % GROUPS
    _, ref_wrong = reference_jackknife(a, group=labels)
    np.testing.assert_allclose(wrong.estimate().g4c_diag_err, ref_wrong["g4c_diag"], rtol=1e-9)
    assert not np.allclose(wrong.estimate().g4c_diag_err, ref.g4c_diag_err, rtol=1e-6, atol=0)


def test_mean_error_matches_standard_error_on_average():
    """err² of the mean = s_g²/g from g = 32 group means: E[err²] = σ²/M and err²·M/s² ~ χ²_{g−1}/(g−1)
    (SD sqrt(2/31) = 0.254 for Gaussian data). Over 100 seeds the average ratio is 1 within
    4·0.254/√100 = 0.10; a single seed is within 4·0.254 of 1."""
    seeds, m = 100, 640
    ratios = []
    for seed in range(seeds):
        a = np.random.default_rng(1000 + seed).standard_normal((m, 1))
        e = accumulate(a).estimate()
        ratios.append(e.mean_err[0] ** 2 / (a[:, 0].var(ddof=1) / m))
    ratios = np.array(ratios)
    sd = math.sqrt(2 / (GROUPS - 1))
    assert np.all(np.abs(ratios - 1) < 4 * sd + 0.1)  # + the χ² skew: the max of 100 draws
    assert abs(ratios.mean() - 1) < 4 * sd / math.sqrt(seeds)
    assert abs(ratios.std(ddof=1) - sd) < 4 * sd / math.sqrt(2 * seeds)


def test_error_bars_are_calibrated_over_seeds():
    """Over N = 200 seeds of Gaussian data with covariance C (truth: G2 = C, every connected 4- and 6-point
    function 0), z = (estimate − truth)/err. With 32-group jackknife errors z is ~ t with 31 dof, SD
    c = sqrt(31/29) = 1.034; the sample SD of 200 such z has SD ≈ c·sqrt((2 + 6/27)/(4N)) = 0.055, so
    |SD − c| < 4·0.055 gives [0.82, 1.25]. Bias: the mean of the estimates is the truth within 4 SD/√N.
    (The mean of z itself is not 0 for G4c: its estimate and error are correlated, ρ ≈ 0.6, so light-tailed
    samples get small negative estimates with small errors; E[z] ≈ −0.2 while E[estimate] = 0.)"""
    seeds, m = 200, 1024
    cov = np.array([[1.0, 0.5], [0.5, 2.0]])
    chol = np.linalg.cholesky(cov)
    picks = {"g2_00": ("g2", (0, 0), 1.0), "g2_01": ("g2", (0, 1), 0.5), "g2_11": ("g2", (1, 1), 2.0),
             "g4c_0": ("g4c_diag", (0,), 0.0), "g4c_1": ("g4c_diag", (1,), 0.0),
             "g4c_pair_01": ("g4c_pair", (0, 1), 0.0), "kurtosis_1": ("kurtosis", (1,), 0.0),
             "g6c_0": ("g6c_diag", (0,), 0.0)}
    est = {k: [] for k in picks}
    err = {k: [] for k in picks}
    for seed in range(seeds):
        a = np.random.default_rng(seed).standard_normal((m, 2)) @ chol.T
        e = accumulate(a).estimate()
        for k, (field, idx, _) in picks.items():
            est[k].append(getattr(e, field)[idx])
            err[k].append(getattr(e, field + "_err")[idx])
    c = math.sqrt((GROUPS - 1) / (GROUPS - 3))
    half = 4 * c * math.sqrt((2 + 6 / (GROUPS - 5)) / (4 * seeds))
    for k, (_, _, truth) in picks.items():
        x, s = np.array(est[k]), np.array(err[k])
        z = (x - truth) / s
        assert c - half < z.std(ddof=1) < c + half, (k, z.std(ddof=1), (c - half, c + half))
        assert abs(x.mean() - truth) < 4 * x.std(ddof=1) / math.sqrt(seeds), (k, x.mean(), truth)


def test_histogram_counts_and_density():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((5000, 2)) * np.array([1.0, 3.0])
    edges = np.stack([np.linspace(-2.0, 2.5, 31), np.linspace(-4.0, 4.0, 31)])
    s = EnsembleStats(2, hist_edges=edges)
    s.update(0, a[:1234])
    s.update(1234, a[1234:])
    h = s.estimate().histogram
    assert isinstance(h, Histogram)
    for p in range(2):
        want, _ = np.histogram(a[:, p], bins=edges[p])  # no sample sits exactly on an edge
        assert np.array_equal(h.counts[p], want)
        in_range = np.mean((a[:, p] >= edges[p, 0]) & (a[:, p] < edges[p, -1]))
        assert 0.5 < in_range < 0.99  # a real fraction falls outside, so the normalization is tested
        dens = h.density()[p]
        # density = counts / (all networks × width): an estimate of the true density, so over the bins it
        # integrates to the in-range fraction, as the theory pdf it is drawn against does.
        np.testing.assert_allclose(dens, want / (len(a) * np.diff(edges[p])), rtol=1e-14)
        assert np.sum(dens * np.diff(edges[p])) == pytest.approx(in_range, rel=1e-12)
        assert h.total == len(a)
    d = h.as_dict()
    assert np.array_equal(np.array(d["counts"]), h.counts) and np.array_equal(np.array(d["edges"]), edges)


def test_too_few_groups_give_infinite_errors():
    s = EnsembleStats(1)
    s.update(0, np.array([[1.0]]))
    e = s.estimate()
    assert e.n == 1 and e.mean[0] == 1.0 and np.isinf(e.mean_err[0])
