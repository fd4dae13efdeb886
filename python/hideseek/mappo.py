"""MAPPO (Yu et al. 2022): GAE, clipped surrogate, clipped Huber value loss, one team's learner.

Every loss takes a ``weight`` (0/1 per sample) so that absent agent slots, agents that cannot act
(seekers during preparation) and arenas where a team played a frozen past opponent are left out
without reshaping batches. All functions stay on the tensors' device.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .config_io import spec
from .contract import ObsLayout
from .models import (BranchIndex, ModelConfig, TeamModel, action_log_prob, entropy)
from .normalize import ValueNorm


@dataclass(frozen=True)
class PPOConfig:
    lr: float = field(default=5e-4, metadata=spec(gt=0.0, le=1.0))
    adam_eps: float = field(default=1e-5, metadata=spec(gt=0.0))
    gamma: float = field(default=0.99, metadata=spec(ge=0.0, le=1.0))
    gae_lambda: float = field(default=0.95, metadata=spec(ge=0.0, le=1.0))
    clip: float = field(default=0.2, metadata=spec(gt=0.0, lt=1.0))
    value_clip: float = field(default=0.2, metadata=spec(gt=0.0))
    huber_delta: float = field(default=10.0, metadata=spec(gt=0.0))
    entropy_coef: float = field(default=0.01, metadata=spec(ge=0.0))
    value_coef: float = field(default=1.0, metadata=spec(ge=0.0))
    max_grad_norm: float = field(default=10.0, metadata=spec(gt=0.0))
    epochs: int = field(default=4, metadata=spec(ge=1, le=100))
    minibatches: int = field(default=4, metadata=spec(ge=1, le=1024))
    value_norm: bool = True
    advantage_norm: bool = True


# --------------------------------------------------------------------------- pure functions

def masked_mean(x: Tensor, weight: Tensor) -> Tensor:
    w = weight.to(x.dtype)
    return (x * w).sum() / w.sum().clamp(min=1.0)


def gae(rewards: Tensor, values: Tensor, next_values: Tensor, dones: Tensor,
        gamma: float, lam: float) -> tuple[Tensor, Tensor]:
    """Generalized advantage estimation over time (dim 0).

    ``next_values[t]`` is the value of the state after step t: ``values[t+1]`` inside an episode,
    the value of the final observation where the episode was truncated at t (``dones[t]``), and
    the bootstrap value at the end of the rollout. ``dones`` only stops the recursion: truncation
    still bootstraps. Returns ``(advantages, returns = advantages + values)``.
    """
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[0])
    carry = 1.0 - dones.to(rewards.dtype)
    for t in range(rewards.shape[0] - 1, -1, -1):
        delta = rewards[t] + gamma * next_values[t] - values[t]
        last = delta + gamma * lam * carry[t] * last
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


# --------------------------------------------------------------------------- one team's learner

@dataclass
class TeamBatch:
    """Flat samples of one team (every tensor has the same first dimension M)."""

    obs: tuple[Tensor, Tensor, Tensor, Tensor]
    memory: Tensor | None     # [M, 1, memory_size] actor memory before the step
    state: Tensor             # [M, S]
    slot: Tensor              # [M] int64 agent slot
    mask: Tensor              # [M, 37] bool
    actions: Tensor           # [M, n_branches] int64
    logp: Tensor              # [M] log-prob under the behaviour policy
    values: Tensor            # [M, 2] denormalized values (ext, int) at collection
    returns: Tensor           # [M, 2] GAE targets (denormalized)
    adv: Tensor               # [M] combined advantage
    act_weight: Tensor        # [M] float: 1 = counts for the actor loss
    value_weight: Tensor      # [M] float: 1 = counts for the value loss

    def index(self, idx: Tensor) -> "TeamBatch":
        return TeamBatch(
            obs=tuple(o[idx] for o in self.obs),
            memory=None if self.memory is None else self.memory[idx],
            **{k: getattr(self, k)[idx] for k in ("state", "slot", "mask", "actions", "logp",
                                                   "values", "returns", "adv", "act_weight",
                                                   "value_weight")})


class TeamLearner(nn.Module):
    """A team's shared actor-critic, its optimizer and its value normalizer."""

    def __init__(self, layout: ObsLayout, model_cfg: ModelConfig, cfg: PPOConfig,
                 device: torch.device | str = "cpu"):
        super().__init__()
        self.cfg = cfg
        self.model = TeamModel(layout, model_cfg)
        self.value_norm = ValueNorm(2)
        self.to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, eps=cfg.adam_eps)
        self.branch_index = BranchIndex(layout.action_branches, device)

    def values(self, state: Tensor, slot: Tensor) -> Tensor:
        """Denormalized [M, 2] values (ext, int)."""
        v = self.model.critic(state, slot)
        return self.value_norm.denormalize(v) if self.cfg.value_norm else v

    def update(self, batch: TeamBatch, generator: torch.Generator,
               use_intrinsic: bool) -> dict[str, Tensor]:
        """``epochs`` x ``minibatches`` PPO steps; returns device scalars (no host sync)."""
        cfg = self.cfg
        streams = 2 if use_intrinsic else 1
        if cfg.value_norm:
            self.value_norm.update(batch.returns, batch.value_weight)
            target = self.value_norm.normalize(batch.returns)
            old = self.value_norm.normalize(batch.values)
        else:
            target, old = batch.returns, batch.values
        adv = batch.adv
        if cfg.advantage_norm:
            w = batch.act_weight
            mean = masked_mean(adv, w)
            std = torch.sqrt(masked_mean((adv - mean) ** 2, w)).clamp(min=1e-8)
            adv = (adv - mean) / std
        m = adv.shape[0]
        size = -(-m // cfg.minibatches)
        sums: dict[str, Tensor] = {}
        steps = 0
        for _ in range(cfg.epochs):
            perm = torch.randperm(m, generator=generator, device=generator.device).to(adv.device)
            for start in range(0, m, size):
                idx = perm[start:start + size]
                mb = batch.index(idx)
                logits, _ = self.model.actor(*mb.obs, mb.memory)
                logp_all = self.branch_index.log_probs(logits, mb.mask)
                logp = action_log_prob(logp_all, mb.actions)
                ent = masked_mean(entropy(logp_all), mb.act_weight)
                pg_loss, clipfrac, kl = clipped_surrogate(logp, mb.logp, adv[idx], cfg.clip,
                                                          mb.act_weight)
                v = self.model.critic(mb.state, mb.slot)[:, :streams]
                v_loss = clipped_value_loss(v, old[idx, :streams], target[idx, :streams],
                                            cfg.value_clip, cfg.huber_delta, mb.value_weight)
                loss = pg_loss - cfg.entropy_coef * ent + cfg.value_coef * v_loss
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                self.optimizer.step()
                for k, val in (("policy_loss", pg_loss), ("value_loss", v_loss), ("entropy", ent),
                               ("approx_kl", kl), ("clip_fraction", clipfrac),
                               ("grad_norm", grad_norm)):
                    sums[k] = sums.get(k, 0.0) + val.detach()
                steps += 1
        stats = {k: v / steps for k, v in sums.items()}
        with torch.no_grad():
            stats["explained_variance"] = explained_variance(
                batch.values[:, 0], batch.returns[:, 0], batch.value_weight)
            if use_intrinsic:
                stats["explained_variance_int"] = explained_variance(
                    batch.values[:, 1], batch.returns[:, 1], batch.value_weight)
        return stats
