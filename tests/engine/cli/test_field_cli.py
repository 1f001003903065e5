"""`python -m nnqft_engine field`: JSON keys and shapes, agreement with the engine, one-line errors."""
import json
import subprocess
import sys

import numpy as np
import pytest

from nnqft_engine.cli.main import main
from nnqft_engine.field import FieldSpec, propagator, tree_g4c_pair

BASE = ["--dim", "1", "--mass", "1", "--cutoff", "3", "--box", "3", "--lam", "0.5", "--alpha", "0", "--width", "20",
        "--ensemble", "256", "--seed", "1"]


def _cli(*args):
    """The real entry point in a fresh interpreter (used once: torch's import costs seconds)."""
    return subprocess.run([sys.executable, "-m", "nnqft_engine", "field", *args], capture_output=True, text=True,
                          timeout=300)


def _main(capsys, *args):
    """The same dispatcher in-process: (exit status, stdout, stderr)."""
    code = main(["field", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("sampler", ["reweight", "mcmc"])
def test_field_cli_prints_the_documented_json(sampler, capsys):
    code, stdout, stderr = _main(capsys, *BASE, "--x=-0.5,0,1", "--sampler", sampler, "--chains", "16",
                                 "--burn-in", "5")
    assert code == 0, stderr
    out = json.loads(stdout)
    for key in ("x", "propagator", "tree_g4c_pair", "g2", "g2_err", "g4c_pair", "g4c_pair_err", "ess"):
        assert key in out
    assert out["x"] == [-0.5, 0.0, 1.0]
    spec = FieldSpec(dim=1, mass=1.0, cutoff=3.0, box=3.0, lam=0.5, alpha=0.0, width=20)
    x = np.array([-0.5, 0.0, 1.0])
    np.testing.assert_allclose(out["propagator"], propagator(1, 1.0, 3.0, np.abs(x[:, None] - x[None, :])),
                               rtol=1e-12)
    np.testing.assert_allclose(out["tree_g4c_pair"], tree_g4c_pair(spec, x), rtol=1e-12)
    assert np.array(out["g2"]).shape == (3, 3) and np.all(np.array(out["g2_err"]) > 0)
    assert 0 < out["ess"] <= 256 + 16


def test_field_cli_two_dimensional_points(capsys):
    code, stdout, stderr = _main(capsys, "--dim", "2", "--cutoff", "2", "--box", "2", "--width", "10",
                                 "--ensemble", "64", "--x", "0,0;0.5,1")
    assert code == 0, stderr
    assert json.loads(stdout)["x"] == [[0.0, 0.0], [0.5, 1.0]]


@pytest.mark.parametrize("args, word", [
    (["--mass", "0", "--x", "0"], "mass"),
    (["--dim", "2", "--x", "0,1"], "--dim"),
    (["--sampler", "gibbs", "--x", "0"], "sampler"),
    (["--lam", "-1", "--x", "0"], "lambda"),
    (["--x", "a,b"], "parse"),
    (["--width", "many", "--x", "0"], "width"),
])
def test_field_cli_bad_values_exit_2_with_one_line(args, word, capsys):
    code, stdout, stderr = _main(capsys, *args)
    assert code == 2 and stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and word in lines[0] and "Traceback" not in stderr


@pytest.mark.slow
def test_field_cli_bad_value_in_a_fresh_interpreter_exits_2():
    res = _cli("--box", "-3", "--x", "0")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip().count("\n") == 0 and "box" in res.stderr
