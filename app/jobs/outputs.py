"""Outputs: the distribution of f(x₁) over the ensemble with its NNGP density, the exact finite-N density
(depth 1, computed after the first networks so the histogram appears first) and the truncated Edgeworth series,
the variance and excess kurtosis ± error beside theory, sampled functions, and the joint (f(x₁), f(x₂))."""
from __future__ import annotations

from dataclasses import dataclass
import time
from typing import Iterator

import numpy as np
import torch

from nnqft_engine import EnsembleStats, histogram_edges, iter_outputs, sample_outputs
from nnqft_engine.cancel import check_cancelled
from nnqft_engine.sampling.honesty import ErrorReview
from nnqft_engine.spec import SpecError
from nnqft_engine.theory.joint_rays import INTERACTIVE_WORK, MAX_WORK, TERMS_PER_SECOND, OverBudget
from nnqft_engine.theory.kernels import kernels

from ..state import AppState
from ..theory import edgeworth, finite_width_theory, live_settings
from .exact_density import ExactDensity, exact_density, needs_work
from .joint_density import JointDensity, exact_joint, exact_joint_lines, needs_work as joint_needs_work
from .progress import Progress

SCATTER_MAX = 1500
N_FUNCTIONS = 8
GRID = 160
DEBOUNCE_S = 0.3   # the exact density waits for the slider to rest this long (a storm never starts one)


@dataclass(frozen=True)
class OutputsResult:
    progress: Progress
    z: np.ndarray                 # histogram bin centres
    edges: np.ndarray
    density: np.ndarray
    var: float
    var_err: float
    kurt: float
    kurt_err: float
    var_unreliable: bool          # no honest ± from this sample (heavy tails; sampling/honesty.py): shown as ⚠
    kurt_unreliable: bool
    warnings: tuple               # one sentence per affected estimate
    scatter: np.ndarray           # (≤ SCATTER_MAX, 2): (f(x₁), f(x₂)) of the first networks
    grid: np.ndarray
    funcs: np.ndarray             # (GRID, N_FUNCTIONS) sampled networks
    x1: float
    x2: float
    width: int
    depth: int
    nonfinite: int                # networks whose outputs overflowed to ±∞
    dtype: str
    # theory
    k: np.ndarray                 # NNGP at (x₁, x₂)
    fw_reason: str
    funcs_sd: float
    gauss: np.ndarray | None = None
    var_fw: float | None = None   # exact finite-N moments (depth 1), else None (fw_reason says why)
    kurt_fw: float | None = None
    cumulants_fw: tuple | None = None
    edgeworth: np.ndarray | None = None
    edge_reason: str | None = None
    exact: ExactDensity | None = None    # the exact finite-N density (depth 1), from the second result on
    exact_reason: str | None = None      # why there is none (one sentence); None while it is being computed
    joint: JointDensity | None = None    # the exact joint density of (f(x₁), f(x₂)), after the 1-D one
    joint_reason: str | None = None      # why there is none; None while it is being computed
    joint_lines: tuple = ()              # its level lines (x, y) at joint.levels, NaN between segments
    joint_after_sample: float = 0.0      # too long for between chunks: computed after the sample, in ~this many s


