"""What the batched simulator hands out: per-agent observations and step results.

Shapes use N = arenas, A = max agents (hiders first, then seekers), B = max boxes,
R = max ramps, M = sum of action branch sizes (37). All tensors live on the sim's device.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor


@dataclass
class AgentObs:
    """Observations for one decision of every agent slot in every arena."""

    obs_0: Tensor        # [N, A, 41] self vector + lidar
    obs_1: Tensor        # [N, A, A-1, 10] other agents (all-zero row = not visible)
    obs_2: Tensor        # [N, A, B, 14] boxes
    obs_3: Tensor        # [N, A, R, 14] ramps
    action_mask: Tensor  # [N, A, M] bool, True = allowed (PettingZoo / ONNX convention)
    state: Tensor        # [N, S] global critic state (contract.ObsLayout.state_blocks)
    present: Tensor      # [N, A] bool, agent slot in use this episode

    @property
    def obs(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return (self.obs_0, self.obs_1, self.obs_2, self.obs_3)

    def map(self, fn) -> "AgentObs":
        return AgentObs(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})

    def where(self, arenas: Tensor, other: "AgentObs") -> "AgentObs":
        """Per arena: ``other`` where ``arenas`` [N] is True, else self."""
        def pick(a: Tensor, b: Tensor) -> Tensor:
            m = arenas.view(-1, *([1] * (a.dim() - 1)))
            return torch.where(m, b, a)
        return AgentObs(**{f.name: pick(getattr(self, f.name), getattr(other, f.name))
                           for f in fields(self)})


@dataclass
class StepOutput:
    """Result of one batched step. Arenas whose episode ended were auto-reset: ``obs`` is the
    first observation of their new episode, ``final_obs`` the last one of the old episode."""

    obs: AgentObs
    reward: Tensor                  # [N, A] float32, includes the out-of-bounds penalty
    truncated: Tensor               # [N] bool, the episode reached its horizon at this step
    hidden: Tensor                  # [N] bool, no seeker saw a hider at this step
    final_obs: AgentObs | None      # None when no arena ended at this step (known on the host)
    episode_stats: dict[str, Tensor] | None  # contract.EPISODE_STATS -> [N], valid where truncated
    # [N] bool, or None when every arena's step was observed. False marks an arena whose step was
    # NOT observed (e.g. a Unity worker crashed or hung and was restarted): its reward, final
    # observation and statistics are not real, ``obs`` is the first observation of a fresh
    # episode and ``truncated`` is True. Learners leave such samples out of every loss and
    # statistic; they never fill them in.
    valid: Tensor | None = None
