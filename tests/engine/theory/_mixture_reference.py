"""Independent references for first-layer pair moments at d > 1 (docs/physics.md §4.2), scipy's adaptive quad.

- `gaussian_pair`: E[g(u, v)] over a bivariate Gaussian with covariance [[k11, k12], [k12, k22]], as a nested 2-D
  quad in the Cholesky frame u = √k11·z₁, v = c₁z₁ + c₂z₂, split where u or v crosses 0 (relu's kink, the middle
  of tanh's transition).
- `relu_simplex`: a relu moment under the laplace / student-t prior with m = 4 live parameters through the scale
  mixture on the simplex (the identity of §4.2, which `test_exactness_nd` checks against raw-parameter quadrature
  where m = 3 and where a dead coordinate makes m = 4 a d = 2 integral), as a nested 3-D quad over the
  tetrahedron with the Cho–Saul closed forms written out here.
"""
import math

import numpy as np
from scipy import integrate, special
from _exact_reference_nd import erf_gauss_moment, mixture_covariance


def _quad(f, a, b, tol):
    if b - a <= 1e-15:
        return 0.0
    return integrate.quad(f, a, b, epsabs=0.0, epsrel=tol, limit=400)[0]


def gaussian_pair(g, k11, k22, k12, *, tol=1e-12, reach=14.0):
    sa = math.sqrt(k11)
    c1 = k12 / sa
    c2 = math.sqrt(max(k22 - c1 * c1, 0.0))
    phi = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731

    def inner(z1):
        cuts = [-reach, reach]
        if c2 > 0:
            cuts.append(-c1 * z1 / c2)
        cuts = sorted(c for c in cuts if -reach <= c <= reach)
        return phi(z1) * sum(_quad(lambda z2: g(sa * z1, c1 * z1 + c2 * z2) * phi(z2), a, b, tol)
                             for a, b in zip(cuts[:-1], cuts[1:]))

    return sum(_quad(inner, a, b, tol) for a, b in ((-reach, 0.0), (0.0, reach)))


def relu_gauss(k11, k22, k12, p, q):
    """E[relu(u)^p relu(v)^q], (p, q) ∈ {(0, 0), (1, 1), (2, 2)}: (k₁₁k₂₂)^{n/2} J_n(θ)/(2π) (Cho & Saul 2009)."""
    norm = math.sqrt(k11 * k22)
    cos = max(-1.0, min(1.0, k12 / norm))
    th = math.acos(cos)
    sin = math.sin(th)
    j = {0: math.pi - th, 1: sin + (math.pi - th) * cos, 2: 3 * sin * cos + (math.pi - th) * (1 + 2 * cos * cos)}[p]
    return norm**p * j / (2 * math.pi)


def relu_simplex(prior, ai, aj, p, *, dof=6.0, tol=1e-11):
    """E[relu(z_i)^p relu(z_j)^p] for z_k = a_k·u, u ∈ R⁴ standardized, p ∈ {0, 1, 2}."""
    ai, aj = np.asarray(ai, float), np.asarray(aj, float)
    m, k = 4, 2 * p
    if prior == "laplace":
        const = math.gamma(m + k / 2)
    else:
        a, beta = dof / 2, (dof - 2) / 2
        s = m * a - k / 2
        log_c = m * (a * math.log(beta) - special.gammaln(a)) + special.gammaln(s)

    def f(t1, t2, t3):
        th = np.array([1.0 - t1 - t2 - t3, t1, t2, t3])
        if th.min() <= 0:
            return 0.0
        k11, k22, k12 = th @ ai**2, th @ aj**2, th @ (ai * aj)
        g = relu_gauss(k11, k22, k12, p, p)
        if prior == "laplace":
            return const * g
        return g * math.exp(log_c - (a + 1) * np.log(th).sum() - s * math.log(beta * (1.0 / th).sum()))

    return _quad(lambda t1: _quad(lambda t2: _quad(lambda t3: f(t1, t2, t3), 0.0, 1.0 - t1 - t2, tol),
                                  0.0, 1.0 - t1, tol), 0.0, 1.0, tol)


