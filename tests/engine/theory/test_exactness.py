"""Depth-1 analytic quantities at 1e-9 against independent nested adaptive quadrature (issue 11, item 1)."""
import numpy as np
import pytest
from _exact_reference import expect
from _exact_reference_nd import erf_pair_laplace_mixture, relu_pair, relu_pair_no_bias

from nnqft_engine import NetworkSpec
from nnqft_engine.activations import get_activation
from nnqft_engine.priors import moment
from nnqft_engine.theory.finite_width import exact_correlators, g4c
from nnqft_engine.theory.kernels import kernels

X1, X2 = 1.3, -0.6


def _fn(act, grad=False):
    f = act.numpy_grad if grad else act.numpy_fn
    return lambda z: float(f(np.asarray(z, dtype=np.float64), 0.0))


def _pair(prior, act, sw, sb, grad=False, power=1):
    g = _fn(get_activation(act), grad)
    return expect(prior, lambda u, v: (g(sw * X1 * u + sb * v) * g(sw * X2 * u + sb * v)) ** power, sw, sb, [X1, X2])


@pytest.mark.parametrize("prior", ["laplace", "uniform", "gaussian"])
@pytest.mark.parametrize("sw,sb", [(3.0, 1.0), (1.5, 0.1)])
def test_relu_kernels_off_diagonal(prior, sw, sb):
    spec = NetworkSpec(activation="relu", prior=prior, sigma_w=sw, sigma_b=sb, depth=1)
    k = kernels(spec, [X1, X2])
    nngp = sb**2 + sw**2 * _pair(prior, "relu", sw, sb)
    # ntk parameterization, depth 1: Θ = K + σ_w² E[φ′φ′] Σ¹
    ntk = nngp + sw**2 * _pair(prior, "relu", sw, sb, grad=True) * (sw**2 * X1 * X2 + sb**2)
    assert k.nngp[0, 1] == pytest.approx(nngp, rel=1e-9)
    assert k.ntk[0, 1] == pytest.approx(ntk, rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("sw", [3.0, 1.5])
def test_tanh_kernel_and_g4c(sw):
    sb, n = 0.5, 3
    spec = NetworkSpec(activation="tanh", sigma_w=sw, sigma_b=sb, width=n)
    k = kernels(spec, [X1, X2])
    h12 = _pair("gaussian", "tanh", sw, sb)
    assert k.nngp[0, 1] == pytest.approx(sb**2 + sw**2 * h12, rel=1e-9)
    dd = _pair("gaussian", "tanh", sw, sb, grad=True)
    assert k.ntk[0, 1] == pytest.approx(sb**2 + sw**2 * h12 + sw**2 * dd * (sw**2 * X1 * X2 + sb**2), rel=1e-9)
    th = exact_correlators(spec, [X1, X2])
    g = _fn(get_activation("tanh"))
    h11 = expect("gaussian", lambda u, v: g(sw * X1 * u + sb * v) ** 2, sw, sb, [X1])
    h22 = expect("gaussian", lambda u, v: g(sw * X2 * u + sb * v) ** 2, sw, sb, [X2])
    h1122 = _pair("gaussian", "tanh", sw, sb, power=2)
    ref = sw**4 / n * (3.0 * h1122 - (h11 * h22 + 2 * h12 * h12))
    assert th.g4c_pair[0, 1] == pytest.approx(ref, rel=1e-9)


@pytest.mark.slow
def test_erf_g4c_pair_at_sigma_w_2():
    sw, sb, n, x1, x2 = 2.0, 0.3, 4, 1.0, -0.5
    g = _fn(get_activation("erf"))
    e = lambda fn, xs: expect("gaussian", fn, sw, sb, xs)  # noqa: E731
    h11 = e(lambda u, v: g(sw * x1 * u + sb * v) ** 2, [x1])
    h22 = e(lambda u, v: g(sw * x2 * u + sb * v) ** 2, [x2])
    h12 = e(lambda u, v: g(sw * x1 * u + sb * v) * g(sw * x2 * u + sb * v), [x1, x2])
    h1122 = e(lambda u, v: (g(sw * x1 * u + sb * v) * g(sw * x2 * u + sb * v)) ** 2, [x1, x2])
    ref = sw**4 / n * (moment("gaussian", 4) * h1122 - (h11 * h22 + 2 * h12 * h12))
    got = g4c(NetworkSpec(activation="erf", sigma_w=sw, sigma_b=sb, width=n), x1, x1, x2, x2)
    assert got == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("activation,prior", [("relu", "laplace"), ("relu", "uniform"), ("relu", "gaussian"),
                                              ("tanh", "laplace"), ("erf", "uniform"), ("tanh", "gaussian"),
                                              ("gelu", "student-t")])
def test_kernel_and_theory_share_the_first_layer(activation, prior):
    spec = NetworkSpec(activation=activation, prior=prior, sigma_w=2.0, sigma_b=0.4, width=5)
    x = np.linspace(-2.0, 2.0, 7)
    a, b = kernels(spec, x).nngp, exact_correlators(spec, x).g2
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())


