"""Closed-form infinite-width gradient flow (nnqft_engine.flow.theory) against independent references.

The references are built from the kernels alone: (1) scipy's solve_ivp integrating the function-space ODE
for the mean and the covariance of the joint vector (f(X), f(x)), (2) the textbook t = ∞ formulas written
out with np.linalg.solve: kernel (ridge) regression for the ntk mode, the GP posterior for the nngp mode.
"""
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from nnqft_engine import NetworkSpec, SpecError
from nnqft_engine.flow.theory import flow_prediction, max_stable_lr
from nnqft_engine.theory.kernels import kernels

TRAIN_X = np.array([-0.9, -0.35, 0.2, 0.7])
TRAIN_Y = np.array([0.3, -0.8, 0.5, 1.1])
TEST_X = np.array([-1.0, -0.1, 0.45, 1.2])
LR = 0.7


def _blocks(spec, mode, diag_reg):
    n = len(TRAIN_X)
    kk = kernels(spec, np.concatenate([TRAIN_X, TEST_X]))
    drive = kk.ntk if mode == "ntk" else kk.nngp
    prior = kk.nngp.copy()
    prior[:n, :n] += diag_reg * np.eye(n)
    drive_rows = drive[:, :n].copy()            # rows (X, x), columns X
    drive_rows[:n] += diag_reg * np.eye(n)
    return n, prior, drive_rows


def _ode_reference(spec, mode, diag_reg, t_end):
    """Integrate dμ/dt = −(1/n) B (μ_X − Y), dC/dt = −(1/n)(B C_X· + C_·X Bᵀ) for z = (f(X), f(x))."""
    n, prior, b = _blocks(spec, mode, diag_reg)
    size = len(prior)
    rate = 1.0 / n                            # t = Σ η: df/dt = −(1/n)A(f − Y)

    def rhs(_t, state):
        mu, cov = state[:size], state[size:].reshape(size, size)
        dmu = -rate * b @ (mu[:n] - TRAIN_Y)
        bc = b @ cov[:n, :]
        return np.concatenate([dmu, (-rate * (bc + bc.T)).ravel()])

    y0 = np.concatenate([np.zeros(size), prior.ravel()])
    sol = solve_ivp(rhs, (0.0, t_end), y0, method="Radau", rtol=1e-12, atol=1e-14)
    assert sol.success
    final = sol.y[:, -1]
    return final[:size], final[size:].reshape(size, size)


@pytest.mark.parametrize("spec, mode, diag_reg", [
    (NetworkSpec(activation="erf", sigma_w=1.5, sigma_b=0.3), "ntk", 0.0),
    (NetworkSpec(activation="relu", depth=3, sigma_w=1.4, sigma_b=0.2), "ntk", 0.05),
    (NetworkSpec(activation="tanh", depth=2, sigma_w=1.2, sigma_b=0.5), "nngp", 0.0),
    (NetworkSpec(activation="relu", depth=1, parameterization="standard", width=64), "nngp", 0.02),
])
@pytest.mark.slow
def test_closed_form_matches_integrated_ode(spec, mode, diag_reg):
    n, prior, b = _blocks(spec, mode, diag_reg)
    lam_min = np.linalg.eigvalsh(b[:n])[0]
    assert lam_min > 1e-4, "choose points where t = ∞ is reachable by integration"
    t_inf = 60.0 * n / lam_min             # every mode decayed by e^{-60}
    pred = flow_prediction(spec, TRAIN_X, TRAIN_Y, TEST_X, [0.0, 0.8, 5.0, math.inf], LR, mode, diag_reg)
    for i, t in enumerate([0.0, 0.8, 5.0, t_inf]):
        if t == 0.0:
            mu, cov = np.zeros(len(prior)), prior
        else:
            mu, cov = _ode_reference(spec, mode, diag_reg, t)
        np.testing.assert_allclose(pred.mean[i], mu[n:], rtol=0, atol=1e-8)
        np.testing.assert_allclose(pred.cov[i], cov[n:, n:], rtol=0, atol=1e-8)
        np.testing.assert_allclose(pred.train_mean[i], mu[:n], rtol=0, atol=1e-8)
        np.testing.assert_allclose(pred.train_cov[i], cov[:n, :n], rtol=0, atol=1e-8)
        loss = (np.sum((mu[:n] - TRAIN_Y) ** 2) + np.trace(cov[:n, :n])) / (2 * n)
        assert pred.expected_loss[i] == pytest.approx(loss, abs=1e-8)


