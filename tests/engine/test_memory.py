"""Memory: 10⁶ networks of width 1000 at 16 points stream through in bounded memory (peak RSS < 1.5 GB).

Runs in a fresh interpreter that reports its own peak resident set (VmHWM from /proc/self/status, in MiB) at
the end, so earlier subprocesses of the test session cannot count (RUSAGE_CHILDREN is the max over all of them).
The sampler's memory is set by its chunking, not by time, so a loaded machine changes the CPU time only.
One thread: a few CPU minutes (slow).
"""
import json
import os
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
def peak_mib():
    try:
        with open("/proc/self/status") as fh:
            return next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:")) / 1024   # kB -> MiB
    except (OSError, StopIteration):
        import resource, sys
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return kb / 2**20 if sys.platform == "darwin" else kb / 1024                          # bytes on macOS
print(json.dumps({"n": est.n, "finite": bool(np.isfinite(est.g2).all()), "cpu_s": time.process_time() - start,
                  "peak_mib": peak_mib()}))
"""


LIMIT_MIB = 1430          # 1.5 GB = 1.5e9 bytes ≈ 1430 MiB


@pytest.mark.slow
def test_million_networks_of_width_1000_fit_in_1_5_gb():
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # A generous timeout: on a loaded machine only the wall time grows, never the peak memory.
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=3600, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["n"] == 10**6 and out["finite"]
    print(f"\n10^6 networks, width 1000, 16 points: peak RSS {out['peak_mib']:.0f} MiB, CPU {out['cpu_s']:.0f} s")
    assert out["peak_mib"] < LIMIT_MIB, f"peak RSS {out['peak_mib']:.0f} MiB, limit {LIMIT_MIB} MiB"
