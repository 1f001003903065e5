"""Benchmarks, measured as ratios against references run in the same process (`python -m nnqft_engine bench`).

One explicit list: the sampler and analytic kernels at the top level, then each engine's figures under its key.
"""
from __future__ import annotations

from . import deep, flow, sampler, theory, widths as widths_bench


def run_benchmarks(*, repeats: int = 5, ensemble: int = 1024, kernel_points: int = 1000,
                   extras: bool = True) -> dict:
    """Every benchmark as one dict: the sampler's flat figures (width 1024), plus "widths" (sampler against a
    flat-tensor draw at widths 2…1024, depth 1 and 2, one thread), "theory", "flow" and "deep" (deep 1/N theory
    and phase diagram against their live targets) when `extras`."""
    result = sampler.benchmark(repeats=repeats, ensemble=ensemble, kernel_points=kernel_points)
    if extras:
        result["widths"] = widths_bench.benchmark(repeats=min(repeats, 3), threads=1)
        result["theory"] = theory.benchmark()
        result["flow"] = flow.benchmark()
        result["deep"] = deep.benchmark()
    return result


__all__ = ["run_benchmarks"]
