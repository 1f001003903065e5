"""First-layer integrals at input dimension d > 1 at 1e-9 against independent references (issue 11, item 1;
docs/physics.md §4.2): the gaussian prior through each pair's bivariate Gaussian, relu with four live parameters
under student-t through the Gaussian scale mixture, under laplace / uniform over polytopes (`test_relu_polytope`)."""
import itertools
import json
import math

import numpy as np
import pytest
from _exact_reference_nd import relu_pair
from _mixture_reference import erf_pair_student_t_mixture, gaussian_pair, relu_gauss, relu_simplex

from nnqft_engine import NetworkSpec
from nnqft_engine.activations import get_activation
from nnqft_engine.cli.main import main
from nnqft_engine.priors import moment
from nnqft_engine.theory.accuracy import accuracy_note
from nnqft_engine.theory.finite_width import exact_correlators
from nnqft_engine.theory.kernels import kernels
from nnqft_engine.theory.scale_mixture import relu_pair_moments

XS2 = np.array([(1.3, -0.4), (-0.6, 0.9)])
XS3 = np.array([(1.3, -0.4, 0.7), (-0.6, 0.9, 0.5)])


def _coeffs(x, sw, sb):
    """a_k with z(x_k) = a_k·u (u standardized, live parameters only)."""
    d = x.shape[1]
    return np.concatenate([x * sw / math.sqrt(d)] + ([np.full((len(x), 1), sb)] if sb > 0 else []), axis=1)


def _g4c_pair(sw, n, h11, h22, h12, h1122, mu4, bias4=0.0):
    return sw**4 / n * (mu4 * h1122 - (h11 * h22 + 2 * h12 * h12)) + bias4


def _power_moment(a, prior, k, dof=6.0):
    """E[(a·u)^k] for u i.i.d. standardized, by the multinomial expansion (odd moments vanish)."""
    total = 0.0
    for ks in itertools.product(range(0, k + 1, 2), repeat=len(a)):
        if sum(ks) == k:
            coef = math.factorial(k) / math.prod(math.factorial(j) for j in ks)
            total += coef * math.prod(ai**j * moment(prior, j, dof) for ai, j in zip(a, ks))
    return total


# ---- gaussian prior: (z_i, z_j) is bivariate Gaussian whatever d is ---------------------------------------------

@pytest.mark.parametrize("d,sb", [(3, 1.0), (5, 0.4)])
def test_relu_gaussian_theory_matches_the_arc_cosine_forms(d, sb):
    # Four and six live parameters: `theory` used to split only along the bias (2e-4).
    sw, n = 3.0, 3
    x = np.random.default_rng(1).normal(size=(4, d))
    th = exact_correlators(NetworkSpec(activation="relu", sigma_w=sw, sigma_b=sb, input_dim=d, width=n), x)
    cov = sw**2 * x @ x.T / d + sb**2
    i, j = 0, 2
    h = lambda p, a, b: relu_gauss(cov[a, a], cov[b, b], cov[a, b], p, p)  # noqa: E731
    assert th.g2[i, j] == pytest.approx(sb**2 + sw**2 * h(1, i, j), rel=1e-12)
    ref = _g4c_pair(sw, n, h(1, i, i), h(1, j, j), h(1, i, j), h(2, i, j), 3.0)
    assert th.g4c_pair[i, j] == pytest.approx(ref, rel=1e-11)
    k = cov[i, i]   # E[relu^{2p}] = ½(2p−1)!! k^p
    h2, h4, h6 = k / 2, 1.5 * k**2, 7.5 * k**3
    assert th.g6c_diag[i] == pytest.approx(sw**6 / n**2 * (15 * h6 - 45 * h4 * h2 + 30 * h2**3), rel=1e-11)


