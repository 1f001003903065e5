"""Interacting φ⁴ theory by deforming the cos-net's parameter density: running measurements (docs/physics.md §7).

`measure_field` is a generator of `FieldEstimate`s (each yield = progress + cancellation point) for either
sampler. Beside the interacting G2 and G4c it reports the λ-induced *changes* ΔG = E_λ[·] − E_0[·] against
the exact free moments. A free ensemble measured on the same samples (reweighting: the same draws with
weight 1; MCMC: the networks proposed by k = N independence proposals, see mcmc.py) is the control
variate: its deviation from the exact free moments, times a fitted β (docs/physics.md §7.5), is subtracted
from ΔG2, ΔG4c and λ̂ (G2 and G4c are reported as measured). β = 1 would be the plain difference E_λ − E_0
of the samples, whose errors came out ~2× too small for the chains (issue 11); the fitted β ≈ 0.65 has
calibrated errors and an eighth of the chains' variance. With a window k < N there is no free set and no
control. At first order ΔG4c = −λ∫_V ΠG + O(λ/N, λ²): tree level is compared with ΔG4c, so the free
cos-net's own O(1/N) G4c (given exactly in `free_g4c_pair`) is subtracted rather than mistaken for an
interaction.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from ..devices import prepare_for_theory_comparison, resolve_device
from ..spec import SampleSettings, SpecError
from .box import box_grid
from .cosnet import exact_g4c_pair
from .diagrams import CONVENTION, fit_coupling, one_loop_g2, tree_g4c_pair_unit
from .evaluate import FieldEvaluator
from .mcmc import ChainDiagnostics, mcmc_chunks
from .propagator import propagator
from .reweight import reweight_chunks
from .spec import FieldSpec, McmcSettings, check_sampler
from .wstats import GROUPS, WeightedStats


@dataclass(frozen=True)
class FieldEstimate:
    """Running measurement after `n` of `total` samples; every `*_err` is a jackknife standard error."""

    n: int
    total: int
    sampler: str
    x: np.ndarray
    propagator: np.ndarray
    free_g4c_pair: np.ndarray
    tree_g4c_pair: np.ndarray
    one_loop_g2: np.ndarray
    g2: np.ndarray
    g2_err: np.ndarray
    g4c_pair: np.ndarray
    g4c_pair_err: np.ndarray
    delta_g2: np.ndarray
    delta_g2_err: np.ndarray
    delta_g4c_pair: np.ndarray
    delta_g4c_pair_err: np.ndarray
    lam_hat: float
    lam_hat_err: float
    lam_hat_raw: float
    lam_hat_raw_err: float
    ess: float
    acceptance: float
    tau_int: float
    convention: str = CONVENTION
    tau_int_f: float = float("nan")
    window: int = 0
    block_steps: float = float("nan")
    free_reference: str = "weights"
    lam_hat_beta: float = 0.0  # control-variate coefficient of λ̂ (0: no free control, §7.5)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class FieldTheory:
    """Exact and first-order predictions at the points (float64)."""

    propagator: np.ndarray
    free_g4c_pair: np.ndarray
    tree_unit: np.ndarray
    one_loop_g2: np.ndarray


def field_theory(spec: FieldSpec, x) -> FieldTheory:
    pts = np.asarray(x, dtype=np.float64).reshape(-1, spec.dim)
    dist = np.linalg.norm(pts[:, None, :] - pts[None, :, :], axis=-1)
    return FieldTheory(propagator(spec.dim, spec.mass, spec.cutoff, dist), exact_g4c_pair(spec, pts),
                       tree_g4c_pair_unit(spec, pts), one_loop_g2(spec, pts))


def field_points(spec: FieldSpec, x) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim <= 1 and spec.dim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != spec.dim or arr.shape[0] == 0:
        raise SpecError(f"points must be a non-empty list of {spec.dim}-dimensional coordinates")
    if not np.all(np.isfinite(arr)):
        raise SpecError("points must be finite numbers")
    if arr.shape[0] > 64:
        raise SpecError(f"at most 64 measurement points, got {arr.shape[0]}")
    return arr


def measure_field(spec: FieldSpec, x, settings: SampleSettings, sampler: str = "reweight",
                  mcmc: McmcSettings = McmcSettings(), yields: int = 20) -> Iterator[FieldEstimate]:
    """Yield about `yields` running estimates; the last covers the whole ensemble (M = settings.ensemble
    networks for reweighting, chains × ⌈M/chains⌉ chain samples for MCMC)."""
    check_sampler(sampler)
    pts = field_points(spec, x)
    device = resolve_device(settings.device)
    prepare_for_theory_comparison(device)
    theory = field_theory(spec, pts)
    grid = box_grid(spec)
    dtype = torch.float64 if sampler == "mcmc" else (torch.float32 if settings.dtype == "float32" else torch.float64)
    evaluator = FieldEvaluator(torch.as_tensor(pts, dtype=dtype, device=device),
                               torch.as_tensor(grid.nodes, dtype=dtype, device=device),
                               torch.as_tensor(grid.weights, device=device), settings.memory_budget_mb)
    diag = ChainDiagnostics()
    if sampler == "reweight":
        total = settings.ensemble
        chunks = reweight_chunks(spec, evaluator, total, settings.seed, device, settings.dtype)
    else:
        steps = math.ceil(settings.ensemble / mcmc.chains)
        total = steps * mcmc.chains
        chunks = mcmc_chunks(spec, evaluator, total, settings.seed, device, mcmc, diag,
                             yield_every=max(1, steps // yields))
    stats = WeightedStats(len(pts), total, chains=mcmc.chains if sampler == "mcmc" else None)
    every, last = max(1, total // yields), 0
    for start, phi, logw in chunks:
        stats.update(start, phi, logw)
        if stats.n >= total or stats.n - last >= every:
            last = stats.n
            yield _estimate(spec, pts, theory, stats, sampler, total, diag)


def _estimate(spec: FieldSpec, pts: np.ndarray, theory: FieldTheory, stats: WeightedStats, sampler: str,
              total: int, diag: ChainDiagnostics) -> FieldEstimate:
    # Set 1 is a free ensemble (reweighting: the same draws; MCMC with k = N: the proposals) whose deviation
    # from the exact free moments is a zero-mean control variate (docs/physics.md §7.5); with k < N it is not.
    free_set = not (sampler == "mcmc" and diag.free_reference == "exact")

    def derive(g2: np.ndarray, g4: np.ndarray) -> dict[str, np.ndarray]:
        d2, d4 = g2[..., 0, :, :] - theory.propagator, g4[..., 0, :, :] - theory.free_g4c_pair
        out = {"g2": g2[..., 0, :, :], "g4c_pair": g4[..., 0, :, :], "delta_g2": d2, "delta_g4c_pair": d4,
               "lam_hat": fit_coupling(d4, theory.tree_unit), "lam_hat_raw": fit_coupling(d4, theory.tree_unit)}
        if free_set:
            c2, c4 = g2[..., 1, :, :] - theory.propagator, g4[..., 1, :, :] - theory.free_g4c_pair
            out.update(c2=c2, c4=c4, c_lam=fit_coupling(c4, theory.tree_unit))
        return out

    # g2 and g4c_pair stay the samples' direct estimates (at λ = 0 the control would make them exact).
    control = {"delta_g2": "c2", "delta_g4c_pair": "c4", "lam_hat": "c_lam"}
    est, err, beta = stats.estimate(derive, control if free_set else None)
    extra = {}
    if sampler == "reweight":
        ess, acc, tau = float(stats.ess()[0]), float("nan"), float("nan")
    else:
        # Jackknife blocks: whole chains when chains ≥ GROUPS, else contiguous runs of steps.
        steps = stats.n / max(diag.chains, 1)
        blocks = steps if stats.chains else steps * diag.chains / GROUPS
        tau, ess, acc = diag.tau_int(), diag.ess(stats.n), diag.acceptance
        extra = {"tau_int_f": diag.tau_int_f(), "window": diag.window, "block_steps": blocks,
                 "free_reference": diag.free_reference}
    return FieldEstimate(
        n=stats.n, total=total, sampler=sampler, x=pts, propagator=theory.propagator,
        free_g4c_pair=theory.free_g4c_pair, tree_g4c_pair=-spec.lam * theory.tree_unit,
        one_loop_g2=theory.one_loop_g2,
        g2=est["g2"], g2_err=err["g2"], g4c_pair=est["g4c_pair"], g4c_pair_err=err["g4c_pair"],
        delta_g2=est["delta_g2"], delta_g2_err=err["delta_g2"],
        delta_g4c_pair=est["delta_g4c_pair"], delta_g4c_pair_err=err["delta_g4c_pair"],
        lam_hat=float(est["lam_hat"]), lam_hat_err=float(err["lam_hat"]),
        lam_hat_raw=float(est["lam_hat_raw"]), lam_hat_raw_err=float(err["lam_hat_raw"]),
        ess=ess, acceptance=acc, tau_int=tau, lam_hat_beta=float(beta["lam_hat"]), **extra)
