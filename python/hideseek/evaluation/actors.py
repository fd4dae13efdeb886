"""Who plays a team in a batched evaluation (:func:`hideseek.evaluation.runner.run_episodes`).

Every player of a team -- an exported ONNX policy, a run's PyTorch actor, uniformly random play,
a scripted team that reads the simulator's state -- is a :class:`TeamActor`: two methods, called
by the runner for all arenas of the simulator at once.

``begin_episodes(sim, arenas, slots)``
    New episodes start in the arenas where ``arenas`` (bool [N]) is True: forget what was kept
    about them (recurrent memory, a plan) for the team's agent slots ``slots``. The runner calls
    it for every arena before the first ``act`` of an evaluation (so ``len(arenas)`` is the
    number of arenas) and again wherever an episode ends. ``sim.state`` then holds the new
    episodes' first state.

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
Here: :class:`OnnxActor` and :class:`TorchActor` (network policies, through :class:`PolicyActor`)
and :class:`RandomActor`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
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


class PolicyActor(ABC):
    """What a network policy's actor does around its forward pass: decide only for the agents
    that must (:func:`deciding_rows`), keep one memory row per agent of a recurrent policy
    (cleared at each new episode), give the others the no-op. Subclasses implement
    :meth:`decide` on the flat rows."""

    memory_size: int

    def __init__(self, deterministic: bool = False):
        self.deterministic = deterministic
        self.memory: Tensor | None = None   # [N * len(slots), 1, memory_size], recurrent only

    def begin_episodes(self, sim, arenas: Tensor, slots: slice) -> None:
        self._branch_index = BranchIndex(ACTION_BRANCHES, sim.device)
        if self.memory_size == 0:
            return
        fresh = new_episode_rows(arenas, slots, sim.layout.max_agents).to(sim.device)
        if self.memory is None or len(self.memory) != len(fresh):
            self.memory = torch.zeros(len(fresh), 1, self.memory_size, device=sim.device)
        self.memory[fresh] = 0.0

    @torch.no_grad()
    def act(self, sim, obs: AgentObs, slots: slice, generator: torch.Generator) -> Tensor:
        rows = deciding_rows(obs, slots, self._branch_index, include_frozen=self.memory is not None)
        n = obs.present.shape[0]
        out = noop_actions(n * slot_count(slots, obs.present.shape[1]), obs.present.device)
        if len(rows):
            memory = None if self.memory is None else self.memory[rows]
            acts, memory = self.decide([team_rows(o, slots)[rows] for o in obs.obs],
                                       team_rows(obs.action_mask, slots)[rows], memory, generator)
            if memory is not None:
                self.memory[rows] = memory
            out[rows] = acts
        return out.view(n, -1, len(ACTION_BRANCHES))

    @abstractmethod
    def decide(self, obs: list[Tensor], mask: Tensor, memory: Tensor | None,
               generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """Actions int64 [B, 5] and the next memory of B agents' rows."""


class OnnxActor(PolicyActor):
    """An exported policy (:class:`hideseek.onnx_policy.OnnxPolicy`) in onnxruntime: one
    ``session.run`` per step over every deciding agent of the team in all arenas (the graph has
    no operation across its batch dimension, so batching changes no decision beyond float
    rounding). ``deterministic`` takes the graph's arg-max output, else its in-graph sample."""

    def __init__(self, policy, deterministic: bool = False):
        super().__init__(deterministic)
        self.policy, self.memory_size = policy, policy.memory_size

    def decide(self, obs, mask, memory, generator):
        acts, memory = self.policy.act([o.cpu().numpy() for o in obs],
                                       mask.cpu().numpy().astype(np.float32),
                                       None if memory is None else memory.cpu().numpy(),
                                       deterministic=self.deterministic)
        device = mask.device
        return (torch.from_numpy(acts).to(device),
                None if memory is None else torch.from_numpy(memory).to(device))


class TorchActor(PolicyActor):
    """A run's PyTorch actor (:class:`hideseek.models.Actor`), as the trainer acts with it
    (:func:`hideseek.rollout.policy_step`): a Gumbel-max sample with noise from ``generator``,
    or, ``deterministic``, the most likely bin of each branch."""

    def __init__(self, actor: Actor, deterministic: bool = False):
        super().__init__(deterministic)
        self.actor, self.memory_size = actor, actor.memory_size

    def decide(self, obs, mask, memory, generator):
        from ..rollout import policy_step

        bi = self._branch_index
        noise = torch.empty(len(mask), *bi.shape, device=mask.device)
        noise = noise.fill_(1.0) if self.deterministic else noise.exponential_(generator=generator)
        acts, _, memory = policy_step(self.actor, bi, *obs, mask, memory, noise)
        return acts, memory


class RandomActor:
    """Uniformly random play among the actions each agent's mask allows (the reference the
    trainer's dashboard and the model card compare learned play with)."""

    def begin_episodes(self, sim, arenas: Tensor, slots: slice) -> None:
        self._branch_index = BranchIndex(ACTION_BRANCHES, sim.device)

    def act(self, sim, obs: AgentObs, slots: slice, generator: torch.Generator) -> Tensor:
        n = obs.present.shape[0]
        acts = random_actions(team_rows(obs.action_mask, slots), self._branch_index, generator)
        return acts.view(n, -1, len(ACTION_BRANCHES))