def test_erf_gaussian_theory_g2_is_the_arcsine_kernel():
    sw, sb, d = 3.0, 1.0, 3
    x = np.random.default_rng(2).normal(size=(5, d))
    spec = NetworkSpec(activation="erf", sigma_w=sw, sigma_b=sb, input_dim=d, width=4)
    np.testing.assert_allclose(exact_correlators(spec, x).g2, kernels(spec, x).nngp, rtol=1e-12, atol=0)


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["tanh", "erf"])
def test_smooth_gaussian_d2_kernel_and_g4c_against_nested_quad(activation):
    sw, sb, n = 3.0, 1.0, 3
    spec = NetworkSpec(activation=activation, sigma_w=sw, sigma_b=sb, input_dim=2, width=n)
    act = get_activation(activation)
    f = lambda z: float(act.numpy_fn(np.float64(z), 0.0))     # noqa: E731
    g = lambda z: float(act.numpy_grad(np.float64(z), 0.0))   # noqa: E731
    cov = sw**2 * XS2 @ XS2.T / 2 + sb**2
    k11, k22, k12 = cov[0, 0], cov[1, 1], cov[0, 1]
    e = lambda fn: gaussian_pair(fn, k11, k22, k12)  # noqa: E731
    h12 = e(lambda u, v: f(u) * f(v))
    nngp = sb**2 + sw**2 * h12
    ntk = nngp + sw**2 * e(lambda u, v: g(u) * g(v)) * k12
    k = kernels(spec, XS2)
    assert k.nngp[0, 1] == pytest.approx(nngp, rel=1e-9)
    assert k.ntk[0, 1] == pytest.approx(ntk, rel=1e-9)
    h11, h22 = e(lambda u, v: f(u) ** 2), e(lambda u, v: f(v) ** 2)
    ref = _g4c_pair(sw, n, h11, h22, h12, e(lambda u, v: (f(u) * f(v)) ** 2), 3.0)
    assert exact_correlators(spec, XS2).g4c_pair[0, 1] == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("activation", ["tanh", "gelu", "sigmoid"])
def test_gaussian_d3_kernel_and_theory_agree(activation):
    spec = NetworkSpec(activation=activation, sigma_w=2.5, sigma_b=0.6, input_dim=3, width=5)
    x = np.random.default_rng(3).normal(size=(6, 3))
    np.testing.assert_allclose(kernels(spec, x).nngp, exact_correlators(spec, x).g2, rtol=1e-13, atol=0)


@pytest.mark.parametrize("activation", ["tanh", "erf", "gelu", "relu"])
def test_gaussian_pair_moments_two_independent_rules_agree(activation):
    # The pair moments of `theory` (gauss_moments' trapezoid rules / closed forms on the 2×2 covariance) against
    # the d = 1 graded rule of the virtual pair z_k = c_kU + sV (h_tuple), for every moment the deep first layer uses.
    from nnqft_engine.theory.pair_reduction import PairwiseMoments

    spec = NetworkSpec(activation=activation, sigma_w=3.0, sigma_b=1.0, input_dim=3)
    pm = PairwiseMoments(spec, np.random.default_rng(4).normal(size=(3, 3)))
    h2, h4, h31 = pm.h2(), pm.h4_pair(), pm.h31_pair()
    for i, j in itertools.product(range(3), repeat=2):
        assert h2[i, j] == pytest.approx(pm.h_tuple((i, j)), rel=1e-10)
        assert h4[i, j] == pytest.approx(pm.h_tuple((i, i, j, j)), rel=1e-10)
        assert h31[i, j] == pytest.approx(pm.h_tuple((i, i, i, j)), rel=1e-10)


