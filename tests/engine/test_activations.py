"""One record per activation: every consumer reads it, so the record itself is checked here — φ′ against
finite differences (numpy and torch), the torch and numpy φ against each other, the in-place and fused
value-and-gradient forms against the plain ones, and every closed-form Gaussian expectation against
independent 2-D quadrature (scipy.integrate.dblquad on the whitened Gaussian)."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate

from nnqft_engine.activations import activation_names, get_activation
from nnqft_engine.spec import ACTIVATIONS

NAMES = activation_names()
Z = np.array([-2.3, -1.1, -0.4, 0.3, 0.9, 1.7, 2.6])   # no point at relu's kink
Q = 0.7                                                  # gauss-net's layer variance; ignored by the others


def test_the_spec_and_the_registry_name_the_same_activations():
    assert tuple(ACTIVATIONS) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_numpy_gradient_matches_central_differences(name):
    act = get_activation(name)
    h = 1e-6
    fd = (act.numpy_fn(Z + h, Q) - act.numpy_fn(Z - h, Q)) / (2 * h)
    np.testing.assert_allclose(act.numpy_grad(Z, Q), fd, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_torch_and_numpy_agree_and_autograd_matches_the_gradient(name):
    act = get_activation(name)
    z = torch.tensor(Z, dtype=torch.float64, requires_grad=True)
    f = act(z, Q)
    np.testing.assert_allclose(f.detach().numpy(), act.numpy_fn(Z, Q), rtol=1e-12, atol=1e-14)
    (g,) = torch.autograd.grad(f.sum(), z)
    np.testing.assert_allclose(g.numpy(), act.numpy_grad(Z, Q), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_in_place_and_fused_forms_equal_the_plain_ones(name):
    act = get_activation(name)
    z = torch.tensor(Z, dtype=torch.float64)
    expected = act(z, Q).clone()
    np.testing.assert_array_equal(act.apply_(z.clone(), Q).numpy(), expected.numpy())
    pair = act.value_and_grad(torch.tensor(Z, dtype=torch.float64), Q)
    if pair is None:
        assert act.torch_value_and_grad is None   # training falls back to autograd for these
        return
    value, grad = pair
    np.testing.assert_allclose(value.numpy(), expected.numpy(), rtol=1e-14, atol=0)
    np.testing.assert_allclose(grad.numpy(), act.numpy_grad(Z, Q), rtol=1e-12, atol=1e-14)


def _pair_quadrature(fn, k11, k22, k12, q1, q2):
    """E[fn(u, q1) fn(v, q2)] by dblquad over independent standard normals (u = √k11·a, v = ρ-mix)."""
    s1, s2 = math.sqrt(k11), math.sqrt(k22)
    rho = k12 / (s1 * s2)
    c = math.sqrt(1 - rho * rho)
    pdf = 1 / (2 * math.pi)

    def integrand(b, a):
        return (fn(np.array(s1 * a), q1) * fn(np.array(s2 * (rho * a + c * b)), q2)
                * pdf * math.exp(-(a * a + b * b) / 2))

    # relu and its step derivative: split the inner axis at the kink v = 0 (b = −ρa/c)
    val = 0.0
    for lo_a, hi_a in ((-12, 0), (0, 12)):
        val += integrate.dblquad(integrand, lo_a, hi_a, lambda a: -12, lambda a: -rho * a / c,
                                 epsabs=1e-13, epsrel=1e-12)[0]
        val += integrate.dblquad(integrand, lo_a, hi_a, lambda a: -rho * a / c, lambda a: 12,
                                 epsabs=1e-13, epsrel=1e-12)[0]
    return val


CASES = [(1.3, 0.8, 0.6), (2.0, 0.5, -0.7), (0.4, 0.4, 0.39)]


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if get_activation(n).gaussian_pair is not None])
def test_closed_forms_match_independent_quadrature(name):
    act = get_activation(name)
    for k11, k22, k12 in CASES:
        q1, q2 = (k11, k22) if act.needs_variance else (0.0, 0.0)
        e_phi, e_dphi = act.gaussian_pair(np.array(k11), np.array(k22), np.array(k12), q1, q2)
        ref_phi = _pair_quadrature(act.numpy_fn, k11, k22, k12, q1, q2)
        ref_dphi = _pair_quadrature(act.numpy_grad, k11, k22, k12, q1, q2)
        assert float(e_phi) == pytest.approx(ref_phi, rel=1e-9, abs=1e-12), (k11, k22, k12)
        assert float(e_dphi) == pytest.approx(ref_dphi, rel=1e-9, abs=1e-12), (k11, k22, k12)
