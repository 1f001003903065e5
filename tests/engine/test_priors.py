"""nnqft_engine.priors: samplers, moments, kurtosis, mgf and quadrature rules against closed forms."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate, special

from nnqft_engine.priors import kurtosis, mgf, moment, quadrature_rule, sample_standardized
from nnqft_engine.spec import PRIORS

CLOSED_MU4 = {"gaussian": 3.0, "uniform": 9.0 / 5.0, "laplace": 6.0, "rademacher": 1.0}


def density(prior: str, dof: float = 6.0):
    """Density of the standardized variable (None for the discrete rademacher)."""
    if prior == "gaussian":
        return lambda x: math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    if prior == "uniform":
        return lambda x: 1 / (2 * math.sqrt(3)) if abs(x) <= math.sqrt(3) else 0.0
    if prior == "laplace":
        b = math.sqrt(0.5)
        return lambda x: math.exp(-abs(x) / b) / (2 * b)
    if prior == "student-t":
        s = math.sqrt((dof - 2) / dof)  # x = s·t, t ~ Student-t(dof)
        norm = math.exp(special.gammaln((dof + 1) / 2) - special.gammaln(dof / 2)) / math.sqrt(dof * math.pi)
        return lambda x: norm * (1 + (x / s) ** 2 / dof) ** (-(dof + 1) / 2) / s
    return None


@pytest.mark.parametrize("dof", [4.5, 6.0, 10.0, 30.0])
def test_kurtosis_closed_forms(dof):
    for prior, mu4 in CLOSED_MU4.items():
        assert kurtosis(prior, dof) == mu4
        assert moment(prior, 4, dof) == pytest.approx(mu4, rel=1e-14)
    assert kurtosis("student-t", dof) == pytest.approx(3 * (dof - 2) / (dof - 4), rel=1e-14)
    assert moment("student-t", 4, dof) == pytest.approx(3 * (dof - 2) / (dof - 4), rel=1e-12)
    # E[t^6] of the standardized t: 15 (ν−2)² / ((ν−4)(ν−6)) for ν > 6, infinite otherwise.
    want6 = 15 * (dof - 2) ** 2 / ((dof - 4) * (dof - 6)) if dof > 6 else math.inf
    assert moment("student-t", 6, dof) == pytest.approx(want6, rel=1e-12)
    with pytest.raises(ValueError):
        kurtosis("cauchy")


@pytest.mark.parametrize("prior", PRIORS)
def test_moments_against_integration_of_the_density(prior):
    dof = 9.0
    for k in (0, 1, 2, 3, 4, 6, 8):
        want = moment(prior, k, dof)
        if prior == "rademacher":
            assert want == (1.0 if k % 2 == 0 else 0.0)
            continue
        pdf = density(prior, dof)
        if math.isinf(want):
            assert k >= dof
            continue
        lim = math.sqrt(3) if prior == "uniform" else math.inf
        got = integrate.quad(lambda x: x**k * pdf(x), -lim, lim, epsabs=1e-13, epsrel=1e-11, limit=200)[0]
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (k, got, want)
    # Quadrature rules reproduce the same moments (Gauss rules exactly; student-t's sinh-sinh rule to ~1e-12 for
    # moments well below ν: its truncation at t_max = 10^{24/(ν−4)} is sized for the fourth moment, so
    # E[t⁸] at ν = 9 is off by 7e-5, E[t⁶] at ν = 6.5 by 2e-5).
    x, w = quadrature_rule(prior, 80, dof)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    for k in (2, 4, 6) if prior == "student-t" else (2, 4, 6, 8):
        assert w @ x**k == pytest.approx(moment(prior, k, dof), rel=1e-10), k


@pytest.mark.parametrize("dof", [4.5, 5.0, 6.0, 30.0])  # at ν = 100: 4e-10 (docstring: ~1e-14)
def test_student_t_rule_fourth_moment(dof):
    x, w = quadrature_rule("student-t", 80, dof)
    assert w @ x**2 == pytest.approx(1.0, rel=1e-11)
    assert w @ x**4 == pytest.approx(3 * (dof - 2) / (dof - 4), rel=1e-10)


@pytest.mark.parametrize("prior", ["gaussian", "uniform", "laplace", "rademacher"])
def test_mgf_against_integration(prior):
    ts = np.array([0.0, 0.3, -0.8, 1.2])
    got = mgf(prior, ts)
    for t, g in zip(ts, got):
        if prior == "rademacher":
            want = math.cosh(t)
        else:
            pdf = density(prior)
            # Finite limits (the integrand is < e^{−40} of its peak beyond them; exp overflows at ±∞).
            lim = {"uniform": math.sqrt(3), "gaussian": 40.0, "laplace": 400.0}[prior]
            want = sum(integrate.quad(lambda x: math.exp(t * x) * pdf(x), lo, hi, epsabs=1e-14, epsrel=1e-12,
                                      limit=200)[0] for lo, hi in ((-lim, 0.0), (0.0, lim)))
        assert g == pytest.approx(want, rel=1e-9), (t, g, want)
    if prior == "laplace":  # diverges for |t| ≥ 1/b = √2
        assert np.all(np.isinf(mgf("laplace", np.array([1.5, -2.0]))))
    st = mgf("student-t", np.array([0.0, 0.1]))
    assert st[0] == 1.0 and np.isinf(st[1])


@pytest.mark.parametrize("prior", PRIORS)
def test_sampler_moments_within_four_standard_errors(prior):
    """n = 400 000 float64 draws: the sample mean, variance and fourth moment agree with 0, 1 and μ₄ within
    4 SE, with SE² = (E[α^{2k}] − E[α^k]²)/n from the exact moments (ν = 9 so E[α⁸] exists for student-t)."""
    dof, n = 9.0, 400_000
    gen = torch.Generator().manual_seed(20240501)
    a = sample_standardized(prior, (n,), gen, dtype=torch.float64, dof=dof).numpy()
    assert a.shape == (n,) and a.dtype == np.float64 and np.all(np.isfinite(a))
    for k in (1, 2, 3, 4):
        mk, m2k = moment(prior, k, dof), moment(prior, 2 * k, dof)
        se = math.sqrt((m2k - mk**2) / n)
        got = np.mean(a**k)
        if se == 0:  # rademacher: α² = α⁴ = 1 exactly
            assert got == mk
        else:
            assert abs(got - mk) < 4 * se, (k, got, mk, se)
    if prior == "rademacher":
        assert set(np.unique(a)) == {-1.0, 1.0}
    if prior == "uniform":
        assert a.min() >= -math.sqrt(3) and a.max() <= math.sqrt(3)


@pytest.mark.parametrize("prior", PRIORS)
def test_sampler_is_deterministic_per_generator_seed(prior):
    draw = lambda seed: sample_standardized(prior, (3, 1000), torch.Generator().manual_seed(seed))  # noqa: E731
    a, b, c = draw(7), draw(7), draw(8)
    assert a.shape == (3, 1000) and a.dtype == torch.float32
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    # The global RNG is neither used nor disturbed.
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    draw(7)
    assert torch.equal(torch.rand(1), before)


def test_unknown_prior_raises():
    gen = torch.Generator().manual_seed(0)
    for call in (lambda: sample_standardized("cauchy", (2,), gen), lambda: moment("cauchy", 2),
                 lambda: mgf("cauchy", 0.0), lambda: quadrature_rule("cauchy")):
        with pytest.raises(ValueError):
            call()
