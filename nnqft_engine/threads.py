"""How many torch CPU threads a piece of work deserves, and a scoped way to set them.

Tiny torch calls with several OpenMP threads mostly spin-wait and synchronise: on a busy 2-core machine they
ran 5–20× slower than with one thread. So small work gets one thread, and only big work (large tensors per
call) gets more: up to cores − 1 (leaving one core to the GUI or the rest of the machine) on machines with
more than two cores, all of them on a two-core machine only for very big work.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch

# Elements (e.g. networks × neurons × points per chunk) below which one thread is fastest, and per extra
# thread above it.
SMALL_WORK = 1 << 22
PER_THREAD_WORK = 1 << 21


def available_cores() -> int:
    """CPU cores this process may run on (the affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def choose_threads(work_elements: int, cores: int | None = None) -> int:
    """Threads for work of about `work_elements` elements: 1 below SMALL_WORK, then one more per
    PER_THREAD_WORK, capped at cores − 1 (cores when there are at most two and the work is very big)."""
    cores = available_cores() if cores is None else max(1, int(cores))
    work = max(0, int(work_elements))
    if cores == 1 or work < SMALL_WORK:
        return 1
    cap = cores if cores <= 2 else cores - 1
    if cores <= 2 and work < 4 * SMALL_WORK:
        return 1
    return int(max(1, min(cap, 1 + (work - SMALL_WORK) // PER_THREAD_WORK)))


@contextmanager
def torch_threads(n: int | None) -> Iterator[int]:
    """Run the block with torch.set_num_threads(n), restoring the previous count afterwards; None leaves
    the setting alone. Yields the thread count in force."""
    before = torch.get_num_threads()
    if n is not None and n >= 1 and n != before:
        torch.set_num_threads(int(n))
    try:
        yield torch.get_num_threads()
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


__all__ = ["available_cores", "choose_threads", "torch_threads", "SMALL_WORK", "PER_THREAD_WORK"]
