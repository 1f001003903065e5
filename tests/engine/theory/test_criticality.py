"""Edge of chaos (nnqft_engine.theory.criticality, docs/physics.md §9): known values, an independent solve,
and the `criticality` / `theory --depth` CLI."""
import itertools
import json
import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from nnqft_engine.cli.main import main
from nnqft_engine.spec import NetworkSpec, SpecError
from nnqft_engine.theory.criticality import (
    correlation_flow,
    critical_sigma_w,
    criticality,
    fixed_point,
    phase_diagram,
)
from nnqft_engine.theory.deep import deep_correlators


def test_relu_is_critical_at_root_two_with_any_input_variance():
    assert critical_sigma_w("relu", 0.0) == pytest.approx(math.sqrt(2), abs=1e-15)
    cp = criticality("relu", 0.0)
    assert cp.q_star == pytest.approx(1.0, rel=1e-12)              # scale invariant: q* = q⁰
    assert fixed_point("relu", math.sqrt(2), 0.0, q0=3.0) == pytest.approx(3.0, rel=1e-12)
    assert cp.chi_perp == pytest.approx(1.0) and cp.chi_parallel == pytest.approx(1.0)
    assert cp.correlation_depth == math.inf
    assert math.isinf(fixed_point("relu", 1.5, 0.2))               # chaotic relu: q grows without bound
    assert 0 < fixed_point("tanh", 1.0, 0.0) < 0.01                # slow decay to q* = 0 at χ∥ = 1


def test_tanh_critical_sigma_w_tends_to_one_as_sigma_b_vanishes():
    values = [critical_sigma_w("tanh", sb) for sb in (0.3, 0.1, 0.03, 0.01)]
    assert all(a > b > 1.0 for a, b in itertools.pairwise(values))
    assert critical_sigma_w("tanh", 0.0) == pytest.approx(1.0, abs=1e-4)


