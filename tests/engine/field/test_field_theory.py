"""φ⁴-as-a-network theory pieces against closed forms and independent quadrature (docs/physics.md §7)."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate, special

from nnqft_engine.field import (
    FieldSpec,
    fit_coupling,
    one_loop_g2,
    propagator,
    propagator_at_zero,
    propagator_infinite_cutoff,
    tree_g4c_pair,
    tree_g4c_pair_unit,
    tree_g4c_unit,
)
from nnqft_engine.field.box import box_grid, phi4_integral, phi4_integral_exact
from nnqft_engine.field.cosnet import (
    draw_neurons,
    field_at,
    four_point_moment,
    momentum_law,
)
from nnqft_engine.field.mcmc import integrated_autocorrelation_time
from nnqft_engine.field.propagator import PropagatorTable
from nnqft_engine.spec import SpecError


def _quad_propagator(dim, m, lam, r):
    """Independent: scipy's adaptive quadrature of the radial integral."""
    if dim == 1:
        f = lambda p: 1.0 / (p * p + m * m) / math.pi  # noqa: E731
        return integrate.quad(f, 0, lam, weight="cos", wvar=r, limit=400)[0] if r else integrate.quad(f, 0, lam)[0]
    if dim == 2:
        return integrate.quad(lambda p: p * special.j0(p * r) / (p * p + m * m) / (2 * math.pi), 0, lam,
                              limit=400, epsabs=1e-13)[0]
    return integrate.quad(lambda p: p * p * np.sinc(p * r / math.pi) / (p * p + m * m) / (2 * math.pi**2), 0, lam,
                          limit=400, epsabs=1e-13)[0]


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_cutoff_propagator_matches_independent_quadrature_and_closed_form_at_zero(dim):
    m, lam = 0.7, 9.0
    r = np.array([0.0, 0.3, 1.1, 2.9, 6.0])
    ours = propagator(dim, m, lam, r)
    ref = np.array([_quad_propagator(dim, m, lam, v) for v in r])
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-12)
    assert ours[0] == pytest.approx(propagator_at_zero(dim, m, lam), rel=1e-12)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_large_cutoff_approaches_closed_forms_within_the_tail_bound(dim):
    m, lam = 1.3, 400.0
    r = np.array([0.5, 1.0, 2.5])
    diff = np.abs(propagator(dim, m, lam, r) - propagator_infinite_cutoff(dim, m, r))
    # Tails ∫_Λ^∞ bounded by integration by parts (|∫ osc·g| ≤ 2g(Λ)/r for decreasing g; |√z J₁(z)| ≤ 0.8).
    h = 1.0 / (lam**2 + m**2)
    bound = {1: 2 * h / (math.pi * r), 2: 2 * 0.8 * math.sqrt(lam) * h / (2 * math.pi * r**1.5),
             3: lam * h / (math.pi**2 * r**2)}[dim]
    assert np.all(diff <= bound)
    assert np.all(diff > 0)  # the cutoff is visible at all (the bound is not vacuous)


def test_propagator_table_is_accurate():
    tab = PropagatorTable(2, 1.0, 8.0, 6.0)
    r = np.linspace(0, 6, 301)
    exact = propagator(2, 1.0, 8.0, r)
    assert np.max(np.abs(tab(r) - exact)) < 1e-9 * exact[0]


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_phi4_grid_integral_equals_closed_form_product_of_cosines(dim):
    spec = FieldSpec(dim=dim, width=5, cutoff=6.0, box=2.5, alpha=0.0)
    gen = torch.Generator().manual_seed(11 + dim)
    w, b, c = draw_neurons(spec, (5,), gen, torch.device("cpu"), torch.float64)
    grid = box_grid(spec)
    ours = float(phi4_integral(field_at(w, b, c, torch.as_tensor(grid.nodes)), torch.as_tensor(grid.weights)))
    exact = phi4_integral_exact(w.numpy(), b.numpy(), c.numpy(), spec.box)
    assert ours == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("alpha", [-1.0, 0.0, 0.5])
