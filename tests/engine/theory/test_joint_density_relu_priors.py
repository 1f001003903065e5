"""Exact depth-1 joint density of (f(x₁), f(x₂)) for relu under the laplace and uniform priors (docs/physics.md §4.6):
one neuron's closed form over cones against independent nested adaptive quadrature over (w, b), the both-off
probability likewise, the density's mass, covariance and marginal against independent integrals, and a χ² plus
the diagonal mass against 10⁶ sampled networks (plus the same smoothing noise)."""
import json
import math

import numpy as np
import pytest
from scipy import integrate

from _density_references import chi_square_p, smoothed_inversion

from nnqft_engine import NetworkSpec, SampleSettings, SpecError, sample_outputs
from nnqft_engine.cli.main import main
from nnqft_engine.theory.density import preactivation_density
from nnqft_engine.theory.joint_density import joint_density
from nnqft_engine.theory.neuron_cf_relu_cones import ReluConeCF

SW, SB = 1.5, 0.4
S = SW / math.sqrt(2)     # the readout's scale at N = 2


def _prior(prior, sw, sb):
    """(density of (W, B) = (σ_w w, σ_b b), its W-range, B-range, the readout's ψ)."""
    if prior == "laplace":
        lw, lb = sw / math.sqrt(2), sb / math.sqrt(2)
        return (lambda w, b: math.exp(-abs(w) / lw - abs(b) / lb) / (4 * lw * lb), 40 * lw, 40 * lb,
                lambda v: 1.0 / (1.0 + 0.5 * v * v))
    hw, hb = math.sqrt(3) * sw, math.sqrt(3) * sb
    return (lambda w, b: 1.0 / (4 * hw * hb), hw, hb,
            lambda v: 1.0 if v == 0 else math.sin(math.sqrt(3) * v) / (math.sqrt(3) * v))


def nested(prior, x, sw, sb, g):
    """∫∫ p(W, B) g(W, B) by nested adaptive quadrature: inner over B split at 0 and at the kink lines
    B = −x_k W (laplace: e^{−40} beyond 40 scale lengths), outer over W split at 0 and, for the rectangle, where a
    kink line leaves it through B = ±h_b (a kink of the inner integral)."""
    dens, rw, rb, _ = _prior(prior, sw, sb)

    def inner(w):
        cuts = sorted({-rb, 0.0, rb} | {min(max(-xk * w, -rb), rb) for xk in x})
        return sum(integrate.quad(lambda b: dens(w, b) * g(w, b), p, q, epsabs=1e-15, epsrel=1e-13, limit=400)[0]
                   for p, q in zip(cuts[:-1], cuts[1:]) if q > p)

    cuts = sorted({-rw, 0.0, rw} | {c * rb / xk for xk in x if xk != 0 for c in (1, -1) if abs(rb / xk) < rw})
    return sum(integrate.quad(inner, p, q, epsabs=1e-14, epsrel=1e-12, limit=400)[0]
               for p, q in zip(cuts[:-1], cuts[1:]))


def nested_cf(prior, x, sw, sb, s, t1, t2):
    psi = _prior(prior, sw, sb)[3]
    return nested(prior, x, sw, sb,
                  lambda w, b: psi(s * (t1 * max(w * x[0] + b, 0.0) + t2 * max(w * x[1] + b, 0.0))))


def _equal_edges_t(prior, x, sw, sb):
    """A t at which, on a cone where both neurons are on, the two edge points coincide exactly (the divided
    difference is then taken as the derivative's mean): laplace, q = Σ t_k (x_k, 1) ∝ the density's exponent
    (1/λ_w, 1/λ_b) in the quadrant W, B > 0; uniform, q ⟂ the rectangle's top side."""
    a = np.array([[x[0], x[1]], [1.0, 1.0]])
    q = np.array([math.sqrt(2) / sw, math.sqrt(2) / sb]) if prior == "laplace" else np.array([0.0, 1.0])
    return tuple(4.0 * np.linalg.solve(a, q))


CASES = [(prior, x) for prior in ("laplace", "uniform") for x in ((1.0, -0.5), (1.0, 0.3), (0.0, 1.0))]


