"""The interaction region V = [−L/2, L/2]^d: a quadrature grid exact for the cos-net's φ⁴, and ∫_V φ⁴.

A sum of cosines with |b| < Λ has φ⁴ band-limited to 4Λ per axis, so Gauss–Legendre with
`FieldSpec.nodes_per_axis` nodes per axis integrates it to ~1e-9 relative (rule measured in spec.py and
checked in the tests against the closed form below).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from .spec import FieldSpec


@dataclass(frozen=True)
class BoxGrid:
    """Product Gauss–Legendre nodes (G, d) and weights (G,) on the box, float64."""

    nodes: np.ndarray
    weights: np.ndarray


def box_grid(spec: FieldSpec, nodes_per_axis: int | None = None) -> BoxGrid:
    n = nodes_per_axis or spec.nodes_per_axis
    x, w = np.polynomial.legendre.leggauss(n)
    x, w = 0.5 * spec.box * x, 0.5 * spec.box * w
    axes = np.meshgrid(*([x] * spec.dim), indexing="ij")
    wts = np.meshgrid(*([w] * spec.dim), indexing="ij")
    nodes = np.stack([a.ravel() for a in axes], axis=-1)
    weights = np.prod(np.stack([a.ravel() for a in wts], axis=-1), axis=-1)
    return BoxGrid(nodes, weights)


def phi4_integral(field_on_grid: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """∫_V φ⁴ from φ at the grid nodes (..., G), accumulated in float64."""
    f2 = field_on_grid.to(torch.float64) ** 2
    return (f2 * f2) @ weights.to(torch.float64)


def phi4_integral_exact(w: np.ndarray, b: np.ndarray, c: np.ndarray, box: float) -> float:
    """Closed form for one small network: Π of four cosines = ⅛Σ_{signs} cos(θᵢ ± θⱼ ± θₖ ± θₗ) and
    ∫_V cos(K·x + C) = cos C · Π_a L·sinc(K_a L/2) (V symmetric). Cost N⁴·8: for checking the grid."""
    w, b, c = (np.asarray(v, dtype=np.float64) for v in (w, b, c))
    b = b.reshape(len(w), -1)
    n = len(w)
    total = 0.0
    for s in itertools.product((1.0, -1.0), repeat=3):
        sign = np.array((1.0,) + s)
        for idx in itertools.product(range(n), repeat=2):
            i, j = idx
            k = np.arange(n)[:, None]
            ll = np.arange(n)[None, :]
            kvec = (sign[0] * b[i] + sign[1] * b[j])[None, None, :] + sign[2] * b[k][:, :, :] \
                + sign[3] * b[ll][:, :, :]
            phase = sign[0] * c[i] + sign[1] * c[j] + sign[2] * c[k] + sign[3] * c[ll]
            shape = np.prod(box * np.sinc(kvec * box / (2 * np.pi)), axis=-1)
            total += float((w[i] * w[j] * w[k] * w[ll] * np.cos(phase) * shape).sum())
    return total / 8.0
