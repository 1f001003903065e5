"""Closed-form gradient flow of an infinitely wide network (docs/physics.md §6).

Loss (1/2n)Σ(f−y)², learning rate η, time t = Σ η over the gradient-descent steps (so t = steps·η at a
fixed step, and the prediction does not depend on η: η only sets how finely GD follows the flow, and
`max_stable_lr` bounds it). The outputs on the training points obey the linear ODE
df(X)/dt = −(1/n) A (f(X) − Y) with A = Θ(X,X) ("ntk" mode, every layer trained) or A = K(X,X)
("nngp" mode, readout only); a test point follows df(x)/dt = −(1/n) A(x,X)(f(X) − Y); f₀ ~ GP(0, K). So

    f_t(x) = f₀(x) − A(x,X) A⁻¹(I − e^{−At/n})(f₀(X) − Y),

(An earlier version of the physics notes wrote e^{−ηΘt/n} with t = steps·η, which counts η twice; in step
units t' = steps the two agree: ηt' = t.)

whose mean and covariance are Lee et al. (1902.06720) eqs. (15)–(16). Everything goes through one
eigendecomposition A = V diag(λ) Vᵀ, computed once per (spec, points, mode, diag_reg) and cached: the
factor A⁻¹(I − e^{−At/n}) is V diag(−expm1(−λt/n)/λ) Vᵀ, and t = ∞ is V diag(1/λ) Vᵀ (a solve in the
eigenbasis, a pseudo-inverse on an exactly flat direction, which the flow never moves).

`diag_reg` = λ_reg adds λ_reg·I to the training block of both A and K — in ntk mode also to the K(X,X)
inside the covariance, which neural-tangents leaves unregularized (so this is not its convention there):
as if every training output carried its own trainable unit-variance feature of scale √λ_reg. Then t = ∞
is kernel ridge regression (ntk) and the GP posterior with observation noise λ_reg (nngp).
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..spec import NetworkSpec, SpecError, as_points
from ..theory.kernels import kernels

MODES = ("ntk", "nngp")
_CACHE_SIZE = 16
# Eigenvalues below this fraction of the largest are exactly flat directions (never trained).
_FLAT = 1e-14


@dataclass(frozen=True)
class FlowPrediction:
    """Infinite-width distribution of f_t over the initialization ensemble, at each time in `times`.

    times (T,) may contain inf; mean (T, n_test); cov (T, n_test, n_test); train_mean (T, n_train);
    train_cov (T, n_train, n_train); expected_loss (T,) = E[(1/2n)Σ(f_t(x_i) − y_i)²].
    """

    times: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    train_mean: np.ndarray
    train_cov: np.ndarray
    expected_loss: np.ndarray
    lr: float
    mode: str
    diag_reg: float

    @property
    def var(self) -> np.ndarray:
        """Variance at each test point, (T, n_test)."""
        return np.diagonal(self.cov, axis1=1, axis2=2).copy()


@dataclass(frozen=True)
class _Eigen:
    """The cached, time- and lr-independent part: kernels and the eigendecomposition of A(X,X)."""

    evals: np.ndarray        # (n,) eigenvalues of the (regularized) driving kernel A
    evecs: np.ndarray        # (n, n)
    drive_test: np.ndarray   # A(x, X), (n_test, n)
    k_train: np.ndarray      # K(X,X) + λ_reg I: covariance of f₀ on the training points
    k_test: np.ndarray       # K(x, x')
    k_cross: np.ndarray      # K(x, X)


_cache: "OrderedDict[tuple, _Eigen]" = OrderedDict()


def _check_inputs(spec: NetworkSpec, train_x, train_y, test_x, mode: str, diag_reg: float):
    if mode not in MODES:
        raise SpecError(f"unknown flow mode {mode!r}; choose one of: {', '.join(MODES)}")
    diag_reg = float(diag_reg)
    if not math.isfinite(diag_reg) or diag_reg < 0:
        raise SpecError(f"diagonal regularization must be a finite number >= 0, got {diag_reg!r}")
    xs = as_points(train_x, spec.input_dim)
    xt = as_points(test_x, spec.input_dim)
    ys = np.asarray(train_y, dtype=np.float64).reshape(-1)
    if len(ys) != len(xs):
        raise SpecError(f"{len(xs)} training inputs but {len(ys)} training targets: they must match")
    if not np.all(np.isfinite(ys)):
        raise SpecError("training targets must be finite numbers")
    return xs, ys, xt, diag_reg


def _eigen(spec: NetworkSpec, xs: np.ndarray, xt: np.ndarray, mode: str, diag_reg: float) -> _Eigen:
    key = (spec, xs.tobytes(), xs.shape, xt.tobytes(), xt.shape, mode, diag_reg)
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    n = len(xs)
    kk = kernels(spec, np.concatenate([xs, xt]))
    drive = kk.ntk if mode == "ntk" else kk.nngp
    reg = diag_reg * np.eye(n)
    evals, evecs = np.linalg.eigh(drive[:n, :n] + reg)
    evals = np.where(evals > _FLAT * max(evals[-1], 0.0), evals, 0.0)
    eig = _Eigen(evals=evals, evecs=evecs, drive_test=drive[n:, :n].copy(),
                 k_train=kk.nngp[:n, :n] + reg, k_test=kk.nngp[n:, n:].copy(), k_cross=kk.nngp[n:, :n].copy())
    _cache[key] = eig
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return eig


def _factors(evals: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Per eigenvalue: g = (1 − e^{−λ·rate})/λ (the weight of A⁻¹E_t) and s = e^{−λ·rate}; rate = t/n."""
    flat = evals <= 0.0
    safe = np.where(flat, 1.0, evals)
    if math.isinf(rate):
        return np.where(flat, 0.0, 1.0 / safe), np.where(flat, 1.0, 0.0)
    return np.where(flat, rate, -np.expm1(-safe * rate) / safe), np.where(flat, 1.0, np.exp(-safe * rate))


