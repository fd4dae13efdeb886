"""Acting: T steps of every arena into a :class:`RolloutBuffer`, without a host sync per step.

Actions are sampled on the device (Gumbel-max with noise from a torch generator); episode ends
are known on the host from ``StepOutput.final_obs`` (the simulators count steps themselves);
statistics are summed on the device. The collector drives any object with the TwinSim API
(``reset``, ``step``, ``num_arenas``, ``layout``, ``device``) and only needs the actors: values,
advantages and curiosity are the learner's business.
"""

from __future__ import annotations

import time
from typing import Callable

import torch
from torch import Tensor

from .buffer import RolloutBuffer
from .contract import EPISODE_STATS
from .models import Actor, BranchIndex, action_log_prob, sample_actions
from .sim.types import AgentObs

PolicyStep = Callable[..., tuple[Tensor, Tensor, Tensor | None]]


def policy_step(actor: Actor, branch_index: BranchIndex, obs_0: Tensor, obs_1: Tensor,
                obs_2: Tensor, obs_3: Tensor, mask: Tensor, memory: Tensor | None,
                noise: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
    """One decision for a flat batch of agents -> (actions, log-probs, new memory). Pure, so
    ``torch.compile`` fuses the whole network pass with the sampling."""
    logits, new_memory = actor(obs_0, obs_1, obs_2, obs_3, memory)
    logp_all = branch_index.log_probs(logits, mask)
    actions = sample_actions(logp_all, noise=noise)
    return actions, action_log_prob(logp_all, actions), new_memory


class PhaseTimer:
    """Seconds spent per phase. On CUDA it records events and reads them once, at ``totals``, so
    timing adds no host sync inside the loop; on the CPU, ops are synchronous."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.marks: list[tuple[str, object, object]] = []

    def _now(self):
        if self.cuda:
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            return ev
        return time.perf_counter()

    def start(self):
        return self._now()

    def stop(self, name: str, started) -> None:
        self.marks.append((name, started, self._now()))

    def totals(self) -> dict[str, float]:
        if self.cuda and self.marks:
            self.marks[-1][2].synchronize()
        out: dict[str, float] = {}
        for name, a, b in self.marks:
            out[name] = out.get(name, 0.0) + (a.elapsed_time(b) / 1000 if self.cuda else b - a)
        self.marks.clear()
        return out


class Collector:
    """Keeps the simulator's current observation and the actors' memory between rollouts.

    ``groups`` maps a policy name to the agent slots it plays (one group for a shared policy,
    one per team otherwise) and ``actors`` the name to its actor."""

    def __init__(self, sim, actors: dict[str, Actor], groups: dict[str, slice],
                 generator: torch.Generator, steps: int, compile: bool = False,
                 deterministic: bool = False, starts=None):
        self.sim, self.actors, self.groups, self.generator = sim, actors, groups, generator
        # Where ended episodes continue (hideseek.train.curriculum): ``record(sim)`` after every
        # step, ``restart(sim, ended)`` at episode ends, ``continued`` [N] the arenas whose
        # episode did not start fresh (their statistics are not counted). None: fresh layouts.
        self.starts = starts
        self.deterministic = deterministic  # the most likely action of each branch (evaluation)
        self.layout = sim.layout
        self.device = torch.device(sim.device)
        self.branch_index = BranchIndex(self.layout.action_branches, self.device)
        n, a = sim.num_arenas, self.layout.max_agents
        self.memory_size = max(actor.memory_size for actor in actors.values())
        self.memory = (torch.zeros(n, a, 1, self.memory_size, device=self.device)
                       if self.memory_size else None)
        self.buffer = RolloutBuffer.allocate(self.layout, steps, n, self.memory_size, self.device)
        step = torch.compile(policy_step, dynamic=False) if compile else policy_step
        self._step: PolicyStep = step
        self.obs: AgentObs | None = None
        self.played_by: dict[str, int] = {}  # team -> arenas a frozen opponent played last time

    def reset(self, seed: int) -> None:
        self.obs = self.sim.reset(seed)
        if self.memory is not None:
            self.memory.zero_()

    # ------------------------------------------------------------------ acting
    def _act(self, obs: AgentObs, opponents: dict[str, tuple[Actor, int]]
             ) -> tuple[Tensor, Tensor, Tensor | None]:
        n, a = self.sim.num_arenas, self.layout.max_agents
        actions = torch.empty(n, a, len(self.layout.action_branches), dtype=torch.int64,
                              device=self.device)
        logp = torch.empty(n, a, device=self.device)
        new_memory = None if self.memory is None else torch.empty_like(self.memory)
        noise = torch.empty(n, a, *self.branch_index.shape, device=self.device)
        noise = noise.fill_(1.0) if self.deterministic else noise.exponential_(generator=self.generator)

        def play(actor_step: PolicyStep, actor: Actor, arenas: slice, slots: slice) -> None:
            def flat(x: Tensor) -> Tensor:
                x = x[arenas, slots]
                return x.reshape(-1, *x.shape[2:])

            mem = None if self.memory is None else flat(self.memory)
            act, lp, mem_out = actor_step(actor, self.branch_index, *(flat(o) for o in obs.obs),
                                          flat(obs.action_mask), mem, flat(noise))
            shape = (actions[arenas, slots].shape[0], -1)
            actions[arenas, slots] = act.reshape(*shape, act.shape[-1])
            logp[arenas, slots] = lp.reshape(shape)
            if new_memory is not None:
                new_memory[arenas, slots] = mem_out.reshape(*shape, *mem_out.shape[1:])

        everything = slice(None)
        for name, slots in self.groups.items():
            play(self._step, self.actors[name], everything, slots)
        for team, (past, k) in opponents.items():
            # The first k arenas of this team play a frozen past policy (eager: a small subset).
            play(policy_step, past, slice(0, k), self.layout.team_slice(team))
        return actions, logp, new_memory

    # ------------------------------------------------------------------ the loop
    @torch.no_grad()
    def collect(self, opponents: dict[str, tuple[Actor, int]] | None = None,
                on_episode_end: Callable[[dict[str, Tensor], Tensor], None] | None = None
                ) -> RolloutBuffer:
        """Fill the buffer with one rollout. ``opponents[team] = (past actor, k)`` makes that
        team's first k arenas play the past actor; those samples are not trained on.
        ``on_episode_end(stats, arenas)`` sees the statistics of every observed episode end
        (evaluation only: training needs no per-episode values on the host)."""
        if self.obs is None:
            raise RuntimeError("Collector.collect before reset")
        opponents = opponents or {}
        buf, sim, n = self.buffer, self.sim, self.sim.num_arenas
        timer = PhaseTimer(self.device)
        self._forget_other_policies_memory(opponents)
        buf.trainable.fill_(True)
        for team, (_, k) in opponents.items():
            buf.trainable[:k, self.layout.team_slice(team)] = False
        buf.stat_sums.zero_()
        buf.episodes.zero_()
        final_steps, final_obs, final_state = [], [], []
        obs = self.obs
        for t in range(buf.steps):
            started = timer.start()
            for i, o in enumerate(obs.obs):
                buf.obs[i][t].copy_(o)
            buf.state[t].copy_(obs.state)
            buf.mask[t].copy_(obs.action_mask)
            buf.present[t].copy_(obs.present)
            if self.memory is not None:
                buf.memory[t].copy_(self.memory)
            actions, logp, new_memory = self._act(obs, opponents)
            buf.actions[t].copy_(actions)
            buf.logp[t].copy_(logp)
            timer.stop("policy", started)
            started = timer.start()
            out = sim.step(actions)
            obs = out.obs
            if self.starts is not None:
                self.starts.record(sim)
            timer.stop("sim", started)
            started = timer.start()
            buf.reward[t].copy_(out.reward)
            valid = out.valid if out.valid is not None else torch.ones(n, dtype=torch.bool,
                                                                      device=self.device)
            buf.valid[t].copy_(valid)
            buf.truncated[t].copy_(out.truncated)
            self.memory = new_memory
            if out.final_obs is not None:
                ended = out.truncated
                last = out.obs.where(ended, out.final_obs)  # the last obs of ended episodes
                final_steps.append(t)
                final_obs.append(last.obs)
                final_state.append(last.state)
                if self.memory is not None:  # a new episode starts with empty memory
                    self.memory = self.memory * (~ended).view(n, 1, 1, 1)
                if out.episode_stats is not None:
                    if on_episode_end is not None:
                        on_episode_end(out.episode_stats, ended & valid)
                    counted = ended & valid
                    if self.starts is not None:
                        counted = counted & ~self.starts.continued
                    counted = counted.to(torch.float32)
                    buf.stat_sums += torch.stack([(out.episode_stats[k].float() * counted).sum()
                                                  for k in EPISODE_STATS])
                    buf.episodes += counted.sum()
                if self.starts is not None:
                    restarted = self.starts.restart(sim, sim.steps_taken == 0)
                    obs = obs if restarted is None else restarted
            timer.stop("policy", started)
        for i, o in enumerate(obs.obs):
            buf.obs[i][buf.steps].copy_(o)
        buf.state[buf.steps].copy_(obs.state)
        buf.final_steps = final_steps
        if final_steps:
            buf.final_obs = tuple(torch.stack(x) for x in zip(*final_obs))
            buf.final_state = torch.stack(final_state)
        else:
            buf.final_obs = tuple(o[:0] for o in buf.obs)
            buf.final_state = buf.state[:0]
        self.obs = obs
        self.timings = timer.totals()
        return buf

    def _forget_other_policies_memory(self, opponents: dict[str, tuple[Actor, int]]) -> None:
        """Memory that a frozen opponent wrote must not reach the current policy (and back):
        where the player of a slot changes between rollouts, its memory starts empty."""
        if self.memory is None:
            self.played_by = {t: k for t, (_, k) in opponents.items()}
            return
        for team in set(self.played_by) | set(opponents):
            before, now = self.played_by.get(team, 0), opponents.get(team, (None, 0))[1]
            if before != now:
                lo, hi = min(before, now), max(before, now)
                self.memory[lo:hi, self.layout.team_slice(team)] = 0.0
        self.played_by = {t: k for t, (_, k) in opponents.items()}
