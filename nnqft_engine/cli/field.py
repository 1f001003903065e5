"""`field`: φ⁴ theory as a cos-net — propagator, tree-level G4c and measured correlators with errors."""
from __future__ import annotations

from ..cost import check, field_cost
from ..field.interaction import measure_field
from ..field.spec import SAMPLERS, FieldSpec, McmcSettings, check_sampler
from ..sampling.measure import run_to_completion
from ..spec import DEVICES, DTYPES, SampleSettings
from .common import ArgumentParser, UsageError, add_memory_flag, emit, memory_limit, parse_points

EXTRA = ("free_g4c_pair", "one_loop_g2", "delta_g2", "delta_g2_err", "delta_g4c_pair", "delta_g4c_pair_err",
         "lam_hat", "lam_hat_err", "lam_hat_beta", "lam_hat_raw", "lam_hat_raw_err", "acceptance", "tau_int", "n",
         "sampler", "convention")


def run(argv: list[str]) -> int:
    p = ArgumentParser(prog="nnqft_engine field",
                       description="Cos-net scalar field deformed by exp(-(lam/4!) int_V phi^4), V = [-L/2, L/2]^d.")
    p.add_argument("--dim", type=int, default=1, help="space(-time) dimension d (1-3)")
    p.add_argument("--mass", type=float, default=1.0, help="mass m > 0")
    p.add_argument("--cutoff", type=float, default=8.0, help="momentum cutoff Λ > 0")
    p.add_argument("--box", type=float, default=6.0, help="side L of the interaction box")
    p.add_argument("--lam", type=float, default=0.0, help="coupling λ ≥ 0 (1/4! convention)")
    p.add_argument("--alpha", type=float, default=-1.0, help="momentum/amplitude family α (−1 paper, 0 propagator)")
    p.add_argument("--width", type=int, default=1000, help="neurons N")
    p.add_argument("--ensemble", type=int, default=10000, help="networks (reweight) or chain samples (mcmc)")
    p.add_argument("--seed", type=int, default=0, help="random seed (≥ 0)")
    p.add_argument("--x", required=True, help="points: '-1,0,0.5' (d = 1) or '0,1;1,0' (d > 1)")
    p.add_argument("--sampler", default="reweight", help=f"one of {', '.join(SAMPLERS)}")
    p.add_argument("--chains", type=int, default=64, help="MCMC chains")
    p.add_argument("--burn-in", type=int, default=200, help="MCMC burn-in steps per chain")
    p.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICES)}")
    p.add_argument("--dtype", default="float32", help=f"one of {', '.join(DTYPES)}")
    add_memory_flag(p)
    args = p.parse_args(argv)
    pts = parse_points(args.x)
    if pts.shape[1] != args.dim:
        if args.dim > 1 and pts.shape[1] == 1 and len(pts) == args.dim:
            raise UsageError(f"--x gave {len(pts)} 1-D points but --dim is {args.dim}: separate points by ';'")
        raise UsageError(f"--x points have dimension {pts.shape[1]} but --dim is {args.dim}")
    spec = FieldSpec(dim=args.dim, mass=args.mass, cutoff=args.cutoff, box=args.box, lam=args.lam,
                     alpha=args.alpha, width=args.width)
    settings = SampleSettings(ensemble=args.ensemble, seed=args.seed, device=args.device, dtype=args.dtype)
    mcmc = McmcSettings(chains=args.chains, burn_in=args.burn_in)
    check_sampler(args.sampler)
    if len(pts) > 64:
        raise UsageError(f"at most 64 measurement points, got {len(pts)}")
    check(field_cost(spec, pts, args.ensemble, args.sampler, args.chains, args.burn_in, args.dtype,
                     settings.memory_budget_mb), memory_limit(args),
          "bring the points --x nearer the box, or lower --width, --ensemble, --cutoff or --box")
    est = run_to_completion(measure_field(spec, pts, settings, args.sampler, mcmc))
    out = {"x": pts[:, 0] if pts.shape[1] == 1 else pts, "propagator": est.propagator,
           "tree_g4c_pair": est.tree_g4c_pair, "g2": est.g2, "g2_err": est.g2_err,
           "g4c_pair": est.g4c_pair, "g4c_pair_err": est.g4c_pair_err, "ess": est.ess}
    out.update({k: getattr(est, k) for k in EXTRA})
    emit(out)
    return 0
