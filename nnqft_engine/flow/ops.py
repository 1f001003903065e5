"""Batched forward pass, gradient step and per-layer empirical NTK for training whole ensembles.

Works on `network.init_params` parameters (leading ensemble axis, stored ω/β or W/b per the
parameterization). All M networks live in one set of tensors; the only Python loops are over layers and
over chunks of networks that bound memory.

The empirical NTK uses the layer structure instead of materialising Jacobians: with z^l = c_l ω_l h^{l−1}
+ s_l β_l and δ^l(x) = ∂f(x)/∂z^l(x),

    Θ̂(x, x') = Σ_l (δ^l(x)·δ^l(x')) (c_l² h^{l−1}(x)·h^{l−1}(x') + s_l²),

and δ^l at every point comes from one backward pass of Σ_x f(x) (each f(x) depends only on its own z(x)).
`network.empirical_ntk` (torch.func Jacobians) is the independent reference in the tests.
"""
from __future__ import annotations


import torch

from ..activations import get_activation
from ..cancel import check_cancelled
from ..sampling.network import Params, multipliers, normalisers
from ..spec import NetworkSpec

# Elements of one (networks × points × neurons) activation tensor per chunk.
_CHUNK_ELEMENTS = 1 << 23


def forward(spec: NetworkSpec, params: Params, x: torch.Tensor, qs: list[torch.Tensor]) -> torch.Tensor:
    """f at points x (P, d) for every network: (M, P)."""
    return _forward_for_deltas(spec, params, x, qs, track=False)[0]


