"""The closed-form delta-method variances (theory/estimator_variance.py, docs/physics.md §4.5) against an
independent route: the raw-moment formula (1/M)∇gᵀΣ∇g with g written in raw moments and its gradient taken
numerically by mpmath at 40 digits."""
import math

import mpmath as mp
import numpy as np

from nnqft_engine import NetworkSpec
from nnqft_engine.theory.estimator_variance import ORDER, output_moments, unit_variances


def _g(name, r):
    """The estimator as a function of raw moments r[0…6] (mpmath)."""
    m = r[1]
    mu = [mp.fsum(math.comb(k, j) * r[j] * (-m) ** (k - j) for j in range(k + 1)) for k in range(7)]
    k4 = mu[4] - 3 * mu[2] ** 2
    return {"g2": mu[2], "g4c_diag": k4, "kurtosis": k4 / mu[2] ** 2,
            "g6c_diag": mu[6] - 15 * mu[4] * mu[2] - 10 * mu[3] ** 2 + 30 * mu[2] ** 3}[name]


def reference(name: str, raw) -> float:
    with mp.workdps(40):
        order = ORDER[name]
        r = [mp.mpf(v) for v in raw]

        def g_at(*rk):
            rr = list(r[:7]) + [mp.mpf(0)] * max(0, 7 - len(r))
            rr[1:order + 1] = rk
            return _g(name, rr)
        grad = [mp.diff(g_at, r[1:order + 1], tuple(int(i == j) for i in range(order))) for j in range(order)]
        var = mp.fsum(grad[j - 1] * grad[l - 1] * (r[j + l] - r[j] * r[l])
                      for j in range(1, order + 1) for l in range(1, order + 1))
        return float(var)


def _check(raw: np.ndarray) -> None:
    got = unit_variances(raw[:, None])
    for name in ORDER:
        ref = reference(name, raw)
        np.testing.assert_allclose(got[name][0], ref, rtol=1e-9, err_msg=name)


def test_against_raw_moment_delta_method_nonzero_mean():
    # Exponential(1): E f^n = n! — mean 1, skewed, so every term of the central-moment chain rule matters.
    _check(np.array([math.factorial(n) for n in range(13)], dtype=float))
    # Gaussian with mean 0.7, variance 1.3 (raw moments from the cumulants).
    m, v = 0.7, 1.3
    raw = [float(sum(math.comb(n, 2 * k) * m ** (n - 2 * k) * v ** k * math.prod(range(1, 2 * k, 2))
                     for k in range(n // 2 + 1))) for n in range(13)]
    _check(np.array(raw))


def test_against_raw_moment_delta_method_network_moments():
    spec = NetworkSpec(activation="erf", sigma_w=2.0, sigma_b=0.2, width=4, prior="laplace")
    mom = output_moments(spec, [0.3, 0.8])
    for p in range(mom.shape[1]):
        _check(mom[:, p])


def test_divergent_and_unknown_moments():
    raw = np.array([math.factorial(n) for n in range(13)], dtype=float)
    inf8 = raw.copy()
    inf8[8:] = np.inf            # E f⁸ diverges: G2 still finite, G4c/kurtosis/G6c have no finite error
    nan12 = raw.copy()
    nan12[12] = np.nan           # E f¹² unknown: only G6c is unknown
    got = unit_variances(np.stack([raw, inf8, nan12], axis=1))
    assert np.isfinite(got["g2"]).all()
    assert np.isinf(got["g4c_diag"][1]) and np.isinf(got["kurtosis"][1]) and np.isinf(got["g6c_diag"][1])
    assert np.isnan(got["g6c_diag"][2]) and np.isfinite(got["g4c_diag"][2])
    np.testing.assert_allclose(got["g6c_diag"][0], reference("g6c_diag", raw), rtol=1e-9)