@pytest.mark.parametrize("diag_reg", [0.0, 0.1])
def test_infinite_time_is_kernel_regression_and_gp_posterior(diag_reg):
    spec = NetworkSpec(activation="erf", depth=2, sigma_w=1.3, sigma_b=0.2)
    n = len(TRAIN_X)
    kk = kernels(spec, np.concatenate([TRAIN_X, TEST_X]))
    k, th = kk.nngp, kk.ntk
    reg = diag_reg * np.eye(n)
    k_xx, k_xt, k_tt = k[:n, :n] + reg, k[n:, :n], k[n:, n:]
    th_xx, th_tx = th[:n, :n] + reg, th[n:, :n]

    ntk = flow_prediction(spec, TRAIN_X, TRAIN_Y, TEST_X, [math.inf], LR, "ntk", diag_reg)
    w = np.linalg.solve(th_xx, th_tx.T).T      # Θ(x,X)Θ⁻¹
    cov = k_tt + w @ k_xx @ w.T - w @ k_xt.T - k_xt @ w.T
    np.testing.assert_allclose(ntk.mean[0], w @ TRAIN_Y, atol=1e-9)
    np.testing.assert_allclose(ntk.cov[0], cov, atol=1e-9)

    gp = flow_prediction(spec, TRAIN_X, TRAIN_Y, TEST_X, [math.inf], LR, "nngp", diag_reg)
    np.testing.assert_allclose(gp.mean[0], k_xt @ np.linalg.solve(k_xx, TRAIN_Y), atol=1e-9)
    np.testing.assert_allclose(gp.cov[0], k_tt - k_xt @ np.linalg.solve(k_xx, k_xt.T), atol=1e-9)
    # Without regularization the training points are interpolated with zero variance at t = ∞.
    if diag_reg == 0.0:
        np.testing.assert_allclose(ntk.train_mean[0], TRAIN_Y, atol=1e-9)
        assert ntk.expected_loss[0] == pytest.approx(0.0, abs=1e-9)


def test_large_time_approaches_infinity_and_loss_decreases():
    spec = NetworkSpec(activation="erf", sigma_w=1.5, sigma_b=0.3)
    times = [0.0, 0.5, 2.0, 10.0, 50.0, 1e7, math.inf]
    p = flow_prediction(spec, TRAIN_X, TRAIN_Y, TEST_X, times, LR)
    assert np.all(np.diff(p.expected_loss) <= 1e-12)
    np.testing.assert_allclose(p.mean[-2], p.mean[-1], atol=1e-7)
    np.testing.assert_allclose(p.cov[-2], p.cov[-1], atol=1e-7)
    # t is elapsed time Σ η: the continuous-flow prediction does not depend on the step size.
    q = flow_prediction(spec, TRAIN_X, TRAIN_Y, TEST_X, times, LR / 2)
    np.testing.assert_allclose(p.mean, q.mean, atol=1e-12)


def test_max_stable_lr_and_bad_input():
    spec = NetworkSpec()
    lam = np.linalg.eigvalsh(kernels(spec, TRAIN_X).ntk)[-1]
    assert max_stable_lr(spec, TRAIN_X) == pytest.approx(2 * len(TRAIN_X) / lam)
    with pytest.raises(SpecError, match="targets"):
        flow_prediction(spec, TRAIN_X, TRAIN_Y[:3], TEST_X, [1.0], LR)
    with pytest.raises(SpecError, match="learning rate"):
        flow_prediction(spec, TRAIN_X, TRAIN_Y, TEST_X, [1.0], -1.0)
    with pytest.raises(SpecError, match="times"):
        flow_prediction(spec, TRAIN_X, TRAIN_Y, TEST_X, [-1.0], LR)
    with pytest.raises(SpecError, match="mode"):
        flow_prediction(spec, TRAIN_X, TRAIN_Y, TEST_X, [1.0], LR, mode="adam")
