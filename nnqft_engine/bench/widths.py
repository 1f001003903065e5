"""Sampler throughput across widths (issue 15): networks per second of the streaming sampler, alone and with
the running statistics (`measure`), against a flat-tensor reference that draws every parameter of all m
networks with one torch.randn call (same generator type), then φ and the readout as einsum / batched products.

Ratios > 1 mean the sampler beats the flat draw; timings are best-of-`repeats`, interleaved.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..activations import get_activation
from ..devices import make_generator, resolve_device, torch_dtype
from ..sampling.ensemble import block_size, iter_outputs, params_per_network
from ..sampling.measure import measure, run_to_completion
from .sampler import _best_time
from ..spec import NetworkSpec, SampleSettings
from ..threads import torch_threads

WIDTHS = (2, 4, 8, 16, 64, 256, 1024)
DEPTHS = (1, 2)


def flat_reference(spec: NetworkSpec, xt: torch.Tensor, m: int, gen: torch.Generator) -> torch.Tensor:
    """Outputs (m, P) of m networks whose parameters come from one flat torch.randn draw."""
    act = get_activation(spec.activation)
    n, d = spec.width, spec.input_dim
    sw_in, sw_n, sb = spec.sigma_w / math.sqrt(d), spec.sigma_w / math.sqrt(n), spec.sigma_b
    theta = torch.randn(m, params_per_network(spec), generator=gen, dtype=xt.dtype, device=xt.device)
    o = 0

    def take(*shape: int) -> torch.Tensor:
        nonlocal o
        size = math.prod(shape)
        out = theta[:, o:o + size].reshape(m, *shape)
        o += size
        return out

    w1, b1 = take(n, d), take(n)
    h = act(torch.einsum("pd,mnd->mpn", xt * sw_in, w1) + sb * b1[:, None, :])   # (m, P, n)
    for _ in range(spec.depth - 1):
        w, b = take(n, n), take(n)
        h = act(torch.baddbmm(b[:, None, :], h, w.transpose(1, 2), beta=sb, alpha=sw_n))
    a, c = take(n), take(1)
    return torch.bmm(h, a[:, :, None])[..., 0] * sw_n + sb * c


def ensemble_for(width: int, depth: int, points: int, scale: float = 1.0) -> int:
    """Networks per measurement: ~2^23·scale neuron·point evaluations, at most ~2^24·scale parameters."""
    per_net_work = width * depth * points
    per_net_params = width * (2 + width * (depth - 1)) + width + 1
    m = min((1 << 23) * scale // per_net_work, (1 << 24) * scale // per_net_params, 131072)
    return int(max(8, m))




def benchmark(*, widths=WIDTHS, depths=DEPTHS, points: int = 16, repeats: int = 3, threads: int | None = 1,
              device: str = "cpu", dtype: str = "float32", activation: str = "erf", scale: float = 1.0,
              with_measure: bool = True) -> dict:
    """{"threads", "points", "device", "rows": [{depth, width, networks, block, sampler_networks_per_s,
    reference_networks_per_s, ratio, measure_networks_per_s}]}."""
    dev = resolve_device(device)
    x = np.linspace(-2.0, 2.0, points)[:, None]
    xt = torch.as_tensor(x, dtype=torch_dtype(dtype), device=dev)
    rows = []
    with torch_threads(threads) as used:
        for depth in depths:
            for width in widths:
                spec = NetworkSpec(depth=depth, width=width, activation=activation, sigma_w=1.0, sigma_b=0.1)
                m = ensemble_for(width, depth, points, scale)
                settings = SampleSettings(ensemble=m, seed=0, device=str(dev), dtype=dtype)

                def sampler() -> None:
                    for _ in iter_outputs(spec, x, settings):
                        pass
                    _sync(dev)

                def reference() -> None:
                    with torch.inference_mode():
                        flat_reference(spec, xt, m, make_generator(0, dev))
                    _sync(dev)

                def measured() -> None:
                    run_to_completion(measure(spec, x, settings))

                sampler(), reference()   # warm-up
                t_s = t_r = t_m = math.inf
                for _ in range(repeats):   # interleaved: a load spike hits all alike
                    t_s = min(t_s, _best_time(sampler, 1))
                    t_r = min(t_r, _best_time(reference, 1))
                    if with_measure:
                        t_m = min(t_m, _best_time(measured, 1))
                row = {"depth": depth, "width": width, "networks": m, "block": block_size(spec),
                       "sampler_networks_per_s": m / t_s, "reference_networks_per_s": m / t_r,
                       "ratio": t_r / t_s}
                if with_measure:
                    row["measure_networks_per_s"] = m / t_m
                rows.append(row)
    return {"threads": used, "points": points, "device": str(dev), "dtype": dtype, "activation": activation,
            "rows": rows}


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def table(result: dict) -> str:
    lines = [f"{result['activation']}, {result['points']} points, {result['threads']} thread(s), "
             f"{result['device']} {result['dtype']}",
             f"{'depth':>5} {'width':>6} {'block':>6} {'sampler/s':>11} {'flat ref/s':>11} {'ratio':>6} {'measure/s':>11}"]
    for r in result["rows"]:
        lines.append(f"{r['depth']:5d} {r['width']:6d} {r['block']:6d} {r['sampler_networks_per_s']:11.3e} "
                     f"{r['reference_networks_per_s']:11.3e} {r['ratio']:6.2f} "
                     f"{r.get('measure_networks_per_s', float('nan')):11.3e}")
    return "\n".join(lines)


__all__ = ["benchmark", "flat_reference", "table", "WIDTHS"]
