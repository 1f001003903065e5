"""`python -m nnqft_engine gpu-check`: one JSON-able report on how the engine runs on a device.

- device name, torch version, TF32 state before and as used (TF32 is switched off where numbers are compared
  with theory, as everywhere in the engine);
- sampler throughput (networks/s, depth 1, erf, 16 points) at widths 2 … 4096;
- agreement of sampled G2 and connected G4 with the exact depth-1 theory: z-scores with the jackknife errors;
- a short ensemble training run (steps/s);
- peak memory: torch.cuda.max_memory_allocated on CUDA, peak RSS of the process on the CPU.

On the CPU (`device="cpu"`) everything is sized down to a smoke run of a few seconds.
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np
import torch

from ..devices import device_label, prepare_for_theory_comparison, resolve_device
from ..sampling.ensemble import block_size, iter_outputs
from ..sampling.measure import measure, run_to_completion
from ..spec import NetworkSpec, SampleSettings
from ..theory.finite_width import exact_correlators

GPU_WIDTHS = (2, 4, 8, 16, 64, 256, 1024, 4096)
CPU_WIDTHS = (2, 16, 256, 4096)


def _tf32() -> dict:
    return {"matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
            "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32)}


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _throughput(dev: torch.device, widths, points: int, work: float, dtype: str) -> list[dict]:
    x = np.linspace(-2.0, 2.0, points)[:, None]
    rows = []
    for width in widths:
        spec = NetworkSpec(depth=1, width=width, activation="erf", sigma_w=1.0, sigma_b=0.1)
        m = int(max(256, min(4 << 20, work // (width * points))))
        settings = SampleSettings(ensemble=m, seed=0, device=str(dev), dtype=dtype)

        def run() -> None:
            for _ in iter_outputs(spec, x, settings):
                pass
            _sync(dev)

        run()   # warm-up: kernels, allocator
        best = math.inf
        for _ in range(2):
            t0 = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - t0)
        rows.append({"width": width, "networks": m, "block": block_size(spec), "networks_per_s": m / best,
                     "evals_per_s": m * width * points / best})
    return rows


def _agreement(dev: torch.device, ensemble: int, width: int) -> dict:
    """Sampled G2, G4c (diag and pair) against exact depth-1 finite-width theory, in standard errors."""
    spec = NetworkSpec(depth=1, width=width, activation="erf", sigma_w=1.3, sigma_b=0.2)
    x = np.array([-1.5, -0.4, 0.3, 1.2])
    est = run_to_completion(measure(spec, x, SampleSettings(ensemble=ensemble, seed=11, device=str(dev),
                                                            dtype="float64")))
    th = exact_correlators(spec, x)
    out = {"width": width, "ensemble": est.n, "points": x.tolist()}
    zmax = 0.0
    for key in ("g2", "g4c_diag", "g4c_pair"):
        err = np.maximum(getattr(est, key + "_err"), 1e-300)
        z = (getattr(est, key) - getattr(th, key)) / err
        out[f"{key}_max_abs_z"] = float(np.max(np.abs(z)))
        out[f"{key}_rel_err"] = float(np.max(np.abs(getattr(est, key) - getattr(th, key)))
                                      / max(np.max(np.abs(getattr(th, key))), 1e-300))
        zmax = max(zmax, out[f"{key}_max_abs_z"])
    out["max_abs_z"] = zmax
    return out


def _training(dev: torch.device, ensemble: int, width: int, steps: int) -> dict:
    from ..flow.data import dataset
    from ..flow.training import EnsembleTrainer, TrainSettings
    spec = NetworkSpec(width=width)
    x, y = dataset("sin", 16)
    trainer = EnsembleTrainer(spec, x, y, np.linspace(-1.0, 1.0, 50),
                              TrainSettings(ensemble=ensemble, device=str(dev), dtype="float32",
                                            linearized=False, track_drift=False))
    first = trainer.snapshot()
    trainer.step(1)
    _sync(dev)
    t0 = time.perf_counter()
    snap = trainer.step(steps)
    _sync(dev)
    elapsed = time.perf_counter() - t0
    return {"ensemble": ensemble, "width": width, "steps": steps, "steps_per_s": steps / elapsed,
            "loss_start": float(np.mean(first.train_loss)), "loss_end": float(np.mean(snap.train_loss)),
            "finite": bool(np.isfinite(snap.train_loss).all())}


def peak_rss_bytes() -> float:
    """This process's peak resident memory. `resource` is POSIX-only (ru_maxrss: bytes on macOS, KiB on Linux);
    Windows reports the peak working set through GetProcessMemoryInfo; NaN where neither answers."""
    try:
        import resource
    except ImportError:
        return _windows_peak_working_set()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return float(rss if sys.platform == "darwin" else rss * 1024)


def _windows_peak_working_set() -> float:
    import ctypes

    class Counters(ctypes.Structure):
        _fields_ = [("cb", ctypes.c_uint32), ("PageFaultCount", ctypes.c_uint32),
                    *((n, ctypes.c_size_t) for n in ("PeakWorkingSetSize", "WorkingSetSize", "QuotaPeakPagedPoolUsage",
                                                     "QuotaPagedPoolUsage", "QuotaPeakNonPagedPoolUsage",
                                                     "QuotaNonPagedPoolUsage", "PagefileUsage", "PeakPagefileUsage"))]

    counters = Counters()
    counters.cb = ctypes.sizeof(Counters)
    try:
        psapi, kernel32 = ctypes.windll.psapi, ctypes.windll.kernel32      # type: ignore[attr-defined]
        ok = psapi.GetProcessMemoryInfo(kernel32.GetCurrentProcess(), ctypes.byref(counters), counters.cb)
    except (AttributeError, OSError):
        return math.nan
    return float(counters.PeakWorkingSetSize) if ok else math.nan


def _peak_memory(dev: torch.device) -> dict:
    out = {"peak_rss_mb": peak_rss_bytes() / 2**20}
    if dev.type == "cuda":
        out["cuda_max_memory_allocated_mb"] = torch.cuda.max_memory_allocated(dev) / 2**20
    return out


def run_gpu_check(device: str = "cuda", *, small: bool | None = None) -> dict:
    """The report as one JSON-able dict. `small` (default: on the CPU) sizes everything for a smoke run."""
    dev = resolve_device(device)
    small = dev.type != "cuda" if small is None else small
    t_start = time.perf_counter()
    report: dict = {"device": str(dev), "device_name": device_label(dev), "torch": torch.__version__,
                    "cuda_available": torch.cuda.is_available(), "threads": torch.get_num_threads(),
                    "small": small, "tf32_default": _tf32()}
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
        report["cuda_capability"] = ".".join(map(str, torch.cuda.get_device_capability(dev)))
    prepare_for_theory_comparison(dev)   # no TF32 anywhere a number is compared with theory
    report["tf32_used"] = _tf32()
    report["throughput"] = _throughput(dev, CPU_WIDTHS if small else GPU_WIDTHS, 16,
                                       2e6 if small else 2e9, "float32")
    report["theory_agreement"] = _agreement(dev, 100_000 if small else 4_000_000, 4)
    report["training"] = _training(dev, 16 if small else 1024, 64 if small else 1024, 5 if small else 50)
    report["memory"] = _peak_memory(dev)
    report["elapsed_s"] = time.perf_counter() - t_start
    return report


__all__ = ["run_gpu_check"]
