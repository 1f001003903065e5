"""C(rθ̂) on rays by a plain 2-D rule over the first layer's parameters, for every prior and activation the CDF
methods (`neuron_cf`, `neuron_cf_fold`) do not cover (docs/physics.md §4.6).

C(t) = E_{w,b}[ψ(s·(t₁φ(wx₁ + b) + t₂φ(wx₂ + b)))] with ψ the prior's characteristic function, on a tensor
composite Gauss–Legendre rule in the standardized (u, v) (split at laplace's kink, uniform's edges, graded
into student-t's tails). The integrand is a ridge of width ~1/(s r |∇U|) around U_θ = 0, so the pieces are made
that narrow for the largest r needed: affordable only where C^N decays fast (large N). The caller compares two
resolutions (`resolution`) and refuses the density where they disagree.
"""
from __future__ import annotations

import math

import numpy as np

from ..activations import get_activation
from ..spec import NetworkSpec
from .density import characteristic_function
from .first_layer import axis_rule, bounded_reach

_L = 10          # Legendre nodes per piece
_CORE = 5.0      # standardized |u| up to which pieces keep their fine width (geometric beyond)


class ParameterRule:
    """(h₁, h₂) = (φ(z(x₁)), φ(z(x₂))) and weights on a tensor rule fine enough for |t| ≤ r_max."""

    def __init__(self, spec: NetworkSpec, x1: float, x2: float, r_max: float, resolution: float = 1.0,
                 max_nodes: float = float("inf")):
        act = get_activation(spec.activation)
        s = spec.sigma_w / math.sqrt(spec.width)
        sw, sb = spec.sigma_w, spec.sigma_b
        zmax = 12.0 * math.hypot(sw * max(abs(x1), abs(x2)), sb)
        grad = float(np.abs(act.numpy_grad(np.linspace(-zmax, zmax, 4001), 0.0)).max())
        slope_u = s * r_max * math.sqrt(2.0) * grad * sw * max(abs(x1), abs(x2))   # |∂(sU)/∂u| at radius r_max
        slope_v = s * r_max * math.sqrt(2.0) * grad * sb
        h_u = resolution * min(1.0, 1.0 / max(sw * max(abs(x1), abs(x2)), 1e-300), 1.5 / max(slope_u, 1e-300))
        h_v = resolution * min(1.0, 1.0 / max(sb, 1e-300), 1.5 / max(slope_v, 1e-300))
        # |ψ| ≤ 1: the prior's mass beyond `bounded_reach` (1e-15 per axis) bounds what the cut leaves out of C
        reach = bounded_reach(spec.prior, spec.prior_dof)
        u, wu = axis_rule(spec.prior, h_u, spec.prior_dof, n=_L, growth=h_u / _CORE, core=_CORE, reach=reach)
        v, wv = axis_rule(spec.prior, h_v, spec.prior_dof, n=_L, growth=h_v / _CORE, core=_CORE, reach=reach)
        keep_u, keep_v = wu > 1e-300, wv > 1e-300
        u, wu, v, wv = u[keep_u], wu[keep_u], v[keep_v], wv[keep_v]
        self.size = len(u) * len(v)
        self.prior, self.dof, self.s = spec.prior, spec.prior_dof, s
        if self.size > max_nodes:   # the caller refuses: do not build it
            self.h1 = self.h2 = self.weights = np.zeros(0)
            return
        w, b = np.meshgrid(sw * u, sb * v, indexing="ij")
        self.h1 = act.numpy_fn(w * x1 + b, 0.0).ravel()
        self.h2 = act.numpy_fn(w * x2 + b, 0.0).ravel()
        self.weights = np.outer(wu, wv).ravel()

    def __len__(self) -> int:
        return self.size

    def ray(self, theta: float) -> RuleRayCF:
        return RuleRayCF(self, theta)


class RuleRayCF:
    def __init__(self, rule: ParameterRule, theta: float):
        self.rule = rule
        self.proj = math.cos(theta) * rule.h1 + math.sin(theta) * rule.h2
        self.bandwidth = rule.s * float(np.abs(self.proj).max())
        self.work = 0
        self.u = self.proj            # for the cost model: C(r) costs one ψ per node and radius

    def __call__(self, r: np.ndarray) -> np.ndarray:
        r = np.asarray(r, dtype=np.float64)
        out = np.empty(len(r))
        for i in range(0, len(r), 16):   # bounded memory
            arg = self.rule.s * np.outer(r[i:i + 16], self.proj)
            out[i:i + 16] = characteristic_function(self.rule.prior, arg, self.rule.dof) @ self.rule.weights
        return out
