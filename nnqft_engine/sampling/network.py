"""The finite network as pure functions, batched over an ensemble (docs/physics.md §1–2).

Parameters are a list of (W, b) pairs, one per layer (hidden layers, then the readout), each with a
leading ensemble axis: W (M, fan_out, fan_in), b (M, fan_out). What is *stored* depends on the
parameterization, and gradients (the empirical NTK) are taken with respect to what is stored:

- ntk: standardized ω, β; the forward pass uses W = σ_w/√fan_in·ω and b = σ_b·β;
- standard: W, b themselves, drawn with variance σ_w²/fan_in and σ_b².

Both give the same ensemble of functions at initialization; only the NTK differs. Biases are always
parameters, also when σ_b = 0.
"""
from __future__ import annotations

import math

import torch
from torch.func import jacrev, vmap

from ..activations import get_activation
from ..dependence import readout_factors
from ..devices import make_generator
from ..priors import sample_standardized
from ..spec import NetworkSpec, as_points, layer_variances

Params = list[tuple[torch.Tensor, torch.Tensor]]

# Elements of the per-chunk Jacobian array (networks × points × parameters) in `empirical_ntk`.
_JACOBIAN_BUDGET = 1 << 24


def layer_shapes(spec: NetworkSpec) -> list[tuple[int, int]]:
    """(fan_out, fan_in) of every layer, hidden layers first, readout last."""
    n, d = spec.width, spec.input_dim
    return [(n, d)] + [(n, n)] * (spec.depth - 1) + [(1, n)]


def layer_scales(spec: NetworkSpec) -> list[tuple[float, float]]:
    """(σ_w/√fan_in, σ_b) per layer: the multipliers of the stored ω, β in the ntk parameterization."""
    return [(spec.sigma_w / math.sqrt(fan_in), spec.sigma_b) for _, fan_in in layer_shapes(spec)]


def multipliers(spec: NetworkSpec) -> list[tuple[float, float]]:
    """What the forward pass multiplies the stored parameters by."""
    if spec.parameterization == "ntk":
        return layer_scales(spec)
    return [(1.0, 1.0)] * (spec.depth + 1)


def init_params(spec: NetworkSpec, ensemble: int, seed: int, device: str | torch.device = "cpu",
                dtype: torch.dtype = torch.float64, generator: torch.Generator | None = None) -> Params:
    """Draw `ensemble` networks under spec.prior from an explicit generator (never the global RNG)."""
    device = torch.device(device)
    gen = generator if generator is not None else make_generator(seed, device, 0)
    store_standardized = spec.parameterization == "ntk"
    params: Params = []
    for (fan_out, fan_in), (sw, sb) in zip(layer_shapes(spec), layer_scales(spec)):
        w = sample_standardized(spec.prior, (ensemble, fan_out, fan_in), gen, dtype=dtype, device=device,
                                dof=spec.prior_dof)
        b = sample_standardized(spec.prior, (ensemble, fan_out), gen, dtype=dtype, device=device,
                                dof=spec.prior_dof)
        params.append((w, b) if store_standardized else (w * sw, b * sb))
    factor = readout_factors(spec, params[0][0], gen)
    if not isinstance(factor, float):
        w_out, b_out = params[-1]
        params[-1] = (w_out * factor[:, None, :], b_out)  # (m, 1 or width) per readout weight
    return params


def normalisers(spec: NetworkSpec, x: torch.Tensor) -> list[torch.Tensor]:
    """Infinite-width variance q per hidden layer at each point, shape (P, 1): gauss-net's normaliser
    (every other activation ignores it). Pure torch, so f can be differentiated in x under torch.func."""
    return [q[:, None] for q in layer_variances(spec, x)]


def _single_forward(spec: NetworkSpec, flat: tuple[torch.Tensor, ...], x: torch.Tensor,
                    qs: list[torch.Tensor]) -> torch.Tensor:
    """One network: flat = (W¹, b¹, …, W^{L+1}, b^{L+1}) without ensemble axis; returns f at x, shape (P,)."""
    act = get_activation(spec.activation)
    h = x
    mults = multipliers(spec)
    for layer, (sw, sb) in enumerate(mults):
        w, b = flat[2 * layer], flat[2 * layer + 1]
        z = h @ (w * sw).T + b * sb
        if layer == spec.depth:
            return z[:, 0]
        h = act(z, qs[layer])
    raise AssertionError("unreachable")


def _points(spec: NetworkSpec, x, like: torch.Tensor) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        x = x.to(like.dtype).to(like.device)
        return x.reshape(-1, 1) if x.ndim == 1 and spec.input_dim == 1 else x
    return torch.as_tensor(as_points(x, spec.input_dim), dtype=like.dtype, device=like.device)


def _flatten(params: Params) -> tuple[torch.Tensor, ...]:
    return tuple(t for pair in params for t in pair)


def apply(spec: NetworkSpec, params: Params, x) -> torch.Tensor:
    """Outputs of every network of the ensemble at points x (P, d): shape (M, P)."""
    flat = _flatten(params)
    xt = _points(spec, x, flat[0])
    qs = normalisers(spec, xt)
    return vmap(lambda p: _single_forward(spec, p, xt, qs))(flat)


def empirical_ntk(spec: NetworkSpec, params: Params, x1, x2=None) -> torch.Tensor:
    """Θ̂(x1, x2) = ∇_θ f(x1) · ∇_θ f(x2) for every network, θ = the stored parameters: (M, P1, P2)."""
    flat = _flatten(params)
    a = _points(spec, x1, flat[0])
    b = a if x2 is None else _points(spec, x2, flat[0])
    qa, qb = normalisers(spec, a), normalisers(spec, b)
    same = x2 is None

    def one(p: tuple[torch.Tensor, ...]) -> torch.Tensor:
        ja = jacrev(lambda q: _single_forward(spec, q, a, qa))(p)
        jb = ja if same else jacrev(lambda q: _single_forward(spec, q, b, qb))(p)
        return sum(u.reshape(u.shape[0], -1) @ v.reshape(v.shape[0], -1).T for u, v in zip(ja, jb))

    m = flat[0].shape[0]
    per_net = sum(t[0].numel() for t in flat) * (len(a) + len(b))
    chunk = max(1, _JACOBIAN_BUDGET // per_net)
    return torch.cat([vmap(one)(tuple(t[lo:lo + chunk] for t in flat)) for lo in range(0, m, chunk)])


def n_params(spec: NetworkSpec) -> int:
    """Trainable parameters of one network (every weight and every bias)."""
    return sum(o * i + o for o, i in layer_shapes(spec))


__all__ = ["Params", "init_params", "apply", "empirical_ntk", "layer_shapes", "layer_scales", "n_params"]
