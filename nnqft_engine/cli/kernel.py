"""`kernel`: analytic NNGP and NTK at points."""
from __future__ import annotations

from ..cost import check, kernel_cost
from ..theory.accuracy import accuracy_note
from ..theory.kernels import kernels
from .common import ArgumentParser, add_memory_flag, add_network_flags, emit, memory_limit, network_spec, parse_points


def run(argv: list[str]) -> int:
    p = ArgumentParser(prog="nnqft_engine kernel", description="Analytic NNGP and NTK kernels.")
    add_network_flags(p)
    add_memory_flag(p)
    args = p.parse_args(argv)
    pts = parse_points(args.x)
    spec = network_spec(args, pts)
    check(kernel_cost(spec, len(pts)), memory_limit(args), "use fewer points in --x or a closed-form activation")
    k = kernels(spec, pts)
    note = accuracy_note(spec, kernel=True, x=pts)
    emit({"x": pts[:, 0] if pts.shape[1] == 1 else pts, "nngp": k.nngp, "ntk": k.ntk,
          "warnings": [note] if note else []})
    return 0
