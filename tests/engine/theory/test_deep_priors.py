"""Deep 1/N theory with non-Gaussian priors (nnqft_engine.theory.deep_priors, docs/physics.md §8.1) against the
exact depth-1 theory, exact finite-N moments of deep linear and cos networks, and what it refuses."""
import math

import numpy as np
import pytest

from nnqft_engine.priors import moment
from nnqft_engine.spec import NetworkSpec, SpecError
from nnqft_engine.theory import deep_priors
from nnqft_engine.theory.deep import deep_correlators, recursion
from nnqft_engine.theory.finite_width import exact_correlators

pytestmark = pytest.mark.usefixtures("one_torch_thread")   # small autograd tiles: 2 threads only spin-wait

X = [-1.5, -0.3, 0.4, 2.0]
PRIORS = ["laplace", "uniform", "rademacher", "student-t"]


def _assemble(st, n):
    g2 = np.diag(st.k_diag + st.k1_diag / n)
    g4 = np.diag(3 * st.v_diag / n + st.g4c_const)
    g2[st.ia, st.ib] = g2[st.ib, st.ia] = st.k_pair[:, 1] + st.k1_pair[:, 1] / n
    g4[st.ia, st.ib] = g4[st.ib, st.ia] = (st.v_pair[:, 0, 2] + 2 * st.v_pair[:, 1, 1]) / n + st.g4c_const
    return g2, g4


@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("act", ["tanh", "relu", "sin"])
def test_depth_1_recursion_is_the_exact_theory(prior, act):
    """At depth 1 the readout's vertex plus its κ₄ term and the bias cumulant are §4.1 exactly (same moments)."""
    spec = NetworkSpec(depth=1, width=7, activation=act, sigma_w=1.3, sigma_b=0.4, prior=prior)
    g2, g4 = _assemble(recursion(spec, X), 7)
    ex = exact_correlators(spec, X)
    assert np.allclose(g2, ex.g2, rtol=0, atol=1e-14 * np.abs(ex.g2).max())
    assert np.allclose(g4, ex.g4c_pair, rtol=0, atol=1e-14 * np.abs(ex.g4c_pair).max())


@pytest.mark.parametrize("act", ["erf", "relu"])
def test_gaussian_prior_through_the_prior_module_is_the_gaussian_recursion(act):
    """deep_priors with the gaussian prior (exact first-layer integrals, κ₄ = 0) equals deep.py's recursion up to
    the two routes' first-layer quadrature (~1e-9 for erf, measured; relu: closed forms on both routes)."""
    spec = NetworkSpec(depth=3, width=9, activation=act, sigma_w=1.3, sigma_b=0.4)
    a, b = _assemble(recursion(spec, X), 9), _assemble(deep_priors.recursion(spec, X), 9)
    for u, v in zip(a, b):
        assert np.allclose(u, v, rtol=0, atol=1e-8 * np.abs(u).max())


# ---- deep linear network, one point: exact moments by counting pairings ----------------------------------------

def _linear_depth2_exact(prior, sw, sb, x, n):
    """G2 and G4c of f = W³φ(W²φ(W¹x + b¹) + b²) + b³ with φ = id, exact at width n (d = 1): every sum of
    independent standardized draws has E[(Σ cᵢαᵢ)⁴] = μ₄Σcᵢ⁴ + 3Σ_{i≠j}cᵢ²cⱼ², and two layer-2 neurons share
    layer 1: E[g_i² g_k²] = (σ_w⁴/n²)Σ_{j,l}E[a_j²a_l²]."""
    mu4 = moment(prior, 4)
    k1 = sw**2 * x**2 + sb**2
    a4 = sw**4 * x**4 * mu4 + 6 * sw**2 * x**2 * sb**2 + sb**4 * mu4          # E[z¹⁴]
    eg2 = sw**2 * k1
    eg4 = sw**4 / n**2 * (n * mu4 * a4 + 3 * n * (n - 1) * k1**2)
    eg22 = sw**4 / n**2 * (n * a4 + n * (n - 1) * k1**2)
    ez2, ez4 = eg2 + sb**2, eg4 + 6 * sb**2 * eg2 + sb**4 * mu4
    ez22 = eg22 + 2 * sb**2 * eg2 + sb**4
    ef2 = sw**2 * ez2 + sb**2
    ef4 = sw**4 / n**2 * (n * mu4 * ez4 + 3 * n * (n - 1) * ez22) + 6 * sb**2 * sw**2 * ez2 + sb**4 * mu4
    return ef2, ef4 - 3 * ef2**2


