"""The exact 1-D density of f(x) at N = 1 and 2 for smooth activations (docs/physics.md §4.3): under laplace one
neuron in f-space (a mixture of two-laplace laws over z) and two by an inversion whose neuron characteristic
function is tabulated on log t (log_interp); under uniform one neuron in f-space (trapezoid laws over z, split
at their kinks, the roots on φ's monotone branches). Each against an independent inversion."""
import math

import numpy as np
from scipy import integrate
import pytest
from _density_references import smoothed_marginal
from test_density_relu_priors import _smoothing_rule

from nnqft_engine import NetworkSpec
from nnqft_engine.activations import get_activation
from nnqft_engine.priors import standardized_pdf
from nnqft_engine.theory import density
from nnqft_engine.theory.density import characteristic_function, fourier_part, output_density, preactivation_density
from nnqft_engine.theory.log_interp import LogTable

H = 0.1
PTS = np.array([-2.0, -0.3, 0.0, 0.05, 0.4, 1.5])


def _smoothed(spec, x, singular=(0.0,)):
    """The density convolved with N(0, H²) at PTS: the f-space part by Gauss–Legendre graded towards its
    singular points, the inverted part exactly (each cosine's Gaussian convolution)."""
    part = fourier_part(spec, x)
    t = np.arange(len(part.weights)) * part.step
    out = (part.weights * np.cos(np.outer(PTS, t)) * np.exp(-0.5 * (H * t) ** 2)).sum(axis=1) / math.pi
    if part.f_space is not None:
        for i, pt in enumerate(PTS):
            f, w = _smoothing_rule(pt - 10 * H, pt + 10 * H, list(singular), H / 8)
            kernel = np.exp(-0.5 * ((f - pt) / H) ** 2) / (math.sqrt(2 * math.pi) * H)
            out[i] += w @ (part.f_space(f) * kernel)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("activation, n", [("erf", 1), ("gelu", 1), ("sigmoid", 1), ("erf", 2), ("silu", 2)])
def test_laplace_small_n_smoothed_is_an_independent_inversion(activation, n):
    """Against _density_references.smoothed_marginal (C₁ by adaptive quadrature over z, Φ = ψ(σ_b t)C₁(t)^N
    inverted by Gauss–Legendre under the smoothing): N = 1 needs no inversion at all here, N = 2 one whose C₁ is
    read from the log-t table. Measured: ≤ 3.7e-10 of the peak (gelu, N = 1)."""
    spec = NetworkSpec(activation=activation, width=n, prior="laplace", sigma_w=1.5, sigma_b=0.1)
    want = smoothed_marginal(spec, 1.0, H, PTS)
    np.testing.assert_allclose(_smoothed(spec, 1.0), want, rtol=0, atol=1e-9 * want.max())


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["erf", "softplus", "sigmoid",
                                        "gelu", "silu", "sin", "cos"])   # with extrema: refused before
def test_one_neuron_under_uniform_smoothed_is_an_independent_inversion(activation):
    """The f-space law of one neuron under uniform against smoothed_marginal (sinc readout, C₁ by adaptive
    quadrature). p(f) has kinks where |f| = √3σ_b and where |f| ∓ √3σ_b is the image of an end or corner of z's
    trapezoid or of an extremum of φ: the smoothing rule is split there. Measured: ≤ 1.4e-15 of the peak."""
    spec = NetworkSpec(activation=activation, width=1, prior="uniform", sigma_w=1.5, sigma_b=0.1)
    phi = get_activation(activation).numpy_fn
    a, b, bias = 1.5, 0.1, math.sqrt(3) * 0.1
    extrema = {"gelu": [-0.7517916], "silu": [-1.2784645], "sin": [math.pi / 2], "cos": [0.0, math.pi]}
    ends = [math.sqrt(3) * (a + b), math.sqrt(3) * (a - b)] + extrema.get(activation, [])
    amps = [math.sqrt(3) * 1.5 * abs(float(phi(np.array(sign * e), 0.0))) for e in ends for sign in (1, -1)]
    singular = {0.0, bias, -bias} | {sign * (amp + k * bias) for amp in amps for k in (1, -1) for sign in (1, -1)}
    want = smoothed_marginal(spec, 1.0, H, PTS)
    np.testing.assert_allclose(_smoothed(spec, 1.0, sorted(singular)), want, rtol=0, atol=1e-9 * want.max())