XS2 = np.array([(1.3, -0.4), (-0.6, 0.9)])   # d = 2: z = (σ_w/√2) w·x + σ_b b


def _d2_kernels_ref(prior, sw, sb, e_phi, e_dphi):
    dot = XS2[0] @ XS2[1] / 2
    nngp = sb**2 + sw**2 * e_phi
    return nngp, nngp + sw**2 * e_dphi * (sw**2 * dot + sb**2)   # ntk parameterization, depth 1


@pytest.mark.slow
@pytest.mark.parametrize("prior", ["laplace", "uniform", "student-t", "gaussian"])
def test_relu_d2_kernels_and_g2_against_nested_quad(prior):
    # Three live parameters (w₁, w₂, b): the cubed-sphere rule, one per pair in `kernel`, all points in `theory`.
    sw, sb = 3.0, 1.0
    spec = NetworkSpec(activation="relu", prior=prior, sigma_w=sw, sigma_b=sb, input_dim=2, width=3)
    nngp, ntk = _d2_kernels_ref(prior, sw, sb, relu_pair(prior, sw, sb, XS2), relu_pair(prior, sw, sb, XS2, grad=True))
    k = kernels(spec, XS2)
    assert k.nngp[0, 1] == pytest.approx(nngp, rel=1e-9)
    assert k.ntk[0, 1] == pytest.approx(ntk, rel=1e-9)
    assert exact_correlators(spec, XS2).g2[0, 1] == pytest.approx(nngp, rel=1e-9)


@pytest.mark.parametrize("prior", ["laplace", "uniform"])
def test_relu_d2_without_bias_against_nested_quad(prior):
    # Two live parameters (w₁, w₂): the polar rule split at the kink angles.
    sw = 1.7
    spec = NetworkSpec(activation="relu", prior=prior, sigma_w=sw, sigma_b=0.0, input_dim=2)
    nngp, ntk = _d2_kernels_ref(prior, sw, 0.0, relu_pair_no_bias(prior, sw, XS2),
                                relu_pair_no_bias(prior, sw, XS2, grad=True))
    k = kernels(spec, XS2)
    assert k.nngp[0, 1] == pytest.approx(nngp, rel=1e-9)
    assert k.ntk[0, 1] == pytest.approx(ntk, rel=1e-9)


@pytest.mark.parametrize("d,sb", [(2, 0.7), (3, 0.0)])
def test_relu_sphere_rule_reproduces_the_gaussian_arc_cosine_kernel(d, sb):
    # gaussian prior: `kernel` uses the arc-cosine closed form, `theory` the cubed-sphere rule (three live params).
    spec = NetworkSpec(activation="relu", sigma_w=2.5, sigma_b=sb, input_dim=d, width=4)
    x = np.random.default_rng(0).normal(size=(5, d))
    np.testing.assert_allclose(exact_correlators(spec, x).g2, kernels(spec, x).nngp, rtol=1e-11, atol=0)


@pytest.mark.parametrize("prior", ["laplace", "uniform", pytest.param("student-t", marks=pytest.mark.slow)])
def test_relu_d2_kernel_and_theory_agree(prior):
    spec = NetworkSpec(activation="relu", prior=prior, sigma_w=2.0, sigma_b=0.4, input_dim=2, width=5)
    x = np.array([(1.0, 0.5), (-0.3, 1.2), (0.8, -0.9)])
    np.testing.assert_allclose(kernels(spec, x).nngp, exact_correlators(spec, x).g2, rtol=1e-10, atol=0)


@pytest.mark.slow
@pytest.mark.parametrize("activation,prior", [("relu", "uniform"), ("relu", "laplace"), ("erf", "uniform"),
                                              ("tanh", "gaussian")])