@pytest.mark.parametrize("prior", PRIORS)
def test_deep_linear_network_against_its_exact_moments(prior):
    """Linear φ at depth 2: G2 exact, and G4c − theory = O(1/N²) (N²·difference the same at N = 10³, 10⁴ to
    O(1/N)); the O(1) readout-bias term κ₄σ_b⁴ is part of both."""
    sw, sb, x = 1.1, 0.6, 0.8
    second = []
    for n in (1000, 10000):
        th = deep_correlators(NetworkSpec(depth=2, width=n, activation="linear", sigma_w=sw, sigma_b=sb,
                                          prior=prior), [x])
        g2, g4 = _linear_depth2_exact(prior, sw, sb, x, n)
        assert th.g2[0, 0] == pytest.approx(g2, rel=1e-13)
        second.append(n**2 * (g4 - th.g4c_diag[0]))
    assert second[0] == pytest.approx(second[1], rel=0.02)


# ---- cos network at depth 2: exact 1/N coefficients from the prior's characteristic function -------------------

def _cf(prior, t):
    t = np.asarray(t, dtype=float)
    if prior == "gaussian":
        return np.exp(-t * t / 2)
    if prior == "uniform":
        a = math.sqrt(3) * t
        return np.where(a == 0, 1.0, np.sin(a) / np.where(a == 0, 1.0, a))
    if prior == "laplace":
        return 1 / (1 + t * t / 2)
    if prior == "rademacher":
        return np.cos(t)
    raise ValueError(prior)


def _cos_moment(prior, sw, sb, xs, powers):
    """E[Π cos(σ_w x_k ω + σ_b β)^{p_k}] over the first layer, exactly: expand each cos into e^{±iz}."""
    total = 0.0
    grids = np.meshgrid(*[np.arange(p + 1) for p in powers], indexing="ij")
    for js in zip(*(g.ravel() for g in grids)):
        freqs = [2 * j - p for j, p in zip(js, powers)]
        coef = np.prod([math.comb(p, j) / 2**p for j, p in zip(js, powers)])
        total += coef * _cf(prior, sw * sum(f * x for f, x in zip(freqs, xs))) * _cf(prior, sb * sum(freqs))
    return float(total)


def _poly_moment(prior, sw, sb, xs, coeffs, power):
    """E[(Σ c_k cos z_k)^power] for two points, by the binomial expansion."""
    (ca, cb), (xa, xb) = coeffs, xs
    return sum(math.comb(power, m) * ca**m * cb ** (power - m) * _cos_moment(prior, sw, sb, (xa, xb), (m, power - m))
               for m in range(power + 1))


def _power_n(mu4, y2, y4, s, square=False):
    """(E[c(sY/√N)])^N = e^{−a}(1 + (b − a²/2)/N) + O(1/N²) with c = cf (c(u) = 1 − u²/2 + μ₄u⁴/24 + …) or
    cf² (1 − u² + (1/4 + μ₄/12)u⁴ + …): returns (e^{−a}, e^{−a}(b − a²/2))."""
    a = (1.0 if square else 0.5) * s * s * y2
    b = ((0.25 + mu4 / 12) if square else mu4 / 24) * s**4 * y4
    return math.exp(-a), math.exp(-a) * (b - a * a / 2)