def test_log_table_reads_back_an_analytic_function_to_rounding():
    """C(t) = 1/(1 + t²/2) mixed over scales (the laplace readout's ψ): analytic for Re t > 0."""
    scales = np.geomspace(1e-3, 10.0, 40)

    def c(t):
        return (1.0 / (1.0 + 0.5 * np.outer(t, scales) ** 2)).mean(axis=1)

    table = LogTable(c, 0.1, 1e6)
    t = np.geomspace(0.1, 1e6, 1777)
    np.testing.assert_allclose(table(t), c(t), rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("activation", ["erf", "tanh", "sigmoid", "softplus", "silu", "gelu", "linear", "sin", "cos"])
def test_one_neuron_under_laplace_computes_for_every_smooth_activation(activation):
    """Refused before (Φ ~ t⁻³ with a z-quadrature per Fourier point); now a mixture in f-space: positive, and
    on its window (which holds the product tail a·φ(z)) of mass 1 and the exact variance σ_b² + σ_w²E[φ(z)²]
    to 1e-9 (Gauss–Legendre graded towards the cusp at f = 0)."""
    spec = NetworkSpec(activation=activation, width=1, prior="laplace", sigma_w=1.5, sigma_b=0.1)
    d = output_density(spec, 1.0)
    assert d.p.min() >= 0 and d.clipped_mass == 0.0
    f, w = _smoothing_rule(d.f[0], d.f[-1], [0.0], 0.5)
    p = output_density(spec, 1.0, grid=f).p
    assert w @ p == pytest.approx(1.0, abs=1e-9)
    assert w @ (p * f**2) == pytest.approx(d.variance, rel=1e-9)


def _nested_neuron_cf(spec, x, t, zeros):
    """E_z[ψ(s t φ(z))] by adaptive quadrature split at 0 and at every zero of φ (pieces of π/2), out to 50 sd
    of z (student-t: to ±∞ beyond, QUADPACK's infinite-range rule)."""
    phi = get_activation(spec.activation).numpy_fn
    s = spec.sigma_w / math.sqrt(spec.width)
    lim = 50 * math.hypot(spec.sigma_w * x, spec.sigma_b)
    cuts = sorted({0.0, -lim, lim} | {z for z in zeros if abs(z) < lim})
    if spec.prior == "student-t":
        cuts = [-math.inf] + cuts + [math.inf]

    def g(z):
        return float(preactivation_density(spec, x, np.array([z]))[0]
                     * characteristic_function(spec.prior, s * t * float(phi(np.array(z), 0.0)), spec.prior_dof))

    return sum(integrate.quad(g, p, q, epsabs=1e-15, epsrel=1e-13, limit=400)[0] for p, q in zip(cuts[:-1], cuts[1:]))


@pytest.mark.parametrize("activation, prior, ts", [("sin", "laplace", (0.5, 20.0, 500.0, 1e4)),
                                                   pytest.param("cos", "student-t", (0.5, 20.0, 190.0),
                                                                marks=pytest.mark.slow)])
def test_sin_cos_neuron_cf_graded_at_every_zero_against_nested_quadrature(activation, prior, ts):
    """sin and cos vanish at every z = kπ (+ π/2): at large t ψ(s t φ(z)) has a feature of width ~1/(st) at each
    zero, so the z-rule is graded towards every one that carries mass (density.py _periodic_z_rule). Its C(t),
    read back from the log-t table, against nested adaptive quadrature split at the zeros, out to t = 10⁴ (where
    C ≈ π√2 Σₖ p(zₖ)/(st) for laplace; under student-t the table ends at T = 40/(σ_b√(ν−2)), where the bias's ψ
    has ended Φ). Measured (laplace): ≤ 1e-13 relative for t ≤ 500, 9e-11 at t = 10⁴ (quad's own limit); student-t:
    4e-12 absolute at t = 190, the order of the z-mass beyond the graded zeros (~1e-12, integrated on π-wide
    pieces; in the smoothed density ≤ 5.5e-13 of the peak against smoothed_marginal)."""
    spec = NetworkSpec(activation=activation, width=1, prior=prior, sigma_w=1.5, sigma_b=0.1)
    act = get_activation(activation)
    sd_z = math.hypot(1.5, 0.1)
    var = 0.01 + 1.5**2 * float(np.mean(act.numpy_fn(np.linspace(-40, 40, 200001), 0.0) ** 2))
    _, phi_rem, _ = density._quadrature_remainder(spec, 1.0, act, math.sqrt(var), sd_z, 0.0)
    off = 0.0 if activation == "sin" else math.pi / 2
    zeros = [off + k * math.pi / 2 for k in range(-60, 61)]
    for t in ts:
        got = phi_rem(np.array([t]))[0] / float(characteristic_function(prior, 0.1 * t, spec.prior_dof))
        assert got == pytest.approx(_nested_neuron_cf(spec, 1.0, t, zeros), rel=1e-9, abs=1e-11)


def test_student_t_preactivation_density_against_nested_quadrature():
    """The student-t density of z = σ_w x u + σ_b v (an axis rule over v) against the convolution by adaptive
    quadrature: p_z(z) = ∫ p(v) p((z − σ_b v)/a)/a dv."""
    spec = NetworkSpec(prior="student-t", width=1, sigma_w=1.5, sigma_b=0.3)
    for z in (0.0, 0.7, 3.0, 25.0):
        want = integrate.quad(lambda v: float(standardized_pdf("student-t", np.array(v), 6.0)
                                              * standardized_pdf("student-t", np.array((z - 0.3 * v) / 1.5), 6.0)) / 1.5,
                              -math.inf, math.inf, epsabs=1e-16, epsrel=1e-13, limit=400)[0]
        assert float(preactivation_density(spec, 1.0, np.array([z]))[0]) == pytest.approx(want, rel=1e-10)


def test_relu_gaussian_without_biases_is_the_variance_gamma_mixture():
    """σ_b = 0: one active neuron adds s·αw (a product of normals), so p(f) at N = 1 is ½ E_w[φ(f/(s w))/(s|w|)]
    and at N = 2 ½ p₁ + ¼ p₁ * p₁ — by quadrature over w and a numerical convolution, not the Bessel forms."""
    from scipy import special

    sw, x1 = 1.5, 0.8

    def product_density(y, s):   # density of s·α·w, α, w ~ N(0, 1)
        g = lambda w: math.exp(-0.5 * w * w - 0.5 * (y / (s * w)) ** 2) / (2 * math.pi * s * w)   # noqa: E731
        return 2 * integrate.quad(g, 0, np.inf, epsabs=0, epsrel=1e-13, limit=400)[0]

    s1 = sw * sw * x1
    one = NetworkSpec(activation="relu", width=1, sigma_w=sw, sigma_b=0.0)
    f = np.array([0.05, 0.4, 1.3, 3.0])
    np.testing.assert_allclose(output_density(one, x1, grid=f).p, [0.5 * product_density(y, s1) for y in f],
                               rtol=1e-11)
    s2 = s1 / math.sqrt(2)
    two = NetworkSpec(activation="relu", width=2, sigma_w=sw, sigma_b=0.0)
    p1 = lambda y: special.k0(abs(y) / s2) / (math.pi * s2)   # noqa: E731  (checked above at N = 1)
    for y in (0.3, 1.0, 2.5):
        conv = integrate.quad(lambda u: p1(u) * p1(y - u), -40, 40, points=[0, y], limit=400, epsabs=1e-15)[0]
        assert output_density(two, x1, grid=np.array([y])).p[0] == pytest.approx(0.5 * p1(y) + 0.25 * conv,
                                                                                   rel=1e-10)
    # On its own grid: finite at 0 (the spike's cell mean), non-negative, mass 1 − 2^{−N} with the atom outside p.
    for n in (1, 2, 5, 40):
        d = output_density(NetworkSpec(activation="relu", width=n, sigma_w=sw, sigma_b=0.0), x1)
        assert not d.atom_in_p and d.atom_weight == pytest.approx(0.5**n)
        assert np.all(np.isfinite(d.p) & (d.p >= 0))
        assert np.trapezoid(d.p, d.f) == pytest.approx(1 - 0.5**n, abs=3e-5)


def test_relu_uniform_without_biases_by_the_number_of_active_neurons():
    """σ_b = 0 under uniform: one active neuron's law p₁ (closed form) and χ against quadrature over w, p₂ = p₁ * p₁
    against an adaptive convolution; the density on its grid non-negative, of mass 1 − 2^{−N} and of the exact
    variance."""
    from nnqft_engine.theory import density_relu_no_bias as nb

    pdf = lambda u: 1 / (2 * math.sqrt(3)) if abs(u) <= math.sqrt(3) else 0.0   # noqa: E731
    for y in (0.05, 0.7, 2.0):
        ref = 2 * integrate.quad(lambda w: pdf(w) * pdf(y / w) / w, y / math.sqrt(3), math.sqrt(3),
                                 epsabs=0, epsrel=1e-13)[0]
        assert nb.one_active("uniform", np.array([y]))[0] == pytest.approx(ref, rel=1e-12)
    for t in (0.3, 2.0, 15.0):
        ref = 2 * integrate.quad(lambda w: pdf(w) * math.sin(math.sqrt(3) * t * w) / (math.sqrt(3) * t * w), 0,
                                 math.sqrt(3), limit=400, epsabs=0, epsrel=1e-13)[0]
        assert nb.characteristic("uniform", np.array([t]))[0] == pytest.approx(ref, rel=1e-12)
    p1 = lambda u: float(nb.one_active("uniform", np.array([u]))[0])   # noqa: E731
    for y in (0.0, 0.4, 2.5):
        lo, hi = max(-3.0, y - 3.0), min(3.0, y + 3.0)
        ref = integrate.quad(lambda u: p1(u) * p1(y - u), lo, hi, points=sorted({0.0, y} - {lo, hi}), limit=800,
                             epsabs=1e-15, epsrel=1e-12)[0]
        assert nb.two_active("uniform", np.array([y]))[0] == pytest.approx(ref, rel=1e-11)
    _no_bias_on_its_grid("uniform", var_rel=1e-5)


def test_relu_laplace_without_biases_by_the_number_of_active_neurons():
    """σ_b = 0 under laplace (refused before): p₁ = 2K₀(2√(2|y|)) and χ against quadrature over w; p₂ = p₁ * p₁
    and p₃ = p₂ * p₁ (the tables of graded convolutions) against adaptive convolutions; on its grid the density
    is non-negative, of mass 1 − 2^{−N} and of the exact variance (to the grid: 3e-6)."""
    from nnqft_engine.theory import density_relu_no_bias as nb

    lap = lambda u: math.exp(-math.sqrt(2) * abs(u)) / math.sqrt(2)   # noqa: E731  (standardized)
    for y in (0.01, 0.7, 4.0):
        ref = 2 * integrate.quad(lambda w: lap(w) * lap(y / w) / w, 0, np.inf, epsabs=0, epsrel=1e-13, limit=400)[0]
        assert nb.one_active("laplace", np.array([y]))[0] == pytest.approx(ref, rel=1e-11)
    for t in (0.3, 2.0, 40.0):
        ref = 2 * integrate.quad(lambda w: lap(w) / (1 + 0.5 * (t * w) ** 2), 0, np.inf, epsabs=0, epsrel=1e-13,
                                 limit=400)[0]
        assert nb.characteristic("laplace", np.array([t]))[0] == pytest.approx(ref, rel=1e-11)
    p1 = lambda u: float(nb.one_active("laplace", np.array([max(abs(u), 1e-300)]))[0])   # noqa: E731
    p2, p3 = nb._convolved_laws("laplace", 0.0, 3, 160.0)
    cuts = lambda y: sorted({-60.0, 0.0, y, 60.0 + y})   # noqa: E731
    for y in (0.0, 0.3, 2.5):
        pts = cuts(y)
        ref2 = sum(integrate.quad(lambda u: p1(u) * p1(y - u), a, b, limit=800, epsabs=1e-15, epsrel=1e-12)[0]
                   for a, b in zip(pts[:-1], pts[1:]) if b > a)
        assert p2(np.array([y]))[0] == pytest.approx(ref2, rel=1e-10)
        ref3 = sum(integrate.quad(lambda u: p2(np.array([u]))[0] * p1(y - u), a, b, limit=800, epsabs=1e-15,
                                  epsrel=1e-12)[0] for a, b in zip(pts[:-1], pts[1:]) if b > a)
        assert p3(np.array([y]))[0] == pytest.approx(ref3, rel=1e-10)
    _no_bias_on_its_grid("laplace", var_rel=2e-5, mass_abs=1e-9)


def _student_t_reference_p1(y: float, dof: float) -> float:
    """p₁(y) = 2∫ p(w)p(y/w)/w dw for the standardized student-t by mpmath's tanh-sinh in s = log w (30 digits),
    split where either factor turns over."""
    import mpmath as mp

    with mp.workdps(30):
        c = mp.sqrt(mp.mpf(dof) / (dof - 2))
        log_norm = mp.loggamma((mp.mpf(dof) + 1) / 2) - mp.loggamma(mp.mpf(dof) / 2) - mp.log(mp.pi * dof) / 2

        def pdf(u):
            return c * mp.exp(log_norm - (mp.mpf(dof) + 1) / 2 * mp.log1p((c * u) ** 2 / dof))

        ly = math.log(y)
        cuts = sorted({-80.0, ly - 20, ly - 3, 0.0, ly / 2, ly, ly + 3, 80.0})
        return float(2 * mp.quad(lambda s: pdf(mp.e**s) * pdf(y * mp.e**-s), cuts))


@pytest.mark.parametrize("dof", [4.01, 6.0, 30.0])
def test_relu_student_t_without_biases_one_active_neuron(dof):
    """σ_b = 0 under student-t (refused before): p₁ of Y = α|w| against mpmath, its CDF against scipy's adaptive
    quadrature of p₁, χ(t) = 2∫p(w)ψ(√(ν−2)tw)dw against scipy's adaptive quadrature over w (ψ the t law's
    characteristic function). Measured: ≤ 2e-14 relative."""
    from nnqft_engine.priors import standardized_pdf
    from nnqft_engine.theory import density_relu_no_bias as nb
    from nnqft_engine.theory import student_t_cf

    for y in (1e-6, 0.01, 0.7, 4.0, 50.0):
        assert nb.one_active("student-t", np.array([y]), dof)[0] == pytest.approx(_student_t_reference_p1(y, dof),
                                                                                   rel=1e-12)
    p1 = lambda u: float(nb.one_active("student-t", np.array([u]), dof)[0])   # noqa: E731
    for y in (0.01, 2.0):
        ref = integrate.quad(p1, 0, y, points=[y * 1e-6, y * 1e-3], limit=400, epsabs=0, epsrel=1e-13)[0]
        assert nb._one_active_cdf("student-t", np.array([y]), dof)[0] == pytest.approx(ref, rel=1e-11)
    root = math.sqrt(dof - 2)
    for t in (0.3, 2.0, 40.0, 1e4):
        def f(w):
            return float(standardized_pdf("student-t", np.array(w), dof)
                         * student_t_cf.exact(np.array(root * t * w), dof))
        cuts = sorted({0.0, 0.1 / t, 1 / t, 10 / t, 100 / t, 1.0, 10.0, 100.0, 1e3, 1e5, np.inf})
        ref = 2 * sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-13, limit=400)[0] for a, b in zip(cuts, cuts[1:]))
        assert nb.characteristic("student-t", np.array([t]), dof)[0] == pytest.approx(ref, rel=1e-12)


