"""Exact depth-1 joint density of (f(x₁), f(x₂)) for smooth monotone activations (docs/physics.md §4.6): one
neuron's characteristic function on rays against independent nested adaptive quadrature, the back-projected
density's mass, covariance and marginal against closed forms and the 1-D exact density, and χ² against 10⁶
sampled networks (plus the same smoothing noise)."""
import json
import math

import numpy as np
import pytest
from scipy import integrate

from _density_references import chi_square_p, nested_cf

from nnqft_engine import NetworkSpec, SpecError
from nnqft_engine.spec import MAX_WIDTH
from nnqft_engine.cli.main import main
from nnqft_engine.theory.density import output_density
from nnqft_engine.theory import joint_rays
from nnqft_engine.theory.joint_density import joint_density, preactivation_cov
from nnqft_engine.theory.joint_rays import INTERACTIVE_WORK, MAX_WORK, OverBudget
from nnqft_engine.theory.neuron_cf import RayCF
from nnqft_engine.theory.neuron_cf_fold import FoldRayCF
from nnqft_engine.theory.neuron_cf_rule import ParameterRule

ERF = NetworkSpec(activation="erf", width=2, sigma_w=2.0, sigma_b=0.3)


@pytest.mark.parametrize("activation, sw, sb, x2, r, theta", [
    ("erf", 2.0, 0.3, -0.5, 3.0, 2.0),
    ("tanh", 2.0, 0.3, -0.5, 10.0, 1.0),
    pytest.param("erf", 2.0, 0.3, -0.5, 25.0, 2.7, marks=pytest.mark.slow),
    pytest.param("erf", 3.0, 1.0, 0.3, 10.0, 1.0, marks=pytest.mark.slow),
    pytest.param("tanh", 3.0, 1.0, 0.3, 5.0, 1.6, marks=pytest.mark.slow),
    pytest.param("tanh", 2.0, 0.3, -0.5, 40.0, 0.78, marks=pytest.mark.slow),
    pytest.param("sigmoid", 2.0, 0.3, -0.5, 25.0, 2.7, marks=pytest.mark.slow),
    pytest.param("softplus", 1.5, 0.5, -1.0, 3.0, 2.0, marks=pytest.mark.slow),
    pytest.param("gelu", 2.0, 0.3, -0.5, 25.0, 2.7, marks=pytest.mark.slow),
    pytest.param("gelu", 2.0, 0.3, -0.5, 5.0, 1.6, marks=pytest.mark.slow),
    pytest.param("silu", 3.0, 1.0, 0.3, 3.0, 2.0, marks=pytest.mark.slow),   # y(z_o) grazing φ_min at z_o = t
    pytest.param("silu", 3.0, 1.0, 0.3, 40.0, 0.78, marks=pytest.mark.slow),
    # nearly anticorrelated (ρ = −0.991, −0.9992): the z_o-line split at the conditional step (unsplit, fast:
    # 1.9e-3, 3.1e-2, gelu 3.4e-4)
    ("erf", 1.5, 0.1, -1.0, 10.6, 2.48),
    pytest.param("tanh", 1.5, 0.03, -1.0, 10.6, 2.3, marks=pytest.mark.slow),
    ("gelu", 1.5, 0.03, -1.0, 10.6, 2.3),
    pytest.param("silu", 1.5, 0.03, -1.0, 4.2, 2.3, marks=pytest.mark.slow),
])
def test_ray_cf_against_nested_adaptive_quadrature(activation, sw, sb, x2, r, theta):
    """Measured: precise ≤ 3e-10 (gelu/silu ≤ 1.5e-9; ρ ≈ −1: 7.4e-10), the fast setting the density uses ≤ 1.1e-7
    (tanh 3.0/1.0 at r = 10; gelu/silu ≤ 4e-9; ρ ≈ −1: 1.1e-8)."""
    spec = NetworkSpec(activation=activation, width=2, sigma_w=sw, sigma_b=sb)
    sig = preactivation_cov(spec, 1.0, x2)
    s = sw / math.sqrt(2)
    want = nested_cf(activation, sig, s, r * math.cos(theta), r * math.sin(theta))
    ray = FoldRayCF if activation in ("gelu", "silu") else RayCF
    assert ray(activation, sig, s, theta, 60.0)(np.array([r]))[0] == pytest.approx(want, abs=2e-9)
    assert ray(activation, sig, s, theta, 60.0, precise=False)(np.array([r]))[0] == pytest.approx(want, abs=3e-7)


