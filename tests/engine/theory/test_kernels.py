"""Analytic NNGP/NTK kernels against independently written textbook formulas and higher-order quadrature.

The references below are scalar re-implementations from the papers (Cho & Saul's arc-cosine kernel in its
arcsin form, Williams' erf kernel, the NTK recursions of docs/physics.md §3), not calls into the engine.
"""
import math
import warnings

import numpy as np
import pytest
from scipy import integrate, special

from nnqft_engine import NetworkSpec
from nnqft_engine.activations import get_activation
from nnqft_engine.priors import moment, quadrature_rule
from nnqft_engine.theory.kernels import cross_kernels, kernels, prior_first_layer

X1 = np.array([[-1.5], [-0.4], [0.0], [0.7], [1.2]])
X2 = np.array([[0.3, -1.0], [1.0, 0.5], [0.0, 0.0], [-0.8, 0.9]])


def relu_pair(k11, k22, k12):
    """E[relu(u)relu(v)], E[step(u)step(v)] in the form √(k11k22)/(2π)·(√(1−ρ²) + ρ(π/2 + arcsin ρ))."""
    if k11 * k22 == 0:
        return 0.0, 0.25  # one of u, v is identically 0 (and the step of 0 is taken half-on: θ = π/2)
    rho = max(-1.0, min(1.0, k12 / math.sqrt(k11 * k22)))
    e = math.sqrt(k11 * k22) / (2 * math.pi) * (math.sqrt(1 - rho * rho) + rho * (math.pi / 2 + math.asin(rho)))
    return e, 0.25 + math.asin(rho) / (2 * math.pi)


def erf_pair(k11, k22, k12):
    """Williams (1997): E[erf erf] = (2/π) arcsin(2k12/√((1+2k11)(1+2k22))); E[erf' erf'] = (4/π)/√det(I+2Λ)."""
    e = 2 / math.pi * math.asin(2 * k12 / math.sqrt((1 + 2 * k11) * (1 + 2 * k22)))
    return e, 4 / math.pi / math.sqrt((1 + 2 * k11) * (1 + 2 * k22) - 4 * k12 * k12)


def textbook(pair, x, depth, sw, sb, parameterization, width):
    """NNGP and NTK matrices by the layer recursion, one pair of points at a time."""
    p, d = x.shape
    nngp, ntk = np.zeros((p, p)), np.zeros((p, p))
    for i in range(p):
        for j in range(p):
            dot = lambda a, b: float(np.dot(x[a], x[b])) / d  # noqa: E731
            k = {(a, b): sw**2 * dot(a, b) + sb**2 for a in (i, j) for b in (i, j)}
            if parameterization == "ntk":
                theta = k[i, j]
            else:  # gradient w.r.t. W¹ gives x·x', w.r.t. b¹ gives 1
                theta = d * dot(i, j) + 1.0
            for _ in range(depth):
                e, de = pair(k[i, i], k[j, j], k[i, j])
                ii, jj = pair(k[i, i], k[i, i], k[i, i])[0], pair(k[j, j], k[j, j], k[j, j])[0]
                new = sw**2 * e + sb**2
                if parameterization == "ntk":
                    theta = new + sw**2 * de * theta
                else:
                    theta = width * e + 1.0 + sw**2 * de * theta
                k = {(i, i): sw**2 * ii + sb**2, (j, j): sw**2 * jj + sb**2, (i, j): new, (j, i): new}
            nngp[i, j], ntk[i, j] = k[i, j], theta
    return nngp, ntk


@pytest.mark.parametrize("activation,pair", [("relu", relu_pair), ("erf", erf_pair)])
@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("x,sb", [(X1, 0.3), (X2, 0.0)])
def test_closed_forms_equal_textbook_recursions(activation, pair, parameterization, depth, x, sb):
    spec = NetworkSpec(input_dim=x.shape[1], depth=depth, width=300, activation=activation, sigma_w=1.4,
                       sigma_b=sb, parameterization=parameterization)
    got = kernels(spec, x)
    nngp, ntk = textbook(pair, x, depth, 1.4, sb, parameterization, 300)
    np.testing.assert_allclose(got.nngp, nngp, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.ntk, ntk, rtol=1e-12, atol=1e-12)


