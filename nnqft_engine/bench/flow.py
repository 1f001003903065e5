"""Gradient-descent throughput: one batched step of M networks against a per-network Python loop."""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from ..flow.data import dataset
from ..flow.training import EnsembleTrainer, TrainSettings
from ..spec import NetworkSpec


def _elapsed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def benchmark(ensemble: int = 256, width: int = 1024, n_train: int = 16, n_test: int = 200,
              device: str = "cpu", dtype: str = "float32", loop_networks: int = 16, repeats: int = 5) -> dict:
    """Seconds per full-batch GD step of the whole ensemble (best of `repeats`), per snapshot on the
    test grid, and the speed-ups over stepping networks one at a time in a Python loop, timed on
    `loop_networks` of them and scaled to M: (loop) the same hand-written step code on one network's
    tensors; (autograd_loop) the textbook loop, forward + loss.backward() + SGD per network. All are timed
    interleaved, so a load spike hits them alike. Default spec: depth 1, erf, σ_w = 1, σ_b = 0.1."""
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
            net.gd_step(lr)

    textbook = _textbook_networks(batched, loop_networks)
    xt, yt = batched.x_train, batched.y_train

    def autograd_loop() -> None:
        for params in textbook:
            _textbook_step(params, xt, yt, lr)

    batched.gd_step(lr), loop(), autograd_loop()   # warm-up: allocations, kernel selection
    step = per_loop = per_autograd = math.inf
    scale = ensemble / loop_networks
    for _ in range(repeats):
        step = min(step, _elapsed(lambda: batched.gd_step(lr)))
        per_loop = min(per_loop, _elapsed(loop) * scale)
        per_autograd = min(per_autograd, _elapsed(autograd_loop) * scale)
    snap = min(_elapsed(batched.snapshot) for _ in range(2))
    floor = _elementwise_floor(ensemble * n_train * width, repeats)
    return {
        "ensemble": ensemble, "width": width, "n_train": n_train, "n_test": n_test,
        "device": str(batched.device), "dtype": dtype, "threads": torch.get_num_threads(),
        "gd_step_s": step, "snapshot_s": snap, "steps_per_s": 1.0 / step,
        "loop_step_s": per_loop, "speedup_vs_loop": per_loop / step,
        "autograd_loop_step_s": per_autograd, "speedup_vs_autograd_loop": per_autograd / step,
        # φ and φ' alone on every (network, point, neuron): no batched step can be faster on this machine,
        # so loop_step_s / this bounds the speed-up any batching reaches here.
        "elementwise_floor_s": floor, "speedup_ceiling_vs_loop": per_loop / floor,
    }


def _elementwise_floor(elements: int, repeats: int) -> float:
    """Seconds for erf and exp (the default φ and, up to a factor, its φ') over `elements` float32 values."""
    z = torch.randn(elements, generator=torch.Generator().manual_seed(0))
    out = torch.empty_like(z)
    return min(_elapsed(lambda: (torch.erf(z, out=out), torch.exp(z, out=out))) for _ in range(repeats))


def _textbook_networks(trainer, count: int) -> list[list[torch.Tensor]]:
    """`count` depth-1 networks as the textbook writes them: own W, b tensors with requires_grad."""
    (w1, b1), (w2, b2) = trainer.params
    return [[t[m].clone().requires_grad_(True) for t in (w1, b1, w2, b2)] for m in range(count)]


def _textbook_step(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor, lr: float) -> None:
    """One network: forward (ntk parameterization, erf), loss.backward(), SGD update."""
    w1, b1, w2, b2 = params
    c1, c2 = 1.0 / math.sqrt(w1.shape[1]), 1.0 / math.sqrt(w2.shape[1])
    f = (torch.erf(x @ w1.T * c1 + 0.1 * b1) @ w2.T * c2 + 0.1 * b2)[:, 0]
    loss = 0.5 * ((f - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None


__all__ = ["benchmark"]
