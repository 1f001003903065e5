"""`kernel`: analytic NNGP and NTK at points."""
from __future__ import annotations

from ..theory.kernels import kernels
from .common import ArgumentParser, add_network_flags, emit, network_spec, parse_points


def run(argv: list[str]) -> int:
    p = ArgumentParser(prog="nnqft_engine kernel", description="Analytic NNGP and NTK kernels.")
    add_network_flags(p)
    args = p.parse_args(argv)
    pts = parse_points(args.x)
    k = kernels(network_spec(args, pts), pts)
    emit({"x": pts[:, 0] if pts.shape[1] == 1 else pts, "nngp": k.nngp, "ntk": k.ntk})
    return 0
