"""The app's deep-theory cache (app/deep_theory.py): one recursion per width-free spec and set of points."""
import numpy as np
import pytest

from app import deep_theory
from nnqft_engine.spec import NetworkSpec, SpecError
from nnqft_engine.theory.deep import deep_correlators


def test_widths_share_one_recursion_and_match_the_engine():
    deep_theory.cache_clear()
    spec = NetworkSpec(depth=3, width=64, activation="tanh", sigma_w=1.3, sigma_b=0.2)
    x = np.linspace(-1.5, 1.5, 7)
    rows = {n: deep_theory.deep_row(spec.replace(width=n), x) for n in (64, 256, 64)}
    info = deep_theory._row_recursion.cache_info()
    assert info.misses == 1 and info.hits == 2
    for n, row in rows.items():
        ref = deep_correlators(spec.replace(width=n), x)
        for key in ("nngp", "g2", "g4c_pair"):
            got, want = getattr(row, key), getattr(ref, key)
            assert np.allclose(got[0], want[0], rtol=1e-13, atol=0) and np.allclose(np.diag(got), np.diag(want),
                                                                                     rtol=1e-13, atol=0)
    again = deep_theory.deep_row(spec, x)
    again.g2[0, 0] = 0.0                           # results are the caller's own; the cache is untouched
    assert deep_theory.deep_row(spec, x).g2[0, 0] == rows[64].g2[0, 0]
    st = deep_theory._row_recursion(spec.replace(width=1), np.asarray(x, float)[:, None].tobytes(), (7, 1))
    with pytest.raises(ValueError):
        st.v_pair[0, 0, 0] = 1.0


def test_other_points_or_parameters_miss_and_errors_are_not_cached():
    deep_theory.cache_clear()
    spec = NetworkSpec(depth=2, width=32, activation="erf")
    deep_theory.deep_row(spec, [0.0, 1.0])
    deep_theory.deep_row(spec, [0.0, 1.5])
    deep_theory.deep_row(spec.replace(sigma_w=1.2), [0.0, 1.0])
    assert deep_theory._row_recursion.cache_info().misses == 3
    for _ in range(2):
        with pytest.raises(SpecError, match="kink shifted by a non-Gaussian bias"):
            deep_theory.deep_row(spec.replace(activation="relu", prior="uniform", sigma_b=0.3), [0.0, 1.0])
