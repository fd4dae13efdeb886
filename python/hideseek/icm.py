"""Intrinsic Curiosity Module (Pathak et al. 2017).

phi encodes the agent's own observation (the four actor inputs, flattened). The inverse model
predicts every action branch from (phi(s), phi(s')); the forward model predicts phi(s') from
phi(s) and the one-hot action. Loss = (1 - beta) * L_inv + beta * L_fwd, trained in the same
minibatch loop as PPO. The raw curiosity of a transition is the forward model's error
1/2 ||phi_hat(s') - phi(s')||^2; the learner divides it by a running std of discounted
intrinsic returns (Burda et al. 2019), so rewards have a stable scale whatever the feature
scale. Pathak's ``eta`` would be divided out by that normalization, so there is none: the one
knob for how much curiosity matters is ``icm.coef``, the weight of the intrinsic advantage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .config_io import spec
from .contract import ObsLayout
from .mappo import masked_mean
from .models import BranchIndex
from .normalize import RunningMeanStd


@dataclass(frozen=True)
class ICMConfig:
    coef: float = field(default=0.5, metadata=spec(ge=0.0, doc="intrinsic advantage weight; 0 = off"))
    beta: float = field(default=0.2, metadata=spec(ge=0.0, le=1.0))
    loss_coef: float = field(default=1.0, metadata=spec(ge=0.0, doc="weight of the ICM loss in the joint loss"))
    feature_dim: int = field(default=64, metadata=spec(ge=2, le=4096))
    hidden: int = field(default=128, metadata=spec(ge=2, le=4096))
    gamma: float = field(default=0.99, metadata=spec(ge=0.0, le=1.0,
                                                     doc="discount of the intrinsic returns"))

    @property
    def enabled(self) -> bool:
        return self.coef > 0.0


def flat_obs(obs: tuple[Tensor, ...] | list[Tensor]) -> Tensor:
    """Concatenate the four per-agent observations into one vector per sample ``[..., F]``;
    the observations' leading dims are kept (``obs_0`` has one feature dim, the others two)."""
    return torch.cat([obs[0]] + [o.flatten(-2) for o in obs[1:]], dim=-1)


def forward_error(pred_next: Tensor, phi_next: Tensor) -> Tensor:
    """1/2 ||phi_hat(s') - phi(s')||^2 per sample: the forward loss and the raw curiosity."""
    return 0.5 * ((pred_next - phi_next) ** 2).sum(-1)


def icm_losses(phi_next: Tensor, pred_next: Tensor, inv_logp: Tensor, actions: Tensor, beta: float,
               weight: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """-> ``(loss, L_inv, L_fwd)``.

    L_inv: cross-entropy of the taken action, averaged over branches, from per-branch log-probs
    ``inv_logp`` [M, n_branches, width]. L_fwd: the forward error. Both are weighted means.
    """
    nll = -inv_logp.gather(-1, actions.unsqueeze(-1)).squeeze(-1).mean(-1)
    l_inv = masked_mean(nll, weight)
    l_fwd = masked_mean(forward_error(pred_next, phi_next), weight)
    return (1.0 - beta) * l_inv + beta * l_fwd, l_inv, l_fwd


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
        self.branches = tuple(layout.action_branches)

    def encode(self, obs: tuple[Tensor, ...]) -> Tensor:
        return self.encoder(flat_obs(obs))

    def predict(self, phi: Tensor, phi_next: Tensor, actions: Tensor,
                branch_index: BranchIndex) -> tuple[Tensor, Tensor]:
        """-> ``(phi_hat(s'), inverse log-probs [M, n_branches, width])`` from encoded states."""
        pred_next = self.forward_model(torch.cat([phi, branch_index.one_hot(actions)], -1))
        inv_logits = self.inverse(torch.cat([phi, phi_next], -1))
        all_ok = torch.ones_like(inv_logits, dtype=torch.bool)
        return pred_next, branch_index.log_probs(inv_logits, all_ok)


class IntrinsicScale(nn.Module):
    """Running std of discounted intrinsic returns, one return per agent stream (Burda et al.).

    Only samples with weight 1 count: absent slots, agents that cannot act and frozen-opponent
    arenas carry no curiosity and must not shrink the std."""

    def __init__(self, gamma: float):
        super().__init__()
        self.gamma = float(gamma)
        self.stats = RunningMeanStd()
        self.register_buffer("ret", torch.zeros(0, dtype=torch.float64))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The return filter has one entry per agent stream; a checkpoint of another arena count
        # brings its own size.
        if prefix + "ret" in state_dict:
            self.ret = torch.empty_like(state_dict[prefix + "ret"], device=self.ret.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def normalize(self, raw: Tensor, weight: Tensor) -> Tensor:
        """``raw``, ``weight`` [T, M] -> ``raw / std``; updates the statistics first."""
        if self.ret.shape != raw.shape[1:]:  # first use, or a different number of arenas
            self.ret = torch.zeros(raw.shape[1:], dtype=torch.float64, device=raw.device)
        rets = torch.empty_like(raw, dtype=torch.float64)
        for t in range(raw.shape[0]):
            # A stream that did not act keeps its return: the filter runs over acting steps only.
            self.ret.copy_(torch.where(weight[t] > 0, self.ret * self.gamma + raw[t], self.ret))
            rets[t] = self.ret
        self.stats.update(rets, weight)
        return (raw / self.stats.std).to(raw.dtype)