def test_relu_student_t_without_biases_by_the_number_of_active_neurons():
    """p₂ = p₁ * p₁ and p₃ = p₂ * p₁ (graded convolutions on |y| < 160, tabulated) against adaptive convolutions
    at ν = 4.01, the heaviest tail; at N = 1 on its grid the density holds exactly the window's share of the
    mass and of the variance (P(|Y| < L/s) and E[Y²; |Y| < L/s] by adaptive quadrature of p₁): at ν = 4.01 the
    window misses 1.5e-5 of the mass and 3 % of the variance, and nothing else may."""
    from nnqft_engine.theory import density_relu_no_bias as nb

    dof = 4.01
    p1 = lambda u: float(nb.one_active("student-t", np.array([max(abs(u), 1e-300)]), dof)[0])   # noqa: E731
    p2, p3 = nb._convolved_laws("student-t", dof, 3, 160.0)
    for y in (0.0, 0.3, 2.5, 40.0):
        pts = sorted({-160.0, -1.0, 0.0, 1.0, y - 1, y, y + 1, 160.0})
        ref2 = sum(integrate.quad(lambda u: p1(u) * p1(y - u), a, b, limit=800, epsabs=1e-17, epsrel=1e-12)[0]
                   for a, b in zip(pts, pts[1:]))
        assert p2(np.array([y]))[0] == pytest.approx(ref2, rel=1e-10)
        ref3 = sum(integrate.quad(lambda u: p2(np.array([y - u]))[0] * p1(u), a, b, limit=800, epsabs=1e-17,
                                  epsrel=1e-12)[0] for a, b in zip(pts, pts[1:]))
        assert p3(np.array([y]))[0] == pytest.approx(ref3, rel=1e-10)
    spec = NetworkSpec(activation="relu", prior="student-t", prior_dof=dof, width=1, sigma_w=1.5, sigma_b=0.0)
    d = output_density(spec, 1.0)
    s = nb.scale(1.0, 1.5, 1)
    edge = float(d.f[-1]) / s
    inside = 2 * integrate.quad(p1, 0, edge, points=[1e-9, 1e-6, 1e-3, 1.0], limit=800, epsabs=0, epsrel=1e-12)[0]
    second = 2 * integrate.quad(lambda y: y * y * p1(y), 0, edge, points=[1.0, 10.0], limit=800, epsabs=0,
                                epsrel=1e-12)[0]
    assert 1 - inside > 1e-5 and 1 - second > 0.01          # the heavy tail is really cut
    assert d.atom_weight == 0.5 and np.all(np.isfinite(d.p) & (d.p >= 0))
    assert np.trapezoid(d.p, d.f) == pytest.approx(0.5 * inside, abs=1e-7)
    assert np.trapezoid(d.p * d.f**2, d.f) == pytest.approx(0.5 * s * s * second, rel=1e-5)