def _check_times(times, lr) -> tuple[np.ndarray, float]:
    t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if t.ndim != 1 or t.size == 0 or np.any(np.isnan(t)) or np.any(t < 0):
        raise SpecError("times must be a non-empty list of numbers >= 0 (inf allowed)")
    lr = float(lr)
    if not math.isfinite(lr) or lr <= 0:
        raise SpecError(f"learning rate must be a finite number > 0, got {lr!r}")
    return t, lr


def flow_prediction(spec: NetworkSpec, train_x, train_y, test_x, times, lr: float, mode: str = "ntk",
                    diag_reg: float = 0.0) -> FlowPrediction:
    """Mean and covariance of the infinitely wide network's outputs after gradient flow for time t.

    `lr` is the step the finite networks are trained with; it is validated and recorded, and the
    continuous-flow prediction at time t (= Σ steps) does not otherwise depend on it.
    """
    xs, ys, xt, diag_reg = _check_inputs(spec, train_x, train_y, test_x, mode, diag_reg)
    ts, lr = _check_times(times, lr)
    e = _eigen(spec, xs, xt, mode, diag_reg)
    n, v = len(xs), e.evecs
    drive_v = e.drive_test @ v                      # A(x,X) V
    means, covs, tmeans, tcovs, losses = [], [], [], [], []
    for t in ts:
        g, s = _factors(e.evals, t / n)
        tmat = (drive_v * g) @ v.T                  # T = A(x,X) A⁻¹ E_t
        means.append(tmat @ ys)
        cross = tmat @ e.k_cross.T                  # T K(X, x')
        cov = e.k_test + tmat @ e.k_train @ tmat.T - cross - cross.T
        covs.append(0.5 * (cov + cov.T))
        decay = (v * s) @ v.T                       # e^{−At/n}: f_t(X) − Y = decay (f₀(X) − Y)
        tmeans.append(ys - decay @ ys)
        tcov = decay @ e.k_train @ decay.T
        tcovs.append(0.5 * (tcov + tcov.T))
        resid = decay @ ys
        losses.append((resid @ resid + np.trace(tcov)) / (2 * n))
    return FlowPrediction(times=ts, mean=np.array(means), cov=np.array(covs), train_mean=np.array(tmeans),
                          train_cov=np.array(tcovs), expected_loss=np.array(losses), lr=lr, mode=mode,
                          diag_reg=diag_reg)


def max_stable_lr(spec: NetworkSpec, train_x, mode: str = "ntk") -> float:
    """2n/λ_max of the analytic driving kernel (Θ, or K in nngp mode): discrete GD diverges above it."""
    xs = as_points(train_x, spec.input_dim)
    kk = kernels(spec, xs)
    lam = float(np.linalg.eigvalsh(kk.ntk if mode == "ntk" else kk.nngp)[-1])
    return 2 * len(xs) / lam if lam > 0 else math.inf


__all__ = ["FlowPrediction", "flow_prediction", "max_stable_lr", "MODES"]
