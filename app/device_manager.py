"""Which device the app computes on, with fallback to the CPU when an accelerator is absent or fails.

`resolve` is injectable so tests can make a GPU "fail" on a machine without one.
"""
from __future__ import annotations

from typing import Callable

import torch

from nnqft_engine import DeviceUnavailable, device_label, resolve_device


class DeviceManager:
    def __init__(self, resolve: Callable[[str], torch.device] = resolve_device):
        self._resolve = resolve
        self.failed: set[str] = set()   # devices that failed during this session: used no more
        self.message = ""

    def effective(self, requested: str) -> tuple[str, str]:
        """(device name for the engine, human label). Falls back to the CPU with `self.message` set."""
        if requested != "cpu":
            try:
                dev = self._resolve(requested)
                if dev.type not in self.failed:
                    return dev.type, device_label(dev) if dev.type != "cuda" else _cuda_label(dev)
                self.message = f"{dev.type.upper()} failed earlier in this session; computing on the CPU"
            except DeviceUnavailable as exc:
                if requested != "auto":
                    self.message = f"{exc}; computing on the CPU"
        cpu = torch.device("cpu")
        return "cpu", device_label(cpu)

    def mark_failed(self, device: str, reason: str) -> None:
        self.failed.add(device)
        self.message = f"{device.upper()} failed ({reason}); falling back to the CPU"


def _cuda_label(dev: torch.device) -> str:
    try:
        return device_label(dev)
    except Exception:  # noqa: BLE001 — an injected fake "cuda" has no name
        return "CUDA GPU"
