"""Caches across widths (theory/finite_width.py, theory/estimator_variance.py): a neuron's moments do not
depend on the width, so they are computed once per spec at width 1 — and the results must be exactly those of
a fresh computation at every width, for every dependence mechanism, whatever was computed before."""
import numpy as np
import pytest

from nnqft_engine import NetworkSpec
from nnqft_engine.theory import finite_width
from nnqft_engine.theory.finite_width import exact_correlators

SPECS = [NetworkSpec(activation="erf", sigma_w=1.5, sigma_b=0.3, width=8),
         NetworkSpec(activation="relu", sigma_w=1.2, sigma_b=0.1, width=8, prior="laplace"),
         NetworkSpec(activation="tanh", sigma_w=1.3, sigma_b=0.2, width=8, independence="shared-scale",
                     independence_strength=0.3),
         NetworkSpec(activation="erf", sigma_w=1.3, sigma_b=0.2, width=8, independence="sequential",
                     independence_strength=0.3)]
X = np.array([[0.3], [0.9], [-0.5]])


def _fresh(spec):
    finite_width._cached_moments.cache_clear()
    return exact_correlators(spec, X)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.activation}-{s.independence}")
def test_cached_moments_give_the_fresh_answer_at_every_width(spec):
    widths = (3, 17, 3, 64)
    fresh = [_fresh(spec.replace(width=n)) for n in widths]
    finite_width._cached_moments.cache_clear()
    cached = [exact_correlators(spec.replace(width=n), X) for n in widths]   # one quadrature, four widths
    assert finite_width._cached_moments.cache_info().misses == 1
    for a, b in zip(fresh, cached):
        for name in ("g2", "g4c_diag", "g4c_pair", "g6c_diag", "kurtosis"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    # iid depth 1: G4c ∝ 1/N exactly (no bias cumulant for the gaussian prior), so the cache cannot have
    # frozen any width into the shared moments.
    if spec.iid and spec.prior == "gaussian":
        np.testing.assert_allclose(cached[0].g4c_diag * 3, cached[1].g4c_diag * 17, rtol=1e-12)


def test_cached_arrays_are_read_only():
    spec = SPECS[0]
    exact_correlators(spec, X)
    nm = finite_width._moments(spec, X)
    with pytest.raises(ValueError):
        nm.h2()[0, 0] = 1.0


def test_the_cache_keeps_only_the_small_arrays():
    # A smooth φ's quadrature has ~5·10⁴ nodes: its per-node values (~25 MB at 61 points) must not be kept.
    spec = SPECS[3]
    x = np.linspace(-3, 3, 61)[:, None]
    kept = finite_width._moments(spec, x)
    assert set(vars(kept)) == {"_a"}
    assert sum(a.nbytes for a in kept._a.values()) <= 6 * 61 * 61 * 8
