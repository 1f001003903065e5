"""Side by side with JAX (issue 15): the sampler's Monte-Carlo NNGP (docs/physics.md §1–2, §3.1) against
neural-tangents' own `monte_carlo_kernel_fn` and a careful `jit(vmap)` JAX ensemble, on the same work.

JAX lives in another Python (it is no dependency of this project): bench/reference_jax.py runs there as a
worker, started with a timeout, and times one run per command, so the two sides alternate run by run and a
load spike hits both alike. Both sides use one thread, on the same pinned core. Besides best-of wall times, each side's process CPU
time is reported: on a shared machine it is the figure least disturbed by other work.

The ceiling is what torch alone needs for the same random numbers and φ evaluations (one randn of every
parameter, φ over every network × neuron × point in cache-sized tiles), with nothing else: it bounds how
far any torch sampler built from these kernels could beat the reference on this machine.
"""
from __future__ import annotations

import json
import math
import os
import queue
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from ..devices import make_generator
from ..sampling.ensemble import iter_outputs, params_per_network
from ..spec import NetworkSpec, SampleSettings
from ..theory.kernels import kernels
from ..threads import torch_threads

JAX_PYTHON_ENV = "NNQFT_JAX_PYTHON"
SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "reference_jax.py"
ACTIVATIONS = ("erf", "relu", "tanh")


class ReferenceUnavailable(Exception):
    """The JAX reference cannot run here (no Python with jax, no script, a crash or a timeout)."""


@dataclass(frozen=True)
class SideBySide:
    """The work both sides do: the MC NNGP of `networks` networks at `points` points in [-2, 2], float32."""

    width: int = 1024
    depth: int = 1
    points: int = 64
    networks: int = 4096
    activation: str = "erf"
    sigma_w: float = 1.0
    sigma_b: float = 0.1
    seed: int = 0
    batch: int = 64          # networks per vmap batch on the JAX side (its fastest of 16, 64, 256 here)
    repeats: int = 3
    timeout_s: float = 900.0

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ReferenceUnavailable(f"the JAX reference knows {', '.join(ACTIVATIONS)}, not {self.activation!r}")
        if min(self.width, self.depth, self.points, self.networks, self.batch, self.repeats) < 1:
            raise ReferenceUnavailable("width, depth, points, networks, batch and repeats must be positive")
        if self.networks % self.batch:
            raise ReferenceUnavailable(f"networks ({self.networks}) must be a multiple of batch ({self.batch})")

    @property
    def spec(self) -> NetworkSpec:
        return NetworkSpec(depth=self.depth, width=self.width, activation=self.activation, sigma_w=self.sigma_w,
                           sigma_b=self.sigma_b)

    @property
    def x(self) -> np.ndarray:
        return np.linspace(-2.0, 2.0, self.points)[:, None]


def resolve_python(explicit: str | None = None) -> str:
    """The Python that has jax: `explicit`, else $NNQFT_JAX_PYTHON; a clear error when neither is usable."""
    path = explicit or os.environ.get(JAX_PYTHON_ENV, "")
    if not path:
        raise ReferenceUnavailable(f"no Python with jax given: pass --jax-python PATH or set {JAX_PYTHON_ENV} "
                                   "(e.g. a venv with `pip install jax neural-tangents`)")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ReferenceUnavailable(f"the JAX Python {path!r} is not an executable file")
    return path