def test_sin_cos_gauss_net_and_linear_closed_forms():
    x, d, sw, sb = X2, 2, 1.3, 0.5
    sq = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    # gauss-net, one hidden layer (2008.08601): K = σ_b² + σ_w² exp(−σ_w²|x−x'|²/(2d)).
    gn = kernels(NetworkSpec(input_dim=d, activation="gauss-net", sigma_w=sw, sigma_b=sb), x)
    np.testing.assert_allclose(gn.nngp, sb**2 + sw**2 * np.exp(-sw**2 * sq / (2 * d)), rtol=1e-12, atol=1e-12)
    # sin/cos, one layer: E[sin u sin v] = e^{−(k11+k22)/2} sinh(k12), cos with cosh.
    k1 = sw**2 * x @ x.T / d + sb**2
    dg = np.diag(k1)
    damp = np.exp(-(dg[:, None] + dg[None, :]) / 2)
    for act, e, de in (("sin", np.sinh(k1), np.cosh(k1)), ("cos", np.cosh(k1), np.sinh(k1))):
        got = kernels(NetworkSpec(input_dim=d, activation=act, sigma_w=sw, sigma_b=sb), x)
        np.testing.assert_allclose(got.nngp, sw**2 * damp * e + sb**2, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got.ntk, got.nngp + sw**2 * damp * de * k1, rtol=1e-12, atol=1e-12)
    # linear, depth 3: K^{l+1} = σ_w² K^l + σ_b², Θ^{l+1} = K^{l+1} + σ_w² Θ^l.
    k, theta = k1, k1
    for _ in range(3):
        k = sw**2 * k + sb**2
        theta = k + sw**2 * theta
    lin = kernels(NetworkSpec(input_dim=d, depth=3, activation="linear", sigma_w=sw, sigma_b=sb), x)
    np.testing.assert_allclose(lin.nngp, k, rtol=1e-12)
    np.testing.assert_allclose(lin.ntk, theta, rtol=1e-12)


def reference_pair(f, g, k11, k22, k12, n=360):
    """E[f(u)g(v)] by a 360²-node Gauss–Hermite rule on the eigenvectors of Λ (not the engine's Cholesky)."""
    z, w = special.roots_hermitenorm(n)
    w = w / w.sum()
    vals, vecs = np.linalg.eigh(np.array([[k11, k12], [k12, k22]]))
    a = vecs * np.sqrt(np.maximum(vals, 0.0))
    u = a[0, 0] * z[:, None] + a[0, 1] * z[None, :]
    v = a[1, 0] * z[:, None] + a[1, 1] * z[None, :]
    return float(w @ (f(u, 0.0) * g(v, 0.0)) @ w)


@pytest.mark.parametrize("activation", ["tanh", "gelu", "sigmoid", "softplus", "silu"])
@pytest.mark.parametrize("depth,sw", [(1, 1.2), (3, 1.0)])
def test_quadrature_kernels_match_higher_order_quadrature(activation, depth, sw):
    x, sb = np.array([[-1.0], [-0.2], [0.5], [1.0]]), 0.3
    act = get_activation(activation)
    spec = NetworkSpec(depth=depth, activation=activation, sigma_w=sw, sigma_b=sb, parameterization="ntk")
    got = kernels(spec, x)
    p = len(x)
    k = sw**2 * x @ x.T + sb**2
    theta = k.copy()
    for _ in range(depth):
        e, de = np.zeros((p, p)), np.zeros((p, p))
        for i in range(p):
            for j in range(i, p):
                e[i, j] = e[j, i] = reference_pair(act.numpy_fn, act.numpy_fn, k[i, i], k[j, j], k[i, j])
                de[i, j] = de[j, i] = reference_pair(act.numpy_grad, act.numpy_grad, k[i, i], k[j, j], k[i, j])
        k = sw**2 * e + sb**2
        theta = k + sw**2 * de * theta
    assert np.abs(got.nngp - k).max() <= 1e-9 * np.abs(k).max()
    assert np.abs(got.ntk - theta).max() <= 1e-9 * np.abs(theta).max()


# ---- non-Gaussian first layer: the expectation is over the true prior ------------------------------------

def _density(prior, a):
    if prior == "uniform":
        return 1 / (2 * math.sqrt(3))
    return math.sqrt(0.5) * math.exp(-math.sqrt(2) * abs(a))  # laplace, unit variance


_LIMITS = {"uniform": [(-math.sqrt(3), math.sqrt(3))], "laplace": [(-np.inf, 0.0), (0.0, np.inf)]}


@pytest.mark.parametrize("prior,activation", [("uniform", "erf"), ("laplace", "tanh"), ("uniform", "gauss-net"),
                                              ("laplace", "sin")])
def test_first_layer_prior_expectation_matches_adaptive_integration(prior, activation):
    sw, sb, x, y = 1.3, 0.4, -0.7, 1.1
    spec = NetworkSpec(activation=activation, sigma_w=sw, sigma_b=sb, prior=prior)
    act = get_activation(activation)
    q = [sw**2 * v * v + sb**2 for v in (x, y)]
    e_phi, e_dphi = prior_first_layer(spec, np.array([[x], [y]]))
    for fn, got in ((act.numpy_fn, e_phi[0, 1]), (act.numpy_grad, e_dphi[0, 1])):
        def integrand(b, a):
            return (fn(sw * a * x + sb * b, q[0]) * fn(sw * a * y + sb * b, q[1])
                    * _density(prior, a) * _density(prior, b))
        ref = sum(integrate.dblquad(integrand, la, ha, lb, hb, epsabs=1e-13, epsrel=1e-12)[0]
                  for la, ha in _LIMITS[prior] for lb, hb in _LIMITS[prior])
        assert abs(got - ref) < 1e-9 * max(1.0, abs(ref))


