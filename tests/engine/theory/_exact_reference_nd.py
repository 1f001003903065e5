"""Independent reference for first-layer integrals at input dimension d = 2 (issue 11, item 1).

z_k = (σ_w/√2)(w₁x_k1 + w₂x_k2) + σ_b v with (w₁, w₂, v) i.i.d. standardized. scipy's adaptive quad, nested:

- `relu_pair`: E[relu(z₁)relu(z₂)] and E[θ(z₁)θ(z₂)] with the integral over v in closed form (partial moments
  S_k(t) = ∫_t^∞ v^k p(v) dv of the prior), then a 2-D nested quad over (w₁, w₂) split along every line where the
  closed form kinks: z_k = 0 at v = 0 (w·x_k = 0), the two kinks swapping (w·(x₁ − x₂) = 0), the prior's kink
  (laplace: the axes) and, uniform, a kink reaching the support edge v = ±√3.
- `smooth_pair`: E[g(z₁, z₂)] for smooth g by a 3-D nested quad, split only at the prior's kink (laplace, 0).
"""
import math

import numpy as np
from scipy import integrate, special

from nnqft_engine.priors import standardized_pdf

SQRT3 = math.sqrt(3.0)
_REACH = {"gaussian": 13.0, "laplace": 48.0, "uniform": SQRT3, "student-t": math.inf}


def partial_moments(prior, t, dof=6.0):
    """(S₀, S₁, S₂)(t) = ∫_t^∞ v^k p(v) dv for the standardized prior."""
    if prior == "gaussian":
        pdf, sf = math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi), special.ndtr(-t)
        return sf, pdf, t * pdf + sf
    if prior == "laplace":
        b, a = math.sqrt(0.5), abs(t)
        e = 0.5 * math.exp(-a / b)
        s = (e, e * (a + b), e * (a * a + 2 * a * b + 2 * b * b))   # at |t|
        return (s[0], s[1], s[2]) if t >= 0 else (1 - s[0], s[1], 1 - s[2])
    if prior == "uniform":
        t = min(max(t, -SQRT3), SQRT3)
        return tuple((SQRT3 ** (k + 1) - t ** (k + 1)) / ((k + 1) * 2 * SQRT3) for k in range(3))
    if prior == "student-t":  # T = c·v is standard t_ν; ∫_τ^∞ x f = (ν+τ²)f/(ν−1), ∫ x² f = (τ(ν+τ²)f + ν S₀)/(ν−2)
        nu, c = dof, math.sqrt(dof / (dof - 2.0))
        tau = c * t
        f = math.exp(special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * math.log(nu * math.pi)
                     - 0.5 * (nu + 1) * math.log1p(tau * tau / nu))
        s0 = special.stdtr(nu, -tau)
        return s0, (nu + tau * tau) * f / (nu - 1) / c, (tau * (nu + tau * tau) * f + nu * s0) / (nu - 2) / c**2
    raise ValueError(prior)


def _lines(prior, sw, sb, xs):
    """(α, β, γ) of the lines α w₁ + β w₂ = γ along which the v-integral's closed form kinks."""
    s = sw / math.sqrt(2.0)
    dirs = [np.asarray(x, float) for x in xs] + [np.asarray(xs[0], float) - np.asarray(xs[1], float)]
    out = [(d[0], d[1], 0.0) for d in dirs]
    if prior == "laplace":
        out += [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0)]
    if prior == "uniform":
        out += [(x[0], x[1], sg * SQRT3 * sb / s) for x in xs for sg in (-1, 1)]
    return [ln for ln in out if abs(ln[0]) + abs(ln[1]) > 0]


def _nested_2d(prior, h, lines, tol, dof):
    """∫∫ h(w₁, w₂) p(w₁) p(w₂) over the support, split along `lines`."""
    reach = _REACH[prior]
    p = lambda u: float(standardized_pdf(prior, u, dof))  # noqa: E731
    lo, hi = -reach, reach

    def cuts_at(w1, lo, hi):
        c = [lo, hi] + [(g - a * w1) / b for a, b, g in lines if b != 0]
        return sorted(x for x in set(c) if lo <= x <= hi)

    def inner(w1):
        cs = cuts_at(w1, lo, hi)
        return p(w1) * sum(_quad(lambda w2: h(w1, w2) * p(w2), a, b, tol) for a, b in zip(cs[:-1], cs[1:]))

    # Outer kinks: lines crossing each other, a vertical line, or the support edges w₂ = ±reach.
    outer = {lo, hi, 0.0}
    for i, (a, b, g) in enumerate(lines):
        if b == 0:
            outer.add(g / a)
        for edge in (lo, hi):
            if a != 0 and math.isfinite(edge):
                outer.add((g - b * edge) / a)
        for a2, b2, g2 in lines[i + 1:]:
            det = a * b2 - a2 * b
            if abs(det) > 1e-14:
                outer.add((g * b2 - g2 * b) / det)
    oc = sorted(x for x in outer if lo <= x <= hi)
    return sum(_quad(inner, a, b, tol) for a, b in zip(oc[:-1], oc[1:]))