@pytest.mark.parametrize("prior, x", CASES)
def test_relu_cone_cf_against_nested_adaptive_quadrature(prior, x):
    """Measured |δC| ≤ 4e-15 (laplace) and ≤ 7e-16 (uniform) on these points, both branches of the divided
    difference (t small, and edges equal or nearly so) included."""
    cf = ReluConeCF(prior, x, SW, SB, S)
    te = _equal_edges_t(prior, x, SW, SB)
    ts = [(0.2, -0.1), (2.0, -1.0), (0.3, 5.0), (-50.0, 3.0), te, (te[0] * (1 + 1e-3), te[1])]
    got = cf(np.array([t[0] for t in ts]), np.array([t[1] for t in ts]))
    want = np.array([nested_cf(prior, x, SW, SB, S, *t) for t in ts])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13)


@pytest.mark.parametrize("prior, x", CASES)
def test_both_off_probability_against_nested_quadrature(prior, x):
    cf = ReluConeCF(prior, x, SW, SB, S)
    want = nested(prior, x, SW, SB, lambda w, b: float(w * x[0] + b <= 0 and w * x[1] + b <= 0))
    assert cf.p00 == pytest.approx(want, abs=1e-13)
    assert cf(np.zeros(1), np.zeros(1))[0] == pytest.approx(1.0, abs=1e-14)


def _g2(spec, x):
    """G2(x₁, x₂) = σ_b² + σ_w² E[relu(z₁)relu(z₂)] (readout variance σ_w²/N, N neurons), by nested quadrature."""
    e = nested(spec.prior, x, spec.sigma_w, spec.sigma_b, lambda w, b: max(w * x[0] + b, 0) * max(w * x[1] + b, 0))
    return spec.sigma_b**2 + spec.sigma_w**2 * e


def smoothed_marginal(spec, x, h, f):
    """The density of f(x) + ε, ε ~ N(0, h²), by its own 1-D Fourier inversion: Φ(t) = ψ(σ_b t)·C₁(t)^N·e^{−h²t²/2},
    C₁(t) = ∫ p_z(z) ψ(s t relu(z)) dz with p_z the closed-form pre-activation density (§4.3), by adaptive
    quadrature split at z = 0 and the uniform trapezoid's corners; t by composite Gauss–Legendre up to where the
    smoothing ends Φ."""
    _, _, _, psi = _prior(spec.prior, spec.sigma_w, spec.sigma_b)
    s, n = spec.sigma_w / math.sqrt(spec.width), spec.width
    a, b = spec.sigma_w * abs(x), spec.sigma_b
    if spec.prior == "laplace":
        cuts = [-50 * math.hypot(a, b), 0.0, 50 * math.hypot(a, b)]
    else:
        cuts = sorted({0.0} | {c * math.sqrt(3) * (a + d * b) for c in (1, -1) for d in (1, -1)})

    def c1(t):
        def g(z):
            return float(preactivation_density(spec, x, np.array([z]))[0]) * psi(s * t * max(z, 0.0))

        return sum(integrate.quad(g, p, q, epsabs=1e-15, epsrel=1e-13, limit=400)[0]
                   for p, q in zip(cuts[:-1], cuts[1:]))

    return smoothed_inversion(c1, psi, spec.sigma_b, n, h, f)


