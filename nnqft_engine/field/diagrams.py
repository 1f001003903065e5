"""Feynman-diagram predictions of φ⁴ theory in the box, first order in λ at N = ∞ (docs/physics.md §7).

Convention: the parameter density is deformed by e^{−(λ/4!)∫_V φ⁴} (2307.03223). 2008.08601 writes the
action as λ'∫f⁴ without the 1/4!, so its coupling is λ' = λ/24 and its ΔG4 = −24λ'∫ΠK is the same number.
All integrals over V use the box grid, exact for products of four band-limited propagators.
"""
from __future__ import annotations

import numpy as np

from .box import box_grid
from .propagator import PropagatorTable
from .spec import FieldSpec

CONVENTION = "e^{-(lam/4!) int_V phi^4} (2307.03223); 2008.08601's lambda = lam/24"


def _table_and_grid(spec: FieldSpec, pts: np.ndarray):
    grid = box_grid(spec)
    # Point–node and point–point distances are both below this.
    reach = 2 * float(np.linalg.norm(pts, axis=1).max()) + 0.5 * spec.box * np.sqrt(spec.dim) + 1e-9
    return PropagatorTable(spec.dim, spec.mass, spec.cutoff, reach), grid


def _points(spec: FieldSpec, x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1, spec.dim)


def to_grid(spec: FieldSpec, x) -> tuple[np.ndarray, np.ndarray, float]:
    """G(xᵢ − z_g) for every point and box node (P, G), the node weights, and G(0)."""
    pts = _points(spec, x)
    table, grid = _table_and_grid(spec, pts)
    dist = np.linalg.norm(pts[:, None, :] - grid.nodes[None, :, :], axis=-1)
    return table(dist), grid.weights, float(table(np.zeros(1))[0])


def tree_g4c_unit(spec: FieldSpec, x1, x2, x3, x4) -> np.ndarray:
    """∫_V d^dz Πₖ G(xₖ − z) for rows of points (tree-level G4c is −λ times this)."""
    g = [to_grid(spec, p)[0] for p in (x1, x2, x3, x4)]
    weights = box_grid(spec).weights
    return (g[0] * g[1] * g[2] * g[3]) @ weights


def tree_g4c_pair_unit(spec: FieldSpec, x) -> np.ndarray:
    """Matrix ∫_V G(xᵢ − z)² G(xⱼ − z)² d^dz."""
    g, w, _ = to_grid(spec, x)
    g2 = g * g
    return (g2 * w) @ g2.T


def tree_g4c_pair(spec: FieldSpec, x) -> np.ndarray:
    """Tree-level G4c(xᵢ, xᵢ, xⱼ, xⱼ) = −λ ∫_V G(xᵢ − z)² G(xⱼ − z)²."""
    return -spec.lam * tree_g4c_pair_unit(spec, x)


def one_loop_g2(spec: FieldSpec, x) -> np.ndarray:
    """G2(xᵢ, xⱼ) = G(xᵢ − xⱼ) − (λ/2) G(0) ∫_V G(xᵢ − z) G(z − xⱼ) (tadpole, first order in λ)."""
    pts = _points(spec, x)
    g, w, g0 = to_grid(spec, pts)
    table, _ = _table_and_grid(spec, pts)
    free = table(np.linalg.norm(pts[:, None, :] - pts[None, :, :], axis=-1))
    return free - 0.5 * spec.lam * g0 * ((g * w) @ g.T)


def fit_coupling(delta_g4c_pair: np.ndarray, unit_tree: np.ndarray) -> np.ndarray:
    """Local coupling from the λ-induced change of G4c at the pair configurations (upper triangle):
    least squares of ΔG4c = −λ·∫ΠG, i.e. the local (all yᵢ equal) projection of the amputated
    λ(y₁..y₄) = −∫ΠG⁻¹ G4c. Works on a leading batch axis (jackknife replicates)."""
    iu = np.triu_indices(unit_tree.shape[-1])
    t = unit_tree[iu]
    d = delta_g4c_pair[..., iu[0], iu[1]]
    return -(d @ t) / (t @ t)
