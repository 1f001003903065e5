"""Importance reweighting: free cos-nets drawn i.i.d., each weighted by e^{−(λ/4!)∫_V φ⁴} (docs/physics.md §7).

Networks come in fixed blocks, each from its own generator (seed, block), so results do not depend on the
memory budget. Yields (start, φ at the points (m, P), log-weights (m, 2)) with set 0 = interacting theory
and set 1 = free theory (weight 1): the free set is the control variate for the λ-induced change.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from ..cancel import check_cancelled
from ..devices import make_generator, torch_dtype
from .cosnet import draw_neurons
from .evaluate import FieldEvaluator
from .spec import FieldSpec

BLOCK = 64


def reweight_chunks(spec: FieldSpec, evaluator: FieldEvaluator, ensemble: int, seed: int,
                    device: torch.device, dtype: str) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    tdt = torch_dtype(dtype)
    for start in range(0, ensemble, BLOCK):
        check_cancelled()
        m = min(BLOCK, ensemble - start)
        gen = make_generator(seed, device, 11, start // BLOCK)
        with torch.inference_mode():
            w, b, c = draw_neurons(spec, (BLOCK, spec.width), gen, device, tdt)
            phi, f4 = evaluator.split(evaluator.contributions(w[:m], b[:m], c[:m]))
        logw = np.stack([-(spec.lam / 24.0) * f4.cpu().numpy(), np.zeros(m)], axis=1)
        yield start, phi.cpu().numpy(), logw
