"""Deep 1/N theory (nnqft_engine.theory.deep, docs/physics.md §8) against exact results and sampled networks."""

import numpy as np
import pytest
from scipy import integrate, special

from nnqft_engine.spec import NetworkSpec, SampleSettings, SpecError
from nnqft_engine.theory.deep import deep_correlators, recursion
from nnqft_engine.theory.finite_width import exact_correlators

X = [-1.5, -0.3, 0.4, 2.0]


def _assemble(spec, x):
    """G2 and G4c_pair of the recursion itself (deep_correlators returns the exact theory at depth 1)."""
    st, n = recursion(spec, x), spec.width
    g2 = np.diag(st.k_diag + st.k1_diag / n)
    g4 = np.diag(3 * st.v_diag / n)
    g2[st.ia, st.ib] = g2[st.ib, st.ia] = st.k_pair[:, 1] + st.k1_pair[:, 1] / n
    g4[st.ia, st.ib] = g4[st.ib, st.ia] = (st.v_pair[:, 0, 2] + 2 * st.v_pair[:, 1, 1]) / n
    return g2, g4


@pytest.mark.parametrize("act", ["sin", "cos", "linear", "softplus", "silu", "gauss-net", "sigmoid", "relu", "gelu",
                                 "tanh"])
def test_recursion_at_depth_1_is_the_exact_theory(act):
    """At depth 1 V and K₁ of the readout are exact (V¹ = K₁¹ = 0): the recursion must reproduce §4."""
    spec = NetworkSpec(depth=1, width=7, activation=act, sigma_w=1.3, sigma_b=0.4)
    g2, g4 = _assemble(spec, X)
    ex = exact_correlators(spec, X)
    # relu, sigmoid, gelu: the exact theory's own first-layer quadrature limits agreement (~1e-10 … 1e-8).
    tol = {"relu": 3e-10, "sigmoid": 1e-9, "gelu": 3e-8}.get(act, 1e-10)
    assert np.allclose(g2, ex.g2, rtol=0, atol=tol * np.abs(ex.g2).max())
    assert np.allclose(g4, ex.g4c_pair, rtol=0, atol=tol * np.abs(ex.g4c_pair).max())


@pytest.mark.parametrize("act", ["erf", pytest.param("tanh", marks=pytest.mark.slow)])
def test_depth_1_against_adaptive_quadrature(act):
    """erf and tanh against scipy's adaptive 2-D quadrature over (w, b): erf, since exact_correlators' fixed
    first-layer rule was accurate to ~5e-4 relative only for this G4c; tanh, whose Gauss–Hermite ⟨φ²⟩ left
    2.4e-8 here before the pair rules (docs/physics.md §8.2)."""
    sw, sb, n, x = 1.3, 0.4, 7, [-1.5, 2.0]
    spec = NetworkSpec(depth=1, width=n, activation=act, sigma_w=sw, sigma_b=sb)
    phi = special.erf if act == "erf" else np.tanh

    def e(f):
        dens = lambda b, w: f(w, b) * np.exp(-w * w / (2 * sw * sw) - b * b / (2 * sb * sb)) / (2 * np.pi * sw * sb)
        return integrate.dblquad(dens, -12 * sw, 12 * sw, -12 * sb, 12 * sb, epsabs=1e-13, epsrel=1e-12)[0]

    h = lambda i: (lambda w, b: phi(w * x[i] + b))
    h11 = e(lambda w, b: h(0)(w, b) ** 2)
    h22 = e(lambda w, b: h(1)(w, b) ** 2)
    h12 = e(lambda w, b: h(0)(w, b) * h(1)(w, b))
    h1122 = e(lambda w, b: h(0)(w, b) ** 2 * h(1)(w, b) ** 2)
    ref = sw**4 / n * (3 * h1122 - h11 * h22 - 2 * h12**2)
    g2, g4 = _assemble(spec, x)
    assert g4[0, 1] == pytest.approx(ref, rel=1e-10)
    assert g2[0, 1] == pytest.approx(sb**2 + sw**2 * h12, rel=1e-10)


def test_depth_1_returns_the_exact_theory():
    spec = NetworkSpec(depth=1, width=5, activation="tanh", prior="laplace")
    th, ex = deep_correlators(spec, X), exact_correlators(spec, X)
    assert th.order == "exact"
    assert np.array_equal(th.g2, ex.g2) and np.array_equal(th.g4c_pair, ex.g4c_pair)


