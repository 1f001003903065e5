"""Width sweeps: measured G4c and G6c against N, with exact theory and fitted power laws (docs/physics.md §4).

`width_sweep` is a generator: it yields a `WidthSweepResult` after every width (progress + cancellation
point), each holding everything measured so far. Slopes are weighted least-squares fits of log|G| against
log N, with weights from the measured standard errors (σ_log|G| = SE/|G|, |G| taken from the fit itself,
iterated), over the *significant* widths only; their errors come from the fit's covariance scaled by
√(χ²/dof) when that exceeds 1.

Significant: |G| > SIGNIFICANCE·SE (3) and an error the sample can vouch for (`Estimate.unreliable`, see
sampling/honesty.py). Why 3 and not 2: the fit treats log|G| as Gaussian with σ = SE/|G|; at |G| = 3 SE that
σ is 1/3 and log|G| is nearly linear over ±1σ, while at 2 SE it is 1/2 and a 2σ downward step crosses zero
(log undefined) — and a 2σ point among the 7 widths of a sweep is a false detection in ~1 sweep in 3 when
the true |G| is negligible. Other widths are upper limits |G| < |Ĝ| + 2 SE (one-sided 97.7 %). A slope needs
MIN_FIT_POINTS = 3 significant widths (two points always lie on a line: no check of the power law).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from ..devices import derived_seed
from ..spec import NetworkSpec, SampleSettings, SpecError, as_points
from ..theory.finite_width import FiniteWidthTheory, exact_correlators
from .measure import measure, run_to_completion

SIGNIFICANCE = 3.0
UPPER_LIMIT_SE = 2.0
MIN_FIT_POINTS = 3


@dataclass(frozen=True)
class WidthSweepResult:
    """Everything measured for widths[:k]; arrays are (k, P) over widths done × points.

    theory[i] is the exact depth-1 theory at widths[i] (None for depth > 1). Slopes are per point,
    NaN until MIN_FIT_POINTS widths with a significant value are done (`slope_note` says why, per point).
    g4c_flagged / g6c_flagged: the error is not an honest standard error there (heavy tail, sampling/honesty.py).
    """

    x: np.ndarray
    widths: tuple[int, ...]
    g2: np.ndarray
    g2_err: np.ndarray
    g4c: np.ndarray
    g4c_err: np.ndarray
    g6c: np.ndarray
    g6c_err: np.ndarray
    theory: tuple[FiniteWidthTheory | None, ...]
    slope_g4c: np.ndarray
    slope_g4c_err: np.ndarray
    slope_g6c: np.ndarray
    slope_g6c_err: np.ndarray
    g4c_flagged: np.ndarray | None = None
    g6c_flagged: np.ndarray | None = None

    def significant(self, which: str = "g6c") -> np.ndarray:
        """(k, P) bool: |G| > SIGNIFICANCE·SE with an honest error — the widths a slope may use."""
        g, e = getattr(self, which), getattr(self, which + "_err")
        flagged = getattr(self, which + "_flagged")
        return significant(g, e, flagged)

    def upper_limit(self, which: str = "g6c") -> np.ndarray:
        """(k, P): |Ĝ| + 2 SE where the width is not significant, NaN where it is."""
        g, e = np.abs(getattr(self, which)), getattr(self, which + "_err")
        return np.where(self.significant(which), np.nan, g + UPPER_LIMIT_SE * e)

    def slope_note(self, which: str = "g6c") -> list[str]:
        """Per point: "" where a slope was fitted, else why not."""
        sig = self.significant(which).sum(0)
        slope = getattr(self, "slope_" + which)
        return ["" if np.isfinite(s) else
                f"no {which.upper().replace('C', 'c')} slope: {n} of {len(self.widths)} widths significant "
                f"(|G| > {SIGNIFICANCE:g}σ), {MIN_FIT_POINTS} needed" for s, n in zip(slope, sig)]

    def theory_g4c(self) -> np.ndarray:
        return np.array([t.g4c_diag if t is not None else np.full(len(self.x), np.nan) for t in self.theory])

    def theory_g6c(self) -> np.ndarray:
        return np.array([t.g6c_diag if t is not None else np.full(len(self.x), np.nan) for t in self.theory])


def significant(values, errors, flagged=None) -> np.ndarray:
    """|G| > SIGNIFICANCE·SE, finite, with a positive error and not flagged as a dishonest error."""
    g, e = np.abs(np.asarray(values, dtype=np.float64)), np.asarray(errors, dtype=np.float64)
    ok = np.isfinite(g) & np.isfinite(e) & (e > 0) & (g > SIGNIFICANCE * e)
    return ok if flagged is None else ok & ~np.asarray(flagged, dtype=bool)


def fit_log_slope(widths: Sequence[float], values: np.ndarray, errors: np.ndarray,
                  flagged: np.ndarray | None = None) -> tuple[float, float]:
    """(slope, standard error) of log|G| = a + slope·log N by weighted least squares over the significant
    widths; NaN when fewer than MIN_FIT_POINTS (at distinct widths) are."""
    n = np.asarray(widths, dtype=np.float64)
    g, e = np.abs(np.asarray(values, dtype=np.float64)), np.asarray(errors, dtype=np.float64)
    # log|G| of a value not resolved from zero says nothing about the power law: leave it out.
    ok = significant(g, e, flagged)
    if ok.sum() < MIN_FIT_POINTS or len(np.unique(n[ok])) < MIN_FIT_POINTS:
        return float("nan"), float("nan")
    xs, ys, se = np.log(n[ok]), np.log(g[ok]), e[ok]
    a = np.stack([np.ones_like(xs), xs], axis=1)
    fitted = g[ok]
    for _ in range(4):
        # Weights from the *fitted* |G|: weighting by the measured |G| would favour upward fluctuations
        # (they look relatively more precise) and bias the slope towards zero.
        w = (fitted / se) ** 2
        cov = np.linalg.inv(a.T @ (a * w[:, None]))
        coef = cov @ (a.T @ (w * ys))
        fitted = np.exp(a @ coef)
    dof = len(xs) - 2
    scale = 1.0
    if dof > 0:
        chi2 = float(np.sum(w * (ys - a @ coef) ** 2))
        scale = max(1.0, chi2 / dof)
    return float(coef[1]), float(np.sqrt(cov[1, 1] * scale))


def _slopes(widths, vals, errs, flagged) -> tuple[np.ndarray, np.ndarray]:
    out = [fit_log_slope(widths, vals[:, p], errs[:, p], flagged[:, p]) for p in range(vals.shape[1])]
    return np.array([s for s, _ in out]), np.array([e for _, e in out])


def width_sweep(spec: NetworkSpec, x, widths: Sequence[int],
                settings: SampleSettings) -> Iterator[WidthSweepResult]:
    """Measure the ensemble at each width in turn (each width with its own derived seed) and yield."""
    pts = as_points(x, spec.input_dim)
    widths = tuple(int(w) for w in widths)
    if not widths:
        raise SpecError("a width sweep needs at least one width")
    specs = [spec.replace(width=w) for w in widths]  # validates every width before any work
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("g2", "g2_err", "g4c", "g4c_err", "g6c", "g6c_err",
                                                         "g4c_flagged", "g6c_flagged")}
    theory: list[FiniteWidthTheory | None] = []
    for i, sp in enumerate(specs):
        sub = settings.replace(seed=derived_seed(settings.seed, sp.width) >> 1)
        est = run_to_completion(measure(sp, pts, sub))
        rows["g2"].append(np.diag(est.g2).copy())
        rows["g2_err"].append(np.diag(est.g2_err).copy())
        rows["g4c"].append(est.g4c_diag)
        rows["g4c_err"].append(est.g4c_diag_err)
        rows["g6c"].append(est.g6c_diag)
        rows["g6c_err"].append(est.g6c_diag_err)
        rows["g4c_flagged"].append(est.unreliable.get("g4c_diag", np.zeros(len(pts), dtype=bool)))
        rows["g6c_flagged"].append(est.unreliable.get("g6c_diag", np.zeros(len(pts), dtype=bool)))
        theory.append(exact_correlators(sp, pts) if sp.depth == 1 else None)
        arr = {k: np.array(v) for k, v in rows.items()}
        done = widths[: i + 1]
        s4, s4e = _slopes(done, arr["g4c"], arr["g4c_err"], arr["g4c_flagged"])
        s6, s6e = _slopes(done, arr["g6c"], arr["g6c_err"], arr["g6c_flagged"])
        yield WidthSweepResult(x=pts, widths=done, g2=arr["g2"], g2_err=arr["g2_err"], g4c=arr["g4c"],
                               g4c_err=arr["g4c_err"], g6c=arr["g6c"], g6c_err=arr["g6c_err"],
                               theory=tuple(theory), slope_g4c=s4, slope_g4c_err=s4e, slope_g6c=s6,
                               slope_g6c_err=s6e, g4c_flagged=arr["g4c_flagged"], g6c_flagged=arr["g6c_flagged"])
