"""`sample`: Monte-Carlo correlators with standard errors."""
from __future__ import annotations

from ..cost import check, sample_cost
from ..sampling.ensemble import block_size, params_per_network, tile_networks
from ..sampling.measure import measure, run_to_completion
from .common import (
    ArgumentParser,
    add_network_flags,
    add_sampling_flags,
    emit,
    memory_limit,
    network_spec,
    parse_points,
    sample_settings,
    set_threads,
)

KEYS = ("n", "mean", "g2", "g2_err", "g4c_diag", "g4c_diag_err", "g4c_pair", "g4c_pair_err", "kurtosis",
        "kurtosis_err", "g6c_diag", "g6c_diag_err")


def run(argv: list[str]) -> int:
    p = ArgumentParser(prog="nnqft_engine sample", description="Monte-Carlo correlators of an ensemble.")
    add_network_flags(p)
    add_sampling_flags(p)
    args = p.parse_args(argv)
    pts = parse_points(args.x)
    spec, settings = network_spec(args, pts), sample_settings(args)
    check(sample_cost(spec, len(pts), settings), memory_limit(args),
          "lower --width, --depth, --ensemble or the number of points")
    # The sampler's biggest calls: one block's parameters drawn at once, and one evaluation tile.
    call = max(min(block_size(spec), settings.ensemble) * params_per_network(spec),
               tile_networks(spec, len(pts)) * len(pts) * spec.width)
    basis = set_threads(args, call)
    est = run_to_completion(measure(spec, pts, settings))
    out = {"x": pts[:, 0] if pts.shape[1] == 1 else pts, "threads_basis": basis}
    out.update({k: getattr(est, k) for k in KEYS})
    # Estimates whose error is not an honest standard error, each with the reason (sampling/honesty.py).
    out["warnings"] = list(est.warnings)
    emit(out)
    return 0
