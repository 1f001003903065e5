"""The exact finite-N density of f(x₁) at depth 1 (nnqft_engine.theory.density, docs/physics.md §4.3) on the
Outputs histogram's range: points of the inversion's own grid (which resolves relu's all-neurons-off spike),
the density averaged over the histogram's bins, and a cost guard that turns an inversion too large for an
interactive view into a sentence."""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from nnqft_engine.activations import get_activation
from nnqft_engine.spec import NetworkSpec
from nnqft_engine.theory import density as _density
from nnqft_engine.theory.rademacher_law import rademacher_law

# An inversion too costly for a live view is refused by the engine itself (nnqft_engine.theory.density.MAX_TERMS,
# checked before anything large is built).
BULK_PER_SD = 40      # grid points per NNGP standard deviation over the histogram's range
TAIL_PER_SD = 10      # … and beyond it


@dataclass(frozen=True)
class ExactDensity:
    f: np.ndarray              # drawn points: the histogram's range (finer over the spike) and the tails beyond it
    p: np.ndarray              # the density on f (relu's spike included when σ_b > 0)
    bin_mean: np.ndarray       # the density averaged over each histogram bin: what the histogram estimates
    atom_weight: float         # P(every neuron is off) = p_off^N (0 for activations that never vanish)
    atom_in_p: bool            # σ_b > 0: the atom is the bias density's spike inside p; σ_b = 0: a point mass
    spike_width: float         # σ_b: the spike's standard deviation (0 for a point mass)
    clipped_mass: float        # negative ringing of the inversion set to 0
    seconds: float             # compute time
    atoms: int = 0             # rademacher: f takes this many values, no density (f, p empty; bin_mean exact)


def display_points(f: np.ndarray, edges: np.ndarray, spike_width: float, reach: float) -> np.ndarray:
    """Indices into the density's own grid f (uniform, with points refined towards steep features kept) to draw:
    about BULK_PER_SD points per standard deviation
    over the histogram's range, every point over ±8 spike widths around 0 (the grid resolves the spike: ≤ 1/8
    of its width, docs/physics.md §4.3), TAIL_PER_SD beyond the range out to ±reach (so the drawn density can be checked to integrate
    to 1). Every drawn value is the inversion's own, not an interpolation."""
    lo, hi = float(edges[0]), float(edges[-1])
    sd = max(-lo, hi) / 4.5
    df = float(np.median(np.diff(f)))
    j = np.arange(len(f))
    refined = np.abs(f / df - np.round(f / df)) > 1e-6   # off the uniform lattice: a refinement towards a feature
    inside = (f >= lo) & (f <= hi)
    keep = inside & (j % max(1, int(sd / BULK_PER_SD / df)) == 0)
    keep |= ~inside & (np.abs(f) <= reach) & (j % max(1, int(sd / TAIL_PER_SD / df)) == 0)
    keep |= refined
    if spike_width > 0:
        keep |= np.abs(f) <= 8 * spike_width
    keep |= j == np.searchsorted(f, lo) - 1   # the points bracketing the range, so it is covered
    keep |= j == np.searchsorted(f, hi)
    return np.flatnonzero(keep)


def bin_means(f: np.ndarray, p: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The density averaged over each bin: its trapezoid integral over the bin / the bin's width."""
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(f))])
    return np.diff(np.interp(edges, f, cdf)) / np.diff(edges)


_CACHE: OrderedDict = OrderedDict()


def _key(spec: NetworkSpec, x1: float, edges: np.ndarray) -> tuple:
    return spec, float(x1), np.asarray(edges, dtype=np.float64).tobytes()


def needs_work(spec: NetworkSpec, x1: float, edges: np.ndarray) -> bool:
    """Whether exact_density would compute an inversion (depth 1, not cached), not answer at once."""
    return spec.depth == 1 and spec.iid and _key(spec, x1, edges) not in _CACHE


def exact_density(spec: NetworkSpec, x1: float, edges: np.ndarray) -> ExactDensity:
    """The exact density on the histogram's bins `edges`; SpecError (one sentence) where there is none or it is
    too costly for an interactive view. Cached: dragging a slider back and forth does not recompute it."""
    import time
    key = _key(spec, x1, edges)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    t0 = time.perf_counter()
    if spec.prior == "rademacher":
        return _remembered(key, _discrete(spec, x1, np.asarray(edges, dtype=np.float64), t0))
    act = get_activation(spec.activation)
    sb = spec.sigma_b
    relu = act.name == "relu"
    spike = sb if (relu and 0.5**spec.width > 1e-6 and sb > 0) else 0.0
    sd = float(np.max(np.abs(edges))) / 4.5
    reach = (1.5 if spec.prior in ("laplace", "student-t") else 1.0) * (8.0 + 24.0 / math.sqrt(spec.width)) * sd
    d = _density.output_density(spec, x1)   # its own uniform grid: one FFT, however many Fourier terms
    shown = display_points(d.f, np.asarray(edges, dtype=np.float64), spike, reach)
    result = ExactDensity(f=d.f[shown], p=d.p[shown], bin_mean=bin_means(d.f, d.p, edges),
                          atom_weight=d.atom_weight, atom_in_p=d.atom_in_p,
                          spike_width=sb if d.atom_in_p else 0.0, clipped_mass=d.clipped_mass,
                          seconds=time.perf_counter() - t0)
    return _remembered(key, result)


def _discrete(spec: NetworkSpec, x1: float, edges: np.ndarray, t0: float) -> ExactDensity:
    """Under the rademacher prior f has atoms, no density: the exact probability of each bin over its width."""
    import time
    law = rademacher_law(spec, x1)
    empty = np.empty(0)
    return ExactDensity(f=empty, p=empty, bin_mean=law.bin_probabilities(edges) / np.diff(edges), atom_weight=0.0,
                        atom_in_p=False, spike_width=0.0, clipped_mass=0.0, seconds=time.perf_counter() - t0,
                        atoms=len(law.values))


def _remembered(key: tuple, result: ExactDensity) -> ExactDensity:
    _CACHE[key] = result
    while len(_CACHE) > 16:
        _CACHE.popitem(last=False)
    return result
