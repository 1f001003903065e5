"""What a view's request will cost, estimated before it runs, and a one-sentence refusal when it is too much.

Every request is costed from the state alone (no tensor is allocated): the memory its largest live tensors
take (the training ensemble's parameters and activations, a sampling chunk, the field's grid, configurations
and chains, the kernels' quadrature blocks) and, on the CPU, the time to its first result (the work before the
first yield, at a conservative rate). Over the memory budget (min(2 GB, half the RAM)) or the first-result
budget, the request is refused with `SpecError`: one sentence naming what to change. The scheduler shows it
in the view's note (the plots keep the last valid settings) and keeps the state as it is.

These are the app's live-view budgets; the CLI runs batch jobs and has its own costing.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from nnqft_engine import SpecError
from nnqft_engine.cost import machine_memory_mb
from nnqft_engine.sampling.ensemble import params_per_network
from nnqft_engine.threads import choose_threads

from .state import AppState

GB = 2**30
# Elementary operations per second on one loaded CPU core (measured ~1e8 cos/s for the field; halved).
CPU_RATE = 5e7
# The first result of a request must come within this (estimated, on the CPU): later ones are cancellable.
FIRST_RESULT_BUDGET_S = 30.0
# A whole field run (it cannot yield more often than its chunks) within this.
TOTAL_BUDGET_S = 30 * 60.0
# One training step, as estimated (about 3× the measured time): a step is the training's cancellation point,
# so a newer request waits for at most one.
STEP_BUDGET_S = 0.5


def memory_budget() -> float:
    """Bytes a request may use: min(2 GB, half the RAM); NNQFT_MEMORY_BUDGET_MB overrides (tests)."""
    env = os.environ.get("NNQFT_MEMORY_BUDGET_MB")
    if env:
        return float(env) * 2**20
    ram = machine_memory_mb() * 2**20          # sysconf, or GlobalMemoryStatusEx on Windows
    return float(min(2 * GB, (ram if math.isfinite(ram) else 8 * GB) / 2))


@dataclass(frozen=True)
class Cost:
    memory: float         # bytes of the largest live tensors
    first_s: float        # estimated seconds to the first result on one CPU core
    total_s: float        # estimated seconds for the whole request on one CPU core (inf: open-ended)
    advice: str           # what to lower, in words
    step_s: float = 0.0   # estimated seconds of one uninterruptible step (training)
    call_elements: float = 0.0   # elements of the largest single torch call: sets the CPU threads (threads())


def _bytes(state: AppState) -> int:
    return 4 if state.dtype == "float32" else 8


def _fmt_bytes(b: float) -> str:
    return f"{b / GB:.1f} GB" if b >= 0.1 * GB else f"{b / 2**20:.0f} MB"


def _fmt_s(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.0f} h" if s < 1e6 else "days"


# ---- per view ---------------------------------------------------------------------------------------------
def _kernels_work(state: AppState, points: int) -> float:
    """Quadrature work of the analytic kernels on `points` points (closed forms: negligible)."""
    from .theory import has_closed_form
    if has_closed_form(state.activation):
        return points * points * state.depth * 20.0
    pairs = points * (points + 1) / 2
    return pairs * 320.0**2 * state.depth * 2 * 4   # worst-case Gauss–Hermite nodes, φ and φ′, ~4 ops each


def outputs_cost(state: AppState, n_points: int = 2) -> Cost:
    from .jobs.outputs import GRID, N_FUNCTIONS
    from .theory import live_settings
    spec = state.network_spec()
    b = _bytes(state)
    settings = live_settings(state.sample_settings(), spec, n_points)
    per_net = (params_per_network(spec) + 3 * n_points * spec.width * spec.depth) * b
    chunk = max(1, settings.chunk_networks or 1) * per_net
    funcs = N_FUNCTIONS * (params_per_network(spec) + 3 * GRID * spec.width) * b
    memory = max(chunk, funcs) + 64 * 2**20
    matmul = (N_FUNCTIONS * GRID + max(1, settings.chunk_networks or 1) * n_points) * params_per_network(spec)
    first = _kernels_work(state, n_points + 9) / CPU_RATE + matmul / (10 * CPU_RATE)
    call = max(max(1, settings.chunk_networks or 1) * n_points, N_FUNCTIONS * GRID) * spec.width
    return Cost(memory, first, math.inf, "lower the width N or the depth L", call_elements=call)


def correlators_cost(state: AppState) -> Cost:
    from .jobs.correlators import GRID
    c = outputs_cost(state, n_points=GRID + 1)
    return Cost(c.memory, c.first_s, c.total_s, c.advice, call_elements=c.call_elements)


def kernels_cost(state: AppState) -> Cost:
    from .jobs.kernels import GRID, QUADRATURE_GRIDS
    from .theory import has_closed_form
    points = (GRID if has_closed_form(state.activation) else QUADRATURE_GRIDS[0]) + 1
    memory = 8 * (1 << 21) * 4 + 16 * points * points * 8
    return Cost(memory, _kernels_work(state, points) / CPU_RATE, math.inf, "choose a closed-form activation",
                call_elements=1 << 21)


def training_cost(state: AppState) -> Cost:
    from nnqft_engine.flow.data import dataset

    from .jobs.training import MAX_TRAIN_WIDTH, N_TEST, N_TEST_QUADRATURE
    from .theory import has_closed_form
    spec = state.network_spec(width=min(state.effective_width, MAX_TRAIN_WIDTH))
    b = _bytes(state)
    m = state.train_ensemble
    p = params_per_network(spec)
    n_train = len(dataset(state.dataset)[0])
    n_test = N_TEST if has_closed_form(spec.activation) else N_TEST_QUADRATURE
    # parameters + their initial copy + one block's gradients, and the activations of train + test points (the
    # engine runs forward passes, steps and NTKs in chunks of ~2²³ elements per layer)
    acts = min(3.0 * m * (n_train + n_test) * spec.width, 3.0 * (1 << 23)) * spec.depth * 8
    memory = 2.2 * m * p * b + acts + 64 * 2**20
    # matrix products run ~10× the elementary rate; the first result is the untrained snapshot, and every
    # step is a cancellation point, so one step must be quick too
    step_s = 6.0 * m * p * n_train / (10 * CPU_RATE)
    first = _kernels_work(state, n_train + n_test) / CPU_RATE + 4 * m * p * (n_train + n_test) / (10 * CPU_RATE)
    return Cost(memory, first, math.inf, "lower the width N, the depth L or the training ensemble M", step_s,
                call_elements=acts / (8 * spec.depth))


def field_cost(state: AppState) -> Cost:
    from nnqft_engine.field import FieldSpec

    from .jobs.field import DEFAULTS, IMAGE_SIZE, N_CURVES, N_POINTS, field_width
    s = {**DEFAULTS, **state.view_settings.get("field", {})}
    spec = FieldSpec(dim=int(s["dim"]), mass=s["mass"], cutoff=s["cutoff"], box=s["box"], lam=s["lam"],
                     alpha=s["alpha"], width=field_width(state))   # width and ensemble: the shared controls
    g = spec.nodes_per_axis ** spec.dim + N_POINTS
    n = spec.width
    ensemble = state.ensemble
    cfg_points, cfg_count = (300, N_CURVES) if spec.dim == 1 else (IMAGE_SIZE**2, 1)
    cfg_work = cfg_points * n * cfg_count
    cfg_memory = 3 * cfg_points * n * 8
    if s["sampler"] == "mcmc":
        chains, burn_in = 64, 100
        steps = math.ceil(ensemble / chains)
        per_step = chains * 2 * n * g                  # window k ≤ N neurons, old and new, at every node
        first = cfg_work + chains * n * g + (burn_in + max(1, steps // 20)) * per_step
        total = cfg_work + (burn_in + steps) * per_step + (steps / max(1, steps // 20)) * chains * n * g
        memory = 6 * chains * g * 8 + 3 * chains * n * (spec.dim + 2) * 8 + 32 * 2**20
        call = chains * g
    else:
        block = 64
        every = max(block, ensemble // 20)
        first = cfg_work + every * n * g
        total = cfg_work + ensemble * n * g
        memory = 3 * block * g * 8 + 32 * 2**20
        call = block * g
    memory = max(memory, cfg_memory) + 3 * 64 * g * 8   # a tile holds at least one neuron for all rows
    return Cost(memory, first / CPU_RATE, total / CPU_RATE,
                "lower the width N, the cutoff Λ, the box L, the dimension d or the ensemble",
                call_elements=max(call, cfg_points * n))


COSTS = {"outputs": outputs_cost, "correlators": correlators_cost, "kernels": kernels_cost,
         "training": training_cost, "field": field_cost}


def estimate(key: str, state: AppState) -> Cost | None:
    fn = COSTS.get(key)
    return None if fn is None else fn(state)


def threads(cost: Cost | None, device: str) -> int | None:
    """CPU threads for a request (nnqft_engine.threads.choose_threads on its largest torch call): one for the
    small calls of live views, more only for big work; None off the CPU (torch's setting is left alone)."""
    if device != "cpu":
        return None
    return choose_threads(int(cost.call_elements) if cost is not None else 0)


def check(key: str, state: AppState) -> Cost | None:
    """Raise SpecError (one sentence: the need, the budget, what to lower) if view `key`'s request for `state`
    cannot run within the budgets; else its cost."""
    fn = COSTS.get(key)
    if fn is None:
        return None
    cost = fn(state)
    budget = memory_budget()
    if cost.memory > budget:
        raise SpecError(f"these settings need about {_fmt_bytes(cost.memory)} of memory, more than the "
                        f"{_fmt_bytes(budget)} allowed; {cost.advice}")
    if state.device == "cpu":
        if cost.first_s > FIRST_RESULT_BUDGET_S:
            raise SpecError(f"the first result would take about {_fmt_s(cost.first_s)} on the CPU; "
                            f"{cost.advice}")
        if cost.step_s > STEP_BUDGET_S:
            raise SpecError(f"one training step would take about {cost.step_s:.1f} s on the CPU, too long to "
                            f"stay responsive; {cost.advice}")
        if cost.total_s > TOTAL_BUDGET_S and math.isfinite(cost.total_s):
            raise SpecError(f"this run would take about {_fmt_s(cost.total_s)} on the CPU; {cost.advice}")
    return cost
