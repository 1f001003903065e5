"""What a request will cost before it runs: peak memory and CPU work, from the spec, the points and the settings.

Every estimate is a deliberately rough upper-side figure (the dominant tensors and loops of the code that will
run, with constants measured on one core of the 2-core development machine); `check` refuses a request whose
memory passes the budget or whose work passes `MAX_SECONDS`, with one sentence saying what to change. The CLI
costs every command before it computes; nothing here allocates or computes the request itself.
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass

from .spec import NetworkSpec, SpecError

DEFAULT_MEMORY_MB = 1024.0
MAX_SECONDS = 600.0              # ~10 minutes of estimated CPU work
BASE_MB = 350.0                  # interpreter, torch, numpy, scipy already loaded
ELEMENT_RATE = 2e8               # tensor element operations per second (one core, conservative)
CLOSED_FORM_PAIR_S = 2e-7        # one layer of a closed-form kernel, per pair of points (numpy, several ufuncs)
QUADRATURE_PAIR_S = 8e-4         # one Gauss–Hermite layer per pair (measured 4–8e-4 s: tanh, gelu)
PRIOR_PAIR_S = 2e-4              # the first layer over a non-Gaussian prior, per pair
RELU_SPHERE_PAIR_S = 0.06        # relu at d > 1: one split (cubed-sphere) rule per pair, docs/physics.md §4.2
RELU_SPHERE_T_PAIR_S = 1.0       # the same under student-t (graded cells, numerical radial moments)
RELU_MIXTURE_PAIR_S = 0.02       # relu, > 3 live parameters, laplace / student-t: the scale-mixture rule (§4.2),
                                 # measured ~0.01 s per pair for E[φφ] and E[φ′φ′] (laplace, 3·10⁵ nodes)
RELU_POLYTOPE_PAIR_S = {4: 0.01, 5: 0.025, 6: 0.09}   # relu × uniform / laplace by live parameters (§4.2),
                                 # measured E[φφ] + E[φ′φ′] per pair: 0.5 / 5 ms (uniform / laplace) at 4, 3 / 11 at
                                 # 5, 18 / 45 at 6
ERF_MIXTURE_PAIR_S = 0.03        # erf at d > 1, laplace / student-t: simplex × radial rule, measured ~0.013 s per pair
FOURIER_PAIR_S = 0.03            # smooth φ × laplace at d > 1: the pair's characteristic function, measured
                                 # ~0.006 s per pair at standard-normal points, σ_w = 3 (tanh); at most ~0.3 s
TABLE_NODE_S = 1e-4              # propagator table: per node, plus a quadratic term (long distances cost more)
TABLE_NODE2_S = 3e-8


@dataclass(frozen=True)
class Cost:
    """Estimated peak memory (MB, including the loaded libraries), CPU seconds, and what dominates each."""

    memory_mb: float
    seconds: float
    memory_what: str
    work_what: str

    def as_dict(self) -> dict:
        return {"memory_mb": round(self.memory_mb, 1), "seconds": round(self.seconds, 3)}


def machine_memory_mb(platform: str | None = None, kernel32=None) -> float:
    """Physical memory of this machine in MB (inf when the OS does not say). POSIX (Linux, macOS) answers through
    sysconf; Windows has no os.sysconf and answers through GlobalMemoryStatusEx."""
    if (platform or sys.platform) == "win32":
        return _windows_memory_bytes(kernel32) / 2**20
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):
        return math.inf


def _windows_memory_bytes(kernel32=None) -> float:
    """ullTotalPhys of MEMORYSTATUSEX (inf if the call fails). `kernel32` is injectable for tests elsewhere."""
    import ctypes

    class MemoryStatusEx(ctypes.Structure):
        _fields_ = [("dwLength", ctypes.c_uint32), ("dwMemoryLoad", ctypes.c_uint32),
                    *((name, ctypes.c_uint64) for name in (
                        "ullTotalPhys", "ullAvailPhys", "ullTotalPageFile", "ullAvailPageFile",
                        "ullTotalVirtual", "ullAvailVirtual", "ullAvailExtendedVirtual"))]

    status = MemoryStatusEx()
    status.dwLength = ctypes.sizeof(MemoryStatusEx)
    try:
        kernel32 = kernel32 or ctypes.windll.kernel32          # type: ignore[attr-defined]
        ok = kernel32.GlobalMemoryStatusEx(ctypes.byref(status))
    except (AttributeError, OSError):
        return math.inf
    return float(status.ullTotalPhys) if ok and status.ullTotalPhys else math.inf


def memory_limit_mb(requested: float | None = None) -> float:
    """The budget: `requested` (default 1 GB), which may not pass half this machine's RAM."""
    limit = DEFAULT_MEMORY_MB if requested is None else float(requested)
    if not (math.isfinite(limit) and limit >= 1):
        raise SpecError(f"memory budget must be a finite number of MB >= 1, got {requested!r}")
    half = machine_memory_mb() / 2
    if limit > half:
        raise SpecError(f"memory budget {limit:g} MB is more than half of this machine's RAM ({half:.0f} MB); "
                        "lower --memory-mb")
    return limit