def _independent(phi, dphi, sb):
    """q* and critical σ_w with scipy.integrate.quad for the Gaussian averages and brentq for both roots."""
    def avg(f, q):
        return integrate.quad(lambda z: f(math.sqrt(q) * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
                              -12, 12, epsabs=1e-14, epsrel=1e-13, limit=200)[0]

    def qstar(sw):
        return optimize.brentq(lambda q: sb**2 + sw**2 * avg(lambda u: phi(u) ** 2, q) - q, 1e-12, 100.0,
                               xtol=1e-15)

    sw = optimize.brentq(lambda s: s**2 * avg(lambda u: dphi(u) ** 2, qstar(s)) - 1.0, 0.5, 5.0, xtol=1e-14)
    return sw, qstar(sw)


@pytest.mark.parametrize("name,phi,dphi", [
    ("tanh", np.tanh, lambda u: 1 - np.tanh(u) ** 2),
    ("erf", special.erf, lambda u: 2 / math.sqrt(math.pi) * math.exp(-u * u)),
])
def test_critical_point_against_an_independent_solve(name, phi, dphi):
    sb = 0.3
    sw_ref, q_ref = _independent(phi, dphi, sb)
    cp = criticality(name, sb)
    assert cp.sigma_w == pytest.approx(sw_ref, rel=1e-9)
    assert cp.q_star == pytest.approx(q_ref, rel=1e-8)
    assert cp.chi_perp == pytest.approx(1.0, abs=1e-10)
    # χ∥ = σ_w² d⟨φ²⟩/dq, by a finite difference of the independent average
    h = 1e-5
    avg = lambda q: integrate.quad(lambda z: phi(math.sqrt(q) * z) ** 2 * math.exp(-z * z / 2), -12, 12,
                                   epsabs=1e-14, epsrel=1e-13, limit=200)[0] / math.sqrt(2 * math.pi)
    chi_par = cp.sigma_w**2 * (avg(q_ref + h) - avg(q_ref - h)) / (2 * h)
    assert cp.chi_parallel == pytest.approx(chi_par, rel=1e-6)


def test_phases_and_correlation_depth():
    ordered, chaotic = criticality("tanh", 0.3, sigma_w=0.8), criticality("tanh", 0.3, sigma_w=2.5)
    assert ordered.chi_perp < 1 and ordered.c_star == 1.0
    assert ordered.correlation_depth == pytest.approx(-1 / math.log(ordered.chi_perp), rel=1e-12)
    assert chaotic.chi_perp > 1 and 0 < chaotic.c_star < 1 and 0 < chaotic.correlation_depth < math.inf
    # correlations flow towards c* over the layers in the chaotic phase
    flow = correlation_flow(NetworkSpec(depth=6, activation="tanh", sigma_w=2.5, sigma_b=0.3), 0.9, 0.8)
    assert len(flow) == 7 and abs(flow[-1] - chaotic.c_star) < abs(flow[0] - chaotic.c_star)


def test_phase_diagram_matches_pointwise():
    """Its speed is a benchmark (`bench`, key "deep"), not asserted here."""
    sw, sb = np.linspace(0.5, 3.0, 40), np.linspace(0.0, 1.0, 40)
    pd = phase_diagram("tanh", sw, sb)
    assert pd.chi_perp.shape == (40, 40)
    cp = criticality("tanh", sb[10], sigma_w=sw[25])
    assert pd.chi_perp[10, 25] == pytest.approx(cp.chi_perp, rel=1e-9)
    relu = phase_diagram("relu", sw, sb)
    assert np.allclose(relu.chi_perp, sw[None, :] ** 2 / 2, rtol=1e-12)


def test_criticality_errors():
    with pytest.raises(SpecError, match="gauss-net"):
        critical_sigma_w("gauss-net", 0.1)
    with pytest.raises(SpecError, match="no finite edge of chaos"):
        critical_sigma_w("gelu", 0.3)


# ---- CLI --------------------------------------------------------------------------------------------------

def _cli(capsys, *argv):
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_criticality_cli_prints_one_json_object(capsys):
    rc, out, err = _cli(capsys, "criticality", "--activation", "tanh", "--sigma-b", "0.3")
    assert rc == 0 and err == ""
    data = json.loads(out)
    assert {"critical_sigma_w", "q_star", "chi_perp", "chi_parallel", "correlation_depth"} <= set(data)
    assert data["critical_sigma_w"] == pytest.approx(critical_sigma_w("tanh", 0.3), rel=1e-12)
    assert data["correlation_depth"] == "inf"
    rc, out, _ = _cli(capsys, "criticality", "--activation", "relu")
    assert rc == 0 and json.loads(out)["critical_sigma_w"] == pytest.approx(math.sqrt(2))


@pytest.mark.parametrize("argv,needle", [
    (["--activation", "nope"], "unknown activation"),
    (["--activation", "gauss-net"], "gauss-net"),
    (["--sigma-b", "-1"], "sigma_b"),
    (["--sigma-b", "abc"], "invalid float"),
    (["--activation", "tanh", "--sigma-w", "0"], "sigma_w"),
])
def test_criticality_cli_bad_input_exits_2(capsys, argv, needle):
    rc, out, err = _cli(capsys, "criticality", *argv)
    assert rc == 2 and out == "" and err.count("\n") == 1 and needle in err


def test_theory_cli_at_depth_3_matches_the_engine(capsys):
    rc, out, err = _cli(capsys, "theory", "--x=-1,0.5", "--depth", "3", "--width", "50", "--activation", "tanh")
    assert rc == 0 and err == ""
    data = json.loads(out)
    assert {"x", "width", "g2", "g4c_diag", "g4c_pair", "kurtosis", "nngp", "order", "warnings"} <= set(data)
    assert data["order"] == "1/N" and "g6c_diag" not in data
    th = deep_correlators(NetworkSpec(depth=3, width=50, activation="tanh"), [-1, 0.5])
    for key in ("g2", "nngp", "g4c_pair", "g4c_diag", "kurtosis"):
        assert np.allclose(data[key], getattr(th, key), rtol=1e-13)
    rc, out, _ = _cli(capsys, "theory", "--x=0.5", "--width", "5")
    one = json.loads(out)
    assert rc == 0 and one["order"] == "exact" and "g6c_diag" in one and one["nngp"] == one["g2"]