def _cos_depth2_series(prior, sw, sb, xa, xb):
    """K, K₁ (pair), and K, K₁, N·G4c − κ₄σ_b⁴·N at N → ∞ (diagonal at xa) of a depth-2 cos network, exact.

    Given layer 1, a layer-2 pre-activation z = (σ_w/√N)Σⱼωⱼhⱼ + σ_bβ has E[e^{iz}] = cf(σ_b)Πⱼ cf(σ_w hⱼ/√N),
    and the hⱼ are i.i.d., so E cos(Σ k·z) = cf(σ_b Σk)·(E_h[cf(σ_w Σ k h/√N)])^N; expanding in 1/N gives the
    exact series (docs/physics.md §8.1 derives the same numbers by Price's theorem and the κ₄ vertex term)."""
    mu4 = moment(prior, 4)
    out = {}
    # Pair: cos z_a cos z_b = ½[cos(z_a − z_b) + cos(z_a + z_b)], Y = h_a ∓ h_b.
    terms = []
    for sign, bias in ((-1, 0.0), (1, 2 * sb)):
        y2 = _poly_moment(prior, sw, sb, (xa, xb), (1, sign), 2)
        y4 = _poly_moment(prior, sw, sb, (xa, xb), (1, sign), 4)
        e0, e1 = _power_n(mu4, y2, y4, sw)
        terms.append((_cf(prior, bias) * e0, _cf(prior, bias) * e1))
    out["k_pair"] = sb**2 + sw**2 * 0.5 * (terms[0][0] + terms[1][0])
    out["k1_pair"] = sw**2 * 0.5 * (terms[0][1] + terms[1][1])
    # Diagonal: cos²z = ½(1 + cos 2z), cos⁴z = (3 + 4cos 2z + cos 4z)/8.
    h2 = _cos_moment(prior, sw, sb, (xa,), (2,))
    h4 = _cos_moment(prior, sw, sb, (xa,), (4,))
    c2 = [_cf(prior, 2 * sb) * v for v in _power_n(mu4, h2, h4, 2 * sw)]
    c4 = _cf(prior, 4 * sb) * _power_n(mu4, h2, h4, 4 * sw)[0]
    p0, p1 = 0.5 * (1 + c2[0]), 0.5 * c2[1]                                  # E cos²z = p0 + p1/N
    phi4 = (3 + 4 * c2[0] + c4) / 8
    # Two layer-2 neurons: cos²z₁cos²z₂ = ¼[1 + cos2z₁ + cos2z₂ + ½cos(2z₁ − 2z₂) + ½cos(2z₁ + 2z₂)].
    cc = [_cf(prior, 2 * sb) ** 2 * v for v in _power_n(mu4, h2, h4, 2 * sw, square=True)]
    q0, q1 = 0.25 * (1 + 2 * c2[0] + cc[0]), 0.25 * (2 * c2[1] + cc[1])
    out["k_diag"], out["k1_diag"] = sb**2 + sw**2 * p0, sw**2 * p1
    # E f⁴ − 3(E f²)² = σ_w⁴[μ₄E φ⁴/N + 3(1 − 1/N)E φ₁²φ₂² − 3(E φ²)²] + κ₄σ_b⁴.
    out["n_g4c_diag"] = sw**4 * (mu4 * phi4 + 3 * q1 - 3 * q0 - 6 * p0 * p1)
    assert q0 == pytest.approx(p0 * p0, rel=1e-14)                           # independent at N = ∞
    return out


@pytest.mark.parametrize("prior", ["gaussian", "laplace", "uniform", "rademacher"])
def test_cos_depth_2_against_its_exact_1_over_n_series(prior):
    """The non-Gaussian first layer, hidden-bias mixture and both κ₄ terms, against a derivation that shares
    none of their steps (characteristic functions instead of Price's theorem)."""
    sw, sb, xa, xb, n = 1.2, 0.5, 0.7, -0.4, 10
    ref = _cos_depth2_series(prior, sw, sb, xa, xb)
    spec = NetworkSpec(depth=2, width=n, activation="cos", sigma_w=sw, sigma_b=sb, prior=prior)
    st = recursion(spec, [xa, xb])
    assert st.k_pair[0, 1] == pytest.approx(ref["k_pair"], rel=1e-12)
    assert st.k1_pair[0, 1] == pytest.approx(ref["k1_pair"], rel=1e-9, abs=1e-12)
    assert st.k_diag[0] == pytest.approx(ref["k_diag"], rel=1e-12)
    assert st.k1_diag[0] == pytest.approx(ref["k1_diag"], rel=1e-9, abs=1e-12)
    assert 3 * st.v_diag[0] == pytest.approx(ref["n_g4c_diag"], rel=1e-9)
    assert st.g4c_const == pytest.approx((moment(prior, 4) - 3) * sb**4, rel=1e-15, abs=1e-16)


