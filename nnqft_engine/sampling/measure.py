"""Monte-Carlo measurement as a generator of running estimates (neural-tangents' estimator style).

Each yield is a progress tick (estimate.n networks done), a partial result and a cancellation point;
`run_to_completion` drives any such generator synchronously for tests and the CLI.
"""
from __future__ import annotations

from typing import Iterator, TypeVar

import numpy as np

from ..spec import NetworkSpec, SampleSettings, as_points
from .ensemble import iter_outputs
from .honesty import ErrorReview
from .statistics import EnsembleStats, Estimate

T = TypeVar("T")


def histogram_edges(scale: np.ndarray, bins: int = 60, width_sd: float = 5.0) -> np.ndarray:
    """Equal bins over ±width_sd·scale at each point: shape (P, bins+1)."""
    s = np.maximum(np.asarray(scale, dtype=np.float64), 1e-12)
    return np.linspace(-width_sd, width_sd, bins + 1)[None, :] * s[:, None]


def measure(spec: NetworkSpec, x, settings: SampleSettings, *,
            hist_edges: np.ndarray | None = None, min_yield_networks: int = 0) -> Iterator[Estimate]:
    """Yield running estimates as chunks of networks arrive; the last one covers the whole ensemble.

    `min_yield_networks` skips intermediate yields until that many new networks arrived (estimates
    cost O(P²·groups)); the final estimate is always yielded. Every estimate has passed `ErrorReview`:
    errors that cannot be trusted are flagged in `unreliable` / `warnings` (and replaced by the exact error
    at depth 1 where the jackknife is far off).
    """
    pts = as_points(x, spec.input_dim)
    stats = EnsembleStats(len(pts), hist_edges=hist_edges)
    review = ErrorReview(spec, pts)
    last = 0
    for chunk in iter_outputs(spec, pts, settings):
        stats.update(chunk.start, chunk.values)
        if stats.n >= settings.ensemble or stats.n - last >= min_yield_networks:
            last = stats.n
            yield review.review(stats.estimate())


def run_to_completion(gen: Iterator[T]) -> T:
    """Exhaust a generator of running results and return its last one."""
    last = None
    for last in gen:
        pass
    if last is None:
        raise RuntimeError("the computation produced no result")
    return last
