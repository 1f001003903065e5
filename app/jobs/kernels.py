"""Kernels: the analytic NNGP K(x, x') and NTK Θ(x, x') over an input grid, and their slices at x₁."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from nnqft_engine.theory.kernels import kernels

from ..state import AppState
from ..theory import has_closed_form
from .progress import EXACT, Progress

GRID = 81
# Quadrature activations: a quick coarse frame first, then a finer one.
QUADRATURE_GRIDS = (17, 41)


@dataclass(frozen=True)
class KernelsResult:
    grid: np.ndarray
    nngp: np.ndarray
    ntk: np.ndarray
    k_slice: np.ndarray
    t_slice: np.ndarray
    x1: float
    parameterization: str
    width: int
    progress: Progress = EXACT


def run(state: AppState) -> Iterator[KernelsResult]:
    spec = state.network_spec()
    sizes = (GRID,) if has_closed_form(spec.activation) else QUADRATURE_GRIDS
    return _results(spec, sizes, state.x_min, state.x_max, state.x1)


def _results(spec, sizes, lo: float, hi: float, x1: float) -> Iterator[KernelsResult]:
    for size in sizes:
        grid = np.linspace(lo, hi, size)
        kk = kernels(spec, np.append(grid, x1)[:, None])
        yield KernelsResult(grid=grid, nngp=kk.nngp[:-1, :-1], ntk=kk.ntk[:-1, :-1], k_slice=kk.nngp[:-1, -1],
                            t_slice=kk.ntk[:-1, -1], x1=x1, parameterization=spec.parameterization,
                            width=spec.width)
