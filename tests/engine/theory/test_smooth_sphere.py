"""The spherical rule for smooth φ with three live first-layer parameters (theory/smooth_sphere.py, docs/physics.md
§4.2) against independent routes: the pair's characteristic function (laplace), the d = 1 graded rule on an axis,
the erf scale mixture (student-t) and 3-D nested adaptive quad."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from _exact_reference_nd import smooth_pair

from nnqft_engine import NetworkSpec
from nnqft_engine.activations import get_activation
from nnqft_engine.theory import fourier_pair, scale_mixture, smooth_sphere, sphere_remainder
from nnqft_engine.theory.accuracy import accuracy_note
from nnqft_engine.theory.finite_width import exact_correlators
from nnqft_engine.theory.kernels import kernels, prior_first_layer
from nnqft_engine.theory.neuron_moments import NeuronMoments

XS = np.array([[1.3, -0.6], [0.4, 0.9], [-1.0, 2.0]])
MOMENTS = ("h2", "h4_pair", "h31_pair", "h6")


class _SphereMoments:
    """The moment arrays of NeuronMoments straight from the spherical rule (under laplace, tanh / sigmoid / erf
    would take fourier_pair, and erf's H₁₂ under student-t the scale mixture)."""

    def __init__(self, spec, x):
        rule = smooth_sphere.rule(spec, x)
        self.w = rule.weights(0)
        self.h = get_activation(spec.activation).numpy_fn(rule.nodes[:, :-1] @ x.T + rule.nodes[:, -1:], 0.0)

    def h2(self):
        return (self.h * self.w[:, None]).T @ self.h

    def h4_pair(self):
        return (self.h**2 * self.w[:, None]).T @ self.h**2

    def h31_pair(self):
        return (self.h**3 * self.w[:, None]).T @ self.h

    def h6(self):
        return self.w @ self.h**6


def _assert_moments(mine, ref, rtol):
    for name in MOMENTS:
        a, b = getattr(mine, name)(), getattr(ref, name)()
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(), err_msg=name)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "erf"])
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_laplace_pair_moments_agree_with_the_characteristic_function(activation, scale):
    # Generic points, three live parameters, largest coefficient 2.8 and 5.5 (28 nodes per cell side): two
    # independent exact routes (`fourier_pair` was checked against nested quad and on axes). Measured ≤ 3e-12.
    spec = NetworkSpec(activation=activation, prior="laplace", sigma_w=3.0, sigma_b=1.0, input_dim=2)
    x = XS[:2] * scale
    ref = NeuronMoments(spec, x)
    assert isinstance(ref.pairwise, fourier_pair.FourierMoments)
    _assert_moments(_SphereMoments(spec, x), ref, 2e-11)


def _on_an_axis(activation, prior, dof, scale=1.0):
    """(d = 2 spec, the d = 1 spec it reduces to, points with x₂ = 0): w₂ integrates out, σ_w/√2 along x₁."""
    x2 = np.array([[1.3, 0.0], [-0.4, 0.0], [0.9, 0.0]]) * scale
    return (NetworkSpec(activation=activation, prior=prior, sigma_w=3.0, sigma_b=1.0, input_dim=2, prior_dof=dof),
            NetworkSpec(activation=activation, prior=prior, sigma_w=3.0 / math.sqrt(2), sigma_b=1.0,
                        prior_dof=dof), x2)


@pytest.mark.parametrize("activation", ["gelu", "silu", "softplus", "tanh"])
def test_laplace_on_an_axis_is_the_d1_integral(activation):
    # Every moment and tuples of three distinct points (measured ≤ 1e-12).
    two, one, x2 = _on_an_axis(activation, "laplace", 6.0)
    n2, n1 = NeuronMoments(two, x2), NeuronMoments(one, x2[:, :1])
    if activation != "tanh":
        _assert_moments(n2, n1, 1e-11)
    for idx in ((0, 1, 2, 2), (0, 0, 1, 2), (2, 1, 0, 0, 1, 2)):
        assert n2.h_tuple(idx) == pytest.approx(n1.h_tuple(idx), rel=1e-11, abs=1e-15)


@pytest.mark.parametrize("activation", ["tanh", "erf", "sigmoid"])
@pytest.mark.parametrize("dof", [4.05, 6.0, 100.0])
def test_student_t_on_an_axis_is_the_d1_integral(activation, dof):
    # Bounded φ: the ray integral goes like |δ|^{ν−2} towards an axis; ungraded directions measured ≤ 1.1e-10 at
    # ν → 4 (the d = 1 graded rule reaches ~1e-13), ≤ 2e-11 from ν = 6; ν = 100 takes the step 1/10.
    two, one, x2 = _on_an_axis(activation, "student-t", dof)
    n2, n1 = NeuronMoments(two, x2[:2]), NeuronMoments(one, x2[:2, :1])
    _assert_moments(n2, n1, 2e-10 if dof < 6 else 5e-11)


