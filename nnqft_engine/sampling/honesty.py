"""Which reported standard errors can be trusted (docs/physics.md §4.5).

The jackknife error of an estimator built from f, f², …, f^K estimates its sampling variance, which involves
E[f^{2K}] (K = 2 for G2, 4 for G4c and the kurtosis, 6 for G6c). When f has heavy tails that moment is
dominated by rare networks the sample has not seen, and the jackknife error is far too small (gauss-net,
N = 2: ~20× for G4c, ~10⁵× for G6c) — or the variance is infinite and no error exists at all (student-t
weights with ν ≤ 2K). Two checks:

- depth 1, independent neurons: the exact variance (theory/estimator_variance.py). Where it is finite it is
  the reported error (the jackknife's own scatter is ~13 % for G4c and a factor ~2 for G6c at M ~ 10⁴, and
  it is biased low for G6c). Infinite → flagged: no finite error exists. Finite but the jackknife error
  differs from it by more than RATIO (a factor 2, > 5σ of the jackknife's scatter for a light tail) →
  flagged (for G6c a factor RATIO_G6C = 5: its jackknife error scatters from 0.45× to 3× the exact one
  over seeds even for bounded erf outputs at M = 2·10⁴): the sample has not seen (or has just hit) the rare networks the error rests on, so the estimate
  scatters far from Gaussian (typically below the truth, with rare large jumps) and ±σ does not mean 68 %.
- otherwise (depth > 1, dependent neurons, moments no rule reaches): the jackknife error, and the sample's
  own tail. If the TAIL_TOP largest networks carry more than TAIL_SHARE[2K] of Σ|f|^{2K}, the 2K-th moment —
  hence the error — rests on a handful of draws and is flagged. The thresholds come from depth 1, where the
  exact answer is known: over gauss-net, relu, erf with gaussian, laplace and student-t priors at M = 2·10⁴
  and 2·10⁵, every case whose jackknife G4c error was > 2× off had a share of Σf⁸ above 0.4, while light
  tails (erf) stay near 0.1; for Σf¹² light tails reach ~0.3 at M = 2·10⁴ (a Gaussian tail gives
  ~3·max|f|¹²/(M·E f¹²) ≈ 0.25 there) and failures lie above 0.6.

Flagged estimates stay in the Estimate; `unreliable` marks them and `warnings` says why, so a display shows
⚠ instead of ± there. Off-diagonal G2 and the G4c pair slice inherit the flags of their diagonal points.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..spec import NetworkSpec
from ..theory.estimator_variance import ORDER, exact_unit_variances
from .statistics import TAIL_TOP, Estimate

RATIO = 2.0
RATIO_G6C = 5.0
TAIL_SHARE = {8: 0.35, 12: 0.5}
_LABEL = {"g2": "G2", "g4c_diag": "G4c", "kurtosis": "kurtosis", "g6c_diag": "G6c"}
_SUPER = {4: "⁴", 8: "⁸", 12: "¹²"}


class ErrorReview:
    """Checks the errors of every Estimate of one ensemble (spec at points pts)."""

    def __init__(self, spec: NetworkSpec, pts: np.ndarray):
        self.pts = np.asarray(pts)
        try:
            self.unit_var = exact_unit_variances(spec, self.pts)
        except (ValueError, IndexError, ArithmeticError):   # no exact moments: fall back to the tail check
            self.unit_var = None

    def _where(self, idx) -> str:
        xs = [self.pts[i, 0] if self.pts.shape[1] == 1 else tuple(self.pts[i]) for i in idx]
        return "x = " + ", ".join(f"{x:g}" if np.isscalar(x) else str(x) for x in xs)

    def review(self, est: Estimate) -> Estimate:
        if est.n < 2:
            return est
        flags, notes, errs = {}, [], {}
        for name, order in ORDER.items():
            k = 2 * order
            raw = getattr(est, name + "_err")
            err = np.diag(raw).copy() if name == "g2" else np.array(raw, dtype=float)
            bad = np.zeros(len(err), dtype=bool)
            uv = None if self.unit_var is None else self.unit_var[name]
            exact_inf = np.zeros_like(bad) if uv is None else np.isinf(uv)
            exact_ok = np.zeros_like(bad) if uv is None else np.isfinite(uv)
            se = np.sqrt(np.where(exact_ok, uv if uv is not None else 0.0, 0.0) / est.n)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(exact_ok & (se > 0), err / np.where(se > 0, se, 1.0), 1.0)
            lim = RATIO_G6C if name == "g6c_diag" else RATIO
            off = exact_ok & ((ratio < 1 / lim) | (ratio > lim))
            tail = est.tail8 if k == 8 else est.tail12 if k == 12 else None
            heavy = (~exact_ok & ~exact_inf) & (np.nan_to_num(tail) > TAIL_SHARE[k]) \
                if tail is not None else np.zeros_like(bad)
            label = _LABEL[name]
            if exact_inf.any():
                notes.append(f"{label} at {self._where(np.flatnonzero(exact_inf))}: no finite standard error — "
                             f"its variance needs E[f{_SUPER[k]}], which is infinite for this prior")
            if off.any():
                i = np.flatnonzero(off)
                notes.append(f"{label} at {self._where(i)}: the sample's (jackknife) error is "
                             + ", ".join(f"{1 / r:.3g}× smaller" if r < 1 else f"{r:.3g}× larger" for r in ratio[i])
                             + f" than the exact one (heavy tail: E[f{_SUPER[k]}] rests on rare networks), so the "
                             "estimate scatters far from Gaussian; the exact error is reported")
            if np.any(heavy):
                i = np.flatnonzero(heavy)
                notes.append(f"{label} at {self._where(i)}: the {TAIL_TOP} largest of {est.n:,} networks carry "
                             + ", ".join(f"{tail[j]:.0%}" for j in i)
                             + f" of Σ|f|{_SUPER[k]}, so its error is not reliable (heavy tail)")
            bad = exact_inf | off | heavy
            flags[name] = bad
            if exact_ok.any():
                errs[name] = np.where(exact_ok, se, err)
        p = len(self.pts)
        diag4 = flags["g4c_diag"]
        flags["g4c_pair"] = diag4[:, None] | diag4[None, :]
        flags["g2"] = flags["g2"][:, None] | flags["g2"][None, :]
        changes = {}
        for name, err in errs.items():
            if name == "g2":
                full = np.array(est.g2_err, dtype=float).copy()
                full[np.arange(p), np.arange(p)] = err
                err = full
            changes[name + "_err"] = err
        return dataclasses.replace(est, unreliable=flags, warnings=tuple(notes), **changes)
