"""`bench`: sampler throughput against the bare activation, and analytic-kernel latency."""
from __future__ import annotations

import torch

from ..bench import run_benchmarks
from .common import ArgumentParser, UsageError, emit


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
    for key in ("theory", "flow"):
        if key in result:
            lines.append(f"{key}: {result[key]}")
    return "\n".join(lines)


def run(argv: list[str]) -> int:
    p = ArgumentParser(prog="nnqft_engine bench", description="Throughput and latency benchmarks.")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--repeats", type=int, default=5, help="best-of repetitions (≥ 1)")
    p.add_argument("--ensemble", type=int, default=1024, help="networks per throughput measurement")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's setting)")
    p.add_argument("--no-hooks", action="store_true", help="skip the theory/flow benchmark hooks")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.ensemble < 1 or (args.threads is not None and args.threads < 1):
        raise UsageError("--repeats, --ensemble and --threads must be positive integers")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    result = run_benchmarks(repeats=args.repeats, ensemble=args.ensemble, extras=not args.no_hooks)
    if args.json:
        emit(result)
    else:
        print(_table(result))
    return 0
