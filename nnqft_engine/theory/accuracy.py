"""Where the first-layer integrals are not shown to reach 1e-9 relative (docs/physics.md §4.2): the sentence
`kernel` and `theory` put in their JSON `warnings`."""
from __future__ import annotations

import numpy as np

from ..activations import get_activation
from ..spec import NetworkSpec
from . import fourier_pair, relu_polytope, scale_mixture, smooth_sphere, sphere_remainder, trig_moments
from .first_layer import live_parameters

# smooth φ × uniform with at most three live parameters: the tensor Gauss–Legendre rule (≥ 62 nodes on
# [−√3, √3]) against an independent composite rule and nested quad (NNGP, NTK, G2, G4c, G6c; tanh, erf, gelu, silu,
# sigmoid, softplus; σ_w ∈ {1, 2, 3}, σ_b ∈ {0.3, 1}): ≤ 1.2e-13 relative while every coefficient σ_w|x_l|/√d,
# σ_b is ≤ 2.55, ≤ 2.6e-10 at 5.1 (tanh's NTK; the others ≤ 1e-12), 4e-5 at 10.2: the nearest singularity of
# φ(a·u) in u_l is ~1/|a_l| away, so the error grows geometrically with the largest coefficient (§4.2)
UNIFORM_TENSOR_REACH = 5.1

# smooth φ × laplace / student-t (ν = 6) at d = 2 with a bias (three live parameters), the tensor Gauss rule against
# an independent composite Gauss–Legendre rule over (w₁, w₂, b) (itself within 6e-15 of nested quad): the largest
# relative error over σ_w ∈ {1, 2, 3} (student-t {1, 3}), σ_b ∈ {0.3, 1}, width 1, of (NNGP or NTK, G2/G4c/G6c)
# (docs/physics.md §4.2). erf's NNGP/NTK use the scale mixture instead (1e-9); gelu's G4c under student-t is not
# decided (the reference's cut at |u| = 2000 leaves ~1e-6 of E[gelu⁴], whose integrand decays only like |u|⁻³).
# Under laplace the pair's characteristic function (`fourier_pair`) replaces the tensor rule within its node budget
# (every moment of tanh, sigmoid, erf; the NNGP/NTK and G2 of gelu, silu, softplus); for `theory` with three live
# parameters the spherical rule (`smooth_sphere`: every smooth φ under laplace, tanh / sigmoid / erf under
# student-t; `sphere_remainder`: gelu / silu / softplus under student-t, and the student-t kernels of a few
# points) does, within its own budget. The entries apply beyond both.
TENSOR_RULE_ERROR: dict[tuple[str, str], tuple[float | None, float | None]] = {
    ("tanh", "laplace"): (1.4e-5, 2.3e-5), ("sigmoid", "laplace"): (5.5e-9, 2.2e-8),
    ("gelu", "laplace"): (3.5e-7, 3.5e-7), ("silu", "laplace"): (1.1e-8, 1.0e-8),
    ("softplus", "laplace"): (8.3e-10, 6.0e-11), ("erf", "laplace"): (None, 5.4e-5),
    ("tanh", "student-t"): (1.3e-10, 1.1e-9), ("sigmoid", "student-t"): (2.0e-11, 7.1e-11),
    ("gelu", "student-t"): (1.8e-10, None), ("erf", "student-t"): (None, 8.9e-10),
}


class InexactWarning(UserWarning):
    """A number the API returns that is not shown to reach 1e-9 relative (the sentence says why)."""


def largest_coefficient(spec: NetworkSpec, x: np.ndarray) -> float:
    """max(σ_w|x_l|/√d, σ_b) over the points x (P, d): z = a·u with u standardized."""
    return max(spec.sigma_w * float(np.abs(x).max(initial=0.0)) / np.sqrt(spec.input_dim), spec.sigma_b)


