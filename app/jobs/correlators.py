"""Correlators: G2(x₁, x) with errors against the NNGP, the measured G2 matrix, the connected G4 pair slice
against finite-N theory (exact at depth 1, leading 1/N order deeper), then the width sweep of |G4c|, |G6c|
with theory lines and fitted slopes."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from nnqft_engine import measure
from nnqft_engine.sampling.width_sweep import width_sweep
from nnqft_engine.theory.kernels import kernels

from ..state import AppState
from ..theory import finite_width_theory, has_closed_form, live_settings, theory_label
from .progress import Progress

GRID = 11
SWEEP_WIDTHS = (2, 4, 8, 16, 32, 64, 128)
SWEEP_MAX_ENSEMBLE = 50_000   # per width, unless view_settings["correlators"]["sweep_ensemble"] asks for more
FINE_GRID = 61
# Deep 1/N theory through 2-D quadrature (tanh, gelu, …) costs ~20–70 ms per point pair at depth 3–6 on one
# core: its smooth curve uses fewer points, and it is computed after the first measurement is on screen.
FINE_GRID_QUADRATURE = 25
COMPUTING = "1/N theory computing…"


@dataclass(frozen=True)
class WidthSweep:
    """The engine's WidthSweepResult as plain arrays at x₁ (the diagonal configuration)."""

    widths: np.ndarray
    g4: np.ndarray
    g6: np.ndarray
    g4_err: np.ndarray
    g6_err: np.ndarray
    g4_theory: np.ndarray | None
    g6_theory: np.ndarray | None
    slope4: float
    slope4_err: float
    slope6: float
    slope6_err: float
    ensemble: int
    reason: str
    g4_sig: np.ndarray | None = None       # significant (|G| > 3σ, honest error): the widths the slope uses
    g6_sig: np.ndarray | None = None
    g4_upper: np.ndarray | None = None     # |Ĝ| + 2σ where not significant (drawn as an upper limit), else NaN
    g6_upper: np.ndarray | None = None
    g4_note: str = ""                      # why no slope ("" when fitted)
    g6_note: str = ""


@dataclass(frozen=True)
class CorrelatorsResult:
    progress: Progress
    grid: np.ndarray
    x1: float
    width: int
    k: np.ndarray                      # NNGP over (x₁, grid…)
    fw_reason: str
    g4_theory: np.ndarray | None       # exact finite-N G4c(x₁, x₁, x, x) on the grid (depth 1)
    g2: np.ndarray
    g2_err: np.ndarray
    g4: np.ndarray
    g4_err: np.ndarray
    sweep: WidthSweep | None = None
    sweep_reason: str = ""
    fine: np.ndarray | None = None     # smooth theory curves once the measurement is in
    k_fine: np.ndarray | None = None
    g4_theory_fine: np.ndarray | None = None
    g4_label: str = "exact finite N"   # theory.theory_label: "1/N theory" at depth ≥ 2
    g4_unreliable: np.ndarray | None = None   # G4c points whose error is not honest (heavy tail): ⚠, no bar
    warnings: tuple = ()                      # the engine's sentences why (Estimate.warnings)


def run(state: AppState) -> Iterator[CorrelatorsResult]:
    spec = state.network_spec()
    grid = np.linspace(state.x_min, state.x_max, GRID)
    pts = np.append(state.x1, grid)[:, None]
    settings = live_settings(state.sample_settings(), spec, len(pts))
    vs = state.view_settings.get("correlators", {})
    sweep_on = bool(vs.get("width_sweep", True))
    sweep_ensemble = vs.get("sweep_ensemble")
    return _results(spec, grid, pts, settings, sweep_on, sweep_ensemble)