@pytest.mark.parametrize("dof", [4.05, 6.0, 30.0, 100.0])
def test_student_t_erf_kernel_on_an_axis_is_the_d1_integral(dof):
    # The scale mixture's NNGP/NTK moments (the kernels' route for erf × student-t): its earlier simplex rule missed
    # by 3e-6 at ν = 20 and 9 % at ν = 100 (found against the spherical rule); the tensor over the scales ≤ 2e-13
    # from ν = 6, 5e-12 at ν = 4.05 (where both routes work hardest on the tails).
    two, one, x2 = _on_an_axis("erf", "student-t", dof)
    for a, b in zip(prior_first_layer(two, x2), prior_first_layer(one, x2[:, :1])):
        np.testing.assert_allclose(a, b, rtol=2e-12 if dof >= 6 else 1e-11, atol=0)


def test_student_t_erf_two_point_moment_agrees_with_the_scale_mixture():
    spec = NetworkSpec(activation="erf", prior="student-t", sigma_w=3.0, sigma_b=1.0, input_dim=2)
    sphere = _SphereMoments(spec, XS[:2])
    np.testing.assert_allclose(sphere.h2(), scale_mixture.erf_first_layer(spec, XS[:2])[0], rtol=5e-11)


def test_gelu_laplace_g2_agrees_with_the_kernel_route():
    # gelu's NNGP through e″'s transform (fourier_growing) against the rule's own E[φφ]: theory and kernel agree.
    spec = NetworkSpec(activation="gelu", prior="laplace", sigma_w=3.0, sigma_b=1.0, input_dim=2)
    sphere = _SphereMoments(spec, XS[:2])
    np.testing.assert_allclose(sphere.h2(), prior_first_layer(spec, XS[:2])[0], rtol=1e-12)


def test_theory_carries_no_note_within_reach_and_the_note_beyond():
    for act, prior in (("gelu", "laplace"), ("silu", "laplace"), ("tanh", "student-t"), ("sigmoid", "student-t")):
        spec = NetworkSpec(activation=act, prior=prior, sigma_w=3.0, sigma_b=1.0, input_dim=2, width=4)
        assert smooth_sphere.within_budget(spec, XS[:2])
        assert accuracy_note(spec, x=XS[:2]) is None
        assert np.all(np.isfinite(exact_correlators(spec, XS[:2]).g4c_pair))
    far = NetworkSpec(activation="gelu", prior="laplace", sigma_w=3.0, sigma_b=1.0, input_dim=2, width=4)
    assert not smooth_sphere.within_budget(far, XS[:2] * 3) and "1e-9" in accuracy_note(far, x=XS[:2] * 3)
    grows = NetworkSpec(activation="gelu", prior="student-t", sigma_w=3.0, sigma_b=1.0, input_dim=2, width=4)
    assert not smooth_sphere.supported(grows) and "1e-9" in accuracy_note(grows, x=XS[:2] * 3)   # beyond reach
    four = NetworkSpec(activation="gelu", prior="laplace", sigma_w=3.0, sigma_b=1.0, input_dim=3, width=4)
    assert not smooth_sphere.supported(four)


@pytest.mark.slow
def test_gelu_laplace_fourth_moment_against_nested_quad():
    # E[gelu(z₁)² gelu(z₂)²] at d = 2 with a bias (σ_w = 1.5) against a 3-D nested quad split at the laplace kink
    # (~60 s; measured 7e-13). The tensor rule this replaces missed gelu's G4c by 3.5e-7.
    spec = NetworkSpec(activation="gelu", prior="laplace", sigma_w=1.5, sigma_b=1.0, input_dim=2)

    def gelu(z):
        return 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0)))

    ref = smooth_pair("laplace", lambda u, v: gelu(u) ** 2 * gelu(v) ** 2, 1.5, 1.0, XS[:2], tol=1e-10)
    assert NeuronMoments(spec, XS[:2]).h4_pair()[0, 1] == pytest.approx(ref, rel=1e-10)


