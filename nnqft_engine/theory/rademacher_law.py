"""The exact law of f(x₁) at depth 1 under the rademacher prior (docs/physics.md §4.3): every parameter is ±1
times its scale, so f takes finitely many values and has atoms, not a density.

A neuron adds a·φ(z) with z one of ±σ_w·x ± σ_b (¼ each) and a = ±σ_w/√N independent of z, so its term is ±s·m_k
(½ each sign) with s = σ_w/√N and m_k one of K ≤ 4 distinct magnitudes |φ(z)| (or exactly 0); at P points, m_k is
one of K ≤ 4 vectors (φ(z(x₁)), …, φ(z(x_P))) up to sign. The sum over the N neurons is s·Σ_k m_k C_k, C ∈ ℤ^K the
net sign count per magnitude. C's law is the N-fold convolution of one
neuron's (q₀ at 0, q_k/2 at ±e_k): the inverse DFT of χ(θ)^N, χ(θ) = q₀ + Σ_k q_k cos θ_k, on the box [−N, N]^K,
which C never leaves, so there is no aliasing and the only error is the FFT's rounding (~1e-16 absolute). The readout
bias adds ±σ_b. Atoms that coincide (rationally related magnitudes, e.g. linear) are merged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..activations import get_activation
from ..cancel import check_cancelled
from ..spec import NetworkSpec, SpecError, as_points
from .exact_scope import require_exact_scope
from .joint_rays import MAX_WORK, TERMS_PER_SECOND, OverBudget

MAX_LATTICE = 1 << 22      # points of the box [−N, N]^K (33 MB of float64; ~0.5 s)
PROB_FLOOR = 1e-15         # lattice probabilities below this are the FFT's rounding (or truly tiny): left out
_SAME = 1e-12              # magnitudes / atoms closer than this (relative to the largest) are one


@dataclass(frozen=True)
class DiscreteLaw:
    """Atoms `values` (sorted) with probabilities `probs`; `left_out` bounds the probability of the atoms below
    PROB_FLOOR that are not listed."""

    values: np.ndarray
    probs: np.ndarray
    left_out: float

    def bin_probabilities(self, edges: np.ndarray) -> np.ndarray:
        """P(f in [e_i, e_{i+1})) for each bin: the convention of the sampler's histogram (searchsorted right)."""
        edges = np.asarray(edges, dtype=np.float64)
        idx = np.searchsorted(edges, self.values, side="right") - 1
        ok = (idx >= 0) & (idx < len(edges) - 1)
        return np.bincount(idx[ok], weights=self.probs[ok], minlength=len(edges) - 1)

    def moment(self, k: int) -> float:
        return float(self.probs @ self.values**k)