# ---- relu under laplace / student-t: the Gaussian scale mixture -------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("prior", ["laplace", "student-t"])
def test_scale_mixture_rule_with_three_live_parameters_against_raw_quadrature(prior):
    # The identity (scale mixture, homogeneity, simplex) and the softmax rule in generic position: d = 2 with bias
    # as a three-parameter mixture, against the nested quad over (w₁, w₂) with the bias integral in closed form.
    sw, sb = 3.0, 1.0
    a = _coeffs(XS2, sw, sb)
    for grad, degree in ((False, (1, 1)), (True, (0, 0))):
        got = relu_pair_moments(prior, 6.0, a, np.array([0]), np.array([1]), degree)[0]
        assert got == pytest.approx(relu_pair(prior, sw, sb, XS2, grad=grad), rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("prior", ["laplace", "student-t", "uniform"])
def test_relu_d3_with_bias_on_a_plane_against_raw_quadrature(prior):
    # Four live parameters (student-t: the mixture rule on the 3-simplex; laplace, uniform: the polytope rule, where
    # uniform's bias-axis rule missed the NTK by 3.2e-3); with x₃ = 0 the integral is the d = 2 one at
    # σ_w·√(2/3), which the nested quad over the raw parameters gives independently.
    sw, sb = 3.0, 1.0
    x = np.concatenate([XS2, np.zeros((2, 1))], axis=1)
    spec = NetworkSpec(activation="relu", prior=prior, sigma_w=sw, sigma_b=sb, input_dim=3, width=3)
    sw2 = sw * math.sqrt(2 / 3)
    e_phi, e_dphi = relu_pair(prior, sw2, sb, XS2), relu_pair(prior, sw2, sb, XS2, grad=True)
    nngp = sb**2 + sw**2 * e_phi
    ntk = nngp + sw**2 * e_dphi * (sw**2 * x[0] @ x[1] / 3 + sb**2)
    k = kernels(spec, x)
    assert k.nngp[0, 1] == pytest.approx(nngp, rel=1e-9)
    assert k.ntk[0, 1] == pytest.approx(ntk, rel=1e-9)
    assert exact_correlators(spec, x).g2[0, 1] == pytest.approx(nngp, rel=1e-9)


@pytest.mark.slow
def test_relu_laplace_d3_with_bias_against_the_tetrahedron_quad():
    # Generic points, four live parameters: kernel (E[φφ], E[φ′φ′]) and theory's G4c pair (E[φ²φ²]) against a
    # nested adaptive quad over the tetrahedron of the Cho–Saul closed forms.
    sw, sb, n = 3.0, 1.0, 3
    spec = NetworkSpec(activation="relu", prior="laplace", sigma_w=sw, sigma_b=sb, input_dim=3, width=n)
    a = _coeffs(XS3, sw, sb)
    e = [relu_simplex("laplace", a[0], a[1], p) for p in (0, 1, 2)]
    nngp = sb**2 + sw**2 * e[1]
    ntk = nngp + sw**2 * e[0] * (sw**2 * XS3[0] @ XS3[1] / 3 + sb**2)
    k = kernels(spec, XS3)
    assert k.nngp[0, 1] == pytest.approx(nngp, rel=1e-9)
    assert k.ntk[0, 1] == pytest.approx(ntk, rel=1e-9)
    h11, h22 = (_power_moment(ak, "laplace", 2) / 2 for ak in a)   # E[relu(z)²] = ½E[z²]
    ref = _g4c_pair(sw, n, h11, h22, e[1], e[2], 6.0, sb**4 * 3.0)
    assert exact_correlators(spec, XS3).g4c_pair[0, 1] == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("prior,dof", [("laplace", 6.0), pytest.param("student-t", 9.0, marks=pytest.mark.slow)])
def test_relu_four_live_one_point_moments_are_the_prior_moments(prior, dof):
    # E[relu(z)^k] = ½E[z^k] exactly (z is symmetric): G4c and G6c on the diagonal from the multinomial moments.
    sw, sb, n = 3.0, 1.0, 4
    spec = NetworkSpec(activation="relu", prior=prior, prior_dof=dof, sigma_w=sw, sigma_b=sb, input_dim=3, width=n)
    th = exact_correlators(spec, XS3)
    a = _coeffs(XS3, sw, sb)[0]
    h2, h4, h6 = (_power_moment(a, prior, k, dof) / 2 for k in (2, 4, 6))
    mu4, mu6 = moment(prior, 4, dof), moment(prior, 6, dof)
    assert th.g4c_diag[0] == pytest.approx(sw**4 / n * (mu4 * h4 - 3 * h2 * h2) + sb**4 * (mu4 - 3), rel=1e-10)
    g6 = sw**6 / n**2 * (mu6 * h6 - 15 * mu4 * h4 * h2 + 30 * h2**3) + sb**6 * (mu6 - 15 * mu4 + 30)
    assert th.g6c_diag[0] == pytest.approx(g6, rel=1e-10)


@pytest.mark.parametrize("d,sb", [(2, 1.0), (3, 0.0), (3, 1.0)])
@pytest.mark.parametrize("dof", [4.1, 6.5, 100.0])
def test_relu_student_t_one_point_moments_from_three_live_parameters(d, sb, dof):
    # The same closed forms with three (d = 2 with bias, d = 3 without) and four live parameters, ν next to the
    # divergence of E[α⁴] (4.1) and E[α⁶] (6.5), and large (100). Three live once took the cubed-sphere rule,
    # whose grading towards the face centres missed E[h⁴] by 36 % at ν = 4.1 (4e-6 at ν = 6) and E[h⁶] by 4 % at
    # ν = 6.5; at ν = 100 the mixture's box (34/rate in t) was cut inside the weight's bulk: 5e-4.
    sw, n = 1.5, 3
    x = XS3[:, :d] * 0.5
    spec = NetworkSpec(activation="relu", prior="student-t", prior_dof=dof, sigma_w=sw, sigma_b=sb, input_dim=d,
                       width=n)
    if d == 3 and sb > 0 and dof < 10:
        # four live parameters next to divergence: the box is cut to bound its cost, and the user is told
        assert "box is cut" in accuracy_note(spec)
        return
    assert accuracy_note(spec) is None
    th = exact_correlators(spec, x)
    a = _coeffs(x, sw, sb)[0]
    h2, h4 = (_power_moment(a, "student-t", k, dof) / 2 for k in (2, 4))
    mu4 = moment("student-t", 4, dof)
    assert th.g2[0, 0] == pytest.approx(sb**2 + sw**2 * h2, rel=1e-12)
    assert th.g4c_diag[0] == pytest.approx(sw**4 / n * (mu4 * h4 - 3 * h2 * h2) + sb**4 * (mu4 - 3), rel=1e-10)
    if dof > 6:
        h6, mu6 = _power_moment(a, "student-t", 6, dof) / 2, moment("student-t", 6, dof)
        g6 = sw**6 / n**2 * (mu6 * h6 - 15 * mu4 * h4 * h2 + 30 * h2**3) + sb**6 * (mu6 - 15 * mu4 + 30)
        assert th.g6c_diag[0] == pytest.approx(g6, rel=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("prior", ["laplace", "student-t", "uniform"])
def test_kernel_and_theory_agree_on_the_cli_with_four_live_parameters(capsys, prior):
    argv = ["--activation", "relu", "--prior", prior, "--prior-dof", "8", "--sigma-w", "2", "--sigma-b", "0.5",
            "--x", "1,0.5,-0.3;-0.2,1.1,0.4;0.7,-0.9,0.2"]
    assert main(["kernel", *argv]) == 0
    k = json.loads(capsys.readouterr()[0])
    assert main(["theory", "--width", "4", *argv]) == 0
    th = json.loads(capsys.readouterr()[0])
    np.testing.assert_allclose(k["nngp"], th["g2"], rtol=1e-12, atol=0)
    assert k["warnings"] == [] and th["warnings"] == []


@pytest.mark.slow
def test_erf_d2_student_t_kernel_against_the_scale_mixture():
    # student-t (ν = 6): the radial variable is ρ = S(θ)/R ~ Gamma(mν/2); reference: nested quad over the three
    # inverse-gamma scales (~1 min).
    sw, sb = 3.0, 1.0
    spec = NetworkSpec(activation="erf", prior="student-t", sigma_w=sw, sigma_b=sb, input_dim=2, width=3)
    nngp = sb**2 + sw**2 * erf_pair_student_t_mixture(sw, sb, XS2)
    assert kernels(spec, XS2).nngp[0, 1] == pytest.approx(nngp, rel=1e-9)
    assert exact_correlators(spec, XS2).g2[0, 1] == pytest.approx(nngp, rel=1e-9)


@pytest.mark.parametrize("prior", ["laplace", "student-t"])
def test_erf_d2_mixture_kernel_and_theory_agree(prior):
    spec = NetworkSpec(activation="erf", prior=prior, sigma_w=2.0, sigma_b=0.4, input_dim=2, width=5)
    x = np.array([(1.0, 0.5), (-0.3, 1.2), (0.8, -0.9)])
    np.testing.assert_allclose(kernels(spec, x).nngp, exact_correlators(spec, x).g2, rtol=1e-13, atol=0)


# ---- sin, cos: the prior's characteristic function --------------------------------------------------------------

@pytest.mark.parametrize("dof,closed", [(5.0, lambda s: math.exp(-math.sqrt(5) * s) * (1 + math.sqrt(5) * s + 5 * s * s / 3)),
                                        (7.0, lambda s: math.exp(-math.sqrt(7) * s) * (1 + math.sqrt(7) * s + 14 * s * s / 5
                                                                                     + 7 * math.sqrt(7) * s**3 / 15))])
def test_student_t_characteristic_function_against_the_elementary_forms(dof, closed):
    from nnqft_engine.theory.trig_moments import characteristic

    t = np.array([0.0, 0.01, 0.3, 1.7, 5.0, 20.0])   # ψ_T(s) of t_ν for odd ν; α = T·√((ν−2)/ν)
    ref = [closed(abs(v) * math.sqrt((dof - 2) / dof)) for v in t]
    np.testing.assert_allclose(characteristic("student-t", t, dof), ref, rtol=1e-13, atol=0)


@pytest.mark.parametrize("activation", ["sin", "cos"])
@pytest.mark.parametrize("prior", ["uniform", "rademacher"])
def test_trig_d2_on_an_axis_is_the_d1_integral(activation, prior):
    # With x₂ = 0 the d = 2 moments are d = 1 ones at σ_w/√2, where uniform's split rule and rademacher's atoms are
    # exact: every moment the correlators use, to rounding.
    from nnqft_engine.theory.neuron_moments import NeuronMoments

    sw, sb = 3.0, 1.0
    x2, x1 = np.array([[1.3, 0.0], [-0.6, 0.0]]), np.array([[1.3], [-0.6]])
    n2 = NeuronMoments(NetworkSpec(activation=activation, prior=prior, sigma_w=sw, sigma_b=sb, input_dim=2), x2)
    n1 = NeuronMoments(NetworkSpec(activation=activation, prior=prior, sigma_w=sw / math.sqrt(2), sigma_b=sb), x1)
    for name in ("h2", "h4_pair", "h31_pair", "h6"):
        np.testing.assert_allclose(getattr(n2, name)(), getattr(n1, name)(), rtol=1e-12, atol=1e-15, err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["sin", "cos"])
def test_trig_d2_laplace_kernel_against_the_scale_mixture(activation):
    # Independent route: given the Exp(1) scales the pair is Gaussian, E[sin u sin v] = e^{−(k₁₁+k₂₂)/2} sinh k₁₂
    # (cos: cosh), nested quad over the three scales.
    from _mixture_reference import laplace_mixture_pair

    sw, sb = 3.0, 1.0
    spec = NetworkSpec(activation=activation, prior="laplace", sigma_w=sw, sigma_b=sb, input_dim=2, width=3)
    sign = {"sin": -1.0, "cos": 1.0}        # e^{−(a+b)/2} sinh c (cosh c) without overflow: c ≤ (a + b)/2
    other = "cos" if activation == "sin" else "sin"
    e = lambda name: laplace_mixture_pair(  # noqa: E731
        lambda a, b, c: 0.5 * (math.exp(c - (a + b) / 2) + sign[name] * math.exp(-c - (a + b) / 2)), sw, sb, XS2)
    nngp = sb**2 + sw**2 * e(activation)
    ntk = nngp + sw**2 * e(other) * (sw**2 * XS2[0] @ XS2[1] / 2 + sb**2)
    k = kernels(spec, XS2)
    assert k.nngp[0, 1] == pytest.approx(nngp, rel=1e-9)
    assert k.ntk[0, 1] == pytest.approx(ntk, rel=1e-9)
    assert exact_correlators(spec, XS2).g2[0, 1] == pytest.approx(nngp, rel=1e-9)


@pytest.mark.parametrize("prior", ["laplace", "student-t"])
def test_trig_d1_heavy_tails_through_the_characteristic_function(prior):
    # The d = 1 graded rule missed these by 2e-8 (laplace) and 3e-6 (student-t) at σ_w = 3/√2, σ_b = 1; d = 1 now
    # takes the characteristic function too. Independent reference: sin u sin v = ½[cos(u − v) − cos(u + v)] with
    # u, v = σ_w α x₁,₂ + σ_b β, so E = ½[ψ(σ_w(x₁ − x₂)) − ψ(σ_w(x₁ + x₂))ψ(2σ_b)], each ψ(s) = 2∫₀^∞ cos(sα)p(α)dα
    # by QUADPACK's Fourier-integral rule (QAWF) on the prior's density.
    from scipy import integrate, stats

    from nnqft_engine.theory.accuracy import accuracy_note
    from nnqft_engine.theory.kernels import prior_first_layer
    from nnqft_engine.theory.neuron_moments import NeuronMoments

    sw, sb, dof = 3.0 / math.sqrt(2), 1.0, 6.0
    spec = NetworkSpec(activation="sin", prior=prior, sigma_w=sw, sigma_b=sb, prior_dof=dof)
    x = np.array([[1.3], [-0.6]])
    if prior == "laplace":
        pdf = lambda a: math.exp(-math.sqrt(2) * a) / math.sqrt(2)  # noqa: E731 — unit variance, α ≥ 0
    else:
        scale = math.sqrt((dof - 2) / dof)
        pdf = lambda a: stats.t.pdf(a / scale, dof) / scale  # noqa: E731

    def psi(s: float) -> float:
        return 2 * integrate.quad(pdf, 0, np.inf, weight="cos", wvar=abs(s), epsabs=1e-15, limlst=200)[0]
    ref = 0.5 * (psi(sw * (1.3 + 0.6)) - psi(sw * (1.3 - 0.6)) * psi(2 * sb))
    assert prior_first_layer(spec, x)[0][0, 1] == pytest.approx(ref, rel=1e-9)
    assert NeuronMoments(spec, x).h2()[0, 1] == pytest.approx(ref, rel=1e-9)
    assert accuracy_note(spec, kernel=True) is None and accuracy_note(spec, kernel=False) is None
