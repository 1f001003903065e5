"""One relu neuron's characteristic function C(t) under the student-t prior (docs/physics.md §4.6).

C(t) = E[ψ(s(t₁ relu(z₁) + t₂ relu(z₂)))] with ψ the standardized student-t characteristic function (a Bessel K)
and z_k = a_k·u, a_k = (σ_w x_k, σ_b), u the two standardized first-layer parameters. relu is positively
homogeneous: in polar coordinates u = r(cos θ, sin θ), relu(z_k) = r·g_k(θ), g_k = relu(a_k·(cos θ, sin θ)), so

    C(t) = P₀₀ + ∫ dθ A_θ(s|t₁g₁(θ) + t₂g₂(θ)|),   A_θ(λ) = ∫₀^∞ r p(r cos θ) p(r sin θ) ψ(λr) dr

over the angles where a neuron is on (P₀₀: both off, ψ(0) = 1). The angles are the polar rule of `first_layer`
(split at the kinks and axes, graded towards the axes). A_θ is a correlation in log variables: with r = e^σ,
λ = e^l, A(l) = ∫ e^{2σ} p p ψ(e^{σ+l}) dσ, a trapezoid in σ (the integrand is analytic in a strip, as in the
radial moments: step 0.1 errs ~e^{−2π(π/4)/0.1}) evaluated for a whole grid of l by one FFT per angle, on
_SHIFTS interleaved grids, so A is tabulated at step 0.1/_SHIFTS in l and read back by cubic interpolation.
"""
from __future__ import annotations

import math

import numpy as np

from . import student_t_cf
from .first_layer import _radial_moments, _student_t_log_pdf, polar_angles

_H = 0.1                  # trapezoid step in σ = log r
_SHIFTS = 10              # interleaved l-grids: the table's step is _H/_SHIFTS
_SIGMA = (-20.0, 24.0)    # r from e^{−20} (weight r² ≈ e^{−40}) to e^{24} (beyond, r^{1−ν} has fallen under 1e-30)
_L_LOW = -25.0            # below λ = e^{−25}, A = R₀ − O(λ²R₂) = R₀ to double precision


class ReluStudentTCF:
    """C(t₁, t₂) for one depth-1 relu neuron, student-t prior (every parameter, the readout included), read from
    per-angle tables; `p00` = P(z₁ ≤ 0, z₂ ≤ 0). `t_max` bounds |t₁| + |t₂| where it will be evaluated."""

    def __init__(self, x: tuple[float, float], sigma_w: float, sigma_b: float, s: float, dof: float,
                 t_max: float, pieces: int = 16):
        coeffs = np.array([[sigma_w * x[0], sigma_b], [sigma_w * x[1], sigma_b]])
        cos_t, sin_t, w, _ = polar_angles("student-t", coeffs, dof, top=0.0, pieces=pieces)
        c, sn = np.abs(cos_t), np.abs(sin_t)
        r0 = _radial_moments("student-t", c, sn, dof)[0]
        g = np.maximum(coeffs @ np.stack([cos_t, sin_t]), 0.0)             # (2, Q)
        on = (g > 0).any(axis=0)
        self.p00 = float(w[~on] @ r0[~on])
        self._g, self._w, self._r0 = g[:, on] * s, w[on], r0[on]
        l_high = math.log(max(t_max * float(self._g.sum(axis=0).max(initial=0.0)), 1.0)) + 1.0
        self._table = _tables(c[on], sn[on], dof, l_high)
        self._l_step = _H / _SHIFTS
        self.angles = len(self._w)

    def __call__(self, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
        t1, t2 = np.asarray(t1, dtype=np.float64), np.asarray(t2, dtype=np.float64)
        out = np.full(t1.shape, self.p00)
        n = self._table.shape[1]
        for q in range(len(self._w)):
            lam = np.abs(self._g[0, q] * t1 + self._g[1, q] * t2)
            with np.errstate(divide="ignore"):
                pos = (np.log(lam) - _L_LOW) / self._l_step
            low = pos < 1.0
            j = np.clip(np.floor(pos), 1, n - 3).astype(np.intp)
            u = np.clip(pos - j, 0.0, 1.0)
            row = self._table[q]
            a0, a1, a2, a3 = row[j - 1], row[j], row[j + 1], row[j + 2]
            # cubic Lagrange through j − 1 … j + 2
            val = (a1 + 0.5 * u * (a2 - a0 + u * (2 * a0 - 5 * a1 + 4 * a2 - a3 + u * (3 * (a1 - a2) + a3 - a0))))
            out += self._w[q] * np.where(low, self._r0[q], val)
        return out


def _tables(c: np.ndarray, s: np.ndarray, dof: float, l_high: float) -> np.ndarray:
    """A_θ(e^l) on l = _L_LOW + j·_H/_SHIFTS up to l_high, one row per angle (Q, J)."""
    sigma = np.arange(_SIGMA[0], _SIGMA[1], _H)
    r = np.exp(sigma)
    weight = _H * np.exp(2 * sigma[None, :] + _student_t_log_pdf(r[None, :] * c[:, None], dof)
                         + _student_t_log_pdf(r[None, :] * s[:, None], dof))       # (Q, I)
    per_shift = int(math.ceil((l_high - _L_LOW) / _H)) + 4
    size = 1 << int(math.ceil(math.log2(len(sigma) + per_shift)))
    spectrum = np.conj(np.fft.rfft(weight, size, axis=1))
    table = np.empty((len(c), per_shift * _SHIFTS))
    for k in range(_SHIFTS):
        # ψ at σ_i + l_j for l_j = _L_LOW + (j·_SHIFTS + k)·_H/_SHIFTS: a correlation of the weights with ψ
        u = sigma[0] + _L_LOW + k * _H / _SHIFTS + _H * np.arange(len(sigma) + per_shift)
        psi = student_t_cf.exact(math.sqrt(dof - 2.0) * np.exp(u), dof)   # ψ(v) = φ(√(ν − 2)|v|), unit variance
        corr = np.fft.irfft(np.fft.rfft(psi, size)[None, :] * spectrum, size, axis=1)[:, :per_shift]
        table[:, k::_SHIFTS] = corr
    return table