def check(cost: Cost, limit_mb: float, what_to_change: str) -> Cost:
    """Raise SpecError (one sentence) when the cost passes the memory budget or MAX_SECONDS."""
    if cost.memory_mb > limit_mb:
        raise SpecError(f"this request needs about {_mb(cost.memory_mb)} ({cost.memory_what}), more than the "
                        f"{_mb(limit_mb)} budget; {what_to_change} or raise --memory-mb")
    if not math.isfinite(cost.seconds):
        raise SpecError(f"this request never ends ({cost.work_what}); {what_to_change}")
    if cost.seconds > MAX_SECONDS:
        raise SpecError(f"this request needs about {_duration(cost.seconds)} of CPU work ({cost.work_what}), more "
                        f"than the {MAX_SECONDS / 60:.0f}-minute limit; {what_to_change}")
    return cost


def _mb(mb: float) -> str:
    return f"{mb / 1024:.3g} GB" if mb >= 1024 else f"{mb:.0f} MB"


def _duration(s: float) -> str:
    if s >= 86400 * 365:
        return f"{s / (86400 * 365):.2g} years"
    if s >= 3600:
        return f"{s / 3600:.3g} hours"
    return f"{s / 60:.3g} minutes"


def _params(spec: NetworkSpec) -> int:
    n, d = spec.width, spec.input_dim
    return n * (d + 1) + (spec.depth - 1) * n * (n + 1) + n + 1


def _dtype_bytes(dtype: str) -> int:
    return 8 if dtype == "float64" else 4


# -- analytic kernels and exact finite-width correlators ----------------------------------------------------------
def kernel_cost(spec: NetworkSpec, n_points: int, *, factor: float = 1.0) -> Cost:
    """NNGP + NTK on P points: about a dozen P×P float64 arrays; per layer a closed form or quadrature per pair."""
    from .activations import get_activation

    p2 = float(n_points) ** 2
    pairs = p2 / 2 + n_points
    closed = get_activation(spec.activation).closed_form
    per_layer = CLOSED_FORM_PAIR_S if closed else QUADRATURE_PAIR_S
    seconds = pairs * per_layer * spec.depth
    if spec.prior != "gaussian":
        seconds += pairs * PRIOR_PAIR_S
    if spec.input_dim > 1 and spec.activation == "relu" and spec.prior not in ("gaussian", "rademacher"):
        live = spec.input_dim * (spec.sigma_w > 0) + (spec.sigma_b > 0)
        if spec.prior in ("uniform", "laplace") and live in RELU_POLYTOPE_PAIR_S:
            seconds += pairs * RELU_POLYTOPE_PAIR_S[live]
        elif (live > 3 and spec.prior == "laplace") or (live >= 3 and spec.prior == "student-t"):
            seconds += 1.0 + pairs * RELU_MIXTURE_PAIR_S
        else:
            seconds += pairs * (RELU_SPHERE_T_PAIR_S if spec.prior == "student-t" else RELU_SPHERE_PAIR_S)
    if spec.input_dim > 1 and spec.activation == "erf" and spec.prior == "student-t":
        seconds += pairs * ERF_MIXTURE_PAIR_S
    if spec.input_dim > 1 and get_activation(spec.activation).smooth and spec.prior == "laplace":
        seconds += pairs * FOURIER_PAIR_S
    memory = BASE_MB + 12 * 8 * p2 / 2**20
    return Cost(memory, seconds * factor, f"P×P kernel matrices for {n_points} points",
                f"{'closed-form' if closed else 'quadrature'} kernels on {n_points} points × {spec.depth} layers")


