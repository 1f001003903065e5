"""`criticality`: edge of chaos of an activation at a bias scale (docs/physics.md §9)."""
from __future__ import annotations

from ..spec import ACTIVATIONS, SpecError, _check_number
from ..theory.criticality import criticality
from .common import ArgumentParser, emit


def run(argv: list[str]) -> int:
    p = ArgumentParser(prog="nnqft_engine criticality",
                       description="Critical σ_w (χ⊥ = 1) at a given σ_b with the variance fixed point q*, "
                                   "χ⊥, χ∥ and the correlation depth; --sigma-w evaluates them there instead.")
    p.add_argument("--activation", default="tanh", help=f"one of {', '.join(a for a in ACTIVATIONS)}")
    p.add_argument("--sigma-b", type=float, default=0.0, help="bias scale σ_b")
    p.add_argument("--sigma-w", type=float, default=None, help="evaluate at this σ_w (default: the critical one)")
    p.add_argument("--q0", type=float, default=1.0, help="input variance the fixed-point iteration starts from")
    args = p.parse_args(argv)
    if args.activation not in ACTIVATIONS:
        raise SpecError(f"unknown activation {args.activation!r}; choose one of: {', '.join(ACTIVATIONS)}")
    _check_number("sigma_b", args.sigma_b, low=0.0, high=100.0)
    _check_number("q0", args.q0, low=0.0, low_open=True)
    if args.sigma_w is not None:
        _check_number("sigma_w", args.sigma_w, low=0.0, low_open=True, high=1000.0)
    crit = criticality(args.activation, args.sigma_b, q0=args.q0)
    here = crit if args.sigma_w is None else criticality(args.activation, args.sigma_b, args.sigma_w, q0=args.q0)
    emit({"activation": args.activation, "sigma_b": args.sigma_b, "sigma_w": here.sigma_w,
          "critical_sigma_w": crit.sigma_w, "q_star": here.q_star, "chi_perp": here.chi_perp,
          "chi_parallel": here.chi_parallel, "c_star": here.c_star, "correlation_depth": here.correlation_depth})
    return 0
