"""Whole ensembles trained by full-batch gradient descent, beside their linearized twins (docs/physics.md §6).

Loss L = (1/2n)Σ(f − y)², θ ← θ − η∇L for every network at once; elapsed time t = Σ η, the time of the
closed-form prediction (`flow_theory`). The step is capped at `flow_fraction`·2n/λ_max, λ_max the largest
eigenvalue of the analytic Θ(X,X) or of any network's empirical Θ̂(X,X), refreshed at each snapshot: below
the stability limit by a margin, and small enough that GD follows the flow (the top mode's discrete decay
(1 − ηλ/n)^k differs from e^{−λt/n} by at most ηλ_max/(2e·n) of its amplitude). A larger requested step
is clipped and the reason reported in the snapshot.

The linearized twin f_lin = f₀ + J₀(θ − θ₀) under the same GD moves in function space by
−(η/n) Θ̂₀(x, X)(f_lin(X) − Y): exactly, given each network's empirical NTK at initialization.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from ..cancel import check_cancelled
from ..devices import (
    make_generator,
    prepare_for_theory_comparison,
    resolve_device,
    torch_dtype,
)
from ..sampling.network import init_params
from ..spec import DEVICES, DTYPES, NetworkSpec, SpecError, as_points
from ..theory.kernels import kernels
from .data import dataset
from .ops import chunk_size, forward, loss_gradients, normalisers, ntk
from .theory import MODES

# Elements of one (networks × training points × neurons) tile in a GD step (~8 MB in float32).
_STEP_TILE = 1 << 21


@dataclass(frozen=True)
class TrainSettings:
    """How to train: ensemble size, randomness, step, hardware, what to track.

    lr None = the cap (the largest step that still follows the flow). mode 'ntk' trains every layer,
    'nngp' only the readout. snapshot_every: GD steps between the snapshots `train` yields. step_growth g:
    `advance_to` (and `train` with `times`) steps by max(lr, g·t), capped; 0 = constant steps.
    """

    ensemble: int = 256
    seed: int = 0
    lr: float | None = None
    device: str = "auto"
    dtype: str = "float32"
    snapshot_every: int = 20
    mode: str = "ntk"
    flow_fraction: float = 0.05
    step_growth: float = 0.0
    linearized: bool = True
    track_drift: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.ensemble, bool) or not isinstance(self.ensemble, int) or not 1 <= self.ensemble <= 10**6:
            raise SpecError(f"ensemble size must be an integer between 1 and 1000000, got {self.ensemble!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise SpecError(f"seed must be an integer >= 0, got {self.seed!r}")
        if self.lr is not None:
            _check_lr(self.lr)
        if self.device not in DEVICES:
            raise SpecError(f"unknown device {self.device!r}; choose one of: {', '.join(DEVICES)}")
        if self.dtype not in DTYPES:
            raise SpecError(f"unknown dtype {self.dtype!r}; choose one of: {', '.join(DTYPES)}")
        if not isinstance(self.snapshot_every, int) or self.snapshot_every < 1:
            raise SpecError(f"snapshot interval must be a whole number of steps >= 1, got {self.snapshot_every!r}")
        if self.mode not in MODES:
            raise SpecError(f"unknown flow mode {self.mode!r}; choose one of: {', '.join(MODES)}")
        if not (math.isfinite(float(self.step_growth)) and 0 <= float(self.step_growth) <= 1):
            raise SpecError(f"step growth must lie in [0, 1], got {self.step_growth!r}")
        if not 0 < float(self.flow_fraction) < 1:
            raise SpecError(f"flow fraction must lie in (0, 1) (1 is the stability limit), got {self.flow_fraction!r}")

    def replace(self, **changes) -> "TrainSettings":
        return dataclasses.replace(self, **changes)


def _check_lr(lr) -> float:
    try:
        v = float(lr)
    except (TypeError, ValueError):
        raise SpecError(f"learning rate must be a number, got {lr!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise SpecError(f"learning rate must be a finite number > 0, got {lr!r}")
    return v


@dataclass(frozen=True)
class TrainSnapshot:
    """The ensemble at elapsed time t: outputs (M, n_test), per-network train loss (M,), ensemble mean,
    variance and their standard errors on the test points, the networks' outputs on the training points
    (M, n_train), the linearized twin's test outputs, the mean relative NTK drift on the training points,
    the mean relative parameter drift, and the step actually used with the reason it was clipped, if so."""

    t: float
    step: int
    test_outputs: np.ndarray
    train_outputs: np.ndarray
    train_loss: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    mean_err: np.ndarray
    var_err: np.ndarray
    linearized_outputs: np.ndarray | None
    ntk_drift: float | None
    param_drift: float
    lr: float
    lr_cap: float
    lr_note: str = ""


class EnsembleTrainer:
    """M networks of one spec trained together; `step` advances, `snapshot` reports, nothing else runs."""

    def __init__(self, spec: NetworkSpec, train_x, train_y, test_x, settings: TrainSettings = TrainSettings()):
        self.spec, self.settings = spec, settings
        xs, xt = as_points(train_x, spec.input_dim), as_points(test_x, spec.input_dim)
        ys = np.asarray(train_y, dtype=np.float64).reshape(-1)
        if len(ys) != len(xs):
            raise SpecError(f"{len(xs)} training inputs but {len(ys)} training targets: they must match")
        if not np.all(np.isfinite(ys)):
            raise SpecError("training targets must be finite numbers")
        self.device = resolve_device(settings.device)
        prepare_for_theory_comparison(self.device)
        self.dtype = torch_dtype(settings.dtype)
        as_t = lambda a: torch.as_tensor(a, dtype=self.dtype, device=self.device)  # noqa: E731
        self.n = len(xs)
        self.x_train, self.y_train, self.x_test = as_t(xs), as_t(ys), as_t(xt)
        self.q_train, self.q_test = normalisers(spec, self.x_train), normalisers(spec, self.x_test)
        self.trainable = "all" if settings.mode == "ntk" else "readout"
        gen = make_generator(settings.seed, self.device, 0)
        self.params = init_params(spec, settings.ensemble, settings.seed, self.device, self.dtype, generator=gen)
        self._params0 = [(w.clone(), b.clone()) for w, b in self.params]
        self.t, self.steps = 0.0, 0
        self.step_sizes: list[float] = []      # every step taken, in order (t = their sum)
        kk = kernels(spec, xs)
        self._lam_analytic = float(np.linalg.eigvalsh(kk.ntk if settings.mode == "ntk" else kk.nngp)[-1])
        self._ntk0 = ntk(spec, self.params, self.x_train, trainable=self.trainable)
        self._lam_max = max(self._lam_analytic, self._largest_eigenvalue(self._ntk0))
        self._lin = None
        if settings.linearized:
            both = torch.cat([self.x_test, self.x_train])
            self._lin_kernel = ntk(spec, self.params, both, self.x_train, trainable=self.trainable)
            self._lin = self._outputs(both)
        self._last_lr, self._last_note = 0.0, ""

    # -- stepping ---------------------------------------------------------------------------------
    @staticmethod
    def _largest_eigenvalue(theta: torch.Tensor) -> float:
        return float(torch.linalg.eigvalsh(theta.double()).max())

    @property
    def lr_cap(self) -> float:
        """Largest step allowed: flow_fraction × the stability limit 2n/λ_max; inf when λ_max = 0 (a zero
        kernel: the gradients vanish, nothing moves, and any step follows the flow)."""
        if not self._lam_max > 0:
            return math.inf
        return self.settings.flow_fraction * 2 * self.n / self._lam_max

    def _resolve_lr(self, lr) -> float:
        wanted = self.settings.lr if lr is None else _check_lr(lr)
        cap = self.lr_cap
        if wanted is None:
            self._last_note = ""
            return cap
        if wanted > cap:
            self._last_note = (f"learning rate {wanted:g} clipped to {cap:.4g} ({self.settings.flow_fraction:.0%} of "
                               f"the stability limit 2n/λ_max = {cap / self.settings.flow_fraction:.4g}), so that "
                               "GD follows the gradient flow")
            return cap
        self._last_note = ""
        return float(wanted)

    def current_lr(self) -> float:
        """The step the next call without an explicit lr would take."""
        note, eta = self._last_note, self._resolve_lr(None)
        self._last_note = note
        return eta

    def gd_step(self, lr: float) -> None:
        # Blocks of networks whose (networks × points × neurons) tiles stay in cache. Every block's gradient is
        # taken before any is applied (the cost model holds a full gradient set), so a cancellation between blocks
        # — a large ensemble's step is ~150 ms — leaves the run exactly as it was.
        m = self.settings.ensemble
        block = max(1, min(m, _STEP_TILE // (self.n * self.spec.width * self.spec.depth)))
        updates = []
        with torch.no_grad():
            for lo in range(0, m, block):
                if lo:
                    check_cancelled()
                part = [(w[lo:lo + block], b[lo:lo + block]) for w, b in self.params]
                _, _, grads = loss_gradients(self.spec, part, self.x_train, self.q_train, self.y_train,
                                             self.trainable)
                flat = [t for pair in part for t in pair]
                updates.append((flat if self.trainable == "all" else flat[-2:], grads))
            for params, grads in updates:
                for p, g in zip(params, grads):
                    p.add_(g, alpha=-lr)
        if self._lin is not None:
            resid = self._lin[:, -self.n:] - self.y_train
            self._lin = self._lin - (lr / self.n) * torch.einsum("mpj,mj->mp", self._lin_kernel, resid)
        self.t += lr
        self.steps += 1
        self.step_sizes.append(lr)

    def step(self, n_steps: int = 1, lr: float | None = None) -> TrainSnapshot:
        """n_steps of full-batch GD (lr may change between calls), then a snapshot."""
        if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
            raise SpecError(f"number of steps must be a whole number >= 0, got {n_steps!r}")
        eta = self._resolve_lr(lr)
        for _ in range(n_steps):
            check_cancelled()   # between whole steps: a cancelled run stays consistent
            self.gd_step(eta)
        self._last_lr = eta
        return self.snapshot()

    def step_schedule(self, lrs) -> TrainSnapshot:
        """One GD step per entry of lrs (each clipped to the cap like any requested step), then a snapshot.
        Lets a caller grow the step with t (GD's lag behind the flow is ~0.27·η/t of an amplitude)."""
        notes = []
        for lr in lrs:
            eta = self._resolve_lr(lr)
            notes.append(self._last_note)
            self.gd_step(eta)
            self._last_lr = eta
        self._last_note = next((note for note in notes if note), "")
        return self.snapshot()

    def advance_to(self, t_target: float, lr: float | None = None, growth: float | None = None) -> TrainSnapshot:
        """Step until elapsed time t_target exactly (the last step shortened), then a snapshot. With growth
        g > 0 each step is max(lr, g·t), still capped: GD lags the flow by ~0.27·η/t of an amplitude, so a
        step growing with t keeps that lag fixed while long runs need far fewer steps."""
        growth = self.settings.step_growth if growth is None else float(growth)
        if not math.isfinite(t_target) or t_target < 0:
            raise SpecError(f"target time must be a finite number >= 0, got {t_target!r}")
        eta = self._resolve_lr(lr)
        note = self._last_note                  # only the requested step's clip is news; growth stops at the cap
        while self.t < t_target * (1 - 1e-12):
            step = eta if growth <= 0 else min(max(eta, growth * self.t), self.lr_cap)
            taken = min(step, t_target - self.t)
            self.gd_step(taken)
            self._last_lr = step if math.isfinite(step) else taken
        self._last_note = note
        return self.snapshot()

    # -- observing --------------------------------------------------------------------------------
    def _outputs(self, x: torch.Tensor) -> torch.Tensor:
        qs, m = normalisers(self.spec, x), self.settings.ensemble
        block = chunk_size(m, len(x), self.spec.width)
        parts = []
        with torch.no_grad():
            for lo in range(0, m, block):
                check_cancelled()   # read-only: a cancelled snapshot leaves the run as it was
                parts.append(forward(self.spec, [(w[lo:lo + block], b[lo:lo + block]) for w, b in self.params],
                                     x, qs))
        return torch.cat(parts)

    def ntk_drift(self) -> float:
        """Relative ‖Θ̂_t − Θ̂₀‖_F/‖Θ̂₀‖_F on the training points, averaged over the networks."""
        theta = ntk(self.spec, self.params, self.x_train, trainable=self.trainable)
        self._lam_max = max(self._lam_max, self._largest_eigenvalue(theta))
        diff = torch.linalg.matrix_norm(theta - self._ntk0) / torch.linalg.matrix_norm(self._ntk0)
        return float(diff.double().mean())

    def param_drift(self) -> float:
        """Relative ‖θ_t − θ₀‖/‖θ₀‖ over the trained parameters, averaged over the networks."""
        num = den = 0.0
        for (w, b), (w0, b0) in zip(self._trained(self.params), self._trained(self._params0)):
            num = num + ((w - w0).double() ** 2).flatten(1).sum(1) + ((b - b0).double() ** 2).flatten(1).sum(1)
            den = den + (w0.double() ** 2).flatten(1).sum(1) + (b0.double() ** 2).flatten(1).sum(1)
        return float(torch.sqrt(num / den).mean())

    def _trained(self, params):
        return params if self.trainable == "all" else params[-1:]

    def snapshot(self) -> TrainSnapshot:
        with torch.no_grad():
            out = self._outputs(self.x_test).double()
            train = self._outputs(self.x_train).double()
        loss = 0.5 * ((train - self.y_train.double()) ** 2).mean(dim=1)
        m = out.shape[0]
        mean, var = out.mean(dim=0), out.var(dim=0) if m > 1 else torch.zeros_like(out[0])
        fourth = ((out - mean) ** 4).mean(dim=0)
        var_err = torch.sqrt(torch.clamp(fourth - var**2, min=0.0) / m)
        lin = None if self._lin is None else self._lin[:, :-self.n].double().cpu().numpy()
        cpu = lambda a: a.cpu().numpy()  # noqa: E731
        return TrainSnapshot(
            t=self.t, step=self.steps, test_outputs=cpu(out), train_outputs=cpu(train), train_loss=cpu(loss),
            mean=cpu(mean), var=cpu(var),
            mean_err=cpu(torch.sqrt(var / m)), var_err=cpu(var_err), linearized_outputs=lin,
            ntk_drift=self.ntk_drift() if self.settings.track_drift else None, param_drift=self.param_drift(),
            lr=self._last_lr, lr_cap=self.lr_cap, lr_note=self._last_note)


def train(spec: NetworkSpec, train_x, train_y, test_x, settings: TrainSettings = TrainSettings(),
          t_max: float | None = None, times=None) -> Iterator[TrainSnapshot]:
    """Yield a snapshot at t = 0, then every `snapshot_every` steps up to t_max, or exactly at `times`.
    Each yield is a place to pause or stop."""
    if (t_max is None) == (times is None):
        raise SpecError("give either t_max or times")
    stops = sorted(float(t) for t in (times if times is not None else [t_max]))
    if any(not math.isfinite(t) or t < 0 for t in stops):
        raise SpecError("training times must be finite numbers >= 0 (t = inf is the theory's alone)")
    trainer = EnsembleTrainer(spec, train_x, train_y, test_x, settings)
    yield trainer.snapshot()
    if times is not None:
        for t in stops:
            if t > 0:
                yield trainer.advance_to(t)
        return
    end = stops[0]
    while trainer.t < end * (1 - 1e-12):
        if (end - trainer.t) <= settings.snapshot_every * trainer.current_lr():
            yield trainer.advance_to(end)
        else:
            yield trainer.step(settings.snapshot_every)


__all__ = ["TrainSettings", "TrainSnapshot", "EnsembleTrainer", "train", "dataset"]
