"""Exact depth-1 joint density of (f(x₁), f(x₂)) for erf, tanh, sigmoid, softplus and linear under the student-t
prior (docs/physics.md §4.6): the scale mixture's Gauss rule against closed-form moments of log V, one neuron's characteristic function on
a ray against nested adaptive quadrature over (w, b) and against the same mixture by a fine trapezoid rule, and
the density's mass and marginal against an independent 1-D inversion, and χ² against sampled networks."""
import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from _density_references import chi_square_p, ridge_splits, smoothed_marginal

from nnqft_engine import NetworkSpec
from nnqft_engine.activations import get_activation
from nnqft_engine.theory import student_t_cf
from nnqft_engine.theory.first_layer import bounded_reach, tail_range
from nnqft_engine.theory.joint_density import joint_density
from nnqft_engine.theory.neuron_cf_student_t import StudentTRayCF, log_scale_gauss_rule, scale_nodes
from nnqft_engine.theory.scale_mixture import inverse_gamma_rule


@pytest.mark.parametrize("dof", [4.5, 6.0, 30.0])
def test_log_scale_gauss_rule_has_the_exact_moments_of_log_v(dof):
    """s = log V, V ~ InvGamma(a, β): E[s] = log β − ψ(a), its central moments ψ′(a), −ψ″(a), ψ‴(a) + 3ψ′(a)²
    (a Gauss rule of 8 nodes is exact to degree 15)."""
    a, beta = dof / 2, (dof - 2) / 2
    v, w = log_scale_gauss_rule(dof)
    s = np.log(v)
    mean = math.log(beta) - special.digamma(a)
    got = [w.sum(), w @ s] + [w @ (s - mean) ** k for k in (2, 3, 4)]
    want = [1.0, mean, special.polygamma(1, a), -special.polygamma(2, a),
            special.polygamma(3, a) + 3 * special.polygamma(1, a) ** 2]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def _trapezoid_nodes(dof):
    """The product trapezoid rule in log V at step ≤ 0.25 (measured within 1e-10 of step 0.1), corners below
    e^{−25} of the largest weight dropped."""
    v, w = inverse_gamma_rule(dof, 0.25, 25.0)
    vw, vb = np.meshgrid(v, v, indexing="ij")
    ww = np.outer(w, w)
    keep = ww > ww.max() * math.exp(-25.0)
    out = np.stack([vw[keep], vb[keep], ww[keep]], axis=1)
    out[:, 2] /= out[:, 2].sum()
    return out


@pytest.mark.parametrize("activation, dof, theta, tol", [
    ("sigmoid", 20.0, 2.2, 5e-7),
    pytest.param("erf", 4.5, 2.6, 4e-6, marks=pytest.mark.slow),
    pytest.param("tanh", 6.0, 0.7, 1e-6, marks=pytest.mark.slow),
])
def test_fast_ray_against_the_precise_ray_on_a_trapezoid_mixture(activation, dof, theta, tol):
    """What the density uses (36-node Gauss mixture, its frame rule) against the precise frame rule on the
    trapezoid mixture (hundreds to thousands of nodes), radii up to where C^N matters at N = 2. Measured 1.7e-6
    (erf, ν = 4.5), 3.5e-7 (tanh, ν = 6), 1.4e-7 (sigmoid, ν = 20)."""
    x, sw, sb, s = (-1.0, 1.0), 1.5, 0.3, 1.5 / math.sqrt(2)
    radii = np.array([0.3, 1.0, 4.0, 10.0, 25.0]) / s
    want = StudentTRayCF(activation, x, sw, sb, s, dof, theta, radii[-1], precise=True,
                         nodes=_trapezoid_nodes(dof))(radii)
    got = StudentTRayCF(activation, x, sw, sb, s, dof, theta, radii[-1])(radii)
    np.testing.assert_allclose(got, want, rtol=0, atol=tol)


