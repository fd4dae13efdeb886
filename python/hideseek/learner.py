"""The learner: every stateful part of training (networks, optimizers, normalizers, curiosity)
and one MAPPO + ICM update that reads top to bottom, as in CleanRL's ``ppo.py``:

    what each sample counts for -> values and curiosity -> GAE -> value normalizer
    -> epochs x minibatches of one joint PPO + ICM loss -> observation normalizers

A *policy group* is one set of parameters and the agent slots that play it: one group for both
teams when ``model.shared_policy`` (the team is an input: ``is_hider``), else one per team.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .buffer import RolloutBuffer
from .contract import TEAMS, ObsLayout
from .icm import ICM, ICMConfig, IntrinsicScale, forward_error, icm_losses
from .mappo import (PPOConfig, clipped_surrogate, clipped_value_loss, explained_variance, gae,
                    masked_mean)
from .models import BranchIndex, ModelConfig, TeamModel, action_log_prob, entropy
from .normalize import ValueNorm


def policy_groups(layout: ObsLayout, shared: bool) -> dict[str, slice]:
    """Policy name -> agent slots: ``{"shared": all}`` or one entry per team."""
    if shared:
        return {"shared": slice(0, layout.max_agents)}
    return layout.team_slices()


@dataclass
class Weights:
    """What each sample ``[T, N, At]`` counts for (float 0/1)."""

    value: Tensor   # present, observed, trainable: the critic learns from it
    act: Tensor     # ... and the agent had a choice: the actor and the ICM learn from it


def sample_weights(buf: RolloutBuffer, slots: slice, train_slots: Tensor,
                   branch_index: BranchIndex) -> Weights:
    """Absent slots, unobserved steps, frozen-opponent slots and teams that do not train count
    for nothing; agents without a choice (seekers in prep) count for the critic only."""
    trainable = buf.trainable[None, :, slots] & train_slots[slots]
    value = buf.present[:, :, slots] & buf.valid[..., None] & trainable
    act = value & branch_index.can_act(buf.mask[:, :, slots])
    return Weights(value=value.float(), act=act.float())


@dataclass
class Targets:
    """What the minibatch loop needs from the rollout, per sample ``[T, N, At, ...]``."""

    old_raw: Tensor       # [..., 2] critic outputs at collection: the value-clipping centre
    values: Tensor        # [..., 2] denormalized V(s_t)
    next_values: Tensor   # [..., 2] V(s_t+1), V(final state) where the episode was truncated
    reward_int: Tensor    # normalized intrinsic reward
    adv: Tensor           # mixed (and normalized) advantage
    returns: Tensor       # [..., 2] GAE returns (denormalized)
    target: Tensor        # [..., 2] value targets in the normalized space


class PolicyGroup(nn.Module):
    """The parameters one group shares, their optimizer and their running statistics."""

    def __init__(self, layout: ObsLayout, model_cfg: ModelConfig, ppo: PPOConfig, icm: ICMConfig):
        super().__init__()
        self.model = TeamModel(layout, model_cfg)
        self.value_norm = ValueNorm(2)
        self.icm = ICM(layout, icm) if icm.enabled else None
        self.intrinsic_scale = IntrinsicScale(icm.gamma) if icm.enabled else None
        self.optimizer: torch.optim.Optimizer | None = None

    def make_optimizer(self, ppo: PPOConfig) -> None:
        params = list(self.model.parameters()) + ([] if self.icm is None else list(self.icm.parameters()))
        self.optimizer = torch.optim.Adam(params, lr=ppo.lr, eps=ppo.adam_eps)


class Learner:
    def __init__(self, layout: ObsLayout, model_cfg: ModelConfig, ppo: PPOConfig, icm: ICMConfig,
                 train_teams: list[str] | tuple[str, ...] = TEAMS,
                 device: torch.device | str = "cpu"):
        self.layout, self.ppo, self.icm_cfg = layout, ppo, icm
        self.device = torch.device(device)
        self.slots = policy_groups(layout, model_cfg.shared_policy)
        self.groups = {name: PolicyGroup(layout, model_cfg, ppo, icm).to(self.device)
                       for name in self.slots}
        for g in self.groups.values():
            g.make_optimizer(ppo)
        self.train_slots = torch.zeros(layout.max_agents, dtype=torch.bool, device=self.device)
        for team in train_teams:
            self.train_slots[layout.team_slice(team)] = True
        teams = layout.team_slices()
        self.trained = [name for name, sl in self.slots.items()  # decided on the host, once
                        if any(teams[t].start < sl.stop and sl.start < teams[t].stop for t in train_teams)]
        self.branch_index = BranchIndex(layout.action_branches, self.device)
        self.gammas = torch.tensor([ppo.gamma, icm.gamma], device=self.device)
        self.recurrent = model_cfg.recurrent != "none"

    @property
    def actors(self) -> dict:
        return {name: g.model.actor for name, g in self.groups.items()}

    def team_group(self, team: str) -> str:
        return "shared" if "shared" in self.groups else team

    # ------------------------------------------------------------------ one update
    def update(self, buf: RolloutBuffer, generator: torch.Generator) -> dict[str, Tensor]:
        """One MAPPO + ICM update of every group that has trainable samples; device scalars."""
        stats: dict[str, Tensor] = {}
        reward_int = torch.zeros_like(buf.reward)
        for name in self.trained:
            slots = self.slots[name]
            group_stats, reward_int[:, :, slots] = self._update_group(
                self.groups[name], slots, buf, generator)
            stats.update({f"{name}/{k}": v for k, v in group_stats.items()})
        observed = buf.present & buf.valid[..., None]
        for team, ts in self.layout.team_slices().items():
            stats[f"{team}/reward_ext"] = masked_mean(buf.reward[:, :, ts], observed[:, :, ts])
            if self.icm_cfg.enabled:
                acted = observed & self.branch_index.can_act(buf.mask)
                stats[f"{team}/reward_int"] = masked_mean(reward_int[:, :, ts], acted[:, :, ts])
        return stats

    def advantages(self, g: PolicyGroup, slots: slice, buf: RolloutBuffer, w: Weights) -> Targets:
        """Values, curiosity, GAE and value targets of one group's samples (no gradients)."""
        cfg, bi = self.ppo, self.branch_index
        T = buf.steps
        obs = tuple(o[:, :, slots] for o in buf.obs)                       # [T+1, N, At, ...]
        # Values of the visited states, the bootstrap state and the final states in one critic
        # pass. The raw outputs are the value-clipping centre: produced under the statistics of
        # the predictions they are compared with (the update moves ValueNorm only afterwards).
        raw = self._critic(g, torch.cat([buf.state, buf.final_state]))[:, :, slots]
        values = g.value_norm.denormalize(raw) if cfg.value_norm else raw  # [T+1+K, N, At, 2]
        next_values = self._pick_next(values[1:], buf)
        # Curiosity: the forward model's error on every transition, features encoded once.
        reward_int = torch.zeros_like(buf.reward[:, :, slots])
        if g.icm is not None:
            finals = tuple(o[:, :, slots] for o in buf.final_obs)
            phi = g.icm.encode(tuple(torch.cat([o, f]) for o, f in zip(obs, finals)))
            phi_next = self._pick_next(phi[1:], buf)
            pred, _ = g.icm.predict(phi[:T], phi_next, buf.actions[:, :, slots], bi)
            raw_int = forward_error(pred, phi_next) * w.act
            reward_int = g.intrinsic_scale.normalize(raw_int.reshape(T, -1),
                                                     w.act.reshape(T, -1)).view_as(raw_int)
        # GAE for both reward streams at once; the advantage mixes them.
        rewards = torch.stack([buf.reward[:, :, slots], reward_int], -1)
        adv2, returns = gae(rewards, values[:T], next_values, buf.truncated, buf.valid,
                            self.gammas, cfg.gae_lambda)
        adv = adv2[..., 0] + (self.icm_cfg.coef * adv2[..., 1] if g.icm is not None else 0.0)
        if cfg.advantage_norm:
            mean = masked_mean(adv, w.act)
            adv = (adv - mean) / torch.sqrt(masked_mean((adv - mean) ** 2, w.act)).clamp(min=1e-8)
        # Value targets in the normalized space of the updated statistics.
        if cfg.value_norm:
            g.value_norm.update(returns, w.value)
            target = g.value_norm.normalize(returns)
        else:
            target = returns
        return Targets(old_raw=raw[:T], values=values[:T], next_values=next_values,
                       reward_int=reward_int, adv=adv, returns=returns, target=target)

    def _update_group(self, g: PolicyGroup, slots: slice, buf: RolloutBuffer,
                      generator: torch.Generator) -> tuple[dict[str, Tensor], Tensor]:
        cfg, bi = self.ppo, self.branch_index
        T, n = buf.steps, buf.arenas
        w = sample_weights(buf, slots, self.train_slots, bi)
        with torch.no_grad():
            tg = self.advantages(g, slots, buf, w)
        obs = tuple(o[:, :, slots] for o in buf.obs)
        actions = buf.actions[:, :, slots]
        next_obs = self._next_obs(buf, slots)
        old_raw, target, adv = tg.old_raw, tg.target, tg.adv

        # 5. Epochs x minibatches over sequences (chunks of L steps of one arena, every slot).
        L = cfg.chunk_length if self.recurrent else 1
        seqs = T // L * n
        size = -(-seqs // cfg.minibatches)
        streams = 2 if g.icm is not None else 1
        sums: dict[str, Tensor] = {}
        steps = 0
        for _ in range(cfg.epochs):
            perm = torch.randperm(seqs, generator=generator).to(self.device)
            for start in range(0, seqs, size):
                idx = perm[start:start + size]
                c, a = idx // n, idx % n

                def per_state(x: Tensor) -> Tensor:
                    """[T, N, ...] -> [B*L, ...], sequence-major."""
                    y = x[:T // L * L].reshape(T // L, L, *x.shape[1:])[c, :, a]   # [B, L, ...]
                    return y.reshape(-1, *y.shape[2:])

                def per_agent(x: Tensor) -> Tensor:
                    """[T, N, At, ...] -> [B*L*At, ...]."""
                    y = per_state(x)
                    return y.reshape(-1, *y.shape[2:])

                mask_mb, act_mb = per_agent(buf.mask[:, :, slots]), per_agent(actions)
                obs_mb = tuple(per_agent(o[:T]) for o in obs)
                logits = self._actor_logits(g, buf, slots, obs_mb, c, a, L)
                logp_all = bi.log_probs(logits, mask_mb)
                logp = action_log_prob(logp_all, act_mb)
                aw, vw = per_agent(w.act), per_agent(w.value)
                ent = masked_mean(entropy(logp_all), aw)
                pg_loss, clipfrac, kl = clipped_surrogate(logp, per_agent(buf.logp[:, :, slots]),
                                                          per_agent(adv), cfg.clip, aw)
                v = self._critic(g, per_state(buf.state[:T]))[:, slots, :streams]
                v = v.reshape(-1, streams)
                v_old = per_agent(old_raw)[..., :streams]
                v_loss = clipped_value_loss(v, v_old, per_agent(target)[..., :streams],
                                            cfg.value_clip, cfg.huber_delta, vw)
                loss = pg_loss - cfg.entropy_coef * ent + cfg.value_coef * v_loss
                parts = {"policy_loss": pg_loss, "value_loss": v_loss, "entropy": ent,
                         "approx_kl": kl, "clip_fraction": clipfrac,
                         "value_clip_fraction": masked_mean(
                             ((v - v_old).abs() > cfg.value_clip).float().amax(-1), vw)}
                if g.icm is not None:
                    phi = g.icm.encode(obs_mb)
                    phi_next = g.icm.encode(tuple(per_agent(o) for o in next_obs))
                    pred, inv_logp = g.icm.predict(phi, phi_next, act_mb, bi)
                    icm_loss, l_inv, l_fwd = icm_losses(phi_next, pred, inv_logp, act_mb,
                                                        self.icm_cfg.beta, aw)
                    loss = loss + self.icm_cfg.loss_coef * icm_loss
                    parts.update(icm_loss=icm_loss, icm_inverse_loss=l_inv, icm_forward_loss=l_fwd)
                g.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                parts["grad_norm"] = nn.utils.clip_grad_norm_(g.parameters(), cfg.max_grad_norm)
                g.optimizer.step()
                for k, val in parts.items():
                    sums[k] = sums.get(k, 0.0) + val.detach()
                steps += 1
        # 6. Observation statistics move after the update: it scored actions with the same
        #    normalization that chose them.
        g.model.actor.update_normalizer(tuple(o[:T] for o in obs), w.value)
        g.model.critic.update_normalizer(buf.state[:T].reshape(T * n, -1),
                                         (w.value.amax(-1) > 0).reshape(-1))

        out = {k: v / steps for k, v in sums.items()}
        out["explained_variance"] = explained_variance(tg.values[..., 0], tg.returns[..., 0], w.value)
        if g.icm is not None:
            out["explained_variance_int"] = explained_variance(tg.values[..., 1], tg.returns[..., 1],
                                                               w.value)
        return out, tg.reward_int

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _critic(g: PolicyGroup, states: Tensor, chunk: int = 16384) -> Tensor:
        """Raw critic outputs ``[..., A, 2]`` for states ``[..., S]``, in a few large batches."""
        lead = states.shape[:-1]
        flat = states.reshape(-1, states.shape[-1])
        out = torch.cat([g.model.critic(flat[i:i + chunk]) for i in range(0, flat.shape[0], chunk)])
        return out.reshape(*lead, *out.shape[1:])

    @staticmethod
    def _pick_next(after: Tensor, buf: RolloutBuffer) -> Tensor:
        """``after`` = [the T states after each step | the K final states] (rows ``[T+K, N, ...]``)
        -> the true successor of each step: the next state inside an episode, the final state
        where the episode was truncated at that step."""
        T, n = buf.steps, buf.arenas
        out = after[:T].clone()
        for j, t in enumerate(buf.final_steps):
            ended = buf.truncated[t].view(n, *([1] * (after.dim() - 2)))
            out[t] = torch.where(ended, after[T + j], out[t])
        return out

    def _next_obs(self, buf: RolloutBuffer, slots: slice) -> tuple[Tensor, ...]:
        """Each step's successor observation (for the ICM loss), or () without curiosity."""
        if not self.icm_cfg.enabled:
            return ()
        return tuple(self._pick_next(torch.cat([o[1:, :, slots], f[:, :, slots]]), buf)
                     for o, f in zip(buf.obs, buf.final_obs))

    def _actor_logits(self, g: PolicyGroup, buf: RolloutBuffer, slots: slice,
                      obs: tuple[Tensor, ...], c: Tensor, a: Tensor, L: int) -> Tensor:
        """Logits ``[B*L*At, 37]`` of a minibatch of sequences (``obs`` flat, sequence-major).
        Recurrent actors run each chunk from its stored start memory, emptied where an episode
        started inside the chunk, so gradients cross time steps as in MAPPO's chunked training."""
        actor = g.model.actor
        if not self.recurrent:
            return actor(*obs, None)[0]
        b, t0 = c.shape[0], c * L
        memory = buf.memory[t0, a][:, slots]                                # [B, At, 1, M]
        at = memory.shape[1]
        memory = memory.reshape(b * at, *memory.shape[2:])
        seq = tuple(o.reshape(b, L, at, *o.shape[1:]) for o in obs)
        logits = []
        for i in range(L):
            if i > 0:  # a new episode (or a restarted worker) starts with empty memory
                ended = buf.truncated[t0 + i - 1, a] | ~buf.valid[t0 + i - 1, a]
                memory = memory * (~ended).repeat_interleave(at).view(-1, 1, 1)
            out, memory = actor(*(o[:, i].reshape(b * at, *o.shape[3:]) for o in seq), memory)
            logits.append(out.view(b, at, -1))
        return torch.stack(logits, 1).reshape(b * L * at, -1)