def accuracy_note(spec: NetworkSpec, *, kernel: bool = False, x: np.ndarray | None = None) -> str | None:
    """A sentence where the first-layer integrals are not known to reach 1e-9 relative, None where they are;
    `kernel`: for the NNGP/NTK only (degrees 0 and 2; `theory` also needs the fourth and sixth moments);
    `x` (P, d): the points, where the accuracy depends on them (smooth φ under the uniform prior)."""
    act = get_activation(spec.activation)
    if spec.input_dim == 1 and act.name in ("sin", "cos") and spec.prior in ("laplace", "student-t") \
            and not trig_moments.supported(spec):
        # the d = 1 graded rule does not resolve the oscillation out in the heavy tails (measured against the
        # characteristic function, σ_w = 3/√2, σ_b = 1: laplace 2e-8, student-t 3e-6)
        return (f"{act.name} under the {spec.prior} prior at input_dim 1: the graded first-layer rule misses the "
                "exact (characteristic-function) moments by up to ~1e-6 relative, 1e-9 is not guaranteed "
                "(docs/physics.md §4.2)")
    if spec.input_dim == 1 or spec.prior == "rademacher" or act.exponential or act.name == "linear":
        return None
    if not kernel and spec.independence == "sequential" and not spec.iid:
        return ("the sequential mechanism at input_dim > 1: its moments E[s² h h] use the unsplit tensor rules, "
                "1e-9 relative is not guaranteed (docs/physics.md §4.2)")
    if spec.prior == "gaussian" or trig_moments.supported(spec):
        return None    # every two-point moment through the pair's bivariate Gaussian (§4.2)
    live = live_parameters(spec)
    if not act.smooth:
        if live <= 3 or relu_polytope.supported(spec):
            return None
        if scale_mixture.supported(spec):
            if scale_mixture.full_accuracy(spec, (0, 2) if kernel else (2, 4, 6)):
                return None
            return (f"{act.name} with {live} live first-layer parameters under the {spec.prior} prior: the scale-"
                    f"mixture rule's box is cut to bound its cost (a moment close to divergence, or > "
                    f"{relu_polytope.MAX_LIVE} live parameters), 1e-9 relative is not guaranteed (docs/physics.md §4.2)")
        # beyond relu_polytope.MAX_LIVE: the bias-axis split, which missed the NNGP by 2.8e-4 and the NTK by 3.2e-3
        # at four live parameters (d = 3 with x₃ = 0 against the d = 2 nested quad, σ_w ≤ 3, §4.2)
        return (f"{act.name} with {live} live first-layer parameters under the {spec.prior} prior (more than "
                f"{relu_polytope.MAX_LIVE}: no polytope rule): first-layer integrals are split at the kinks only "
                "along the bias, which missed the NNGP by 2.8e-4 and the NTK by 3.2e-3 relative at four live "
                "parameters; not 1e-9 (docs/physics.md §4.2)")
    if spec.prior == "uniform" and live <= 3:
        return _uniform_smooth_note(spec, act.name, x)
    if scale_mixture.erf_supported(spec) and kernel:
        return None   # E[φφ], E[φ′φ′] through the scale mixture (§4.2)
    pts = None if x is None else np.atleast_2d(np.asarray(x, dtype=np.float64))
    if pts is not None and fourier_pair.within_budget(spec, pts, kernel=kernel):
        return None   # the pair moments through the pair's characteristic function (§4.2)
    if pts is not None and kernel and sphere_remainder.kernel_supported(spec, pts):
        return None   # a few points under student-t: one spherical rule (and relu's mixture) over all (§4.2)
    if pts is not None and not kernel and smooth_sphere.within_budget(spec, pts):
        return None   # every moment `theory` takes from the spherical rule, G2 as the kernels (§4.2)
    if pts is not None and not kernel and sphere_remainder.within_budget(spec, pts) \
            and scale_mixture.full_accuracy(spec, (2, 4, 6)):
        return None   # relu's scale mixture plus the remainder on the sphere (§4.2)
    g2_exact = pts is not None and not kernel and fourier_pair.within_budget(spec, pts, kernel=True)
    return _heavy_tail_note(spec, act.name, live, kernel, g2_exact)


def _heavy_tail_note(spec: NetworkSpec, name: str, live: int, kernel: bool, g2_exact: bool = False) -> str:
    """smooth φ × laplace / student-t (and uniform beyond three live parameters): the tensor Gauss rule, with the
    error measured at d = 2 where there is one; `g2_exact`: G2 from `fourier_pair` (gelu, silu, softplus)."""
    erf_mixture = not kernel and (g2_exact or (name == "erf" and scale_mixture.erf_supported(spec)))
    exact = "the characteristic function's" if g2_exact else "the scale mixture's"
    what = "NNGP/NTK" if kernel else (f"G4c, G6c (G2 is {exact}, 1e-9)" if erf_mixture else "G2, G4c, G6c")
    worst = TENSOR_RULE_ERROR.get((name, spec.prior), (None, None))[0 if kernel else 1]
    if live > 3 or (spec.prior == "student-t" and spec.prior_dof != 6.0):
        worst = None
    measured = ("not measured" if worst is None else
                f"measured up to {worst:.1e} relative (d = 2 with a bias, σ_w ≤ 3, σ_b ∈ {{0.3, 1}}, two points)")
    head = f"{name} at input_dim {spec.input_dim} under the {spec.prior} prior"
    rule = ("E[h²h²] and E[h⁶] use" if erf_mixture else "first-layer integrals use")
    return (f"{head}: {rule} a tensor product of the prior's Gauss rule, not split at the activation's transition; "
            f"{what} {measured}; 1e-9 relative is not guaranteed (docs/physics.md §4.2)")


def _uniform_smooth_note(spec: NetworkSpec, name: str, x: np.ndarray | None) -> str | None:
    """smooth φ × uniform, at most three live parameters: exact to ~1e-13 up to UNIFORM_TENSOR_REACH."""
    reach = None if x is None else largest_coefficient(spec, np.atleast_2d(np.asarray(x, dtype=np.float64)))
    if reach is not None and reach <= UNIFORM_TENSOR_REACH:
        return None
    where = "" if reach is None else f" (here {reach:.3g})"
    return (f"{name} under the uniform prior at input_dim {spec.input_dim}: the tensor Gauss–Legendre rule is "
            f"measured ≤ 2.6e-10 relative while every coefficient σ_w|x_l|/√d, σ_b is ≤ {UNIFORM_TENSOR_REACH}, "
            f"but 4e-5 at 10.2{where}; 1e-9 relative is not guaranteed (docs/physics.md §4.2)")