def _linear_exact(spec, x):
    """Exact finite-N E[Ĝ] and E[Ĝ⊗Ĝ] of a deep linear network on two points: given Ĝ, the next layer's
    N neurons are i.i.d. N(0, Ĝ), so E[Ĝ′_ab Ĝ′_cd | Ĝ] = σ_b⁴ + σ_b²σ_w²(Ĝ_ab + Ĝ_cd)
    + σ_w⁴[Ĝ_abĜ_cd + (Ĝ_acĜ_bd + Ĝ_adĜ_bc)/N] (Wishart), a closed linear map on the first two moments."""
    n, sw2, sb2 = spec.width, spec.sigma_w**2, spec.sigma_b**2
    idx = lambda a, b: 1 if a != b else 2 * a
    ab = [(0, 0), (0, 1), (1, 1)]
    x = np.asarray(x, dtype=float)
    k = sw2 * np.array([x[0] * x[0], x[0] * x[1], x[1] * x[1]]) + sb2
    m, s2 = k.copy(), np.outer(k, k)
    for _ in range(spec.depth):
        new_s2 = np.empty((3, 3))
        for u, (a, b) in enumerate(ab):
            for v, (c, d) in enumerate(ab):
                new_s2[u, v] = (sb2**2 + sb2 * sw2 * (m[u] + m[v])
                                + sw2**2 * (s2[u, v] + (s2[idx(a, c), idx(b, d)] + s2[idx(a, d), idx(b, c)]) / n))
        m, s2 = sb2 + sw2 * m, new_s2
    g4_pair = s2[0, 2] + 2 * s2[1, 1] - m[0] * m[2] - 2 * m[1] ** 2
    g4_diag = 3 * (s2[0, 0] - m[0] ** 2)
    return m, g4_pair, g4_diag


@pytest.mark.parametrize("depth", [2, 3])
def test_deep_linear_network_against_its_exact_finite_width_moments(depth):
    """Linear φ: G2 has no 1/N shift at any order, and G4c differs from the leading term by O(1/N²):
    N²·(G4c_exact − G4c_theory) must be the same at N = 10³ and 10⁴ (to O(1/N)) and G4c_exact at σ_b = 0
    must equal 3q²[(1 + 2/N)^L − 1] (chi-squared chain), a check of the exact reference itself."""
    x = [-0.7, 1.2]
    second = []
    for n in (1000, 10000):
        spec = NetworkSpec(depth=depth, width=n, activation="linear", sigma_w=1.1, sigma_b=0.3)
        th = deep_correlators(spec, x)
        m, g4p, g4d = _linear_exact(spec, x)
        assert th.order == "1/N"
        assert np.allclose(th.g2[np.triu_indices(2)], m, rtol=1e-13)
        assert th.g4c_pair[0, 1] == pytest.approx(g4p, rel=3 * depth / n)
        second.append(n**2 * np.array([g4p - th.g4c_pair[0, 1], g4d - th.g4c_diag[0]]))
    assert np.allclose(second[0], second[1], rtol=0.01)
    spec = NetworkSpec(depth=depth, width=20, activation="linear", sigma_w=1.1, sigma_b=0.0)
    q = 1.1 ** (2 * depth + 2) * 0.49
    assert _linear_exact(spec, x)[2] == pytest.approx(3 * q * q * ((1 + 2 / 20) ** depth - 1), rel=1e-12)
    assert deep_correlators(spec, x).g4c_diag[0] == pytest.approx(3 * q * q * 2 * depth / 20, rel=1e-12)


def _measured(spec, x, ensemble, seed):
    from nnqft_engine.sampling.measure import measure, run_to_completion

    settings = SampleSettings(ensemble=ensemble, seed=seed, device="cpu", dtype="float32")
    return run_to_completion(measure(spec, x, settings))


