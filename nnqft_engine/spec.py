"""Frozen, validated descriptions of a random network ensemble (docs/physics.md §1–2, §5).

Every compute entry point takes these objects; nothing else carries settings. Validation raises
`SpecError` (a ValueError) with one sentence naming the bad value, which the CLI and the app show as is.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .activations import activation_names

ACTIVATIONS = activation_names()   # the activation records are the one source
PRIORS = ("gaussian", "uniform", "laplace", "student-t", "rademacher")
PARAMETERIZATIONS = ("standard", "ntk")
INDEPENDENCE = ("none", "shared-scale", "sequential")
DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("float32", "float64")

MAX_DEPTH = 6
MAX_WIDTH = 1_000_000
MAX_INPUT_DIM = 4096
# Scales and coordinates beyond these overflow float64 within a few layers (σ_w^(2·depth)·|x|² ≫ 1e308) and
# describe no network anyone trains.
MAX_SIGMA = 1e6
MAX_ABS_X = 1e6


class SpecError(ValueError):
    """A user-facing validation error: the message is one readable sentence."""


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SpecError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")


def _check_number(name: str, value: float, *, low: float | None = None, high: float | None = None,
                  low_open: bool = False) -> None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{name} must be a number, got {value!r}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise SpecError(f"{name} must be finite, got {value!r}")
    if low is not None and (v <= low if low_open else v < low):
        raise SpecError(f"{name} must be {'>' if low_open else '>='} {low:g}, got {value!r}")
    if high is not None and v > high:
        raise SpecError(f"{name} must be <= {high:g}, got {value!r}")


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise SpecError(f"{name} must be between {low} and {high}, got {value}")


@dataclass(frozen=True)
class NetworkSpec:
    """A fully connected network f: R^d → R with `depth` hidden layers of `width` neurons.

    Every weight and bias is (scale) × (standardized draw from `prior`), so only cumulants above the
    second depend on the prior. `independence` breaks i.i.d. sampling with `independence_strength`.
    """

    input_dim: int = 1
    depth: int = 1
    width: int = 512
    activation: str = "erf"
    sigma_w: float = 1.0
    sigma_b: float = 0.1
    prior: str = "gaussian"
    prior_dof: float = 6.0
    parameterization: str = "ntk"
    independence: str = "none"
    independence_strength: float = 0.0

    def __post_init__(self) -> None:
        _check_int("input dimension", self.input_dim, 1, MAX_INPUT_DIM)
        _check_int("depth", self.depth, 1, MAX_DEPTH)
        _check_int("width", self.width, 1, MAX_WIDTH)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_number("sigma_w", self.sigma_w, low=0.0, high=MAX_SIGMA)
        _check_number("sigma_b", self.sigma_b, low=0.0, high=MAX_SIGMA)
        _check_choice("prior", self.prior, PRIORS)
        if self.prior == "student-t":
            _check_number("student-t degrees of freedom", self.prior_dof, low=4.0, low_open=True)
        _check_choice("parameterization", self.parameterization, PARAMETERIZATIONS)
        _check_choice("independence mechanism", self.independence, INDEPENDENCE)
        _check_number("independence strength", self.independence_strength, low=0.0, high=1e6)
        if self.activation == "gauss-net" and self.sigma_w > 30:
            raise SpecError("gauss-net needs sigma_w <= 30 (its normalisation e^{Σ} overflows beyond)")
        # Frozen dataclass: normalise numbers to float so equal specs compare and hash equal.
        for name in ("sigma_w", "sigma_b", "prior_dof", "independence_strength"):
            object.__setattr__(self, name, float(getattr(self, name)))

    def replace(self, **changes) -> "NetworkSpec":
        return dataclasses.replace(self, **changes)

    @property
    def iid(self) -> bool:
        return self.independence == "none" or self.independence_strength == 0.0


@dataclass(frozen=True)
class SampleSettings:
    """How to draw an ensemble: size, randomness, hardware and streaming.

    Results depend only on (spec, x, ensemble, seed, dtype, device): networks are drawn in fixed blocks
    of `BLOCK` networks, each from its own generator, so `chunk_networks` and `memory_budget_mb` change
    speed and memory, never the numbers beyond float rounding.
    """

    ensemble: int = 10_000
    seed: int = 0
    device: str = "auto"
    dtype: str = "float32"
    memory_budget_mb: float = 256.0
    chunk_networks: int | None = None

    def __post_init__(self) -> None:
        _check_int("ensemble size", self.ensemble, 1, 10**9)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        _check_choice("device", self.device, DEVICES)
        _check_choice("dtype", self.dtype, DTYPES)
        _check_number("memory budget (MB)", self.memory_budget_mb, low=1.0)
        if self.chunk_networks is not None:
            _check_int("chunk size", self.chunk_networks, 1, 10**9)

    def replace(self, **changes) -> "SampleSettings":
        return dataclasses.replace(self, **changes)

def as_points(x, input_dim: int | None = None) -> np.ndarray:
    """Points as a float64 array of shape (P, d); 1-D input gives d = 1."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    elif arr.ndim == 1:
        arr = arr.reshape(-1, 1) if (input_dim in (None, 1)) else arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise SpecError("points must be a non-empty list of numbers or of equal-length coordinate lists")
    if input_dim is not None and arr.shape[1] != input_dim:
        raise SpecError(f"points have dimension {arr.shape[1]} but the network's input dimension is {input_dim}")
    if not np.all(np.isfinite(arr)):
        raise SpecError("points must be finite numbers")
    if np.abs(arr).max() > MAX_ABS_X:
        raise SpecError(f"point coordinates must lie within ±{MAX_ABS_X:g}; rescale the inputs")
    return arr


def layer_variances(spec: NetworkSpec, x):
    """Infinite-width pre-activation variance q^l(x) of every hidden layer (gauss-net's normaliser), for
    points x (P, d) as a numpy array or a torch tensor (then differentiable, also under torch.func)."""
    q1 = spec.sigma_w**2 * (x * x).sum(1) / spec.input_dim + spec.sigma_b**2
    # For gauss-net E[φ(z)²] = 1 at every layer, so deeper layers all have σ_w² + σ_b².
    deep = q1 * 0.0 + (spec.sigma_w**2 + spec.sigma_b**2)
    return [q1] + [deep] * (spec.depth - 1)