def _quad(f, a, b, tol):
    if b - a <= 1e-15:
        return 0.0
    return integrate.quad(f, a, b, epsabs=1e-16, epsrel=tol, limit=400)[0]


def relu_pair(prior, sw, sb, xs, *, grad=False, dof=6.0, tol=1e-12):
    """E[relu(z₁)relu(z₂)] (grad: E[θ(z₁)θ(z₂)]) at d = 2, σ_b > 0."""
    s = sw / math.sqrt(2.0)
    x1, x2 = (np.asarray(x, float) for x in xs)

    def h(w1, w2):
        a, c = s * (w1 * x1[0] + w2 * x1[1]), s * (w1 * x2[0] + w2 * x2[1])
        s0, s1, s2 = partial_moments(prior, max(-a / sb, -c / sb), dof)
        return s0 if grad else a * c * s0 + sb * (a + c) * s1 + sb * sb * s2

    return _nested_2d(prior, h, _lines(prior, sw, sb, xs), tol, dof)


def relu_pair_no_bias(prior, sw, xs, *, grad=False, dof=6.0, tol=1e-12):
    """E[relu(z₁)relu(z₂)] (grad: E[θ(z₁)θ(z₂)]) at d = 2, σ_b = 0: a 2-D nested quad split along the kink lines
    w·x_k = 0 (and laplace's axes)."""
    s = sw / math.sqrt(2.0)
    x1, x2 = (np.asarray(x, float) for x in xs)

    def h(w1, w2):
        a, c = s * (w1 * x1[0] + w2 * x1[1]), s * (w1 * x2[0] + w2 * x2[1])
        return float(a > 0 and c > 0) if grad else max(a, 0.0) * max(c, 0.0)

    lines = [(x[0], x[1], 0.0) for x in (x1, x2)] + ([(1.0, 0.0, 0.0), (0.0, 1.0, 0.0)] if prior == "laplace" else [])
    return _nested_2d(prior, h, lines, tol, dof)


def smooth_pair(prior, g, sw, sb, xs, *, tol=1e-11):
    """E[g(z₁, z₂)] at d = 2 for smooth g, 3-D nested quad."""
    s = sw / math.sqrt(2.0)
    x1, x2 = (np.asarray(x, float) for x in xs)
    reach = _REACH[prior]
    p = lambda u: float(standardized_pdf(prior, u))  # noqa: E731
    cuts = [-reach, 0.0, reach]

    def over(f):
        return sum(_quad(f, a, b, tol) for a, b in zip(cuts[:-1], cuts[1:]))

    def h(w1, w2):
        a, c = s * (w1 * x1[0] + w2 * x1[1]), s * (w1 * x2[0] + w2 * x2[1])
        return over(lambda v: g(a + sb * v, c + sb * v) * p(v))

    return over(lambda w1: p(w1) * over(lambda w2: h(w1, w2) * p(w2)))


def mixture_covariance(sw, sb, xs):
    """(V₁, V₂, V_b) ↦ (k₁₁, k₂₂, k₁₂): the pre-activations' covariance at d = 2 given the scales of (w₁, w₂, b)."""
    s2 = sw * sw / 2
    x1, x2 = (np.asarray(x, float) for x in xs)

    def cov(v1, v2, vb):
        return (s2 * (v1 * x1[0] ** 2 + v2 * x1[1] ** 2) + sb * sb * vb,
                s2 * (v1 * x2[0] ** 2 + v2 * x2[1] ** 2) + sb * sb * vb,
                s2 * (v1 * x1[0] * x2[0] + v2 * x1[1] * x2[1]) + sb * sb * vb)
    return cov


def erf_gauss_moment(k11, k22, k12, *, grad=False):
    """Williams' closed forms: E[erf(z₁)erf(z₂)] (grad: E[erf′erf′]) for (z₁, z₂) ~ N(0, K)."""
    if grad:
        return 4 / math.pi / math.sqrt((1 + 2 * k11) * (1 + 2 * k22) - 4 * k12 * k12)
    return 2 / math.pi * math.asin(max(-1.0, min(1.0, 2 * k12 / math.sqrt((1 + 2 * k11) * (1 + 2 * k22)))))


def erf_pair_laplace_mixture(sw, sb, xs, *, grad=False, tol=1e-10):
    """E[erf(z₁)erf(z₂)] (grad: E[erf′erf′]) at d = 2 under the laplace prior, by its Gaussian scale mixture:
    a standardized laplace α is √V·Z with V ~ Exp(1), so given (V₁, V₂, V_b) the pair (z₁, z₂) is Gaussian and
    Williams' arcsin closed form applies; a 3-D nested quad over the V's (smooth integrand) remains."""
    cov = mixture_covariance(sw, sb, xs)

    def g(v1, v2, vb):
        return erf_gauss_moment(*cov(v1, v2, vb), grad=grad)

    def q(f):
        return integrate.quad(lambda v: math.exp(-v) * f(v), 0, np.inf, epsabs=1e-15, epsrel=tol, limit=200)[0]

    return q(lambda vb: q(lambda v2: q(lambda v1: g(v1, v2, vb))))
