"""CLI fuzz: bad and extreme inputs to every registered command end in exit 0 with one finite-parsable JSON object
on stdout, or exit 2 with exactly one line on stderr; never a traceback, a hang or a memory blow-up.

Cheap cases (refused while parsing or costing, or tiny) run in-process through main(argv); the heavy-looking
ones run together in subprocesses under RLIMIT_AS and a 30 s timeout, each one's peak RSS read from wait4.
"""
import json
import math
import os
import subprocess
import sys
import time

import pytest

try:
    import resource
except ImportError:        # Windows: the cheap cases still run; the bounded-subprocess ones skip
    resource = None

from nnqft_engine.cli.main import COMMANDS, main

X = "--x=-1,0,1"

# -- cheap: in-process ----------------------------------------------------------------------------------------------
BAD_NETWORK = [
    ["--sigma-w", "1e200"], ["--sigma-w", "1e160"], ["--sigma-w", "-1"], ["--sigma-w", "nan"], ["--sigma-w", "inf"],
    ["--sigma-b", "1e300"], ["--sigma-b", "-0.1"], ["--depth", "0"], ["--depth", "7"], ["--depth", "1.5"],
    ["--width", "0"], ["--width", "-5"], ["--width", "10000000"], ["--activation", "swish"], ["--prior", "cauchy"],
    ["--prior", "student-t", "--prior-dof", "4"], ["--prior", "student-t", "--prior-dof", "nan"],
    ["--parameterization", "mup"], ["--independence", "magic"], ["--shared-scale", "-1"],
    ["--shared-scale", "0.5", "--sequential", "0.5"], ["--independence-strength", "1e300"],
    ["--memory-mb", "0"], ["--memory-mb", "1e15"], ["--memory-mb", "nan"],
]
BAD_POINTS = ["--x=", "--x=1,,a", "--x=1e7", "--x=-1e300", "--x=nan", "--x=inf", "--x=0,1;2", "--x=;;"]
EXTREME_OK = [  # finite answers (or "inf" where the true answer is infinite)
    ["--prior", "student-t", "--prior-dof", "4.01"], ["--sigma-w", "1e6", "--depth", "6"], ["--sigma-w", "0",
    "--sigma-b", "0"], ["--x=1e6,-1e6"], ["--activation", "gauss-net", "--prior", "student-t", "--prior-dof", "4.5"],
    ["--activation", "relu", "--depth", "6", "--sigma-w", "1e3"], ["--activation", "sin", "--sigma-w", "1e6"],
]

CHEAP = []
for command in ("kernel", "theory"):
    CHEAP += [[command, X, *flags] for flags in BAD_NETWORK + EXTREME_OK]
    CHEAP += [[command, pts] for pts in BAD_POINTS]
CHEAP += [["sample", X, "--ensemble", "50", *flags] for flags in BAD_NETWORK + EXTREME_OK]
CHEAP += [["sample", X, *flags] for flags in (["--ensemble", "0"], ["--ensemble", "-3"], ["--seed", "-1"],
                                              ["--dtype", "float16"], ["--device", "tpu"],
                                              ["--width", "100000", "--depth", "2", "--ensemble", "1"],
                                              ["--width", "1000000", "--depth", "6", "--ensemble", "1000000000"],
                                              ["--ensemble", "1000000000"])]
