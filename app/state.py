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
from nnqft_engine.dependence import check_mechanism
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
        """A validated state from a (possibly partial) dict; unknown keys or bad values raise SpecError (one
        sentence), never TypeError/ValueError/OverflowError: sessions and presets are untrusted input."""
        if not isinstance(data, dict):
            raise SpecError("settings must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(map(str, data)) - set(known))
        if unknown:
            raise SpecError(f"unknown setting(s): {', '.join(_short(u) for u in unknown[:8])}")
        state = dataclasses.replace(base) if base is not None else cls()
        state.view_settings = dict(state.view_settings)
        defaults = cls()
        for name, value in data.items():
            value = _coerce(name, value, getattr(defaults, name))
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
            value = getattr(self, name)
            if not (math.isfinite(value) and abs(value) <= MAX_INPUT):
                raise SpecError(f"{name} must be a number between {-MAX_INPUT:g} and {MAX_INPUT:g}, got {value:g}")
        if not self.x_min < self.x_max:
            raise SpecError("the input range needs x_min < x_max")
        if len(self.title) > MAX_TITLE:
            raise SpecError(f"the title is {len(self.title):,} characters long; at most {MAX_TITLE} are shown")
        if len(self.caption) > MAX_CAPTION:
            raise SpecError(f"the caption is {len(self.caption):,} characters long; keep it under {MAX_CAPTION:,}")
        validate_view_settings(self.view_settings)
        spec = self.network_spec()
        self.sample_settings()
        try:   # combinations no job can compute are refused here, at the control
            check_mechanism(spec)
        except SpecError as exc:
            raise SpecError(f"{exc}: choose a continuous prior or another independence mode") from None


# Inputs beyond this overflow σ_w²·x² in float32 sampling long before they mean anything.
MAX_INPUT = 1e6
MAX_TITLE = 200
MAX_CAPTION = 2_000
# Integers beyond this are not settings (and float() of a 5000-digit integer overflows).
_MAX_INT = 2**53


def _short(value, limit: int = 40) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return "a number of {:,} bits".format(value.bit_length())
    if isinstance(value, (dict, list)):
        return f"a JSON {'object' if isinstance(value, dict) else 'list'}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _coerce(name: str, value, default):
    """`value` as the type of `default`, or SpecError naming the setting."""
    def bad(kind: str):
        return SpecError(f"setting {name!r} must be {kind}, got {_short(value)}")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a whole number")
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise bad("a whole number")
        if abs(value) > _MAX_INT:
            raise bad(f"a whole number of at most {_MAX_INT:.0e}")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        if isinstance(value, int) and abs(value) > _MAX_INT:
            raise bad("a number of reasonable size")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad("text")
        return value
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise bad("a JSON object")
        return dict(value)
    raise bad(type(default).__name__)


# The settings each view keeps in view_settings[key] and their types; other views keep none.
VIEW_SETTING_TYPES: dict[str, dict[str, type]] = {
    "outputs": {}, "kernels": {}, "training": {},
    "correlators": {"width_sweep": bool, "sweep_ensemble": int},
    # "width" and "ensemble" only in sessions written before the Field view shared the dock's controls
    # (app/migrate.py moves them onto state.width / state.ensemble).
    "field": {"dim": int, "mass": float, "cutoff": float, "box": float, "lam": float, "alpha": float,
              "width": int, "sampler": str, "ensemble": int},
}
# The field view's settings before any are changed. Width and ensemble size are the shared state's
# (state.width, state.ensemble): one control per concept.
FIELD_DEFAULTS = {"dim": 1, "mass": 1.0, "cutoff": 4.0, "box": 4.0, "lam": 0.1, "alpha": 0.0, "sampler": "reweight"}
MAX_FIELD_ENSEMBLE = 2_000_000   # an old session's field ensemble may go this far


def validate_view_settings(vs) -> None:
    """Type-check each known view's settings and their ranges; unknown views or keys raise SpecError."""
    if not isinstance(vs, dict):
        raise SpecError("view_settings must be a JSON object")
    unknown = sorted(set(map(str, vs)) - set(VIEW_SETTING_TYPES))
    if unknown:
        raise SpecError(f"unknown view(s) in view_settings: {', '.join(_short(u) for u in unknown[:8])}")
    for key, settings in vs.items():
        if not isinstance(settings, dict):
            raise SpecError(f"view_settings[{key!r}] must be a JSON object, got {_short(settings)}")
        types = VIEW_SETTING_TYPES[key]
        extra = sorted(set(map(str, settings)) - set(types))
        if extra:
            raise SpecError(f"unknown {key} view setting(s): {', '.join(_short(u) for u in extra[:8])}")
        for name, value in settings.items():
            default = {bool: False, int: 0, float: 0.0, str: ""}[types[name]]
            settings[name] = _coerce(f"{key}.{name}", value, default)
    if "field" in vs:
        _validate_field(vs["field"])


def _validate_field(settings: dict) -> None:
    from nnqft_engine.field import FieldSpec
    from nnqft_engine.field.spec import SAMPLERS

    s = {**FIELD_DEFAULTS, **settings}
    if s["sampler"] not in SAMPLERS:
        raise SpecError(f"unknown field sampler {_short(s['sampler'])}; choose one of: {', '.join(SAMPLERS)}")
    if not 1 <= s.get("ensemble", 1) <= MAX_FIELD_ENSEMBLE:
        raise SpecError(f"field ensemble must be between 1 and {MAX_FIELD_ENSEMBLE:,}, got {s['ensemble']}")
    FieldSpec(dim=s["dim"], mass=s["mass"], cutoff=s["cutoff"], box=s["box"], lam=s["lam"], alpha=s["alpha"],
              width=s.get("width", 1))
