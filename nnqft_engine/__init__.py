"""NN-QFT Explorer's compute engine: random-network ensembles and the field theory they become.

Pure torch/numpy/scipy; no Qt. Public names are re-exported here; implementations live one concept per
module. Every long computation is a generator of running results (see `run_to_completion`).
"""
from .activations import activation_names, get_activation
from .devices import DeviceUnavailable, device_label, resolve_device
from .ensemble import as_points, iter_outputs, sample_outputs
from .flow_data import dataset
from .flow_theory import FlowPrediction, flow_prediction, max_stable_lr
from .measure import histogram_edges, measure, run_to_completion
from .network import apply as apply_network, empirical_ntk, init_params
from .priors import kurtosis, sample_standardized
from .spec import NetworkSpec, SampleSettings, SpecError
from .statistics import Estimate, EnsembleStats, Histogram
from .training import EnsembleTrainer, TrainSettings, TrainSnapshot, train
from .finite_width import FiniteWidthTheory, exact_correlators, g4c
from .width_sweep import WidthSweepResult, fit_log_slope, width_sweep
from .edgeworth import edgeworth_density
from .field import FieldEstimate, FieldSpec, McmcSettings, measure_field, propagator as field_propagator

__version__ = "0.1.0"

__all__ = [
    "NetworkSpec", "SampleSettings", "SpecError", "DeviceUnavailable",
    "activation_names", "get_activation", "kurtosis", "sample_standardized",
    "resolve_device", "device_label", "as_points", "iter_outputs", "sample_outputs",
    "measure", "run_to_completion", "histogram_edges", "Estimate", "EnsembleStats", "Histogram",
    "init_params", "apply_network", "empirical_ntk",
    "FieldSpec", "McmcSettings", "FieldEstimate", "measure_field", "field_propagator",
    "FiniteWidthTheory", "exact_correlators", "g4c", "WidthSweepResult", "width_sweep", "fit_log_slope",
    "edgeworth_density",
    "FlowPrediction", "flow_prediction", "max_stable_lr", "dataset",
    "TrainSettings", "TrainSnapshot", "EnsembleTrainer", "train",
    "__version__",
]
