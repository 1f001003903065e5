"""nnqft_engine.theory.quadrature and nnqft_engine.gauss_rules against closed forms and scipy's integrators."""
import math

import numpy as np
import pytest
from scipy import integrate, special

from nnqft_engine.gauss_rules import hermite_e_rule, laguerre_rule, legendre_rule
from nnqft_engine.priors import moment
from nnqft_engine.spec import PRIORS, NetworkSpec
from nnqft_engine.theory.quadrature import first_layer_rule, gaussian_pair_expectation

# Covariances (k11, k22, k12): positive definite, one degenerate (|ρ| = 1), one with a zero variance.
K11 = np.array([1.0, 0.3, 2.0, 1.5, 0.0, 4.0])
K22 = np.array([1.0, 0.7, 0.5, 1.5, 0.8, 1.0])
K12 = np.array([0.5, -0.2, 0.9, 1.5, 0.0, -1.9])


def power(k):
    return lambda x, q: x**k


@pytest.mark.parametrize("n", [None, 8, 64])
def test_polynomial_moments_are_exact(n):
    # Wick: E[uv] = k12, E[u²] = k11, E[u²v²] = k11 k22 + 2 k12², E[u³v] = 3 k11 k12, E[u v⁵] = 15 k22² k12.
    cases = [(1, 1, K12), (2, 0, K11), (0, 2, K22), (2, 2, K11 * K22 + 2 * K12**2), (3, 1, 3 * K11 * K12),
             (1, 5, 15 * K22**2 * K12), (1, 2, 0 * K11)]
    for a, b, want in cases:
        got = gaussian_pair_expectation(power(a), power(b), K11, K22, K12, n=n)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13, err_msg=f"E[u^{a} v^{b}]")


