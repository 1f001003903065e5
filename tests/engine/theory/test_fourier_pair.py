"""tanh / sigmoid under the laplace prior at d > 1: every pair moment (NNGP, NTK, E[h²h²], E[h³h], E[h⁶]) from the
pair's characteristic function (theory/fourier_pair.py, docs/physics.md §4.2). The tensor Gauss rule they replace
missed the NNGP by 2.4e-5 and the NTK by 4.2e-4 (tanh, σ_w = 3, σ_b = 1, x = (−1, 2)), G4c by 2.3e-5."""
import math

import numpy as np
import pytest
from _exact_reference_nd import smooth_pair

from nnqft_engine import NetworkSpec
from nnqft_engine.theory import fourier_pair, scale_mixture
from nnqft_engine.theory.accuracy import accuracy_note
from nnqft_engine.theory.finite_width import exact_correlators
from nnqft_engine.theory.kernels import kernels, prior_first_layer
from nnqft_engine.theory.neuron_moments import NeuronMoments

XS = np.array([[1.3, -0.6], [0.4, 0.9], [-1.0, 2.0]])


@pytest.mark.parametrize("sw,sb,d", [(3.0, 1.0, 2), (1.0, 0.3, 2), (2.0, 0.0, 2), (2.5, 0.0, 3)])
def test_erf_agrees_with_the_scale_mixture(sw, sb, d):
    # erf's S(k) = e^{−k²/4} through the same folded quadrant sums against the engine's other, independent route
    # (the Gaussian scale mixture with Williams' arcsin form, itself checked against nested quad in test_exactness):
    # the characteristic-function machinery with three live parameters, both the folded NNGP and the NTK.
    spec = NetworkSpec(activation="erf", prior="laplace", sigma_w=sw, sigma_b=sb, input_dim=d)
    x = XS if d == 2 else np.concatenate([XS, XS[:, :1]], axis=1)
    mine = fourier_pair.fourier_first_layer(spec, x)
    ref = scale_mixture.erf_first_layer(spec, x)
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


def _on_an_axis(activation, sw, sb):
    """(d = 2 spec, the d = 1 spec it reduces to, points with x₂ = 0): two live parameters, σ_w/√2."""
    x2 = np.array([[1.3, 0.0], [-0.6, 0.0], [2.0, 0.0]])
    return (NetworkSpec(activation=activation, prior="laplace", sigma_w=sw, sigma_b=sb, input_dim=2),
            NetworkSpec(activation=activation, prior="laplace", sigma_w=sw / math.sqrt(2), sigma_b=sb), x2)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "gelu", "silu", "softplus"])
@pytest.mark.parametrize("sw,sb", [(3.0, 1.0), (1.0, 0.3)])
def test_kernel_on_an_axis_is_the_d1_integral(activation, sw, sb):
    # x₂ = 0 leaves two live parameters: the d = 1 moments from the graded composite rule (checked against nested
    # quad in test_exactness). tanh / sigmoid: S(k), F(k); gelu / silu / softplus: φ = z/2 + e(z) through e″'s
    # transform (fourier_growing), to 1e-13 of the moment's scale (small off-diagonal entries carry that).
    two, one, x2 = _on_an_axis(activation, sw, sb)
    for a, b in zip(fourier_pair.fourier_first_layer(two, x2), prior_first_layer(one, x2[:, :1])):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13 * np.abs(b).max())


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "erf"])
@pytest.mark.parametrize("sw,sb", [(3.0, 1.0), (1.0, 0.3)])
def test_correlator_moments_on_an_axis_are_the_d1_integrals(activation, sw, sb):
    # Every power's (c, S, F) decomposition (tanh^p through sech^{2n}, sigmoid through tanh(z/2), erf^p by the
    # trapezoid rule in z): H₁₂, E[h²h²], E[h³h], E[h⁶] and tuples of two distinct points.
    two, one, x2 = _on_an_axis(activation, sw, sb)
    n2, n1 = NeuronMoments(two, x2), NeuronMoments(one, x2[:, :1])
    assert isinstance(n2.pairwise, fourier_pair.FourierMoments)
    for name in ("h2", "h4_pair", "h31_pair", "h6"):
        np.testing.assert_allclose(getattr(n2, name)(), getattr(n1, name)(), rtol=1e-12, atol=0, err_msg=name)
    for idx in ((0, 0, 1), (0, 1, 1, 1, 1), (2, 2, 2, 0, 0, 0), (1, 1, 1, 1)):
        assert n2.h_tuple(idx) == pytest.approx(n1.h_tuple(idx), rel=1e-12, abs=1e-15)


def _three_laplace_density(a):
    """The density of z = Σ_l a_l u_l (u_l standardized laplace, distinct |a_l|): Σ_l A_l e^{−√2|z|/a_l}/(√2 a_l),
    A_l = Π_{m≠l} a_l²/(a_l² − a_m²) (partial fractions of Π 1/(1 + a_l²t²/2)); for z ≥ 0."""
    amp = [np.prod([a[l] ** 2 / (a[l] ** 2 - a[m] ** 2) for m in range(len(a)) if m != l]) for l in range(len(a))]
    return lambda z: sum(amp[l] * math.exp(-math.sqrt(2) * z / a[l]) / (math.sqrt(2) * a[l]) for l in range(len(a)))


