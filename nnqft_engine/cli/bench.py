"""`bench`: sampler throughput against the bare activation, and analytic-kernel latency; `--reference jax`: the
MC NNGP side by side with neural-tangents and a jit(vmap) JAX ensemble (bench/jax_reference.py)."""
from __future__ import annotations

import torch

import sys

from ..bench import run_benchmarks
from ..bench.deep import table as deep_table
from ..bench.widths import table as widths_table
from ..cost import bench_cost, check
from .common import ArgumentParser, UsageError, add_memory_flag, emit, memory_limit


def _table(result: dict) -> str:
    lines = [f"threads {result['threads']}, width {result['width']}, {result['points']} points, "
             f"{result['ensemble']} networks (evaluations per second)",
             f"{'':6} {'sampler':>12} {'reference':>12} {'bare φ':>12} {'ratio':>7} {'ref ratio':>9} {'no-RNG':>7}"]
    for name in ("erf", "relu"):
        lines.append(f"{name:6} {result[f'{name}_ensemble_evals_per_s']:12.3e} "
                     f"{result[f'{name}_reference_evals_per_s']:12.3e} {result[f'{name}_activation_evals_per_s']:12.3e} "
                     f"{result[f'{name}_ratio_to_activation_limit']:7.2f} "
                     f"{result[f'{name}_reference_ratio_to_activation_limit']:9.2f} "
                     f"{result[f'{name}_ratio_without_rng']:7.2f}")
    lines.append(f"kernels (NNGP+NTK, 1000 points, depth 3, erf): {result['kernels_ms']:.1f} ms")
    if "widths" in result:
        lines.append("sampler against a flat-tensor draw (networks per second): " + widths_table(result["widths"]))
    if "theory" in result:
        th = result["theory"]
        lines.append("exact depth-1 theory, 16 points: " + ", ".join(
            f"{k.removeprefix('exact_theory_16pt_').removesuffix('_s')} {v * 1e3:.2f} ms"
            for k, v in th.items() if k.startswith("exact_theory_")))
        if "density_priors_preset_s" in th:
            lines.append(f"exact densities: Priors preset (erf × laplace, N = 3) "
                         f"{th['density_priors_preset_s']:.2f} s, its joint (161²) "
                         f"{th['joint_density_priors_preset_s']:.2f} s; relu × laplace N = 2 joint "
                         f"{th['joint_density_relu_laplace_n2_s']:.2f} s")
    if "flow" in result:
        f = result["flow"]
        lines.append(f"gradient flow, {f['ensemble']} networks of width {f['width']}, {f['n_train']} training "
                     f"points: {f['steps_per_s']:.0f} steps/s, {f['speedup_vs_loop']:.1f}× a per-network loop, "
                     f"{f['speedup_vs_autograd_loop']:.1f}× an autograd loop (ceiling {f['speedup_ceiling_vs_loop']:.0f}×)")
    if "deep" in result:
        lines.append(deep_table(result["deep"]))
    return "\n".join(lines)


def run(argv: list[str]) -> int:
    p = ArgumentParser(prog="nnqft_engine bench", description="Throughput and latency benchmarks.")
    p.add_argument("--json", action="store_true", help="accepted for compatibility: stdout is always one JSON object")
    p.add_argument("--table", action="store_true", help="also print a human-readable table on stderr")
    p.add_argument("--repeats", type=int, default=5, help="best-of repetitions (≥ 1)")
    p.add_argument("--ensemble", type=int, default=1024, help="networks per throughput measurement")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's setting)")
    p.add_argument("--no-hooks", action="store_true", help="skip the theory/flow benchmark hooks")
    p.add_argument("--reference", choices=("jax",), default=None,
                   help="instead, the MC NNGP side by side with neural-tangents and a jit(vmap) JAX ensemble, "
                        "run by a Python that has jax (--jax-python or $NNQFT_JAX_PYTHON)")
    p.add_argument("--jax-python", default=None, help="that Python (default: $NNQFT_JAX_PYTHON)")
    for name, default in (("width", 1024), ("depth", 1), ("points", 64), ("networks", 4096)):
        p.add_argument(f"--jax-{name}", type=int, default=default, help=f"side-by-side {name} (default {default})")
    add_memory_flag(p)
    args = p.parse_args(argv)
    if args.repeats < 1 or args.ensemble < 1 or (args.threads is not None and args.threads < 1):
        raise UsageError("--repeats, --ensemble and --threads must be positive integers")
    check(bench_cost(args.repeats, args.ensemble), memory_limit(args), "lower --repeats or --ensemble")
    if args.threads is not None:
        if args.threads > 4096:
            raise UsageError(f"--threads {args.threads} is more than 4096")
        torch.set_num_threads(args.threads)
    if args.reference == "jax":
        return _run_jax(args)
    result = run_benchmarks(repeats=args.repeats, ensemble=args.ensemble, extras=not args.no_hooks)
    if args.table:
        print(_table(result), file=sys.stderr)
    emit(result)
    return 0


def _run_jax(args) -> int:
    from ..bench import jax_reference as jr

    try:
        work = jr.SideBySide(width=args.jax_width, depth=args.jax_depth, points=args.jax_points,
                             networks=args.jax_networks, repeats=min(args.repeats, 3),
                             batch=min(64, max(1, args.jax_networks)))
        result = jr.side_by_side(work, args.jax_python)
    except jr.ReferenceUnavailable as exc:
        raise UsageError(f"--reference jax: {exc}") from None
    if args.table:
        print(jr.table(result), file=sys.stderr)
    emit(result)
    return 0
