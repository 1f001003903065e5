"""References shared by the density tests: the binned χ² of sampled networks against the exact joint density,
one neuron's gaussian- and uniform-prior characteristic functions by nested adaptive quadrature, and an independent 1-D inversion of the smoothed density of f(x) under the laplace, uniform or student-t prior."""
import math

import numpy as np
from scipy import integrate, stats

from nnqft_engine import SampleSettings, sample_outputs
from nnqft_engine.activations import get_activation
from nnqft_engine.theory.density import characteristic_function, preactivation_density
from nnqft_engine.theory.first_layer import SQRT3
from nnqft_engine.theory.joint_density import joint_density


def ridge_splits(phi, w, x, t1, t2, reach):
    """−reach, 0, reach and every root in b of the ridge t₁φ(wx₁ + b) + t₂φ(wx₂ + b) = 0 (bracketed on a grid,
    refined by one secant step): where a nested quadrature over b splits."""
    bb = np.linspace(-reach, reach, 4001)
    g = t1 * phi(w * x[0] + bb, 0.0) + t2 * phi(w * x[1] + bb, 0.0)
    pts = [-reach, 0.0, reach]
    for k in np.nonzero(np.sign(g[:-1]) != np.sign(g[1:]))[0]:
        pts.append(bb[k] - g[k] * (bb[k + 1] - bb[k]) / (g[k + 1] - g[k]))
    return sorted(set(pts))


def chi_square_p(spec, x, m, k=6):
    """p-value of the binned law of (f₁ + ε₁, f₂ + ε₂) from m sampled networks against the density's bin
    expectations (box option), bins of k×k grid steps with ≥ 20 expected."""
    b = joint_density(spec, *x, points=121, box=(k, k))
    f = sample_outputs(spec, list(x), SampleSettings(ensemble=m, seed=5, dtype="float64"))
    g = f + np.random.default_rng(1).standard_normal(f.shape) * np.array(b.smooth)
    step = np.array([b.f1[1] - b.f1[0], b.f2[1] - b.f2[0]])
    idx = np.arange(3, 121, k)
    edges = [np.append(c - k * step[i] / 2, c[-1] + k * step[i] / 2) for i, c in enumerate((b.f1[idx], b.f2[idx]))]
    counts, _, _ = np.histogram2d(g[:, 0], g[:, 1], bins=edges)
    expected = b.p[np.ix_(idx, idx)] * (k * step[0]) * (k * step[1]) * len(g)
    keep = expected > 20
    chi2 = float((((counts[keep] - expected[keep]) ** 2) / expected[keep]).sum())
    return stats.chi2.sf(chi2, keep.sum())