def test_cosine_closed_form_and_broadcasting():
    # E[cos u cos v] = ½[e^{−(k11+k22−2k12)/2} + e^{−(k11+k22+2k12)/2}];
    # E[sin u sin v] = ½[e^{−(k11+k22−2k12)/2} − e^{−(k11+k22+2k12)/2}].
    minus, plus = np.exp(-(K11 + K22 - 2 * K12) / 2), np.exp(-(K11 + K22 + 2 * K12) / 2)
    cos = gaussian_pair_expectation(lambda x, q: np.cos(x), lambda x, q: np.cos(x), K11, K22, K12)
    sin = gaussian_pair_expectation(lambda x, q: np.sin(x), lambda x, q: np.sin(x), K11, K22, K12)
    np.testing.assert_allclose(cos, 0.5 * (minus + plus), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(sin, 0.5 * (minus - plus), rtol=1e-12, atol=1e-15)
    # Arguments broadcast to a common shape, and the per-element q is passed to f and g.
    grid = gaussian_pair_expectation(lambda x, q: np.cos(q * x), lambda x, q: np.cos(q * x),
                                     K11[:, None], K22[:, None], K12[:, None], q1=np.array([1.0, 2.0]),
                                     q2=np.array([1.0, 2.0]))
    assert grid.shape == (len(K11), 2)
    np.testing.assert_allclose(grid[:, 0], cos, rtol=1e-13, atol=1e-15)
    k11, k22, k12 = 4 * K11, 4 * K22, 4 * K12  # cos(2u) with u ~ N(0, k) is cos(w), w ~ N(0, 4k)
    want = 0.5 * (np.exp(-(k11 + k22 - 2 * k12) / 2) + np.exp(-(k11 + k22 + 2 * k12) / 2))
    np.testing.assert_allclose(grid[:, 1], want, rtol=1e-11, atol=1e-14)


def test_tanh_against_dblquad():
    k11, k22, k12 = 1.5, 0.8, 0.6
    det = k11 * k22 - k12**2

    def integrand(v, u):
        quad_form = (k22 * u * u - 2 * k12 * u * v + k11 * v * v) / det
        return np.tanh(u) * np.tanh(v) * math.exp(-0.5 * quad_form) / (2 * math.pi * math.sqrt(det))

    lim_u, lim_v = 14 * math.sqrt(k11), 14 * math.sqrt(k22)  # the Gaussian tails beyond are < e^{−98}
    want, abserr = integrate.dblquad(integrand, -lim_u, lim_u, -lim_v, lim_v, epsabs=1e-13, epsrel=1e-12)
    assert abserr < 1e-10 * abs(want)
    tanh = lambda x, q: np.tanh(x)  # noqa: E731
    got = gaussian_pair_expectation(tanh, tanh, k11, k22, k12, scale=4.0)  # tanh's quadrature_scale
    assert got == pytest.approx(want, rel=1e-8)
    # Odd × even vanishes by symmetry (a check that f and g are not swapped).
    even = gaussian_pair_expectation(tanh, lambda x, q: np.tanh(x) ** 2, k11, k22, k12, scale=4.0)
    assert abs(even) < 1e-14


@pytest.mark.parametrize("n", [1, 5, 12, 20, 64])
def test_gauss_rules_exact_to_degree_2n_minus_1(n):
    """n-point Gauss rules integrate x^k exactly for k ≤ 2n − 1; for x^{2n} they miss by exactly ∫π_n² (π_n the
    monic orthogonal polynomial, vanishing at the nodes): n! (Hermite_e, unit-mass weight), (n!)² (Laguerre),
    2/(2n+1)·(2ⁿ(n!)²/(2n)!)² (Legendre)."""
    rules = {"hermite": hermite_e_rule(n), "legendre": legendre_rule(n), "laguerre": laguerre_rule(n)}
    miss = {"hermite": float(math.factorial(n)), "laguerre": float(math.factorial(n)) ** 2,
            "legendre": 2 / (2 * n + 1) * (2**n * math.factorial(n) ** 2 / math.factorial(2 * n)) ** 2}
    for k in range(2 * n + 1):
        exact = {"hermite": (float(special.factorial2(k - 1)) if k else 1.0) if k % 2 == 0 else 0.0,
                 "legendre": 2.0 / (k + 1) if k % 2 == 0 else 0.0,
                 "laguerre": float(math.factorial(k))}
        for name, (x, w) in rules.items():
            got = w @ x**k
            # Rounding scale: the sum of |terms| (odd Hermite moments cancel between ± nodes of size ~√(4n)).
            s = np.abs(w) @ np.abs(x) ** k
            if k <= 2 * n - 1:
                assert abs(got - exact[name]) <= 1e-12 * s, (name, n, k)
            elif miss[name] > 1e-6 * s:  # the miss is resolvable above rounding
                assert exact[name] - got == pytest.approx(miss[name], rel=1e-6), (name, n, k)
    if n <= 5:  # small rules: the degree-2n miss was actually checked for every family
        assert all(miss[name] > 1e-6 * (np.abs(w) @ np.abs(x) ** (2 * n)) for name, (x, w) in rules.items())


@pytest.mark.parametrize("prior, input_dim, sigma_b", [
    (p, d, b) for p in PRIORS for d, b in [(1, 0.3), (2, 0.0), (3, 1.2)]])
def test_first_layer_rule_reproduces_the_prior(prior, input_dim, sigma_b):
    spec = NetworkSpec(input_dim=input_dim, sigma_w=1.7, sigma_b=sigma_b, prior=prior)
    nodes, weights = first_layer_rule(spec)
    live = input_dim + (sigma_b > 0)
    assert nodes.shape[1] == input_dim + 1 and len(weights) == len(nodes) <= 250_000
    assert weights.sum() == pytest.approx(1.0, abs=1e-13)
    assert np.all(weights >= 0)
    scales = np.array([spec.sigma_w / math.sqrt(input_dim)] * input_dim + [sigma_b])
    mu4 = moment(prior, 4, spec.prior_dof)
    for i, s in enumerate(scales):
        if s == 0:
            assert np.all(nodes[:, i] == 0)  # a dimension without scale collapses to one node
            continue
        a = nodes[:, i] / s
        assert weights @ a == pytest.approx(0.0, abs=1e-13)
        assert weights @ a**2 == pytest.approx(1.0, rel=1e-12)
        assert weights @ a**4 == pytest.approx(mu4, rel=1e-10)
    # Independence across dimensions: E[a_i² a_j²] = 1 for i ≠ j.
    if live >= 2:
        a0, a1 = nodes[:, 0] / scales[0], nodes[:, -1 if sigma_b > 0 else 1] / scales[-1 if sigma_b > 0 else 1]
        assert weights @ (a0**2 * a1**2) == pytest.approx(1.0, rel=1e-12)
