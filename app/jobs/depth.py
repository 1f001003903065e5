"""Depth: signal propagation and finite-width growth through depth (docs/physics.md §8–§9).

(a) the (σ_w, σ_b) phase diagram of the activation: χ⊥ on a grid, the order–chaos boundary χ⊥ = 1, and q*,
χ⊥, χ∥, c*, ξ_c at the current point; (b) the N = ∞ correlation c^(ℓ)(x₁, x₂) across layers with the
correlations measured at the output of sampled networks of depth L = 1 … 6 (layer ℓ = L + 1); (c) the excess
kurtosis G4c/G2² at x₁ against depth L at the current width: 1/N theory (deep_correlators) and measured.

Theory comes first (milliseconds for closed-form activations; the phase diagram is cached per activation);
then the ensembles, one depth at a time, each yield a progress point and a place to cancel.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from nnqft_engine import SpecError, measure
from nnqft_engine.theory.criticality import correlation_flow, critical_sigma_w, criticality, phase_diagram
from nnqft_engine.theory.deep import KURTOSIS_LIMIT, deep_correlators

from ..state import AppState, max_width_for_depth
from ..theory import live_settings
from .progress import Progress

DEPTHS = np.arange(1, 7)                  # network depths L measured and predicted
LAYERS = np.arange(1, DEPTHS[-1] + 2)     # layers ℓ = 1 … L_max + 1 (the readout of depth L is layer L + 1)
MAX_ENSEMBLE = 20_000                     # networks per depth (depth 6 at N = 64: ~3 s on one core)
SW_RANGE, SB_RANGE = (0.05, 3.0), (0.0, 1.5)
GRID = (81, 51)   # (σ_w, σ_b) points: < 1 s for every activation (nnqft_engine bench → deep)
FLOW_PARTNERS = 4                         # extra faint flows (x₁, x) across the input range


@dataclass(frozen=True)
class DepthResult:
    progress: Progress
    activation: str
    sigma_w: float
    sigma_b: float
    width: int
    x1: float
    x2: float
    ensemble: int                          # networks per depth
    # (a) phase diagram (None + reason where criticality is undefined for the activation)
    phase_sw: np.ndarray | None
    phase_sb: np.ndarray | None
    chi_perp: np.ndarray | None            # (len(sb), len(sw))
    boundary_sw: np.ndarray | None         # σ_w where χ⊥ = 1 in each σ_b row (NaN: no crossing on the grid)
    point: dict | None                     # q_star, chi_perp, chi_parallel, c_star, correlation_depth
    sw_critical: float | None
    phase_reason: str
    sw_critical_reason: str
    # (b) correlation flow
    c_theory: np.ndarray                   # (len(LAYERS),) for (x₁, x₂), N = ∞
    c_partners: np.ndarray                 # (FLOW_PARTNERS, len(LAYERS)) for (x₁, x) with other x
    c_measured: np.ndarray                 # (len(DEPTHS),) output correlation of depth-L networks (NaN: not yet)
    # (c) excess kurtosis at x₁
    kurt_theory: np.ndarray                # (len(DEPTHS),) 1/N theory (exact at L = 1), NaN where unavailable
    kurt_reason: str
    kurt_measured: np.ndarray
    kurt_err: np.ndarray


@functools.lru_cache(maxsize=8)
def _phase(activation: str, sw_range: tuple, sb_range: tuple, shape: tuple) -> tuple:
    sw = np.linspace(*sw_range, shape[0])
    sb = np.linspace(*sb_range, shape[1])
    pd = phase_diagram(activation, sw, sb)
    chi = np.asarray(pd.chi_perp, dtype=float)
    boundary = np.array([_crossing(sw, row) for row in chi])
    for a in (sw, sb, chi, boundary):
        a.setflags(write=False)
    return sw, sb, chi, boundary


def _crossing(sw: np.ndarray, chi: np.ndarray) -> float:
    """First σ_w where χ⊥ crosses 1 along a row (linear in log χ⊥ between grid points), NaN if none."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.log(chi)
    idx = np.nonzero(np.isfinite(g[:-1]) & np.isfinite(g[1:]) & (np.sign(g[:-1]) != np.sign(g[1:])))[0]
    if not len(idx):
        return float("nan")
    i = idx[0]
    return float(sw[i] + (sw[i + 1] - sw[i]) * g[i] / (g[i] - g[i + 1]))