@pytest.mark.parametrize("theta", [0.0, 0.4, math.pi / 2, 2.5])
def test_linear_ray_cf_is_the_closed_form(theta):
    """φ(z) = z: t·φ(z) ~ N(0, tᵀΣt), so C = 1/√(1 + s² tᵀΣt) (also on the axes, where one coefficient is 0)."""
    spec = NetworkSpec(activation="linear", width=3, sigma_w=1.5, sigma_b=0.4)
    sig = preactivation_cov(spec, 0.7, -1.2)
    s = 1.5 / math.sqrt(3)
    r = np.array([0.3, 2.0, 9.0, 30.0])
    u = np.array([math.cos(theta), math.sin(theta)])
    want = 1.0 / np.sqrt(1.0 + s * s * r * r * (u @ sig @ u))
    np.testing.assert_allclose(RayCF("linear", sig, s, theta, 30.0)(r), want, rtol=0, atol=1e-9)


@pytest.mark.parametrize("r, theta", [(3.0, 1.0), pytest.param(8.0, 2.5, marks=pytest.mark.slow)])
def test_uniform_prior_rule_cf_against_nested_adaptive_quadrature(r, theta):
    """The 2-D parameter rule (non-gaussian priors) at a radius it was built for: tanh × uniform, N = 64, against
    nested adaptive quadrature over the uniform (α, β) square, readout ψ(s) = sin(√3s)/(√3s)."""
    spec = NetworkSpec(activation="tanh", prior="uniform", width=64, sigma_w=2.0, sigma_b=0.3)
    s, a3 = 2.0 / 8.0, math.sqrt(3.0)
    t1, t2 = r * math.cos(theta), r * math.sin(theta)

    def integrand(beta, alpha):
        u = t1 * math.tanh(2.0 * alpha + 0.3 * beta) + t2 * math.tanh(-1.0 * alpha + 0.3 * beta)
        x = a3 * s * u
        return (math.sin(x) / x if x != 0 else 1.0) / 12.0

    want = integrate.dblquad(integrand, -a3, a3, -a3, a3, epsabs=1e-13, epsrel=1e-12)[0]
    got = ParameterRule(spec, 1.0, -0.5, 10.0).ray(theta)(np.array([r]))[0]
    assert got == pytest.approx(want, abs=1e-9)


@pytest.mark.slow
def test_erf_normalised_with_the_exact_covariance_and_the_1d_marginal():
    """On a window holding the whole law: mass 1, covariance = G2 (the NNGP) + the smoothing, and the marginal of
    f(x₂) = the 1-D exact density (an independent inversion) convolved with the same Gaussian."""
    x1, x2 = 1.0, -0.5
    d = joint_density(ERF, x1, x2, span_sd=12.0, points=161)
    cell = (d.f1[1] - d.f1[0]) * (d.f2[1] - d.f2[0])
    f1, f2 = np.meshgrid(d.f1, d.f2, indexing="ij")
    assert d.p.sum() * cell == pytest.approx(1.0, abs=1e-7)
    assert d.clipped_mass < 1e-8 and d.diagonal_mass == 0.0
    want = d.cov + np.diag(np.square(d.smooth))
    got = np.array([[(d.p * f1 * f1).sum(), (d.p * f1 * f2).sum()],
                    [(d.p * f1 * f2).sum(), (d.p * f2 * f2).sum()]]) * cell
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    marg = d.p.sum(axis=0) * (d.f1[1] - d.f1[0])
    one = output_density(ERF, x2, grid=np.linspace(-20, 20, 8001))
    h = d.smooth[1]
    for i in range(0, len(d.f2), 10):
        conv = np.trapezoid(one.p * np.exp(-0.5 * ((d.f2[i] - one.f) / h) ** 2), one.f) / (h * math.sqrt(2 * math.pi))
        assert marg[i] == pytest.approx(conv, abs=1e-6 * marg.max())


@pytest.mark.slow
@pytest.mark.parametrize("spec, x2, m", [
    (ERF, -0.5, 10**6),
    (NetworkSpec(activation="tanh", width=4, sigma_w=1.5, sigma_b=0.2), 0.3, 10**6),
    (NetworkSpec(activation="gelu", width=64, sigma_w=2.0, sigma_b=0.3), -0.5, 10**5),   # sampling N = 64 is slow
    (NetworkSpec(activation="tanh", prior="uniform", width=64, sigma_w=2.0, sigma_b=0.3), -0.5, 10**5),
])
def test_joint_density_against_sampled_networks_chi_square(spec, x2, m):
    """The law of (f₁ + ε₁, f₂ + ε₂), εₖ ~ N(0, smoothₖ²), binned in 6×6 grid steps (the box option gives the
    bins' expectation); bins with ≥ 20 expected. Measured p = 0.66 (erf, N = 2), 0.86 (tanh, N = 4) with 10⁶
    networks; 0.87 (gelu, N = 64; 10⁶) and 0.87 (tanh × uniform, N = 64; 2·10⁵) — 10⁵ here, for time."""
    assert chi_square_p(spec, (1.0, x2), m) > 1e-4


