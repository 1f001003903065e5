"""Field values of many cos-nets at the measurement points and on the box grid, memory-bounded."""
from __future__ import annotations

import torch

from ..cancel import check_cancelled
from .cosnet import field_at


class FieldEvaluator:
    """φ at the P measurement points and ∫_V φ⁴ (grid quadrature) for batches of networks."""

    def __init__(self, points: torch.Tensor, nodes: torch.Tensor, weights: torch.Tensor, memory_mb: float):
        self.points = points
        self.all_pts = torch.cat([points, nodes.to(points.dtype)], dim=0)
        self.weights = weights.to(torch.float64)
        self.n_points = points.shape[0]
        self.memory_mb = memory_mb

    def contributions(self, w: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Σ over the neuron axis of w·cos(b·x + c) at every point and node: (..., P + G)."""
        per_neuron = self.all_pts.shape[0] * w.element_size() * 3
        batch = max(1, w.numel() // max(1, w.shape[-1]))
        tile = max(1, int(self.memory_mb * 2**20 // (per_neuron * batch)))
        out = None
        for s in range(0, w.shape[-1], tile):
            check_cancelled()
            part = field_at(w[..., s:s + tile], b[..., s:s + tile, :], c[..., s:s + tile], self.all_pts)
            out = part if out is None else out + part
        return out

    def split(self, full: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(φ at the points (…, P) float64, ∫_V φ⁴ (…,) float64) from values at points + nodes."""
        f = full.to(torch.float64)
        grid = f[..., self.n_points:]
        g2 = grid * grid
        return f[..., :self.n_points], (g2 * g2) @ self.weights
