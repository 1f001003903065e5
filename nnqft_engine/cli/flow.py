"""`flow`: closed-form infinite-width gradient flow, and (with --ensemble M > 0) trained ensembles beside it."""
from __future__ import annotations

import math

import numpy as np

from ..cost import check, flow_cost, flow_steps, flow_theory_cost
from ..flow.data import DATASETS, dataset
from ..flow.theory import MODES, flow_prediction, max_stable_lr
from ..flow.training import EnsembleTrainer, TrainSettings
from .common import (
    ArgumentParser,
    UsageError,
    add_network_flags,
    add_sampling_flags,
    set_threads,
    emit,
    memory_limit,
    network_spec,
    parse_points,
)

DEFAULT_TEST = "-1,-0.9,-0.8,-0.7,-0.6,-0.5,-0.4,-0.3,-0.2,-0.1,0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1"


def _parser() -> ArgumentParser:
    p = ArgumentParser(prog="nnqft_engine flow",
                       description="Gradient flow under the NTK: closed-form mean and covariance of f_t, and "
                                   "trained ensembles (t = Σ learning rate over the steps).")
    add_network_flags(p)
    # The shared helper wants --x; here the points are --train-x and --test-x, so --x is only a fallback.
    p._option_string_actions["--x"].required = False
    p._option_string_actions["--x"].help = "fallback for --test-x"
    add_sampling_flags(p, ensemble_default=0)
    p.add_argument("--train-x", help="training inputs (POINTS); default: the --data set")
    p.add_argument("--train-y", help="training targets, one per training input")
    p.add_argument("--data", default="sin", help=f"built-in data set when --train-x is absent: {', '.join(DATASETS)}")
    p.add_argument("--n-train", type=int, default=8, help="points of the built-in data set")
    p.add_argument("--test-x", help="test points (POINTS); default: 21 points on [-1, 1]")
    p.add_argument("--lr", type=float, default=None,
                   help="GD step η (default: the cap). The step is capped at 5%% of the stability limit 2n/λ_max "
                        "(λ_max: the largest eigenvalue of the analytic kernel or of any network's empirical one, "
                        "refreshed at each reported time); a larger η is clipped to the cap, a smaller one is used "
                        "as given")
    p.add_argument("--times", default="0,1,10,100", help="comma list of times t ≥ 0; 'inf' allowed (theory only)")
    p.add_argument("--mode", default="ntk", help=f"one of {', '.join(MODES)} (nngp = readout only)")
    p.add_argument("--diag-reg", type=float, default=0.0, help="absolute diagonal regularization of the kernels")
    p.add_argument("--step-growth", type=float, default=0.0, help="steps grow as max(lr, g·t) up to the cap")
    return p


def parse_times(text: str) -> list[float]:
    try:
        times = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"cannot parse --times {text!r}: use numbers ≥ 0 separated by ',' ('inf' allowed)") from None
    if not times or any(math.isnan(t) or t < 0 for t in times):
        raise UsageError(f"--times {text!r} must be a non-empty list of numbers ≥ 0 ('inf' allowed)")
    return times


def _training_data(args) -> tuple[np.ndarray, np.ndarray]:
    if args.train_x is None:
        if args.train_y is not None:
            raise UsageError("--train-y needs --train-x")
        return dataset(args.data, args.n_train, args.seed)
    xs = parse_points(args.train_x)
    if args.train_y is None:
        raise UsageError("--train-x needs --train-y")
    ys = parse_points(args.train_y)
    if ys.shape[1] != 1 and len(ys) == 1:
        ys = ys.T
    if ys.shape[1] != 1 or len(ys) != len(xs):
        raise UsageError(f"--train-x has {len(xs)} points but --train-y has {ys.size} values: they must match")
    return xs, ys[:, 0]


def run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"--lr must be a finite number > 0, got {args.lr!r}")
    if args.ensemble < 0:
        raise UsageError(f"--ensemble must be ≥ 0 (0 = theory only), got {args.ensemble}")
    times = parse_times(args.times)
    xs, ys = _training_data(args)
    test = parse_points(args.test_x or args.x or DEFAULT_TEST)
    spec = network_spec(args, xs)
    if args.mode not in MODES:
        raise UsageError(f"unknown flow mode {args.mode!r}; choose one of: {', '.join(MODES)}")
    limit = memory_limit(args)
    fewer = "use fewer training or test points"
    check(flow_theory_cost(spec, len(xs), len(test)), limit, fewer)
    lr = args.lr if args.lr is not None else 1.0
    pred = flow_prediction(spec, xs, ys, test, times, lr, args.mode, args.diag_reg)
    fraction = TrainSettings.flow_fraction
    lr_cap = fraction * max_stable_lr(spec, xs, args.mode)      # the analytic cap; training may lower it
    out = {"times": times, "mode": args.mode,
           "theory": {"mean": pred.mean, "cov": pred.cov, "expected_loss": pred.expected_loss}}
    lr_used, lr_note = (lr_cap if args.lr is None else min(args.lr, lr_cap)), ""
    if args.ensemble > 0:
        settings = TrainSettings(ensemble=args.ensemble, seed=args.seed, lr=args.lr, device=args.device,
                                 dtype=args.dtype, mode=args.mode, step_growth=args.step_growth)
        if args.diag_reg:
            raise UsageError("--diag-reg applies to the theory only; use it with --ensemble 0")
        steps = flow_steps(times, args.lr, lr_cap)
        check(flow_cost(spec, len(xs), len(test), len(times), steps, args.ensemble, args.dtype, args.mode), limit,
              "raise --lr (or leave it unset), shorten --times, or lower --ensemble, --width or the number of points")
        # forward passes, steps and NTKs run in chunks of ≤ 2²³ elements per layer (flow/ops.py)
        call = min(args.ensemble * (len(xs) + len(test)) * spec.width, 1 << 23)
        out["threads_basis"] = set_threads(args, call)
        trainer = EnsembleTrainer(spec, xs, ys, test, settings)
        by_time = {}
        for t in sorted({t for t in times if math.isfinite(t)}):
            by_time[t] = trainer.advance_to(t) if t > 0 else trainer.snapshot()
        pick = lambda field: [getattr(by_time[t], field) if t in by_time else None for t in times]  # noqa: E731
        out["empirical"] = {"mean": pick("mean"), "var": pick("var"), "mean_err": pick("mean_err"),
                            "var_err": pick("var_err"), "train_loss": [None if s is None else float(np.mean(s))
                                                                        for s in pick("train_loss")],
                            "steps": pick("step"), "lr_used": pick("lr"),
                            "lr_note": next((note for note in pick("lr_note") if note), "")}
        out["ntk_drift"] = pick("ntk_drift")
        out["param_drift"] = pick("param_drift")
        lr_cap = trainer.lr_cap
        used = [v for v in pick("lr") if v]
        lr_used = used[-1] if used else (lr_cap if args.lr is None else min(args.lr, lr_cap))
        lr_note = out["empirical"]["lr_note"]
    elif args.lr is not None and args.lr > lr_cap:
        lr_note = (f"learning rate {args.lr:g} would be clipped to {lr_cap:.4g} ({fraction:.0%} of the stability "
                   f"limit 2n/λ_max = {lr_cap / fraction:.4g}), so that GD follows the gradient flow")
    # "lr" is the rate in use (as everywhere a rate is reported); what was asked for is lr_requested.
    out.update(lr=lr_used, lr_requested=args.lr, lr_used=lr_used, lr_cap=lr_cap, lr_note=lr_note)
    emit(out)
    return 0
