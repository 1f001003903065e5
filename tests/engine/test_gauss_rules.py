"""numpy's classical Gauss rules (used to keep scipy.linalg off the app's start-up path) against scipy's."""
import numpy as np
import pytest
from scipy import special

from nnqft_engine.gauss_rules import (
    NUMPY_MAX_NODES,
    hermite_e_rule,
    laguerre_rule,
    legendre_rule,
)


@pytest.mark.parametrize("n", [2, 17, 64, NUMPY_MAX_NODES, NUMPY_MAX_NODES + 1, 320])
def test_rules_match_scipy(n):
    z, w = hermite_e_rule(n)
    zs, ws = special.roots_hermitenorm(n)
    np.testing.assert_allclose(z, zs, rtol=0, atol=1e-12 * max(1.0, np.abs(zs).max()))
    np.testing.assert_allclose(w, ws / ws.sum(), rtol=1e-10, atol=1e-300)
    for mine, ref in ((legendre_rule(n), special.roots_legendre(n)), (laguerre_rule(min(n, 180)),
                                                                         special.roots_laguerre(min(n, 180)))):
        np.testing.assert_allclose(mine[0], ref[0], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(mine[1], ref[1], rtol=1e-9, atol=1e-300)


def test_gaussian_moments_are_exact_and_rules_read_only():
    z, w = hermite_e_rule(40)
    for k, exact in ((0, 1.0), (2, 1.0), (4, 3.0), (8, 105.0), (20, 654729075.0)):
        assert abs(w @ z**k - exact) < 1e-12 * exact
    with pytest.raises(ValueError):
        z[0] = 0.0   # cached and shared by every caller