def test_sequential_mechanism_moment_against_nested_quad(activation, prior):
    # E[s²(u) h(x₁) h(x₂)] with s² = Q_v(F(u)) the sequential mechanism's readout scale (singular at uniform's
    # support edges): the broken-independence G4c is built from such moments.
    from nnqft_engine.dependence import sequential_scale2
    from nnqft_engine.theory.finite_width import _moments

    sw, sb = 3.0, 1.0
    spec = NetworkSpec(activation=activation, prior=prior, sigma_w=sw, sigma_b=sb, width=4,
                       independence="sequential", independence_strength=0.5)
    g = _fn(get_activation(activation))
    s2 = lambda u: float(sequential_scale2(spec, np.array(u)))  # noqa: E731
    ref = expect(prior, lambda u, v: s2(u) * g(sw * X1 * u + sb * v) * g(sw * X2 * u + sb * v), sw, sb, [X1, X2],
                 tol=1e-11)
    assert _moments(spec, np.array([[X1], [X2]])).s2_h2()[0, 1] == pytest.approx(ref, rel=1e-9)


def test_accuracy_note_names_exactly_the_cases_without_a_split_rule():
    from nnqft_engine.theory.accuracy import accuracy_note

    exact = [NetworkSpec(activation="tanh", prior="laplace"),                       # d = 1: split rules
             NetworkSpec(activation="relu", prior="student-t", input_dim=2),      # cubed sphere
             NetworkSpec(activation="relu", prior="laplace", input_dim=3, sigma_b=0.0),
             NetworkSpec(activation="erf", input_dim=3),                           # kernel: arc-sine closed form
             NetworkSpec(activation="tanh", prior="rademacher", input_dim=2)]     # exact atoms
    assert [accuracy_note(s, kernel=True) for s in exact] == [None] * len(exact)
    # kernel and theory alike: the pair's bivariate Gaussian (gaussian prior), the scale mixture (relu × student-t,
    # 4 live), polytopes (relu × uniform / laplace, 4–6 live)
    both = [NetworkSpec(activation="erf", input_dim=3), NetworkSpec(activation="tanh", input_dim=2),
            NetworkSpec(activation="relu", input_dim=3), NetworkSpec(activation="relu", prior="laplace", input_dim=3),
            NetworkSpec(activation="relu", prior="student-t", prior_dof=8.0, input_dim=3),
            NetworkSpec(activation="relu", prior="uniform", input_dim=3),
            NetworkSpec(activation="relu", prior="laplace", input_dim=5)]
    assert [accuracy_note(s, kernel=k) for s in both for k in (True, False)] == [None] * 2 * len(both)
    assert accuracy_note(NetworkSpec(activation="erf", prior="laplace", input_dim=2), kernel=True) is None
    # (without points the characteristic function's budget, which depends on them, is unknown: tanh, erf × laplace)
    noted = [(NetworkSpec(activation="tanh", prior="laplace", input_dim=2), True),
             (NetworkSpec(activation="relu", prior="uniform", input_dim=6), True),  # seven live: no polytope rule
             (NetworkSpec(activation="relu", prior="laplace", input_dim=6), True),  # seven live: the box is cut
             (NetworkSpec(activation="relu", prior="student-t", prior_dof=4.5, input_dim=3), False),  # E[h⁴] near ∞
             (NetworkSpec(activation="erf", prior="laplace", input_dim=2), False),
             (NetworkSpec(activation="erf", prior="laplace", input_dim=3), True),    # four live parameters
             (NetworkSpec(activation="relu", prior="laplace", input_dim=2, independence="sequential",
                          independence_strength=0.5), False)]
    for spec, kernel in noted:
        note = accuracy_note(spec, kernel=kernel)
        assert note is not None and "1e-9" in note, spec


@pytest.mark.slow
@pytest.mark.parametrize("sw,sb", [(1.5, 0.3), (3.0, 1.0)])
def test_erf_d2_laplace_kernel_against_the_scale_mixture(sw, sb):
    # Was the known gap (tensor Gauss–Laguerre: 2e-8 at σ_w = 1.5, 6e-5 at σ_w = 3); now the engine's own scale-mixture
    # rule (simplex × radial trapezoid, docs/physics.md §4.2) against this nested quad over the scales.
    spec = NetworkSpec(activation="erf", prior="laplace", sigma_w=sw, sigma_b=sb, input_dim=2, width=3)
    nngp = sb**2 + sw**2 * erf_pair_laplace_mixture(sw, sb, XS2)
    ntk = nngp + sw**2 * erf_pair_laplace_mixture(sw, sb, XS2, grad=True) * (sw**2 * XS2[0] @ XS2[1] / 2 + sb**2)
    k = kernels(spec, XS2)
    assert k.nngp[0, 1] == pytest.approx(nngp, rel=1e-9)
    assert k.ntk[0, 1] == pytest.approx(ntk, rel=1e-9)
    assert exact_correlators(spec, XS2).g2[0, 1] == pytest.approx(nngp, rel=1e-9)


