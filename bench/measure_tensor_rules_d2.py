"""Measure the tensor Gauss rules of smooth φ at d = 2 with a bias (docs/physics.md §4.2, the smooth-φ rows).

Reference: composite Gauss–Legendre over the raw (w₁, w₂, b), 10 nodes on pieces ≤ `width` wide out to |u| = 12,
growing 1.2× beyond (to 45 for laplace, 2000 for student-t), split at laplace's kink, pruned below 1e-19 of the peak
weight — no rule shared with the engine. Prints one JSON line per case: the relative error of `kernel`'s NNGP, NTK
and `theory`'s G2, G4c(1122), G4c and G6c (diagonal) at width 1. (`theory` has since taken the spherical rule,
`smooth_sphere`, at three live parameters within its reach: the §4.2 tensor rows were measured before it.)

    PYTHONPATH=. python bench/measure_tensor_rules_d2.py tanh,gelu laplace 1,2,3 0.3,1 [width] [x-scale]
"""
import json
import math
import sys
import time

import numpy as np
from numpy.polynomial.legendre import leggauss

from nnqft_engine.activations import get_activation
from nnqft_engine.priors import moment, standardized_pdf
from nnqft_engine.spec import NetworkSpec
from nnqft_engine.theory.finite_width import exact_correlators
from nnqft_engine.theory.kernels import kernels

NAMES = ["h11", "h22", "h12", "h1122", "h1111", "h111111", "d12"]


def axis(prior, width, n=10, core=12.0):
    if prior == "uniform":
        r = math.sqrt(3.0)
        edges = np.linspace(-r, r, int(2 * r / width) + 2)
    else:
        reach = {"laplace": 45.0, "student-t": 2000.0}[prior]
        half = list(np.arange(0.0, core + 1e-12, width))
        while half[-1] < reach:
            half.append(half[-1] * 1.2)
        edges = np.concatenate([-np.array(half[::-1]), half[1:]])
    g, gw = leggauss(n)
    h = 0.5 * np.diff(edges)
    u = (0.5 * (edges[1:] + edges[:-1]))[:, None] + h[:, None] * g
    return u.ravel(), (h[:, None] * gw * standardized_pdf(prior, u)).ravel()


def reference_moments(prior, act, sw, sb, xs, width):
    u, w = axis(prior, width)
    a = np.array([[sw / math.sqrt(2) * x[0], sw / math.sqrt(2) * x[1], sb] for x in xs])
    u2, u3 = (g.ravel() for g in np.meshgrid(u, u, indexing="ij"))
    w23 = np.outer(w, w).ravel()
    acc = np.zeros(len(NAMES))
    for u1, w1 in zip(u, w):
        sel = w1 * w23 > 1e-19 * w.max() ** 3
        z1, z2 = (c[0] * u1 + c[1] * u2[sel] + c[2] * u3[sel] for c in a)
        f1, f2, g1, g2 = act.numpy_fn(z1, 0.0), act.numpy_fn(z2, 0.0), act.numpy_grad(z1, 0.0), act.numpy_grad(z2, 0.0)
        wv, q1 = w1 * w23[sel], f1 * f1
        acc += [wv @ q1, wv @ (f2 * f2), wv @ (f1 * f2), wv @ (q1 * f2 * f2), wv @ (q1 * q1), wv @ q1**3,
                wv @ (g1 * g2)]
    return dict(zip(NAMES, acc))


def main(argv):
    acts, priors = argv[0].split(","), argv[1].split(",")
    sws, sbs = ([float(v) for v in a.split(",")] for a in argv[2:4])
    width = float(argv[4]) if len(argv) > 4 else 0.5
    xs = np.array([[1.0, 0.5], [-0.3, 1.2]]) * (float(argv[5]) if len(argv) > 5 else 1.0)
    for name in acts:
        for prior in priors:
            for sw in sws:
                for sb in sbs:
                    spec = NetworkSpec(input_dim=2, activation=name, prior=prior, sigma_w=sw, sigma_b=sb, width=1)
                    t = time.time()
                    k, th = kernels(spec, xs), exact_correlators(spec, xs)
                    t_engine = time.time() - t
                    eng = dict(nngp=k.nngp[0, 1], ntk=k.ntk[0, 1], g2=th.g2[0, 1], g4c_pair=th.g4c_pair[0, 1],
                               g4c_diag=th.g4c_diag[0], g6c_diag=th.g6c_diag[0])
                    r = reference_moments(prior, get_activation(name), sw, sb, xs, width)
                    m4, m6 = moment(prior, 4, 6.0), moment(prior, 6, 6.0)
                    b4, b6 = sb**4 * (m4 - 3), sb**6 * (m6 - 15 * m4 + 30)
                    nngp = sb**2 + sw**2 * r["h12"]
                    ref = dict(nngp=nngp, ntk=nngp + sw**2 * r["d12"] * (sw**2 * xs[0] @ xs[1] / 2 + sb**2), g2=nngp,
                               g4c_pair=sw**4 * (m4 * r["h1122"] - r["h11"] * r["h22"] - 2 * r["h12"]**2) + b4,
                               g4c_diag=sw**4 * (m4 * r["h1111"] - 3 * r["h11"]**2) + b4,
                               g6c_diag=sw**6 * (m6 * r["h111111"] - 15 * m4 * r["h1111"] * r["h11"]
                                                 + 30 * r["h11"]**3) + b6)
                    with np.errstate(invalid="ignore"):
                        rel = {q: f"{abs(eng[q] - ref[q]) / abs(ref[q]):.1e}" for q in ref}
                    print(json.dumps(dict(activation=name, prior=prior, sigma_w=sw, sigma_b=sb, rel=rel,
                                          t_engine=round(t_engine, 2), t_ref=round(time.time() - t - t_engine, 1))),
                          flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
