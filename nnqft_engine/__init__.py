"""NN-QFT Explorer's compute engine: random-network ensembles and the field theory they become.

Pure torch/numpy/scipy; no Qt. A small facade over the subpackages, whose names say what they hold:
`sampling` (Monte-Carlo ensembles and their statistics), `theory` (analytic kernels and finite-width
correlators; never imports `sampling`), `flow` (gradient-flow training and its closed form), `field`
(φ⁴ theory as a network), `cli` and `bench`. Shared at the top: `spec` (settings and input validation),
`activations`, `priors`, `dependence` and `devices`. Every long computation is a generator of running
results (see `run_to_completion`).
"""
from .activations import activation_names, get_activation
from .devices import DeviceUnavailable, device_label, resolve_device
from .field import FieldEstimate, FieldSpec, McmcSettings, measure_field
from .flow.data import dataset
from .flow.theory import FlowPrediction, flow_prediction, max_stable_lr
from .flow.training import EnsembleTrainer, TrainSettings, TrainSnapshot, train
from .priors import kurtosis, sample_standardized
from .sampling.ensemble import iter_outputs, sample_outputs
from .sampling.measure import histogram_edges, measure, run_to_completion
from .sampling.network import empirical_ntk, init_params
from .sampling.statistics import EnsembleStats, Estimate, Histogram
from .sampling.width_sweep import WidthSweepResult, fit_log_slope, width_sweep
from .spec import NetworkSpec, SampleSettings, SpecError, as_points
from .theory.edgeworth import edgeworth_density
from .theory.finite_width import FiniteWidthTheory, exact_correlators, g4c
from .theory.kernels import Kernels, kernels

__version__ = "0.1.0"

__all__ = [
    "NetworkSpec", "SampleSettings", "SpecError", "DeviceUnavailable",
    "activation_names", "get_activation", "kurtosis", "sample_standardized",
    "resolve_device", "device_label", "as_points", "iter_outputs", "sample_outputs",
    "measure", "run_to_completion", "histogram_edges", "Estimate", "EnsembleStats", "Histogram",
    "Kernels", "kernels", "init_params", "empirical_ntk",
    "FieldSpec", "McmcSettings", "FieldEstimate", "measure_field",
    "FiniteWidthTheory", "exact_correlators", "g4c", "WidthSweepResult", "width_sweep", "fit_log_slope",
    "edgeworth_density",
    "FlowPrediction", "flow_prediction", "max_stable_lr", "dataset",
    "TrainSettings", "TrainSnapshot", "EnsembleTrainer", "train",
    "__version__",
]