@pytest.mark.slow
def test_relu_student_t_without_biases_on_its_grid():
    """At ν = 30 (a tail the window holds) mass and variance on the grid, N = 1…20. The variance's 2e-5 is the
    trapezoid rule's own error across the log spike at δ = σ_f/60 (1.2e-5 measured at N = 2), as for laplace."""
    _no_bias_on_its_grid("student-t", var_rel=2e-5, mass_abs=1e-9, dof=30.0)


def _no_bias_on_its_grid(prior: str, var_rel: float, mass_abs: float = 1e-5, dof: float = 6.0) -> None:
    """relu, σ_b = 0 at N = 1…20: the atom 2^{−N} outside p; p finite, ≥ 0, of mass 1 − 2^{−N} and the exact
    variance on its own grid. Where every active count is in f-space (laplace, student-t) the mass is exact to
    1e-11; gaussian and uniform invert the k > 2 part's χ, which holds mass to 1e-5."""
    for n in (1, 2, 3, 5, 20):
        d = output_density(NetworkSpec(activation="relu", prior=prior, width=n, sigma_w=1.5, sigma_b=0.0,
                                       prior_dof=dof), 1.0)
        assert not d.atom_in_p and d.atom_weight == pytest.approx(0.5**n)
        assert np.all(np.isfinite(d.p) & (d.p >= 0))
        assert np.trapezoid(d.p, d.f) == pytest.approx(1 - 0.5**n, abs=mass_abs)
        assert np.trapezoid(d.p * d.f**2, d.f) == pytest.approx(d.variance, rel=var_rel)


