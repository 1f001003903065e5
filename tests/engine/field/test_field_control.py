"""The free control variate of the φ⁴ estimates (field/wstats.py, docs/physics.md §7.5).

θ − βc with β fitted on the jackknife replicates: β is the least-squares slope of θ on c (one for all of a
quantity's elements), and on a toy model with a closed-form answer the controlled estimate is unbiased with
calibrated errors.
"""
import mpmath
import numpy as np

from nnqft_engine.field.wstats import WeightedStats, with_control


def test_beta_is_the_least_squares_slope_and_the_control_key_is_dropped():
    rng = np.random.default_rng(1)
    c = rng.standard_normal((32, 3)) * [1.0, 2.0, 0.5]
    theta = [2.0, 1.0, 0.0] + 0.6 * c + 0.1 * rng.standard_normal((32, 3))
    full = {"t": theta.mean(0), "c": c.mean(0), "plain": np.ones(2)}
    reps = {"t": theta, "c": c, "plain": np.ones((32, 2))}
    out, rep, beta = with_control(full, reps, {"t": "c"})
    # One slope for all elements: least squares of θ on c with an intercept per element.
    design = np.concatenate([c.T.reshape(-1, 1), np.kron(np.eye(3), np.ones((32, 1)))], axis=1)
    slope = np.linalg.lstsq(design, theta.T.reshape(-1), rcond=None)[0][0]
    np.testing.assert_allclose(beta["t"], [slope] * 3, rtol=1e-12)
    np.testing.assert_allclose(rep["t"], theta - beta["t"] * c, rtol=1e-12)
    np.testing.assert_allclose(out["t"], full["t"] - beta["t"] * full["c"], rtol=1e-12)
    assert set(out) == {"t", "plain"} and np.all(beta["plain"] == 0)
    # A control that does not vary carries no information: β = 0, θ unchanged.
    out, _, beta = with_control(full, {**reps, "c": np.zeros((32, 3))}, {"t": "c"})
    assert np.all(beta["t"] == 0) and np.all(out["t"] == full["t"])


A = 0.05  # toy "coupling": weights e^{−Aφ⁴} on a standard normal φ


def _exact_second_moment() -> float:
    """E_A[φ²] = ∫φ²e^{−φ²/2−Aφ⁴} / ∫e^{−φ²/2−Aφ⁴} by mpmath (split at 0, 40 digits)."""
    mpmath.mp.dps = 40

    def moment(k):
        return mpmath.quad(lambda x: x**k * mpmath.exp(-x * x / 2 - A * x**4), [0, 2, mpmath.inf])

    return float(moment(2) / moment(0))


def test_controlled_change_is_unbiased_and_calibrated_on_a_solvable_toy():
    """ΔG2 = E_A[φ²] − 1 from M = 2000 i.i.d. normals (set 0 weighted e^{−Aφ⁴}, set 1 free as the control), 100
    seeds. z against the exact value: mean within 4/√100 of 0, SD within 1 ± 4/√(2·99) (χ²₉₉ at ~4σ)."""
    exact = _exact_second_moment() - 1.0
    z, spread = [], []
    for seed in range(100):
        phi = np.random.default_rng(seed).standard_normal((2000, 1))
        st = WeightedStats(1, len(phi))
        st.update(0, phi, np.stack([-A * phi[:, 0] ** 4, np.zeros(len(phi))], 1))
        est, err, beta = st.estimate(lambda g2, g4: {"d": g2[..., 0, :, :] - 1.0, "c": g2[..., 1, :, :] - 1.0},
                                     {"d": "c"})
        z.append((est["d"][0, 0] - exact) / err["d"][0, 0])
        spread.append(beta["d"][0, 0])
    z = np.array(z)
    assert abs(z.mean()) < 4 / np.sqrt(len(z)), z.mean()
    assert abs(z.std(ddof=1) - 1) < 4 / np.sqrt(2 * (len(z) - 1)), z.std(ddof=1)
    assert 0 < np.mean(spread) < 1  # the weighted and free estimates are correlated, not identical


def test_too_few_blocks_for_beta_report_the_uncontrolled_estimate():
    """With 3 of the 32 blocks filled (a first running estimate) β cannot be fitted (G − 3 = 0): β = 0, finite
    errors, and the control is still not reported."""
    phi = np.random.default_rng(0).standard_normal((3, 1))
    st = WeightedStats(1, 32)
    st.update(0, phi, np.stack([-A * phi[:, 0] ** 4, np.zeros(3)], 1))
    est, err, beta = st.estimate(lambda g2, g4: {"d": g2[..., 0, :, :] - 1.0, "c": g2[..., 1, :, :] - 1.0},
                                 {"d": "c"})
    assert set(est) == {"d"} and beta["d"] == 0 and np.isfinite(err["d"]).all()