def test_rademacher_first_layer_is_an_exact_four_point_average():
    sw, sb, x = 0.9, 0.6, np.array([[-0.5], [1.5]])
    spec = NetworkSpec(activation="tanh", sigma_w=sw, sigma_b=sb, prior="rademacher")
    e_phi, _ = prior_first_layer(spec, x)
    ref = np.mean([np.tanh(sw * a * x[:, 0] + sb * b)[:, None] * np.tanh(sw * a * x[:, 0] + sb * b)[None, :]
                   for a in (-1, 1) for b in (-1, 1)], axis=0)
    np.testing.assert_allclose(e_phi, ref, rtol=1e-14)


@pytest.mark.parametrize("prior", ["uniform", "laplace", "student-t"])
def test_prior_rules_reproduce_moments_and_converge(prior):
    nodes, weights = quadrature_rule(prior, 80, 6.0)
    for k in (0, 2, 4):
        assert abs(weights @ nodes**k - moment(prior, k, 6.0)) < 1e-10 * moment(prior, k, 6.0)
    # Smooth activations, depth 2 (first layer over the prior, then Gaussian): default vs a finer rule.
    for act in ("erf", "tanh"):
        spec = NetworkSpec(depth=2, activation=act, sigma_w=1.2, sigma_b=0.3, prior=prior, prior_dof=6.0)
        a, b = kernels(spec, X1), kernels(spec, X1, n_per_dim=200)
        assert np.abs(a.nngp - b.nngp).max() < 1e-9 * np.abs(b.nngp).max()
        assert np.abs(a.ntk - b.ntk).max() < 1e-9 * np.abs(b.ntk).max()


@pytest.mark.parametrize("prior,x", [("uniform", X2), ("rademacher", X2), ("laplace", X1), ("student-t", X1)])
def test_linear_network_kernel_is_prior_independent(prior, x):
    """Only second moments enter a linear network's kernel: the prior path must reproduce the Gaussian one."""
    base = NetworkSpec(input_dim=x.shape[1], depth=2, activation="linear", sigma_w=1.1, sigma_b=0.7,
                       parameterization="standard")
    ref = kernels(base, x)
    got = kernels(base.replace(prior=prior), x)
    np.testing.assert_allclose(got.nngp, ref.nngp, rtol=1e-12, atol=1e-12 * np.abs(ref.nngp).max())
    np.testing.assert_allclose(got.ntk, ref.ntk, rtol=1e-12, atol=1e-12 * np.abs(ref.ntk).max())


def test_second_layer_after_prior_first_layer_uses_textbook_erf():
    spec = NetworkSpec(depth=2, activation="erf", sigma_w=1.2, sigma_b=0.3, prior="uniform")
    e1, de1 = prior_first_layer(spec, X1)
    k2 = 1.44 * e1 + 0.09
    theta2 = k2 + 1.44 * de1 * (1.44 * X1 @ X1.T + 0.09)
    ref = np.array([[erf_pair(k2[i, i], k2[j, j], k2[i, j]) for j in range(5)] for i in range(5)])
    got = kernels(spec, X1)
    np.testing.assert_allclose(got.nngp, 1.44 * ref[..., 0] + 0.09, rtol=1e-12)
    np.testing.assert_allclose(got.ntk, 1.44 * ref[..., 0] + 0.09 + 1.44 * ref[..., 1] * theta2, rtol=1e-12)


def test_cross_kernels_are_blocks_of_the_joint_kernel():
    spec = NetworkSpec(depth=2, activation="relu", parameterization="standard", width=64)
    k = kernels(spec, X1)
    nngp, ntk = cross_kernels(spec, X1[:2], X1[2:])
    np.testing.assert_allclose(nngp, k.nngp[:2, 2:], rtol=1e-13)
    np.testing.assert_allclose(ntk, k.ntk[:2, 2:], rtol=1e-13)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_heavy_tailed_gauss_net_has_no_second_moment():
    spec = NetworkSpec(activation="gauss-net", prior="student-t", sigma_w=1.0, sigma_b=0.2)
    assert np.all(np.isinf(kernels(spec, X1).nngp))


def test_divergent_gauss_net_moments_are_reported_as_infinite_not_nan():
    # gauss-net under a student-t first layer has E[e^{w x}] = ∞: the kernel diverges, it is not undefined.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k = kernels(NetworkSpec(activation="gauss-net", prior="student-t", depth=3, sigma_w=1.5, sigma_b=0.5),
                     [-1.0, 0.0, 1.0])
    assert not np.isnan(k.nngp).any() and not np.isnan(k.ntk).any()
    assert np.isinf(k.nngp).any()
