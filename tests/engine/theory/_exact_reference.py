"""Independent reference for depth-1 first-layer integrals: scipy's adaptive quad, nested, split at kinks.

E[g(u, v)] over standardized (u, v) i.i.d. from the prior, with z_k = σ_w x_k u + σ_b v: the outer integral
over v, the inner over u split at every z_k = 0 and at the prior's own kink/support edges.
"""
import math

from scipy import integrate

from nnqft_engine.theory.first_layer import standardized_pdf

SQRT3 = math.sqrt(3.0)
_SUPPORT = {"gaussian": (-14.0, 14.0), "laplace": (-50.0, 50.0), "uniform": (-SQRT3, SQRT3)}


def expect(prior, g, sw, sb, xs, *, tol=1e-13):
    lo, hi = _SUPPORT[prior]

    def inner(v):
        cuts = [lo, hi] + ([0.0] if prior == "laplace" else [])
        if sw != 0:
            cuts += [-sb * v / (sw * x) for x in xs if x != 0]
        cuts = sorted(c for c in set(cuts) if lo <= c <= hi)
        tot = 0.0
        for a, b in zip(cuts[:-1], cuts[1:]):
            if b - a > 1e-15:
                tot += integrate.quad(lambda u: g(u, v) * standardized_pdf(prior, u), a, b, epsabs=tol * 1e-2,
                                      epsrel=tol, limit=200)[0]
        return tot * standardized_pdf(prior, v)

    vcuts = [lo, 0.0, hi]
    if prior == "uniform" and sb != 0:  # a kink crossing a support edge u = ±√3 makes the inner integral kink
        vcuts += [s * sw * x * SQRT3 / sb for x in xs for s in (-1, 1)]
    vcuts = sorted(c for c in set(vcuts) if lo <= c <= hi)
    if sb == 0:
        return inner(0.0) / standardized_pdf(prior, 0.0)
    return sum(integrate.quad(inner, a, b, epsabs=tol * 1e-2, epsrel=tol, limit=200)[0]
               for a, b in zip(vcuts[:-1], vcuts[1:]) if b - a > 1e-15)
