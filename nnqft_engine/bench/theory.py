"""Latency of the exact depth-1 finite-width theory and of the exact output densities the Outputs view draws."""
from __future__ import annotations

import numpy as np

from ..spec import NetworkSpec
from ..theory.density import output_density
from ..theory.finite_width import exact_correlators
from ..theory.joint_density import joint_density
from ..theory.kernels import kernels
from .sampler import _best_time as _best

PRIORS_PRESET = NetworkSpec(width=3, activation="erf", prior="laplace", sigma_w=2.0, sigma_b=0.1)
CLT_LAPLACE = NetworkSpec(width=2, activation="relu", prior="laplace", sigma_w=1.5, sigma_b=0.1)
CLT_UNIFORM = NetworkSpec(width=2, activation="relu", prior="uniform", sigma_w=1.5, sigma_b=0.1)
CLT_SIN_LAPLACE = NetworkSpec(width=2, activation="sin", prior="laplace", sigma_w=1.5, sigma_b=0.1)
CLT_GELU = NetworkSpec(width=2, activation="gelu", sigma_w=1.5, sigma_b=0.1)
CLT_GELU_UNIFORM = NetworkSpec(width=1, activation="gelu", prior="uniform", sigma_w=1.5, sigma_b=0.1)
CLT_SIN_UNIFORM = NetworkSpec(width=2, activation="sin", prior="uniform", sigma_w=1.5, sigma_b=0.1)
CLT_GELU_LAPLACE = NetworkSpec(width=2, activation="gelu", prior="laplace", sigma_w=1.5, sigma_b=0.1)
CLT_NO_BIAS = NetworkSpec(width=2, activation="relu", sigma_w=1.5, sigma_b=0.0)
CLT_NO_BIAS_STUDENT_T = NetworkSpec(width=2, activation="relu", prior="student-t", sigma_w=1.5, sigma_b=0.0)
CLT_STUDENT_T = NetworkSpec(width=2, activation="relu", prior="student-t", sigma_w=1.5, sigma_b=0.1)
RELU_UNIFORM_D5 = NetworkSpec(width=4, activation="relu", prior="uniform", sigma_w=2.0, sigma_b=0.5, input_dim=5)
TANH_LAPLACE_D2 = NetworkSpec(width=4, activation="tanh", prior="laplace", sigma_w=3.0, sigma_b=1.0, input_dim=2)
GELU_LAPLACE_D2 = NetworkSpec(width=4, activation="gelu", prior="laplace", sigma_w=3.0, sigma_b=1.0, input_dim=2)


def benchmark(points: int = 16, repeats: int = 3) -> dict[str, float]:
    """Seconds for the exact theory at `points` points (all pair configurations), and for the exact 1-D and
    joint densities of the Priors preset (erf × laplace, N = 3) and of relu × laplace (and, 1-D, uniform) at
    N = 2 (the joint on the app's 161² grid), sin × laplace at N = 2, each best of `repeats`; and, once, the
    joint densities of gelu and of relu × student-t at N = 2 on the app's window (±6.5 SD), which the app computes
    after the sample; gelu ×
    uniform at N = 1, sin × uniform and gelu × laplace at N = 2 (once each) and relu without biases at N = 2
    (f-space forms; under student-t once, cold: its per-ν tables are built); and, once, at `points` points, the
    relu × uniform kernel at d = 5 with a bias (six live parameters, the polytope rule's largest) and tanh ×
    laplace's exact theory at d = 2 (the pair's characteristic function, every pair moment)."""
    x = np.linspace(-2.0, 2.0, points)
    out = {}
    for act in ("erf", "relu", "tanh"):
        spec = NetworkSpec(width=8, activation=act, prior="laplace" if act == "relu" else "gaussian")
        out[f"exact_theory_{points}pt_{act}_s"] = _best(lambda: exact_correlators(spec, x), repeats)
    out["density_priors_preset_s"] = _best(lambda: output_density(PRIORS_PRESET, 1.0), repeats)
    out["density_relu_laplace_n2_s"] = _best(lambda: output_density(CLT_LAPLACE, 1.0), repeats)
    out["density_relu_uniform_n2_s"] = _best(lambda: output_density(CLT_UNIFORM, 1.0), repeats)
    out["joint_density_priors_preset_s"] = _best(lambda: joint_density(PRIORS_PRESET, 1.0, -1.0, points=161), repeats)
    out["joint_density_relu_laplace_n2_s"] = _best(lambda: joint_density(CLT_LAPLACE, 1.0, -0.5, points=161), repeats)
    out["density_sin_laplace_n2_s"] = _best(lambda: output_density(CLT_SIN_LAPLACE, 1.0), repeats)
    out["joint_density_gelu_n2_s"] = _best(lambda: joint_density(CLT_GELU, 1.0, -0.5, points=161, span_sd=6.5), 1)
    out["joint_density_relu_student_t_n2_s"] = _best(
        lambda: joint_density(CLT_STUDENT_T, 1.0, -0.5, points=161, span_sd=6.5), 1)
    out["density_gelu_uniform_n1_s"] = _best(lambda: output_density(CLT_GELU_UNIFORM, 1.0), repeats)
    out["density_sin_uniform_n2_s"] = _best(lambda: output_density(CLT_SIN_UNIFORM, 1.0), 1)
    out["density_gelu_laplace_n2_s"] = _best(lambda: output_density(CLT_GELU_LAPLACE, 1.0), 1)
    out["density_relu_no_bias_n2_s"] = _best(lambda: output_density(CLT_NO_BIAS, 1.0), repeats)
    out["density_relu_no_bias_student_t_n2_s"] = _best(lambda: output_density(CLT_NO_BIAS_STUDENT_T, 1.0), 1)
    xs = np.random.default_rng(0).normal(size=(points, 5))
    out[f"kernel_relu_uniform_d5_{points}pt_s"] = _best(lambda: kernels(RELU_UNIFORM_D5, xs), 1)
    out[f"theory_tanh_laplace_d2_{points}pt_s"] = _best(lambda: exact_correlators(TANH_LAPLACE_D2, xs[:, :2]), 1)
    out["theory_gelu_laplace_d2_2pt_s"] = _best(lambda: exact_correlators(GELU_LAPLACE_D2, xs[:2, :2]), 1)
    return out