def neuron_directions(spec: NetworkSpec, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(v_k (K, P), q_k): one neuron's distinct non-zero hidden vectors (φ(z(x₁)), …, φ(z(x_P))) up to their sign
    (the readout's sign is independent of them) and their probabilities; the rest, 1 − Σq_k, is the zero vector."""
    act = get_activation(spec.activation)
    signs = np.array([(1, 1), (1, -1), (-1, 1), (-1, -1)], dtype=np.float64)
    h = act.numpy_fn(spec.sigma_w * signs[:, :1] * xs[None, :] + spec.sigma_b * signs[:, 1:], 0.0)   # (4, P)
    top = float(np.abs(h).max())
    dirs: list[np.ndarray] = []
    probs: list[float] = []
    for v in h:
        if top == 0.0 or np.abs(v).max() <= _SAME * top:
            continue
        v = v * np.sign(v[np.flatnonzero(np.abs(v) > _SAME * top)[0]])      # first clear component positive
        same = [i for i, d in enumerate(dirs) if np.abs(d - v).max() <= _SAME * top]
        if same:
            probs[same[0]] += 0.25
        else:
            dirs.append(v)
            probs.append(0.25)
    return np.array(dirs).reshape(len(dirs), len(xs)), np.array(probs)


def _validated(spec: NetworkSpec, x) -> np.ndarray:
    if spec.prior != "rademacher":
        raise SpecError("the exact discrete law is for the rademacher prior (the others have a density)")
    require_exact_scope(spec, "the exact law of f", "exact law")
    return as_points(x, 1)[:, 0]


def lattice_points(spec: NetworkSpec, x1) -> int:
    """Points of the box [−N, N]^K the law is computed on."""
    dirs, _ = neuron_directions(spec, _validated(spec, x1))
    return (2 * spec.width + 1) ** len(dirs)


def rademacher_law(spec: NetworkSpec, x1) -> DiscreteLaw:
    """The exact law of f(x₁) (see the module's docstring); SpecError beyond MAX_LATTICE."""
    values, probs, left_out = joint_atoms(spec, np.atleast_1d(_validated(spec, x1))[:1])
    return _merged(values[:, 0], probs, left_out)


def joint_atoms(spec: NetworkSpec, x) -> tuple[np.ndarray, np.ndarray, float]:
    """The exact joint law of (f(x₁), …, f(x_P)): atoms (A, P), their probabilities (A,) (not merged where two
    lattice points land on one atom) and the probability left out below PROB_FLOOR; SpecError beyond MAX_LATTICE."""
    xs = _validated(spec, x)
    n = spec.width
    dirs, q = neuron_directions(spec, xs)
    k = len(dirs)
    size = (2 * n + 1) ** k
    if size > MAX_LATTICE:
        largest = int((MAX_LATTICE ** (1.0 / k) - 1) // 2)
        raise SpecError(f"with a rademacher prior f takes up to {size:.2g} values here ({k} distinct neuron "
                        f"values up to sign); its exact law is listed up to N = {largest} for {spec.activation}")
    values, probs, left_out = np.zeros((1, len(xs))), np.ones(1), 0.0
    if k > 0:
        length = 2 * n + 1
        theta = 2.0 * math.pi * np.arange(length) / length
        chi = np.full((length,) * (k - 1) + (n + 1,), 1.0 - float(q.sum()))
        for axis in range(k):             # the last axis holds half the frequencies: χ^N is real and even
            shape = [1] * k
            shape[axis] = length if axis < k - 1 else n + 1
            chi = chi + q[axis] * np.cos(theta[:shape[axis]]).reshape(shape)
        lattice = np.fft.fftshift(np.fft.irfftn(chi**n, s=(length,) * k, axes=tuple(range(k)))).ravel()   # j ↔ C = j − N, every axis
        keep = lattice > PROB_FLOOR
        counts = np.stack(np.unravel_index(np.flatnonzero(keep), (length,) * k), axis=1) - n
        values = (spec.sigma_w / math.sqrt(n)) * (counts @ dirs)
        left_out = float(np.abs(lattice[~keep]).sum())
        probs = lattice[keep]
    if spec.sigma_b > 0:                  # the readout bias ±σ_b, the same at every point
        values = np.concatenate([values - spec.sigma_b, values + spec.sigma_b])
        probs = np.concatenate([probs, probs]) * 0.5
    return values, probs, left_out


def _merged(values: np.ndarray, probs: np.ndarray, left_out: float) -> DiscreteLaw:
    order = np.argsort(values, kind="stable")
    values, probs = values[order], probs[order]
    scale = max(float(np.abs(values).max(initial=0.0)), 1e-300)
    start = np.concatenate([[True], np.diff(values) > _SAME * scale])
    group = np.cumsum(start) - 1
    merged_p = np.bincount(group, weights=probs)
    merged_v = np.bincount(group, weights=values * probs) / np.where(merged_p > 0, merged_p, 1.0)
    return DiscreteLaw(values=merged_v, probs=merged_p, left_out=left_out)


def smoothed_joint(spec: NetworkSpec, x1: float, x2: float, f1: np.ndarray, f2: np.ndarray,
                   smooth: tuple[float, float], box: tuple[float, float] | None = None,
                   max_work: float = MAX_WORK) -> tuple[np.ndarray, int]:
    """(p, atoms): the density of (f(x₁) + ε₁, f(x₂) + ε₂), εₖ ~ N(0, smoothₖ²), on the grid f1 × f2,
    Σ_a p_a φ(f1 − a₁)φ(f2 − a₂) over the joint atoms, exact (each Gaussian in closed form), and how many atoms; with
    box = (w₁, w₂) averaged over the w₁×w₂ rectangle around each point (differences of normal CDFs). OverBudget
    where the sum (atoms × 2 × points terms, priced like joint_rays') would pass `max_work`."""
    from scipy import special

    values, probs, _ = joint_atoms(spec, [x1, x2])
    rounded = np.round(values / max(float(np.abs(values).max()), 1e-300), 12)
    _, first, group = np.unique(rounded, axis=0, return_index=True, return_inverse=True)
    values, probs = values[first], np.bincount(group.ravel(), weights=probs)      # lattice points on one atom
    cost = 2.0 * len(probs) * max(len(f1), len(f2))
    if cost > max_work:
        raise OverBudget(f"with a rademacher prior (f(x₁), f(x₂)) takes {len(probs):.2g} values here: summing its "
                         f"law over them needs ~{cost:.1e} terms, over the budget of {max_work:.0e} "
                         f"(~{max_work / TERMS_PER_SECOND:.0f} s): lower N", cost)

    def factor(grid: np.ndarray, atoms: np.ndarray, h: float, w: float | None) -> np.ndarray:
        d = grid[None, :] - atoms[:, None]
        if w is None:
            return np.exp(-0.5 * (d / h) ** 2) / (h * math.sqrt(2 * math.pi))
        cdf = special.ndtr
        return (cdf((d + 0.5 * w) / h) - cdf((d - 0.5 * w) / h)) / w

    p = np.zeros((len(f1), len(f2)))
    for lo in range(0, len(probs), 20_000):      # blocks of atoms: (block × points) factors, one matrix product
        check_cancelled()
        sl = slice(lo, lo + 20_000)
        g1 = factor(f1, values[sl, 0], smooth[0], None if box is None else box[0])
        g2 = factor(f2, values[sl, 1], smooth[1], None if box is None else box[1])
        p += g1.T @ (probs[sl, None] * g2)
    return p, len(probs)