@pytest.mark.slow
def test_scale_mixture_reference_agrees_with_the_d1_split_rule():
    # Points on the w₁ axis make the d = 2 mixture a d = 1 integral with σ_w/√2: two independent routes (mixture +
    # arcsin closed form; the engine's graded composite rule) to the same number validate the reference above.
    sw, sb, xs = 3.0, 1.0, [(1.3, 0.0), (-0.6, 0.0)]
    spec = NetworkSpec(activation="erf", prior="laplace", sigma_w=sw / np.sqrt(2), sigma_b=sb)
    k = kernels(spec, [1.3, -0.6])
    assert k.nngp[0, 1] == pytest.approx(sb**2 + spec.sigma_w**2 * erf_pair_laplace_mixture(sw, sb, xs), rel=1e-9)


@pytest.mark.parametrize("dof", [30.0, 100.0])
def test_student_t_at_large_dof_g2_and_g4c_against_quad(dof):
    """tanh × student-t, σ_b = 0, at the app's largest ν: G2 = σ_w²E[φ²] and G4c = σ_w⁴(E[α⁴]E[φ⁴] − 3E[φ²]²)/N
    against scipy's quad over w (to ∞). The prior's reach once stopped at 10^{16/(ν−2)} (1.5 at ν = 100), and
    G2 came out 26 % low there."""
    from scipy import integrate

    from nnqft_engine.priors import standardized_pdf

    sw, n = 1.5, 4

    def mean(g):
        return 2 * integrate.quad(lambda w: standardized_pdf("student-t", w, dof) * g(w), 0, np.inf, epsabs=0,
                                  epsrel=1e-13, limit=400)[0]

    e2 = mean(lambda w: np.tanh(sw * w) ** 2)
    e4 = mean(lambda w: np.tanh(sw * w) ** 4)
    a4 = mean(lambda w: w**4)
    assert a4 == pytest.approx(3 * (dof - 2) / (dof - 4), rel=1e-11)
    th = exact_correlators(NetworkSpec(activation="tanh", sigma_w=sw, sigma_b=0.0, width=n, prior="student-t",
                                       prior_dof=dof), [1.0])
    assert th.g2[0, 0] == pytest.approx(sw**2 * e2, rel=1e-12)
    assert th.g4c_diag[0] == pytest.approx(sw**4 * (a4 * e4 - 3 * e2 * e2) / n, rel=1e-10)


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize("dof", [4.1, 4.3, 4.6])
def test_relu_student_t_g4c_next_to_divergence_against_the_scale_mixture(dof):
    """relu × student-t at d = 1 with a bias, ν just above 4, where E[relu⁴] is about to diverge: G4c(x₁,x₁,x₂,x₂)
    against the Gaussian scale mixture (Cho–Saul given the χ² scales, scipy's nested quad, itself within 3e-15
    of mpmath at ν = 4.1, 4.3). Next to the axes R₄ ~ |δ|^{ν−5}; graded only down to ~2^{−45} (θ in float near
    ±π/2), G4c erred 3e-5 at ν = 4.3 and 1e-3 at ν = 4.1."""
    from _mixture_reference import relu_student_t_d1

    sw, sb, x1, x2, n = 1.5, 0.5, 0.7, -1.2, 3
    mu4 = 3 * (dof - 2) / (dof - 4)
    h11, h22 = (sw**2 * x1**2 + sb**2) / 2, (sw**2 * x2**2 + sb**2) / 2
    h12 = relu_student_t_d1(sw, sb, x1, x2, 1, dof=dof)
    h4 = relu_student_t_d1(sw, sb, x1, x2, 2, dof=dof)
    expected = sw**4 / n * (mu4 * h4 - h11 * h22 - 2 * h12**2) + sb**4 * (mu4 - 3)
    spec = NetworkSpec(activation="relu", sigma_w=sw, sigma_b=sb, width=n, prior="student-t", prior_dof=dof)
    assert g4c(spec, x1, x1, x2, x2) == pytest.approx(expected, rel=1e-10)
    th = exact_correlators(spec, [x1, x2])
    assert th.g4c_pair[0, 1] == pytest.approx(expected, rel=1e-10)
    assert kernels(spec, [x1, x2]).nngp[0, 1] == pytest.approx(sb**2 + sw**2 * h12, rel=1e-12)


