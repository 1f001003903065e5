"""Where the first-layer integrals are not shown to reach 1e-9 relative (docs/physics.md §4.2): the sentence
`kernel` and `theory` put in their JSON `warnings`."""
from __future__ import annotations

from ..activations import get_activation
from ..spec import NetworkSpec
from . import scale_mixture, trig_moments
from .first_layer import live_parameters


def accuracy_note(spec: NetworkSpec, *, kernel: bool = False) -> str | None:
    """A sentence where the first-layer integrals are not known to reach 1e-9 relative, None where they are;
    `kernel`: for the NNGP/NTK only (degrees 0 and 2; `theory` also needs the fourth and sixth moments)."""
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
        if live <= 3:
            return None
        if scale_mixture.supported(spec):
            if scale_mixture.full_accuracy(spec, (0, 2) if kernel else (2, 4, 6)):
                return None
            return (f"{act.name} with {live} live first-layer parameters under the {spec.prior} prior: the scale-"
                    "mixture rule's box is cut to bound its cost (a moment close to divergence, or ≥ 5 live "
                    "parameters), 1e-9 relative is not guaranteed (docs/physics.md §4.2)")
        return (f"{act.name} with {live} live first-layer parameters under the {spec.prior} prior (no Gaussian scale "
                "mixture): first-layer integrals are split at the kinks only along the bias, measured ~2e-4 "
                "relative, not 1e-9 (docs/physics.md §4.2)")
    if scale_mixture.erf_supported(spec):
        if kernel:
            return None   # E[φφ], E[φ′φ′] through the scale mixture (§4.2)
        return (f"erf at input_dim > 1 under the {spec.prior} prior: G2 comes from the scale mixture (1e-9), but "
                "E[h²h²] and E[h⁶] (G4c, G6c) use a tensor product of the prior's Gauss rule; 1e-9 relative is not "
                "guaranteed there (docs/physics.md §4.2)")
    return (f"{act.name} at input_dim > 1 under the {spec.prior} prior: first-layer integrals use a tensor product "
            "of the prior's Gauss rule, not split at the activation's transition; 1e-9 relative is not guaranteed "
            "(docs/physics.md §4.2)")