def _even_mean(g, a):
    from scipy import integrate

    pz = _three_laplace_density(a)
    return 2 * integrate.quad(lambda z: g(z) * pz(z), 0, 120, epsabs=0, epsrel=1e-13, limit=400)[0]


def test_one_point_moments_from_the_sum_of_three_laplace_terms():
    # Three live parameters, one point: E[tanh^p], p = 2, 4, 6, by adaptive quad against z's own density.
    sw, sb = 3.0, 1.0
    nm = NeuronMoments(NetworkSpec(activation="tanh", prior="laplace", sigma_w=sw, sigma_b=sb, input_dim=2), XS[:2])
    a = np.array([sw * 1.3 / math.sqrt(2), sw * 0.6 / math.sqrt(2), sb])
    for p in (2, 4, 6):
        assert nm.h_tuple((0,) * p) == pytest.approx(_even_mean(lambda z: math.tanh(z) ** p, a), rel=1e-12)
    assert nm.h6()[0] == pytest.approx(nm.h_tuple((0,) * 6), rel=1e-15)


@pytest.mark.parametrize("activation", ["gelu", "silu", "softplus"])
def test_growing_activations_diagonal_from_the_sum_of_three_laplace_terms(activation):
    # E[φ(z)²] and E[φ′(z)²] through fourier_growing's 2-D sums (B with three live parameters, a_i = a_j) against
    # adaptive quad over z's density (the odd part of φ² integrates to 0 over the symmetric law: take the even part).
    from nnqft_engine.activations import get_activation

    sw, sb = 3.0, 1.0
    spec = NetworkSpec(activation=activation, prior="laplace", sigma_w=sw, sigma_b=sb, input_dim=2)
    e_phi, e_dphi = fourier_pair.fourier_first_layer(spec, XS[:1])
    act = get_activation(activation)
    f = lambda z: float(act.numpy_fn(np.array(z), 0.0))      # noqa: E731
    df = lambda z: float(act.numpy_grad(np.array(z), 0.0))    # noqa: E731
    a = np.array([sw * 1.3 / math.sqrt(2), sw * 0.6 / math.sqrt(2), sb])
    assert e_phi[0, 0] == pytest.approx(_even_mean(lambda z: (f(z) ** 2 + f(-z) ** 2) / 2, a), rel=1e-12)
    assert e_dphi[0, 0] == pytest.approx(_even_mean(lambda z: (df(z) ** 2 + df(-z) ** 2) / 2, a), rel=1e-12)


def test_kernel_and_theory_agree_and_are_not_noted():
    spec = NetworkSpec(activation="tanh", prior="laplace", sigma_w=3.0, sigma_b=1.0, input_dim=2, width=3)
    k = kernels(spec, XS)
    e_phi, e_dphi = fourier_pair.fourier_first_layer(spec, XS)
    np.testing.assert_allclose(k.nngp, 1.0 + 9.0 * e_phi, rtol=1e-14)
    np.testing.assert_allclose(exact_correlators(spec, XS).g2, k.nngp, rtol=1e-14)
    assert accuracy_note(spec, kernel=True, x=XS) is None and accuracy_note(spec, x=XS) is None


def test_far_points_fall_back_to_the_noted_rule():
    # Steps shrink like 1/max|a_l|: beyond the node budget the tensor rule and its note return.
    spec = NetworkSpec(activation="tanh", prior="laplace", sigma_w=3.0, sigma_b=1.0, input_dim=2)
    far = XS * 40
    assert fourier_pair.within_budget(spec, XS) and not fourier_pair.within_budget(spec, far)
    assert "1e-9" in accuracy_note(spec, kernel=True, x=far)
    assert np.all(np.isfinite(kernels(spec, far).ntk))


@pytest.mark.slow
def test_tanh_three_live_parameters_against_nested_quad():
    # The NTK's E[sech²(z₁)sech²(z₂)] at d = 2 with a bias against a 3-D nested quad over (w₁, w₂, b) split at the
    # laplace kink (~110 s; the cheapest of the nested references — the folded odd × odd sums at three live
    # parameters are checked through erf above). Measured once this way too: the NNGP's E[tanh tanh] 1.8e-14,
    # E[tanh³ tanh] (every part of t³ = t − t·sech²) within 1e-9 (4.4 min), gelu's NNGP at σ_w = 1.5 1.4e-15 (6 min).
    sw, sb = 3.0, 1.0
    spec = NetworkSpec(activation="tanh", prior="laplace", sigma_w=sw, sigma_b=sb, input_dim=2)
    ref = smooth_pair("laplace", lambda u, v: 1.0 / (math.cosh(u) * math.cosh(v)) ** 2, sw, sb, XS[:2], tol=1e-10)
    assert fourier_pair.fourier_first_layer(spec, XS[:2])[1][0, 1] == pytest.approx(ref, rel=1e-9)
