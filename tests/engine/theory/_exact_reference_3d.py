"""Independent reference for relu under the uniform prior at d = 3 with a bias (four live parameters).

z_k = s·(w·x_k) + σ_b v, s = σ_w/√3, (w₁, w₂, w₃, v) i.i.d. uniform on [−√3, √3]. E[relu(z₁)^p relu(z₂)^q]:
the integral over v in closed form (a polynomial in v above the larger kink t = max(−a/σ_b, −c/σ_b), clamped to the
support), then scipy's adaptive quad nested over (w₁, w₂) and Gauss–Legendre over w₃ (the v-integral is a polynomial
in w₃ between breakpoints), each level split at every point where the inner integral's closed form kinks — the coordinates of the vertices of the arrangement of the kink planes (the two
thresholds swapping, each threshold reaching v = ±√3) and the box faces, restricted to the variables still free.
Shares nothing with the engine's polytope rule but the fact that a kink is a plane.
"""
import itertools
import math

import numpy as np
from scipy import integrate

SQRT3 = math.sqrt(3.0)


def _v_integral(a, c, sb, p, q):
    """∫ relu(a + σ_b v)^p relu(c + σ_b v)^q dv/(2√3) over v ∈ [−√3, √3] (p = q = 0: the step's measure), for
    arrays a, c."""
    t = np.clip(np.maximum(-a / sb, -c / sb), -SQRT3, SQRT3)
    # ∫_t^√3 (a + σ_b v)^p (c + σ_b v)^q dv term by term: the binomial expansion in v
    total = np.zeros_like(t)
    for i in range(p + 1):
        for j in range(q + 1):
            k = i + j
            coef = math.comb(p, i) * math.comb(q, j) * a ** (p - i) * c ** (q - j) * sb**k
            total = total + coef * (SQRT3 ** (k + 1) - t ** (k + 1)) / (k + 1)
    return total / (2 * SQRT3)


def _planes(sw, sb, xs):
    """(A (n, 3), g (n,)): the planes A w = g where the v-integral kinks, and the box faces."""
    s = sw / math.sqrt(3.0)
    x1, x2 = (np.asarray(x, float) for x in xs)
    rows, rhs = [x1 - x2], [0.0]
    for x in (x1, x2):
        for edge in (-SQRT3, SQRT3):
            rows.append(x)
            rhs.append(-edge * sb / s)       # −s w·x/σ_b = edge
    for l in range(3):
        for edge in (-SQRT3, SQRT3):
            rows.append(np.eye(3)[l])
            rhs.append(edge)
    return np.array(rows), np.array(rhs)


def _breaks(a, g, fixed, lo=-SQRT3, hi=SQRT3):
    """Coordinates along the first free variable of every vertex of the planes a·w = g with w[:len(fixed)] fixed."""
    k = len(fixed)
    free = a[:, k:]
    rhs = g - a[:, :k] @ np.asarray(fixed, float)
    n = free.shape[1]
    idx = np.array(list(itertools.combinations(range(len(a)), n)))
    m, r = free[idx], rhs[idx]
    ok = np.abs(np.linalg.det(m)) > 1e-12
    first = np.linalg.solve(m[ok], r[ok][..., None])[:, 0, 0]
    return sorted({lo, hi} | {float(x) for x in first if lo <= x <= hi})


def _quad(f, a, b, tol):
    if b - a <= 1e-15:
        return 0.0
    return integrate.quad(f, a, b, epsabs=1e-17, epsrel=tol, limit=200)[0]


def relu_pair_uniform_d3(sw, sb, xs, p, q, tol=1e-12):
    """E[relu(z₁)^p relu(z₂)^q] (p = q = 0: E[θ(z₁)θ(z₂)]) under the uniform prior, d = 3 with a bias."""
    s = sw / math.sqrt(3.0)
    x1, x2 = (np.asarray(x, float) for x in xs)
    a, g = _planes(sw, sb, xs)
    dens = 1 / (2 * SQRT3)

    nodes, weights = np.polynomial.legendre.leggauss(8)

    def innermost(w1, w2):
        # between its breakpoints the v-integral is a polynomial of degree ≤ p + q + 1 in w₃: Gauss–Legendre with
        # 8 nodes per piece is exact there
        cuts = np.array(_breaks(a, g, [w1, w2]))
        lo, hi = cuts[:-1, None], cuts[1:, None]
        w3 = (lo + hi) / 2 + (hi - lo) / 2 * nodes
        vals = _v_integral(s * (w1 * x1[0] + w2 * x1[1] + w3 * x1[2]), s * (w1 * x2[0] + w2 * x2[1] + w3 * x2[2]),
                           sb, p, q)
        return float(((hi - lo) / 2 * weights * vals).sum()) * dens

    def level(fixed):
        cuts = _breaks(a, g, fixed)
        if len(fixed) == 1:
            f = lambda w2: innermost(fixed[0], w2) * dens     # noqa: E731
        else:
            f = lambda w1: level([w1]) * dens                 # noqa: E731
        return sum(_quad(f, lo, hi, tol) for lo, hi in zip(cuts[:-1], cuts[1:]))

    return level([])
