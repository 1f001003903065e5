"""Shared CLI pieces: network/sampling flags, POINTS parsing, one-line errors, JSON output."""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from typing import Any

import numpy as np

from ..cost import BASE_MB, DEFAULT_MEMORY_MB, memory_limit_mb
from ..devices import DeviceUnavailable
from ..spec import (
    ACTIVATIONS,
    DEVICES,
    DTYPES,
    INDEPENDENCE,
    MAX_ABS_X,
    PARAMETERIZATIONS,
    PRIORS,
    NetworkSpec,
    SampleSettings,
    SpecError,
)


class UsageError(Exception):
    """Bad flags or values: reported as one line on stderr with exit status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing usage and exiting."""

    def error(self, message: str):  # noqa: D401 - argparse API
        raise UsageError(message)  # main() prefixes the command name


def parse_points(text: str) -> np.ndarray:
    """'-1,0,0.5' → three 1-D points; '0,1;1,0' → two 2-D points. Returns (P, d) float64."""
    if text is None or not str(text).strip():
        raise UsageError("--x needs at least one point")
    rows = [r.strip() for r in str(text).split(";") if r.strip()]
    try:
        if len(rows) == 1 and ";" not in str(text):
            pts = [[float(v)] for v in rows[0].split(",") if v.strip()]
        else:
            pts = [[float(v) for v in r.split(",")] for r in rows]
    except ValueError:
        raise UsageError(f"cannot parse points {text!r}: use numbers separated by ',' (and ';' between "
                         "points of dimension > 1)") from None
    if not pts or len({len(p) for p in pts}) != 1:
        raise UsageError(f"points {text!r} are ragged: every point needs the same number of coordinates")
    arr = np.array(pts, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise UsageError(f"points {text!r} must be finite numbers")
    if np.abs(arr).max() > MAX_ABS_X:
        raise UsageError(f"point coordinates must lie within ±{MAX_ABS_X:g}; rescale the inputs")
    return arr


# Flags are NetworkSpec's and SampleSettings' fields (one source for every default); only the help is here.
_NETWORK_HELP = {
    "depth": "hidden layers (1–6)", "width": "hidden width N", "activation": f"one of {', '.join(ACTIVATIONS)}",
    "sigma_w": "weight scale σ_w", "sigma_b": "bias scale σ_b", "prior": f"one of {', '.join(PRIORS)}",
    "prior_dof": "student-t degrees of freedom (> 4)",
    "parameterization": f"one of {', '.join(PARAMETERIZATIONS)}",
    "independence": f"one of {', '.join(INDEPENDENCE)}",
    "independence_strength": "strength of the independence-breaking mechanism",
}
_SAMPLING_HELP = {"seed": "random seed (≥ 0)", "device": f"one of {', '.join(DEVICES)}",
                  "dtype": f"one of {', '.join(DTYPES)}"}


def _add_spec_flags(p: argparse.ArgumentParser, spec_type, helps: dict[str, str], skip: set[str]) -> None:
    defaults = spec_type()
    for f in dataclasses.fields(spec_type):
        if f.name not in helps or f.name in skip:
            continue
        default = getattr(defaults, f.name)
        p.add_argument("--" + f.name.replace("_", "-"), type=type(default), default=default,
                       help=f"{helps[f.name]} (default {default})")


def add_network_flags(p: argparse.ArgumentParser, *, width: bool = True) -> None:
    _add_spec_flags(p, NetworkSpec, _NETWORK_HELP, set() if width else {"width"})
    p.add_argument("--x", required=True, help="points: '-1,0,0.5' (1-D) or '0,1;1,0' (d > 1)")
    p.add_argument("--shared-scale", type=float, default=None, metavar="V",
                   help="shorthand for --independence shared-scale --independence-strength V")
    p.add_argument("--sequential", type=float, default=None, metavar="V",
                   help="shorthand for --independence sequential --independence-strength V")


def add_sampling_flags(p: argparse.ArgumentParser, *, ensemble_default: int = SampleSettings().ensemble) -> None:
    p.add_argument("--ensemble", type=int, default=ensemble_default,
                   help=f"number of networks M (default {ensemble_default})")
    _add_spec_flags(p, SampleSettings, _SAMPLING_HELP, set())
    add_memory_flag(p, chunk=True)
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: chosen from the largest single torch call — one for small "
                        "calls, which ran 5–20× slower on contended threads; JSON threads_basis says why)")


