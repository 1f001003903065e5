"""Gradient-descent throughput: one batched step of M networks against a per-network Python loop."""
from __future__ import annotations

import time

import numpy as np
import torch

from .flow_data import dataset
from .spec import NetworkSpec


def _time_per_call(fn, repeats: int) -> float:
    fn()                                      # warm-up (allocations, kernel selection)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def benchmark(ensemble: int = 256, width: int = 1024, n_train: int = 16, n_test: int = 200,
              device: str = "cpu", dtype: str = "float32", loop_networks: int = 16, repeats: int = 5) -> dict:
    """Seconds per full-batch GD step for the whole ensemble, per snapshot on the test grid, and the
    speed-up over stepping the same networks one at a time (timed on `loop_networks`, scaled to M)."""
    from .training import EnsembleTrainer, TrainSettings

    spec = NetworkSpec(width=width)
    x, y = dataset("sin", n_train)
    test = np.linspace(-1, 1, n_test)
    settings = TrainSettings(ensemble=ensemble, device=device, dtype=dtype, linearized=False, track_drift=False)
    batched = EnsembleTrainer(spec, x, y, test, settings)
    lr = batched.current_lr()
    step = _time_per_call(lambda: batched._gd_step(lr), repeats)
    snap = _time_per_call(batched.snapshot, 2)
    single = EnsembleTrainer(spec, x, y, test, settings.replace(ensemble=1)) if hasattr(settings, "replace") else \
        EnsembleTrainer(spec, x, y, test, TrainSettings(ensemble=1, device=device, dtype=dtype, linearized=False,
                                                        track_drift=False))

    def loop() -> None:
        for _ in range(loop_networks):
            single._gd_step(lr)

    per_loop = _time_per_call(loop, max(1, repeats // 2)) * ensemble / loop_networks
    return {
        "ensemble": ensemble, "width": width, "n_train": n_train, "n_test": n_test,
        "device": str(batched.device), "dtype": dtype, "threads": torch.get_num_threads(),
        "gd_step_s": step, "snapshot_s": snap, "loop_step_s": per_loop, "speedup_vs_loop": per_loop / step,
    }


__all__ = ["benchmark"]