def nested_student_t_cf(activation, x, sw, sb, s, dof, t1, t2):
    """E_{w,b}[ψ(s(t₁φ(wx₁ + b) + t₂φ(wx₂ + b)))] with w, b and the readout student-t (unit variance times σ), by
    nested adaptive quadrature: outer over w in geometric pieces to 60σ_w plus the infinite tails, inner over b
    split at 0 and at every root of the ridge t·φ = 0 (bracketed on a grid); ψ from scipy's Bessel function."""
    phi = get_activation(activation).numpy_fn
    c = math.sqrt((dof - 2) / dof)
    norm = math.exp(math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2)) / math.sqrt(dof * math.pi)

    def density(scale):
        return lambda v: norm / scale * (1 + (v / scale) ** 2 / dof) ** (-(dof + 1) / 2)

    pw, pb = density(c * sw), density(c * sb)
    root = math.sqrt(dof - 2)

    def inner(w):
        def f(b):
            v = s * (t1 * float(phi(np.array(w * x[0] + b), 0.0)) + t2 * float(phi(np.array(w * x[1] + b), 0.0)))
            return pb(b) * float(student_t_cf.exact(np.array([root * abs(v)]), dof)[0])

        reach = 60 * sb
        pts = ridge_splits(phi, w, x, t1, t2, reach)
        tot = sum(integrate.quad(f, p, q, epsabs=1e-13, epsrel=1e-11, limit=400)[0] for p, q in zip(pts[:-1], pts[1:]))
        return tot + sum(integrate.quad(f, *ab, epsabs=1e-14, limit=200)[0]
                         for ab in ((reach, math.inf), (-math.inf, -reach)))

    def outer(w):
        return inner(w) * pw(w)

    half = np.geomspace(1e-3, 60 * sw, 30)
    edges = np.concatenate([-half[::-1], [0.0], half])
    tot = sum(integrate.quad(outer, p, q, epsabs=1e-13, epsrel=1e-11, limit=200)[0] for p, q in zip(edges[:-1], edges[1:]))
    return tot + sum(integrate.quad(outer, *ab, epsabs=1e-14, limit=200)[0]
                     for ab in ((60 * sw, math.inf), (-math.inf, -60 * sw)))


@pytest.mark.slow
def test_student_t_ray_cf_against_nested_adaptive_quadrature():
    """tanh, ν = 6, N = 2, θ = 0.7, r = 4 (where C = 0.749): the precise ray on the trapezoid mixture within 2e-9
    (measured 3e-10), the density's ray within 1e-6 (measured 3.5e-7); ~40 s."""
    x, sw, sb, dof, theta, r = (-1.0, 1.0), 1.5, 0.3, 6.0, 0.7, 4.0
    s = sw / math.sqrt(2)
    want = nested_student_t_cf("tanh", x, sw, sb, s, dof, r * math.cos(theta), r * math.sin(theta))
    fine = StudentTRayCF("tanh", x, sw, sb, s, dof, theta, 30.0, precise=True, nodes=_trapezoid_nodes(dof))
    assert abs(fine(np.array([r]))[0] - want) < 2e-9
    assert abs(StudentTRayCF("tanh", x, sw, sb, s, dof, theta, 30.0)(np.array([r]))[0] - want) < 1e-6


SPEC = NetworkSpec(activation="erf", width=16, prior="student-t", sigma_w=1.5, sigma_b=0.3)


@pytest.mark.slow
def test_normalised_and_its_marginal_is_the_1d_density():
    """N = 16 on a window of ±12 sd (student-t tails: ±6.5 sd, the app's, hold 1 − 5e-6): mass 1, never negative,
    the marginal of f(x₂) = the independent 1-D inversion convolved with the same Gaussian."""
    _mass_and_marginal(SPEC, 12.0, mass_tol=2e-6, clip_tol=1e-6, marg_tol=1e-5, max_work=1e9)   # wide: more rays


def _mass_and_marginal(spec, span_sd, mass_tol, clip_tol, marg_tol, max_work=2e8):
    """Mass 1 on the window, never negative, the f(x₂) marginal = the independent 1-D inversion ⊛ the same
    Gaussian (tolerance relative to its peak)."""
    d = joint_density(spec, -1.0, 1.0, span_sd=span_sd, points=161, max_work=max_work)
    cell = (d.f1[1] - d.f1[0]) * (d.f2[1] - d.f2[0])
    assert d.p.sum() * cell == pytest.approx(1.0, abs=mass_tol)
    assert np.all(d.p >= 0) and d.clipped_mass < clip_tol
    marg = d.p.sum(axis=0) * (d.f1[1] - d.f1[0])
    want = smoothed_marginal(spec, 1.0, d.smooth[1], d.f2[::10])
    np.testing.assert_allclose(marg[::10], want, rtol=0, atol=marg_tol * marg.max())