def chunk_size(m: int, n_points: int, width: int) -> int:
    return max(1, min(m, _CHUNK_ELEMENTS // max(1, n_points * width)))


def _layer_features(spec: NetworkSpec, params: Params, x: torch.Tensor, qs, trainable: str):
    """Per trained layer: (δ (M,P,fan_out), h (M or shared, P, fan_in), c², s²) at points x."""
    mults = multipliers(spec)
    with torch.enable_grad():
        zs_in = [(w.detach(), b.detach()) for w, b in params]
        f, zs, hs = _forward_for_deltas(spec, zs_in, x, qs)
        deltas = torch.autograd.grad(f.sum(), zs) if zs else []
    feats = []
    layers = range(spec.depth + 1) if trainable == "all" else [spec.depth]
    for layer in layers:
        c, s = mults[layer]
        delta = torch.ones_like(f)[..., None] if layer == spec.depth else deltas[layer]
        feats.append((delta.detach(), hs[layer].detach(), c * c, s * s))
    return feats


def _forward_for_deltas(spec, params, x, qs, track=True):
    """f, the hidden pre-activations z^l (made differentiable when track) and every layer's input h."""
    act = get_activation(spec.activation)
    mults = multipliers(spec)
    h, zs, hs = x, [], []
    for layer, ((w, b), (c, s)) in enumerate(zip(params, mults)):
        hs.append(h)
        if h.dim() == 2:
            z = _input_layer(h, w, b, c, s)
        else:
            z = torch.baddbmm((b * s)[:, None, :], h, w.transpose(1, 2), alpha=c)
        if layer == spec.depth:
            return z[..., 0], zs, hs
        if track and not zs and not z.requires_grad:
            z.requires_grad_(True)
        zs.append(z)
        h = act(z, qs[layer])
    raise AssertionError("unreachable")


def _input_layer(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, c: float, s: float) -> torch.Tensor:
    """c·W x + s·b for inputs x (P, d) shared by all networks: (M, P, N)."""
    z = (b * s)[:, None, :]
    if x.shape[1] > 8:
        return torch.einsum("pd,mnd->mpn", x, w) * c + z
    for k in range(x.shape[1]):                 # a few fused multiply-adds beat einsum's permuted output
        z = torch.addcmul(z, x[None, :, k:k + 1], w[:, None, :, k], value=c)
    return z


def _gram(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.dim() == 2 and b.dim() == 2:
        return (a @ b.T)[None]
    if a.dim() == 2:
        a = a.expand(b.shape[0], *a.shape)
    if b.dim() == 2:
        b = b.expand(a.shape[0], *b.shape)
    return torch.bmm(a, b.transpose(1, 2))


def ntk(spec: NetworkSpec, params: Params, xa: torch.Tensor, xb: torch.Tensor | None = None,
        trainable: str = "all") -> torch.Tensor:
    """Empirical NTK Θ̂(xa, xb) of every network, (M, Pa, Pb); trainable 'readout' keeps only the last
    layer's term (the nngp-mode kernel)."""
    m = params[0][0].shape[0]
    pts = xa.shape[0] + (0 if xb is None else xb.shape[0])
    step = chunk_size(m, pts, spec.width)
    qa = normalisers(spec, xa)
    qb = qa if xb is None else normalisers(spec, xb)
    out = []
    for lo in range(0, m, step):
        check_cancelled()
        part = [(w[lo:lo + step], b[lo:lo + step]) for w, b in params]
        fa = _layer_features(spec, part, xa, qa, trainable)
        fb = fa if xb is None else _layer_features(spec, part, xb, qb, trainable)
        total = None
        for (da, ha, c2, s2), (db, hb, _, _) in zip(fa, fb):
            term = _gram(da, db) * (c2 * _gram(ha, hb) + s2)
            total = term if total is None else total + term
        out.append(total)
    return torch.cat(out)


def loss_gradients(spec: NetworkSpec, params: Params, x: torch.Tensor, qs, y: torch.Tensor,
                   trainable: str = "all"):
    """(per-network loss (M,), outputs f (M, n), gradients of Σ_m L_m w.r.t. the trained tensors),
    L = (1/2n)Σ(f − y)²: hand-written backpropagation (a third of autograd's memory traffic), autograd
    for activations without a closed-form derivative."""
    act = get_activation(spec.activation)
    mults = multipliers(spec)
    hs, gs = [x], []
    h = x
    for layer in range(spec.depth):
        (w, b), (c, s) = params[layer], mults[layer]
        if h.dim() == 2:
            z = _input_layer(h, w, b, c, s)
        else:
            z = torch.baddbmm((b * s)[:, None, :], h, w.transpose(1, 2), alpha=c)
        pair = act.value_and_grad(z, qs[layer])
        if pair is None:
            return _autograd_loss_gradients(spec, params, x, qs, y, trainable)
        h, g = pair
        hs.append(h)
        gs.append(g)
    (a, cb), (c_out, s_out) = params[-1], mults[-1]
    f = torch.baddbmm((cb * s_out)[:, None, :], h, a.transpose(1, 2), alpha=c_out)[..., 0]
    n = f.shape[1]
    resid = (f - y) / n                                             # ∂(Σ_m L_m)/∂f, (M, n)
    per_net = 0.5 * n * (resid * resid).sum(dim=1)
    grads = [(torch.bmm(resid[:, None, :], h).mul_(c_out), resid.sum(dim=1, keepdim=True).mul_(s_out))]
    if trainable == "all" and spec.depth == 1:
        # ∂/∂z¹ = resid_p·c_out·a_i·φ'(z_pi) is rank one in (p, i) up to φ': contract φ' with the residual
        # (and residual·x) in one bmm instead of materialising ∂/∂z¹.
        (c, s), d = mults[0], x.shape[1]
        weights = torch.cat([resid[:, :, None] * x[None], resid[:, :, None]], dim=2)       # (M, n, d + 1)
        moments = torch.bmm(weights.transpose(1, 2), gs[0]).mul_(a)                       # (M, d + 1, N)
        grads.append((moments[:, :d].transpose(1, 2).mul(c * c_out), moments[:, d].mul(s * c_out)))
    elif trainable == "all":
        delta = resid[:, :, None] * (a * c_out)                     # ∂/∂h^L, (M, n, N)
        for layer in range(spec.depth - 1, -1, -1):
            (w, _), (c, s) = params[layer], mults[layer]
            delta = delta.mul_(gs[layer])                                # ∂/∂z^l (delta is always fresh)
            h_in = hs[layer]
            if h_in.dim() == 2:
                gw = torch.einsum("mpn,pd->mnd", delta, h_in).mul_(c)
            else:
                gw = torch.bmm(delta.transpose(1, 2), h_in).mul_(c)
            grads.append((gw, delta.sum(dim=1).mul_(s)))
            if layer > 0:
                delta = torch.bmm(delta, w).mul_(c)
    grads.reverse()
    flat = tuple(t for pair in grads for t in pair)
    return per_net, f, flat


def _autograd_loss_gradients(spec: NetworkSpec, params: Params, x: torch.Tensor, qs, y: torch.Tensor,
                             trainable: str = "all"):
    """The autograd reference for `loss_gradients`: same outputs, gradients by torch.autograd."""
    leaves = [t.detach().requires_grad_(True) for pair in params for t in pair]
    pairs = [(leaves[2 * i], leaves[2 * i + 1]) for i in range(len(params))]
    with torch.enable_grad():
        f = forward(spec, pairs, x, qs)
        per_net = 0.5 * ((f - y) ** 2).mean(dim=1)
        wanted = leaves if trainable == "all" else leaves[-2:]
        grads = torch.autograd.grad(per_net.sum(), wanted)
    return per_net.detach(), f.detach(), grads


__all__ = ["forward", "ntk", "loss_gradients", "multipliers", "normalisers", "chunk_size"]
