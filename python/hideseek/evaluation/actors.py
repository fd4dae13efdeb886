"""Who plays a team in a batched evaluation (:func:`hideseek.evaluation.runner.run_episodes`).

Every player of a team -- an exported ONNX policy, a run's PyTorch actor, uniformly random play,
a scripted team that reads the simulator's state -- is a :class:`TeamActor`: two methods, called
by the runner for all arenas of the simulator at once.

``begin_episodes(sim, arenas, slots)``
    New episodes start in the arenas where ``arenas`` (bool [N]) is True: forget what was kept
    about them (recurrent memory, a plan) for the team's agent slots ``slots``. The runner calls it for every arena before the first
    ``act`` of an evaluation (so ``len(arenas)`` is the number of arenas) and again wherever an
    episode ends. ``sim.state`` then holds the new episodes' first state.

``act(sim, obs, slots, generator) -> Tensor``
    The actions, int64 ``[N, len(slots), 5]`` on ``sim.device``, of the team's agent slots
    ``slots`` (``layout.team_slice(team)``) in every arena, for the current observation ``obs``
    (the :class:`~hideseek.sim.types.AgentObs` of all agents). A decentralized actor reads only
    its own agents' rows of ``obs``; a privileged actor may read ``sim.state`` (never write it).
    ``generator`` (a ``torch.Generator`` on ``sim.device``, seeded by the runner) is the only
    randomness an actor may use, so an evaluation with the same seed repeats exactly (ONNX
    policies sample inside their graph, from onnxruntime's own seeded generator). Rows of absent
    agents, and of agents whose mask allows only the no-op (seekers in prep), may hold anything
    the mask allows; the simulator makes frozen agents do nothing.

``sim`` is any simulator with ``TwinSim``'s API (:class:`~hideseek.evaluation.runner.Simulator`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from ..contract import ACTION_BRANCHES, NOOP_ACTION
from ..models import Actor, BranchIndex, random_actions
from ..sim.types import AgentObs


@runtime_checkable
class TeamActor(Protocol):
    def begin_episodes(self, sim, arenas: Tensor, slots: slice) -> None: ...

    def act(self, sim, obs: AgentObs, slots: slice, generator: torch.Generator) -> Tensor: ...


def team_rows(x: Tensor, slots: slice) -> Tensor:
    """``[N, A, ...]`` -> the team's rows flattened to ``[N * len(slots), ...]`` (arena-major)."""
    x = x[:, slots]
    return x.reshape(-1, *x.shape[2:])


def deciding_rows(obs: AgentObs, slots: slice, branch_index: BranchIndex,
                  include_frozen: bool) -> Tensor:
    """Flat indices (into :func:`team_rows`) of the agents a policy must decide for: the present
    ones, less those whose mask allows only the no-op unless ``include_frozen`` (a recurrent
    policy updates its memory on every decision, frozen or not, as in the one-arena env)."""
    keep = team_rows(obs.present, slots)
    if not include_frozen:
        keep = keep & branch_index.can_act(team_rows(obs.action_mask, slots))
    return torch.nonzero(keep).view(-1)


def noop_actions(rows: int, device: torch.device) -> Tensor:
    return torch.tensor(NOOP_ACTION, dtype=torch.int64, device=device).repeat(rows, 1)


def slot_count(slots: slice, max_agents: int) -> int:
    return len(range(*slots.indices(max_agents)))


def new_episode_rows(arenas: Tensor, slots: slice, max_agents: int) -> Tensor:
    """bool ``[N * len(slots)]``: the team rows (:func:`team_rows` order) of ``arenas``."""
    return arenas.repeat_interleave(slot_count(slots, max_agents))


