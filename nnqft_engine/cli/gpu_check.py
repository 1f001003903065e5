"""`gpu-check`: one JSON report — device, TF32, sampler throughput by width, agreement with exact theory,
a short training run and peak memory (a small smoke run on the CPU)."""
from __future__ import annotations

from ..bench.gpu_check import run_gpu_check
from .common import ArgumentParser, emit


def run(argv: list[str]) -> int:
    p = ArgumentParser(prog="nnqft_engine gpu-check", description="Check the engine on a device (JSON report).")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                   help="device to check (default: CUDA if present, else the CPU)")
    p.add_argument("--small", action="store_true", help="smoke-run sizes also on a GPU")
    args = p.parse_args(argv)
    emit(run_gpu_check(args.device, small=True if args.small else None))
    return 0
