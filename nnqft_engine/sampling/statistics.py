"""Correlators of an ensemble with error bars, accumulated chunk by chunk (docs/physics.md §4).

Power sums are kept in float64 per *group* (network index mod GROUPS, so independent of chunking).
Every estimate is a smooth function of the means of those sums; it is reported jackknife bias-corrected
(bias O(1/M²), far below the O(1/√M) standard error) with the delete-one-group jackknife standard error.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

GROUPS = 32  # jackknife groups, shared with field/wstats.py
_SLICE_ELEMENTS = 1 << 18  # float64 elements per slice of a chunk in EnsembleStats.update
TAIL_TOP = 3  # the largest |f| kept per point for the tail diagnostic (share of the top few in Σ|f|^k)


def jackknife(full: dict[str, np.ndarray], replicates: dict[str, np.ndarray]
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Bias-corrected estimates and standard errors from the full-sample values and the delete-one-group
    replicates (leading axis: groups)."""
    est, err = {}, {}
    for k, theta in full.items():
        jk = replicates[k]
        g = jk.shape[0]
        jbar = jk.mean(0)
        est[k] = g * theta - (g - 1) * jbar
        err[k] = np.sqrt((g - 1) / g * ((jk - jbar) ** 2).sum(0))
    return est, err


@dataclass(frozen=True)
class Estimate:
    """Running estimates after `n` networks; every `*_err` is a standard error of the same shape."""

    n: int
    mean: np.ndarray
    mean_err: np.ndarray
    g2: np.ndarray
    g2_err: np.ndarray
    g4c_diag: np.ndarray
    g4c_diag_err: np.ndarray
    g4c_pair: np.ndarray
    g4c_pair_err: np.ndarray
    kurtosis: np.ndarray
    kurtosis_err: np.ndarray
    g6c_diag: np.ndarray
    g6c_diag_err: np.ndarray
    histogram: "Histogram | None" = None
    # Tail diagnostic per point: share of the TAIL_TOP largest |f|⁸ (|f|¹²) in Σ|f|⁸ (Σ|f|¹²) — near 1 when a
    # few networks dominate the moments the G4c (G6c) error depends on (sampling/honesty.py).
    tail8: np.ndarray | None = None
    tail12: np.ndarray | None = None
    # Estimates whose error is not an honest standard error (name → bool array shaped like the estimate),
    # and one sentence per affected estimate saying why (sampling/honesty.py).
    unreliable: dict = field(default_factory=dict)
    warnings: tuple = ()

    def as_dict(self) -> dict:
        out = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
               for k, v in self.__dict__.items() if k not in ("histogram", "unreliable", "warnings")}
        out["unreliable"] = {k: np.asarray(v).tolist() for k, v in self.unreliable.items()}
        out["warnings"] = list(self.warnings)
        if self.histogram is not None:
            out["histogram"] = self.histogram.as_dict()
        return out


@dataclass(frozen=True)
class Histogram:
    """Counts of f(x_p) in fixed bins: counts[p, k] for bins edges[p, k] … edges[p, k+1].

    `total` is the number of networks drawn, including those whose f fell outside the bins, so that
    `density()` estimates the true density (comparable with a theory pdf) and not that of the in-range part.
    """

    edges: np.ndarray
    counts: np.ndarray
    total: int | None = None

    def density(self) -> np.ndarray:
        width = np.diff(self.edges, axis=1)
        total = self.counts.sum(axis=1, keepdims=True) if self.total is None else self.total
        return self.counts / (np.maximum(total, 1) * width)

    def as_dict(self) -> dict:
        out = {"edges": self.edges.tolist(), "counts": self.counts.tolist()}
        if self.total is not None:
            out["total"] = int(self.total)
        return out