def phase_grid(activation: str, sigma_w: float, sigma_b: float) -> tuple:
    """(σ_w grid, σ_b grid, χ⊥, boundary): the standard ranges, widened to hold the current point."""
    sw_range = (SW_RANGE[0], max(SW_RANGE[1], round(1.2 * sigma_w, 1)))
    sb_range = (SB_RANGE[0], max(SB_RANGE[1], round(1.2 * sigma_b, 1)))
    return _phase(activation, sw_range, sb_range, GRID)


def kurtosis_theory(spec, x1: float) -> tuple[np.ndarray, str]:
    """G4c/G2² at x₁ for depths DEPTHS at spec's width: exact at L = 1, leading 1/N order deeper."""
    out = np.full(len(DEPTHS), np.nan)
    reason = ""
    for i, depth in enumerate(DEPTHS):
        try:
            out[i] = float(deep_correlators(spec.replace(depth=int(depth)), np.array([[x1]])).kurtosis[0])
        except (SpecError, NotImplementedError) as exc:
            reason = reason or str(exc)
    return out, reason


def run(state: AppState) -> Iterator[DepthResult]:
    width = min(state.width, max_width_for_depth(int(DEPTHS[-1])))
    spec = state.network_spec(width=width, depth=int(DEPTHS[-1]))
    settings = state.sample_settings(ensemble=min(state.ensemble, MAX_ENSEMBLE))
    partners = np.linspace(state.x_min, state.x_max, FLOW_PARTNERS + 2)[1:-1]
    return _results(spec, state.x1, state.x2, partners, settings)


def _theory(spec, x1: float, x2: float, partners) -> dict:
    act, sw, sb = spec.activation, spec.sigma_w, spec.sigma_b
    th: dict = {"phase_sw": None, "phase_sb": None, "chi_perp": None, "boundary_sw": None, "point": None,
                "sw_critical": None, "phase_reason": "", "sw_critical_reason": ""}
    try:
        th["phase_sw"], th["phase_sb"], th["chi_perp"], th["boundary_sw"] = phase_grid(act, sw, sb)
        th["point"] = {k: v for k, v in criticality(act, sb, sw).as_dict().items()
                       if k not in ("activation", "sigma_w", "sigma_b")}
    except SpecError as exc:
        th["phase_reason"] = str(exc)
    if not th["phase_reason"]:
        try:
            th["sw_critical"] = critical_sigma_w(act, sb)
        except SpecError as exc:
            th["sw_critical_reason"] = str(exc)
    with np.errstate(all="ignore"):
        th["c_theory"] = correlation_flow(spec, [[x1]], [[x2]])
        th["c_partners"] = np.array([correlation_flow(spec, [[x1]], [[x]]) for x in partners])
    th["kurt_theory"], th["kurt_reason"] = kurtosis_theory(spec, x1)
    return th


def _results(spec, x1, x2, partners, settings) -> Iterator[DepthResult]:
    n_depths = len(DEPTHS)
    total = settings.ensemble * n_depths
    base = DepthResult(progress=Progress(done=0, requested=total), activation=spec.activation,
                       sigma_w=spec.sigma_w, sigma_b=spec.sigma_b, width=spec.width, x1=float(x1), x2=float(x2),
                       ensemble=settings.ensemble, **_theory(spec, x1, x2, partners),
                       c_measured=np.full(n_depths, np.nan), kurt_measured=np.full(n_depths, np.nan),
                       kurt_err=np.full(n_depths, np.nan))
    yield base
    pts = np.array([[x1], [x2]])
    c_m, k_m, k_e = (np.full(n_depths, np.nan) for _ in range(3))
    for i, depth in enumerate(DEPTHS):
        sp = spec.replace(depth=int(depth))
        live = live_settings(settings, sp, len(pts))
        for est in measure(sp, pts, live, min_yield_networks=max(1, settings.ensemble // 16)):
            g = est.g2
            with np.errstate(all="ignore"):
                c_m[i] = g[0, 1] / np.sqrt(g[0, 0] * g[1, 1])
            k_m[i], k_e[i] = est.kurtosis[0], est.kurtosis_err[0]
            yield dataclasses.replace(base, progress=Progress(done=i * settings.ensemble + est.n, requested=total),
                                      c_measured=c_m.copy(), kurt_measured=k_m.copy(), kurt_err=k_e.copy())


def leaves_range(kurt_theory: np.ndarray) -> int | None:
    """The first depth L at which the 1/N theory's |G4c/G2²| exceeds KURTOSIS_LIMIT (None if it never does)."""
    over = np.nonzero(np.abs(np.nan_to_num(kurt_theory, nan=0.0)) > KURTOSIS_LIMIT)[0]
    return int(DEPTHS[over[0]]) if len(over) else None