class OnnxActor:
    """An exported policy (:class:`hideseek.onnx_policy.OnnxPolicy`) in onnxruntime: one
    ``session.run`` per step over every deciding agent of the team in all arenas (the graph has
    no operation across its batch dimension, so batching changes no decision beyond float
    rounding). ``deterministic`` takes the graph's arg-max output, else its in-graph sample."""

    def __init__(self, policy, deterministic: bool = False):
        self.policy, self.deterministic = policy, deterministic
        self.memory: np.ndarray | None = None   # [N * slots, 1, size] for a recurrent policy

    def begin_episodes(self, sim, arenas: Tensor, slots: slice) -> None:
        self._branch_index = BranchIndex(ACTION_BRANCHES, sim.device)
        if self.policy.memory_size == 0:
            return
        fresh = new_episode_rows(arenas, slots, sim.layout.max_agents).cpu().numpy()
        if self.memory is None or len(self.memory) != len(fresh):
            self.memory = np.zeros((len(fresh), 1, self.policy.memory_size), np.float32)
        self.memory[fresh] = 0.0

    def act(self, sim, obs: AgentObs, slots: slice, generator: torch.Generator) -> Tensor:
        rows = deciding_rows(obs, slots, self._branch_index, include_frozen=self.memory is not None)
        n = obs.present.shape[0]
        out = noop_actions(n * slot_count(slots, obs.present.shape[1]), obs.present.device)
        if len(rows):
            picked = rows.cpu().numpy()
            feeds = [team_rows(o, slots)[rows].cpu().numpy() for o in obs.obs]
            masks = team_rows(obs.action_mask, slots)[rows].cpu().numpy().astype(np.float32)
            memory = None if self.memory is None else self.memory[picked]
            acts, memory = self.policy.act(feeds, masks, memory, deterministic=self.deterministic)
            if memory is not None:
                self.memory[picked] = memory
            out[rows] = torch.from_numpy(acts).to(out.device)
        return out.view(n, -1, len(ACTION_BRANCHES))


class TorchActor:
    """A run's PyTorch actor (:class:`hideseek.models.Actor`), as the trainer acts with it
    (:func:`hideseek.rollout.policy_step`): a Gumbel-max sample with noise from ``generator``,
    or, ``deterministic``, the most likely bin of each branch."""

    def __init__(self, actor: Actor, deterministic: bool = False):
        self.actor, self.deterministic = actor, deterministic
        self.memory: Tensor | None = None

    def begin_episodes(self, sim, arenas: Tensor, slots: slice) -> None:
        self._branch_index = BranchIndex(ACTION_BRANCHES, sim.device)
        if self.actor.memory_size == 0:
            return
        fresh = new_episode_rows(arenas, slots, sim.layout.max_agents).to(sim.device)
        if self.memory is None or len(self.memory) != len(fresh):
            self.memory = torch.zeros(len(fresh), 1, self.actor.memory_size, device=sim.device)
        self.memory[fresh] = 0.0

    @torch.no_grad()
    def act(self, sim, obs: AgentObs, slots: slice, generator: torch.Generator) -> Tensor:
        from ..rollout import policy_step

        rows = deciding_rows(obs, slots, self._branch_index, include_frozen=self.memory is not None)
        n = obs.present.shape[0]
        out = noop_actions(n * slot_count(slots, obs.present.shape[1]), obs.present.device)
        if len(rows):
            bi = self._branch_index
            noise = torch.empty(len(rows), *bi.shape, device=out.device)
            noise = noise.fill_(1.0) if self.deterministic else noise.exponential_(generator=generator)
            memory = None if self.memory is None else self.memory[rows]
            acts, _, memory = policy_step(self.actor, bi, *(team_rows(o, slots)[rows] for o in obs.obs),
                                          team_rows(obs.action_mask, slots)[rows], memory, noise)
            if memory is not None:
                self.memory[rows] = memory
            out[rows] = acts
        return out.view(n, -1, len(ACTION_BRANCHES))


class RandomActor:
    """Uniformly random play among the actions each agent's mask allows (the reference the
    trainer's dashboard and the model card compare learned play with)."""

    def begin_episodes(self, sim, arenas: Tensor, slots: slice) -> None:
        self._branch_index = BranchIndex(ACTION_BRANCHES, sim.device)

    def act(self, sim, obs: AgentObs, slots: slice, generator: torch.Generator) -> Tensor:
        n = obs.present.shape[0]
        acts = random_actions(team_rows(obs.action_mask, slots), self._branch_index, generator)
        return acts.view(n, -1, len(ACTION_BRANCHES))
