"""`python -m nnqft_engine theory`: JSON matches the engine; bad input exits 2 with one line."""
import json
import subprocess
import sys

import numpy as np
import pytest

from nnqft_engine import NetworkSpec
from nnqft_engine.cli.main import main
from nnqft_engine.theory.finite_width import exact_correlators


def _run(capsys, *argv):
    rc = main(["theory", *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_theory_json_matches_engine(capsys):
    rc, out, err = _run(capsys, "--x=-1,0.5,2", "--width", "7", "--activation", "relu", "--prior", "laplace",
                        "--shared-scale", "0.3")
    assert rc == 0 and err == ""
    data = json.loads(out)
    assert {"x", "g2", "g4c_diag", "g4c_pair", "g6c_diag"} <= set(data)
    spec = NetworkSpec(width=7, activation="relu", prior="laplace", independence="shared-scale",
                       independence_strength=0.3)
    th = exact_correlators(spec, [-1, 0.5, 2])
    assert data["x"] == [-1.0, 0.5, 2.0]
    for key in ("g2", "g4c_diag", "g4c_pair", "g6c_diag"):
        assert np.allclose(data[key], getattr(th, key), rtol=1e-13)


def test_sequential_flag_and_long_form_agree(capsys):
    rc1, out1, _ = _run(capsys, "--x=0.3", "--width", "5", "--sequential", "0.4")
    rc2, out2, _ = _run(capsys, "--x=0.3", "--width", "5", "--independence", "sequential",
                        "--independence-strength", "0.4")
    assert rc1 == rc2 == 0 and json.loads(out1) == json.loads(out2)
    iid = json.loads(_run(capsys, "--x=0.3", "--width", "5")[1])
    assert json.loads(out1)["g4c_diag"] != iid["g4c_diag"]


@pytest.mark.parametrize("argv,needle", [
    (["--x=0.5", "--depth", "2", "--prior", "uniform", "--activation", "relu"], "does not cover relu"),
    (["--x=0.5", "--depth", "2", "--shared-scale", "0.3"], "independent parameters"),
    (["--x=0.5", "--shared-scale", "0.5", "--sequential", "0.2"], "cannot be combined"),
    (["--x=0.5", "--shared-scale", "0.5", "--independence", "sequential"], "conflicts"),
    (["--x=0.5", "--shared-scale", "-1"], "independence strength"),
    (["--x=0.5", "--sequential", "0.5", "--prior", "rademacher"], "continuous prior"),
    (["--x=0.5", "--shared-scale", "abc"], "invalid float"),
    (["--x=a,b"], "cannot parse"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, needle):
    rc, out, err = _run(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and needle in err


def test_sample_accepts_the_same_flags_and_reports_g6c(capsys):
    rc = main(["sample", "--x=0.5", "--width", "3", "--shared-scale", "0.5", "--ensemble", "500"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0 and "g6c_diag" in data and "g6c_diag_err" in data


@pytest.mark.slow
def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "nnqft_engine", "theory", "--x=0.5", "--width", "3"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and json.loads(proc.stdout)["g2"]
