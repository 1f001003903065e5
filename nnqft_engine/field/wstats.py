"""Weighted correlators with jackknife errors over contiguous blocks (reweighting and Markov chains).

Each sample carries a log-weight per *weight set* (e.g. set 0 = target theory, set 1 = free theory).
Power sums are kept per contiguous block of the sample order (GROUPS blocks of equal length), so the
delete-one-block jackknife is also valid for autocorrelated chains whose blocks are much longer than the
autocorrelation time. For Markov chains (`chains` ≥ GROUPS) a sample's block is its chain instead, so the
jackknife treats whole independent chains as replicates, valid whatever τ_int (docs/physics.md §7).
A sample may be R weighted rows (e.g. an MCMC step: old state and proposal, Rao–Blackwellised). Every
estimate is jackknife bias-corrected (the self-normalised ratios are biased at O(1/M)). Log-weights are
shifted by their running maximum, so e^{logw} never overflows.

Control variates (docs/physics.md §7.5): an estimate θ may name a control c, a function of the sums whose
exact mean is zero (e.g. the free set's G4c minus the exact free G4c). The reported estimate is θ − βc with
one β per quantity, ΣCov(θ, c)/ΣVar(c) over the jackknife replicates and the quantity's elements (a β per
element gained no precision and left the ΔG4c errors ~20 % small); its error is the jackknife error of that
combination, inflated by √((G−1)/(G−3)) because β is fitted on the same G blocks (Lavenberg–Welch).
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from ..sampling.statistics import GROUPS, jackknife

_KEYS = ("p1", "p2", "ij", "iij", "ijj", "iijj")


def _correlators(w: np.ndarray, s: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """G2 and G4c(xᵢ,xᵢ,xⱼ,xⱼ) from weighted sums; leading axes are any batch (sets, replicates)."""
    ww = w[..., None]
    m, r2 = s["p1"] / ww, s["p2"] / ww
    eij, eiij, eijj, eiijj = (s[k] / ww[..., None] for k in ("ij", "iij", "ijj", "iijj"))
    mi, mj = m[..., :, None], m[..., None, :]
    cov = eij - mi * mj
    c22 = (eiijj - 2 * mj * eiij - 2 * mi * eijj + mj**2 * r2[..., :, None] + mi**2 * r2[..., None, :]
           + 4 * mi * mj * eij - 3 * mi**2 * mj**2)
    var = r2 - m * m
    return cov, c22 - var[..., :, None] * var[..., None, :] - 2 * cov**2


class WeightedStats:
    """Streams samples (values (m, P), log-weights (m, S)) with known total count `total`."""

    def __init__(self, n_points: int, total: int, n_sets: int = 2, chains: int | None = None):
        self.p, self.total, self.n_sets = n_points, int(total), n_sets
        self.chains = chains if chains is not None and chains >= GROUPS else None
        g, p = GROUPS, n_points
        self.count = np.zeros(g)
        self.w = np.zeros((n_sets, g))
        self.w2 = np.zeros((n_sets, g))
        self.shift = np.full(n_sets, -np.inf)
        self.sums = {k: np.zeros((n_sets, g, p) if k in ("p1", "p2") else (n_sets, g, p, p)) for k in _KEYS}

    @property
    def n(self) -> int:
        return int(self.count.sum())

    def _rescale(self, logw: np.ndarray) -> None:
        top = logw.max(axis=0)
        for s in np.nonzero(top > self.shift)[0]:
            factor = np.exp(self.shift[s] - top[s]) if np.isfinite(self.shift[s]) else 0.0
            self.w[s] *= factor
            self.w2[s] *= factor * factor
            for v in self.sums.values():
                v[s] *= factor
            self.shift[s] = top[s]

    def update(self, start: int, values: np.ndarray, logw: np.ndarray) -> None:
        """Add samples start … start+m−1 (their order, or with `chains` their chain start+i mod chains, decides
        their block); values (m, P), or (m, R, P) with log-weights (m, R, S): R weighted rows per sample."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 2:
            values = values[:, None, :]
        logw = np.asarray(logw, dtype=np.float64).reshape(len(values), values.shape[1], self.n_sets)
        self._rescale(logw.reshape(-1, self.n_sets))
        idx = np.arange(start, start + len(values))
        if self.chains:
            block = (idx % self.chains) * GROUPS // self.chains
        else:
            block = np.minimum(idx * GROUPS // max(self.total, 1), GROUPS - 1)
        for g in np.unique(block):
            sel = block == g
            a = values[sel]
            a2 = a * a
            wt = np.exp(logw[sel] - self.shift)  # (m, R, S)
            self.count[g] += len(a)
            self.w[:, g] += wt.sum((0, 1))
            self.w2[:, g] += (wt.sum(1) ** 2).sum(0)
            self.sums["p1"][:, g] += np.einsum("mrs,mri->si", wt, a)
            self.sums["p2"][:, g] += np.einsum("mrs,mri->si", wt, a2)
            self.sums["ij"][:, g] += np.einsum("mrs,mri,mrj->sij", wt, a, a)
            self.sums["iij"][:, g] += np.einsum("mrs,mri,mrj->sij", wt, a2, a)
            self.sums["ijj"][:, g] += np.einsum("mrs,mri,mrj->sij", wt, a, a2)
            self.sums["iijj"][:, g] += np.einsum("mrs,mri,mrj->sij", wt, a2, a2)

    def ess(self) -> np.ndarray:
        """Kish effective sample size (Σw)²/Σw² of each weight set."""
        w, w2 = self.w.sum(1), self.w2.sum(1)
        return np.where(w2 > 0, w * w / np.where(w2 > 0, w2, 1.0), 0.0)

    def estimate(self, derive: Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]],
                 control: Mapping[str, str] | None = None
                 ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Jackknife estimates, standard errors and control coefficients β of derive(g2 (…, S, P, P),
        g4c_pair (…, S, P, P)); `control` maps an estimate's key to the key of its zero-mean control
        (control keys are not reported; β = 0 for estimates without one)."""
        live = (self.count > 0) & np.all(self.w > 0, axis=0)
        w = self.w[:, live]
        sums = {k: v[:, live] for k, v in self.sums.items()}
        tot_w = w.sum(1)
        tot = {k: v.sum(1) for k, v in sums.items()}
        full = derive(*_correlators(tot_w, tot))
        control = dict(control or {})
        g = int(live.sum())
        if g < 2:
            full = {k: v for k, v in full.items() if k not in control.values()}
            inf = {k: np.full_like(v, np.inf) for k, v in full.items()}
            return full, inf, {k: np.zeros_like(v) for k, v in full.items()}
        # Leave-one-block-out replicates: batch axis first, then sets.
        rep_w = (tot_w[:, None] - w).T
        rep = {k: np.moveaxis(tot[k][:, None] - v, 1, 0) for k, v in sums.items()}
        # β needs G − 3 > 0 blocks; with fewer (the first running estimates) the controls are only dropped.
        used = control if g >= 4 else {}
        full, reps, beta = with_control(full, derive(*_correlators(rep_w, rep)), used, drop=control.values())
        est, err = jackknife(full, reps)
        inflate = np.sqrt((g - 1) / (g - 3)) if used else 1.0
        return est, {k: v * inflate if k in used else v for k, v in err.items()}, beta


def with_control(full: dict[str, np.ndarray], replicates: dict[str, np.ndarray], control: Mapping[str, str],
                 drop=()) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Replace each estimate θ that has a control c by θ − βc in the full value and every jackknife replicate
    (leading axis), β = ΣCov(θ, c)/ΣVar(c) over the replicates and all of θ's elements (0 where c does not
    vary), the same for every element; drop the control keys (and those in `drop`). Returns (full,
    replicates, β)."""
    out_full, out_rep, beta = {}, {}, {}
    dropped = set(control.values()) | set(drop)
    for k, theta in full.items():
        if k in dropped:
            continue
        if k not in control:
            out_full[k], out_rep[k], beta[k] = theta, replicates[k], np.zeros_like(theta)
            continue
        c, rt, rc = full[control[k]], replicates[k], replicates[control[k]]
        dt, dc = rt - rt.mean(0), rc - rc.mean(0)
        # Same summation order for both sums: θ ≡ c (λ = 0) gives β = 1 and a change of exactly 0.
        var, cov = (dc * dc).sum(0), (dt * dc).sum(0)
        b = np.full_like(var, cov.sum() / var.sum()) if var.sum() > 0 else np.zeros_like(var)
        out_full[k], out_rep[k], beta[k] = theta - b * c, rt - b * rc, b
    return out_full, out_rep, beta
