"""Exact depth-1 joint density of (f(x₁), f(x₂)) for relu under the student-t prior (docs/physics.md §4.6): one
neuron's characteristic function (per-angle tables of the radial transform) against nested adaptive quadrature over
the raw parameters (w, b) and against its second-order expansion (the kernel), the density's marginal against an
independent 1-D inversion, and χ² plus the diagonal mass against 10⁶ sampled networks."""
import math

import numpy as np
import pytest
from scipy import integrate

from _density_references import chi_square_p, smoothed_marginal

from nnqft_engine import NetworkSpec, SampleSettings, sample_outputs
from nnqft_engine.priors import standardized_pdf
from nnqft_engine.theory.density import characteristic_function
from nnqft_engine.theory.joint_density import joint_density
from nnqft_engine.theory.kernels import kernels
from nnqft_engine.theory.neuron_cf_relu_student_t import ReluStudentTCF

SW, SB, X = 1.5, 0.4, (1.0, -0.5)
S = SW / math.sqrt(2)     # the readout's scale at N = 2

pytestmark = pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")


def _nested(g, dof):
    """∫∫ p(w) p(b) g(w, b) dw db over the raw standardized parameters, inner over b split at the kink lines
    b = −σ_w x_k w/σ_b, both to ±∞ (QUADPACK's infinite-range rule for the algebraic tails)."""
    p = lambda u: float(standardized_pdf("student-t", np.array([u]), dof)[0])  # noqa: E731

    def inner(w):
        cuts = [-math.inf] + sorted({0.0} | {-SW * xk * w / SB for xk in X}) + [math.inf]
        return sum(integrate.quad(lambda b: p(b) * g(w, b), a, c, epsabs=1e-14, epsrel=1e-12, limit=400)[0]
                   for a, c in zip(cuts[:-1], cuts[1:]))

    return sum(integrate.quad(lambda w: p(w) * inner(w), a, c, epsabs=1e-14, epsrel=1e-12, limit=400)[0]
               for a, c in ((-math.inf, 0.0), (0.0, math.inf)))


@pytest.mark.slow
def test_relu_student_t_cf_against_nested_adaptive_quadrature():
    """Measured: P₀₀ to 4e-16, C to ≤ 1.5e-10 at |t| ≤ 5 (the angular rule's pieces resolve C's structure in θ
    up to |t| ~ 20, where a grid's smoothing has long ended Φ)."""
    dof = 4.5
    cf = ReluStudentTCF(X, SW, SB, S, dof, t_max=20.0)
    both_off = _nested(lambda w, b: float(SW * X[0] * w + SB * b <= 0 and SW * X[1] * w + SB * b <= 0), dof)
    assert cf.p00 == pytest.approx(both_off, abs=1e-13)
    psi = lambda v: float(characteristic_function("student-t", v, dof))  # noqa: E731  (unit variance)
    for t1, t2 in ((0.2, -0.1), (2.0, -1.0), (0.3, 5.0)):
        want = _nested(lambda w, b: psi(S * (t1 * max(SW * X[0] * w + SB * b, 0.0)
                                             + t2 * max(SW * X[1] * w + SB * b, 0.0))), dof)
        assert cf(np.array([t1]), np.array([t2]))[0] == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("dof", [6.0, 8.0, 30.0])
def test_relu_student_t_cf_at_small_t_is_the_kernel(dof):
    """1 − C(t) = (s²/2)·E[(t₁h₁ + t₂h₂)²] + O(t⁴) with E[h_ih_j] = (K_ij − σ_b²)/σ_w² from the NNGP kernel
    (itself against mpmath in test_exactness); at |t| = 1e-3 the rest is < 1e-6 of it. (Closer to ν = 4 the next
    term is ~|t|^ν log(1/|t|), since α·h has the tail index ν: 4e-5 of it at ν = 4.5.) This is the check that
    caught ψ read at the raw Student-t's scale (off by ν − 2), which the nested quadrature, built on the same
    function, had agreed with."""
    spec = NetworkSpec(activation="relu", sigma_w=SW, sigma_b=SB, prior="student-t", prior_dof=dof)
    h = (np.asarray(kernels(spec, np.array([[X[0]], [X[1]]])).nngp) - SB**2) / SW**2
    cf = ReluStudentTCF(X, SW, SB, S, dof, t_max=1.0)
    for t in (np.array([1e-3, 0.0]), np.array([0.0, 1e-3]), np.array([7e-4, -5e-4])):
        got = 1.0 - cf(t[:1], t[1:])[0]
        assert got == pytest.approx(0.5 * S**2 * t @ h @ t, rel=1e-5)


@pytest.mark.slow
def test_relu_student_t_joint_density_marginal_against_a_1d_inversion():
    """The f(x₂) marginal of the (smoothed) joint density against an independent 1-D inversion (C₁ by adaptive
    quadrature over z) convolved with the same Gaussian: measured 1.7e-9 of its peak on the bulk. At ν = 30 and
    over ±24 standard deviations, so that the window in f(x₁) holds the law (with ±12 it missed 5e-6 of the peak at
    f(x₂) ≈ 0, where x₂'s neurons are off and f(x₁) is a product law with exponential tails; at ν = 6 the mass
    beyond even ±12, ~2e-4, is missing from any marginal summed over a window)."""
    spec = NetworkSpec(activation="relu", width=2, prior="student-t", prior_dof=30.0, sigma_w=SW, sigma_b=SB)
    d = joint_density(spec, *X, span_sd=24.0, points=801)
    marg = d.p.sum(axis=0) * (d.f1[1] - d.f1[0])
    keep = slice(400 - 60, 400 + 61, 10)
    want = smoothed_marginal(spec, X[1], d.smooth[1], d.f2[keep])
    np.testing.assert_allclose(marg[keep], want, rtol=0, atol=1e-8 * marg.max())


@pytest.mark.slow
@pytest.mark.parametrize("n, dof, x", [(2, 6.0, (1.0, -0.5)), (3, 4.5, (1.0, 0.3))])
def test_relu_student_t_against_a_million_networks_chi_square_and_diagonal_mass(n, dof, x):
    spec = NetworkSpec(activation="relu", width=n, prior="student-t", prior_dof=dof, sigma_w=SW, sigma_b=SB)
    assert chi_square_p(spec, x, 10**6) > 1e-4
    m = 10**6
    f = sample_outputs(spec, list(x), SampleSettings(ensemble=m, seed=7, dtype="float64"))
    pm = joint_density(spec, *x).diagonal_mass
    assert abs((f[:, 0] == f[:, 1]).mean() - pm) < 4 * math.sqrt(pm * (1 - pm) / m)


def test_relu_student_t_over_a_work_budget_is_refused_before_the_inversion_with_its_cost():
    from nnqft_engine.theory.joint_rays import OverBudget
    spec = NetworkSpec(activation="relu", width=2, prior="student-t", sigma_w=SW, sigma_b=SB)
    with pytest.raises(OverBudget, match="angles") as info:
        joint_density(spec, *X, max_work=1e6)
    assert info.value.cost > 1e6
