"""Streaming evaluation of ensembles of random networks (docs/physics.md §1–2, §5).

Networks are drawn in fixed *blocks*, each from its own generator derived from (seed, block index), so the
numbers depend only on the spec, the points, the seed, the dtype and the device: chunking (set by the
memory budget) changes speed and memory, never results. `iter_outputs` is a generator; each yield hands
back one chunk of outputs and is a place to stop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from ..activations import get_activation
from ..cancel import check_cancelled
from ..dependence import readout_factors
from ..devices import make_generator, resolve_device, torch_dtype
from ..priors import sample_standardized
from ..spec import NetworkSpec, SampleSettings, as_points, layer_variances

# Parameters drawn per block at most (fixed: results must not depend on the memory budget).
_BLOCK_PARAMS = 1 << 22
_MAX_BLOCK = 256
# Depth-1 tiles of about _TILE_ELEMENTS (networks × neurons × points) elements, ~512 KB in float32, so the
# activation works on L2-resident data.
_TILE_ELEMENTS = 1 << 17


@dataclass(frozen=True)
class OutputChunk:
    """Outputs f of networks [start, start + len(values)) at every point: values has shape (m, P)."""

    start: int
    values: torch.Tensor




def params_per_network(spec: NetworkSpec) -> int:
    n, d = spec.width, spec.input_dim
    return n * (d + 1) + (spec.depth - 1) * n * (n + 1) + n + 1


def block_size(spec: NetworkSpec) -> int:
    """Networks per random block; a function of the spec alone."""
    return int(max(1, min(_MAX_BLOCK, _BLOCK_PARAMS // params_per_network(spec))))


def chunk_blocks(spec: NetworkSpec, n_points: int, settings: SampleSettings, dtype_bytes: int) -> int:
    """Blocks per chunk so that a chunk's tensors fit in the memory budget."""
    bs = block_size(spec)
    if settings.chunk_networks is not None:
        return max(1, settings.chunk_networks // bs)
    # Depth 1 really works in fixed tiles, but budgeting 3·P·min(N, 256) elements per network keeps chunks
    # small, so the first estimate reaches the app early (progressive refinement).
    tile = min(spec.width, 256) if spec.depth == 1 else spec.width
    per_net = (params_per_network(spec) + 3 * n_points * tile + 4 * n_points) * dtype_bytes
    if spec.depth > 1:
        per_net += 2 * n_points * spec.width * dtype_bytes
    return max(1, int(settings.memory_budget_mb * 2**20 // (per_net * bs)))




def forward_block(spec: NetworkSpec, xt: torch.Tensor, qs: list[torch.Tensor], m: int,
                  gen: torch.Generator) -> torch.Tensor:
    """Draw m networks from `gen` and return their outputs at points xt (P, d): shape (m, P).

    Parameters are drawn standardized, in as few calls as possible; the scales σ_w/√fan_in and σ_b are
    folded into the points, the matrix products and the final output instead of every parameter.
    """
    dtype, device = xt.dtype, xt.device
    n, d = spec.width, spec.input_dim

    def draw(*shape: int) -> torch.Tensor:
        return sample_standardized(spec.prior, shape, gen, dtype=dtype, device=device, dof=spec.prior_dof)

    first = draw(m, n, d + 1)                              # ω¹ in [..., :d], β¹ in [..., d]
    deep = [draw(m, n, n + 1) for _ in range(spec.depth - 1)]
    head = draw(m, n + 1)                                  # readout ω in [:, :n], bias β in [:, n]
    sw_in, sw_n, sb = spec.sigma_w / math.sqrt(d), spec.sigma_w / math.sqrt(n), spec.sigma_b
    a = head[:, :n]
    factor = readout_factors(spec, first[..., :d] * sw_in, gen)
    if not isinstance(factor, float):
        a = a * factor
    xs = xt * sw_in
    if spec.depth == 1:
        out = _depth1_readout(spec, xs, first, a, qs[0])
    else:
        act = get_activation(spec.activation)
        h = act.apply_(torch.baddbmm(first[:, None, :, d], xs.expand(m, -1, -1), first[..., :d].transpose(1, 2),
                                     beta=sb), qs[0][None, :, None])
        for w, q in zip(deep, qs[1:]):
            z = torch.baddbmm(w[:, None, :, n], h, w[..., :n].transpose(1, 2), beta=sb, alpha=sw_n)
            h = act.apply_(z, q[None, :, None])
        out = torch.bmm(h, a[:, :, None])[..., 0]
    return out.mul_(sw_n).add_(head[:, n:], alpha=sb)


def _depth1_readout(spec: NetworkSpec, xs: torch.Tensor, first: torch.Tensor, a: torch.Tensor,
                    q: torch.Tensor) -> torch.Tensor:
    """Σ_i a_i φ(z_i(x)) for one hidden layer, a few networks at a time so each (networks × neurons × points)
    tile stays in cache: z is one plain matrix product [ω¹ β¹]·[x σ_b]ᵀ, φ overwrites it in place, and the
    readout is a batched product. Tiles depend only on the spec and P, so results never depend on chunking."""
    act = get_activation(spec.activation)
    m, n, d1 = first.shape
    p = xs.shape[0]
    xb = torch.cat([xs, xs.new_full((p, 1), spec.sigma_b)], dim=1).T.contiguous()  # (d+1, P)
    tile_m = max(1, _TILE_ELEMENTS // (p * n))
    out = xs.new_empty(m, 1, p)
    qv = q.view(1, 1, p) if torch.is_tensor(q) else q
    flat = first.view(m * n, d1)
    for m0 in range(0, m, tile_m):
        check_cancelled()
        m1 = min(m, m0 + tile_m)
        z = torch.mm(flat[m0 * n:m1 * n], xb).view(m1 - m0, n, p)
        torch.bmm(a[m0:m1, None, :], act.apply_(z, qv), out=out[m0:m1])
    return out[:, 0, :]


def iter_outputs(spec: NetworkSpec, x, settings: SampleSettings) -> Iterator[OutputChunk]:
    """Yield the ensemble's outputs chunk by chunk (networks in order 0 … ensemble−1)."""
    pts = as_points(x, spec.input_dim)
    device = resolve_device(settings.device)
    dtype = torch_dtype(settings.dtype)
    xt = torch.as_tensor(pts, dtype=dtype, device=device)
    qs = [torch.as_tensor(q, dtype=dtype, device=device) for q in layer_variances(spec, pts)]
    bs = block_size(spec)
    per_chunk = chunk_blocks(spec, len(pts), settings, xt.element_size())
    n_blocks = -(-settings.ensemble // bs)
    with torch.inference_mode():
        for first in range(0, n_blocks, per_chunk):
            parts = []
            for blk in range(first, min(n_blocks, first + per_chunk)):
                check_cancelled()
                m = min(bs, settings.ensemble - blk * bs)
                parts.append(forward_block(spec, xt, qs, m, make_generator(settings.seed, device, blk)))
            yield OutputChunk(first * bs, torch.cat(parts) if len(parts) > 1 else parts[0])


def sample_outputs(spec: NetworkSpec, x, settings: SampleSettings) -> np.ndarray:
    """All outputs at once as a float64 array (ensemble, P); for small ensembles, tests and plots."""
    return np.concatenate([c.values.double().cpu().numpy() for c in iter_outputs(spec, x, settings)])
