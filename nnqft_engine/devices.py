"""Device and dtype resolution, and explicit per-request random generators."""
from __future__ import annotations

import numpy as np
import torch


class DeviceUnavailable(RuntimeError):
    """The requested accelerator is absent or failed; callers may fall back to the CPU."""


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' = CUDA, else MPS, else CPU. Asking for an absent accelerator raises DeviceUnavailable."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if name == "cuda" and not cuda:
        raise DeviceUnavailable("CUDA was requested but no CUDA GPU is available")
    if name == "mps" and not mps:
        raise DeviceUnavailable("MPS was requested but Apple's Metal backend is not available")
    if name not in ("cpu", "cuda", "mps"):
        raise DeviceUnavailable(f"unknown device {name!r}")
    return torch.device(name)


def device_label(device: torch.device) -> str:
    """Human-readable device name for status bars and reports."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return cpu_label(torch.get_num_threads())


def cpu_label(threads: int) -> str:
    """"CPU (1 thread)", "CPU (4 threads)": the status bars' name of the CPU with the threads a job uses."""
    return f"CPU ({threads} thread{'' if threads == 1 else 's'})"


def torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "float64": torch.float64}[name]


def prepare_for_theory_comparison(device: torch.device) -> None:
    """No TF32 anywhere a number is compared with theory."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def derived_seed(seed: int, *path: int) -> int:
    """A well-mixed 63-bit seed for sub-stream `path` of `seed` (blocks, widths, repetitions)."""
    state = np.random.SeedSequence([int(seed), *map(int, path)]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def make_generator(seed: int, device: torch.device, *path: int) -> torch.Generator:
    """A fresh generator for sub-stream `path`: never the global RNG, so threads cannot interfere."""
    gen = torch.Generator(device=device)
    gen.manual_seed(derived_seed(seed, *path))
    return gen
