"""Benchmarks, measured as ratios against references run in the same process (`python -m nnqft_engine bench`).

One explicit list: the sampler and analytic kernels at the top level, then each engine's figures under its key.
"""
from __future__ import annotations

from . import flow, sampler, theory


def run_benchmarks(*, repeats: int = 5, ensemble: int = 1024, kernel_points: int = 1000,
                   extras: bool = True) -> dict:
    """Every benchmark as one dict: the sampler's flat figures, plus "theory" and "flow" when `extras`."""
    result = sampler.benchmark(repeats=repeats, ensemble=ensemble, kernel_points=kernel_points)
    if extras:
        result["theory"] = theory.benchmark()
        result["flow"] = flow.benchmark()
    return result


__all__ = ["run_benchmarks"]