def smoothed_marginal(spec, x, h, f, zeros=()):
    """The density of f(x) + ε, ε ~ N(0, h²), by its own 1-D Fourier inversion: Φ(t) = ψ(σ_b t)·C₁(t)^N·e^{−h²t²/2},
    C₁(t) = ∫ p_z(z) ψ(s t φ(z)) dz with p_z the laplace, uniform or student-t pre-activation density, each C₁ by
    adaptive quadrature split at z = 0, at `zeros` (of φ) and at the uniform trapezoid's corners, out to 50 sd of z
    (student-t: to ±∞, the tails by QUADPACK's infinite-range rule), the t-integral by composite Gauss–Legendre up
    to where the smoothing ends Φ."""
    phi = get_activation(spec.activation).numpy_fn
    s, n = spec.sigma_w / math.sqrt(spec.width), spec.width
    psi = lambda v: float(characteristic_function(spec.prior, v, spec.prior_dof))   # noqa: E731
    a, b = abs(spec.sigma_w * x), spec.sigma_b
    if spec.prior == "uniform":
        cuts = [SQRT3 * abs(a - b), SQRT3 * (a + b)]
    else:
        cuts = [50 * math.hypot(a, b)]
    cuts = sorted({-c for c in cuts} | {0.0} | set(cuts) | {z for z in zeros if abs(z) < max(cuts)})
    if spec.prior == "student-t":
        cuts = [-math.inf] + cuts + [math.inf]

    def c1(t):
        def g(z):
            return float(preactivation_density(spec, x, np.array([z]))[0]) * psi(s * t * float(phi(np.array(z), 0.0)))

        return sum(integrate.quad(g, p, q, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
                   for p, q in zip(cuts[:-1], cuts[1:]) if q > p)

    return smoothed_inversion(c1, psi, spec.sigma_b, n, h, f)


def smoothed_inversion(c1, psi, sigma_b: float, n: int, h: float, f: np.ndarray) -> np.ndarray:
    """(1/π)∫₀^∞ ψ(σ_b t)·C₁(t)^N·e^{−h²t²/2} cos(tf) dt by composite Gauss–Legendre (40 pieces of 16 nodes) up to
    where the smoothing has ended the integrand (1e-14)."""
    t_max = math.sqrt(2 * math.log(1e14)) / h
    edges = np.linspace(0.0, t_max, 41)
    g, gw = np.polynomial.legendre.leggauss(16)
    half = 0.5 * np.diff(edges)
    t = ((0.5 * (edges[1:] + edges[:-1]))[:, None] + half[:, None] * g).ravel()
    wt = (half[:, None] * gw).ravel()
    big_phi = np.array([psi(sigma_b * ti) * c1(ti) ** n for ti in t]) * np.exp(-0.5 * (h * t) ** 2)
    return np.cos(np.outer(f, t)) @ (wt * big_phi) / math.pi


def smoothed_f_space(spec, x, h, pts, singular):
    """An all-f-space density convolved with N(0, h²) at `pts`: composite Gauss–Legendre (test_density_relu_priors'
    rule) split at the `singular` points, the law evaluated in one call."""
    from nnqft_engine.theory.density import fourier_part
    from test_density_relu_priors import _smoothing_rule
    part = fourier_part(spec, x)
    assert len(part.weights) == 1 and part.f_space is not None   # nothing inverted
    rules = [_smoothing_rule(pt - 10 * h, pt + 10 * h, list(singular), h / 8) for pt in pts]
    p = part.f_space(np.concatenate([f for f, _ in rules]))
    out, start = [], 0
    for pt, (f, w) in zip(pts, rules):
        kernel = np.exp(-0.5 * ((f - pt) / h) ** 2) / (math.sqrt(2 * math.pi) * h)
        out.append(w @ (p[start:start + len(f)] * kernel))
        start += len(f)
    return np.array(out)


def nested_cf(activation, sig, s, t1, t2):
    """E[exp(−s²(t₁φ(z₁) + t₂φ(z₂))²/2)], z ~ N(0, Σ), by nested adaptive quadrature: outer over z_o, inner over
    z_i | z_o split at the ridge t·φ(z) = 0 and ±5 of its widths (found by bisection, not by φ⁻¹). Checked
    itself against a brute-force 2-D composite Gauss–Legendre rule (silu, σ_w = 3, σ_b = 1, r = 3: 1e-15)."""
    phi = get_activation(activation).numpy_fn
    i, o = (0, 1) if abs(t1) >= abs(t2) else (1, 0)
    a, b = (t1, t2) if i == 0 else (t2, t1)
    sd_o = math.sqrt(sig[o, o])
    m = sig[i, o] / sig[o, o]
    tau = math.sqrt(sig[i, i] - sig[i, o] ** 2 / sig[o, o])

    def inner(zo):
        c = b * float(phi(np.array(zo), 0.0))
        lo, hi = m * zo - 12 * tau, m * zo + 12 * tau

        def f(zi):
            v = s * (a * float(phi(np.array(zi), 0.0)) + c)
            return math.exp(-0.5 * v * v - 0.5 * ((zi - m * zo) / tau) ** 2) / (tau * math.sqrt(2 * math.pi))

        # The ridge a·φ(z_i) + c = 0: every sign change on a fine grid (gelu/silu: up to two roots), refined by
        # bisection, split there and ±5 ridge widths away.
        zz = np.linspace(lo, hi, 4001)
        g = a * phi(zz, 0.0) + c
        pieces = [lo, hi]
        for k in np.nonzero(np.sign(g[:-1]) != np.sign(g[1:]))[0]:
            x0, x1 = zz[k], zz[k + 1]
            for _ in range(100):
                mid = 0.5 * (x0 + x1)
                if (a * float(phi(np.array(mid), 0.0)) + c) * g[k] > 0:
                    x0 = mid
                else:
                    x1 = mid
            root = 0.5 * (x0 + x1)
            slope = abs(a) * abs(float(phi(np.array(root + 1e-6), 0.0)) - float(phi(np.array(root - 1e-6), 0.0))) / 2e-6
            width = 1.0 / (s * max(slope, 1e-3))
            pieces += [p for p in (root - 5 * width, root, root + 5 * width) if lo < p < hi]
        pieces = sorted(set(pieces))
        return sum(integrate.quad(f, p, q, epsabs=1e-15, epsrel=1e-13, limit=400)[0]
                   for p, q in zip(pieces[:-1], pieces[1:]))

    def outer(zo):
        return inner(zo) * math.exp(-0.5 * (zo / sd_o) ** 2) / (sd_o * math.sqrt(2 * math.pi))

    edges = np.linspace(-10 * sd_o, 10 * sd_o, 81)
    return sum(integrate.quad(outer, p, q, epsabs=1e-15, epsrel=1e-13, limit=200)[0]
               for p, q in zip(edges[:-1], edges[1:]))


def nested_uniform_cf(activation, x, sw, sb, s, t1, t2):
    """E_{w,b}[ψ(s(t₁φ(wx₁ + b) + t₂φ(wx₂ + b)))], ψ(v) = sin(√3v)/(√3v), w and b uniform with standard deviations
    σ_w, σ_b, by nested adaptive quadrature over the rectangle: outer over w in 40 pieces, inner over b split at
    every root of the ridge t·φ = 0 (bracketed on a grid)."""
    phi = get_activation(activation).numpy_fn
    hw, hb = math.sqrt(3) * sw, math.sqrt(3) * sb

    def inner(w):
        def f(b):
            v = math.sqrt(3) * s * (t1 * float(phi(np.array(w * x[0] + b), 0.0))
                                    + t2 * float(phi(np.array(w * x[1] + b), 0.0)))
            return (1.0 if v == 0 else math.sin(v) / v) / (2 * hb)

        bb = np.linspace(-hb, hb, 4001)
        g = t1 * phi(w * x[0] + bb, 0.0) + t2 * phi(w * x[1] + bb, 0.0)
        pts = [-hb, hb]
        for k in np.nonzero(np.sign(g[:-1]) != np.sign(g[1:]))[0]:
            pts.append(bb[k] - g[k] * (bb[k + 1] - bb[k]) / (g[k + 1] - g[k]))
        pts = sorted(set(pts))
        return sum(integrate.quad(f, p, q, epsabs=1e-14, epsrel=1e-12, limit=400)[0]
                   for p, q in zip(pts[:-1], pts[1:]))

    edges = np.linspace(-hw, hw, 41)
    return sum(integrate.quad(lambda w: inner(w) / (2 * hw), p, q, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
               for p, q in zip(edges[:-1], edges[1:]))


def nested_laplace_cf(activation, x, sw, sb, s, t1, t2):
    """E_{w,b}[ψ(s(t₁φ(wx₁ + b) + t₂φ(wx₂ + b)))], ψ(v) = 1/(1 + v²/2), w and b laplace with standard deviations
    σ_w, σ_b, by nested adaptive quadrature: outer over w (split at its kink 0, geometric pieces out to 40 scale
    lengths), inner over b split at its kink 0 and at every root of the ridge t·φ = 0 (bracketed on a grid)."""
    phi = get_activation(activation).numpy_fn
    lw, lb = sw / math.sqrt(2), sb / math.sqrt(2)

    def inner(w):
        def f(b):
            v = s * (t1 * float(phi(np.array(w * x[0] + b), 0.0)) + t2 * float(phi(np.array(w * x[1] + b), 0.0)))
            return math.exp(-abs(b) / lb) / (2 * lb) / (1 + 0.5 * v * v)

        pts = ridge_splits(phi, w, x, t1, t2, 40 * lb)
        return sum(integrate.quad(f, p, q, epsabs=1e-14, epsrel=1e-12, limit=400)[0]
                   for p, q in zip(pts[:-1], pts[1:]))

    half = np.geomspace(1e-3, 40 * lw, 40)
    edges = np.concatenate([-half[::-1], [0.0], half])
    return sum(integrate.quad(lambda w: inner(w) * math.exp(-abs(w) / lw) / (2 * lw), p, q, epsabs=1e-14,
                              epsrel=1e-12, limit=200)[0] for p, q in zip(edges[:-1], edges[1:]))


def assert_ray_matches_nested(ray_class, nested, activation, x, sw, sb, n, theta, radii,
                              tols=((True, 1e-10), (False, 3e-9))):
    """One neuron's C on a ray, both rules (precise, fast), against the nested adaptive quadrature `nested`."""
    s = sw / math.sqrt(n)
    want = np.array([nested(activation, x, sw, sb, s, r * math.cos(theta), r * math.sin(theta)) for r in radii])
    for precise, tol in tols:
        ray = ray_class(activation, x, sw, sb, s, theta, 30.0, precise=precise)
        np.testing.assert_allclose(ray(np.array(radii)), want, rtol=0, atol=tol)


def assert_marginal_is_the_1d_density(spec, x, span_sd, zeros, mass_tol=1e-6, every=10):
    """joint_density at x on ±span_sd sd holds mass 1 (within mass_tol), no clipped ringing above 1e-7, and its f(x₂)
    marginal = the independent 1-D inversion ⊛ the same Gaussian (`smoothed_marginal`) within 1e-6 of its peak, at
    every `every`-th grid point."""
    d = joint_density(spec, *x, span_sd=span_sd, points=161)
    assert abs(d.p.sum() * (d.f1[1] - d.f1[0]) * (d.f2[1] - d.f2[0]) - 1.0) < mass_tol
    assert np.all(d.p >= 0) and d.clipped_mass < 1e-7
    marg = d.p.sum(axis=0) * (d.f1[1] - d.f1[0])
    want = smoothed_marginal(spec, x[1], d.smooth[1], d.f2[::every], zeros=zeros)
    np.testing.assert_allclose(marg[::every], want, rtol=0, atol=1e-6 * marg.max())
