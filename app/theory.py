"""Theory for the views, and sampling settings sized for live updates.

Views never invent a theory curve: when a theory does not apply (e.g. the deep 1/N theory does not cover relu
with a uniform prior and σ_b > 0), these helpers return None plus a one-line reason that the view shows in place of the curve.
Finite-width theory is exact at depth 1 and leading order in 1/N deeper (`theory_label`; app/deep_theory.py).
"""
from __future__ import annotations

import numpy as np

from nnqft_engine import NetworkSpec, SampleSettings, SpecError
from nnqft_engine.sampling.ensemble import params_per_network
from nnqft_engine.theory.edgeworth import edgeworth_density
from nnqft_engine.theory.finite_width import exact_correlators

# Work (parameters drawn + neuron·point evaluations) per chunk: a few ms to ~30 ms on one CPU core, so every
# yield — a progress point and a cancellation point — comes quickly.
CHUNK_WORK = 400_000


def has_closed_form(activation: str) -> bool:
    """Closed-form kernels are instant; the others go through 2-D quadrature per pair of points (slow
    on big grids), so views use coarser grids for them."""
    from nnqft_engine import get_activation
    return get_activation(activation).closed_form


def live_settings(settings: SampleSettings, spec: NetworkSpec, n_points: int) -> SampleSettings:
    """Same numbers (chunking never changes results), chunks small enough to stay responsive."""
    n = spec.width
    work = params_per_network(spec) + n_points * (n + (spec.depth - 1) * n * n)
    nets = max(1, int(CHUNK_WORK // max(1, work)))   # chunks may end inside a block (sampling/ensemble.py)
    return settings.replace(chunk_networks=nets)


def theory_label(spec: NetworkSpec) -> str:
    """What the finite-width theory curve is: exact at depth 1, leading order in 1/N deeper."""
    return "exact finite N" if spec.depth == 1 else "1/N theory"


def finite_width_theory(spec: NetworkSpec, x: np.ndarray):
    """(theory | None, reason): exact at depth 1 (FiniteWidthTheory), the leading 1/N order deeper
    (deep_theory.DeepRow: G2 and G4c between the first point and every point, and on the diagonal)."""
    if spec.depth > 1:
        from .deep_theory import deep_row
        try:
            return deep_row(spec, x), ""
        except (SpecError, NotImplementedError) as exc:
            return None, str(exc)
    try:
        return exact_correlators(spec, x), ""
    except (SpecError, NotImplementedError) as exc:
        return None, str(exc)


def edgeworth(f_grid: np.ndarray, variance: float, kappa4: float, kappa6: float = 0.0):
    """(density | None, reason)."""
    try:
        return np.asarray(edgeworth_density(f_grid, variance, kappa4, kappa6), dtype=float), ""
    except (SpecError, ValueError) as exc:
        return None, str(exc)
