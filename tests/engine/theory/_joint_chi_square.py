"""The binned χ² of sampled networks against the exact joint density (shared by the joint-density tests)."""
import numpy as np
from scipy import stats

from nnqft_engine import SampleSettings, sample_outputs
from nnqft_engine.theory.joint_density import joint_density


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
