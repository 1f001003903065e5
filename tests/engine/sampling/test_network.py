"""The finite network (nnqft_engine.sampling.network): parameterizations, batching, and its empirical NTK.

The analytic NTK (kernels.kernels) is checked against the ensemble mean of torch.func empirical NTKs of
wide networks, within 4 standard errors; a depth-1 network's NTK against a hand-written gradient formula.
"""
import math

import numpy as np
import pytest
import torch

from nnqft_engine import NetworkSpec
from nnqft_engine.sampling.network import (
    apply,
    empirical_ntk,
    init_params,
    layer_shapes,
    n_params,
)
from nnqft_engine.theory.kernels import kernels

X = np.array([[-1.0], [0.25], [1.5]])


def test_shapes_and_parameter_count():
    spec = NetworkSpec(input_dim=2, depth=3, width=7, activation="tanh")
    params = init_params(spec, 5, seed=1)
    assert [tuple(w.shape[1:]) for w, _ in params] == layer_shapes(spec) == [(7, 2), (7, 7), (7, 7), (1, 7)]
    assert all(w.shape[0] == b.shape[0] == 5 and w.dtype == torch.float64 for w, b in params)
    assert n_params(spec) == sum(w[0].numel() + b[0].numel() for w, b in params)
    assert apply(spec, params, np.array([[0.0, 1.0], [1.0, 0.0]])).shape == (5, 2)
    assert empirical_ntk(spec, params, np.zeros((3, 2)), np.ones((4, 2))).shape == (5, 3, 4)


def test_same_seed_same_networks_and_parameterizations_agree_on_functions():
    ntk = NetworkSpec(depth=2, width=16, activation="erf", sigma_w=1.3, sigma_b=0.4, prior="laplace")
    std = ntk.replace(parameterization="standard")
    a, b = init_params(ntk, 4, seed=3), init_params(ntk, 4, seed=3)
    assert all(torch.equal(u, v) for (u, _), (v, _) in zip(a, b))
    # Standard stores (σ_w/√fan_in)·ω: the functions at initialization are the same.
    torch.testing.assert_close(apply(ntk, a, X), apply(std, init_params(std, 4, seed=3), X), rtol=1e-12, atol=1e-12)
    assert not torch.equal(apply(ntk, a, X), apply(ntk, init_params(ntk, 4, seed=4), X))


def test_prior_family_is_respected():
    spec = NetworkSpec(depth=1, width=2000, prior="rademacher", parameterization="ntk")
    w, _ = init_params(spec, 2, seed=0)[0]
    assert set(torch.unique(w).tolist()) == {-1.0, 1.0}
    std = spec.replace(parameterization="standard", prior="uniform", sigma_w=2.0)
    w_out, _ = init_params(std, 2, seed=0)[1]
    bound = math.sqrt(3.0) * 2.0 / math.sqrt(2000)
    assert w_out.abs().max() <= bound and w_out.abs().max() > 0.99 * bound


@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
def test_depth1_ntk_equals_hand_written_gradient_sum(parameterization):
    """Θ̂ = readout weights + readout bias + first layer through the chain rule, per network; with σ_b = 0
    every bias still counts (in the standard parameterization the readout bias adds exactly 1)."""
    spec = NetworkSpec(depth=1, width=9, activation="erf", sigma_w=1.2, sigma_b=0.0,
                       parameterization=parameterization)
    params = init_params(spec, 3, seed=5)
    (w1, b1), (a, c) = params
    sw, sb = spec.sigma_w, spec.sigma_b
    if parameterization == "ntk":  # stored ω, β; W = σ_w ω/√fan_in, b = σ_b β
        m1, mb, ma, mc = sw, sb, sw / math.sqrt(spec.width), sb
    else:
        m1 = mb = ma = mc = 1.0
    x = torch.as_tensor(X)
    z = torch.einsum("pd,mnd->mpn", x, w1 * m1) + (b1 * mb)[:, None, :]
    h = torch.erf(z)
    dh = 2 / math.sqrt(math.pi) * torch.exp(-z * z)
    aw = (a[:, 0, :] * ma)
    readout = ma**2 * torch.einsum("mpn,mqn->mpq", h, h) + mc**2
    first = torch.einsum("mpn,mqn,mn->mpq", dh, dh, aw**2) * (m1**2 * (x @ x.T) + mb**2)[None]
    torch.testing.assert_close(empirical_ntk(spec, params, X), readout + first, rtol=1e-12, atol=1e-12)


