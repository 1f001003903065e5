"""Field theory: φ⁴ theory built as a cos-net (docs/physics.md §7, 2307.03223 §4): sampled free field
configurations once, then running estimates of G2 and of the λ-induced ΔG4c against theory."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from nnqft_engine.field import FieldSpec, McmcSettings, measure_field, sample_configurations

from ..state import FIELD_DEFAULTS, AppState
from .progress import Progress

N_POINTS = 9
N_CURVES = 4
IMAGE_SIZE = 64
# The view's settings (state.view_settings["field"]) before any are changed (defined with their types in state).
# Width and ensemble size are the shared state's (state.width, state.ensemble): one control per concept.
DEFAULTS = FIELD_DEFAULTS
MAX_FIELD_WIDTH = 5000   # neurons of the cos-net this view samples live


@dataclass(frozen=True)
class FieldResult:
    progress: Progress
    dim: int
    width: int
    configs: np.ndarray          # N_CURVES curves on config_axis (d = 1), or one flattened image (d ≥ 2)
    config_axis: np.ndarray
    lam: float
    sampler: str
    r: np.ndarray                # distances from x₀ of the measurement points
    ess: float
    acceptance: float
    tau_int: float
    propagator: np.ndarray
    one_loop: np.ndarray
    g2: np.ndarray
    g2_err: np.ndarray
    dg4: np.ndarray
    dg4_err: np.ndarray
    tree: np.ndarray
    free_g4: np.ndarray
    lam_hat: float
    lam_hat_err: float


def measurement_points(spec: FieldSpec) -> np.ndarray:
    """x₀ = (−a, 0, …) and N_POINTS points along the first axis to x₀ + 2a, inside the box."""
    a = min(0.4 * spec.box, 2.5 / spec.mass)
    pts = np.zeros((N_POINTS, spec.dim))
    pts[:, 0] = np.linspace(-a, a, N_POINTS)
    return pts


def field_width(state: AppState) -> int:
    return min(state.width, MAX_FIELD_WIDTH)


def run(state: AppState) -> Iterator[FieldResult]:
    s = {**DEFAULTS, **state.view_settings.get("field", {})}
    spec = FieldSpec(dim=int(s["dim"]), mass=s["mass"], cutoff=s["cutoff"], box=s["box"], lam=s["lam"],
                     alpha=s["alpha"], width=field_width(state))
    settings = state.sample_settings()
    return _results(spec, settings, s["sampler"])


def _results(spec: FieldSpec, settings, sampler: str) -> Iterator[FieldResult]:
    pts = measurement_points(spec)
    half = 0.5 * spec.box
    if spec.dim == 1:
        axis = np.linspace(-half, half, 300)
        configs = sample_configurations(spec, axis[:, None], N_CURVES, settings.seed)
    else:
        axis = np.linspace(-half, half, IMAGE_SIZE)
        xx, yy = np.meshgrid(axis, axis, indexing="xy")
        plane = np.zeros((IMAGE_SIZE * IMAGE_SIZE, spec.dim))
        plane[:, 0], plane[:, 1] = xx.ravel(), yy.ravel()
        configs = sample_configurations(spec, plane, 1, settings.seed)
    base = {"dim": spec.dim, "width": spec.width, "configs": configs, "config_axis": axis, "lam": spec.lam, "sampler": sampler,
            "r": pts[:, 0] - pts[0, 0]}
    for est in measure_field(spec, pts, settings, sampler, McmcSettings(chains=64, burn_in=100)):
        yield FieldResult(**base, progress=Progress(done=est.n, requested=est.total), ess=est.ess,
                          acceptance=est.acceptance, tau_int=est.tau_int, propagator=est.propagator[0],
                          one_loop=est.one_loop_g2[0], g2=est.g2[0], g2_err=est.g2_err[0],
                          dg4=est.delta_g4c_pair[0], dg4_err=est.delta_g4c_pair_err[0],
                          tree=est.tree_g4c_pair[0], free_g4=est.free_g4c_pair[0], lam_hat=est.lam_hat,
                          lam_hat_err=est.lam_hat_err)