@pytest.mark.slow
@pytest.mark.parametrize("prior, n, wide, points", [("laplace", 2, 120.0, 1601), ("uniform", 3, 25.0, 801)])
def test_normalised_with_the_exact_covariance_and_the_1d_marginal(prior, n, wide, points):
    """On a window of ±`wide` standard deviations (laplace: tails e^{−2√(|f|/λ_aλ_h)}, so wide): mass 1,
    covariance = G2 + the smoothing (G2 by nested quadrature), and the marginal of f(x₂) = an independent 1-D
    inversion convolved with the same Gaussian. Measured: |mass − 1| ≤ 3e-9 (= the clipped negative ringing),
    the off-diagonal second moment to 2e-8 of G2 (the diagonal ones to 2e-5 (laplace) and 1e-7 (uniform): the
    ringing clipped out at |f| ~ 100 sd), the marginal to 1e-8 of its peak."""
    spec = NetworkSpec(activation="relu", width=n, prior=prior, sigma_w=SW, sigma_b=SB)
    x = (1.0, -0.5)
    g2 = np.array([[_g2(spec, (x[i], x[j])) for j in range(2)] for i in range(2)])
    d = joint_density(spec, *x, half_range=wide * np.sqrt(np.diag(g2)), points=points)
    np.testing.assert_allclose(d.cov, g2, rtol=1e-12)
    cell = (d.f1[1] - d.f1[0]) * (d.f2[1] - d.f2[0])
    f1, f2 = np.meshgrid(d.f1, d.f2, indexing="ij")
    assert d.p.sum() * cell == pytest.approx(1.0, abs=1e-8)
    got = np.array([[(d.p * f1 * f1).sum(), (d.p * f1 * f2).sum()],
                    [(d.p * f1 * f2).sum(), (d.p * f2 * f2).sum()]]) * cell
    want = g2 + np.diag(np.square(d.smooth))
    assert got[0, 1] == pytest.approx(want[0, 1], abs=1e-7 * g2.max())
    # What clipping the ringing (and the mass lost to the tails) can move a second moment by, at most:
    moved = (d.clipped_mass + abs(1 - d.p.sum() * cell)) * max(d.f1[-1], d.f2[-1]) ** 2
    np.testing.assert_allclose(np.diag(got), np.diag(want), rtol=0, atol=moved + 1e-9 * g2.max())
    marg = d.p.sum(axis=0) * (d.f1[1] - d.f1[0])
    keep = slice(points // 2 - 200, points // 2 + 201, 20)    # the bulk, ±25 grid steps·8
    want = smoothed_marginal(spec, x[1], d.smooth[1], d.f2[keep])
    np.testing.assert_allclose(marg[keep], want, rtol=0, atol=1e-7 * marg.max())


@pytest.mark.slow
@pytest.mark.parametrize("prior, n, x", [("laplace", 2, (1.0, -0.5)), ("uniform", 3, (1.0, 0.3)),
                                         ("laplace", 1, (1.0, 0.3)), ("uniform", 2, (0.0, 1.0))])
def test_against_a_million_networks_chi_square_and_diagonal_mass(prior, n, x):
    """χ² of the binned law of (f₁ + ε₁, f₂ + ε₂) (measured p = 0.16, 0.26, 0.60, 0.07 in this order), and the
    diagonal mass P₀₀^N against the sampled fraction of f₁ == f₂ (every neuron off at both points; 4 binomial SE;
    measured within 1 SE)."""
    spec = NetworkSpec(activation="relu", width=n, prior=prior, sigma_w=SW, sigma_b=SB)
    assert chi_square_p(spec, x, 10**6) > 1e-4
    m = 10**6
    f = sample_outputs(spec, list(x), SampleSettings(ensemble=m, seed=7, dtype="float64"))
    pm = joint_density(spec, *x).diagonal_mass
    assert abs((f[:, 0] == f[:, 1]).mean() - pm) < 4 * math.sqrt(pm * (1 - pm) / m)


@pytest.mark.parametrize("prior", ["laplace", "uniform"])
def test_large_width_is_the_nngp_gaussian_plus_the_readout_bias(prior):
    """At N → ∞ the neurons' sum is Gaussian (covariance G2 − σ_b²) while the readout bias c keeps its prior:
    the density is that Gaussian (plus the smoothing) averaged over c along the diagonal, here by composite
    Gauss–Legendre over c split at the prior's kink (laplace, 0) or support (uniform, ±√3σ_b)."""
    sb = 0.3
    spec = NetworkSpec(activation="relu", width=100_000, prior=prior, sigma_w=1.5, sigma_b=sb)
    d = joint_density(spec, 0.8, -0.4)
    c = d.cov - sb**2 + np.diag(np.square(d.smooth))
    ci = np.linalg.inv(c)
    if prior == "laplace":
        lam = sb / math.sqrt(2)
        edges, pdf = np.linspace(-40 * lam, 40 * lam, 161), lambda u: np.exp(-np.abs(u) / lam) / (2 * lam)
    else:
        h = math.sqrt(3) * sb
        edges, pdf = np.linspace(-h, h, 81), lambda u: np.full_like(u, 1 / (2 * h))
    g, gw = np.polynomial.legendre.leggauss(20)
    half = 0.5 * np.diff(edges)
    u = ((0.5 * (edges[1:] + edges[:-1]))[:, None] + half[:, None] * g).ravel()
    wu = (half[:, None] * gw).ravel() * pdf(u)
    f1, f2 = np.meshgrid(d.f1, d.f2, indexing="ij")
    want = np.zeros_like(d.p)
    for ui, wi in zip(u, wu):
        a, b = f1 - ui, f2 - ui
        want += wi * np.exp(-0.5 * (ci[0, 0] * a * a + 2 * ci[0, 1] * a * b + ci[1, 1] * b * b))
    want /= 2 * math.pi * math.sqrt(np.linalg.det(c))
    # The 1/N correction: relative size ~ excess kurtosis ≲ 30/N of the peak.
    assert np.abs(d.p - want).max() < 1e-3 * want.max()
    assert np.abs(d.p - want).max() > 0 and d.diagonal_mass == 0.0


def test_cli_theory_joint_density_for_relu_under_laplace(capsys):
    assert main(["theory", "--activation", "relu", "--prior", "laplace", "--width", "2", "--sigma-w", "1.5",
                 "--x", "1,-0.5", "--joint-density"]) == 0
    out = json.loads(capsys.readouterr().out)["joint_density"]
    p = np.array(out["p"])
    assert p.shape == (len(out["f1"]), len(out["f2"])) and np.all(p >= 0)
    cf = ReluConeCF("laplace", (1.0, -0.5), 1.5, NetworkSpec().sigma_b, 1.5 / math.sqrt(2))
    assert out["diagonal_mass"] == pytest.approx(cf.p00**2, rel=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize("prior", ["gaussian", "uniform", "laplace", "student-t"])
def test_relu_without_biases_joint_density_against_sampled_networks(prior):
    """σ_b = 0, x₁x₂ < 0 (refused before: "(z(x₁), z(x₂)) is degenerate"): each neuron is active at exactly one
    point, so C(t) = ½χ(s₁t₁) + ½χ(s₂t₂) with the 1-D χ in closed form, and the smoothed law (ridges on both
    axes, weight 2^{−N}) inverts by the same FFT. χ² of its box expectations against 10⁶ sampled networks plus
    the same noise; the f(x₁) marginal against the smoothed 1-D exact density (atom included)."""
    from nnqft_engine.theory.density import output_density
    spec = NetworkSpec(activation="relu", width=2, prior=prior, sigma_w=1.5, sigma_b=0.0)
    x = (1.0, -0.5)
    assert chi_square_p(spec, x, 10**6) > 1e-4
    j = joint_density(spec, *x, points=801, span_sd=40)
    assert j.axis_mass == 0.25 and j.diagonal_mass == 0.0
    d = output_density(spec, x[0])
    h = j.smooth[0]
    kernel = np.exp(-0.5 * ((j.f1[:, None] - d.f[None, :]) / h) ** 2) / (math.sqrt(2 * math.pi) * h)
    want = kernel @ (d.p * np.gradient(d.f)) + d.atom_weight * np.exp(-0.5 * (j.f1 / h) ** 2) / (math.sqrt(2 * math.pi) * h)
    marginal = j.p.sum(axis=1) * (j.f2[1] - j.f2[0])
    # the 1-D side is smoothed here by a sum over its own grid (spacing ~h/5 at the log spike): ~1e-4 of the peak
    np.testing.assert_allclose(marginal, want, rtol=0, atol=2e-4 * want.max())


def test_relu_without_biases_on_one_side_of_zero_has_no_joint_density():
    spec = NetworkSpec(activation="relu", width=2, sigma_w=1.5, sigma_b=0.0)
    for x in ((1.0, 0.5), (0.0, -1.0)):
        with pytest.raises(SpecError, match="sits on a line"):
            joint_density(spec, *x)