def _results(spec, grid, pts, settings, sweep_on: bool, sweep_ensemble: int | None = None
             ) -> Iterator[CorrelatorsResult]:
    k = kernels(spec, pts).nngp
    slow = spec.depth > 1 and not has_closed_form(spec.activation)

    def theory() -> dict:
        fw, reason = finite_width_theory(spec, pts)
        return {"fw_reason": reason, "g4_theory": None if fw is None else np.asarray(fw.g4c_pair)[0, 1:]}

    base = {"grid": grid, "x1": float(pts[0, 0]), "width": spec.width, "k": k, "g4_label": theory_label(spec),
            **({"fw_reason": COMPUTING, "g4_theory": None} if slow else theory())}
    last = None
    for est in measure(spec, pts, settings, min_yield_networks=0):
        last = CorrelatorsResult(**base, progress=Progress(done=est.n, requested=settings.ensemble),
                                 g2=est.g2, g2_err=est.g2_err, g4=est.g4c_pair[0, 1:],
                                 g4_err=est.g4c_pair_err[0, 1:],
                                 g4_unreliable=est.unreliable.get("g4c_pair", np.zeros((len(pts),) * 2, bool))[0, 1:],
                                 warnings=est.warnings)
        yield last
        if slow and base["fw_reason"] == COMPUTING:   # the first measurement is on screen: now the theory
            base.update(theory())
            last = dataclasses.replace(last, **{k: base[k] for k in ("fw_reason", "g4_theory")})
            yield last
    # Smooth theory curves on a fine grid once the measurement is in.
    fine = np.linspace(grid[0], grid[-1], FINE_GRID_QUADRATURE if slow else FINE_GRID)
    fpts = np.append(pts[0, 0], fine)[:, None]
    last = dataclasses.replace(last, fine=fine, k_fine=kernels(spec, fpts).nngp[0, 1:])
    if last.g4_theory is not None:
        fw_fine, _ = finite_width_theory(spec, fpts)
        last = dataclasses.replace(
            last, g4_theory_fine=None if fw_fine is None else np.asarray(fw_fine.g4c_pair)[0, 1:])
    yield last
    if not sweep_on:
        yield dataclasses.replace(last, sweep_reason="width sweep switched off")
        return
    yield from _sweep(spec, pts[:1], settings, last, sweep_ensemble)


def _sweep(spec, x1, settings, last: CorrelatorsResult, sweep_ensemble: int | None = None
           ) -> Iterator[CorrelatorsResult]:
    """Run the engine's width sweep at x₁, yielding the last measurement plus the sweep."""
    # Each width runs to completion inside the engine: cap its ensemble so cancelling stays quick, unless the
    # view asks for a given size per width (a preset resolving |G6c| needs ~10⁶; small networks are cheap).
    # Depth 1 only: deeper networks cost width × depth times more, and a width cannot be cancelled midway.
    big = sweep_ensemble and spec.depth == 1
    n = int(sweep_ensemble) if big else min(settings.ensemble, SWEEP_MAX_ENSEMBLE)
    sub = settings.replace(ensemble=n)
    deep = _deep_sweep_g4(spec, x1) if spec.depth > 1 else (None, "", 0.0)
    for res in width_sweep(spec, x1, list(SWEEP_WIDTHS), sub):
        yield dataclasses.replace(last, sweep=_sweep_payload(res, sub.ensemble, deep))


def _deep_sweep_g4(spec, x1) -> tuple:
    """(N·G4c(x₁) at leading order, reason, c): G4c = 3V/N + c with a vertex V that does not depend on N and
    c = κ₄σ_b⁴ the readout bias's own cumulant (0 for the gaussian prior, docs/physics.md §8.1), so one
    recursion gives the line at every width of the sweep."""
    fw, reason = finite_width_theory(spec, x1)
    if fw is None:
        return None, reason, 0.0
    const = float(fw.g4c_const)
    return (float(np.asarray(fw.g4c_diag)[0]) - const) * spec.width, "", const


def _sweep_payload(res, ensemble: int, deep: tuple = (None, "", 0.0)) -> WidthSweep:
    has_theory = any(t is not None for t in res.theory)
    widths = np.asarray(res.widths, dtype=float)
    g4_theory = res.theory_g4c()[:, 0] if has_theory else None
    reason = "" if has_theory else "exact theory only at depth 1"
    if not has_theory:
        g4n, why, const = deep
        if g4n is not None:
            g4_theory = g4n / widths + const
            reason = "|G4c| at leading order in 1/N; |G6c| is O(1/N²), not computed at depth ≥ 2"
        else:
            reason = why or reason
    return WidthSweep(widths=widths, g4=res.g4c[:, 0], g6=res.g6c[:, 0],
                      g4_err=res.g4c_err[:, 0], g6_err=res.g6c_err[:, 0],
                      g4_theory=g4_theory,
                      g6_theory=res.theory_g6c()[:, 0] if has_theory else None,
                      slope4=float(res.slope_g4c[0]), slope4_err=float(res.slope_g4c_err[0]),
                      slope6=float(res.slope_g6c[0]), slope6_err=float(res.slope_g6c_err[0]),
                      ensemble=ensemble, reason=reason,
                      g4_sig=res.significant("g4c")[:, 0], g6_sig=res.significant("g6c")[:, 0],
                      g4_upper=res.upper_limit("g4c")[:, 0], g6_upper=res.upper_limit("g6c")[:, 0],
                      g4_note=res.slope_note("g4c")[0], g6_note=res.slope_note("g6c")[0])
