"""The `kernel`, `sample` and `bench` commands: documented JSON keys and shapes; bad input → exit 2 and one
line on stderr, never a traceback. A few calls go through a real subprocess; the rest through main()."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from nnqft_engine import NetworkSpec
from nnqft_engine.cli.main import main
from nnqft_engine.theory.kernels import kernels

SAMPLE_KEYS = {"x", "n", "mean", "g2", "g2_err", "g4c_diag", "g4c_diag_err", "g4c_pair", "g4c_pair_err",
               "kurtosis", "kurtosis_err"}


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_kernel_subprocess_prints_documented_json():
    proc = subprocess.run([sys.executable, "-m", "nnqft_engine", "kernel", "--activation", "relu", "--depth", "2",
                           "--sigma-w", "1.5", "--sigma-b", "0.1", "--parameterization", "standard",
                           "--width", "64", "--x=-1,0,0.5"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == ""
    out = json.loads(proc.stdout)
    assert set(out) == {"x", "nngp", "ntk", "warnings", "threads"} and out["x"] == [-1.0, 0.0, 0.5]
    assert out["warnings"] == []   # closed forms: nothing to say about accuracy
    ref = kernels(NetworkSpec(depth=2, activation="relu", sigma_w=1.5, sigma_b=0.1, parameterization="standard",
                              width=64), [-1.0, 0.0, 0.5])
    np.testing.assert_allclose(out["nngp"], ref.nngp, rtol=1e-12)
    np.testing.assert_allclose(out["ntk"], ref.ntk, rtol=1e-12)


@pytest.mark.slow
def test_sample_subprocess_keys_shapes_and_determinism():
    argv = [sys.executable, "-m", "nnqft_engine", "sample", "--activation", "tanh", "--width", "32",
            "--ensemble", "500", "--seed", "3", "--device", "cpu", "--x", "0,1;1,0;0.5,0.5"]
    runs = [subprocess.run(argv, capture_output=True, text=True, timeout=120) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs)
    out = json.loads(runs[0].stdout)
    assert SAMPLE_KEYS <= set(out) and out["n"] == 500  # g6c_diag(_err) may ride along
    assert np.shape(out["x"]) == (3, 2)
    for key in ("mean", "g4c_diag", "g4c_diag_err", "kurtosis", "kurtosis_err"):
        assert np.shape(out[key]) == (3,), key
    for key in ("g2", "g2_err", "g4c_pair", "g4c_pair_err"):
        assert np.shape(out[key]) == (3, 3), key
    assert runs[0].stdout == runs[1].stdout


def test_sample_float64_and_priors(capsys):
    code, out, err = _run(capsys, ["sample", "--x=-1,1", "--ensemble", "300", "--dtype", "float64",
                                   "--prior", "student-t", "--prior-dof", "7", "--device", "cpu"])
    assert code == 0 and err == ""
    res = json.loads(out)
    assert res["x"] == [-1.0, 1.0] and np.shape(res["g2"]) == (2, 2)
    assert np.all(np.array(res["g2_err"]) > 0)


@pytest.mark.parametrize("activation,prior,kernel_noted,theory_noted",
                         [("gelu", "student-t", False, False), ("gelu", "laplace", False, False),
                          ("tanh", "student-t", False, False), ("tanh", "laplace", False, False),
                          ("softplus", "student-t-far", True, True),
                          ("relu", "laplace", False, False)])
def test_kernel_states_where_the_first_layer_is_not_exact(capsys, activation, prior, kernel_noted, theory_noted):
    # d = 2: relu has split rules (1e-9); under laplace tanh's pair moments all come from the pair's characteristic
    # function, gelu's NNGP/NTK and G2 too, its G4c/G6c (three live parameters) from the spherical rule; under
    # student-t the spherical rule (gelu: relu's scale mixture plus the remainder on it) for a few points within
    # its reach, the tensor rule beyond (docs/physics.md §4.2).
    xs = "0,1;1,0.5"
    if prior == "student-t-far":
        prior, xs = "student-t", "0,10;10,5"
    code, out, err = _run(capsys, ["kernel", "--activation", activation, "--prior", prior, "--x", xs])
    assert code == 0 and err == ""
    warnings = json.loads(out)["warnings"]
    assert (len(warnings) == 1 and "1e-9" in warnings[0] and activation in warnings[0]) if kernel_noted \
        else warnings == []
    code, out, err = _run(capsys, ["theory", "--activation", activation, "--prior", prior, "--width", "4",
                                   "--x", xs])
    warnings = json.loads(out)["warnings"]
    assert code == 0 and any("1e-9" in w for w in warnings) == theory_noted


def test_kernel_multidimensional_points(capsys):
    code, out, _ = _run(capsys, ["kernel", "--x", "0,1;1,0", "--activation", "gelu"])
    assert code == 0
    res = json.loads(out)
    assert res["x"] == [[0.0, 1.0], [1.0, 0.0]] and np.shape(res["ntk"]) == (2, 2)


@pytest.mark.parametrize("argv", [
    ["kernel", "--x", "1", "--width", "-5"],
    ["kernel", "--x", "1", "--width", "abc"],
    ["kernel", "--x", "1", "--activation", "swish2"],
    ["kernel", "--x", "1", "--sigma-w", "-1"],
    ["kernel", "--x", "1", "--sigma-b", "-0.1"],
    ["kernel", "--x", "1", "--depth", "0"],
    ["kernel", "--x", "1", "--parameterization", "mup"],
    ["kernel", "--x", "1", "--prior", "cauchy"],
    ["kernel", "--x", "1,a,2"],
    ["kernel", "--x", "1,2;3"],
    ["kernel", "--x", ""],
    ["kernel", "--x", "1,inf"],
    ["kernel"],
    ["kernel", "--x", "1", "--bogus"],
    ["sample", "--x", "1", "--ensemble", "0"],
    ["sample", "--x", "1", "--ensemble", "-3"],
    ["sample", "--x", "1", "--device", "tpu"],
    ["sample", "--x", "1", "--dtype", "float16"],
    ["sample", "--x", "1", "--seed", "-1"],
    ["sample", "--x", "1", "--prior", "student-t", "--prior-dof", "3"],
    ["sample", "--x", "1", "--memory-mb", "0"],
    ["bench", "--repeats", "0"],
    ["nonsense"],
])
def test_bad_input_exits_2_with_one_line(capsys, argv):
    code, out, err = _run(capsys, argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


@pytest.mark.parametrize("argv", [["kernel", "--x", "1", "--width", "-5"], ["sample", "--x", "1", "--device", "gpu"],
                                  ["sample", "--x", "1;2,3"]])
@pytest.mark.slow
def test_bad_input_in_a_real_process(argv):
    proc = subprocess.run([sys.executable, "-m", "nnqft_engine", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_unavailable_accelerator_is_a_user_error(capsys):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, _, err = _run(capsys, ["sample", "--x", "1", "--device", "cuda", "--ensemble", "10"])
    assert code == 2 and "CUDA" in err and len(err.strip().splitlines()) == 1


def test_bench_json_has_the_documented_keys(capsys, monkeypatch):
    import nnqft_engine.bench as bench
    small = bench.run_benchmarks
    monkeypatch.setattr("nnqft_engine.cli.bench.run_benchmarks",
                        lambda **kw: small(repeats=1, ensemble=16, kernel_points=50, extras=False))
    code, out, _ = _run(capsys, ["bench", "--json"])
    assert code == 0
    res = json.loads(out)
    for name in ("erf", "relu"):
        for key in ("ensemble_evals_per_s", "activation_evals_per_s", "reference_evals_per_s",
                    "ratio_to_activation_limit", "reference_ratio_to_activation_limit", "ratio_without_rng"):
            assert res[f"{name}_{key}"] > 0
    assert res["kernels_ms"] > 0 and res["width"] == 1024 and res["points"] == 16
    code, out, err = _run(capsys, ["bench", "--table"])   # stdout stays one JSON object; the table on stderr
    assert code == 0 and json.loads(out)["threads"] >= 1 and "kernels" in err and "{" not in err.splitlines()[0]


def test_bench_table_shows_every_section_without_raw_dicts():
    from nnqft_engine.cli.bench import _table
    row = {"depth": 1, "width": 2, "block": 16384, "sampler_networks_per_s": 1e7,
           "reference_networks_per_s": 3e6, "ratio": 3.33, "measure_networks_per_s": 2e6}
    result = {"threads": 1, "width": 1024, "points": 16, "ensemble": 64, "kernels_ms": 1.0,
              **{f"{n}_{k}": 1.0 for n in ("erf", "relu") for k in (
                  "ensemble_evals_per_s", "reference_evals_per_s", "activation_evals_per_s",
                  "ratio_to_activation_limit", "reference_ratio_to_activation_limit", "ratio_without_rng")},
              "widths": {"activation": "erf", "points": 16, "threads": 1, "device": "cpu", "dtype": "float32",
                         "rows": [row]},
              "theory": {"exact_theory_16pt_erf_s": 8e-5, "density_priors_preset_s": 0.14,
                         "joint_density_priors_preset_s": 0.98, "joint_density_relu_laplace_n2_s": 0.81},
              "flow": {"ensemble": 256, "width": 1024, "n_train": 16, "steps_per_s": 125.0, "speedup_vs_loop": 5.4,
                       "speedup_vs_autograd_loop": 9.1, "speedup_ceiling_vs_loop": 24.0}}
    text = _table(result)
    assert "{" not in text and "'" not in text
    assert "3.33" in text and "erf 0.08 ms" in text and "125 steps/s" in text
    assert "N = 3) 0.14 s, its joint (161²) 0.98 s; relu × laplace N = 2 joint 0.81 s" in text


def test_theory_bench_times_the_exact_densities():
    from nnqft_engine.bench import theory
    res = theory.benchmark(points=4, repeats=1)
    assert {"density_priors_preset_s", "joint_density_priors_preset_s", "joint_density_relu_laplace_n2_s",
            "exact_theory_4pt_erf_s"} <= set(res)
    assert all(math.isfinite(v) and v > 0 for v in res.values())
