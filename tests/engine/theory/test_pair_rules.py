"""Pole-aware trapezoid rules (theory/pair_rules.py) and basis moments (theory/basis_moments.py) of
the deep recursion's pair expectations (docs/physics.md §8.2), against independent quadrature."""
import math

import numpy as np
import pytest
from scipy import integrate, special

from nnqft_engine.activations import get_activation
from nnqft_engine.spec import NetworkSpec
from nnqft_engine.theory import gauss_moments as gm
from nnqft_engine.theory import basis_moments, pair_rules
from nnqft_engine.theory.deep import deep_correlators

SMOOTH = ("tanh", "sigmoid", "gelu", "silu", "softplus")
# Each 1-D rule is built to err by at most e^{−LOG_TOL} per unit of the integrand's size; the tensor rule
# adds its two directions' errors.
TOL = 2 * math.exp(-pair_rules.LOG_TOL)
GH_NODES = 800


def _gauss_hermite_reference(act, k11, k22, k12, monkeypatch, nodes=GH_NODES):
    """The same expectations on an 800 × 800 Gauss–Hermite tensor rule with φ⁽ᵐ⁾ evaluated directly, an
    independent rule. Its error for φ with poles at distance d (in z) is ~e^{−2d√(2n)}: d ≥ π/(2·2.1) at
    variances ≤ 4.5 gives < 1e-13 (measured: 400 nodes leave 6e-10 at ρ → 1, k = 3.9; 600 8e-13)."""
    with monkeypatch.context() as m:
        m.setattr(pair_rules, "supported", lambda name: False)
        m.setattr(basis_moments, "supported", lambda name: False)
        m.setattr(gm, "_nodes", lambda act, k: nodes)
        return gm._pair_quadrature(act, k11, k22, k12, derivs=True)


@pytest.mark.parametrize("name", ["tanh"] + [pytest.param(n, marks=pytest.mark.slow) for n in SMOOTH[1:]])
def test_trapezoid_pair_moments_against_high_order_gauss_hermite(name, monkeypatch):
    rng = np.random.default_rng(7)
    k11, k22 = np.exp(rng.uniform(np.log(0.02), np.log(4.0), (2, 6)))
    rho = np.concatenate([[1 - 1e-9, -(1 - 1e-9), 0.0, 0.999], rng.uniform(-1, 1, 2)])
    k12 = rho * np.sqrt(k11 * k22)
    act = get_activation(name)
    got = gm._pair_quadrature(act, k11, k22, k12, derivs=True)
    ref = _gauss_hermite_reference(act, k11, k22, k12, monkeypatch)
    for key, r in ref.items():
        assert np.all(np.abs(got[key] - r) <= TOL * np.maximum(1.0, np.abs(r))), (name, key)


_PHI = {  # φ and φ″ written out independently of gauss_moments
    "tanh": (np.tanh, lambda u: -2 * np.tanh(u) / np.cosh(u) ** 2),
    "gelu": (lambda u: u * special.ndtr(u), lambda u: (2 - u * u) * np.exp(-u * u / 2) / math.sqrt(2 * math.pi)),
}


@pytest.mark.parametrize("name", sorted(_PHI))
def test_trapezoid_pair_moments_against_nested_adaptive_quadrature(name):
    """⟨φ″(u)φ″(v)⟩ and ⟨φ(u)²φ(v)²⟩ at ρ = 0.95, k = (2.5, 0.8) by scipy's adaptive dblquad."""
    k11, k22 = 2.5, 0.8
    k12 = 0.95 * math.sqrt(k11 * k22)
    sa = math.sqrt(k11)
    c1 = k12 / sa
    c2 = math.sqrt(k22 - c1 * c1)
    phi, phi2 = _PHI[name]
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    def e(f, g):
        return integrate.dblquad(lambda z2, z1: f(sa * z1) * g(c1 * z1 + c2 * z2) * pdf(z1) * pdf(z2),
                                 -9, 9, -9, 9, epsabs=1e-13, epsrel=1e-12)[0]

    got = gm._pair_quadrature(get_activation(name), np.array([k11]), np.array([k22]), np.array([k12]), True)
    t22 = e(phi2, phi2)
    p22 = e(lambda u: phi(u) ** 2, lambda v: phi(v) ** 2)
    assert abs(got[("T", 2, 2)][0] - t22) <= TOL * max(1.0, abs(t22))
    assert abs(got[("P", 2, 2)][0] - p22) <= TOL * max(1.0, abs(p22))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tanh", "gelu", "silu"])
def test_deep_theory_on_trapezoid_rules_matches_gauss_hermite(name, monkeypatch):
    """The whole recursion (depth 3, chaotic σ_w so kernels reach k ≈ 4.5) on the new rules against the same
    recursion on 800-node Gauss–Hermite: G2 and G4c to 1e-9 relative."""
    spec = NetworkSpec(depth=3, width=50, activation=name, sigma_w=1.6, sigma_b=0.3)
    x = [-2.0, 0.1, 0.9]
    got = deep_correlators(spec, x)
    with monkeypatch.context() as m:
        m.setattr(pair_rules, "supported", lambda n: False)
        m.setattr(basis_moments, "supported", lambda n: False)
        m.setattr(gm, "_nodes", lambda act, k: GH_NODES)
        m.setattr(gm, "_diag_rules", lambda act, kf: [(np.arange(len(kf)), *gm.hermite_e_rule(GH_NODES))])
        ref = deep_correlators(spec, x)
    for key in ("g2", "g4c_pair", "nngp"):
        a, b = getattr(got, key), getattr(ref, key)
        assert np.allclose(a, b, rtol=0, atol=1e-9 * np.abs(b).max()), key


