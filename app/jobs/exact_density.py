"""The exact finite-N density of f(x₁) at depth 1 (nnqft_engine.theory.density, docs/physics.md §4.3) on the
Outputs histogram's range: a grid that resolves relu's all-neurons-off spike, the density averaged over the
histogram's bins, and a cost guard that turns an inversion too large for an interactive view into a sentence."""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from nnqft_engine.activations import get_activation
from nnqft_engine.spec import NetworkSpec, SpecError
from nnqft_engine.theory import density as _density

# Largest (Fourier points × pre-activation points) array the inversion may build: the engine evaluates the
# characteristic function on their outer product in one piece (8 bytes each, a few temporaries). The CLT preset
# (relu, N = 2, σ_b = 0.1) needs 3.7e7 (≈ 0.8 s here); the laplace prior's slowly decaying characteristic
# function would need ~1.6e9 (13 GB) at N = 3.
MAX_ENTRIES = 5e7
BULK_PER_SD = 40      # grid points per NNGP standard deviation over the histogram's range
TAIL_PER_SD = 10      # … and beyond it


@dataclass(frozen=True)
class ExactDensity:
    f: np.ndarray              # grid: the histogram's range (finer over the spike) and the tails beyond it
    p: np.ndarray              # the density on f (relu's spike included when σ_b > 0)
    bin_mean: np.ndarray       # the density averaged over each histogram bin: what the histogram estimates
    atom_weight: float         # P(every neuron is off) = p_off^N (0 for activations that never vanish)
    atom_in_p: bool            # σ_b > 0: the atom is the bias density's spike inside p; σ_b = 0: a point mass
    spike_width: float         # σ_b: the spike's standard deviation (0 for a point mass)
    clipped_mass: float        # negative ringing of the inversion set to 0
    seconds: float             # compute time


def _z_points(spec: NetworkSpec, x1: float, h0: float, hmax: float, positive_only: bool) -> int:
    """How many nodes the engine's pre-activation rule has (its edges, without evaluating the density)."""
    from nnqft_engine.theory.first_layer import SQRT3, graded_edges, tail_range
    a, b = abs(spec.sigma_w * x1), spec.sigma_b
    reach = SQRT3 * (a + b) if spec.prior == "uniform" else tail_range(spec.prior, spec.prior_dof) * max(a, b)
    half = graded_edges(h0, reach, 0.15)
    extra = np.arange(hmax, min(reach, 30 * math.sqrt(a * a + b * b)), hmax)
    half = np.unique(np.concatenate([half, extra, [SQRT3 * abs(a - b)] if spec.prior == "uniform" else []]))
    pieces = int((half <= reach).sum()) - 1
    return _density._L * (pieces if positive_only else 2 * pieces)


def inversion_cost(spec: NetworkSpec, x1: float) -> float:
    """The entries of the engine's largest array for output_density(spec, x1) (Fourier points × pre-activation
    points): its grid choices (nnqft_engine/theory/density.py) replayed, the cut-off T from its coarse first
    rule (a few ms)."""
    act = get_activation(spec.activation)
    n, sw, sb = spec.width, spec.sigma_w, spec.sigma_b
    sd_z = math.hypot(sw * x1, sb)
    if sd_z == 0:
        return 0.0
    relu = act.name == "relu"
    p_off = 0.5 if relu else 0.0
    zq, wq = _density._z_rule(spec, x1, 1e-3 * sd_z, 0.1 * sd_z, relu)
    hq = act.numpy_fn(zq, 0.0)
    sd = math.sqrt(sb * sb + sw * sw * float(wq @ (hq * hq)))
    heavy = spec.prior in ("laplace", "student-t")
    span = (1.5 if heavy else 1.0) * (8.0 + 24.0 / math.sqrt(n)) * sd
    t_max = 8.3 / sb if (sb > 0 and spec.prior == "gaussian") else 300.0 / sd
    hmax = min(0.1 * sd_z, 1.5 * 2 * math.pi * math.sqrt(n) / (t_max * sw * 1.2 + 1e-300))
    n_z = _z_points(spec, x1, 1e-4 * sd_z, hmax, relu)
    step = min(0.25 / sd, math.pi / span)
    probe = np.geomspace(step, t_max, 200)
    amp = sw * hq / math.sqrt(n)
    c = _density.characteristic_function(spec.prior, np.outer(probe, amp), spec.prior_dof) @ wq
    bias = _density.characteristic_function(spec.prior, sb * probe, spec.prior_dof) if sb > 0 else 1.0
    big = np.nonzero(np.abs(bias * ((p_off + c) ** n - p_off**n)) > _density._T_TOL)[0]
    t_end = probe[min(big[-1] + 1, len(probe) - 1)] if len(big) else step
    return float(_density._L * (math.ceil(t_end / step) + 1)) * n_z