@pytest.mark.slow
@pytest.mark.parametrize("act,sw,sb,depth,ensembles", [
    ("tanh", 1.5, 0.3, 2, (1_000_000, 600_000)),
    ("tanh", 1.5, 0.3, 3, (600_000, 400_000)),
    ("erf", 1.3, 0.3, 2, (1_000_000, 600_000)),
    ("erf", 1.3, 0.3, 3, (600_000, 400_000)),
    ("relu", 1.4, 0.2, 2, (1_000_000, 600_000)),
    ("relu", 1.4, 0.2, 3, (600_000, 400_000)),
])
def test_recursion_against_sampled_networks(one_torch_thread, act, sw, sb, depth, ensembles):
    """N·G4c (diag and pair) and N·(G2 − K) measured at widths 8 and 16 against the leading-order theory A.

    Measured values obey m(N) = A + B/N + C/N² + …. Allowances, from the deep linear network, whose exact
    series is N·G4c/q² = 3N[(1 + 2/N)^L − 1] = 6L[1 + (L−1)/N + 2(L−1)(L−2)/(3N²) + …] (so B/A = L−1 and
    C/A = 2(L−1)(L−2)/3), taken three times larger for nonlinear φ (relu measured B/A ≈ 2.5 at L = 2):
    - at each width:   |m(N) − A| ≤ 4σ + 3(L−1)|A|/N + 1e-12
    - Richardson 2m(16) − m(8), which cancels B: |… − A| ≤ 4σ_R + 3·max(1, C/A)·|A|/128 (the C term left).
    σ is the jackknife standard error of `measure`, σ_R = √(4σ₁₆² + σ₈²).
    """
    x = [-1.0, 0.5]
    iu = np.triu_indices(2)
    got = {}
    for n, ens in zip((8, 16), ensembles):
        spec = NetworkSpec(depth=depth, width=n, activation=act, sigma_w=sw, sigma_b=sb)
        th, est = deep_correlators(spec, x), _measured(spec, x, ens, seed=n + depth)
        for key, meas, err, theory in (
                ("g4c", n * est.g4c_pair[iu], n * est.g4c_pair_err[iu], n * th.g4c_pair[iu]),
                ("shift", n * (est.g2 - th.nngp)[iu], n * est.g2_err[iu], n * (th.g2 - th.nngp)[iu])):
            got.setdefault(key, []).append((meas, err, theory))
            scale = np.abs(theory) if key == "g4c" else np.abs(theory).max()  # K₂/K₁ sized like B/A
            allow = 4 * err + 3 * (depth - 1) * scale / n + 1e-12
            assert np.all(np.abs(meas - theory) <= allow), (key, n, meas, err, theory)
    c_over_a = max(1.0, 2 * (depth - 1) * (depth - 2) / 3)
    for key, ((m8, e8, a), (m16, e16, _)) in got.items():
        rich, err = 2 * m16 - m8, np.sqrt(4 * e16**2 + e8**2)
        scale = np.abs(a) if key == "g4c" else np.abs(a).max()
        assert np.all(np.abs(rich - a) <= 4 * err + 3 * c_over_a * scale / 128 + 1e-12), (key, rich, err, a)


def test_every_activation_runs_at_depth_2_and_parameterizations_agree():
    """All activations give finite, symmetric results; standard and ntk share the ensemble at init."""
    for act in ("relu", "erf", "tanh", "gelu", "sigmoid", "softplus", "silu", "sin", "cos", "linear", "gauss-net"):
        spec = NetworkSpec(depth=2, width=64, activation=act, sigma_w=1.2, sigma_b=0.3)
        th = deep_correlators(spec, [-1.0, 0.2, 1.3])
        assert th.order == "1/N" and th.depth == 2
        for a in (th.g2, th.g4c_pair, th.nngp):
            assert np.all(np.isfinite(a)) and np.allclose(a, a.T, rtol=1e-14, atol=0)
        assert np.array_equal(th.g4c_diag, np.diag(th.g4c_pair))
        other = deep_correlators(spec.replace(parameterization="standard"), [-1.0, 0.2, 1.3])
        assert np.array_equal(other.g4c_pair, th.g4c_pair)
        d = th.as_dict()
        assert {"x", "width", "depth", "nngp", "g2", "g4c_diag", "g4c_pair", "kurtosis", "order", "warnings"} <= set(d)


def test_nngp_is_the_infinite_width_kernel_and_small_width_warns():
    from nnqft_engine.theory.kernels import kernels

    spec = NetworkSpec(depth=4, width=3, activation="relu", sigma_w=1.4, sigma_b=0.1)
    th = deep_correlators(spec, X)
    assert np.allclose(th.nngp, kernels(spec, X).nngp, rtol=1e-12)
    assert any("1/N expansion" in w for w in th.warnings)
    assert not deep_correlators(spec.replace(width=10_000), X).warnings


