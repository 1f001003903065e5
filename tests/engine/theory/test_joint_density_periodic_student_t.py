"""Exact depth-1 joint density of (f(x₁), f(x₂)) for sin and cos under the student-t prior (docs/physics.md §4.6,
neuron_cf_periodic_student_t): the wrapped bias law's arc masses against direct sums over the images, one neuron's
characteristic function on a ray against nested adaptive quadrature over (w, b), the density's marginal against
an independent 1-D inversion, and χ² against 10⁶ sampled networks."""
import math

import numpy as np
import pytest
from scipy import integrate, special

from _density_references import assert_marginal_is_the_1d_density, chi_square_p

from nnqft_engine import NetworkSpec
from nnqft_engine.theory.neuron_cf_periodic_student_t import PeriodicStudentTRayCF
from nnqft_engine.theory.wrapped_student_t import WrappedStudentT


@pytest.mark.parametrize("sigma_b, dof", [(0.01, 6.0), (0.05, 4.1), (0.3, 6.0), (1.0, 4.5), (3.0, 30.0)])
def test_arc_masses_against_direct_sums_over_the_images(sigma_b, dof):
    """Random arcs (any start, length 0 to 2π): J(hi) − J(lo) within 1e-12 of Σ_k [F(hi + 2πk) − F(lo + 2πk)] summed
    over 40001 images, each tail from its own side (measured ≤ 6e-14)."""
    wrapped = WrappedStudentT(sigma_b, dof)
    rng = np.random.default_rng(4)
    lo = rng.uniform(-10, 10, 100)
    hi = lo + np.concatenate([rng.uniform(0, 2 * math.pi, 97), [0.0, 2 * math.pi, 1e-9]])
    k = 2 * math.pi * np.arange(-20000, 20001)

    def direct(a, b):
        ta, tb = (a + k) / wrapped.scale, (b + k) / wrapped.scale
        right = ta > 0
        return np.sum(np.where(right, special.stdtr(dof, -ta) - special.stdtr(dof, -tb),
                               special.stdtr(dof, tb) - special.stdtr(dof, ta)))

    want = np.array([direct(a, b) for a, b in zip(lo, hi)])
    np.testing.assert_allclose(wrapped.arc_mass(lo, hi), want, rtol=0, atol=1e-12)


