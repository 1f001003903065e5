"""Memory: 10⁶ networks of width 1000 at 16 points stream through in bounded memory (peak RSS < 1.5 GB).

Runs in a fresh interpreter so the peak belongs to this workload alone; the child's peak resident set comes
from getrusage(RUSAGE_CHILDREN). One thread: a few CPU minutes (slow).
"""
import json
import resource
import subprocess
import sys

import pytest

SCRIPT = """
import json, time, numpy as np, torch
torch.set_num_threads(1)  # on a shared 2-core box, two threads per small tile mostly spin-wait
start = time.process_time()
from nnqft_engine import NetworkSpec, SampleSettings, measure, run_to_completion
spec = NetworkSpec(depth=1, width=1000, activation="erf", sigma_w=1.0, sigma_b=0.1)
x = np.linspace(-2.0, 2.0, 16)
est = run_to_completion(measure(spec, x, SampleSettings(ensemble=10**6, seed=0, device="cpu"),
                                min_yield_networks=10**5))
print(json.dumps({"n": est.n, "finite": bool(np.isfinite(est.g2).all()), "cpu_s": time.process_time() - start}))
"""


@pytest.mark.slow
def test_million_networks_of_width_1000_fit_in_1_5_gb():
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["n"] == 10**6 and out["finite"]
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: kilobytes
    assert peak_kb >= before
    print(f"\n10^6 networks, width 1000, 16 points: peak RSS {peak_kb / 1024:.0f} MB, CPU {out['cpu_s']:.0f} s")
    assert peak_kb * 1024 < 1.5e9, f"peak RSS {peak_kb / 1024:.0f} MB"
