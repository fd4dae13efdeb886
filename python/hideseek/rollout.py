"""On-device rollouts of N arenas x T steps for both teams, and their conversion to PPO batches.

The collector never asks the device for a value inside the step loop: actions are sampled with a
torch generator (Gumbel-max), episode ends are known on the host from ``StepOutput.final_obs``
(the simulators count steps themselves), and statistics are summed on the device. It drives any
object with the TwinSim API (``reset``, ``step``, ``num_arenas``, ``layout``, ``device``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .contract import EPISODE_STATS, TEAMS
from .icm import Curiosity
from .mappo import TeamBatch, TeamLearner, gae
from .models import Actor, action_log_prob, sample_actions
from .sim.types import AgentObs


@dataclass
class TeamRollout:
    """Time-major data of one team: ``[T, N, At, ...]`` unless noted."""

    obs: tuple[Tensor, Tensor, Tensor, Tensor]
    next_obs: tuple[Tensor, Tensor, Tensor, Tensor] | None  # only when curiosity is on
    memory: Tensor | None           # [T, N, At, 1, M] actor memory before each step
    mask: Tensor                    # [T, N, At, 37] bool
    actions: Tensor                 # [T, N, At, 5]
    logp: Tensor                    # [T, N, At]
    values: Tensor                  # [T, N, At, 2] denormalized (ext, int)
    next_values: Tensor             # [T, N, At, 2]: V(s_t+1), V(final obs) at truncation
    reward: Tensor                  # [T, N, At]
    present: Tensor                 # [T, N, At] bool
    can_act: Tensor                 # [T, N, At] bool
    trainable: Tensor               # [N] bool: False where this team was a frozen opponent


@dataclass
class Rollout:
    teams: dict[str, TeamRollout]
    state: Tensor                   # [T, N, S]
    truncated: Tensor               # [T, N] bool
    stat_sums: dict[str, Tensor]    # episode statistic -> sum over finished episodes
    episodes: Tensor                # number of finished episodes (device scalar)
    timings: dict[str, float] = field(default_factory=dict)


def team_slices(layout) -> dict[str, slice]:
    """Agent slots of each team: hiders first, then seekers (contract slot order)."""
    h = layout.max_hiders
    return {"hider": slice(0, h), "seeker": slice(h, layout.max_agents)}


class Collector:
    """Keeps the simulator's current observation and the actors' memory between rollouts."""

    def __init__(self, sim, learners: dict[str, TeamLearner], generator: torch.Generator,
                 curiosity_on: bool):
        self.sim, self.learners, self.generator = sim, learners, generator
        self.curiosity_on = curiosity_on
        self.layout = sim.layout
        self.device = torch.device(sim.device)
        self.slices = team_slices(self.layout)
        n = sim.num_arenas
        self.memory: dict[str, Tensor | None] = {}
        for team, sl in self.slices.items():
            size = learners[team].model.actor.memory_size
            at = sl.stop - sl.start
            self.memory[team] = (torch.zeros(n, at, 1, size, device=self.device) if size else None)
        self.obs: AgentObs | None = None

    def reset(self, seed: int) -> None:
        self.obs = self.sim.reset(seed)
        for m in self.memory.values():
            if m is not None:
                m.zero_()

    # ------------------------------------------------------------------ acting
    def _act(self, team: str, obs: AgentObs, opponent: tuple[Actor, int] | None
             ) -> tuple[Tensor, ...]:
        sl = self.slices[team]
        n, at = self.sim.num_arenas, sl.stop - sl.start
        learner = self.learners[team]
        flat = tuple(o[:, sl].reshape(n * at, *o.shape[2:]) for o in obs.obs)
        mask = obs.action_mask[:, sl].reshape(n * at, -1)
        mem = self.memory[team]
        mem_flat = None if mem is None else mem.reshape(n * at, 1, -1)
        actor = learner.model.actor
        if opponent is None:
            logits, new_mem = actor(*flat, mem_flat)
        else:
            # The first k arenas play a frozen past version of this team.
            past, arenas = opponent
            k = arenas * at
            l1, m1 = past(*(f[:k] for f in flat), None if mem_flat is None else mem_flat[:k])
            l2, m2 = actor(*(f[k:] for f in flat), None if mem_flat is None else mem_flat[k:])
            logits = torch.cat([l1, l2])
            new_mem = None if m1 is None else torch.cat([m1, m2])
        bi = learner.branch_index
        logp_all = bi.log_probs(logits, mask)
        actions = sample_actions(logp_all, self.generator)
        logp = action_log_prob(logp_all, actions)
        can_act = bi.can_act(mask)
        shape = lambda x: x.reshape(n, at, *x.shape[1:])  # noqa: E731
        return (shape(actions), shape(logp), shape(can_act),
                None if new_mem is None else shape(new_mem))

    def _values(self, team: str, state: Tensor, chunk: int = 16384) -> Tensor:
        """Values ``[..., At, 2]`` of every agent of ``team`` for states ``[..., S]``. Acting
        needs no values, so they are computed after the rollout in a few large batches."""
        sl = self.slices[team]
        at = sl.stop - sl.start
        lead = state.shape[:-1]
        flat = state.reshape(-1, state.shape[-1])
        rep = flat[:, None].expand(flat.shape[0], at, flat.shape[-1]).reshape(-1, flat.shape[-1])
        slots = torch.arange(sl.start, sl.stop, device=self.device).repeat(flat.shape[0])
        learner = self.learners[team]
        out = torch.cat([learner.values(rep[i:i + chunk], slots[i:i + chunk])
                         for i in range(0, rep.shape[0], chunk)])
        return out.reshape(*lead, at, -1)

    # ------------------------------------------------------------------ the loop
    @torch.no_grad()
    def collect(self, steps: int, opponents: dict[str, tuple[Actor, int]] | None = None
                ) -> Rollout:
        """Play ``steps`` steps in every arena. ``opponents[team] = (past actor, k)`` makes that
        team's first k arenas play the past actor; those samples are not trained on."""
        if self.obs is None:
            raise RuntimeError("Collector.collect before reset")
        opponents = opponents or {}
        sim, n, dev = self.sim, self.sim.num_arenas, self.device
        t_policy = t_sim = 0.0
        buf: dict[str, dict[str, list]] = {team: {k: [] for k in (
            "obs", "next_obs", "memory", "mask", "actions", "logp", "reward", "present",
            "can_act")} for team in TEAMS}
        finals: list[tuple[int, Tensor, Tensor]] = []  # (step, ended arenas, last state)
        states, truncs = [], []
        stat_sums = {k: torch.zeros((), device=dev) for k in EPISODE_STATS}
        episodes = torch.zeros((), device=dev)
        obs = self.obs
        for _ in range(steps):
            t0 = time.perf_counter()
            acts = {}
            for team in TEAMS:
                sl = self.slices[team]
                a, logp, can_act, new_mem = self._act(team, obs, opponents.get(team))
                b = buf[team]
                b["obs"].append(tuple(o[:, sl] for o in obs.obs))
                b["memory"].append(self.memory[team])
                b["mask"].append(obs.action_mask[:, sl])
                b["actions"].append(a)
                b["logp"].append(logp)
                b["present"].append(obs.present[:, sl])
                b["can_act"].append(can_act)
                acts[team] = a
                self.memory[team] = new_mem
            states.append(obs.state)
            actions = torch.cat([acts[t] for t in TEAMS], dim=1)
            t1 = time.perf_counter()
            out = sim.step(actions)
            t2 = time.perf_counter()
            for team in TEAMS:
                b = buf[team]
                b["reward"].append(out.reward[:, self.slices[team]])
            if out.final_obs is None:
                truncs.append(torch.zeros(n, dtype=torch.bool, device=dev))
                for team in TEAMS:
                    if self.curiosity_on:
                        buf[team]["next_obs"].append(
                            tuple(o[:, self.slices[team]] for o in out.obs.obs))
            else:
                truncs.append(out.truncated)
                ended = out.truncated
                last = out.obs.where(ended, out.final_obs)  # the last obs of ended episodes
                finals.append((len(truncs) - 1, ended, last.state))
                for team in TEAMS:
                    sl = self.slices[team]
                    if self.curiosity_on:
                        buf[team]["next_obs"].append(tuple(o[:, sl] for o in last.obs))
                    if self.memory[team] is not None:  # a new episode starts with empty memory
                        self.memory[team] = self.memory[team] * (~ended).view(n, 1, 1, 1)
                if out.episode_stats is not None:
                    w = ended.to(torch.float32)
                    for k in EPISODE_STATS:
                        stat_sums[k] += (out.episode_stats[k].float() * w).sum()
                    episodes += w.sum()
            obs = out.obs
            t_policy += t1 - t0 + time.perf_counter() - t2
            t_sim += t2 - t1
        self.obs = obs
        t0 = time.perf_counter()
        teams = {}
        truncated = torch.stack(truncs)
        # One batched critic pass: the T visited states, the bootstrap state, the final states.
        all_states = torch.stack(states + [obs.state] + [f[2] for f in finals])
        for team in TEAMS:
            b = buf[team]
            v_all = self._values(team, all_states)
            values = v_all[:steps]
            next_values = v_all[1:steps + 1].clone()
            for j, (t, ended, _) in enumerate(finals):
                next_values[t] = torch.where(ended.view(n, 1, 1), v_all[steps + 1 + j], next_values[t])
            stack_obs = lambda seq: tuple(torch.stack(x) for x in zip(*seq))  # noqa: E731
            trainable = torch.ones(n, dtype=torch.bool, device=dev)
            if team in opponents:
                trainable[:opponents[team][1]] = False
            teams[team] = TeamRollout(
                obs=stack_obs(b["obs"]),
                next_obs=stack_obs(b["next_obs"]) if self.curiosity_on else None,
                memory=None if b["memory"][0] is None else torch.stack(b["memory"]),
                mask=torch.stack(b["mask"]), actions=torch.stack(b["actions"]),
                logp=torch.stack(b["logp"]), values=values, next_values=next_values,
                reward=torch.stack(b["reward"]), present=torch.stack(b["present"]),
                can_act=torch.stack(b["can_act"]), trainable=trainable)
        t_policy += time.perf_counter() - t0
        return Rollout(teams=teams, state=torch.stack(states), truncated=truncated,
                       stat_sums=stat_sums, episodes=episodes,
                       timings={"policy": t_policy, "sim": t_sim})


