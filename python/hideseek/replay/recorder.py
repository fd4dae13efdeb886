"""Record evaluation episodes for the 3-D replay: a :class:`~hideseek.evaluation.runner.StepObserver`
that copies, before every step, the simulator's state of the recorded arenas (positions, yaws,
heights, holds, locks), who sees whom (from the agents' own observations: a visible agent is a
non-zero row of ``obs_1``) and, after it, the rewards.

Frame t is the world in which the t-th actions are chosen (t = 0 .. horizon - 1); ``reward[t]``
and ``hidden[t]`` are the result of that step. The world after the last step is not kept: the
simulator has already reset the arena for its next episode by then. Needs ``sim.state`` (a
:class:`~hideseek.sim.state.SimState`): the twin's, not a Unity build's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..contract import WorldConfig
from ..evaluation.statistics import outcome


@dataclass
class EpisodeRecording:
    """One recorded episode, arrays frame-first (``T`` frames, ``A`` agent slots, ``O`` objects:
    boxes then ramps, ``W`` wall segments)."""

    index: int                       # episode number within the evaluation
    seed: int                        # the arena seed that reproduces it
    agent_present: np.ndarray        # [A] bool
    obj_present: np.ndarray          # [O] bool
    obj_half: np.ndarray             # [O, 2] half extents (m)
    walls: np.ndarray                # [W, 4] x1, y1, x2, y2 of the segments in use
    doors: np.ndarray                # [D, 2] door centres
    agent_xy: list[np.ndarray] = field(default_factory=list)     # T x [A, 2]
    agent_z: list[np.ndarray] = field(default_factory=list)      # T x [A]
    agent_yaw: list[np.ndarray] = field(default_factory=list)    # T x [A]
    obj_xy: list[np.ndarray] = field(default_factory=list)       # T x [O, 2]
    obj_yaw: list[np.ndarray] = field(default_factory=list)      # T x [O]
    held_by: list[np.ndarray] = field(default_factory=list)      # T x [O] agent slot, -1 none
    locked: list[np.ndarray] = field(default_factory=list)       # T x [O] -1, 0 hiders, 1 seekers
    sees: list[np.ndarray] = field(default_factory=list)         # T x [A, A] bool, row sees column
    reward: list[np.ndarray] = field(default_factory=list)       # T x [A]
    hidden: list[bool] = field(default_factory=list)             # T
    stats: dict[str, float] | None = None

    @property
    def steps(self) -> int:
        return len(self.agent_xy)

    @property
    def outcome(self) -> str | None:
        return None if self.stats is None else outcome(self.stats)


def sees_matrix(obs_1: torch.Tensor) -> torch.Tensor:
    """``obs_1`` [N, A, A-1, C] -> bool [N, A, A]: agent i sees agent j. Row r of agent i's
    buffer is the other agent j = r (r < i) or r + 1 (WORLD.md: rows in entity order, self left
    out); a seen agent's row has present = 1 (column 0), an unseen one is all zero."""
    n, a = obs_1.shape[:2]
    seen = obs_1[..., 0] > 0                                          # [N, A, A-1]
    out = torch.zeros(n, a, a, dtype=torch.bool, device=obs_1.device)
    for i in range(a):
        others = [j for j in range(a) if j != i]
        out[:, i, others] = seen[:, i, :len(others)]
    return out


class ReplayRecorder:
    """Keeps the first ``episodes`` episodes of an evaluation (any round, any arena)."""

    def __init__(self, episodes: int):
        if episodes < 1:
            raise ValueError(f"episodes: expected at least 1 to record, got {episodes}")
        self.limit = episodes
        self.world: WorldConfig | None = None   # the simulator's, at the first round
        self.episodes: list[EpisodeRecording] = []
        self._arenas: list[int] = []          # arenas of the current round being recorded
        self._current: list[EpisodeRecording] = []

    def start_round(self, sim, first_episode: int, seeds: list[int]) -> None:
        self.world = sim.world
        keep = max(0, min(self.limit - first_episode, len(seeds)))
        self._arenas = list(range(keep))
        self._current = []
        if not keep:
            return
        s = _host(sim.state, len(self._arenas))
        for k in self._arenas:
            walls = np.concatenate([s["wall_a"][k], s["wall_b"][k]], 1)
            used = np.abs(walls).max(1) < self.world.floor_size   # parked segments lie far away
            self._current.append(EpisodeRecording(
                index=first_episode + k, seed=int(seeds[k]), agent_present=s["agent_present"][k],
                obj_present=s["obj_present"][k], obj_half=s["obj_half"][k], walls=walls[used],
                doors=s["door_pos"][k][s["door_present"][k]]))
        self.episodes.extend(self._current)

    def before_step(self, sim, obs) -> None:
        if not self._current:
            return
        live = [(k, e) for k, e in zip(self._arenas, self._current) if e.stats is None]
        if not live:
            return
        s = _host(sim.state, len(self._arenas))
        sees = sees_matrix(obs.obs_1[:len(self._arenas)]).cpu().numpy()
        for k, e in live:
            e.agent_xy.append(s["agent_pos"][k])
            e.agent_z.append(s["agent_z"][k])
            e.agent_yaw.append(s["agent_yaw"][k])
            e.obj_xy.append(s["obj_pos"][k])
            e.obj_yaw.append(s["obj_yaw"][k])
            e.held_by.append(s["obj_held_by"][k])
            e.locked.append(s["obj_locked_team"][k])
            e.sees.append(sees[k])

    def after_step(self, sim, out) -> None:
        if not self._current:
            return
        count = len(self._arenas)
        reward = out.reward[:count].cpu().numpy()
        hidden = out.hidden[:count].cpu().numpy()
        ended = out.truncated[:count].cpu().numpy()
        for k, e in zip(self._arenas, self._current):
            if e.stats is not None:
                continue
            e.reward.append(reward[k])
            e.hidden.append(bool(hidden[k]))
            if ended[k]:
                e.stats = {name: float(v[k]) for name, v in out.episode_stats.items()}


_FIELDS = ("agent_pos", "agent_z", "agent_yaw", "agent_present", "obj_pos", "obj_yaw", "obj_half",
           "obj_present", "obj_held_by", "obj_locked_team", "wall_a", "wall_b", "door_pos",
           "door_present")


def _host(state, count: int) -> dict[str, np.ndarray]:
    """The fields a replay shows, of the first ``count`` arenas, copied to the host."""
    return {name: getattr(state, name)[:count].detach().cpu().numpy().copy() for name in _FIELDS}
