"""The CLI's output contract (README, Command line): every command prints exactly one JSON object on stdout and
nothing on stderr when it succeeds; human-readable extras only behind a flag, on stderr."""
import json

import pytest

from nnqft_engine.cli.main import COMMANDS, main

CHEAP = {
    "kernel": ["--activation", "erf", "--x=-1,0.5"],
    "sample": ["--activation", "relu", "--width", "4", "--ensemble", "200", "--seed", "1", "--x=-1,0.5"],
    "theory": ["--activation", "erf", "--width", "8", "--x=-1,0.5"],
    "criticality": ["--activation", "tanh", "--sigma-b", "0.3"],
    "flow": ["--train-x=-1,0,1", "--train-y=-1,0,1", "--test-x=0", "--times", "0,1", "--ensemble", "0"],
    "field": ["--dim", "1", "--width", "16", "--ensemble", "256", "--cutoff", "2", "--box", "2", "--x=0,0.5",
              "--seed", "0"],
    "bench": [],
}


def test_every_command_is_covered():
    assert set(CHEAP) | {"gpu-check"} == set(COMMANDS)      # gpu-check: tests/engine/cli/test_gpu_check.py


SLOW = {"criticality", "theory"}                              # 1.8–4 s each on the loaded 2-core machine


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(CHEAP)])
def test_success_prints_one_json_object_and_nothing_else(name, capsys, monkeypatch, one_torch_thread):
    if name == "bench":                                      # the real bench takes minutes: same code, sized down
        from nnqft_engine import bench
        small = bench.run_benchmarks
        monkeypatch.setattr("nnqft_engine.cli.bench.run_benchmarks",
                            lambda **kw: small(repeats=1, ensemble=16, kernel_points=50, extras=False))
    assert main([name, *CHEAP[name]]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.endswith("\n") and out.count("\n") == 1
    assert isinstance(json.loads(out), dict) and "threads" in json.loads(out)
