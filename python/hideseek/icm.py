"""Intrinsic Curiosity Module (Pathak et al. 2017), one per team.

phi encodes the agent's own observation (the four actor inputs, flattened). The inverse model
predicts every action branch from (phi(s), phi(s')); the forward model predicts phi(s') from
phi(s) and the one-hot action. Loss = (1 - beta) * L_inv + beta * L_fwd. The curiosity reward of
a transition is eta / 2 * ||phi_hat(s') - phi(s')||^2; the trainer divides it by a running std of
discounted intrinsic returns (Burda et al. 2019) and learns it with its own value head.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .config_io import spec
from .contract import ObsLayout
from .mappo import masked_mean
from .models import BranchIndex


@dataclass(frozen=True)
class ICMConfig:
    coef: float = field(default=0.5, metadata=spec(ge=0.0, doc="intrinsic advantage weight; 0 = off"))
    beta: float = field(default=0.2, metadata=spec(ge=0.0, le=1.0))
    eta: float = field(default=1.0, metadata=spec(gt=0.0))
    feature_dim: int = field(default=64, metadata=spec(ge=2, le=4096))
    hidden: int = field(default=128, metadata=spec(ge=2, le=4096))
    lr: float = field(default=5e-4, metadata=spec(gt=0.0, le=1.0))
    gamma: float = field(default=0.99, metadata=spec(ge=0.0, le=1.0,
                                                     doc="discount of the intrinsic returns"))
    epochs: int = field(default=1, metadata=spec(ge=1, le=100, doc="passes over each rollout"))

    @property
    def enabled(self) -> bool:
        return self.coef > 0.0


def flat_obs(obs: tuple[Tensor, ...] | list[Tensor]) -> Tensor:
    """Concatenate the four per-agent observations into one vector per sample."""
    return torch.cat([o.reshape(o.shape[0], -1) for o in obs], dim=-1)


def icm_losses(phi_next: Tensor, pred_next: Tensor, inv_logp: Tensor, actions: Tensor, beta: float,
               weight: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """-> ``(loss, L_inv, L_fwd)``.

    L_inv: cross-entropy of the taken action, averaged over branches, from per-branch log-probs
    ``inv_logp`` [M, n_branches, width]. L_fwd: 0.5 * squared error summed over features.
    Both are weighted means over samples.
    """
    nll = -inv_logp.gather(-1, actions.unsqueeze(-1)).squeeze(-1).mean(-1)
    l_inv = masked_mean(nll, weight)
    l_fwd = masked_mean(0.5 * ((pred_next - phi_next) ** 2).sum(-1), weight)
    return (1.0 - beta) * l_inv + beta * l_fwd, l_inv, l_fwd


def intrinsic_reward(pred_next: Tensor, phi_next: Tensor, eta: float) -> Tensor:
    """eta / 2 * ||phi_hat(s') - phi(s')||^2 per sample."""
    return 0.5 * eta * ((pred_next - phi_next) ** 2).sum(-1)


class ICM(nn.Module):
    def __init__(self, layout: ObsLayout, cfg: ICMConfig):
        super().__init__()
        self.cfg = cfg
        in_size = sum(int(torch.tensor(s).prod()) for s in layout.obs_shapes)
        n_act = layout.action_mask_size
        h, f = cfg.hidden, cfg.feature_dim
        self.encoder = nn.Sequential(nn.Linear(in_size, h), nn.ELU(), nn.Linear(h, f))
        self.inverse = nn.Sequential(nn.Linear(2 * f, h), nn.ELU(), nn.Linear(h, n_act))
        self.forward_model = nn.Sequential(nn.Linear(f + n_act, h), nn.ELU(), nn.Linear(h, f))
        self.branch_index = BranchIndex(layout.action_branches)

    def forward(self, obs: tuple[Tensor, ...], next_obs: tuple[Tensor, ...],
                actions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """-> ``(phi(s'), phi_hat(s'), inverse log-probs [M, n_branches, width])``."""
        phi = self.encoder(flat_obs(obs))
        phi_next = self.encoder(flat_obs(next_obs))
        if self.branch_index.index.device != phi.device:
            self.branch_index = BranchIndex(self.branch_index.branches, phi.device)
        pred_next = self.forward_model(torch.cat([phi, self.branch_index.one_hot(actions)], -1))
        inv_logits = self.inverse(torch.cat([phi, phi_next], -1))
        all_ok = torch.ones_like(inv_logits, dtype=torch.bool)
        return phi_next, pred_next, self.branch_index.log_probs(inv_logits, all_ok)

    @torch.no_grad()
    def reward(self, obs: tuple[Tensor, ...], next_obs: tuple[Tensor, ...], actions: Tensor) -> Tensor:
        phi_next, pred_next, _ = self(obs, next_obs, actions)
        return intrinsic_reward(pred_next, phi_next, self.cfg.eta)


class Curiosity(nn.Module):
    """A team's ICM with its optimizer and the running std of discounted intrinsic returns."""

    def __init__(self, layout: ObsLayout, cfg: ICMConfig, streams: int,
                 device: torch.device | str = "cpu"):
        super().__init__()
        from .normalize import DiscountedReturn, RunningMeanStd

        self.cfg = cfg
        self.icm = ICM(layout, cfg)
        self.returns = DiscountedReturn((streams,), cfg.gamma)
        self.return_stats = RunningMeanStd()
        self.to(device)
        self.optimizer = torch.optim.Adam(self.icm.parameters(), lr=cfg.lr)

    @torch.no_grad()
    def rewards(self, obs: tuple[Tensor, ...], next_obs: tuple[Tensor, ...], actions: Tensor,
                weight: Tensor) -> tuple[Tensor, Tensor]:
        """Time-major inputs ``[T, M, ...]`` -> (normalized, raw) intrinsic rewards ``[T, M]``;
        zero where ``weight`` is 0 (the agent could not act or is absent)."""
        t, m = actions.shape[:2]
        flat = lambda xs: tuple(x.reshape(t * m, *x.shape[2:]) for x in xs)  # noqa: E731
        raw = self.icm.reward(flat(obs), flat(next_obs), actions.reshape(t * m, -1))
        raw = raw.view(t, m) * weight
        rets = torch.stack([self.returns.step(raw[i]) for i in range(t)])
        self.return_stats.update(rets)
        return (raw / self.return_stats.std).to(raw.dtype), raw

    def update(self, obs: tuple[Tensor, ...], next_obs: tuple[Tensor, ...], actions: Tensor,
               weight: Tensor, generator: torch.Generator, epochs: int,
               minibatches: int) -> dict[str, Tensor]:
        """Train on flat samples ``[M, ...]``; returns device scalars."""
        m = actions.shape[0]
        size = -(-m // minibatches)
        sums: dict[str, Tensor] = {}
        steps = 0
        for _ in range(epochs):
            perm = torch.randperm(m, generator=generator, device=generator.device).to(actions.device)
            for start in range(0, m, size):
                idx = perm[start:start + size]
                phi_next, pred, inv_logp = self.icm(tuple(o[idx] for o in obs),
                                                    tuple(o[idx] for o in next_obs), actions[idx])
                loss, l_inv, l_fwd = icm_losses(phi_next, pred, inv_logp, actions[idx],
                                                self.cfg.beta, weight[idx])
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                for k, v in (("icm_loss", loss), ("icm_inverse_loss", l_inv),
                             ("icm_forward_loss", l_fwd)):
                    sums[k] = sums.get(k, 0.0) + v.detach()
                steps += 1
        return {k: v / steps for k, v in sums.items()}
