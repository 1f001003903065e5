"""Exact sampler of the deformed parameter density P(θ)·e^{−(λ/4!)∫_V φ_θ⁴} (docs/physics.md §7).

Parallel Metropolis–Hastings chains in parameter space. A proposal redraws a window of k neurons
(random start, wrapping) from the free prior; the prior cancels in the MH ratio, so the acceptance is
min(1, e^{−(λ/4!)(F′ − F)}), F = ∫_V φ⁴. The field at points and grid nodes is updated incrementally
(float64) and recomputed from scratch every `yield_every` steps. k adapts during burn-in only:

* k = N (independence proposals: every proposal is an exact free network) is kept while its acceptance
  is ≥ 0.3. An accepted independence proposal decorrelates the chain completely, while a k-window refresh
  at best replaces a fraction k/N of the neurons, so nothing beats it there (τ_int ≈ 1/acceptance − ½).
* Otherwise k shrinks (and regrows) multiplicatively towards an acceptance in [0.3, 0.5], the usual band
  for partial-refresh random-walk-like moves; then it is frozen, so the chain after burn-in is exact MH.

Yields (start, values (C, 2, P), log-weights (C, 2, 2)): rows = the state before the move and the proposal,
sets = 0: this chain's theory, Rao–Blackwellised (old state weight 1 − α, proposal weight α, α the MH
acceptance probability: the conditional mean of the next state, so no rejection noise), 1: the free
reference, the proposals alone. With k = N a proposal is an i.i.d. free network, so set 1 is a free
ensemble on the same draws: a control variate for the chain's estimates (its coefficient is fitted, not 1:
docs/physics.md §7.5; the plain difference E_λ − E_0 = mean[(1 − α)(X_state − X_proposal)] had errors ~2× too
small, dominated by rare rejected proposals with large F). The old reference, chain states reweighted back by
e^{+(λ/4!)F}, is the harmonic-mean estimator: E_0[e^{+(λ/4!)F}] is dominated by F's stretched-exponential
tail, so it came out biased low with too-small errors (issue 11: λ̂ = 0.13 ± 0.045 at λ = 0.5). With k < N
the proposals are not free draws: `ChainDiagnostics.free_reference` says "exact" and the caller subtracts
the exact free moments instead.
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

HISTORY_STEPS = 4096  # steps of φ kept per chain for τ_int (the chain is stationary after burn-in)
ADAPT_EVERY = 20  # burn-in steps per acceptance measurement
TARGET = (0.3, 0.5)


@dataclass
class ChainDiagnostics:
    """Acceptance after burn-in, window k of N, and τ_int of the reported observables (docs/physics.md §7).

    τ_int is the largest Sokal-windowed τ over φ(xᵢ)φ(xⱼ) and φ(xᵢ)²φ(xⱼ)² (all pairs i ≤ j, so φ² and φ⁴
    at every point; φ² and φ⁴ per point only beyond 12 points) and F = ∫φ⁴, chain-averaged autocorrelation.
    """

    window: int = 0
    width: int = 0
    chains: int = 0
    proposed: int = 0
    accepted: int = 0
    history: list = field(default_factory=list)
    f_history: list = field(default_factory=list)
    _cache: tuple = (0, float("nan"), float("nan"))

    @property
    def acceptance(self) -> float:
        return self.accepted / self.proposed if self.proposed else float("nan")

    @property
    def free_reference(self) -> str:
        return "proposals" if self.window == self.width else "exact"

    def record(self, phi: np.ndarray, f4: np.ndarray) -> None:
        if len(self.history) < HISTORY_STEPS:
            self.history.append(phi)
            self.f_history.append(f4)

    def _taus(self) -> tuple[float, float]:
        t = len(self.history)
        if t == self._cache[0]:
            return self._cache[1], self._cache[2]
        phi = np.asarray(self.history)  # (T, C, P)
        p = phi.shape[-1]
        if p <= 12:
            i, j = np.triu_indices(p)
            obs = [phi[..., i] * phi[..., j], (phi[..., i] * phi[..., j]) ** 2]
        else:
            obs = [phi**2, phi**4]
        series = np.concatenate(obs, axis=-1)
        taus = [integrated_autocorrelation_time(series[..., o]) for o in range(series.shape[-1])]
        tau_f = integrated_autocorrelation_time(np.asarray(self.f_history))
        self._cache = (t, max([tau_f] + taus), tau_f)
        return self._cache[1], self._cache[2]

    def tau_int(self) -> float:
        """Largest τ_int over the reported observables (≥ 0.5; nan before any sample)."""
        return self._taus()[0] if self.history else float("nan")

    def tau_int_f(self) -> float:
        return self._taus()[1] if self.history else float("nan")

    def ess(self, n: int) -> float:
        tau = self.tau_int()
        return n / (2 * tau) if tau == tau else float(n)


def integrated_autocorrelation_time(series: np.ndarray, c: float = 5.0) -> float:
    """τ_int = ½ + Σ_{t≥1} ρ(t) of (T, chains) series, chain-averaged ρ by FFT, summed up to Sokal's window:
    the first W with W ≥ c·τ(W) (docs/physics.md §7.5). Independent samples give 0.5, so the effective sample
    size is n/(2τ_int); AR(1) with coefficient ρ gives (1+ρ)/(2(1−ρ))."""
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


def adapt_window(k: int, n: int, rate: float) -> int:
    """Next window from the acceptance `rate` at window k (burn-in only): keep k = N at rate ≥ 0.3, else
    scale k by rate/0.4 (at most ×2 or ÷2) when the rate is outside [0.3, 0.5]."""
    if (k == n and rate >= TARGET[0]) or TARGET[0] <= rate <= TARGET[1]:
        return k
    factor = min(2.0, max(0.5, rate / 0.4))
    return int(min(n, max(1, round(k * factor) if factor < 1 else math.ceil(k * factor))))


def mcmc_chunks(spec: FieldSpec, evaluator: FieldEvaluator, ensemble: int, seed: int, device: torch.device,
                settings: McmcSettings, diag: ChainDiagnostics, yield_every: int
                ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    n, chains = spec.width, settings.chains
    coupling = spec.lam / 24.0
    gen = make_generator(seed, device, 23)
    dt = torch.float64
    w, b, c = draw_neurons(spec, (chains, n), gen, device, dt)
    k = n if settings.refresh is None else max(1, int(round(settings.refresh * n)))
    rows = torch.arange(chains, device=device)[:, None]
    p = evaluator.n_points

    def refresh_state():
        whole = evaluator.contributions(w, b, c)
        return evaluator.split(whole) + (whole,)

    _, f4, full = refresh_state()
    steps = math.ceil(ensemble / chains)
    acc_window = [0, 0]
    diag.window, diag.width, diag.chains = k, n, chains
    zero, minus_inf = np.zeros(chains), np.full(chains, -np.inf)
    with torch.no_grad():
        for step in range(-settings.burn_in, steps):
            check_cancelled()
            idx = (torch.randint(0, n, (chains, 1), generator=gen, device=device)
                   + torch.arange(k, device=device)) % n
            nw, nb, nc = draw_neurons(spec, (chains, k), gen, device, dt)
            fresh = evaluator.contributions(nw, nb, nc)
            # k = N: the proposal is a whole free network, its field needs no old contributions.
            new_full = fresh if k == n else full + fresh - evaluator.contributions(w[rows, idx], b[rows, idx],
                                                                                   c[rows, idx])
            _, new_f4 = evaluator.split(new_full)
            log_u = torch.log(torch.rand(chains, generator=gen, device=device, dtype=dt))
            log_alpha = torch.clamp(-coupling * (new_f4 - f4), max=0.0)
            accept = log_u < log_alpha
            old_phi = full[:, :p].cpu().numpy().copy()
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
                if settings.refresh is None and acc_window[1] >= ADAPT_EVERY * chains:
                    k = adapt_window(k, n, acc_window[0] / acc_window[1])
                    acc_window = [0, 0]
                    diag.window = k
                continue
            diag.proposed += chains
            diag.accepted += n_acc
            phi = full[:, :p].cpu().numpy().copy()
            diag.record(phi, f4.cpu().numpy().copy())
            la = log_alpha.cpu().numpy()
            with np.errstate(divide="ignore"):
                logw = np.stack([np.stack([np.log(-np.expm1(la)), minus_inf], 1), np.stack([la, zero], 1)], 1)
            yield step * chains, np.stack([old_phi, new_full[:, :p].cpu().numpy()], axis=1), logw
            if (step + 1) % yield_every == 0:
                # Drop incremental rounding: recompute the state's field exactly.
                _, f4, full = refresh_state()