@pytest.mark.parametrize("kw, words", [
    # the arcs' rays at N = 2, σ_w = 3, σ_b = 0.05, x₂ ≠ −x₁: ~4.8e8 (sin), ~3e8 (cos) terms
    (dict(activation="sin", sigma_w=3.0, sigma_b=0.05), "needs ~4.8e\\+08 terms.*raise N"),
    (dict(activation="cos", sigma_w=3.0, sigma_b=0.05), "raise N"),
    (dict(activation="gelu", prior="laplace"), "terms.*raise N"),   # the folded rays at N = 2 (x₂ ≠ −x₁): ~3.6e8
    (dict(activation="gelu", prior="uniform"), "terms.*raise N"),   # ~4e8
    (dict(prior="student-t"), "raise N"),            # the scale mixture's rays: ~3e8 terms at N = 2 (x₂ ≠ −x₁)
    (dict(activation="softplus", prior="student-t"), "raise N"),   # its scale frames' rays, at N = 2
    (dict(activation="silu", prior="student-t"), "2-D quadrature of a ridge"),
    # the rule coarsens with N only down to student-t's own (heavy-tailed) axis rule: raising N cannot help at
    # ν = 4.1 (its 1e-15 tail reach is 5.2e3; at ν = 6, 5.2e2, gelu computes from N ≈ 256)
    (dict(activation="gelu", prior="student-t", prior_dof=4.1, width=MAX_WIDTH),
     "not at any N: the student-t prior's tails"),
    (dict(prior="rademacher", activation="gelu", width=23), "listed up to N = 22 for gelu"),   # its 4-D lattice
])
def test_refused_with_a_reason(kw, words):
    spec = NetworkSpec(**{**dict(activation="erf", width=2, sigma_w=2.0, sigma_b=0.3), **kw})
    with pytest.raises(SpecError, match=words):
        joint_density(spec, 1.0, -0.5, span_sd=6.5, points=161)


@pytest.mark.parametrize("kw", [
    dict(activation="gelu"),                        # N = 2 on the app's 161² grid: ~9e7 terms
    dict(activation="sigmoid", prior="laplace"),    # ~5e7
    dict(activation="erf", prior="uniform"),        # ~6e7 at σ_b = 0.3
])
def test_over_the_interactive_budget_the_refusal_carries_the_cost(kw):
    """Between two sample chunks the app allows INTERACTIVE_WORK; these exceed it (the Outputs job computes them
    after the sample, within MAX_WORK), and the refusal says by how much."""
    spec = NetworkSpec(**{**dict(activation="erf", width=2, sigma_w=2.0, sigma_b=0.3), **kw})
    with pytest.raises(OverBudget, match="over the budget") as err:
        joint_density(spec, 1.0, -0.5, span_sd=6.5, points=161, max_work=INTERACTIVE_WORK)
    assert INTERACTIVE_WORK < err.value.cost <= MAX_WORK
    assert isinstance(err.value, SpecError)


def test_rays_on_two_threads_give_the_same_density_bit_for_bit(monkeypatch):
    """Rays are built on as many threads as the work deserves (threads.choose_threads); each lands in its own
    column, so the density does not depend on the count."""
    spec = NetworkSpec(activation="tanh", width=6, sigma_w=1.5, sigma_b=0.3)
    got = {}
    for workers in (1, 2):
        monkeypatch.setattr(joint_rays, "choose_threads", lambda work, w=workers: w)
        got[workers] = joint_density(spec, 1.0, -0.5, points=41).p
    assert np.array_equal(got[1], got[2])