@pytest.mark.slow
def test_against_sampled_networks_chi_square():
    """10⁶ networks of width 16 (plus the smoothing noise), binned in 6×6 grid steps."""
    assert chi_square_p(SPEC, (-1.0, 1.0), 10**6) > 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("activation, dof, theta, r, fine_tol, fast_tol", [
    ("softplus", 4.5, 2.4, 3.0, 1e-10, 3e-7),    # measured 2.3e-12, 1.1e-7 (a rule per frame: 4.5e-10, 1.1e-7)
    ("linear", 6.0, 2.6, 3.0, 1e-10, 2e-9),      # measured 2.4e-12, 3.9e-10
])
def test_unbounded_ray_cf_against_nested_adaptive_quadrature(activation, dof, theta, r, fine_tol, fast_tol):
    """An unbounded φ: every scale frame on the u-rule of the largest scales' frame (supports grow with √V); N = 2,
    where t₁, t₂ have opposite signs (softplus's ridge crosses the (w, b) plane); ~30 s each."""
    x, sw, sb = (-1.0, 1.0), 1.5, 0.3
    s = sw / math.sqrt(2)
    want = nested_student_t_cf(activation, x, sw, sb, s, dof, r * math.cos(theta), r * math.sin(theta))
    fine = StudentTRayCF(activation, x, sw, sb, s, dof, theta, 2 * r, precise=True, nodes=_trapezoid_nodes(dof))
    assert abs(fine(np.array([r]))[0] - want) < fine_tol
    assert abs(StudentTRayCF(activation, x, sw, sb, s, dof, theta, 2 * r)(np.array([r]))[0] - want) < fast_tol


WIDE = NetworkSpec(activation="softplus", width=1024, prior="student-t", sigma_w=1.5, sigma_b=0.3)


@pytest.mark.slow
def test_softplus_marginal_is_the_1d_density_and_it_matches_sampled_networks():
    """N = 1024 on the app's window (±6.5 sd holds all but 3e-7 here): mass, the f(x₂) marginal against the
    independent 1-D inversion, and χ² against 10⁵ sampled networks."""
    _mass_and_marginal(WIDE, 6.5, mass_tol=1e-6, clip_tol=1e-7, marg_tol=1e-6)
    assert chi_square_p(WIDE, (-1.0, 1.0), 10**5) > 1e-4


@pytest.mark.slow
def test_small_n_against_sampled_networks_chi_square():
    """The Priors preset's settings under student-t (erf, N = 3, σ_w = 2, σ_b = 0.1, x = ±1): refused before its
    rays were paired and their empty z_o-pieces skipped (4e8 terms), now 1.6e8; 10⁶ networks."""
    spec = NetworkSpec(activation="erf", width=3, prior="student-t", sigma_w=2.0, sigma_b=0.1)
    assert chi_square_p(spec, (1.0, -1.0), 10**6) > 1e-4


@pytest.mark.parametrize("dof", [4.1, 6.0, 30.0])
def test_bounded_reach_leaves_1e_15_of_the_mass_beyond(dof):
    """The parameter rule's cut (|ψ| ≤ 1, so the mass beyond bounds what C loses): P(|u| > R) = 1e-15 for the
    standardized student-t, by scipy's t distribution (u = T·√((ν − 2)/ν))."""
    reach = bounded_reach("student-t", dof)
    beyond = 2.0 * stats.t.sf(reach * math.sqrt(dof / (dof - 2.0)), dof)
    assert beyond == pytest.approx(1e-15, rel=1e-5)
    assert reach < tail_range("student-t", dof)


GELU = NetworkSpec(activation="gelu", width=1024, prior="student-t", sigma_w=1.5, sigma_b=0.3)


@pytest.mark.slow
def test_gelu_by_the_parameter_rule_marginal_is_the_1d_density():
    """gelu has no CDF route under student-t; the 2-D parameter rule, cut where the prior's mass beyond is 1e-15
    (not at its eighth-moment reach: 7.5e4 nodes instead of 1.4e5), computes it from N ≈ 256. On ±12 sd: mass 1 and
    the marginal of f(x₂) within 1.2e-8 of the peak of the independent 1-D inversion (measured)."""
    _mass_and_marginal(GELU, 12.0, mass_tol=1e-7, clip_tol=1e-8, marg_tol=1e-7, max_work=1e9)


@pytest.mark.slow
def test_gelu_against_sampled_networks_chi_square():
    """N = 256, the smallest width the rule resolves at x = ±1: 10⁵ networks."""
    assert chi_square_p(dataclasses.replace(GELU, width=256), (-1.0, 1.0), 10**5) > 1e-4


@pytest.mark.slow
def test_small_n_unbounded_against_sampled_networks_chi_square():
    """softplus at N = 2, x = ±1: refused (5e9 terms) while every frame had its own u-rule; 10⁶ networks."""
    spec = NetworkSpec(activation="softplus", width=2, prior="student-t", sigma_w=1.5, sigma_b=0.3)
    assert chi_square_p(spec, (1.0, -1.0), 10**6) > 1e-4
