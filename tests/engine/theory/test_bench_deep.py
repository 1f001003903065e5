"""bench/deep.py: the deep-theory and phase-diagram latency figures (shape of the report, not the timings)."""
import math

from nnqft_engine.bench import deep


def test_deep_benchmark_reports_every_activation_against_its_targets():
    res = deep.benchmark(activations=("relu", "tanh"), points=6, depth=2, grid=(7, 5), repeats=1)
    assert res["targets_s"] == {"deep": 0.5, "phase_diagram": 1.0}
    assert res["points"] == 6 and res["depth"] == 2 and res["grid"] == [7, 5]
    assert [r["activation"] for r in res["rows"]] == ["relu", "tanh"]
    for r in res["rows"]:
        for key, target in (("full", 0.5), ("row", 0.5), ("phase_diagram", 1.0)):
            assert 0 < r[f"{key}_s"] < math.inf
            assert math.isclose(r[f"{key}_ratio"], r[f"{key}_s"] / target)
    text = deep.table(res)
    assert "tanh" in text and "relu" in text and "load average" in text
