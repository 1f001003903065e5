"""Frozen, validated description of φ⁴ theory built as a cos-net (docs/physics.md §7).

`FieldSpec` fixes the physics and the network; the engine's `SampleSettings` fixes ensemble size, seed,
device and dtype; `McmcSettings` tunes the exact sampler. Bad values raise `SpecError` (one sentence).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..spec import SpecError, _check_int, _check_number

SAMPLERS = ("reweight", "mcmc")
MAX_FIELD_WIDTH = 200_000
# Quadrature nodes per box axis: keeps a d = 3 grid (nodes³ × width per network) within reason.
MAX_NODES_PER_AXIS = {1: 4096, 2: 400, 3: 64}


@dataclass(frozen=True)
class FieldSpec:
    """Free scalar field of mass `mass` with momentum cutoff `cutoff` in `dim` dimensions, as a cos-net of
    `width` neurons with momentum/amplitude family `alpha`, deformed by e^{−(lam/4!)∫_V φ⁴} in the box
    V = [−box/2, box/2]^dim.

    alpha: momenta drawn with density ∝ (p²+m²)^{−(1+α)} in the ball |p| < Λ, amplitude² ∝ (p²+m²)^α.
    α = −1 is 2307.03223's form (uniform momenta), α = 0 draws momenta from the propagator.
    """

    dim: int = 1
    mass: float = 1.0
    cutoff: float = 8.0
    box: float = 6.0
    lam: float = 0.0
    alpha: float = -1.0
    width: int = 1000

    def __post_init__(self) -> None:
        _check_int("field dimension", self.dim, 1, 3)
        _check_number("mass", self.mass, low=0.0, low_open=True)
        _check_number("cutoff", self.cutoff, low=0.0, low_open=True, high=1e4)
        _check_number("box side", self.box, low=0.0, low_open=True, high=1e3)
        _check_number("coupling lambda", self.lam, low=0.0, high=1e6)
        _check_number("alpha", self.alpha, low=-3.0, high=3.0)
        _check_int("width", self.width, 1, MAX_FIELD_WIDTH)
        for name in ("mass", "cutoff", "box", "lam", "alpha"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if self.mass / self.cutoff < 1e-6:
            raise SpecError(f"mass/cutoff = {self.mass / self.cutoff:.3g} is below 1e-6; raise the mass")
        if self.nodes_per_axis > MAX_NODES_PER_AXIS[self.dim]:
            raise SpecError(f"cutoff × box = {self.cutoff * self.box:g} needs {self.nodes_per_axis} quadrature "
                            f"nodes per axis, more than {MAX_NODES_PER_AXIS[self.dim]} in d = {self.dim}; "
                            "lower the cutoff or the box")

    def replace(self, **changes) -> "FieldSpec":
        return dataclasses.replace(self, **changes)

    @property
    def nodes_per_axis(self) -> int:
        """Gauss–Legendre nodes per box axis that integrate φ⁴ (frequencies ≤ 4Λ per axis) to ~1e-9.

        Rule measured on ∫cos(ωx + c) over [−1, 1] with ω = 4Λ·L/2: n = ω/2 + 4ω^{1/3} + 8.
        """
        omega = 2.0 * self.cutoff * self.box
        return int(omega / 2 + 4 * omega ** (1 / 3) + 8) + 1


@dataclass(frozen=True)
class McmcSettings:
    """Exact sampler of the deformed parameter density: `chains` parallel chains; each step redraws a
    window of `refresh`·width neurons from the free prior and accepts with min(1, e^{−(λ/4!)ΔF}).

    refresh = None adapts the window during burn-in to an acceptance in [0.3, 0.7] (then frozen, so the
    chain after burn-in is exactly Metropolis–Hastings).
    """

    chains: int = 64
    burn_in: int = 200
    refresh: float | None = None

    def __post_init__(self) -> None:
        _check_int("number of chains", self.chains, 1, 1_000_000)
        _check_int("burn-in steps", self.burn_in, 0, 10**7)
        if self.refresh is not None:
            _check_number("refresh fraction", self.refresh, low=0.0, low_open=True, high=1.0)


def check_sampler(name: str) -> str:
    if name not in SAMPLERS:
        raise SpecError(f"unknown sampler {name!r}; choose one of: {', '.join(SAMPLERS)}")
    return name
