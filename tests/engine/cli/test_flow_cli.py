"""`python -m nnqft_engine flow`: JSON shape, agreement with the library, and one-line errors (exit 2)."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from nnqft_engine import NetworkSpec
from nnqft_engine.cli.main import main
from nnqft_engine.flow.theory import flow_prediction


def _run(capsys, *argv):
    rc = main(["flow", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_theory_only_matches_library(capsys):
    rc, out, _ = _run(capsys, "--train-x=-0.8,0,0.6", "--train-y=0.2,-0.5,1", "--test-x=-1,0.3",
                      "--times", "0,2.5,inf", "--activation", "relu", "--depth", "2", "--mode", "nngp",
                      "--diag-reg", "0.01")
    assert rc == 0
    data = json.loads(out)
    assert data["times"] == [0.0, 2.5, "inf"] and "empirical" not in data
    ref = flow_prediction(NetworkSpec(activation="relu", depth=2), [-0.8, 0, 0.6], [0.2, -0.5, 1], [-1, 0.3],
                          [0, 2.5, math.inf], 1.0, "nngp", 0.01)
    np.testing.assert_allclose(np.array(data["theory"]["mean"]), ref.mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.array(data["theory"]["cov"]), ref.cov, rtol=1e-12, atol=1e-15)


def test_with_ensemble_reports_empirical_and_drift(capsys):
    rc, out, _ = _run(capsys, "--data", "abs", "--n-train", "5", "--test-x=-0.5,0,0.5", "--times", "0,1,inf",
                      "--width", "32", "--ensemble", "16", "--seed", "3", "--lr", "50", "--dtype", "float64")
    assert rc == 0
    data = json.loads(out)
    emp = data["empirical"]
    assert np.array(emp["mean"][1]).shape == (3,) and emp["mean"][2] is None and data["ntk_drift"][2] is None
    assert data["ntk_drift"][0] == 0.0 and data["ntk_drift"][1] > 0
    assert "clipped" in emp["lr_note"] and emp["steps"][1] >= 1
    assert np.all(np.array(emp["var"][0]) > 0) and np.all(np.array(emp["mean_err"][1]) > 0)


def test_top_level_lr_is_the_rate_in_use(capsys):
    """README: the step is capped at 5% of 2n/λ_max(Θ); a larger --lr is clipped, a smaller one used as given,
    none means the cap. "lr" is the rate in use, "lr_requested" what was asked for."""
    from nnqft_engine import kernels
    base = ["--train-x=-1,0,1", "--train-y=-1,0,1", "--test-x=0", "--times", "0,1", "--activation", "erf",
            "--width", "64", "--ensemble", "0"]
    spec = NetworkSpec(depth=1, width=64, activation="erf")
    cap = 0.05 * 2 * 3 / np.linalg.eigvalsh(kernels(spec, [-1.0, 0.0, 1.0]).ntk)[-1]
    for lr, used, clipped in (("100", cap, True), ("0.001", 0.001, False), (None, cap, False)):
        rc, out, _ = _run(capsys, *base, *(["--lr", lr] if lr else []))
        data = json.loads(out)
        assert rc == 0 and data["lr"] == data["lr_used"] == pytest.approx(used, rel=1e-12)
        assert data["lr_cap"] == pytest.approx(cap, rel=1e-12)
        assert data["lr_requested"] == (float(lr) if lr else None)
        assert ("clipped" in data["lr_note"]) == clipped


@pytest.mark.parametrize("argv, fragment", [
    (["--train-x", "1,2", "--train-y", "1"], "must match"),
    (["--lr", "-1"], "--lr"),
    (["--times", "1,x"], "--times"),
    (["--times", "-2"], "--times"),
    (["--mode", "adam"], "mode"),
    (["--ensemble", "-1"], "--ensemble"),
    (["--data", "cubic"], "data set"),
    (["--width", "0"], "width"),
])
def test_bad_values_exit_2_with_one_line(capsys, argv, fragment):
    rc, out, err = _run(capsys, *argv)
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1 and fragment in err


@pytest.mark.slow
def test_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "nnqft_engine", "flow", "--times", "1", "--test-x", "0"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and json.loads(proc.stdout)["times"] == [1.0]
