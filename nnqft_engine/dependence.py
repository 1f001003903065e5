"""Broken statistical independence of the parameters (physics.md §5).

`readout_factors` returns, for a block of m networks, the factor multiplying each readout weight a_i.
All randomness comes from the block's generator, after the i.i.d. draws, so an i.i.d. spec draws
exactly the same networks whatever its mechanism's strength is set to when the mechanism is off.

shared-scale: one s per network with s² ~ Gamma(shape 1/v, scale v): E[s²] = 1, Var(s²) = v.
"""
from __future__ import annotations

import numpy as np
import torch

from .spec import NetworkSpec


def _numpy_rng(gen: torch.Generator) -> np.random.Generator:
    seed = int(torch.randint(0, 2**62, (1,), generator=gen, device=gen.device).item())
    return np.random.default_rng(seed)


def readout_factors(spec: NetworkSpec, w1: torch.Tensor, gen: torch.Generator) -> torch.Tensor | float:
    """Multiplicative factors for the readout weights, shape (m, width), or 1.0 when i.i.d."""
    if spec.iid:
        return 1.0
    m = w1.shape[0]
    v = spec.independence_strength
    if spec.independence == "shared-scale":
        s2 = _numpy_rng(gen).gamma(shape=1.0 / v, scale=v, size=m)
        return torch.as_tensor(np.sqrt(s2), dtype=w1.dtype, device=w1.device)[:, None]
    raise NotImplementedError(f"independence mechanism {spec.independence!r} is not implemented yet")
