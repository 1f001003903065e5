"""The exact law of f(x₁) under the rademacher prior (docs/physics.md §4.3): atoms against a brute-force
enumeration of every sign configuration, moments against the exact correlators, χ² against sampled networks."""
import dataclasses
import itertools
import json
import math

import numpy as np
import pytest
from scipy import stats

from nnqft_engine import NetworkSpec, SampleSettings, SpecError, sample_outputs
from nnqft_engine.activations import get_activation
from nnqft_engine.theory.finite_width import exact_correlators
from nnqft_engine.theory.rademacher_law import MAX_LATTICE, joint_atoms, neuron_directions, rademacher_law


def _enumerated(spec: NetworkSpec, x: float) -> tuple[np.ndarray, np.ndarray]:
    """Every (w, b, a) ∈ {±1}³ per neuron and c ∈ {±1}, counted: atoms rounded to 1e-11 and their probabilities."""
    phi = get_activation(spec.activation).numpy_fn
    s = spec.sigma_w / math.sqrt(spec.width)
    per = [a * s * float(phi(np.array([spec.sigma_w * x * w + spec.sigma_b * b]), 0.0)[0])
           for w, b, a in itertools.product((-1, 1), repeat=3)]
    counts: dict[float, int] = {}
    for combo in itertools.product(per, repeat=spec.width):
        for c in (-1, 1):
            key = round(math.fsum(combo) + spec.sigma_b * c, 11)
            counts[key] = counts.get(key, 0) + 1
    keys = sorted(counts)
    return np.array(keys), np.array([counts[k] for k in keys]) / (2 * 8**spec.width)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "gelu", "linear", "cos"])
@pytest.mark.parametrize("width", [1, 2, 4])
def test_atoms_are_every_sign_configuration_counted(activation, width):
    spec = NetworkSpec(activation=activation, prior="rademacher", width=width, sigma_w=1.5, sigma_b=0.3)
    law = rademacher_law(spec, 0.7)
    values, probs = _enumerated(spec, 0.7)
    assert len(law.values) == len(values)
    np.testing.assert_allclose(law.values, values, atol=1e-10)
    np.testing.assert_allclose(law.probs, probs, rtol=0, atol=1e-15)
    assert law.probs.min() > 0 and law.left_out < 1e-14


