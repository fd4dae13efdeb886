"""MAPPO (Yu et al. 2022) as pure functions: GAE, clipped surrogate, clipped Huber value loss.

The update that uses them, top to bottom, is ``hideseek.learner.Learner.update``.

Every loss takes a ``weight`` (0/1 per sample) so that absent agent slots, agents that cannot act
(seekers during preparation) and arenas where a team played a frozen past opponent are left out
without reshaping batches. All functions stay on the tensors' device.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from .config_io import spec


@dataclass(frozen=True)
class PPOConfig:
    lr: float = field(default=5e-4, metadata=spec(gt=0.0, le=1.0))
    adam_eps: float = field(default=1e-5, metadata=spec(gt=0.0))
    gamma: float = field(default=0.998, metadata=spec(ge=0.0, le=1.0))
    gae_lambda: float = field(default=0.95, metadata=spec(ge=0.0, le=1.0))
    clip: float = field(default=0.2, metadata=spec(gt=0.0, lt=1.0))
    value_clip: float = field(default=0.2, metadata=spec(gt=0.0))
    huber_delta: float = field(default=10.0, metadata=spec(gt=0.0))
    entropy_coef: float = field(default=0.01, metadata=spec(ge=0.0))
    value_coef: float = field(default=1.0, metadata=spec(ge=0.0))
    max_grad_norm: float = field(default=10.0, metadata=spec(gt=0.0))
    epochs: int = field(default=1, metadata=spec(ge=1, le=100))
    minibatches: int = field(default=2, metadata=spec(ge=1, le=1024))
    chunk_length: int = field(default=16, metadata=spec(
        ge=1, le=10_000, doc="recurrent models train on chunks of this many steps"))
    value_norm: bool = True
    advantage_norm: bool = True


# --------------------------------------------------------------------------- pure functions

def masked_mean(x: Tensor, weight: Tensor) -> Tensor:
    w = weight.to(x.dtype)
    return (x * w).sum() / w.sum().clamp(min=1.0)


def gae(rewards: Tensor, values: Tensor, next_values: Tensor, dones: Tensor, valid: Tensor,
        gamma: float | Tensor, lam: float) -> tuple[Tensor, Tensor]:
    """Generalized advantage estimation over time (dim 0), for any trailing stream dims.

    ``next_values[t]`` is the value of the state after step t: ``values[t+1]`` inside an episode,
    the value of the final observation where the episode was truncated at t (``dones[t]``), and
    the bootstrap value at the end of the rollout. ``dones`` only stops the recursion: truncation
    still bootstraps. ``valid[t]`` False marks a step that was never observed (a restarted Unity
    worker): its advantage is 0 and it does not feed the steps before it, which bootstrap from
    the value of the (observed) state at t instead. ``dones``/``valid`` broadcast against
    ``rewards`` from the left; ``gamma`` may be a tensor per stream. Returns
    ``(advantages, returns = advantages + values)``.
    """
    def expand(x: Tensor) -> Tensor:
        x = x.to(rewards.dtype)
        return x.reshape(*x.shape, *([1] * (rewards.dim() - x.dim())))

    ok = expand(valid)
    carry = (1.0 - expand(dones)) * torch.cat([ok[1:], torch.ones_like(ok[:1])])
    delta = rewards + gamma * next_values - values
    adv = torch.empty_like(rewards)
    last = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        last = (delta[t] + gamma * lam * carry[t] * last) * ok[t]
        adv[t] = last
    return adv, adv + values


def clipped_surrogate(logp: Tensor, old_logp: Tensor, adv: Tensor, clip: float,
                      weight: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """PPO's clipped objective as a loss -> ``(loss, clip fraction, approx KL)``."""
    log_ratio = logp - old_logp
    ratio = log_ratio.exp()
    surr = torch.min(ratio * adv, ratio.clamp(1.0 - clip, 1.0 + clip) * adv)
    loss = -masked_mean(surr, weight)
    with torch.no_grad():
        clipfrac = masked_mean(((ratio - 1.0).abs() > clip).float(), weight)
        approx_kl = masked_mean((ratio - 1.0) - log_ratio, weight)  # Schulman's k3 estimator
    return loss, clipfrac, approx_kl


def huber(x: Tensor, delta: float) -> Tensor:
    a = x.abs()
    return torch.where(a <= delta, 0.5 * x ** 2, delta * (a - 0.5 * delta))


def clipped_value_loss(pred: Tensor, old: Tensor, target: Tensor, clip: float, delta: float,
                       weight: Tensor) -> Tensor:
    """MAPPO's value loss: max of the Huber losses of the raw and the clipped prediction."""
    clipped = old + (pred - old).clamp(-clip, clip)
    loss = torch.max(huber(target - pred, delta), huber(target - clipped, delta))
    if loss.dim() > weight.dim():
        loss = loss.sum(-1)
    return masked_mean(loss, weight)


def explained_variance(pred: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """1 - Var[target - pred] / Var[target] over weighted samples (NaN-free: 0 if Var = 0)."""
    w = weight.to(pred.dtype)
    n = w.sum().clamp(min=1.0)
    mt = (target * w).sum() / n
    var_t = (((target - mt) ** 2) * w).sum() / n
    err = target - pred
    me = (err * w).sum() / n
    var_e = (((err - me) ** 2) * w).sum() / n
    return torch.where(var_t > 1e-12, 1.0 - var_e / var_t.clamp(min=1e-12), torch.zeros_like(var_t))