def _central_from_raw(r: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Central moments μ2…μ6 from raw moments r[k] = E[A^k] (r[0] = 1)."""
    m = r[1]
    mu = []
    for k in range(2, 7):
        acc = np.zeros_like(m)
        for j in range(k + 1):
            acc = acc + _binom(k, j) * r[j] * (-m) ** (k - j)
        mu.append(acc)
    return tuple(mu)


def _binom(n: int, k: int) -> float:
    from math import comb
    return float(comb(n, k))


def _estimates_from_sums(n: np.ndarray, s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """All correlators from power sums (leading axis = any batch of replicate sums, e.g. jackknife)."""
    nn = n.reshape((-1,) + (1,) * (s["p1"].ndim - 1))
    r = [np.ones_like(s["p1"])] + [s[f"p{k}"] / nn for k in range(1, 7)]
    m = r[1]
    mu2, mu3, mu4, mu5, mu6 = _central_from_raw(r)
    nn2 = nn[..., None]
    eij, eiij, eijj, eiijj = (s[k] / nn2 for k in ("ij", "iij", "ijj", "iijj"))
    mi, mj = m[..., :, None], m[..., None, :]
    cov = eij - mi * mj
    # E[ã_i² ã_j²] for centred ã, expanded in raw moments.
    c22 = (eiijj - 2 * mj * eiij - 2 * mi * eijj + mj**2 * r[2][..., :, None] + mi**2 * r[2][..., None, :]
           + 4 * mi * mj * eij - 3 * mi**2 * mj**2)
    var_i, var_j = mu2[..., :, None], mu2[..., None, :]
    g4c_pair = c22 - var_i * var_j - 2 * cov**2
    k4 = mu4 - 3 * mu2**2
    k6 = mu6 - 15 * mu4 * mu2 - 10 * mu3**2 + 30 * mu2**3
    with np.errstate(divide="ignore", invalid="ignore"):
        # mu2 = 0: constant outputs (kurtosis 0 by convention); NaN/∞ moments (overflow): no estimate, NaN —
        # never 0, which would read as a measured Gaussian
        kurt = np.where(mu2 > 0, k4 / mu2**2, np.where(mu2 == 0, 0.0, np.nan))
    return {"mean": m, "g2": cov, "g4c_diag": k4, "g4c_pair": g4c_pair, "kurtosis": kurt, "g6c_diag": k6}


class EnsembleStats:
    """Accumulates float64 power sums of outputs f (m, P), grouped for jackknife errors."""

    def __init__(self, n_points: int, *, hist_edges: np.ndarray | None = None):
        self.n_points = n_points
        p = n_points
        self.count = np.zeros(GROUPS)
        self.sums = {f"p{k}": np.zeros((GROUPS, p)) for k in range(1, 7)}
        self.sums.update({k: np.zeros((GROUPS, p, p)) for k in ("ij", "iij", "ijj", "iijj")})
        self.hist_edges = None if hist_edges is None else np.asarray(hist_edges, dtype=np.float64)
        self.hist_counts = None if hist_edges is None else np.zeros(
            (p, self.hist_edges.shape[-1] - 1), dtype=np.int64)
        self._work: list[torch.Tensor] | None = None
        self.top = torch.zeros((TAIL_TOP, p), dtype=torch.float64)     # largest |f| per point so far
        self.abs_sums = {8: np.zeros(p), 12: np.zeros(p)}                # Σ|f|⁸, Σ|f|¹² (tail diagnostic)

    @property
    def n(self) -> int:
        return int(self.count.sum())

    def update(self, start: int, values: torch.Tensor | np.ndarray) -> None:
        """Add networks start … start+m−1 with outputs `values` (m, P)."""
        # Outputs that overflowed (±∞) make the affected sums inf/NaN by design; callers report that.
        with np.errstate(over="ignore", invalid="ignore"):
            self._update(start, values)

    def _workspace(self, elements: int) -> list[torch.Tensor]:
        """Four float64 scratch buffers of at least `elements`, kept between updates: fresh multi-MB
        temporaries per chunk cost more in page faults than the arithmetic on them."""
        if self._work is None or self._work[0].numel() < elements:
            self._work = [torch.empty(elements, dtype=torch.float64) for _ in range(4)]
        return [w[:elements] for w in self._work]

    def _update(self, start: int, values: torch.Tensor | np.ndarray) -> None:
        a = torch.as_tensor(values).detach()
        m, p = a.shape
        # Slices of ~2 MB (at least 32 rows per group), so the scratch buffers stay small and cache-resident.
        step = max(32 * GROUPS, (_SLICE_ELEMENTS // max(p, 1)) // GROUPS * GROUPS)
        for lo in range(0, m, step):
            self._update_slice(start + lo, a[lo:lo + step])

    def _update_slice(self, start: int, a: torch.Tensor) -> None:
        m, p = a.shape
        if m == 0:
            return
        # Row i is network start+i, in group (start+i) mod GROUPS: pad with zero rows to whole periods so
        # one (periods, GROUPS, P) view holds every group in its own column (zeros add nothing to any sum),
        # then every group's sums come from a few batched calls instead of a Python loop over groups.
        off = start % GROUPS
        periods = -(-(off + m) // GROUPS)
        buf_pad, buf_g, buf_g2, buf_pw = self._workspace(periods * GROUPS * p)
        padded = buf_pad.view(periods * GROUPS, p)
        padded[:off].zero_()
        padded[off + m:].zero_()
        padded[off:off + m].copy_(a)
        g = buf_g.view(GROUPS, periods, p)
        g.copy_(padded.view(periods, GROUPS, p).transpose(0, 1))       # (GROUPS, periods, P)
        full, rem = divmod(m, GROUPS)
        self.count += full
        if rem:
            self.count[(start + np.arange(rem)) % GROUPS] += 1
        g2 = torch.mul(g, g, out=buf_g2.view(GROUPS, periods, p))
        # Σa_i a_j, Σa_i² a_j, Σa_i² a_j² by three batched products; Σa_i a_j² is the transpose of the second
        # and Σa², Σa³, Σa⁴ are their diagonals, so only Σa, Σa⁵, Σa⁶ need passes of their own.
        gt, g2t = g.transpose(1, 2), g2.transpose(1, 2)
        ij, iij, iijj = torch.bmm(gt, g).numpy(), torch.bmm(g2t, g).numpy(), torch.bmm(g2t, g2).numpy()
        self.sums["ij"] += ij
        self.sums["iij"] += iij
        self.sums["ijj"] += iij.transpose(0, 2, 1)
        self.sums["iijj"] += iijj
        self.sums["p1"] += g.sum(1).numpy()
        self.sums["p2"] += np.diagonal(ij, axis1=1, axis2=2)
        self.sums["p3"] += np.diagonal(iij, axis1=1, axis2=2)
        self.sums["p4"] += np.diagonal(iijj, axis1=1, axis2=2)
        g4 = torch.mul(g2, g2, out=buf_pw.view(GROUPS, periods, p))
        self.sums["p5"] += (g4 * g).sum(1).numpy()
        self.sums["p6"] += g4.mul_(g2).sum(1).numpy()
        a = padded[off:off + m]
        a6 = buf_pw.view(GROUPS * periods, p)                           # now f⁶ of every row (padding: 0)
        self.abs_sums[12] += (a6 * a6).sum(0).numpy()
        self.abs_sums[8] += a6.mul_(buf_g2.view(GROUPS * periods, p)).sum(0).numpy()
        k = min(TAIL_TOP, m)
        self.top = torch.cat([self.top, a.abs().topk(k, dim=0).values]).topk(TAIL_TOP, dim=0).values
        if self.hist_counts is not None:
            edges = torch.as_tensor(self.hist_edges)                    # (P, bins+1), each row sorted
            bins = edges.shape[1] - 1
            idx = torch.searchsorted(edges.contiguous(), a.T.contiguous(), right=True) - 1   # (P, m)
            ok = (idx >= 0) & (idx < bins)
            flat = (idx + torch.arange(p)[:, None] * bins)[ok]
            self.hist_counts += np.bincount(flat.numpy(), minlength=p * bins).reshape(p, bins)

    def estimate(self) -> Estimate:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._estimate()

    def _estimate(self) -> Estimate:
        live = self.count > 0
        cnt = self.count[live]
        sums = {k: v[live] for k, v in self.sums.items()}
        tot_n = np.array([cnt.sum()])
        tot = {k: v.sum(0, keepdims=True) for k, v in sums.items()}
        full = {k: v[0] for k, v in _estimates_from_sums(tot_n, tot).items()}
        g = len(cnt)
        if g >= 2:
            est, err = jackknife(full, _estimates_from_sums(tot_n - cnt, {k: tot[k] - v for k, v in sums.items()}))
        else:
            est = full
            err = {k: np.full_like(v, np.inf) for k, v in full.items()}
        hist = None if self.hist_counts is None else Histogram(self.hist_edges.copy(), self.hist_counts.copy(),
                                                             int(cnt.sum()))
        top = self.top.numpy()
        tail = {k: np.where(self.abs_sums[k] > 0, (top**k).sum(0) / np.where(self.abs_sums[k] > 0,
                                                                                  self.abs_sums[k], 1.0), 0.0)
                for k in (8, 12)}
        return Estimate(
            n=int(tot_n[0]),
            mean=est["mean"], mean_err=err["mean"],
            g2=est["g2"], g2_err=err["g2"],
            g4c_diag=est["g4c_diag"], g4c_diag_err=err["g4c_diag"],
            g4c_pair=est["g4c_pair"], g4c_pair_err=err["g4c_pair"],
            kurtosis=est["kurtosis"], kurtosis_err=err["kurtosis"],
            g6c_diag=est["g6c_diag"], g6c_diag_err=err["g6c_diag"],
            histogram=hist, tail8=tail[8], tail12=tail[12],
        )