class Worker:
    """bench/reference_jax.py in a subprocess: one JSON line per command, each read within the timeout."""

    def __init__(self, python: str, work: SideBySide, script: Path = SCRIPT, core: int | None = None) -> None:
        if not script.is_file():
            raise ReferenceUnavailable(f"the JAX reference script {script} is missing (it ships with a source "
                                       "checkout, not with an installed package)")
        self.timeout_s = work.timeout_s
        cfg = {k: v for k, v in asdict(work).items() if k not in ("repeats", "timeout_s")} | {"core": core}
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self._proc = subprocess.Popen([python, str(script), json.dumps(cfg)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._stderr, text=True, bufsize=1)
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.info = self._read("start")
        if "error" in self.info:
            self.close()
            raise ReferenceUnavailable(self.info["error"])

    def _pump(self) -> None:
        for line in self._proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _read(self, what: str) -> dict:
        try:
            line = self._lines.get(timeout=self.timeout_s)
        except queue.Empty:
            self.close(kill=True)
            raise ReferenceUnavailable(f"the JAX reference timed out after {self.timeout_s:g} s ({what})") from None
        if line is None:
            tail = self._stderr_tail()
            self.close()
            raise ReferenceUnavailable(f"the JAX reference exited during {what}: {tail}")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            self.close()
            raise ReferenceUnavailable(f"the JAX reference answered {line.strip()[:200]!r} to {what}") from None
        if not isinstance(obj, dict):
            raise ReferenceUnavailable(f"the JAX reference answered {obj!r} to {what}")
        return obj

    def ask(self, command: str) -> dict:
        try:
            self._proc.stdin.write(command + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            tail = self._stderr_tail()
            self.close()
            raise ReferenceUnavailable(f"the JAX reference exited before {command!r}: {tail}") from None
        reply = self._read(command)
        if "error" in reply:
            raise ReferenceUnavailable(f"the JAX reference failed on {command!r}: {reply['error']}")
        return reply

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        lines = [ln for ln in self._stderr.read().splitlines() if ln.strip()]
        return " | ".join(lines[-3:])[-600:] or "no message"

    def close(self, kill: bool = False) -> None:
        if self._proc.poll() is None and kill:
            self._proc.kill()
            self._proc.wait()
        if self._proc.poll() is None:
            try:
                self._proc.stdin.write("quit\n")
                self._proc.stdin.flush()
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        if not self._stderr.closed:
            self._stderr.close()


def torch_nngp(work: SideBySide) -> np.ndarray:
    """The sampler's MC NNGP: mean of f(x) f(x')ᵀ over `networks` networks, float32 like the JAX side."""
    settings = SampleSettings(ensemble=work.networks, seed=work.seed, device="cpu", dtype="float32")
    k = torch.zeros(work.points, work.points)
    for chunk in iter_outputs(work.spec, work.x, settings):
        k.addmm_(chunk.values.T, chunk.values)
    return (k / work.networks).double().numpy()


def ceiling_run(work: SideBySide) -> None:
    """The same random numbers and φ evaluations as the sampler, and nothing else."""
    act = {"erf": torch.erf_, "relu": torch.relu_, "tanh": torch.tanh_}[work.activation]
    gen = make_generator(work.seed, torch.device("cpu"))
    tile = max(1, (1 << 17) // (work.points * work.width))
    z = torch.randn(tile * work.width * work.points, generator=gen)
    per_block = 256
    for m0 in range(0, work.networks, per_block):
        torch.randn((min(per_block, work.networks - m0), params_per_network(work.spec)), generator=gen)
    for _ in range(-(-work.networks * work.depth // tile)):
        act(z)


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _z_max(k: np.ndarray, theory: np.ndarray, se: np.ndarray) -> float:
    """Largest |K̂ − K| / standard error over the upper triangle (diagonal included)."""
    iu = np.triu_indices(len(k))
    return float(np.max(np.abs(k - theory)[iu] / se[iu]))


@contextmanager
def _pinned(core: int | None) -> Iterator[None]:
    """This thread on one core for the measurement, then back to its former cores."""
    if core is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def side_by_side(work: SideBySide, python: str | None = None, *, script: Path = SCRIPT) -> dict:
    """Time the sampler, its ceiling and the JAX references alternately; best of `work.repeats` each.

    Both processes are pinned to the same single core where the OS allows it: "one thread" then also holds
    for JAX's dispatch thread, which otherwise overlaps neural-tangents' per-network calls on a second core."""
    core = min(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    worker = Worker(resolve_python(python), work, script, core)
    names = [n for n in ("vmap", "nt") if n in worker.info.get("first_run_s", {})]
    best = {n: [math.inf, math.inf] for n in ["torch", "ceiling", *names]}
    try:
        with torch_threads(1) as threads, _pinned(core):
            torch_nngp(work)   # warm-up
            for _ in range(work.repeats):
                for name in best:
                    if name == "torch":
                        wall, cpu = _timed(lambda: torch_nngp(work))
                    elif name == "ceiling":
                        wall, cpu = _timed(lambda: ceiling_run(work))
                    else:
                        reply = worker.ask(name)
                        wall, cpu = float(reply["wall_s"]), float(reply["cpu_s"])
                    best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
            estimates = {name: np.asarray(k, dtype=np.float64) for name, k in worker.ask("kernels").items()}
            estimates["torch"] = torch_nngp(work)
    finally:
        worker.close()
    return _report(work, worker.info, threads, best, estimates) | {"core": core}


def _report(work: SideBySide, info: dict, threads: int, best: dict, estimates: dict) -> dict:
    theory = kernels(work.spec, work.x).nngp
    # Standard error of K̂ from the Gaussian fourth moment (docs/physics.md §3.1): a yardstick, not a test.
    diag = np.diag(theory)
    se = np.sqrt((np.outer(diag, diag) + theory ** 2) / work.networks)
    out = {"work": asdict(work), "threads": threads, "jax": info.get("jax"),
           "neural_tangents": info.get("neural_tangents"), "neural_tangents_error": info.get("neural_tangents_error"),
           "xla_flags": info.get("xla_flags"), "jax_python": info.get("python")}
    for name, (wall, cpu) in best.items():
        out[name] = {"wall_s": wall, "cpu_s": cpu, "networks_per_s": work.networks / wall,
                     "networks_per_cpu_s": work.networks / cpu}
        if name in estimates:
            out[name]["z_max_vs_theory"] = _z_max(estimates[name], theory, se)
    for ref in ("vmap", "nt"):
        if ref in best:
            for side in ("torch", "ceiling"):
                key = "speedup" if side == "torch" else "ceiling"
                out[f"{key}_vs_{ref}_wall"] = best[ref][0] / best[side][0]
                out[f"{key}_vs_{ref}_cpu"] = best[ref][1] / best[side][1]
    return out


def table(result: dict) -> str:
    w = result["work"]
    lines = [f"MC NNGP, {w['activation']}, depth {w['depth']}, width {w['width']}, {w['points']} points, "
             f"{w['networks']} networks, float32, {result['threads']} thread(s); jax {result['jax']}, "
             f"neural-tangents {result['neural_tangents']}",
             f"{'':9} {'wall s':>8} {'cpu s':>8} {'nets/s':>10} {'z_max':>6}"]
    for name in ("torch", "ceiling", "vmap", "nt"):
        if name in result:
            r = result[name]
            lines.append(f"{name:9} {r['wall_s']:8.3f} {r['cpu_s']:8.3f} {r['networks_per_s']:10.4g} "
                         f"{r.get('z_max_vs_theory', float('nan')):6.2f}")
    for ref, goal in (("nt", 15), ("vmap", 4)):
        if f"speedup_vs_{ref}_wall" in result:
            lines.append(f"vs {ref}: sampler {result[f'speedup_vs_{ref}_wall']:.2f}× wall, "
                         f"{result[f'speedup_vs_{ref}_cpu']:.2f}× cpu; ceiling {result[f'ceiling_vs_{ref}_wall']:.2f}× "
                         f"wall, {result[f'ceiling_vs_{ref}_cpu']:.2f}× cpu (goal ≥ {goal}×)")
    return "\n".join(lines)


__all__ = ["JAX_PYTHON_ENV", "ReferenceUnavailable", "SideBySide", "Worker", "ceiling_run", "resolve_python",
           "side_by_side", "table", "torch_nngp"]