@pytest.mark.parametrize("name", SMOOTH)
def test_basis_reproduces_the_derivatives_and_powers(name):
    z = np.linspace(-6, 6, 101)
    phi = gm._closed_derivatives(name, z)
    b = basis_moments.basis(name)
    values = np.stack([np.array(np.broadcast_to(f, z.shape)) for f in b.functions(z.copy())], axis=-1)
    chain = values @ b.derivatives.T
    for m in range(5):
        assert np.allclose(chain[:, m], phi[m], rtol=0, atol=1e-12 * max(1.0, np.abs(phi[m]).max())), m
    for p, j in enumerate(b.powers, start=1):
        assert np.allclose(values[:, j], phi[0] ** p, rtol=1e-13, atol=1e-300), p


def test_basis_moments_match_direct_derivatives_on_the_same_rule(monkeypatch):
    """basis_moments.pair_block against the per-derivative evaluation (gauss_moments._pair_block) on the
    same trapezoid rules: only rounding may differ."""
    rng = np.random.default_rng(4)
    k11, k22 = np.exp(rng.uniform(-3, 1.4, (2, 12)))
    k12 = np.sqrt(k11 * k22) * np.concatenate([[1 - 1e-9, -1 + 1e-9], rng.uniform(-1, 1, 10)])
    for name in SMOOTH:
        act = get_activation(name)
        got = gm._pair_quadrature(act, k11, k22, k12, derivs=True)
        with monkeypatch.context() as m:
            m.setattr(basis_moments, "supported", lambda n: False)
            ref = gm._pair_quadrature(act, k11, k22, k12, derivs=True)
        for key, r in ref.items():
            assert np.allclose(got[key], r, rtol=0, atol=1e-13 * max(1.0, np.abs(r).max())), (name, key)


def test_rules_cover_every_pair_within_its_step_bound():
    rng = np.random.default_rng(1)
    s1, s2 = np.exp(rng.uniform(-6, 1.5, (2, 100)))
    s1[:2], s2[:2] = (0.0, 1e-12), (1e-12, 0.0)            # ρ = 1 pairs: c₂ = 0
    for name in SMOOTH:
        groups = pair_rules.grouped_rules(name, s1, s2)
        seen = np.concatenate([idx for idx, *_ in groups])
        assert np.array_equal(np.sort(seen), np.arange(100))
        for idx, *rules in groups:
            for (z, w), s in zip(rules, (s1[idx], s2[idx])):
                h = z[1] - z[0]
                assert np.all(h <= pair_rules.step_for(name, s) * (1 + 1e-12)) or len(z) == pair_rules._COUNTS[-1]
                assert z[-1] >= pair_rules.half_width(s).max() - 1e-9
                assert abs(w.sum() - 1) < 1e-13


@pytest.mark.parametrize("name", ["tanh", "gelu"])
def test_one_point_moments_against_adaptive_quadrature(name):
    """⟨φ²⟩, ⟨φ⁴⟩, ⟨φ′²⟩ at variances up to 30 (tanh's 320-node Gauss–Hermite left 2e-8 in ⟨φ²⟩ at k = 7)."""
    phi = _PHI[name][0]
    dphi = {"tanh": lambda u: 1 / np.cosh(u) ** 2,
            "gelu": lambda u: special.ndtr(u) + u * np.exp(-u * u / 2) / math.sqrt(2 * math.pi)}[name]
    k = np.array([0.01, 0.7, 3.0, 7.0, 12.0, 30.0])
    dm = gm.diag_moments(get_activation(name), k)
    for i, ki in enumerate(k):
        def e(f):
            g = lambda z: f(math.sqrt(ki) * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
            # split at 0, where tanh(√k z) turns fastest
            return sum(integrate.quad(g, a, b, epsabs=1e-14, epsrel=1e-13, limit=400)[0] for a, b in ((-12, 0), (0, 12)))
        for got, ref in ((dm.m[i], e(lambda u: phi(u) ** 2)), (dm.m4[i], e(lambda u: phi(u) ** 4)),
                         (dm.dphi2[i], e(lambda u: dphi(u) ** 2))):
            assert abs(got - ref) <= TOL * max(1.0, abs(ref)), (name, ki)


def test_erf_four_point_moments_on_entire_rules_against_gauss_hermite():
    """erf's ⟨erf(u)^a erf(v)^b⟩ (1-D integrals, Owen's T) on the grouped entire-function trapezoid rules against
    the same integrands on 600-node Gauss–Hermite (entire integrands: converged far below TOL)."""
    rng = np.random.default_rng(3)
    k11, k22 = rng.uniform(0.05, 8.0, (2, 30))
    k12 = np.sqrt(k11 * k22) * np.concatenate([[1 - 1e-9, -1 + 1e-9, 0.999], rng.uniform(-0.999, 0.999, 27)])
    got = gm._erf_powers(k11, k22, k12)
    ref = gm._erf_powers_on(k11, k22, k12, *gm.hermite_e_rule(600))
    for key, r in ref.items():
        assert np.all(np.abs(got[key] - r) <= TOL * np.maximum(1.0, np.abs(r))), key