def nested_student_t_periodic_cf(activation, x, sw, sb, s, t1, t2):
    """E_{w,b}[ψ(s(t₁φ(wx₁ + b) + t₂φ(wx₂ + b)))] for φ = sin or cos, w, b and the readout t₅ (unit variance times
    σ), by nested adaptive quadrature. ψ of t₅ is elementary, e^{−y}(1 + y + y²/3), y = √3|v|. b is reduced to one
    period by its wrapped density (the images |k| ≤ 300 summed, those beyond by the midpoint rule on the CDF's
    tails); the inner quadrature over the period is split at every root of the ridge, the outer over w runs on
    pieces of at most π/max|x| to 60σ_w, then geometric pieces to 3000σ_w (w's mass beyond < 1e-16)."""
    dof = 5.0
    shift = 0.0 if activation == "sin" else 0.5 * math.pi
    c = math.sqrt((dof - 2) / dof)
    norm = math.exp(math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2)) / math.sqrt(dof * math.pi)
    k = 2 * math.pi * np.arange(-300, 301)
    edge = 2 * math.pi * 300.5

    def p_wrapped(beta):
        v = (beta + k) / (c * sb)
        tails = special.stdtr(dof, -(edge + beta) / (c * sb)) + special.stdtr(dof, -(edge - beta) / (c * sb))
        return float(np.sum((1 + v * v / dof) ** (-(dof + 1) / 2))) * norm / (c * sb) + tails / (2 * math.pi)

    def inner(w):
        grid = np.linspace(-math.pi, math.pi, 401)
        g = t1 * np.sin(w * x[0] + grid + shift) + t2 * np.sin(w * x[1] + grid + shift)
        pts = [-math.pi, math.pi]
        for j in np.nonzero(np.sign(g[:-1]) != np.sign(g[1:]))[0]:
            pts.append(grid[j] - g[j] * (grid[j + 1] - grid[j]) / (g[j + 1] - g[j]))
        pts = sorted(pts)

        def f(beta):
            y = math.sqrt(3.0) * abs(s * (t1 * math.sin(w * x[0] + beta + shift) + t2 * math.sin(w * x[1] + beta + shift)))
            return p_wrapped(beta) * math.exp(-y) * (1.0 + y + y * y / 3.0)

        return sum(integrate.quad(f, p, q, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
                   for p, q in zip(pts[:-1], pts[1:]))

    def outer(w):
        return inner(w) * norm / (c * sw) * (1 + (w / (c * sw)) ** 2 / dof) ** (-(dof + 1) / 2)

    near = np.linspace(0.0, 60 * sw, int(math.ceil(60 * sw * max(abs(x[0]), abs(x[1])) / math.pi)) + 1)
    half = np.concatenate([near, np.geomspace(60 * sw, 3000 * sw, 40)[1:]])
    edges = np.concatenate([-half[::-1], half[1:]]) if activation == "sin" else half
    fold = 1.0 if activation == "sin" else 2.0   # cos: (w, b) → −(w, b) leaves the integrand alone
    return fold * sum(integrate.quad(outer, p, q, epsabs=1e-14, epsrel=1e-11, limit=200)[0]
                      for p, q in zip(edges[:-1], edges[1:]))


@pytest.mark.slow
@pytest.mark.parametrize("activation, x, sw, sb, n, theta, r", [
    ("sin", (-1.0, 1.0), 1.5, 0.3, 2, 0.7, 4.0),
    ("cos", (1.0, -0.5), 1.5, 0.3, 2, 2.5, 6.0),
    ("sin", (1.0, -0.5), 1.5, 0.1, 1, 1.2, 10.0),    # a narrow b: the arcs' steps are cut
])
def test_ray_cf_against_nested_adaptive_quadrature(activation, x, sw, sb, n, theta, r):
    """ν = 5: the precise rule within 1e-11 (measured ≤ 5.3e-12), the densities' rule within 1e-8 (measured 9e-10,
    1e-11 and 2.6e-9); 60–160 s each (the reference)."""
    s = sw / math.sqrt(n)
    want = nested_student_t_periodic_cf(activation, x, sw, sb, s, r * math.cos(theta), r * math.sin(theta))
    for precise, tol in ((True, 1e-11), (False, 1e-8)):
        ray = PeriodicStudentTRayCF(activation, x, sw, sb, s, 5.0, theta, 30.0, precise=precise)
        assert abs(ray(np.array([r]))[0] - want) < tol


SIN_T = NetworkSpec(activation="sin", width=16, prior="student-t", sigma_w=1.5, sigma_b=0.3)


@pytest.mark.slow
def test_marginal_is_the_1d_density():
    """sin × student-t (ν = 6) at N = 16, x = ±1: mass 1 on ±10 sd (measured 1 − 3e-7: the tails of one large weight),
    no clipped ringing, and the f(x₂) marginal = the independent 1-D inversion ⊛ the same Gaussian within 1e-6 of
    its peak (measured 4e-8), at every 20th grid point (the reference takes ~10 s a point)."""
    assert_marginal_is_the_1d_density(SIN_T, (1.0, -1.0), 10.0, [k * math.pi for k in range(-30, 31)], every=20)


@pytest.mark.slow
@pytest.mark.parametrize("spec, x", [
    (NetworkSpec(activation="sin", width=1, prior="student-t", sigma_w=1.5, sigma_b=0.3), (1.0, -1.0)),
    (NetworkSpec(activation="sin", width=8, prior="student-t", sigma_w=1.5, sigma_b=0.3), (1.0, -1.0)),
    (NetworkSpec(activation="cos", width=64, prior="student-t", sigma_w=1.5, sigma_b=0.3), (1.0, -0.5)),
])
def test_against_sampled_networks_chi_square(spec, x):
    """10⁶ networks (plus the smoothing noise), binned in 6×6 grid steps."""
    assert chi_square_p(spec, x, 10**6) > 1e-4
