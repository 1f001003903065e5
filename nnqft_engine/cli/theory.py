"""`theory`: exact finite-width correlators at depth 1 (with broken independence), leading 1/N order deeper."""
from __future__ import annotations

from ..cost import check, theory_cost
from ..spec import SpecError
from ..theory.deep import deep_correlators
from ..theory.density import output_density
from ..theory.rademacher_law import rademacher_law
from ..theory.finite_width import exact_correlators
from ..theory.accuracy import accuracy_note
from ..theory.joint_density import joint_density
from .common import ArgumentParser, add_memory_flag, add_network_flags, emit, memory_limit, network_spec, parse_points


def run(argv: list[str]) -> int:
    p = ArgumentParser(prog="nnqft_engine theory",
                       description="G2, connected G4 (diag, pair) of the network output at width N: exact at "
                                   "depth 1 (also G6 diag; --shared-scale V / --sequential V break independence), "
                                   "leading order in 1/N at depth 2–6 (independent parameters; every prior, "
                                   "except relu with a uniform/rademacher/student-t prior and sigma_b > 0).")
    add_network_flags(p)
    p.add_argument("--density", action="store_true",
                   help="add the exact density of f at the first point (rademacher: its atoms, key 'atoms')")
    p.add_argument("--joint-density", action="store_true",
                   help="add the exact joint density of (f(x1), f(x2)) at the first two points (depth 1; relu under "
                        "every prior, the smooth activations where docs/physics.md §4.6 says), "
                        "smoothed by a Gaussian of 1.6 grid steps (its widths in 'smooth')")
    add_memory_flag(p)
    args = p.parse_args(argv)
    pts = parse_points(args.x)
    spec = network_spec(args, pts)
    check(theory_cost(spec, len(pts)), memory_limit(args), "use fewer points in --x or a closed-form activation")
    th = deep_correlators(spec, pts)   # depth 1: the exact theory
    out = {"x": pts[:, 0] if pts.shape[1] == 1 else pts, "width": th.width, "depth": th.depth, "order": th.order,
           "nngp": th.nngp, "g2": th.g2, "g4c_diag": th.g4c_diag, "g4c_pair": th.g4c_pair}
    if spec.depth == 1:
        out["g6c_diag"] = exact_correlators(spec, pts).g6c_diag
    out["kurtosis"] = th.kurtosis
    note = accuracy_note(spec, x=pts)
    out["warnings"] = list(th.warnings) + ([note] if note else [])
    if args.density and spec.prior == "rademacher":      # finitely many values: the atoms, not a density
        law = rademacher_law(spec, pts[0])
        out["atoms"] = {"f": law.values, "p": law.probs}
    elif args.density:
        dens = output_density(spec, pts[0])
        out["density"] = {"f": dens.f, "p": dens.p, "atom_weight": dens.atom_weight}
    if args.joint_density:
        if len(pts) < 2 or pts.shape[1] != 1:
            raise SpecError("--joint-density needs two 1-D points in --x")
        jd = joint_density(spec, pts[0, 0], pts[1, 0])
        out["joint_density"] = {"f1": jd.f1, "f2": jd.f2, "p": jd.p, "smooth": list(jd.smooth),
                                "levels": jd.levels, "hpd_masses": [0.393, 0.865, 0.989],
                                "diagonal_mass": jd.diagonal_mass, "axis_mass": jd.axis_mass}
        if jd.atoms:                        # rademacher: the smoothed law of this many atoms
            out["joint_density"]["atoms"] = jd.atoms
    emit(out)
    return 0
