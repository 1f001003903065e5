"""`theory`: exact finite-width correlators of depth-1 ensembles, with broken independence."""
from __future__ import annotations

from ..theory.finite_width import exact_correlators
from .common import ArgumentParser, add_network_flags, emit, network_spec, parse_points


def run(argv: list[str]) -> int:
    p = ArgumentParser(prog="nnqft_engine theory",
                       description="Exact G2, connected G4 (diag, pair) and G6 (diag) of a depth-1 ensemble "
                                   "at width N; --shared-scale V / --sequential V break independence.")
    add_network_flags(p)
    args = p.parse_args(argv)
    pts = parse_points(args.x)
    th = exact_correlators(network_spec(args, pts), pts)
    emit({"x": pts[:, 0] if pts.shape[1] == 1 else pts, "width": th.width, "g2": th.g2,
          "g4c_diag": th.g4c_diag, "g4c_pair": th.g4c_pair, "g6c_diag": th.g6c_diag, "kurtosis": th.kurtosis})
    return 0
