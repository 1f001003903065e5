"""Gradient-descent throughput: one batched step of M networks against a per-network Python loop."""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from .flow_data import dataset
from .spec import NetworkSpec


def _elapsed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def benchmark(ensemble: int = 256, width: int = 1024, n_train: int = 16, n_test: int = 200,
              device: str = "cpu", dtype: str = "float32", loop_networks: int = 16, repeats: int = 5) -> dict:
    """Seconds per full-batch GD step of the whole ensemble (best of `repeats`), per snapshot on the
    test grid, and the speed-up over stepping the same networks one at a time (each network its own
    tensors, the same step code; timed on `loop_networks` of them and scaled to M). The two are timed
    interleaved, so a load spike hits both alike."""
    from .training import EnsembleTrainer, TrainSettings

    spec = NetworkSpec(width=width)
    x, y = dataset("sin", n_train)
    test = np.linspace(-1.0, 1.0, n_test)
    quiet = dict(device=device, dtype=dtype, linearized=False, track_drift=False)
    batched = EnsembleTrainer(spec, x, y, test, TrainSettings(ensemble=ensemble, **quiet))
    singles = [EnsembleTrainer(spec, x, y, test, TrainSettings(ensemble=1, seed=s, **quiet))
               for s in range(loop_networks)]
    lr = batched.current_lr()

    def loop() -> None:
        for net in singles:
            net._gd_step(lr)

    batched._gd_step(lr), loop()                     # warm-up: allocations, kernel selection
    step = per_loop = math.inf
    for _ in range(repeats):
        step = min(step, _elapsed(lambda: batched._gd_step(lr)))
        per_loop = min(per_loop, _elapsed(loop) * ensemble / loop_networks)
    snap = min(_elapsed(batched.snapshot) for _ in range(2))
    return {
        "ensemble": ensemble, "width": width, "n_train": n_train, "n_test": n_test,
        "device": str(batched.device), "dtype": dtype, "threads": torch.get_num_threads(),
        "gd_step_s": step, "snapshot_s": snap, "loop_step_s": per_loop, "speedup_vs_loop": per_loop / step,
        "steps_per_s": 1.0 / step,
    }


__all__ = ["benchmark"]