def test_g4c_api_with_three_points_is_exact_and_with_an_unsplit_rule_says_so():
    # Three distinct points at d = 2 take the spherical rule (no warning): on an axis the d = 1 value. Four distinct
    # points there, or three under the gaussian prior, reach only the unsplit tensor rule: an InexactWarning.
    import warnings

    from nnqft_engine.theory.accuracy import InexactWarning
    from nnqft_engine.theory.finite_width import g4c

    two, one, x2 = _on_an_axis("gelu", "laplace", 6.0)
    two, one = (dataclasses.replace(s, width=3) for s in (two, one))
    with warnings.catch_warnings():
        warnings.simplefilter("error", InexactWarning)
        mine = g4c(two, x2[0], x2[1], x2[2], x2[2])
    ref = g4c(one, x2[0, :1], x2[1, :1], x2[2, :1], x2[2, :1])
    # the same neuron moments; the readout's σ_w⁴ differs by (√2)⁴, its bias adds (κ₄ − 3)σ_b⁴ = 3 (laplace)
    assert mine - 3.0 == pytest.approx(4.0 * (ref - 3.0), rel=1e-10)
    four = XS.tolist() + [[0.5, 0.5]]
    with pytest.warns(InexactWarning, match="more than two distinct points"):
        g4c(dataclasses.replace(two, activation="tanh"), *four)
    with pytest.warns(InexactWarning, match="gaussian"):
        g4c(dataclasses.replace(two, prior="gaussian", activation="tanh"), *XS, XS[0])


@pytest.mark.parametrize("activation", ["gelu", "silu", "softplus"])
@pytest.mark.parametrize("prior,dof", [("laplace", 6.0), ("student-t", 100.0)])
def test_remainder_split_agrees_with_the_direct_spherical_rule(activation, prior, dof):
    # φ = relu + d: relu's scale mixture plus the remainder on the sphere, against the spherical rule on φ itself
    # where that one is exact (laplace; student-t far from any divergent moment, ν = 100): measured ≤ 2.1e-12.
    from nnqft_engine.theory.sphere_remainder import RemainderMoments

    spec = NetworkSpec(activation=activation, prior=prior, sigma_w=3.0, sigma_b=1.0, input_dim=2, prior_dof=dof)
    _assert_moments(RemainderMoments(spec, XS[:2]), _SphereMoments(spec, XS[:2]), 5e-12)


def test_growing_activations_under_student_t_take_the_remainder_split():
    from nnqft_engine.theory.sphere_remainder import RemainderMoments

    spec = NetworkSpec(activation="gelu", prior="student-t", sigma_w=3.0, sigma_b=1.0, input_dim=2, width=4)
    assert isinstance(NeuronMoments(spec, XS[:2]).pairwise, RemainderMoments)
    assert accuracy_note(spec, x=XS[:2]) is None and accuracy_note(spec, kernel=True, x=XS[:2]) is None
    theory = exact_correlators(spec, XS[:2])
    assert np.all(np.isinf(theory.g6c_diag)) and np.all(np.isfinite(theory.g4c_pair))   # E[α⁶] diverges at ν = 6


@pytest.mark.slow
def test_gelu_student_t_fourth_moment_against_nested_quad(monkeypatch):
    # ν = 9, σ_w = 1.5: E[gelu(z₁)² gelu(z₂)²] against 3-D nested quad over (w₁, w₂, b) on the whole real lines
    # (~1–2 min; at tol 1e-11 measured 8e-12). The direct spherical rule misses E[gelu⁶] by 5e-7 here.
    import _exact_reference_nd

    from nnqft_engine.priors import standardized_pdf

    spec = NetworkSpec(activation="gelu", prior="student-t", sigma_w=1.5, sigma_b=1.0, input_dim=2, prior_dof=9.0)

    def gelu(z):
        return 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0)))

    monkeypatch.setattr(_exact_reference_nd, "standardized_pdf", lambda prior, u: standardized_pdf(prior, u, 9.0))
    ref = smooth_pair("student-t", lambda u, v: gelu(u) ** 2 * gelu(v) ** 2, 1.5, 1.0, XS[:2], tol=1e-10)
    assert NeuronMoments(spec, XS[:2]).h4_pair()[0, 1] == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("activation", ["tanh", "gelu", "softplus"])
@pytest.mark.parametrize("dof", [4.5, 9.0])
def test_student_t_kernel_for_a_few_points_on_an_axis_is_the_d1_integral(activation, dof):
    # Three points, one spherical rule over all of them (growing φ: relu's mixture + the remainder for E[φφ]);
    # measured ≤ 1e-10 at ν = 4.5, ≤ 2e-11 from ν = 6. `theory`'s G2 is the same integral: equal to rounding.
    two, one, x2 = _on_an_axis(activation, "student-t", dof)
    for a, b in zip(prior_first_layer(two, x2), prior_first_layer(one, x2[:, :1])):
        np.testing.assert_allclose(a, b, rtol=2e-10, atol=2e-10 * np.abs(b).max())
    spec = dataclasses.replace(two, width=4)
    np.testing.assert_allclose(exact_correlators(spec, XS[:2]).g2, kernels(spec, XS[:2]).nngp, rtol=1e-13)
    assert accuracy_note(spec, kernel=True, x=XS[:2]) is None
    many = np.random.default_rng(0).normal(size=(8, 2))      # beyond the budget: the tensor rule and its note
    assert not sphere_remainder.kernel_supported(spec, many) and "1e-9" in accuracy_note(spec, kernel=True, x=many)

