"""`python -m nnqft_engine COMMAND …`: each command prints one JSON object on stdout.

User errors (bad flags or values) exit with status 2 and one line on stderr; never a traceback.
"""
from __future__ import annotations

import importlib
import sys

from .common import USER_ERRORS, UsageError

# command → (module, one-line help); modules are imported lazily so `--help` stays fast.
COMMANDS = {
    "kernel": ("kernel", "analytic NNGP and NTK kernels at points"),
    "sample": ("sample", "Monte-Carlo correlators of a random-network ensemble"),
    "theory": ("theory", "finite-width correlators: exact at depth 1, leading 1/N order at depth 2–6"),
    "criticality": ("criticality", "edge of chaos: critical σ_w, fixed point q*, χ⊥, χ∥, correlation depth"),
    "flow": ("flow", "gradient flow: closed-form NTK prediction and trained ensembles"),
    "field": ("field", "φ⁴ field theory as a cos-net: propagator, samplers, tree-level G4"),
    "bench": ("bench", "throughput and latency benchmarks"),
    "gpu-check": ("gpu_check", "device report: throughput by width, theory agreement, training, memory"),
}


def _usage() -> str:
    lines = ["usage: python -m nnqft_engine COMMAND [flags]   (COMMAND --help for its flags)", "commands:"]
    lines += [f"  {name:<11} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _utf8_streams() -> None:
    """Help texts and messages use σ, φ, ⁴: a stream in a legacy code page (Windows cp1252 when redirected, a C
    locale) would raise UnicodeEncodeError mid-message. Write UTF-8 there instead (JSON on stdout is ASCII)."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")


def main(argv: list[str] | None = None) -> int:
    _utf8_streams()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"nnqft_engine: unknown command {name!r}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f".{COMMANDS[name][0]}", __package__)
    from ..threads import torch_threads   # after the command's module: torch is loaded by then anyway

    try:
        with torch_threads(None):   # a command's thread choice (common.set_threads) ends with it, in-process too
            return int(module.run(rest) or 0)
    except USER_ERRORS as exc:
        print(f"nnqft_engine {name}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except MemoryError:     # the costing refuses what it can see coming; this is what it cannot
        print(f"nnqft_engine {name}: error: out of memory; lower the sizes (width, ensemble, points)",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nnqft_engine {name}: interrupted", file=sys.stderr)
        return 130


__all__ = ["main", "UsageError"]