CASES = [
    # activation, depth, parameterization, prior, sigma_b, width, ensemble
    ("erf", 1, "ntk", "gaussian", 0.3, 256, 24),
    ("relu", 1, "standard", "gaussian", 0.0, 256, 24),
    ("relu", 2, "ntk", "gaussian", 0.2, 512, 16),
    ("erf", 2, "standard", "uniform", 0.5, 512, 16),
    ("tanh", 3, "ntk", "gaussian", 0.1, 384, 12),
    ("softplus", 2, "standard", "gaussian", 0.2, 384, 12),
    ("gauss-net", 1, "standard", "gaussian", 0.2, 256, 16),
    ("sin", 2, "ntk", "laplace", 0.3, 384, 12),
]


@pytest.mark.parametrize("activation,depth,parameterization,prior,sigma_b,width,ensemble", CASES)
def test_analytic_ntk_matches_mean_empirical_ntk(activation, depth, parameterization, prior, sigma_b, width,
                                                 ensemble):
    spec = NetworkSpec(depth=depth, width=width, activation=activation, sigma_w=1.1, sigma_b=sigma_b,
                       prior=prior, parameterization=parameterization)
    theta = empirical_ntk(spec, init_params(spec, ensemble, seed=11), X).numpy()
    mean, se = theta.mean(0), theta.std(0, ddof=1) / math.sqrt(ensemble)
    analytic = kernels(spec, X).ntk
    # With σ_b = 0 and relu, points of opposite sign share no active neuron: Θ̂ is exactly the bias term.
    exact = se == 0
    np.testing.assert_allclose(mean[exact], analytic[exact], rtol=1e-12)
    z = np.abs(mean - analytic)[~exact] / se[~exact]
    assert z.max() < 4.0, f"max |z| = {z.max():.2f}\nempirical {mean}\nanalytic {analytic}\nse {se}"


def test_wide_nngp_from_apply_matches_kernel():
    """apply() draws the right ensemble: its output covariance is the NNGP (depth 1 is exact at every N)."""
    spec = NetworkSpec(depth=1, width=64, activation="erf", sigma_w=1.5, sigma_b=0.2, prior="student-t")
    f = apply(spec, init_params(spec, 20000, seed=2), X).numpy()
    cov = np.cov(f.T)
    nngp = kernels(spec, X).nngp
    # SE of a sample covariance: sqrt((E[f_i² f_j²] − cov²)/M) estimated from the draws.
    fc = f - f.mean(0)
    se = np.sqrt(((fc[:, :, None] * fc[:, None, :]) ** 2).mean(0) - cov**2) / math.sqrt(len(f))
    assert (np.abs(cov - nngp) / se).max() < 4.0


def test_apply_differentiates_in_the_inputs_under_torch_func():
    """gauss-net's normaliser q(x) is part of the function: f can be differentiated in x by torch.func
    (it used to go through numpy), and the derivative matches central differences."""
    spec = NetworkSpec(depth=2, width=12, activation="gauss-net", sigma_w=1.3, sigma_b=0.2)
    params = init_params(spec, 3, seed=5)
    x = torch.tensor([[-0.7], [0.2], [1.1]], dtype=torch.float64)
    jac = torch.func.jacrev(lambda pts: apply(spec, params, pts).sum(0))(x)[:, :, 0]   # (P, P)
    h = 1e-6
    for p in range(3):
        e = torch.zeros_like(x)
        e[p, 0] = h
        fd = (apply(spec, params, x + e).sum(0) - apply(spec, params, x - e).sum(0)) / (2 * h)
        torch.testing.assert_close(jac[:, p], fd, rtol=1e-6, atol=1e-8)
    assert torch.count_nonzero(jac - torch.diag(torch.diagonal(jac))) == 0   # f(x_p) depends on x_p only