@pytest.mark.slow
def test_gelu_at_n2_within_the_full_budget_has_the_exact_marginal():
    """gelu, N = 2 (refused before the budget grew): the marginal of f(x₂) on a window of ±12 sd is the 1-D exact
    density (an independent inversion) convolved with the same Gaussian, and the window holds mass 1 up to the
    1-D law's tails beyond it. x₁, x₂ of one sign: with opposite signs gelu(z₂) ≈ 0 leaves f(x₁) free, so the
    law has long tails along the axis f₂ = 0 that any window cuts (2.8e-6 of the marginal's peak at ±12 sd;
    against nested quadrature the 1-D density is right there to 1e-15)."""
    spec = NetworkSpec(activation="gelu", width=2, sigma_w=1.5, sigma_b=0.3)
    x1, x2 = 1.0, 0.5
    d = joint_density(spec, x1, x2, span_sd=12.0, points=161, max_work=4e8)
    h = d.smooth[1]
    one = output_density(spec, x2, grid=np.linspace(-40, 40, 16001))
    marg = d.p.sum(axis=0) * (d.f1[1] - d.f1[0])
    for i in range(0, len(d.f2), 10):
        conv = np.trapezoid(one.p * np.exp(-0.5 * ((d.f2[i] - one.f) / h) ** 2), one.f) / (h * math.sqrt(2 * math.pi))
        assert marg[i] == pytest.approx(conv, abs=1e-6 * marg.max())
    cell = (d.f1[1] - d.f1[0]) * (d.f2[1] - d.f2[0])
    outside = sum(float(np.trapezoid(np.where(np.abs(o.f) > w, o.p, 0.0), o.f))
                  for o, w in ((output_density(spec, x1, grid=np.linspace(-40, 40, 16001)), d.f1[-1]),
                               (one, d.f2[-1])))
    assert d.p.sum() * cell == pytest.approx(1.0, abs=outside + 1e-7)


def test_cli_theory_joint_density_for_tanh(capsys):
    assert main(["theory", "--activation", "tanh", "--width", "8", "--sigma-w", "1.5", "--x", "1,0.3",
                 "--joint-density"]) == 0
    out = json.loads(capsys.readouterr().out)["joint_density"]
    p = np.array(out["p"])
    assert p.shape == (len(out["f1"]), len(out["f2"])) and np.all(p >= 0)
    assert out["diagonal_mass"] == 0.0


COVERED = [(a, p) for a in ("erf", "tanh", "sigmoid", "softplus", "linear") for p in ("gaussian", "laplace", "uniform")]
COVERED += [("gelu", "gaussian"), ("silu", "gaussian")]


@pytest.mark.slow
@pytest.mark.parametrize("activation, prior", COVERED)
def test_the_covered_activations_fit_the_full_budget_at_one_neuron(activation, prior):
    """README and docs §4.6: these are covered at every N on the app's grid (σ_w ≤ 3, σ_b ≥ 0.05). The cost falls
    with N (C^N dies sooner); N = 1 at σ_w = 3 is the most costly of the scan N = 1…100 (its pilot prices it)."""
    for sw, sb in ((3.0, 0.05), (3.0, 1.0), (2.0, 0.3)):
        spec = NetworkSpec(activation=activation, prior=prior, width=1, sigma_w=sw, sigma_b=sb)
        with pytest.raises(OverBudget) as err:
            joint_density(spec, 1.0, -0.5, span_sd=6.5, points=161, max_work=0.0)
        assert err.value.cost <= MAX_WORK


def test_x2_minus_x1_computes_half_the_rays_and_the_same_density(monkeypatch):
    """x₂ = −x₁: (φ(z₁), φ(z₂)) is exchangeable (w → −w), so C(r, θ) = C(r, π/2 − θ) and only one ray of each
    mirror pair is computed; the density equals the one with every ray computed to the fast rule's own accuracy
    (each ray's |δC| ~ 1e-7: measured 3e-8 of the peak here)."""
    from nnqft_engine.theory import joint_density as module
    real, seen = module.backprojected, []
    spec = NetworkSpec(activation="erf", width=3, sigma_w=2.0, sigma_b=0.1)

    def density(force=None):
        def spy(*args, **kw):
            seen.append(kw["exchangeable"])
            p, info = real(*args, **{**kw, "exchangeable": kw["exchangeable"] if force is None else force})
            seen.append(info)
            return p, info
        monkeypatch.setattr(module, "backprojected", spy)
        return joint_density(spec, 0.5, -0.5, span_sd=6.5, points=161).p

    mirrored, every = density(), density(force=False)
    assert seen[0] is True and seen[2] is True
    assert seen[1]["computed_rays"] <= seen[1]["rays"] // 2 + 1 and seen[3]["computed_rays"] == seen[3]["rays"]
    np.testing.assert_allclose(mirrored, every, rtol=0, atol=1e-7 * every.max())
    joint_density(spec, 0.5, -0.4, span_sd=6.5, points=161)
    assert seen[4] is False                       # no mirror where x₂ ≠ −x₁
