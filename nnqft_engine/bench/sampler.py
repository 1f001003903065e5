"""Throughput and latency benchmarks, measured as ratios against references run in the same process.

- ensemble throughput: network·neuron·point evaluations per second of the streaming sampler (random draws
  included) for erf and relu at depth 1, width 1024, 16 points;
- the activation limit: the bare activation on a cache-resident tensor, the ceiling the sampler could reach
  if drawing parameters and the affine maps were free;
- a straightforward unblocked reference sampler (draw everything, one big einsum, φ, einsum) for contrast;
- the same blocked evaluation on parameters drawn beforehand (`*_ratio_without_rng`): the ceiling of the
  ratio on this machine if random numbers were free, i.e. the cost of the affine map and readout passes alone;
- the latency of the analytic NNGP + NTK on 1000 points at depth 3 (erf).

Timings are best-of-`repeats`, interleaved, so a busy machine disturbs the ratios as little as possible.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np
import torch

from ..activations import get_activation
from ..devices import make_generator, resolve_device
from ..sampling.ensemble import _depth1_readout, block_size, iter_outputs
from ..spec import NetworkSpec, SampleSettings
from ..theory.kernels import kernels


def _best_time(fn: Callable[[], object], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def reference_ensemble(spec: NetworkSpec, x: torch.Tensor, m: int, gen: torch.Generator) -> torch.Tensor:
    """The unblocked textbook sampler: every parameter drawn at its scale, one (m, P, N) tensor, no tiling."""
    act = get_activation(spec.activation)
    n, d = spec.width, spec.input_dim
    w1 = torch.randn(m, n, d, generator=gen, dtype=x.dtype) * (spec.sigma_w / math.sqrt(d))
    b1 = torch.randn(m, n, generator=gen, dtype=x.dtype) * spec.sigma_b
    a = torch.randn(m, n, generator=gen, dtype=x.dtype) * (spec.sigma_w / math.sqrt(n))
    c = torch.randn(m, generator=gen, dtype=x.dtype) * spec.sigma_b
    h = act(torch.einsum("pd,mnd->mpn", x, w1) + b1[:, None, :])
    return torch.einsum("mpn,mn->mp", h, a) + c[:, None]


def _activation_rate(name: str, repeats: int, elements: int = 1 << 16) -> float:
    """Elements per second of φ on a 256 KB float32 tensor (fits in L2), written to a preallocated output."""
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(elements, generator=gen)
    out = torch.empty_like(z)
    fn = {"erf": lambda: torch.erf(z, out=out), "relu": lambda: torch.clamp_min(z, 0.0, out=out)}[name]
    inner = 50
    return inner * elements / _best_time(lambda: [fn() for _ in range(inner)], repeats)


def _ensemble_rate(spec: NetworkSpec, x: np.ndarray, ensemble: int, repeats: int) -> float:
    settings = SampleSettings(ensemble=ensemble, seed=0, device="cpu", dtype="float32")

    def run() -> None:
        for _ in iter_outputs(spec, x, settings):
            pass

    return ensemble * spec.width * len(x) / _best_time(run, repeats)


def _pre_drawn_rate(spec: NetworkSpec, x: np.ndarray, ensemble: int, repeats: int) -> float:
    """The sampler's depth-1 tiles on parameters drawn beforehand: everything but the random numbers."""
    xt = torch.as_tensor(x, dtype=torch.float32)
    gen = make_generator(0, torch.device("cpu"))
    m = min(ensemble, block_size(spec))
    first = torch.randn(m, spec.width, spec.input_dim + 1, generator=gen)
    head = torch.randn(m, spec.width + 1, generator=gen)
    xs = xt * (spec.sigma_w / math.sqrt(spec.input_dim))
    q = torch.zeros(len(x))

    def run() -> None:
        with torch.inference_mode():
            for _ in range(-(-ensemble // m)):
                _depth1_readout(spec, xs, first, head[:, :spec.width], q)

    return (-(-ensemble // m)) * m * spec.width * len(x) / _best_time(run, repeats)


def _reference_rate(spec: NetworkSpec, x: np.ndarray, ensemble: int, repeats: int) -> float:
    xt = torch.as_tensor(x, dtype=torch.float32)

    def run() -> None:
        with torch.inference_mode():
            reference_ensemble(spec, xt, ensemble, make_generator(0, torch.device("cpu")))

    return ensemble * spec.width * len(x) / _best_time(run, repeats)



def benchmark(*, width: int = 1024, points: int = 16, ensemble: int = 1024, repeats: int = 5,
              kernel_points: int = 1000) -> dict:
    """Sampler and analytic-kernel figures as one flat dict."""
    x = np.linspace(-2.0, 2.0, points)[:, None]
    result: dict = {"width": width, "points": points, "ensemble": ensemble, "threads": torch.get_num_threads(),
                    "device": "cpu", "auto_device": str(resolve_device("auto")), "torch": torch.__version__}
    for name in ("erf", "relu"):
        spec = NetworkSpec(depth=1, width=width, activation=name, sigma_w=1.0, sigma_b=0.1)
        # Interleave the three measurements so a load spike hits all of them alike.
        rates = {"ensemble": 0.0, "activation": 0.0, "reference": 0.0, "pre_drawn": 0.0}
        for _ in range(repeats):
            rates["ensemble"] = max(rates["ensemble"], _ensemble_rate(spec, x, ensemble, 1))
            rates["activation"] = max(rates["activation"], _activation_rate(name, 1))
            rates["reference"] = max(rates["reference"], _reference_rate(spec, x, ensemble, 1))
            rates["pre_drawn"] = max(rates["pre_drawn"], _pre_drawn_rate(spec, x, ensemble, 1))
        result[f"{name}_ensemble_evals_per_s"] = rates["ensemble"]
        result[f"{name}_activation_evals_per_s"] = rates["activation"]
        result[f"{name}_reference_evals_per_s"] = rates["reference"]
        result[f"{name}_ratio_to_activation_limit"] = rates["ensemble"] / rates["activation"]
        result[f"{name}_reference_ratio_to_activation_limit"] = rates["reference"] / rates["activation"]
        result[f"{name}_ratio_without_rng"] = rates["pre_drawn"] / rates["activation"]
    kspec = NetworkSpec(depth=3, activation="erf", sigma_w=1.2, sigma_b=0.2, parameterization="ntk")
    kx = np.linspace(-3.0, 3.0, kernel_points)[:, None]
    kernels(kspec, kx[:10])
    result["kernels_ms"] = 1e3 * _best_time(lambda: kernels(kspec, kx), max(3, repeats))
    return result


__all__ = ["benchmark", "reference_ensemble"]