@pytest.mark.parametrize("dof", [4.05, 4.5, 6.1, 6.5, 30.0, 100.0])
def test_relu_student_t_diagonal_g4c_g6c_in_closed_form(dof):
    """On the diagonal relu(z)^k averages to E[z^k]/2 (z symmetric), a polynomial in the prior's moments: G4c and
    G6c of relu × student-t with a bias from ν = 4.05 (fourth moment next to divergence) and 6.1 (sixth) to 100
    (where the radial trapezoid's step once left 4e-8 of G6c)."""
    sw, sb, x, n = 1.5, 0.5, 0.7, 3
    mu4 = 3 * (dof - 2) / (dof - 4)
    mu6 = 15 * (dof - 2) ** 2 / ((dof - 4) * (dof - 6)) if dof > 6 else np.inf
    a, b = sw * x, sb
    h2 = (a**2 + b**2) / 2
    h4 = (mu4 * (a**4 + b**4) + 6 * a**2 * b**2) / 2
    h6 = (mu6 * (a**6 + b**6) + 15 * mu4 * (a**4 * b**2 + a**2 * b**4)) / 2
    m2, m4, m6 = sw**2 / n * h2, sw**4 / n**2 * mu4 * h4, sw**6 / n**3 * mu6 * h6
    g4 = n * (m4 - 3 * m2**2) + sb**4 * (mu4 - 3)
    th = exact_correlators(NetworkSpec(activation="relu", sigma_w=sw, sigma_b=sb, width=n, prior="student-t",
                                       prior_dof=dof), [x])
    assert th.g4c_diag[0] == pytest.approx(g4, rel=1e-10)
    if dof > 6:
        g6 = n * (m6 - 15 * m4 * m2 + 30 * m2**3) + sb**6 * (mu6 - 15 * mu4 + 30)
        assert th.g6c_diag[0] == pytest.approx(g6, rel=1e-10)


@pytest.mark.parametrize("dof", [4.1, 5.0])
def test_relu_student_t_kernel_at_small_dof_against_mpmath(dof):
    """relu × student-t at d = 1 with a bias, ν near 4: the off-diagonal NNGP and NTK against mpmath's nested
    tanh-sinh (the inner integral over w on the both-active interval, split at 0). R_k(θ) is singular at the axes
    (|θ − axis|^{ν−k−1}); before the polar rule was graded there, the NTK erred by 3e-6 at ν = 4.1."""
    import mpmath as mp

    mp.mp.dps = 20
    nu, sw, sb, x1, x2 = mp.mpf(dof), mp.mpf("1.5"), mp.mpf("0.5"), mp.mpf("0.7"), mp.mpf("-1.2")
    c = mp.sqrt(nu / (nu - 2))
    log_norm = mp.loggamma((nu + 1) / 2) - mp.loggamma(nu / 2) - mp.log(nu * mp.pi) / 2
    p = lambda u: c * mp.exp(log_norm - (nu + 1) / 2 * mp.log1p((c * u) ** 2 / nu))   # noqa: E731

    def both_active(g):   # x₁ > 0 > x₂: both on iff v > 0 and −σ_b v/(σ_w x₁) < w < −σ_b v/(σ_w x₂)
        inner = lambda v: mp.quad(lambda w: g(w, v) * p(w), [-sb * v / (sw * x1), 0, -sb * v / (sw * x2)]) * p(v)  # noqa: E731
        return mp.quad(inner, [0, 1]) + mp.quad(lambda s: inner(mp.exp(s)) * mp.exp(s), [0, 5, 20, 80, 160])

    h12 = both_active(lambda w, v: (sw * x1 * w + sb * v) * (sw * x2 * w + sb * v))
    dd = both_active(lambda w, v: 1)
    nngp = sb**2 + sw**2 * h12
    ntk = nngp + sw**2 * dd * (sw**2 * x1 * x2 + sb**2)
    k = kernels(NetworkSpec(activation="relu", sigma_w=1.5, sigma_b=0.5, prior="student-t", prior_dof=dof),
                [0.7, -1.2])
    assert k.nngp[0, 1] == pytest.approx(float(nngp), rel=1e-12)
    assert k.ntk[0, 1] == pytest.approx(float(ntk), rel=1e-12)
    from nnqft_engine.theory.accuracy import accuracy_note
    assert accuracy_note(NetworkSpec(activation="relu", prior="student-t", prior_dof=dof), kernel=True) is None
    assert accuracy_note(NetworkSpec(activation="relu", prior="student-t", prior_dof=dof)) is None
