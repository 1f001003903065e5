"""Batched ensemble training (nnqft_engine.flow.training, flow_ops) against independent torch.func references.

Small widths and float64 where exactness is checked; the statistical comparisons with the infinite-width
flow live in test_flow_ensembles.py.
"""
import math

import numpy as np
import pytest
import torch
from torch.func import jvp, vjp

from nnqft_engine import NetworkSpec, SpecError
from nnqft_engine.flow.ops import (
    _autograd_loss_gradients,
    loss_gradients,
    normalisers,
    ntk,
)
from nnqft_engine.flow.training import EnsembleTrainer, TrainSettings, dataset, train
from nnqft_engine.sampling.network import apply, empirical_ntk, init_params

X, Y = dataset("sin", 6)
TEST = np.linspace(-1.0, 1.0, 5)
F64 = dict(dtype="float64", device="cpu")

SPECS = [
    NetworkSpec(width=9, activation="erf", sigma_b=0.3),
    NetworkSpec(width=6, depth=3, activation="tanh", parameterization="standard"),
    NetworkSpec(width=5, depth=2, activation="relu", input_dim=2, prior="laplace"),
    NetworkSpec(width=4, depth=2, activation="gelu"),          # autograd fallback for φ'
    NetworkSpec(width=5, depth=2, activation="gauss-net", sigma_w=0.8),
]


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("trainable", ["all", "readout"])
def test_layerwise_ntk_and_gradients_match_torch_func(spec, trainable):
    params = init_params(spec, 3, seed=5)
    gen = torch.Generator().manual_seed(2)
    xa = torch.randn(4, spec.input_dim, generator=gen, dtype=torch.float64)
    xb = torch.randn(3, spec.input_dim, generator=gen, dtype=torch.float64)
    y = torch.randn(4, generator=gen, dtype=torch.float64)
    if trainable == "all":   # (the readout-only kernel: test_readout_ntk_is_last_layer_feature_gram)
        torch.testing.assert_close(ntk(spec, params, xa, xb), empirical_ntk(spec, params, xa, xb),
                                   rtol=1e-10, atol=1e-12)
    loss, f, grads = loss_gradients(spec, params, xa, normalisers(spec, xa), y, trainable)
    ref_loss, ref_f, ref_grads = _autograd_loss_gradients(spec, params, xa, normalisers(spec, xa), y, trainable)
    torch.testing.assert_close(f, apply(spec, params, xa), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=1e-14)
    assert len(grads) == len(ref_grads) == (2 * (spec.depth + 1) if trainable == "all" else 2)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-13)


def test_readout_ntk_is_last_layer_feature_gram():
    spec = NetworkSpec(width=7, depth=2, activation="erf")
    params = init_params(spec, 2, seed=1)
    x = torch.linspace(-1, 1, 4, dtype=torch.float64)[:, None]
    # Hidden features h^L: apply a network whose readout picks each neuron in turn (identity weights).
    eye = torch.eye(7, dtype=torch.float64)
    feats = torch.stack([apply(spec, params[:-1] + [(eye[None, j:j + 1].expand(2, 1, 7) /
                                                       (spec.sigma_w / math.sqrt(7)), torch.zeros(2, 1))], x)
                         for j in range(7)], dim=-1)
    c2 = spec.sigma_w**2 / 7
    expected = c2 * feats @ feats.transpose(1, 2) + spec.sigma_b**2
    torch.testing.assert_close(ntk(spec, params, x, trainable="readout"), expected, rtol=1e-10, atol=1e-12)


