"""Training: an ensemble trained by gradient descent beside the closed-form NTK (or NNGP) flow prediction.

The run (trainer + history) survives pauses and learning-rate changes; it restarts only when something that
defines the ensemble or the data changes, or on `restart()`. Time t = Σ η (docs/physics.md §6), so the
prediction at t does not depend on the step, and changing the learning rate mid-run keeps the comparison valid.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from nnqft_engine.flow import theory as flow
from nnqft_engine.flow import training

from ..state import AppState
from ..theory import has_closed_form
from .progress import Progress

N_TEST = 120
N_TEST_QUADRATURE = 33   # kernels by 2-D quadrature cost O(points²): keep the flow prediction quick
N_SHOWN = 6
MAX_TRAIN_WIDTH = 8192
MAX_STEPS = 200_000


@dataclass(frozen=True)
class TrainingResult:
    progress: Progress
    x: np.ndarray            # test inputs
    tx: np.ndarray           # training data
    ty: np.ndarray
    t: float                 # t = Σ η
    step: int
    nets: np.ndarray         # the first N_SHOWN networks on x
    mean: np.ndarray         # ensemble mean and variance on x
    var: np.ndarray
    pred_mean: np.ndarray    # flow prediction at t
    pred_var: np.ndarray
    loss_grid: np.ndarray    # times of the predicted E[loss]
    loss_pred: np.ndarray
    hist_t: np.ndarray       # history of the run
    hist_loss: np.ndarray
    hist_drift: np.ndarray
    lr: float
    lr_note: str
    m: int
    width: int
    mode: str


class _Run:
    """One training run: created in the GUI thread, stepped only by the worker."""

    def __init__(self, key: tuple):
        self.key = key
        self.trainer = None
        self.data = None
        self.hist: dict[str, list] = {"t": [], "loss": [], "loss_err": [], "drift": []}


class TrainingJob:
    """Keeps the run between requests (the training view owns one). `run` is called in the GUI thread; the
    iterator it returns is advanced only by the worker."""

    def __init__(self):
        self._run: _Run | None = None

    def restart(self) -> None:
        self._run = None

    @staticmethod
    def _key(state: AppState) -> tuple:
        spec = state.network_spec(width=min(state.effective_width, MAX_TRAIN_WIDTH))
        return (spec, state.dataset, state.train_mode, state.train_ensemble, state.seed, state.device,
                state.dtype, state.x_min, state.x_max)

    def release_if_moved(self, state: AppState) -> bool:
        """Drop the kept run (its ensemble's parameters) once the settings no longer describe it: settings that
        moved on never come back to a run, so it must not hold memory meanwhile. True if one was dropped."""
        if self._run is None:
            return False
        old, new = self._run.key, self._key(state)
        # the run's device is the resolved one ('auto' → 'cpu'): compare everything else
        if old[:5] + old[6:] != new[:5] + new[6:]:
            self._run = None
            return True
        return False

    def run(self, state: AppState, live: dict, playing: bool, single: bool) -> Iterator[TrainingResult]:
        """Continue (or start) the run: one frame of `live["steps"]` steps at `live["lr"]` per result while
        `playing`, one frame if `single`, else just the current snapshot."""
        spec = state.network_spec(width=min(state.effective_width, MAX_TRAIN_WIDTH))
        key = self._key(state)
        if self._run is None or self._run.key != key:
            self._run = _Run(key)
        n_test = N_TEST if has_closed_form(spec.activation) else N_TEST_QUADRATURE
        test_x = np.linspace(state.x_min, state.x_max, n_test)[:, None]
        return _results(self._run, live, playing, single, spec, test_x, state.train_mode, state.dataset,
                        state.train_ensemble, state.seed, state.device, state.dtype)


def _results(run: _Run, live: dict, playing: bool, single: bool, spec, test_x, mode, name, m, seed, device,
             dtype) -> Iterator[TrainingResult]:
    if run.trainer is None:
        tx, ty = training.dataset(name)
        settings = training.TrainSettings(ensemble=m, seed=seed, device=device, dtype=dtype, mode=mode)
        run.data = (tx, ty)
        run.trainer = training.EnsembleTrainer(spec, tx, ty, test_x, settings)
        snap = run.trainer.snapshot()
    else:
        snap = run.trainer.snapshot() if not (single or playing) else None
    tx, ty = run.data
    while True:
        if snap is None:
            snap = run.trainer.step(int(live["steps"]), lr=float(live["lr"]))
        h = run.hist
        if not h["t"] or snap.t > h["t"][-1]:
            h["t"].append(snap.t)
            h["loss"].append(float(np.mean(snap.train_loss)))
            h["loss_err"].append(float(np.std(snap.train_loss) / np.sqrt(len(snap.train_loss))))
            h["drift"].append(np.nan if snap.ntk_drift is None else float(snap.ntk_drift))
        ts = np.array(h["t"])
        pos = ts[ts > 0]
        grid = np.geomspace(max(pos[0], 1e-3) if len(pos) else 1e-3, max(snap.t, 1e-2), 60)
        pred = flow.flow_prediction(spec, tx, ty, test_x, np.append(grid, snap.t), lr=1.0, mode=mode)
        yield TrainingResult(
            progress=Progress(step=snap.step, t=snap.t), x=test_x[:, 0], tx=tx[:, 0], ty=ty, t=snap.t,
            step=snap.step, nets=snap.test_outputs[:N_SHOWN], mean=snap.mean, var=snap.var,
            pred_mean=pred.mean[-1], pred_var=pred.var[-1], loss_grid=grid, loss_pred=pred.expected_loss[:-1],
            hist_t=ts, hist_loss=np.array(h["loss"]), hist_drift=np.array(h["drift"]), lr=snap.lr,
            lr_note=snap.lr_note, m=snap.test_outputs.shape[0], width=spec.width, mode=mode)
        snap = None
        if not playing or single or run.trainer.steps >= MAX_STEPS:
            return