def erf_pair_student_t_mixture(sw, sb, xs, *, dof=6.0, grad=False, tol=1e-10):
    """E[erf(z₁)erf(z₂)] (grad: E[erf′erf′]) at d = 2 under the student-t prior: α = √V·Z with V ~ InvGamma(ν/2,
    (ν−2)/2), Williams' arcsin form given the V's, and a 3-D nested quad over them (in log V, where the
    inverse-gamma density is smooth and decays fast at both ends)."""
    a, beta = dof / 2, (dof - 2) / 2
    log_c = a * math.log(beta) - special.gammaln(a)
    cov = mixture_covariance(sw, sb, xs)

    def g(v1, v2, vb):
        return erf_gauss_moment(*cov(v1, v2, vb), grad=grad)

    def q(f):   # E over one V: ∫ V p(V) f(V) dt, V = e^t
        dens = lambda t: math.exp(log_c - a * t - beta * math.exp(-t))  # noqa: E731
        return integrate.quad(lambda t: dens(t) * f(math.exp(t)), -8.0, 30.0, epsabs=1e-15, epsrel=tol,
                              limit=200)[0]

    return q(lambda vb: q(lambda v2: q(lambda v1: g(v1, v2, vb))))


def laplace_mixture_pair(gauss_moment, sw, sb, xs, *, tol=1e-10):
    """E[F(z₁, z₂)] at d = 2 under the laplace prior for any F whose Gaussian expectation `gauss_moment(k11, k22,
    k12)` is closed form: a 3-D nested quad over the Exp(1) scales of (w₁, w₂, b)."""
    cov = mixture_covariance(sw, sb, xs)

    def g(v1, v2, vb):
        return gauss_moment(*cov(v1, v2, vb))

    def q(f):
        return integrate.quad(lambda v: math.exp(-v) * f(v), 0, np.inf, epsabs=1e-15, epsrel=tol, limit=200)[0]

    return q(lambda vb: q(lambda v2: q(lambda v1: g(v1, v2, vb))))


def relu_student_t_d1(sw, sb, x1, x2, p, *, dof, tol=1e-12):
    """E[relu(z₁)^p relu(z₂)^p], z_k = σ_w x_k u + σ_b v, (u, v) standardized student-t at d = 1: u = √((ν−2)/G)·Z
    with G ~ χ²_ν, Cho–Saul given the G's, a nested 2-D quad over them. Near G = 0 the integrand ~ G^{ν/2−1−p}
    (singular as ν → 2p), so there G = y^{1/e}, e = ν/2 − p (> 0 for a finite moment), which makes it smooth."""
    e = dof / 2 - p
    log_norm = -(dof / 2) * math.log(2.0) - special.gammaln(dof / 2)
    cuts = [1.0, dof, 4.0 * dof, 16.0 * dof, np.inf]

    def over_g(f):   # ∫₀^∞ χ²_ν(G) f(G) dG
        def dens_f(g):
            return math.exp(log_norm + (dof / 2 - 1) * math.log(g) - g / 2) * f(g) if g > 0 else 0.0

        near = _quad(lambda y: dens_f(y ** (1 / e)) * y ** (1 / e - 1) / e if y > 0 else 0.0, 0.0, 1.0, tol)
        return near + sum(integrate.quad(dens_f, a, b, epsabs=1e-16, epsrel=tol, limit=400)[0]
                          for a, b in zip(cuts[:-1], cuts[1:]))

    def gauss(gu, gv):
        s1, s2 = (dof - 2) / gu, (dof - 2) / gv
        a1, a2 = sw * x1, sw * x2
        return relu_gauss(a1 * a1 * s1 + sb * sb * s2, a2 * a2 * s1 + sb * sb * s2, a1 * a2 * s1 + sb * sb * s2, p, p)

    return over_g(lambda gu: over_g(lambda gv: gauss(gu, gv)))