def _theory(spec, pts: np.ndarray, grid: np.ndarray) -> dict:
    """The NNGP at x₁, x₂, the exact finite-N moments (depth 1), and the NNGP's largest standard deviation
    along the grid, which sets the sampled functions' plot range so it does not jump with every draw (a coarse
    grid: quadrature kernels cost O(points²))."""
    k = kernels(spec, pts).nngp
    fw, fw_reason = finite_width_theory(spec, pts)
    theory = {"k": k, "fw_reason": fw_reason}
    if fw is not None:
        var, k4 = float(np.asarray(fw.g2)[0, 0]), float(np.asarray(fw.g4c_diag)[0])
        k6 = float(np.asarray(fw.g6c_diag)[0]) if getattr(fw, "g6c_diag", None) is not None else 0.0
        theory.update(var_fw=var, kurt_fw=k4 / var**2, cumulants_fw=(var, k4, k6))
    coarse = grid[:: max(1, len(grid) // 8)]
    with np.errstate(invalid="ignore"):
        theory["funcs_sd"] = float(np.sqrt(np.nanmax(np.diag(kernels(spec, coarse).nngp))))
    return theory


def robust_sd(values: np.ndarray) -> float:
    """1.4826 × the median absolute deviation of the finite values: the standard deviation for Gaussian data,
    and a finite spread for tails too heavy to have one."""
    f = values[np.isfinite(values)]
    if not len(f):
        return 1.0
    mad = 1.4826 * float(np.median(np.abs(f - np.median(f))))
    return mad if mad > 0 else 1.0


def _cancellable_pause(seconds: float) -> None:
    """Wait, but let a newer request in at once: a plain sleep here held every slider move up by `seconds`."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        check_cancelled()
        time.sleep(0.005)


def _flag(est, key: str, index: tuple) -> bool:
    flags = est.unreliable.get(key)
    return bool(np.asarray(flags)[index]) if flags is not None else False


def _histogram_edges(k: np.ndarray, first: np.ndarray, bins: int = 72) -> np.ndarray:
    """±4.5 NNGP standard deviations; where the NNGP variance is infinite, ±4.5 robust standard deviations of
    the first networks' outputs."""
    sd = np.sqrt(np.diag(k))
    if not (np.all(np.isfinite(sd)) and np.all(sd > 0)):
        sd = np.array([robust_sd(first[:, p]) for p in range(first.shape[1])])
    return histogram_edges(sd, bins=bins, width_sd=4.5)


def gaussian_density(z: np.ndarray, variance: float) -> np.ndarray:
    v = max(float(variance), 1e-300)
    return np.exp(-0.5 * z * z / v) / np.sqrt(2 * np.pi * v)


def _densities(theory: dict, z: np.ndarray) -> dict:
    """The NNGP Gaussian and the finite-N Edgeworth density on the bin centres z (None where undefined)."""
    var = float(theory["k"][0, 0])
    out: dict = {"gauss": gaussian_density(z, var) if np.isfinite(var) and var > 0 else None}
    if "cumulants_fw" in theory:
        v, k4, k6 = theory["cumulants_fw"]
        if v > 0 and np.isfinite([v, k4, k6]).all():
            out["edgeworth"], out["edge_reason"] = edgeworth(z, v, k4, k6)
        else:
            infinite = [name for name, c in (("σ²", v), ("κ₄", k4), ("κ₆", k6)) if not np.isfinite(c)]
            out["edgeworth"], out["edge_reason"] = None, (
                f"{' and '.join(infinite)} = ∞: the prior's tails are too heavy for that moment" if infinite
                else "the exact variance is not positive here")
    return out


def _exact(spec, x1: float, edges: np.ndarray) -> dict:
    """The exact density on the histogram's range, or the sentence saying why there is none."""
    try:
        return {"exact": exact_density(spec, x1, edges), "exact_reason": ""}
    except SpecError as exc:
        return {"exact": None, "exact_reason": str(exc)}


def _joint(spec, pts: np.ndarray, max_work: float | None = None) -> dict | float:
    """The exact joint density of (f(x₁), f(x₂)), or the sentence saying why there is none; where it needs more
    than `max_work` terms but no more than MAX_WORK (to be computed after the sample), its estimated seconds."""
    max_work = MAX_WORK if max_work is None else max_work
    try:
        x1, x2 = float(pts[0, 0]), float(pts[1, 0])
        return {"joint": exact_joint(spec, x1, x2, max_work), "joint_lines": exact_joint_lines(spec, x1, x2),
                "joint_reason": ""}
    except OverBudget as exc:
        if max_work < MAX_WORK and exc.cost <= MAX_WORK:
            return max(1.0, exc.cost / TERMS_PER_SECOND)
        return {"joint": None, "joint_lines": (), "joint_reason": str(exc)}
    except SpecError as exc:
        return {"joint": None, "joint_lines": (), "joint_reason": str(exc)}


def run(state: AppState) -> Iterator[OutputsResult]:
    spec = state.network_spec()
    pts = np.array([[state.x1], [state.x2]])
    grid = np.linspace(state.x_min, state.x_max, GRID)[:, None]
    settings = live_settings(state.sample_settings(), spec, 2)
    func_settings = state.sample_settings(ensemble=N_FUNCTIONS)
    return _results(spec, pts, grid, settings, func_settings)


def _results(spec, pts, grid, settings, func_settings) -> Iterator[OutputsResult]:
    theory = _theory(spec, pts, grid)
    funcs = sample_outputs(spec, grid, func_settings).T       # (GRID, N_FUNCTIONS)
    stats, edges, z = None, None, None
    kept: list[np.ndarray] = []
    n_kept = n_bad = 0
    paused = False   # whether this job has waited DEBOUNCE_S already
    after_sample = 0.0   # > 0: the joint density is too long for between chunks (its seconds): after the last one

    review = ErrorReview(spec, pts)

    def result() -> OutputsResult:
        est = review.review(stats.estimate())   # flags errors the sample cannot support (heavy tails)
        return OutputsResult(
            progress=Progress(done=est.n, requested=settings.ensemble), z=z, edges=edges[0],
            density=est.histogram.density()[0], var=est.g2[0, 0], var_err=est.g2_err[0, 0],
            kurt=est.kurtosis[0], kurt_err=est.kurtosis_err[0],
            var_unreliable=_flag(est, "g2", (0, 0)), kurt_unreliable=_flag(est, "kurtosis", (0,)),
            warnings=tuple(w for w in est.warnings if not w.startswith("G6c")),   # G6c is not shown here
            scatter=np.concatenate(kept),
            grid=grid[:, 0], funcs=funcs, x1=pts[0, 0], x2=pts[1, 0], width=spec.width, depth=spec.depth,
            nonfinite=n_bad, dtype=settings.dtype, joint_after_sample=after_sample, **theory)

    for chunk in iter_outputs(spec, pts, settings):
        if stats is not None and "exact_reason" not in theory:
            # After the first networks are on screen: the exact density (up to ~1 s for relu at N ≲ 10). A
            # short pause and a repeated result first: a cancellation point, so the jobs of a slider storm,
            # superseded within DEBOUNCE_S, never start an inversion they cannot interrupt.
            if needs_work(spec, float(pts[0, 0]), edges[0]):
                _cancellable_pause(DEBOUNCE_S)
                paused = True
                yield result()
            theory.update(_exact(spec, float(pts[0, 0]), edges[0]))
        elif stats is not None and "joint_reason" not in theory and after_sample == 0.0:
            # One chunk later (the 1-D density is on screen by then): the joint density (0.2–0.5 s for relu, 0.6–2 s
            # for the smooth activations; longer ones wait for the end of the sample), after the same debounce
            # unless this job has waited already (dragging x₂ leaves the 1-D density cached).
            if joint_needs_work(spec, float(pts[0, 0]), float(pts[1, 0])):
                if not paused:
                    _cancellable_pause(DEBOUNCE_S)
                    paused = True
                yield result()
            joint = _joint(spec, pts, INTERACTIVE_WORK)
            if isinstance(joint, dict):
                theory.update(joint)
            else:
                after_sample = joint
        n_bad += int((~torch.isfinite(chunk.values)).any(dim=1).sum())
        if stats is None:   # bins from theory, or from the first networks where theory diverges
            # rademacher: atoms at 0 (cancelled signs) are off by an ulp in float32; an odd bin count puts 0
            # mid-bin, so none falls on the wrong side of an edge
            edges = _histogram_edges(theory["k"], chunk.values.double().cpu().numpy(),
                                     73 if spec.prior == "rademacher" else 72)
            z = 0.5 * (edges[0, 1:] + edges[0, :-1])
            theory.update(_densities(theory, z))
            stats = EnsembleStats(2, hist_edges=edges)
        stats.update(chunk.start, chunk.values)
        if n_kept < SCATTER_MAX:
            part = chunk.values[: SCATTER_MAX - n_kept].double().cpu().numpy()
            kept.append(part)
            n_kept += len(part)
        yield result()
    if stats is not None and "exact_reason" not in theory:   # one chunk only: the density comes last
        theory.update(_exact(spec, float(pts[0, 0]), edges[0]))
        yield result()
    if stats is not None and "joint_reason" not in theory:   # … and the joint density after it
        theory.update(_joint(spec, pts))
        yield result()