# --------------------------------------------------------------------------- rollout -> batch

def prepare_batch(r: TeamRollout, state: Tensor, truncated: Tensor, learner: TeamLearner,
                  curiosity: Curiosity | None, icm_coef: float, first_slot: int
                  ) -> tuple[TeamBatch, dict[str, Tensor]]:
    """Intrinsic rewards, GAE for both streams, flattening. Returns the batch and device stats."""
    t, n, at = r.logp.shape
    m = n * at
    cfg = learner.cfg
    flat_t = lambda x: x.reshape(t, m, *x.shape[3:])  # noqa: E731  [T, N, At, ...] -> [T, M, ...]
    present = flat_t(r.present).float()
    trainable = r.trainable.view(1, n, 1).expand(t, n, at).reshape(t, m).float()
    act_w = present * flat_t(r.can_act).float() * trainable
    value_w = present * trainable
    reward_ext = flat_t(r.reward)
    stats: dict[str, Tensor] = {"reward_ext": (reward_ext * present).sum() / present.sum().clamp(min=1)}
    if curiosity is not None:
        r_int, raw = curiosity.rewards(tuple(flat_t(o) for o in r.obs),
                                       tuple(flat_t(o) for o in r.next_obs),
                                       flat_t(r.actions), act_w)
        stats["reward_int"] = (r_int * act_w).sum() / act_w.sum().clamp(min=1)
        stats["reward_int_raw"] = (raw * act_w).sum() / act_w.sum().clamp(min=1)
    else:
        r_int = torch.zeros_like(reward_ext)
    values, next_values = flat_t(r.values), flat_t(r.next_values)
    dones = truncated[:, :, None].expand(t, n, at).reshape(t, m)
    adv_e, ret_e = gae(reward_ext, values[..., 0], next_values[..., 0], dones, cfg.gamma,
                       cfg.gae_lambda)
    adv_i, ret_i = gae(r_int, values[..., 1], next_values[..., 1], dones, cfg.gamma, cfg.gae_lambda)
    adv = adv_e + icm_coef * adv_i if curiosity is not None else adv_e
    flat = lambda x: x.reshape(t * m, *x.shape[2:])  # noqa: E731  [T, M, ...] -> [T*M, ...]
    state_rep = state[:, :, None].expand(t, n, at, state.shape[-1]).reshape(t * m, -1)
    slots = torch.arange(first_slot, first_slot + at, device=state.device).repeat(t * n)
    batch = TeamBatch(
        obs=tuple(flat(flat_t(o)) for o in r.obs),
        memory=None if r.memory is None else flat(flat_t(r.memory)),
        state=state_rep, slot=slots, mask=flat(flat_t(r.mask)), actions=flat(flat_t(r.actions)),
        logp=flat(flat_t(r.logp)), values=flat(values),
        returns=torch.stack([flat(ret_e), flat(ret_i)], -1), adv=flat(adv),
        act_weight=flat(act_w), value_weight=flat(value_w))
    return batch, stats