@pytest.mark.parametrize("prior, dof", [("uniform", 6.0), ("laplace", 6.0), ("student-t", 30.0)])
def test_relu_without_biases_past_the_f_space_widths(prior, dof):
    """Beyond N = 100 (k ≤ 4 active terms < 1e-22, left out of f-space) and beyond 2000 (the closed form, not
    Horner): the density on its grid against adaptive quadrature of (1/π)∫ [(½ + ½χ(st))^N − 2^{−N}] cos(tf) dt."""
    from nnqft_engine.theory import density_relu_no_bias as nb

    for n in (101, 2001):
        d = output_density(NetworkSpec(activation="relu", prior=prior, width=n, sigma_w=1.5, sigma_b=0.0,
                                       prior_dof=dof), 1.0)
        s, sd = nb.scale(1.0, 1.5, n), math.sqrt(d.variance)

        def phi(t):
            return ((1.0 + nb.characteristic(prior, np.array([s * t]), dof)[0]) / 2.0) ** n - 0.5**n

        for target in (0.0, 0.3, 1.0, 3.0):
            i = int(np.argmin(np.abs(d.f - target * sd)))
            f = float(d.f[i])
            ref = integrate.quad(lambda t: phi(t) * math.cos(t * f), 0, 40 / sd, limit=800, epsabs=1e-13,
                                 epsrel=1e-12)[0] / math.pi
            assert d.p[i] == pytest.approx(ref, rel=1e-9, abs=1e-12)
        assert d.atom_weight == pytest.approx(0.5**n, rel=1e-12)