def test_without_bias_relu_has_its_all_off_atom_at_zero_in_the_bin_that_starts_there():
    spec = NetworkSpec(activation="relu", prior="rademacher", width=3, sigma_w=1.5, sigma_b=0.0)
    law = rademacher_law(spec, 1.0)
    zero = np.flatnonzero(law.values == 0.0)
    # a neuron is off (½) or adds ±s·relu(σ_w): f = 0 when the k active neurons' signs cancel
    want = sum(math.comb(3, k) * 0.5**3 * (math.comb(k, k // 2) * 0.5**k if k % 2 == 0 else 0.0) for k in range(4))
    assert law.probs[zero[0]] == pytest.approx(want, abs=1e-15)
    edges = np.array([-1.0, 0.0, 1.0])                 # 0 is an edge: it belongs to [0, 1), as in the histogram
    inside = (law.values >= 0) & (law.values < 1)
    assert law.bin_probabilities(edges)[1] == pytest.approx(law.probs[inside].sum(), abs=1e-15)


@pytest.mark.parametrize("activation, width", [("tanh", 100), ("gelu", 12), ("relu", 100), ("tanh", 1000)])
def test_moments_are_the_exact_correlators(activation, width):
    # The FFT route at large N against the exact depth-1 theory (docs/physics.md §4.1): G2 and G4c at one point.
    spec = NetworkSpec(activation=activation, prior="rademacher", width=width, sigma_w=1.5, sigma_b=0.3)
    law = rademacher_law(spec, 0.7)
    theory = exact_correlators(spec, [0.7])
    g2 = law.moment(2)
    # the atoms left out (each below PROB_FLOOR, their sum `left_out`) lie within the support |f| ≤ top: they
    # bound the gap (at N = 1000 it is G2's 4e-11 and G4c's 1.4e-7 relative: G4c ~ 1/N, the tails ~ N²)
    dirs, _ = neuron_directions(spec, np.array([0.7]))
    top = spec.sigma_b + spec.sigma_w * math.sqrt(width) * float(np.abs(dirs).max())
    assert law.moment(1) == pytest.approx(0.0, abs=1e-13)
    assert g2 == pytest.approx(float(theory.g2[0, 0]), rel=1e-13, abs=law.left_out * top**2)
    assert law.moment(4) - 3 * g2**2 == pytest.approx(float(theory.g4c_diag[0]), rel=1e-10,
                                                      abs=law.left_out * (top**4 + 6 * g2 * top**2))
    assert abs(law.probs.sum() - 1.0) < 1e-10 and law.left_out < 1e-10


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_atoms_match_a_million_sampled_networks_chi_square(activation):
    spec = NetworkSpec(activation=activation, prior="rademacher", width=3, sigma_w=1.5, sigma_b=0.3)
    law = rademacher_law(spec, 0.7)
    f = np.asarray(sample_outputs(spec, [0.7], SampleSettings(ensemble=10**6, seed=5, dtype="float64"))).ravel()
    nearest = np.clip(np.searchsorted(law.values, f), 1, len(law.values) - 1)
    nearest -= np.abs(f - law.values[nearest - 1]) < np.abs(f - law.values[nearest])
    assert np.abs(f - law.values[nearest]).max() < 1e-12          # every sampled network lands on an atom
    counts = np.bincount(nearest, minlength=len(law.values))
    expected = law.probs * len(f)
    keep = expected > 20
    chi2 = float((((counts - expected) ** 2) / expected)[keep].sum())
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-4, (chi2, keep.sum())
    assert keep.sum() > 30


def test_beyond_the_lattice_budget_one_sentence_names_the_largest_width():
    n = int((MAX_LATTICE ** 0.25 - 1) // 2)
    spec = NetworkSpec(activation="sigmoid", prior="rademacher", width=n + 1, sigma_w=1.5, sigma_b=0.3)
    with pytest.raises(SpecError, match=f"up to N = {n} for sigmoid"):
        rademacher_law(spec, 0.7)
    assert len(rademacher_law(dataclasses.replace(spec, width=n), 0.7).values) > 1000
    with pytest.raises(SpecError, match="rademacher prior"):
        rademacher_law(NetworkSpec(activation="tanh", prior="gaussian"), 0.7)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "sin"])
def test_joint_atoms_at_two_points_are_every_sign_configuration_counted(activation):
    spec = NetworkSpec(activation=activation, prior="rademacher", width=3, sigma_w=1.5, sigma_b=0.3)
    xs = (0.7, -0.4)
    phi = get_activation(activation).numpy_fn
    s = spec.sigma_w / math.sqrt(spec.width)
    per = [tuple(a * s * float(phi(np.array([spec.sigma_w * x * w + spec.sigma_b * b]), 0.0)[0]) for x in xs)
           for w, b, a in itertools.product((-1, 1), repeat=3)]
    want: dict[tuple, float] = {}
    for combo in itertools.product(per, repeat=spec.width):
        for c in (-1, 1):
            key = tuple(round(math.fsum(v[i] for v in combo) + spec.sigma_b * c, 11) for i in range(2))
            want[key] = want.get(key, 0.0) + 1.0 / (2 * 8**spec.width)
    values, probs, left_out = joint_atoms(spec, list(xs))
    got: dict[tuple, float] = {}
    for v, p in zip(values, probs):
        key = tuple(round(float(c), 11) for c in v)
        got[key] = got.get(key, 0.0) + p
    assert got.keys() == want.keys()
    assert max(abs(got[k] - want[k]) for k in want) < 1e-15 and left_out < 1e-14


def test_cli_theory_density_lists_the_atoms_under_the_rademacher_prior(capsys):
    from nnqft_engine.cli.main import main
    assert main(["theory", "--activation", "tanh", "--width", "2", "--prior", "rademacher", "--sigma-w", "1.5",
                 "--sigma-b", "0.3", "--x=0.7,-0.5", "--density", "--joint-density"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "density" not in out and out["joint_density"]["atoms"] > 0
    f, p = np.array(out["atoms"]["f"]), np.array(out["atoms"]["p"])
    values, probs = _enumerated(NetworkSpec(activation="tanh", prior="rademacher", width=2, sigma_w=1.5,
                                            sigma_b=0.3), 0.7)
    np.testing.assert_allclose(f, values, atol=1e-10)
    np.testing.assert_allclose(p, probs, atol=1e-15)


def test_the_joint_contours_law_is_the_counted_atoms_smoothed():
    # joint_density under rademacher: Σ over the atoms of the smoothing Gaussians, against the atoms counted by
    # brute force (sigmoid: four neuron vectors), on the grid the app uses; it holds the whole law's mass.
    from nnqft_engine.theory.joint_density import joint_density
    spec = NetworkSpec(activation="sigmoid", prior="rademacher", width=3, sigma_w=1.5, sigma_b=0.3)
    jd = joint_density(spec, 0.7, -0.4, span_sd=6.5, points=161)
    phi = get_activation("sigmoid").numpy_fn
    s = spec.sigma_w / math.sqrt(spec.width)
    per = [(a * s * float(phi(np.array([1.5 * 0.7 * w + 0.3 * b]), 0.0)[0]),
            a * s * float(phi(np.array([1.5 * -0.4 * w + 0.3 * b]), 0.0)[0])) for w, b, a in
           itertools.product((-1, 1), repeat=3)]
    want = np.zeros_like(jd.p)
    h1, h2 = jd.smooth
    for combo in itertools.product(per, repeat=3):
        for c in (-1, 1):
            a1, a2 = sum(v[0] for v in combo) + 0.3 * c, sum(v[1] for v in combo) + 0.3 * c
            want += (np.exp(-0.5 * ((jd.f1[:, None] - a1) / h1) ** 2 - 0.5 * ((jd.f2[None, :] - a2) / h2) ** 2)
                     / (2 * math.pi * h1 * h2 * 2 * 8**3))
    assert np.abs(jd.p - want).max() < 1e-12 * want.max()
    cell = (jd.f1[1] - jd.f1[0]) * (jd.f2[1] - jd.f2[0])
    assert jd.p.sum() * cell == pytest.approx(1.0, abs=1e-9)
    assert jd.atoms == len({(round(sum(v[0] for v in combo) + 0.3 * c, 11), round(sum(v[1] for v in combo) + 0.3 * c, 11))
                            for combo in itertools.product(per, repeat=3) for c in (-1, 1)})
