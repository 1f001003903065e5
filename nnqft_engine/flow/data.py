"""Built-in 1-D training sets for the gradient-flow demonstrations: x in [−1, 1]."""
from __future__ import annotations

import numpy as np

from ..devices import derived_seed
from ..spec import SpecError

DATASETS = ("sin", "step", "abs", "noisy")
MAX_POINTS = 4096


def dataset(name: str, n: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(x (n, 1), y (n,)) float64. sin: sin(πx); step: sign(x) (±1, with x = 0 avoided by the grid);
    abs: |x|; noisy: n points at random x with y = sin(πx) + N(0, 0.1²) noise (seeded)."""
    if name not in DATASETS:
        raise SpecError(f"unknown data set {name!r}; choose one of: {', '.join(DATASETS)}")
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= MAX_POINTS:
        raise SpecError(f"number of training points must be an integer between 2 and {MAX_POINTS}, got {n!r}")
    if name == "noisy":
        rng = np.random.default_rng(derived_seed(seed, 4))
        x = np.sort(rng.uniform(-1.0, 1.0, n))
        y = np.sin(np.pi * x) + 0.1 * rng.standard_normal(n)
        return x[:, None], y
    # Cell centres: symmetric about 0 and never exactly 0, so the step has no point on its jump.
    x = -1.0 + (np.arange(n) + 0.5) * (2.0 / n)
    y = {"sin": np.sin(np.pi * x), "step": np.sign(x), "abs": np.abs(x)}[name]
    return x[:, None], y


__all__ = ["dataset", "DATASETS"]