def density_grid(edges: np.ndarray, spike_width: float, reach: float) -> np.ndarray:
    """Piecewise uniform: BULK_PER_SD points per standard deviation over the histogram's range, 1/10 of a spike
    width over ±8 spike widths around 0, TAIL_PER_SD beyond the range out to ±reach (so the density can be
    checked to integrate to 1). Pieces share their end points; no near-duplicate points (a clean grid for
    higher-order quadrature)."""
    lo, hi = float(edges[0]), float(edges[-1])
    sd = max(-lo, hi) / 4.5
    knots = [lo, hi]
    if spike_width > 0 and 8 * spike_width < 0.5 * min(-lo, hi):
        knots[1:1] = [-8 * spike_width, 8 * spike_width]
    if reach > max(-lo, hi):
        knots = [-reach] + knots + [reach]
    pieces = []
    for a, b in zip(knots[:-1], knots[1:]):
        if a >= lo and b <= hi:
            per_sd = 10 * sd / spike_width if (a, b) == (-8 * spike_width, 8 * spike_width) else BULK_PER_SD
        else:
            per_sd = TAIL_PER_SD
        pieces.append(np.linspace(a, b, max(2, int(math.ceil(per_sd * (b - a) / sd))) + 1)[:-1])
    return np.append(np.concatenate(pieces), knots[-1])


def bin_means(f: np.ndarray, p: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The density averaged over each bin: its trapezoid integral over the bin / the bin's width."""
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(f))])
    return np.diff(np.interp(edges, f, cdf)) / np.diff(edges)


_CACHE: OrderedDict = OrderedDict()


def _key(spec: NetworkSpec, x1: float, edges: np.ndarray) -> tuple:
    return spec, float(x1), np.asarray(edges, dtype=np.float64).tobytes()


def needs_work(spec: NetworkSpec, x1: float, edges: np.ndarray) -> bool:
    """Whether exact_density would compute an inversion (depth 1, not cached), not answer at once."""
    return spec.depth == 1 and spec.iid and spec.prior != "rademacher" and _key(spec, x1, edges) not in _CACHE


def exact_density(spec: NetworkSpec, x1: float, edges: np.ndarray) -> ExactDensity:
    """The exact density on the histogram's bins `edges`; SpecError (one sentence) where there is none or it is
    too costly for an interactive view. Cached: dragging a slider back and forth does not recompute it."""
    import time
    key = _key(spec, x1, edges)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    t0 = time.perf_counter()
    act = get_activation(spec.activation)
    applies = (spec.depth == 1 and spec.iid and spec.input_dim == 1 and spec.prior != "rademacher"
               and not act.exponential)
    if applies:   # otherwise output_density raises its own sentence at once
        cost = inversion_cost(spec, x1)
        if cost > MAX_ENTRIES:
            raise SpecError(f"too costly here (a Fourier inversion of ~{cost:.0e} terms: the characteristic "
                            "function of f decays slowly)")
    sb = spec.sigma_b
    relu = act.name == "relu"
    spike = sb if (relu and 0.5**spec.width > 1e-6 and sb > 0) else 0.0
    sd = float(np.max(np.abs(edges))) / 4.5
    reach = (1.5 if spec.prior in ("laplace", "student-t") else 1.0) * (8.0 + 24.0 / math.sqrt(spec.width)) * sd
    grid = density_grid(np.asarray(edges, dtype=np.float64), spike, reach)
    d = _density.output_density(spec, x1, grid=grid)
    result = ExactDensity(f=d.f, p=d.p, bin_mean=bin_means(d.f, d.p, edges), atom_weight=d.atom_weight,
                          atom_in_p=d.atom_in_p, spike_width=sb if d.atom_in_p else 0.0,
                          clipped_mass=d.clipped_mass, seconds=time.perf_counter() - t0)
    _CACHE[key] = result
    while len(_CACHE) > 16:
        _CACHE.popitem(last=False)
    return result