def test_phase_average_four_point_moment_matches_direct_integration_d1(alpha):
    """H₁₂₃₄ = E_{b,c}[A⁴Π cos(b xₖ + c)]: closed phase average vs brute-force quadrature over (b, c)."""
    spec = FieldSpec(dim=1, mass=0.8, cutoff=5.0, box=2.0, alpha=alpha, width=3)
    law = momentum_law(1, 0.8, 5.0, alpha)
    xs = np.array([0.0, 0.4, 1.3, -0.7])
    bn, bw = np.polynomial.legendre.leggauss(400)
    b = 5.0 * bn  # symmetric in b: density over [−Λ, Λ] is ∝ (b²+m²)^{−(1+α)}
    q = (b * b + 0.64) ** (-(1 + alpha)) / law.z_alpha
    a4 = law.amplitude_sq(torch.as_tensor(b * b)).numpy() ** 2
    c = np.linspace(-math.pi, math.pi, 64, endpoint=False)
    prod = np.prod(np.cos(b[:, None, None] * xs[None, None, :] + c[None, :, None]), axis=-1).mean(axis=1)
    direct = float(np.sum(5.0 * bw * q * a4 * prod))
    ours = float(four_point_moment(spec, *[[v] for v in xs])[0])
    assert ours == pytest.approx(direct, rel=1e-8)


def test_tree_level_and_one_loop_match_independent_quadrature_d1():
    spec = FieldSpec(dim=1, mass=1.0, cutoff=4.0, box=4.0, lam=0.3, width=10)
    x = np.array([-0.6, 0.2, 1.0])
    g = lambda r: propagator(1, 1.0, 4.0, np.atleast_1d(r))[0]  # noqa: E731
    i, j = 0, 2
    t_ref = integrate.quad(lambda z: g(x[i] - z) ** 2 * g(x[j] - z) ** 2, -2, 2, limit=200, epsabs=1e-13)[0]
    assert tree_g4c_pair_unit(spec, x)[i, j] == pytest.approx(t_ref, rel=1e-8)
    assert tree_g4c_pair(spec, x)[i, j] == pytest.approx(-0.3 * t_ref, rel=1e-8)
    general = tree_g4c_unit(spec, [[x[0]]], [[x[1]]], [[x[2]]], [[x[2]]])[0]
    g_ref = integrate.quad(lambda z: g(x[0] - z) * g(x[1] - z) * g(x[2] - z) ** 2, -2, 2, limit=200)[0]
    assert general == pytest.approx(g_ref, rel=1e-8)
    loop = integrate.quad(lambda z: g(x[i] - z) * g(z - x[j]), -2, 2, limit=200, epsabs=1e-13)[0]
    expect = g(x[i] - x[j]) - 0.5 * 0.3 * g(0.0) * loop
    assert one_loop_g2(spec, x)[i, j] == pytest.approx(expect, rel=1e-7)


def test_coupling_fit_inverts_tree_level_in_the_1_over_4_factorial_convention():
    spec = FieldSpec(dim=2, mass=1.0, cutoff=3.0, box=3.0, lam=0.7, width=10)
    x = [[0.0, 0.0], [0.5, 0.0], [0.0, 1.0]]
    unit = tree_g4c_pair_unit(spec, x)
    assert fit_coupling(tree_g4c_pair(spec, x), unit) == pytest.approx(0.7, rel=1e-12)
    assert np.all(unit > 0)


def test_autocorrelation_time_of_ar1_chains():
    rng = np.random.default_rng(3)
    rho, t, chains = 0.8, 6000, 48
    x = np.zeros((t, chains))
    noise = rng.standard_normal((t, chains))
    for k in range(1, t):
        x[k] = rho * x[k - 1] + noise[k]
    tau = integrated_autocorrelation_time(x[200:])
    exact = (1 + rho) / (2 * (1 - rho))
    # Madras–Sokal: var(τ̂) ≈ 2(2W+1)/n·τ², W ≈ 5τ.
    sigma = exact * math.sqrt(2 * (2 * 5 * exact + 1) / x[200:].size)
    assert abs(tau - exact) < 4 * sigma
    assert integrated_autocorrelation_time(rng.standard_normal((4000, 8))) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("kwargs, word", [
    (dict(dim=4), "dimension"), (dict(mass=0.0), "mass"), (dict(cutoff=-1.0), "cutoff"), (dict(box=0.0), "box"),
    (dict(lam=-0.1), "lambda"), (dict(width=0), "width"), (dict(cutoff=5000.0, box=50.0), "nodes"),
])
def test_field_spec_rejects_bad_values_with_one_sentence(kwargs, word):
    with pytest.raises(SpecError, match=word):
        FieldSpec(**kwargs)
