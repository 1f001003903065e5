"""`theory`: exact finite-width correlators of depth-1 ensembles, with broken independence."""
from __future__ import annotations

from ..cost import check, theory_cost
from ..theory.density import output_density
from ..theory.finite_width import exact_correlators
from .common import ArgumentParser, add_memory_flag, add_network_flags, emit, memory_limit, network_spec, parse_points


def run(argv: list[str]) -> int:
    p = ArgumentParser(prog="nnqft_engine theory",
                       description="Exact G2, connected G4 (diag, pair) and G6 (diag) of a depth-1 ensemble "
                                   "at width N; --shared-scale V / --sequential V break independence.")
    add_network_flags(p)
    p.add_argument("--density", action="store_true", help="add the exact density of f at the first point")
    add_memory_flag(p)
    args = p.parse_args(argv)
    pts = parse_points(args.x)
    spec = network_spec(args, pts)
    check(theory_cost(spec, len(pts)), memory_limit(args), "use fewer points in --x or a closed-form activation")
    th = exact_correlators(spec, pts)
    out = {"x": pts[:, 0] if pts.shape[1] == 1 else pts, "width": th.width, "g2": th.g2,
           "g4c_diag": th.g4c_diag, "g4c_pair": th.g4c_pair, "g6c_diag": th.g6c_diag, "kurtosis": th.kurtosis}
    if args.density:
        dens = output_density(spec, pts[0])
        out["density"] = {"f": dens.f, "p": dens.p, "atom_weight": dens.atom_weight}
    emit(out)
    return 0