def set_threads(args: argparse.Namespace, call_elements: float) -> dict:
    """Set torch's CPU threads for this command — --threads if given, else nnqft_engine.threads.choose_threads
    on the elements of its largest single torch call — and return the JSON "threads_basis" saying why."""
    import torch

    from ..threads import available_cores, choose_threads

    given = getattr(args, "threads", None)
    if given is not None and not 1 <= given <= 4096:
        raise UsageError(f"--threads must be between 1 and 4096, got {given}")
    n = given if given is not None else choose_threads(int(call_elements))
    torch.set_num_threads(n)
    return {"threads": n, "chosen_by": "--threads" if given is not None else "work size",
            "largest_call_elements": int(call_elements), "cores": available_cores()}


def add_memory_flag(p: argparse.ArgumentParser, *, chunk: bool = False) -> None:
    extra = "; also the size of one streamed chunk (default 256 MB)" if chunk else ""
    p.add_argument("--memory-mb", type=float, default=None,
                   help=f"memory budget in MB (default {DEFAULT_MEMORY_MB:g}, at most half the machine's RAM): "
                        f"a request estimated to need more is refused before it runs{extra}")


def memory_limit(args: argparse.Namespace) -> float:
    """The --memory-mb budget (default 1 GB), checked against the machine."""
    return memory_limit_mb(getattr(args, "memory_mb", None))


def _independence(args: argparse.Namespace) -> tuple[str, float]:
    """(mechanism, strength) from --independence/--independence-strength or a shorthand flag."""
    mech, strength = args.independence, args.independence_strength
    given = [(name, v) for name, v in (("shared-scale", getattr(args, "shared_scale", None)),
                                       ("sequential", getattr(args, "sequential", None))) if v is not None]
    if len(given) > 1:
        raise UsageError("--shared-scale and --sequential cannot be combined: choose one mechanism")
    if given:
        name, v = given[0]
        if mech not in ("none", name) or (strength not in (0.0, v)):
            raise UsageError(f"--{name} {v:g} conflicts with --independence {mech} "
                             f"--independence-strength {strength:g}")
        return name, v
    return mech, strength


def network_spec(args: argparse.Namespace, points: np.ndarray) -> NetworkSpec:
    independence, strength = _independence(args)
    given = {name: getattr(args, name) for name in _NETWORK_HELP if hasattr(args, name)}
    given.update(independence=independence, independence_strength=strength)
    return NetworkSpec(input_dim=points.shape[1], **given)


def sample_settings(args: argparse.Namespace) -> SampleSettings:
    # A chunk of 256 MB by default; with --memory-mb B, a third of what B leaves beside the loaded libraries.
    chunk_mb = 256.0 if args.memory_mb is None else max(1.0, (memory_limit(args) - BASE_MB) / 3)
    return SampleSettings(ensemble=args.ensemble, seed=args.seed, device=args.device, dtype=args.dtype,
                          memory_budget_mb=chunk_mb)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else (None if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def emit(obj: dict) -> None:
    """Print exactly one JSON object on stdout (with "threads": torch's CPU threads; ±inf as "inf"/"-inf",
    NaN as null)."""
    import torch

    obj = dict(obj)
    obj.setdefault("threads", torch.get_num_threads())
    sys.stdout.write(json.dumps(_jsonable(obj), allow_nan=False) + "\n")
    sys.stdout.flush()


USER_ERRORS = (UsageError, SpecError, DeviceUnavailable)
