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

# Block size bounds (fixed: results must not depend on the memory budget). A block is one generator and one
# set of torch calls, so small networks come in big blocks (per-call overhead amortised: issue 15), bounded by
# the parameters drawn and the hidden neurons (≈ work per point; wide networks keep the former 256), so the
# first block, and so the first estimate the app shows, takes ~10–40 ms on one core (chunks may also end
# inside a block, at a tile).
_BLOCK_PARAMS = 1 << 22
_BLOCK_NEURONS = 1 << 16
_MIN_BLOCK, _MAX_BLOCK = 256, 16384
# Depth-1 tiles of about _TILE_ELEMENTS (networks × neurons × points) elements, ~512 KB in float32, so the
# activation works on L2-resident data.
_TILE_ELEMENTS = 1 << 17
# Depth ≥ 2 tiles: the (networks × points × neurons) hidden activations, ~4 MB in float32.
_DEEP_TILE_ELEMENTS = 1 << 20


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
    by_neurons = max(_MIN_BLOCK, _BLOCK_NEURONS // (spec.width * spec.depth))
    return int(max(1, min(_MAX_BLOCK, _BLOCK_PARAMS // params_per_network(spec), by_neurons)))


def chunk_networks(spec: NetworkSpec, n_points: int, settings: SampleSettings, dtype_bytes: int) -> int:
    """Networks per yielded chunk: `settings.chunk_networks`, else as many as fit in the memory budget.

    A chunk may end inside a block (at one of its fixed tiles), so a small chunk size is honoured even when
    blocks are big; the values never depend on it."""
    if settings.chunk_networks is not None:
        return max(1, settings.chunk_networks)
    # Depth 1 really works in fixed tiles, but budgeting 3·P·min(N, 256) elements per network keeps chunks
    # small, so the first estimate reaches the app early (progressive refinement).
    tile = min(spec.width, 256) if spec.depth == 1 else spec.width
    per_net = (params_per_network(spec) + 3 * n_points * tile + 4 * n_points) * dtype_bytes
    if spec.depth > 1:
        per_net += 2 * n_points * spec.width * dtype_bytes
    return max(1, int(settings.memory_budget_mb * 2**20 // per_net))


def chunk_blocks(spec: NetworkSpec, n_points: int, settings: SampleSettings, dtype_bytes: int) -> int:
    """Whole blocks per chunk (at least one); kept for callers that size work in blocks."""
    return max(1, chunk_networks(spec, n_points, settings, dtype_bytes) // block_size(spec))


def tile_networks(spec: NetworkSpec, n_points: int) -> int:
    """Networks per evaluation tile inside a block: a function of the spec and the number of points only."""
    budget = _TILE_ELEMENTS if spec.depth == 1 else _DEEP_TILE_ELEMENTS
    return max(1, budget // (n_points * spec.width))


def forward_block(spec: NetworkSpec, xt: torch.Tensor, qs: list[torch.Tensor], m: int,
                  gen: torch.Generator) -> torch.Tensor:
    """Draw m networks from `gen` and return their outputs at points xt (P, d): shape (m, P)."""
    tiles = list(block_tiles(spec, xt, qs, m, gen))
    return torch.cat(tiles) if len(tiles) > 1 else tiles[0]


def block_tiles(spec: NetworkSpec, xt: torch.Tensor, qs: list[torch.Tensor], m: int,
                gen: torch.Generator) -> Iterator[torch.Tensor]:
    """Draw m networks from `gen`, then yield their outputs (m_tile, P) tile by tile (tile_networks each).

    Parameters are drawn standardized, in as few calls as possible, all at once for the block; the scales
    σ_w/√fan_in and σ_b are folded into the points, the matrix products and the final output instead of
    every parameter.
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
    factor = 1.0 if spec.iid else readout_factors(spec, first[..., :d] * sw_in, gen)  # no pass when i.i.d.
    if not isinstance(factor, float):
        a = a * factor
    xs = xt * sw_in
    act = get_activation(spec.activation)
    tm = tile_networks(spec, xt.shape[0])
    if spec.depth == 1:
        yield from _depth1_tiles(act, xs, sb, sw_n, first, a, head[:, n], qs[0], tm)
        return
    for m0 in range(0, m, tm):
        m1 = min(m, m0 + tm)
        f = first[m0:m1]
        h = act.apply_(torch.baddbmm(f[:, None, :, d], xs.expand(m1 - m0, -1, -1), f[..., :d].transpose(1, 2),
                                     beta=sb), qs[0][None, :, None])
        for w, q in zip(deep, qs[1:]):
            w = w[m0:m1]
            z = torch.baddbmm(w[:, None, :, n], h, w[..., :n].transpose(1, 2), beta=sb, alpha=sw_n)
            h = act.apply_(z, q[None, :, None])
        out = torch.bmm(h, a[m0:m1, :, None])[..., 0]
        yield out.mul_(sw_n).add_(head[m0:m1, n:], alpha=sb)


def _depth1_tiles(act, xs: torch.Tensor, sb: float, sw_n: float, first: torch.Tensor, a: torch.Tensor,
                  c: torch.Tensor, q, tm: int) -> Iterator[torch.Tensor]:
    """Depth-1 outputs of a block, tile by tile, as views of one (m, P) block output. At width 1024 and
    64 points a tile is 2 networks and ~30 µs of φ, so per-tile work is three torch calls (product into one
    reused pre-activation buffer, φ in place, readout accumulated) on tile views made once per block; the
    readout scale and the output bias are applied once per block, beforehand (σ_w/√N folded into the readout
    weights, σ_b β as the readout's starting value)."""
    m, n, d1 = first.shape
    p = xs.shape[0]
    xb = torch.cat([xs, xs.new_full((p, 1), sb)], dim=1).T.contiguous()  # (d+1, P)
    qv = q.view(1, 1, p) if torch.is_tensor(q) else q
    a = a * sw_n
    out = c[:, None].mul(sb).expand(m, p).contiguous()
    outs = out.split(tm)
    buf = xs.new_empty(min(m, tm) * n * p)
    full = m // tm
    wide = n >= 32   # _readout_add's batched-product case, inlined on 3-d tile views
    fs = first[:full * tm].view(full, tm * n, d1)
    as_ = a[:full * tm].view(full, tm, 1, n) if wide else a[:full * tm].view(full, tm, n)
    os_ = out[:full * tm].view(full, tm, 1, p) if wide else out[:full * tm].view(full, tm, p)
    zb, z3 = buf.view(-1, p), buf.view(-1, n, p)
    for k in range(full):
        torch.mm(fs[k], xb, out=zb)
        if wide:
            os_[k].baddbmm_(as_[k], act.apply_(z3, qv))
        else:
            _readout_add(as_[k], act.apply_(z3, qv), os_[k])
        yield outs[k]
    if full * tm < m:   # the block's last, shorter tile
        r = m - full * tm
        z = torch.mm(first[full * tm:].reshape(-1, d1), xb, out=buf[:r * n * p].view(-1, p))
        _readout_add(a[full * tm:], act.apply_(z.view(r, n, p), qv), out[full * tm:])
        yield outs[-1]


def _depth1_readout(spec: NetworkSpec, xs: torch.Tensor, first: torch.Tensor, a: torch.Tensor,
                    q: torch.Tensor) -> torch.Tensor:
    """The depth-1 evaluation of a whole block on given parameters (benchmarks: everything but the RNG)."""
    act = get_activation(spec.activation)
    tiles = _depth1_tiles(act, xs, spec.sigma_b, 1.0, first, a, xs.new_zeros(first.shape[0]), q,
                          tile_networks(spec, xs.shape[0]))
    return torch.cat(list(tiles))


def _readout_add(a: torch.Tensor, h: torch.Tensor, out: torch.Tensor) -> None:
    """out[m, p] += Σ_i a[m, i] h[m, i, p]. A batched product of many tiny matrices is slow on the CPU, so
    narrow layers use elementwise passes; the choice depends on the width alone (results never on chunking)."""
    n = h.shape[1]
    if n <= 4:
        for i in range(n):
            out.addcmul_(h[:, i], a[:, i:i + 1])
    elif n < 32:
        out.add_(torch.sum(h.mul_(a[:, :, None]), dim=1))
    else:
        out[:, None, :].baddbmm_(a[:, None, :], h)


def iter_outputs(spec: NetworkSpec, x, settings: SampleSettings) -> Iterator[OutputChunk]:
    """Yield the ensemble's outputs chunk by chunk (networks in order 0 … ensemble−1)."""
    pts = as_points(x, spec.input_dim)
    device = resolve_device(settings.device)
    dtype = torch_dtype(settings.dtype)
    xt = torch.as_tensor(pts, dtype=dtype, device=device)
    qs = [torch.as_tensor(q, dtype=dtype, device=device) for q in layer_variances(spec, pts)]
    bs = block_size(spec)
    target = chunk_networks(spec, len(pts), settings, xt.element_size())
    n_blocks = -(-settings.ensemble // bs)
    parts: list[torch.Tensor] = []
    start = have = 0
    with torch.inference_mode():
        for blk in range(n_blocks):
            m = min(bs, settings.ensemble - blk * bs)
            for tile in block_tiles(spec, xt, qs, m, make_generator(settings.seed, device, blk)):
                check_cancelled()
                parts.append(tile)
                have += tile.shape[0]
                if have >= target:
                    yield OutputChunk(start, torch.cat(parts) if len(parts) > 1 else parts[0])
                    start, have, parts = start + have, 0, []
        if parts:
            yield OutputChunk(start, torch.cat(parts) if len(parts) > 1 else parts[0])


def sample_outputs(spec: NetworkSpec, x, settings: SampleSettings) -> np.ndarray:
    """All outputs at once as a float64 array (ensemble, P); for small ensembles, tests and plots."""
    return np.concatenate([c.values.double().cpu().numpy() for c in iter_outputs(spec, x, settings)])