CHEAP += [["flow", *flags] for flags in (
    ["--lr", "0"], ["--lr", "-1"], ["--lr", "nan"], ["--lr", "1e-300", "--ensemble", "4"],
    ["--times", "0,1e300", "--ensemble", "4"], ["--times", "-1"], ["--times", "a,b"], ["--times", ""],
    ["--times", "0,inf"], ["--times", "0,1e300"], ["--n-train", "4096"], ["--n-train", "0"], ["--data", "moon"],
    ["--mode", "lazy"], ["--ensemble", "-1"], ["--depth", "2", "--width", "100000", "--ensemble", "1"],
    ["--sigma-w", "0", "--sigma-b", "0", "--ensemble", "2", "--width", "8", "--times", "0,1"],
    ["--train-x=0,1", "--train-y=1"], ["--train-y=1"], ["--train-x=0,1", "--train-y=0,nan"],
    ["--diag-reg", "1", "--ensemble", "2"], ["--step-growth", "5", "--ensemble", "2"],
    ["--lr", "10", "--ensemble", "2", "--width", "8", "--times", "0,0.5"], ["--sigma-w", "1e200"],
)]
CHEAP += [["field", *flags] for flags in (
    ["--x", "1e7"], ["--x", "1e4"], ["--x", "1e6"], ["--x", "1e5"], ["--x", "1000", "--ensemble", "10"],
    ["--dim", "3", "--cutoff", "4", "--box", "6", "--width", "2000", "--x", "0,0,0;1,0,0"],
    ["--dim", "4", "--x", "0"], ["--dim", "2", "--x", "0,1"], ["--mass", "0", "--x", "0"], ["--mass", "-1", "--x", "0"],
    ["--cutoff", "1e9", "--x", "0"], ["--box", "1e9", "--x", "0"], ["--lam", "-1", "--x", "0"],
    ["--alpha", "10", "--x", "0"], ["--width", "0", "--x", "0"], ["--sampler", "hmc", "--x", "0"],
    ["--chains", "0", "--x", "0"], ["--burn-in", "-1", "--x", "0"], ["--ensemble", "0", "--x", "0"],
    ["--x", ",".join(["0"] * 65)], ["--ensemble", "1000000000", "--x", "0"],
    ["--sampler", "mcmc", "--chains", "1", "--ensemble", "1000000000", "--x", "0"],
    ["--x", "0,1", "--ensemble", "64", "--width", "20", "--lam", "1e6"],
)]
CHEAP += [["bench", *flags] for flags in (["--repeats", "0"], ["--repeats", "1000000"], ["--ensemble", "0"],
                                          ["--ensemble", "1000000000"], ["--threads", "0"], ["--threads", "100000"],
                                          ["--bogus"])]
CHEAP += [[name, "--bogus-flag"] for name in COMMANDS] + [[name] for name in COMMANDS if name != "bench"]
CHEAP += [["nonsense"], ["kernel", X, "--depth"]]


def _check_outcome(code, out, err, argv):
    if code == 0:
        lines = out.strip().splitlines()
        assert len(lines) == 1, f"{argv}: stdout has {len(lines)} lines"
        obj = json.loads(lines[0], parse_constant=lambda c: pytest.fail(f"{argv}: non-JSON constant {c}"))
        assert isinstance(obj, dict) and isinstance(obj.get("threads"), int), argv

        def finite(v):
            if isinstance(v, float):
                assert math.isfinite(v), argv
            elif isinstance(v, dict):
                [finite(u) for u in v.values()]
            elif isinstance(v, list):
                [finite(u) for u in v]
        finite(obj)
    else:
        assert code == 2, f"{argv}: exit {code}, stderr {err[-500:]}"
        assert out == "", f"{argv}: stdout {out[:200]!r}"
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, f"{argv}: stderr {err!r}"


def test_enough_cases():
    assert len(CHEAP) + len(HEAVY) >= 100
    assert {a[0] for a in CHEAP} >= set(COMMANDS)


@pytest.mark.parametrize("argv", CHEAP, ids=lambda a: " ".join(a)[:60])
def test_cheap_input(capsys, one_torch_thread, argv):
    start = time.perf_counter()
    code = main(argv)
    out, err = capsys.readouterr()
    _check_outcome(code, out, err, argv)
    assert time.perf_counter() - start < 30, argv


# -- heavy-looking: subprocesses, all at once, each under 2 GB of address space and 30 s ----------------------------
HEAVY = [
    ["sample", "--width", "100000", "--depth", "2", "--ensemble", "1", X],
    ["flow", "--depth", "2", "--width", "100000", "--ensemble", "1"],
    ["flow", "--n-train", "4096"],
    ["field", "--x", "1e7"],
    ["kernel", "--activation", "tanh", "--x=" + ",".join(str(i / 1000) for i in range(1500))],
    ["flow", "--sigma-w", "0", "--sigma-b", "0", "--ensemble", "4", "--width", "16"],
]
LIMIT_BYTES = 2 << 30


def _limit():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES + (1 << 30), LIMIT_BYTES + (1 << 30)))


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and wait4 as on Linux")
def test_heavy_inputs_in_bounded_subprocesses():
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs = [(argv, subprocess.Popen([sys.executable, "-m", "nnqft_engine", *argv], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, preexec_fn=_limit, env=env))  # noqa: PLW1509
             for argv in HEAVY]
    deadline = time.monotonic() + 30 + 10 * len(HEAVY) / max(1, os.cpu_count() or 1)
    for argv, proc in procs:
        try:
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail(f"{argv} ran past 30 s")
        _check_outcome(proc.returncode, out, err, argv)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and wait4 as on Linux")
def test_peak_memory_of_a_refused_giant_stays_small():
    argv = [sys.executable, "-m", "nnqft_engine", "sample", "--width", "1000000", "--depth", "3", "--ensemble", "1", X]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_limit)  # noqa: PLW1509
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 2
    assert usage.ru_maxrss * 1024 < LIMIT_BYTES
