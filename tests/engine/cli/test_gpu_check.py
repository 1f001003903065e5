"""`gpu-check` on the CPU: a small smoke run with every documented key, agreeing with exact theory."""
import json

import numpy as np

from nnqft_engine.bench.gpu_check import run_gpu_check
from nnqft_engine.cli.main import main


def test_cpu_report_has_the_keys_and_agrees_with_theory():
    rep = run_gpu_check("cpu")
    for key in ("device", "device_name", "torch", "tf32_default", "tf32_used", "throughput", "theory_agreement",
                "training", "memory", "elapsed_s"):
        assert key in rep, key
    assert rep["device"] == "cpu" and rep["small"]
    assert rep["tf32_used"] == {"matmul_allow_tf32": False, "cudnn_allow_tf32": rep["tf32_used"]["cudnn_allow_tf32"]}
    assert [r["width"] for r in rep["throughput"]][-1] == 4096
    assert all(r["networks_per_s"] > 0 for r in rep["throughput"])
    agree = rep["theory_agreement"]
    for key in ("g2_max_abs_z", "g4c_diag_max_abs_z", "g4c_pair_max_abs_z"):
        assert np.isfinite(agree[key]) and agree[key] < 5.0, agree
    assert rep["training"]["finite"] and rep["training"]["steps_per_s"] > 0
    assert rep["memory"]["peak_rss_mb"] > 0
    json.dumps(rep)


def test_cli_prints_one_json_object(capsys):
    assert main(["gpu-check", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["device"] == "cpu"
    assert main(["gpu-check", "--device", "nope"]) == 2