def test_the_hidden_weight_kurtosis_term_is_needed():
    """σ_b = 0 isolates the weights: without the (κ₄σ_w⁴/3)·P term K₁ would miss the exact series."""
    sw, xa, xb = 1.2, 0.7, -0.4
    ref = _cos_depth2_series("laplace", sw, 0.0, xa, xb)
    spec = NetworkSpec(depth=2, width=10, activation="cos", sigma_w=sw, sigma_b=0.0, prior="laplace")
    st = recursion(spec, [xa, xb])
    gauss = recursion(spec.replace(prior="gaussian"), [xa, xb])
    assert st.k1_pair[0, 1] == pytest.approx(ref["k1_pair"], rel=1e-9)
    assert abs(gauss.k1_pair[0, 1] - ref["k1_pair"]) > 0.05 * abs(ref["k1_pair"])


# ---- what is not covered --------------------------------------------------------------------------------------

@pytest.mark.parametrize("prior", ["uniform", "rademacher", "student-t"])
def test_relu_with_a_shifted_kink_is_refused(prior):
    spec = NetworkSpec(depth=2, width=8, activation="relu", sigma_b=0.2, prior=prior)
    with pytest.raises(SpecError, match="does not cover relu"):
        deep_correlators(spec, [0.5])
    assert np.isfinite(deep_correlators(spec.replace(sigma_b=0.0), [0.5]).g4c_diag).all()


def test_gauss_net_non_gaussian_deep_is_refused():
    with pytest.raises(SpecError, match="gauss-net"):
        deep_correlators(NetworkSpec(depth=2, width=8, activation="gauss-net", prior="laplace"), [0.5])


def test_the_readout_bias_cumulant_does_not_count_as_a_breakdown_of_the_expansion():
    """laplace, σ_b ≫ σ_w: G4c/G2² → κ₄ = 3 from the exact O(1) bias term alone, at any width."""
    th = deep_correlators(NetworkSpec(depth=2, width=10_000, activation="erf", sigma_w=0.2, sigma_b=1.0,
                                      prior="laplace"), [0.5])
    assert th.kurtosis[0] > 2.5 and not any("1/N expansion" in w for w in th.warnings)


def test_heavy_student_t_warns():
    th = deep_correlators(NetworkSpec(depth=2, width=8, activation="tanh", prior="student-t", prior_dof=5.0), [0.5])
    assert any("sixth moment is infinite" in w for w in th.warnings)
    th = deep_correlators(NetworkSpec(depth=2, width=8, activation="tanh", prior="student-t", prior_dof=9.0), [0.5])
    assert not any("sixth moment" in w for w in th.warnings)


# ---- sampled networks -----------------------------------------------------------------------------------------

def _linear_remainders(prior, sw, sb, x):
    """Size of the neglected orders in the deep linear network of the same prior and scales (depth 2), exact:
    m(N) = N·(G4c − κ₄σ_b⁴) = A + B/N + …; returns |B/A| and the relative Richardson residual
    |2m(16) − m(8) − A|/|A| (the C/N² term it leaves)."""
    const = (moment(prior, 4) - 3) * sb**4
    m = lambda n: n * (_linear_depth2_exact(prior, sw, sb, x, n)[1] - const)
    a = 2 * m(2e6) - m(1e6)
    return abs((m(1000) - a) * 1000 / a), abs(2 * m(16) - m(8) - a) / abs(a)


