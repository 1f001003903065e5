"""Smooth φ × the uniform prior at d = 2 with a bias (three live parameters): the tensor Gauss–Legendre rule against
scipy's nested adaptive quad, and the accuracy note that follows the largest coefficient σ_w|x_l|/√d, σ_b
(docs/physics.md §4.2)."""
import json
import math

import numpy as np
import pytest
from _exact_reference_nd import smooth_pair

from nnqft_engine import NetworkSpec
from nnqft_engine.activations import get_activation
from nnqft_engine.cli.main import main
from nnqft_engine.priors import moment
from nnqft_engine.theory.accuracy import UNIFORM_TENSOR_REACH, accuracy_note
from nnqft_engine.theory.finite_width import exact_correlators
from nnqft_engine.theory.kernels import kernels

XS = np.array([(1.0, 0.5), (-0.3, 1.2)])   # largest coefficient 3·1.2/√2 = 2.55 at σ_w = 3


@pytest.mark.slow
@pytest.mark.parametrize("activation,sb,scale", [("tanh", 0.3, 1.0), ("tanh", 1.0, 1.0), ("gelu", 1.0, 1.0),
                                                ("tanh", 0.3, 2.0), ("erf", 1.0, 2.0)])
def test_smooth_uniform_d2_kernel_and_theory_against_nested_quad(activation, sb, scale):
    # tanh has the nearest complex poles (±iπ/2) of the smooth φ, gelu grows; σ_w = 3 (largest coefficient 2.55,
    # and 5.09 at scale 2, just inside UNIFORM_TENSOR_REACH), width 1 so the 1/N part of G4c dominates. Reference:
    # a 3-D nested quad over (w₁, w₂, b), no rule shared with the engine.
    sw, xs = 3.0, XS * scale
    act = get_activation(activation)
    f = lambda z: float(act.numpy_fn(np.array(z), 0.0))      # noqa: E731
    df = lambda z: float(act.numpy_grad(np.array(z), 0.0))    # noqa: E731
    e = lambda g: smooth_pair("uniform", g, sw, sb, xs, tol=1e-11)  # noqa: E731
    h11, h22 = e(lambda a, c: f(a) ** 2), e(lambda a, c: f(c) ** 2)
    h12, d12 = e(lambda a, c: f(a) * f(c)), e(lambda a, c: df(a) * df(c))
    h1122 = e(lambda a, c: (f(a) * f(c)) ** 2)
    m4 = moment("uniform", 4)
    nngp = sb**2 + sw**2 * h12
    ntk = nngp + sw**2 * d12 * (sw**2 * xs[0] @ xs[1] / 2 + sb**2)
    g4c = sw**4 * (m4 * h1122 - h11 * h22 - 2 * h12**2) + sb**4 * (m4 - 3)
    spec = NetworkSpec(activation=activation, prior="uniform", sigma_w=sw, sigma_b=sb, input_dim=2, width=1)
    k, th = kernels(spec, xs), exact_correlators(spec, xs)
    assert k.nngp[0, 1] == pytest.approx(nngp, rel=1e-9)
    assert k.ntk[0, 1] == pytest.approx(ntk, rel=1e-9)
    assert th.g2[0, 1] == pytest.approx(nngp, rel=1e-9)
    assert th.g4c_pair[0, 1] == pytest.approx(g4c, rel=1e-9)
    assert accuracy_note(spec, kernel=True, x=xs) is None and accuracy_note(spec, x=xs) is None


def test_uniform_note_follows_the_largest_coefficient():
    spec = NetworkSpec(activation="tanh", prior="uniform", sigma_w=3.0, sigma_b=1.0, input_dim=2)
    assert accuracy_note(spec, kernel=True, x=XS) is None
    assert accuracy_note(spec, x=XS) is None
    far = XS * 4                                             # coefficient 10.2: measured 4e-5
    assert "1e-9" in accuracy_note(spec, kernel=True, x=far)
    assert "1e-9" in accuracy_note(spec, kernel=True)        # no points: not shown
    big_bias = NetworkSpec(activation="erf", prior="uniform", sigma_w=1.0, sigma_b=UNIFORM_TENSOR_REACH * 1.1,
                           input_dim=2)
    assert "1e-9" in accuracy_note(big_bias, x=XS)
    # four live parameters (d = 3 with a bias) keep the note; laplace and student-t keep theirs
    assert "1e-9" in accuracy_note(NetworkSpec(activation="tanh", prior="uniform", input_dim=3), x=XS[:, [0, 1, 1]])
    # laplace / student-t: the tensor rule's measured worst case in the sentence, "not measured" off the grid
    note = lambda kernel, x=XS, **kw: accuracy_note(NetworkSpec(input_dim=2, **kw), kernel=kernel, x=x)  # noqa: E731
    beyond = XS * 10     # largest coefficient 8.5 at σ_w = 1: beyond the spherical rule's reach (smooth_sphere)
    assert note(False, activation="gelu", prior="laplace") is None                            # smooth_sphere
    assert "measured up to 3.5e-07" in note(False, beyond, activation="gelu", prior="laplace")  # G4c, G6c
    assert "G2 is the characteristic function's" in note(False, beyond, activation="gelu", prior="laplace")
    assert note(True, activation="gelu", prior="laplace") is None                             # fourier_growing
    assert note(True, activation="tanh", prior="laplace") is None                             # fourier_pair
    assert note(False, activation="erf", prior="laplace") is None                             # fourier_pair
    assert note(True, activation="erf", prior="laplace") is None                              # the scale mixture
    assert note(False, activation="tanh", prior="student-t") is None                          # smooth_sphere
    assert "measured up to 1.1e-09" in note(False, beyond, activation="tanh", prior="student-t")
    assert note(False, activation="gelu", prior="student-t") is None                          # sphere_remainder
    assert "not measured" in note(False, beyond, activation="gelu", prior="student-t")
    assert "not measured" in note(True, beyond, activation="tanh", prior="student-t", prior_dof=9.0)
    assert "not measured" in accuracy_note(NetworkSpec(activation="tanh", prior="laplace", input_dim=3), kernel=True)
    for prior in ("uniform", "laplace"):   # relu: exact polytope rules up to six live parameters, the old rules beyond
        assert accuracy_note(NetworkSpec(activation="relu", prior=prior, input_dim=5)) is None
        assert "1e-9" in accuracy_note(NetworkSpec(activation="relu", prior=prior, input_dim=6), kernel=True)
    # within the spherical rules' reach (a few points) neither `kernel` nor `theory` has a note
    assert all(note(kernel, activation=a, prior=p) is None for kernel in (True, False)
               for a in ("tanh", "gelu", "silu", "sigmoid", "softplus") for p in ("laplace", "student-t"))
    for kernel in (True, False):
        assert all("1e-9" in note(kernel, beyond, activation=a, prior="student-t")
                   for a in ("tanh", "gelu", "silu", "sigmoid", "softplus"))
    assert note(False, activation="erf", prior="student-t") is None
    assert "measured up to 8.9e-10" in note(False, beyond, activation="erf", prior="student-t")


def test_cli_kernel_warnings_use_the_points(capsys):
    args = ["kernel", "--activation", "tanh", "--prior", "uniform", "--sigma-w", "3", "--sigma-b", "1"]
    assert main(args + ["--x", "1,0.5;-0.3,1.2"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []
    assert main(args + ["--x", "4,2;-1.2,4.8"]) == 0
    assert any("uniform" in w for w in json.loads(capsys.readouterr().out)["warnings"])