def theory_cost(spec: NetworkSpec, n_points: int) -> Cost:
    """Exact depth-1 correlators: the kernels' pairs plus the fourth and sixth moments per pair."""
    return kernel_cost(spec, n_points, factor=4.0)


# -- Monte-Carlo sampling -----------------------------------------------------------------------------------------
def sample_cost(spec: NetworkSpec, n_points: int, settings) -> Cost:
    """The streaming sampler: one chunk of whole blocks (at least one block) and M forward passes."""
    from .sampling.ensemble import block_size

    nbytes = _dtype_bytes(settings.dtype)
    params = _params(spec)
    bs = block_size(spec)
    tile = min(spec.width, 256) if spec.depth == 1 else spec.width
    per_net = (params + 3 * n_points * tile + 4 * n_points) * nbytes
    if spec.depth > 1:
        per_net += 2 * n_points * spec.width * nbytes
    chunk = max(per_net * bs, min(settings.memory_budget_mb * 2**20, per_net * settings.ensemble))
    memory = BASE_MB + 1.5 * chunk / 2**20 + 64 * n_points * n_points * 8 / 2**20
    macs = n_points * (spec.width * (spec.input_dim + 1) + (spec.depth - 1) * spec.width * (spec.width + 1)
                       + spec.width)
    per_network = 2 * params + 2 * macs + 4 * n_points * spec.width * spec.depth
    seconds = settings.ensemble * per_network / ELEMENT_RATE
    return Cost(memory, seconds, f"{params:.3g} parameters per network, drawn {bs} networks at a time",
                f"{settings.ensemble} networks of {params:.3g} parameters at {n_points} points")


# -- gradient flow ------------------------------------------------------------------------------------------------
def flow_steps(times, lr: float | None, lr_cap: float) -> float:
    """GD steps implied by the largest finite time and the step actually taken (min(lr, cap), cap if lr None)."""
    finite = [t for t in times if math.isfinite(t)]
    t_max = max(finite, default=0.0)
    if t_max <= 0:
        return 0.0
    step = lr_cap if lr is None else min(lr, lr_cap)
    if not math.isfinite(step):      # a zero kernel: nothing moves, one step per time
        return float(len(finite))
    return math.ceil(t_max / step) if t_max / step < 1e300 else math.inf


def flow_theory_cost(spec: NetworkSpec, n_train: int, n_test: int) -> Cost:
    """Closed-form flow: kernels on train ∪ test, one n_train² eigendecomposition, T·n_test² covariances."""
    return kernel_cost(spec, n_train + n_test, factor=1.0)


