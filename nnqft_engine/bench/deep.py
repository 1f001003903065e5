"""Latency of the deep 1/N theory and the phase diagram against issue 14's live targets (docs/physics.md
§8.2): 64 points at depth 6 in under 0.5 s, the (σ_w, σ_b) phase diagram in under 1 s.

Per activation: the full theory (`deep_correlators`, all 2016 pairs), the row the app's views draw (pairs
(x₀, x), 63 of them: `recursion(..., pairs=)`, what app/deep_theory.py runs), and the 81 × 51 phase diagram
from a cold start (its ⟨φ²⟩ table rebuilt). Each figure is best-of-`repeats` wall time and its ratio to the
target (< 1 meets it); the load average is reported alongside, since these are absolute times.
"""
from __future__ import annotations

import os

import numpy as np

from ..spec import NetworkSpec
from ..theory import criticality
from ..theory.deep import deep_correlators, recursion
from .sampler import _best_time

DEEP_TARGET_S = 0.5
PHASE_TARGET_S = 1.0
ACTIVATIONS = ("relu", "erf", "tanh", "gelu", "sigmoid", "silu", "softplus")


def _cold_phase_diagram(act: str, sw: np.ndarray, sb: np.ndarray) -> None:
    criticality._phi2_table.cache_clear()
    criticality.phase_diagram(act, sw, sb)


def benchmark(activations=ACTIVATIONS, points: int = 64, depth: int = 6, grid: tuple[int, int] = (81, 51),
              repeats: int = 3) -> dict:
    """{"load_average", "targets_s", "rows": [{activation, full_s, row_s, phase_diagram_s, and each one's
    ratio to its target}]} at the default spec (σ_w = 1, σ_b = 0.1, width 100) on x ∈ [−2, 2]."""
    x = np.linspace(-2.0, 2.0, points)
    sw, sb = np.linspace(0.05, 3.0, grid[0]), np.linspace(0.0, 1.5, grid[1])
    row = (np.zeros(points - 1, dtype=np.int64), np.arange(1, points, dtype=np.int64))
    rows = []
    for act in activations:
        spec = NetworkSpec(depth=depth, width=100, activation=act)
        full = _best_time(lambda: deep_correlators(spec, x), repeats)
        part = _best_time(lambda: recursion(spec, x, pairs=row), repeats)
        phase = _best_time(lambda: _cold_phase_diagram(act, sw, sb), repeats)
        rows.append({"activation": act, "full_s": full, "row_s": part, "phase_diagram_s": phase,
                     "full_ratio": full / DEEP_TARGET_S, "row_ratio": part / DEEP_TARGET_S,
                     "phase_diagram_ratio": phase / PHASE_TARGET_S})
    return {"load_average": os.getloadavg()[0], "points": points, "depth": depth, "grid": list(grid),
            "targets_s": {"deep": DEEP_TARGET_S, "phase_diagram": PHASE_TARGET_S}, "rows": rows}


def table(result: dict) -> str:
    lines = [f"deep theory, {result['points']} points at depth {result['depth']}; phase diagram "
             f"{result['grid'][0]}×{result['grid'][1]} (load average {result['load_average']:.1f}; "
             f"targets {result['targets_s']['deep']} s and {result['targets_s']['phase_diagram']} s)",
             f"{'':9} {'all pairs':>10} {'app row':>8} {'phase':>7}"]
    for r in result["rows"]:
        lines.append(f"{r['activation']:9} {r['full_s']:9.3f}s {r['row_s']:7.3f}s {r['phase_diagram_s']:6.3f}s")
    return "\n".join(lines)


__all__ = ["benchmark", "table", "DEEP_TARGET_S", "PHASE_TARGET_S"]