def _reference_gd(spec, params, lrs, mode="ntk"):
    """Each network on its own, autograd through network.apply — a per-network loop, on purpose.
    (torch.func.grad cannot trace network.apply: its gauss-net normaliser reads the points via .numpy().)"""
    x = X          # numpy: network.apply makes its own tensor (inside torch.func transforms too)
    y = torch.as_tensor(Y, dtype=torch.float64)
    nets = []
    for m in range(params[0][0].shape[0]):
        theta = [t[m:m + 1].clone() for pair in params for t in pair]
        for lr in lrs:
            def loss(th):
                pairs = [(th[2 * i], th[2 * i + 1]) for i in range(len(th) // 2)]
                return 0.5 * ((apply(spec, pairs, x)[0] - y) ** 2).mean()
            leaves = [t.detach().requires_grad_(True) for t in theta]
            g = torch.autograd.grad(loss(leaves), leaves)
            keep = len(theta) if mode == "ntk" else 2
            theta = [t.detach() - lr * gi if i >= len(theta) - keep else t for i, (t, gi) in enumerate(zip(theta, g))]
        nets.append(theta)
    return nets


@pytest.mark.parametrize("mode", ["ntk", "nngp"])
def test_batched_gd_equals_per_network_gd(mode):
    spec = NetworkSpec(width=8, depth=2, activation="tanh", sigma_b=0.4)
    settings = TrainSettings(ensemble=3, seed=4, mode=mode, flow_fraction=0.5, **F64)
    trainer = EnsembleTrainer(spec, X, Y, TEST, settings)
    start = [(w.clone(), b.clone()) for w, b in trainer.params]
    lrs = [0.05, 0.2, 0.1]
    for lr in lrs:                                   # the step may change between calls (the app's slider)
        snap = trainer.step(1, lr)
    assert snap.lr_note == "" and trainer.t == pytest.approx(sum(lrs)) and snap.step == 3
    ref = _reference_gd(spec, start, lrs, mode)
    flat = [t for pair in trainer.params for t in pair]
    for m, theta in enumerate(ref):
        for a, b in zip(flat, theta):
            torch.testing.assert_close(a[m:m + 1], b, rtol=1e-10, atol=1e-12)


def test_linearized_twin_is_gd_on_the_linearized_model():
    spec = NetworkSpec(width=6, depth=2, activation="erf")
    trainer = EnsembleTrainer(spec, X, Y, TEST, TrainSettings(ensemble=2, seed=3, flow_fraction=0.5, **F64))
    theta0 = [t.clone() for pair in trainer.params for t in pair]
    lrs = [0.1, 0.3, 0.3, 0.2]
    snap = trainer.step_schedule(lrs)
    x, t_pts = X, TEST[:, None]
    y = torch.as_tensor(Y, dtype=torch.float64)

    def f(th, pts):   # one erf network written out by hand (ntk parameterization, stored ω, β)
        h = torch.as_tensor(pts, dtype=torch.float64)
        for layer in range(len(th) // 2):
            w, b = th[2 * layer][0], th[2 * layer + 1][0]
            z = h @ w.T * (spec.sigma_w / math.sqrt(w.shape[1])) + spec.sigma_b * b
            h = torch.erf(z) if layer < spec.depth else z
        return h[:, 0][None]

    for m in range(2):
        th0 = tuple(t[m:m + 1] for t in theta0)
        delta = tuple(torch.zeros_like(t) for t in th0)
        for lr in lrs:                      # f_lin = f₀ + J₀·δ; δ ← δ − (η/n) J₀ᵀ(f_lin(X) − Y)
            f_train, lin = jvp(lambda *th: f(th, x), th0, delta)
            _, pullback = vjp(lambda *th: f(th, x), *th0)
            step = pullback(((f_train + lin) - y) / len(Y))
            delta = tuple(d - lr * s for d, s in zip(delta, step))
        f_test, lin_test = jvp(lambda *th: f(th, t_pts), th0, delta)
        np.testing.assert_allclose(snap.linearized_outputs[m], (f_test + lin_test)[0].numpy(), rtol=1e-10, atol=1e-12)


def test_readout_only_training_is_exactly_linear():
    trainer = EnsembleTrainer(NetworkSpec(width=16), X, Y, TEST, TrainSettings(ensemble=4, mode="nngp", **F64))
    snap = trainer.step(30)
    np.testing.assert_allclose(snap.linearized_outputs, snap.test_outputs, atol=1e-12)
    assert snap.ntk_drift == pytest.approx(0.0, abs=1e-12)


def test_learning_rate_cap_clips_with_a_reason_and_rejects_bad_values():
    trainer = EnsembleTrainer(NetworkSpec(width=32), X, Y, TEST, TrainSettings(ensemble=4, seed=1))
    snap = trainer.step(5, lr=100.0)
    assert "clipped" in snap.lr_note and snap.lr == pytest.approx(trainer.lr_cap)
    assert np.all(np.isfinite(snap.test_outputs)) and trainer.t == pytest.approx(5 * trainer.lr_cap)
    assert trainer.lr_cap < 2 * len(Y) / trainer._lam_max      # below the stability limit
    assert trainer.step(1, lr=0.01).lr_note == ""
    with pytest.raises(SpecError, match="learning rate"):
        trainer.step(1, lr=-0.1)
    with pytest.raises(SpecError):
        TrainSettings(lr=float("nan"))
    with pytest.raises(SpecError, match="must match"):
        EnsembleTrainer(NetworkSpec(width=8), X, Y[:-1], TEST, TrainSettings(ensemble=2))


def test_train_generator_hits_times_and_is_deterministic():
    settings = TrainSettings(ensemble=8, seed=7, snapshot_every=5, **F64)
    spec = NetworkSpec(width=32)
    snaps = list(train(spec, X, Y, TEST, settings, t_max=3.0))
    assert snaps[0].t == 0.0 and snaps[-1].t == pytest.approx(3.0)
    assert all(b.step - a.step <= 5 for a, b in zip(snaps, snaps[1:]))
    assert np.all(np.diff([s.t for s in snaps]) > 0)
    at = list(train(spec, X, Y, TEST, settings, times=[2.0, 0.5, 3.0]))
    assert [s.t for s in at] == pytest.approx([0.0, 0.5, 2.0, 3.0])
    again = list(train(spec, X, Y, TEST, settings, times=[2.0, 0.5, 3.0]))
    np.testing.assert_array_equal(again[-1].test_outputs, at[-1].test_outputs)
    # Different step sequences to the same t: equal up to GD's O(η) lag behind the flow.
    np.testing.assert_allclose(at[-1].test_outputs, snaps[-1].test_outputs, atol=0.01)
    assert at[-1].train_loss.mean() < at[0].train_loss.mean()
    with pytest.raises(SpecError):
        next(train(spec, X, Y, TEST, settings, times=[math.inf]))


def test_datasets():
    for name in ("sin", "step", "abs", "noisy"):
        x, y = dataset(name, 10, seed=3)
        assert x.shape == (10, 1) and y.shape == (10,) and np.all(np.abs(x) <= 1)
    assert set(dataset("step", 8)[1]) == {-1.0, 1.0}
    np.testing.assert_array_equal(dataset("noisy", 5, seed=1)[1], dataset("noisy", 5, seed=1)[1])
    assert not np.array_equal(dataset("noisy", 5, seed=1)[1], dataset("noisy", 5, seed=2)[1])
    with pytest.raises(SpecError):
        dataset("cubic")


def test_benchmark_reports_the_ratio_fields():
    from nnqft_engine.bench.flow import benchmark
    out = benchmark(ensemble=8, width=16, n_train=4, n_test=10, loop_networks=2, repeats=1)
    assert {"gd_step_s", "loop_step_s", "speedup_vs_loop", "snapshot_s", "speedup_ceiling_vs_loop"} <= set(out)
    assert out["elementwise_floor_s"] > 0
    assert out["gd_step_s"] > 0 and out["speedup_vs_loop"] > 0


@pytest.mark.parametrize("mode", ["ntk", "nngp"])
def test_a_step_cancelled_between_blocks_leaves_the_run_as_it_was(monkeypatch, mode):
    """Blocks of one network each (a tiny tile): cancelled at the third block's check, nothing has moved; the
    step taken afterwards equals an uncancelled twin's, to the bit."""
    from nnqft_engine.cancel import Cancelled, cancel_scope
    from nnqft_engine.flow import training as training_mod
    monkeypatch.setattr(training_mod, "_STEP_TILE", 1)
    spec = NetworkSpec(width=8, depth=2, activation="tanh")
    settings = TrainSettings(ensemble=4, seed=2, mode=mode, **F64)
    trainer, twin = (EnsembleTrainer(spec, X, Y, TEST, settings) for _ in range(2))
    before = [t.clone() for pair in trainer.params for t in pair]
    checks = []

    def third_block():
        checks.append(None)
        return len(checks) >= 3          # 1: before the step, 2 and 3: before blocks 2 and 3
    with cancel_scope(third_block), pytest.raises(Cancelled):
        trainer.step(1, lr=0.1)
    assert all(torch.equal(a, b) for a, b in zip(before, (t for pair in trainer.params for t in pair)))
    assert trainer.steps == 0 and trainer.t == 0.0
    after, want = trainer.step(1, lr=0.1), twin.step(1, lr=0.1)
    mine, theirs = (t for pair in trainer.params for t in pair), (t for pair in twin.params for t in pair)
    assert all(torch.equal(a, b) for a, b in zip(mine, theirs))
    np.testing.assert_array_equal(after.test_outputs, want.test_outputs)