def flow_cost(spec: NetworkSpec, n_train: int, n_test: int, n_times: int, steps: float, ensemble: int,
              dtype: str, mode: str) -> Cost:
    """Trained ensembles: M networks' parameters (with θ₀, gradients), their empirical NTKs (M·n_train² and the
    linearized twin's M·(n_test + n_train)·n_train), and `steps` full-batch GD steps."""
    nbytes = _dtype_bytes(dtype)
    params = _params(spec)
    theory = flow_theory_cost(spec, n_train, n_test)
    kernels_mb = ensemble * (n_train * n_train + (n_test + n_train) * n_train) * 8 / 2**20
    params_mb = 4 * ensemble * params * nbytes / 2**20
    memory = theory.memory_mb + params_mb + 2 * kernels_mb
    pts = n_train + n_test
    per_step = ensemble * (n_train * 3 * (params + spec.width * spec.depth) + (n_test + n_train) * n_train)
    per_ntk = ensemble * n_train * pts * (spec.width * spec.depth if spec.depth == 1 or mode == "nngp"
                                          else params) * 2
    seconds = theory.seconds + (steps * per_step + (n_times + 2) * per_ntk) / ELEMENT_RATE
    return Cost(memory, seconds,
                f"{ensemble} networks × {params:.3g} parameters and their {n_train}×{n_train} NTKs",
                f"{steps:.3g} gradient steps of {ensemble} networks")


# -- φ⁴ field -------------------------------------------------------------------------------------------------------
def field_cost(fspec, points, ensemble: int, sampler: str, chains: int, burn_in: int, dtype: str,
               memory_budget_mb: float = 256.0) -> Cost:
    """Cos-nets evaluated at the points and the box's quadrature grid (nodes_per_axis^d), plus the propagator
    table G_Λ(r) up to the farthest distance (a node every min(0.05/Λ, 0.05/m))."""
    import numpy as np

    pts = np.asarray(points, dtype=np.float64).reshape(-1, fspec.dim)
    grid = float(fspec.nodes_per_axis) ** fspec.dim
    reach = 2 * float(np.linalg.norm(pts, axis=1).max()) + 0.5 * fspec.box * math.sqrt(fspec.dim)
    h = min(0.05 / fspec.cutoff, 0.05 / fspec.mass)
    table = reach / h + 5
    evals = len(pts) + grid
    if sampler == "mcmc":
        steps = math.ceil(ensemble / chains) + burn_in
        work = float(steps) * chains * fspec.width * evals * 2
        state_mb = chains * fspec.width * (fspec.dim + 2) * 8 * 3 / 2**20
    else:
        work = float(ensemble) * fspec.width * evals * 2
        state_mb = 0.0
    table_s = TABLE_NODE_S * table + TABLE_NODE2_S * table * table
    seconds = work / ELEMENT_RATE + table_s
    memory = (BASE_MB + 2 * memory_budget_mb + state_mb + table * 8 * 12 / 2**20
              + len(pts) * grid * 8 * 6 / 2**20 + grid * fspec.dim * 8 * 4 / 2**20)
    if table_s > seconds / 2:
        what = f"a propagator table of {table:.3g} nodes out to distance {reach:.3g}"
    else:
        what = f"{ensemble} samples × {fspec.width} neurons × {grid:.3g} grid nodes"
    return Cost(memory, seconds, f"{grid:.3g} box nodes and a {table:.3g}-node propagator table", what)


# -- benchmarks -----------------------------------------------------------------------------------------------------
def bench_cost(repeats: int, ensemble: int) -> Cost:
    """Sampler throughput at width 1024 and 16 points (erf and relu, four variants each, best of `repeats`),
    plus the fixed kernel/theory/flow figures (~30 s)."""
    per_net = 1024 * 16 * 6 + 1024 * 3
    memory = BASE_MB + 4 * min(ensemble, 1 << 16) * 1024 * 16 * 4 / 2**20 + 200
    seconds = 30 + repeats * 8 * ensemble * per_net / ELEMENT_RATE
    return Cost(memory, seconds, f"{ensemble} networks of width 1024 at 16 points",
                f"{repeats} repeats × 8 measurements of {ensemble} networks")


__all__ = ["Cost", "check", "memory_limit_mb", "machine_memory_mb", "kernel_cost", "theory_cost", "sample_cost",
           "flow_steps", "flow_theory_cost", "flow_cost", "field_cost", "bench_cost", "DEFAULT_MEMORY_MB",
           "MAX_SECONDS"]
