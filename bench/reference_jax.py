"""JAX reference for `python -m nnqft_engine bench --reference jax` (issue 15): run by the engine in a separate
Python that has jax (and, optionally, neural-tangents) installed; it never imports torch or nnqft_engine.

The same work as the engine's side: the Monte-Carlo NNGP K̂(x, x') = mean over M random networks of
f(x) f(x') for a fully connected network (depth hidden layers of width N, σ_w/√fan_in weights, σ_b biases,
float32) at P points in [-2, 2] (docs/physics.md §1–2), done two ways:

- "nt": neural-tangents' own `monte_carlo_kernel_fn` (one network per sample, as the library does it);
- "vmap": a careful JAX user's `jit(lax.map(vmap(init + apply)))` over batches of networks, the f fᵀ
  reduction inside the jitted function, so XLA fuses what it can.

XLA is pinned to one thread (like torch on the other side) before jax is imported, and the process to the
caller's core when it names one ("core"). Protocol, one JSON object per line on stdout: first {"ready": …}
(or {"error": …} and exit status 3 when jax is missing), then one answer per command read from stdin:
"nt" / "vmap" time one run ({"name", "wall_s", "cpu_s"}), "kernels" returns both estimates, "quit" ends. Timings are per command so the caller can interleave them with its own.
"""
from __future__ import annotations

import json
import os
import sys
import time


def _say(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _one_thread() -> None:
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _timed(fn) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def main(argv: list[str]) -> int:
    cfg = json.loads(argv[0]) if argv else {}
    width, depth = int(cfg.get("width", 1024)), int(cfg.get("depth", 1))
    points, networks = int(cfg.get("points", 64)), int(cfg.get("networks", 4096))
    sigma_w, sigma_b = float(cfg.get("sigma_w", 1.0)), float(cfg.get("sigma_b", 0.1))
    batch = int(cfg.get("batch", 64))
    activation, seed = cfg.get("activation", "erf"), int(cfg.get("seed", 0))
    if cfg.get("core") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(cfg["core"])})   # before jax starts its threads, which inherit it
    _one_thread()
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as exc:
        _say({"error": f"jax is not installed for {sys.executable} ({exc})"})
        return 3
    try:
        import neural_tangents as nt
        from neural_tangents import stax
    except ImportError as exc:
        nt, stax, nt_error = None, None, f"neural-tangents is not installed for {sys.executable} ({exc})"
    else:
        nt_error = ""
    x = jnp.linspace(-2.0, 2.0, points, dtype=jnp.float32)[:, None]
    key = jax.random.PRNGKey(seed)
    phi = {"erf": jax.scipy.special.erf, "relu": jax.nn.relu, "tanh": jnp.tanh}[activation]

    def init(k):
        """Parameters of one network at their scales: W ~ N(0, σ_w²/fan_in), b ~ N(0, σ_b²)."""
        keys = jax.random.split(k, 2 * (depth + 1))
        fans = [(width, 1)] + [(width, width)] * (depth - 1) + [(1, width)]
        return [(jax.random.normal(keys[2 * i], fan, jnp.float32) * (sigma_w / fan[1] ** 0.5),
                 jax.random.normal(keys[2 * i + 1], fan[:1], jnp.float32) * sigma_b)
                for i, fan in enumerate(fans)]

    def apply(params):
        h = x
        for w, b in params[:-1]:
            h = phi(h @ w.T + b)
        w, b = params[-1]
        return (h @ w.T + b)[:, 0]

    n_batches = max(1, networks // batch)

    @jax.jit
    def vmap_kernel(k):
        keys = jax.random.split(k, n_batches * batch).reshape(n_batches, batch, -1)

        def one_batch(ks):
            f = jax.vmap(lambda kk: apply(init(kk)))(ks)          # (batch, P)
            return f.T @ f

        return jax.lax.map(one_batch, keys).sum(0) / (n_batches * batch)

    runs = {"vmap": lambda: vmap_kernel(key).block_until_ready()}
    if nt is not None:
        layer = {"erf": stax.Erf, "relu": stax.Relu, "tanh": lambda: stax.Elementwise(jnp.tanh)}[activation]
        layers = []
        for _ in range(depth):
            layers += [stax.Dense(width, W_std=sigma_w, b_std=sigma_b), layer()]
        init_fn, apply_fn, _ = stax.serial(*layers, stax.Dense(1, W_std=sigma_w, b_std=sigma_b))
        nt_fn = nt.monte_carlo_kernel_fn(init_fn, apply_fn, key, n_samples=networks, device_count=0)
        runs["nt"] = lambda: nt_fn(x, None, get="nngp").block_until_ready()
    warm = {name: _timed(fn)[0] for name, fn in runs.items()}     # compile + first run
    _say({"ready": True, "jax": jax.__version__, "neural_tangents": getattr(nt, "__version__", None) if nt else None,
          "neural_tangents_error": nt_error, "networks": n_batches * batch, "batch": batch,
          "first_run_s": warm, "xla_flags": os.environ["XLA_FLAGS"], "python": sys.executable})
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "quit":
            break
        if cmd in runs:
            wall, cpu, _ = _timed(runs[cmd])
            _say({"name": cmd, "wall_s": wall, "cpu_s": cpu})
        elif cmd == "kernels":
            _say({name: [[float(v) for v in row] for row in fn()] for name, fn in runs.items()})
        else:
            _say({"error": f"unknown command {cmd!r}"})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
