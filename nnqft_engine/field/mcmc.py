"""Exact sampler of the deformed parameter density P(θ)·e^{−(λ/4!)∫_V φ_θ⁴} (docs/physics.md §7).

Parallel Metropolis–Hastings chains in parameter space. A proposal redraws a window of k neurons
(random start, wrapping) from the free prior; the prior cancels in the MH ratio, so the acceptance is
min(1, e^{−(λ/4!)(F′ − F)}), F = ∫_V φ⁴. The field at points and grid nodes is updated incrementally
(float64) and recomputed from scratch at every yield. k adapts during burn-in only.
Yields (start, φ at the points (C, P), log-weights (C, 2)): set 0 = this chain's theory (weight 1),
set 1 = the free theory by reweighting back, e^{+(λ/4!)F}: the control variate for the λ-induced change.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from ..cancel import check_cancelled
from ..devices import make_generator
from .cosnet import draw_neurons
from .evaluate import FieldEvaluator
from .spec import FieldSpec, McmcSettings


@dataclass
class ChainDiagnostics:
    """Running acceptance rate (after burn-in), window size and the history of F for τ_int."""

    window: int = 0
    proposed: int = 0
    accepted: int = 0
    f_history: list = field(default_factory=list)

    @property
    def acceptance(self) -> float:
        return self.accepted / self.proposed if self.proposed else float("nan")

    def tau_int(self) -> float:
        return integrated_autocorrelation_time(np.asarray(self.f_history)) if self.f_history else float("nan")


def integrated_autocorrelation_time(series: np.ndarray, c: float = 5.0) -> float:
    """τ_int = ½ + Σ_{t≥1} ρ(t) of (T, chains) series, chain-averaged ρ by FFT, Sokal's window W ≥ c·τ(W).
    Independent samples give 0.5, so the effective sample size is n/(2τ_int)."""
    x = np.asarray(series, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    t = x.shape[0]
    if t < 4:
        return float("nan")
    x = x - x.mean(axis=0, keepdims=True)
    n = 1 << int(math.ceil(math.log2(2 * t)))
    spec = np.fft.rfft(x, n=n, axis=0)
    acf = np.fft.irfft(spec * np.conj(spec), n=n, axis=0)[:t].mean(axis=1)
    if acf[0] <= 0:
        return 0.5
    rho = acf / acf[0]
    tau = 0.5
    for w in range(1, t):
        tau += rho[w]
        if w >= c * tau:
            break
    return float(max(tau, 0.5))


def mcmc_chunks(spec: FieldSpec, evaluator: FieldEvaluator, ensemble: int, seed: int, device: torch.device,
                settings: McmcSettings, diag: ChainDiagnostics, yield_every: int
                ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    n, chains = spec.width, settings.chains
    coupling = spec.lam / 24.0
    gen = make_generator(seed, device, 23)
    dt = torch.float64
    w, b, c = draw_neurons(spec, (chains, n), gen, device, dt)
    k = n if settings.refresh is None else max(1, int(round(settings.refresh * n)))
    offsets = torch.arange(k, device=device)
    rows = torch.arange(chains, device=device)[:, None]

    def refresh_state():
        whole = evaluator.contributions(w, b, c)
        return evaluator.split(whole) + (whole,)

    _, f4, full = refresh_state()
    steps = math.ceil(ensemble / chains)
    acc_window = [0, 0]
    diag.window = k
    with torch.no_grad():
        for step in range(-settings.burn_in, steps):
            check_cancelled()
            idx = (torch.randint(0, n, (chains, 1), generator=gen, device=device) + offsets) % n
            nw, nb, nc = draw_neurons(spec, (chains, k), gen, device, dt)
            delta = evaluator.contributions(nw, nb, nc) - evaluator.contributions(w[rows, idx], b[rows, idx],
                                                                                  c[rows, idx])
            new_full = full + delta
            _, new_f4 = evaluator.split(new_full)
            log_u = torch.log(torch.rand(chains, generator=gen, device=device, dtype=dt))
            accept = log_u < -coupling * (new_f4 - f4)
            sel = accept.nonzero().flatten()
            if len(sel):
                sidx = idx[sel]
                w[sel[:, None], sidx] = nw[sel]
                b[sel[:, None], sidx] = nb[sel]
                c[sel[:, None], sidx] = nc[sel]
                full[sel] = new_full[sel]
                f4[sel] = new_f4[sel]
            n_acc = int(accept.sum())
            if step < 0:
                acc_window[0] += n_acc
                acc_window[1] += chains
                if settings.refresh is None and acc_window[1] >= 20 * chains:
                    rate = acc_window[0] / acc_window[1]
                    if rate < 0.3 and k > 1:
                        k = max(1, k // 2)
                    elif rate > 0.7 and k < n:
                        k = min(n, 2 * k)
                    offsets = torch.arange(k, device=device)
                    acc_window = [0, 0]
                    diag.window = k
                continue
            diag.proposed += chains
            diag.accepted += n_acc
            phi, _ = evaluator.split(full)
            f_np = f4.cpu().numpy().copy()
            diag.f_history.append(f_np)
            logw = np.stack([np.zeros(chains), coupling * f_np], axis=1)
            yield step * chains, phi.cpu().numpy(), logw
            if (step + 1) % yield_every == 0:
                # Drop incremental rounding: recompute the state's field exactly.
                _, f4, full = refresh_state()
