"""φ⁴ theory as a neural network (2307.03223 §4, docs/physics.md §7): the cos-net free field, its exact
propagator and finite-width 4-point function, the density-deformed interacting theory (reweighting and
MCMC samplers) and first-order Feynman diagrams in a box."""
from .cosnet import (
    draw_neurons,
    exact_g4c,
    exact_g4c_pair,
    field_at,
    g2_estimator_variance,
    sample_configurations,
)
from .diagrams import (
    CONVENTION,
    fit_coupling,
    one_loop_g2,
    tree_g4c_pair,
    tree_g4c_pair_unit,
    tree_g4c_unit,
)
from .gaussian import measure_gaussian_field
from .interaction import FieldEstimate, FieldTheory, field_theory, measure_field
from .mcmc import integrated_autocorrelation_time
from .propagator import propagator, propagator_at_zero, propagator_infinite_cutoff
from .spec import SAMPLERS, FieldSpec, McmcSettings

__all__ = [
    "FieldSpec", "McmcSettings", "SAMPLERS", "FieldEstimate", "FieldTheory", "measure_field", "field_theory",
    "propagator", "propagator_at_zero", "propagator_infinite_cutoff", "exact_g4c", "exact_g4c_pair",
    "g2_estimator_variance", "draw_neurons", "field_at", "sample_configurations", "tree_g4c_pair",
    "tree_g4c_pair_unit", "tree_g4c_unit", "one_loop_g2", "fit_coupling", "CONVENTION",
    "integrated_autocorrelation_time", "measure_gaussian_field",
]
