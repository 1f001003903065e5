"""Where the exact depth-1 laws of f exist (docs/physics.md §4.3, §4.6): the checks the density, the joint density
and the rademacher law share, each sentence naming its own subject."""
from __future__ import annotations

from ..activations import get_activation
from ..spec import NetworkSpec, SpecError


def require_exact_scope(spec: NetworkSpec, subject: str, noun: str) -> None:
    """SpecError unless depth 1, i.i.d. parameters, 1-D inputs and not gauss-net; `subject` opens the sentence
    ("the exact output density"), `noun` names it after "gauss-net's" ("output density")."""
    if spec.depth != 1:
        raise SpecError(f"{subject} exists only for depth 1 (got depth {spec.depth})")
    if not spec.iid:
        raise SpecError(f"{subject} needs i.i.d. parameters (independence 'none')")
    if spec.input_dim != 1:
        raise SpecError(f"{subject} is implemented for 1-D inputs only")
    if get_activation(spec.activation).exponential:
        raise SpecError(f"gauss-net's {noun} is not implemented (its normaliser depends on x)")
