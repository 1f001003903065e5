"""The deformed theory at N = ∞, sampled exactly (docs/physics.md §7.5).

At infinite width the cos-net's free field is the Gaussian field with covariance G_Λ, so the deformed theory
P_free[φ]·e^{−(λ/4!)∫_V φ⁴} is sampled by drawing that Gaussian at the measurement points and the box nodes
and reweighting. This is the width-independent reference for the cos-net measurements: λ̂ here differs from
λ only by the higher orders in λ, while the cos-net adds O(1/N). Same estimates as `measure_field`
(reweighting with the free control variate), with free G4c = 0.
"""
from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np
import torch

from ..cancel import check_cancelled
from ..devices import make_generator
from ..spec import SampleSettings, SpecError
from .box import box_grid
from .interaction import FieldEstimate, FieldTheory, _estimate, field_points, field_theory
from .mcmc import ChainDiagnostics
from .propagator import propagator
from .spec import FieldSpec
from .wstats import WeightedStats

BLOCK = 4096
MAX_SITES = 4096  # points + box nodes: the covariance is factored densely


def measure_gaussian_field(spec: FieldSpec, x, settings: SampleSettings, yields: int = 20
                           ) -> Iterator[FieldEstimate]:
    """Running estimates (sampler "gaussian") from settings.ensemble Gaussian fields; spec.width is unused."""
    pts = field_points(spec, x)
    grid = box_grid(spec)
    sites = np.concatenate([pts, grid.nodes])
    if len(sites) > MAX_SITES:
        raise SpecError(f"the N = ∞ reference needs the covariance of all {len(sites)} box nodes and points; "
                        f"at most {MAX_SITES}: lower the cutoff or the box")
    dist = np.linalg.norm(sites[:, None, :] - sites[None, :, :], axis=-1)
    # G_Λ is band-limited, so the node covariance is numerically singular: clip rounding-level negative modes.
    val, vec = np.linalg.eigh(propagator(spec.dim, spec.mass, spec.cutoff, dist))
    factor = torch.as_tensor(vec * np.sqrt(np.clip(val, 0.0, None)))
    free = field_theory(spec, pts)
    theory = FieldTheory(free.propagator, np.zeros_like(free.free_g4c_pair), free.tree_unit, free.one_loop_g2)
    total, p = settings.ensemble, len(pts)
    weights = torch.as_tensor(grid.weights, dtype=torch.float64)
    stats = WeightedStats(p, total)
    every, last = max(1, total // yields), 0
    for start in range(0, total, BLOCK):
        check_cancelled()
        m = min(BLOCK, total - start)
        gen = make_generator(settings.seed, torch.device("cpu"), 41, start // BLOCK)
        z = torch.randn((BLOCK, len(sites)), generator=gen, dtype=torch.float64)[:m] @ factor.T
        f4 = ((z[:, p:] ** 2) ** 2) @ weights
        stats.update(start, z[:, :p].numpy(), np.stack([-(spec.lam / 24.0) * f4.numpy(), np.zeros(m)], axis=1))
        if stats.n >= total or stats.n - last >= every:
            last = stats.n
            est = _estimate(spec, pts, theory, stats, "reweight", total, ChainDiagnostics())
            yield dataclasses.replace(est, sampler="gaussian")