@pytest.mark.slow
@pytest.mark.parametrize("act,prior,sw,sb,ensembles", [
    ("tanh", "laplace", 1.5, 0.3, (2_000_000, 2_000_000)),
    ("erf", "uniform", 1.3, 0.6, (1_000_000, 1_000_000)),
    ("relu", "laplace", 1.4, 0.2, (2_000_000, 2_000_000)),
])
def test_depth_2_against_sampled_networks(one_torch_thread, act, prior, sw, sb, ensembles):
    """N·(G4c − κ₄σ_b⁴) (pair slice, upper triangle) and N·(G2 − K) measured at widths 8 and 16 against the
    leading order A. The remainder m(N) − A = B/N + C/N² is sized on the deep linear network of the same prior
    and scales (exact, `_linear_remainders`: laplace has |B/A| ≈ 5–6 at depth 2, the gaussian prior 1), three
    times larger for nonlinear φ as in test_deep_theory (relu measured B/A ≈ 2.5 × linear's there):
    - each width:   |m(N) − A| ≤ 4σ + 3·max(|B/A|, 1)·|A|/N   (1: the gaussian prior's L − 1)
    - Richardson 2m(16) − m(8) (cancels B):   |… − A| ≤ 4σ_R + 3·max(residual, 1/128)·|A|.
    σ: jackknife standard errors of `measure`; σ_R = √(4σ₁₆² + σ₈²).
    relu × laplace's kernel shift is checked at each width only: its O(1/N²) term is large (laplace's
    μ₈ = 2520 against the gaussian 105 enters through E[h⁸] of the first layer), measured N·(G2 − K) at
    (−1, 0.5) = −0.85, −1.08, −1.20, −1.41 (±0.01 … ±0.05) at N = 8, 16, 32, 64 against A = −1.72: the
    Richardson estimate reaches A (−1.62 ± 0.11) only from N = 32, 64 (19 min of sampling, not run here)."""
    from nnqft_engine.sampling.measure import measure, run_to_completion
    from nnqft_engine.spec import SampleSettings

    x = [-1.0, 0.5]
    iu = np.triu_indices(2)
    ratio, resid = _linear_remainders(prior, sw, sb, 1.0)
    ratio = max(ratio, 1.0)
    got = {}
    for n, ens in zip((8, 16), ensembles):
        spec = NetworkSpec(depth=2, width=n, activation=act, sigma_w=sw, sigma_b=sb, prior=prior)
        th = deep_correlators(spec, x)
        const = (moment(prior, 4) - 3) * sb**4
        est = run_to_completion(measure(spec, x, SampleSettings(ensemble=ens, seed=100 + n, device="cpu",
                                                                dtype="float32")))
        for key, meas, err, theory in (
                ("g4c", n * (est.g4c_pair - const)[iu], n * est.g4c_pair_err[iu], n * (th.g4c_pair - const)[iu]),
                ("shift", n * (est.g2 - th.nngp)[iu], n * est.g2_err[iu], n * (th.g2 - th.nngp)[iu])):
            got.setdefault(key, []).append((meas, err, theory))
            scale = np.abs(theory) if key == "g4c" else np.abs(theory).max()
            assert np.all(np.abs(meas - theory) <= 4 * err + 3 * ratio * scale / n + 1e-12), (key, n, meas, err,
                                                                                           theory)
    for key, ((m8, e8, a), (m16, e16, _)) in got.items():
        if key == "shift" and (act, prior) == ("relu", "laplace"):
            continue
        rich, err = 2 * m16 - m8, np.sqrt(4 * e16**2 + e8**2)
        scale = np.abs(a) if key == "g4c" else np.abs(a).max()
        assert np.all(np.abs(rich - a) <= 4 * err + 3 * max(resid, 1 / 128) * scale + 1e-12), (key, rich, err, a)


# ---- CLI and app ---------------------------------------------------------------------------------------------

def test_cli_theory_depth_2_with_a_non_gaussian_prior(capsys):
    import json

    from nnqft_engine.cli.main import main

    assert main(["theory", "--depth", "2", "--prior", "laplace", "--activation", "tanh", "--width", "16",
                 "--x=0.5,1.0"]) == 0
    data = json.loads(capsys.readouterr().out)
    th = deep_correlators(NetworkSpec(depth=2, width=16, activation="tanh", prior="laplace"), [0.5, 1.0])
    assert data["order"] == "1/N" and np.allclose(data["g4c_pair"], th.g4c_pair, rtol=1e-14)
    assert main(["theory", "--depth", "2", "--prior", "uniform", "--activation", "relu", "--x=0.5"]) == 2
    err = capsys.readouterr().err
    assert "does not cover relu with the uniform prior" in err and "Traceback" not in err


def test_app_deep_row_matches_the_engine_and_refuses_in_words():
    from app.theory import finite_width_theory

    x = np.array([-1.0, 0.3, 1.2])
    spec = NetworkSpec(depth=2, width=12, activation="erf", sigma_b=0.5, prior="rademacher")
    row, reason = finite_width_theory(spec, x)
    th = deep_correlators(spec, x)
    assert reason == "" and np.allclose(row.g4c_pair[0], th.g4c_pair[0], rtol=1e-13)
    assert np.allclose(row.g2[0], th.g2[0], rtol=1e-13) and np.allclose(row.kurtosis, th.kurtosis, rtol=1e-13)
    row, reason = finite_width_theory(spec.replace(activation="relu"), x)
    assert row is None and "does not cover relu" in reason