@pytest.mark.parametrize("changes,needle", [
    ({"prior": "uniform", "activation": "relu"}, "does not cover relu with the uniform prior"),
    ({"independence": "shared-scale", "independence_strength": 0.3}, "independent parameters"),
])
def test_unsupported_ensembles_are_refused_in_one_sentence(changes, needle):
    with pytest.raises(SpecError, match=needle):
        deep_correlators(NetworkSpec(depth=2, **changes), [0.5])


def test_theory_does_not_import_sampling():
    import ast
    import pathlib

    import nnqft_engine.theory as pkg

    for name in ("deep.py", "gauss_moments.py", "criticality.py"):
        tree = ast.parse((pathlib.Path(pkg.__file__).parent / name).read_text())
        mods = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        mods += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in mods if "sampling" in m], name


@pytest.mark.parametrize("act", ["relu", "erf", "tanh", "gelu", "sin", "gauss-net"])
def test_pair_moment_derivatives_match_finite_differences(act):
    """Price's-theorem Jacobian and Hessian of (⟨φ_a²⟩, ⟨φ_aφ_b⟩, ⟨φ_b²⟩) in (k11, k12, k22)."""
    from nnqft_engine.activations import get_activation
    from nnqft_engine.theory.gauss_moments import pair_moments

    a = get_activation(act)
    k = np.array([[0.7, 0.3, 1.1], [1.3, -0.2, 0.4]])
    pm = pair_moments(a, k[:, 0], k[:, 2], k[:, 1], 0.5, 0.3)
    h = 1e-4
    for v in range(3):
        kp, km = k.copy(), k.copy()
        kp[:, v] += h
        km[:, v] -= h
        up = pair_moments(a, kp[:, 0], kp[:, 2], kp[:, 1], 0.5, 0.3)
        dn = pair_moments(a, km[:, 0], km[:, 2], km[:, 1], 0.5, 0.3)
        assert np.allclose((up.m - dn.m) / (2 * h), pm.jac[:, :, v], atol=1e-7)
        assert np.allclose((up.jac - dn.jac) / (2 * h), pm.hess[:, :, :, v], atol=3e-7)


def test_erf_four_point_moments_against_tensor_quadrature():
    from nnqft_engine.activations import get_activation
    from nnqft_engine.theory import gauss_moments as gm

    rng = np.random.default_rng(3)
    k11, k22 = rng.uniform(0.2, 3, 40), rng.uniform(0.2, 3, 40)
    k12 = np.sqrt(k11 * k22) * rng.uniform(-0.999, 0.999, 40)
    one_d = gm._erf_powers(k11, k22, k12)
    two_d = gm._pair_quadrature(get_activation("erf"), k11, k22, k12, derivs=False)
    for key in one_d:
        assert np.allclose(one_d[key], two_d[key], rtol=0, atol=1e-9)


def test_relu_nearly_parallel_and_degenerate_pairs():
    """relu's ⟨δδ⟩ diverges as ρ → 1: the recursion must stay continuous there, and exactly parallel pairs
    follow homogeneity (f(λx) = λf(x) at σ_b = 0; equal points give the diagonal)."""
    spec = NetworkSpec(depth=3, width=100, activation="relu", sigma_w=1.3, sigma_b=0.1)
    same = deep_correlators(spec, [1.0, 1.0])
    assert same.g4c_pair[0, 1] == same.g4c_diag[0] and same.g2[0, 1] == same.g2[0, 0]
    for eps in (1e-3, 1e-4, 3e-5):
        near = deep_correlators(spec, [1.0, 1.0 + eps])
        assert near.g4c_pair[0, 1] == pytest.approx(same.g4c_diag[0], rel=5 * eps)
        assert abs(near.g2[0, 1] - near.nngp[0, 1]) < 1e-9 and not near.warnings
    line = deep_correlators(spec.replace(sigma_b=0.0), [0.0, 1.0, 2.0])
    assert line.g2[1, 2] == pytest.approx(2 * line.g2[1, 1]) and line.g4c_pair[1, 2] == pytest.approx(
        4 * line.g4c_diag[1])
    assert line.g2[0, 1] == 0 and line.g4c_pair[0, 2] == 0
    opposite = deep_correlators(spec.replace(sigma_b=0.0), [1.0, -2.0])
    assert np.all(np.isfinite(opposite.g4c_pair)) and opposite.g4c_pair[0, 1] > 0
