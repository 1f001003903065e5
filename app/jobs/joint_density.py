"""The exact finite-N joint density of (f(x₁), f(x₂)) at depth 1 (nnqft_engine.theory.joint_density,
docs/physics.md §4.6) for the Outputs view's joint scatter: on ±6.5 NNGP standard deviations (the scatter's
axes span 3 to 6), cached per (spec, x₁, x₂) so a request repeated while dragging does not recompute it. The
Outputs job computes it between sample chunks where it fits INTERACTIVE_WORK, else after the sample."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from nnqft_engine.spec import NetworkSpec
from nnqft_engine.theory.joint_density import JointDensity, available, joint_density
from nnqft_engine.theory.joint_rays import MAX_WORK

from .contours import level_line

POINTS = 161         # grid points per axis: the smoothing is 1.6 steps = 0.13 standard deviations
SPAN_SD = 6.5
_CACHE: OrderedDict = OrderedDict()


def _key(spec: NetworkSpec, x1: float, x2: float) -> tuple:
    return spec, float(x1), float(x2)


def needs_work(spec: NetworkSpec, x1: float, x2: float) -> bool:
    """Whether exact_joint would compute an inversion (a covered case, not cached) rather than answer at once."""
    return available(spec, x1, x2) and _key(spec, x1, x2) not in _CACHE


def exact_joint(spec: NetworkSpec, x1: float, x2: float, max_work: float = MAX_WORK) -> JointDensity:
    """The joint density, or SpecError (one sentence) where there is none here; OverBudget (a SpecError) where it
    would need more than `max_work` terms (INTERACTIVE_WORK: what fits between two sample chunks)."""
    return _cached(spec, x1, x2, max_work)[0]


def exact_joint_lines(spec: NetworkSpec, x1: float, x2: float) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Its level lines at density.levels (39/86/99 %), computed here in the worker, not by the view."""
    return _cached(spec, x1, x2, MAX_WORK)[1]


def _cached(spec: NetworkSpec, x1: float, x2: float, max_work: float) -> tuple:
    key = _key(spec, x1, x2)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    result = joint_density(spec, x1, x2, span_sd=SPAN_SD, points=POINTS, max_work=max_work)
    lines = tuple(level_line(result.f1, result.f2, result.p, float(level)) for level in result.levels)
    _CACHE[key] = (result, lines)
    while len(_CACHE) > 16:
        _CACHE.popitem(last=False)
    return result, lines
