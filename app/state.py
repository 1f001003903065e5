"""The one state object: every setting of the app plus the seed.

A session file and a preset both store exactly `AppState.to_dict()`; controls edit the state and views read
it. Per-view settings that the shared controls do not cover live in `view_settings[view_key]` (a plain
JSON-able dict), so views written later (e.g. the field view) are saved and restored too.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields

from nnqft_engine import NetworkSpec, SampleSettings, SpecError
from nnqft_engine.spec import (
    ACTIVATIONS,
    DEVICES,
    DTYPES,
    INDEPENDENCE,
    PARAMETERIZATIONS,
    PRIORS,
)

# The app keeps per-network tensors small enough to stay live: a hidden N×N layer costs N² parameters.
MAX_DEEP_LAYER_PARAMS = 4_000_000
MAX_WIDTH = 100_000
DATASETS = ("sin", "step", "abs", "noisy")
VIEW_KEYS = ("outputs", "correlators", "training", "kernels", "depth")


def max_width_for_depth(depth: int) -> int:
    """Widest network the app samples live at this depth (depth 1 is linear in N, deeper ones quadratic)."""
    if depth <= 1:
        return MAX_WIDTH
    return int(math.sqrt(MAX_DEEP_LAYER_PARAMS / (depth - 1)))


# The app starts from the engine's own specs, changed only where a live demo wants it: a narrow network
# (non-Gaussianity visible at once), σ_w = 1.5 and an ensemble that refines in about a second. AppState's
# network and sampling fields take their defaults from these two objects (one source for every default).
START_NETWORK = NetworkSpec(width=32, sigma_w=1.5)
START_SAMPLING = SampleSettings(ensemble=20_000)

# AppState fields that are NetworkSpec's / SampleSettings' fields under the same names: views declare what
# they depend on from these, and `network_spec` / `sample_settings` build the specs from them.
NETWORK_FIELDS = frozenset(f.name for f in fields(NetworkSpec)) - {"input_dim"}
SAMPLING_FIELDS = frozenset({"ensemble", "seed", "device", "dtype"})


@dataclass
class AppState:
    """All settings. Field names are the keys of session files and presets."""

    # network (docs/physics.md §1–2, §5): NetworkSpec's fields, START_NETWORK's values
    width: int = START_NETWORK.width
    depth: int = START_NETWORK.depth
    activation: str = START_NETWORK.activation
    sigma_w: float = START_NETWORK.sigma_w
    sigma_b: float = START_NETWORK.sigma_b
    prior: str = START_NETWORK.prior
    prior_dof: float = START_NETWORK.prior_dof
    parameterization: str = START_NETWORK.parameterization
    independence: str = START_NETWORK.independence
    independence_strength: float = START_NETWORK.independence_strength
    # sampling: SampleSettings' fields, START_SAMPLING's values
    ensemble: int = START_SAMPLING.ensemble
    seed: int = START_SAMPLING.seed
    device: str = START_SAMPLING.device
    dtype: str = START_SAMPLING.dtype
    # inputs: x1 is the histogram point, x2 the partner of the joint scatter and pair correlators
    x1: float = 0.5
    x2: float = -0.5
    x_min: float = -3.0
    x_max: float = 3.0
    # training (docs/physics.md §6)
    dataset: str = "sin"
    lr: float = 1.0
    train_mode: str = "ntk"
    train_ensemble: int = 64
    steps_per_frame: int = 20
    # presentation
    view: str = "outputs"
    theme: str = "dark"
    title: str = ""
    caption: str = ""
    view_settings: dict = field(default_factory=dict)

    # ---- engine objects -------------------------------------------------------------------------------
    def network_spec(self, **overrides) -> NetworkSpec:
        kw = {name: getattr(self, name) for name in NETWORK_FIELDS}
        kw.update(input_dim=1, width=self.effective_width)
        kw.update(overrides)
        return NetworkSpec(**kw)

    def sample_settings(self, **overrides) -> SampleSettings:
        kw = dict(ensemble=self.ensemble, seed=self.seed, device=self.device, dtype=self.dtype,
                  memory_budget_mb=32.0)
        kw.update(overrides)
        return SampleSettings(**kw)

    @property
    def effective_width(self) -> int:
        return min(self.width, max_width_for_depth(self.depth))

    # ---- persistence ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict, base: "AppState | None" = None) -> "AppState":
        """A validated state from a (possibly partial) dict; unknown keys or bad values raise SpecError."""
        if not isinstance(data, dict):
            raise SpecError("settings must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise SpecError(f"unknown setting(s): {', '.join(unknown)}")
        state = dataclasses.replace(base) if base is not None else cls()
        state.view_settings = dict(state.view_settings)
        for name, value in data.items():
            default = getattr(cls(), name)
            if isinstance(default, bool) or default is None:
                pass
            elif isinstance(default, int) and not isinstance(value, bool) and isinstance(value, (int, float)) \
                    and float(value).is_integer():
                value = int(value)
            elif isinstance(default, float) and not isinstance(value, bool) and isinstance(value, (int, float)):
                value = float(value)
            if type(value) is not type(default):
                raise SpecError(f"setting {name!r} must be {type(default).__name__}, got {value!r}")
            setattr(state, name, value)
        state.validate()
        return state

    def validate(self) -> None:
        """Raise SpecError (one sentence) if any setting is out of range."""
        choices = {"activation": ACTIVATIONS, "prior": PRIORS, "parameterization": PARAMETERIZATIONS,
                   "independence": INDEPENDENCE, "device": DEVICES, "dtype": DTYPES, "dataset": DATASETS,
                   "train_mode": ("ntk", "nngp"), "view": VIEW_KEYS + ("field",), "theme": ("light", "dark")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise SpecError(f"unknown {name} {getattr(self, name)!r}; choose one of: {', '.join(allowed)}")
        if not 1 <= self.width <= MAX_WIDTH:
            raise SpecError(f"width must be between 1 and {MAX_WIDTH}, got {self.width}")
        if not 1 <= self.ensemble <= 10_000_000:
            raise SpecError(f"ensemble size must be between 1 and 10000000, got {self.ensemble}")
        if not 1 <= self.train_ensemble <= 4096:
            raise SpecError(f"training ensemble must be between 1 and 4096, got {self.train_ensemble}")
        if not 1 <= self.steps_per_frame <= 10_000:
            raise SpecError(f"steps per frame must be between 1 and 10000, got {self.steps_per_frame}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise SpecError(f"learning rate must be a positive number, got {self.lr}")
        for name in ("x1", "x2", "x_min", "x_max"):
            if not math.isfinite(getattr(self, name)):
                raise SpecError(f"{name} must be finite")
        if not self.x_min < self.x_max:
            raise SpecError("the input range needs x_min < x_max")
        if not isinstance(self.view_settings, dict):
            raise SpecError("view_settings must be a JSON object")
        self.network_spec()
        self.sample_settings()
