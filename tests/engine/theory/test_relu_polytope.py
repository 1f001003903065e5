"""relu under uniform / laplace with four to six live first-layer parameters: moments as polynomials over convex
polytopes (docs/physics.md §4.2), against independent references at 1e-9 (issue 11, item 1)."""
import itertools
import math

import numpy as np
import pytest
from _exact_reference_3d import relu_pair_uniform_d3

from nnqft_engine import NetworkSpec
from nnqft_engine.theory import relu_polytope
from nnqft_engine.theory.finite_width import exact_correlators
from nnqft_engine.theory.kernels import kernels, prior_first_layer
from nnqft_engine.theory.neuron_moments import NeuronMoments
from nnqft_engine.theory.scale_mixture import relu_pair_moments as mixture_pair_moments

XS3 = np.array([(1.3, -0.4, 0.7), (-0.6, 0.9, 0.5)])
DEGREES = ((0, 0), (1, 1), (2, 2), (3, 1), (1, 3))


def _coeffs(x, sw, sb):
    return np.concatenate([x * sw / math.sqrt(x.shape[1]), np.full((len(x), 1), sb)], axis=1)


@pytest.mark.parametrize("m", [2, 3, 4, 6])
def test_simplex_rule_integrates_every_monomial_exactly(m):
    # ∫ over the unit simplex of x^α is α!/(|α| + m)!
    for degree in range(7):
        x, w = relu_polytope._simplex_rule(m, degree)
        for alpha in itertools.product(range(degree + 1), repeat=m):
            if sum(alpha) <= degree:
                exact = math.prod(math.factorial(k) for k in alpha) / math.factorial(sum(alpha) + m)
                assert w @ np.prod(x ** np.array(alpha), axis=1) == pytest.approx(exact, rel=1e-13)


def test_laplace_polytope_agrees_with_the_scale_mixture():
    # Two independent exact routes at four live parameters (the mixture: ≤ 2.7e-13 against nested quad, §4.2).
    a = np.random.default_rng(0).normal(size=(4, 4))
    i, j = np.triu_indices(4)
    for degree in DEGREES:
        got = relu_polytope.pair_moments("laplace", a, i, j, (degree,))[0]
        np.testing.assert_allclose(got, mixture_pair_moments("laplace", 6.0, a, i, j, degree), rtol=5e-12)


@pytest.mark.parametrize("prior", ["uniform", "laplace"])
def test_a_parameter_no_point_uses_integrates_out(prior):
    # A zero column leaves the integrand independent of that parameter: the moment at m equals the one at m − 1,
    # down to m = 3, where the engine's cubed-sphere rule gives it (its own error, up to 6e-12 on the degree-3 and 4
    # moments under laplace, sets the tolerance; the scale mixture agrees with the polytope to 2e-13 there).
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 2))
    a3 = np.concatenate([x, np.ones((3, 1))], axis=1)     # z = (σ_w/√2) w·x + σ_b b = a3·u
    spec = NetworkSpec(activation="relu", prior=prior, sigma_w=math.sqrt(2), sigma_b=1.0, input_dim=2, width=1)
    sphere = NeuronMoments(spec, x)
    for m in (4, 5, 6):
        a = np.concatenate([a3, np.zeros((3, m - 3))], axis=1)[:, rng.permutation(m)]
        for idx in ((0, 1), (0, 0, 1, 1), (0, 0, 0, 1), (0, 1, 2), (0, 0, 1, 2), (0, 0, 0)):
            counts = np.bincount(idx, minlength=3)
            rows = np.flatnonzero(counts)
            assert relu_polytope.moment(prior, a[rows], counts[rows]) == pytest.approx(
                sphere._rule.weights(len(idx)) @ np.prod(sphere.h[:, list(idx)], axis=1), rel=2e-11)


@pytest.mark.slow
@pytest.mark.parametrize("sw,sb", [(3.0, 1.0), (1.0, 0.3)])
def test_relu_uniform_d3_generic_points_against_nested_quad(sw, sb):
    # Four live parameters in generic position: the bias-axis rule missed the NTK by 3.2e-3 here.
    a = _coeffs(XS3, sw, sb)
    ref = {deg: relu_pair_uniform_d3(sw, sb, XS3, *deg) for deg in DEGREES[:4]}
    got = relu_polytope.pair_moments("uniform", a, np.array([0]), np.array([1]), DEGREES[:4])[:, 0]
    np.testing.assert_allclose(got, [ref[deg] for deg in DEGREES[:4]], rtol=1e-11)
    spec = NetworkSpec(activation="relu", prior="uniform", sigma_w=sw, sigma_b=sb, input_dim=3, width=3)
    nngp = sb**2 + sw**2 * ref[(1, 1)]
    k = kernels(spec, XS3)
    assert k.nngp[0, 1] == pytest.approx(nngp, rel=1e-11)
    assert k.ntk[0, 1] == pytest.approx(nngp + sw**2 * ref[(0, 0)] * (sw**2 * XS3[0] @ XS3[1] / 3 + sb**2), rel=1e-11)
    th = exact_correlators(spec, XS3)
    h11, h22 = ((ak @ ak) / 2 for ak in a)               # E[relu(z)²] = ½E[z²]
    mu4 = 9 / 5
    g4c = sw**4 / 3 * (mu4 * ref[(2, 2)] - (h11 * h22 + 2 * ref[(1, 1)] ** 2)) + sb**4 * (mu4 - 3)
    assert th.g2[0, 1] == pytest.approx(nngp, rel=1e-11)
    assert th.g4c_pair[0, 1] == pytest.approx(g4c, rel=1e-10)


def test_cross_kernel_is_the_block_of_the_joint_one():
    spec = NetworkSpec(activation="relu", prior="uniform", sigma_w=2.0, sigma_b=0.5, input_dim=4)
    x = np.random.default_rng(2).normal(size=(5, 4))
    joint = prior_first_layer(spec, x)
    cross = prior_first_layer(spec, x[:2], x[2:])
    for full, block in zip(joint, cross):
        np.testing.assert_allclose(block, full[:2, 2:], rtol=1e-13)


def test_supported_range():
    spec = lambda **kw: NetworkSpec(activation="relu", **kw)   # noqa: E731
    assert relu_polytope.supported(spec(prior="uniform", input_dim=3))
    assert relu_polytope.supported(spec(prior="laplace", input_dim=5))
    assert not relu_polytope.supported(spec(prior="uniform", input_dim=2))          # three live: cubed sphere
    assert relu_polytope.supported(spec(prior="uniform", input_dim=4, sigma_b=0.0))
    assert not relu_polytope.supported(spec(prior="laplace", input_dim=6))          # seven live: too dear
    assert not relu_polytope.supported(spec(prior="student-t", input_dim=3))        # the scale mixture
    assert not relu_polytope.supported(NetworkSpec(activation="tanh", prior="uniform", input_dim=3))


def test_the_cost_model_prices_the_polytope_rule_by_live_parameters():
    from nnqft_engine.cost import RELU_POLYTOPE_PAIR_S, kernel_cost
    cost = [kernel_cost(NetworkSpec(activation="relu", prior="uniform", input_dim=d), 16).seconds for d in (3, 4, 5)]
    assert cost[0] < cost[1] < cost[2]
    pairs = 16**2 / 2 + 16
    assert cost[2] - kernel_cost(NetworkSpec(activation="erf", prior="uniform", input_dim=5), 16).seconds \
        == pytest.approx(pairs * RELU_POLYTOPE_PAIR_S[6])
