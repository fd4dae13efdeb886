"""TwinParallelEnv: one twin arena as a PettingZoo ParallelEnv.

Observations are dicts of the four contract observations plus ``action_mask`` (a tuple of five
int8 arrays, 1 = allowed), because Gymnasium's ``MultiDiscrete.sample(mask=...)`` takes a tuple.
Episodes end by truncation at the horizon; after that ``agents`` is empty until ``reset``.
``render_mode="rgb_array"`` returns top-down pictures; ``"human"`` shows them in a window
(``hideseek.envs.window``, the ``human`` extra), drawn by ``reset`` and ``step`` themselves.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv

from ..backends import check_backend, make_simulator
from ..contract import ACTION_BRANCHES, NOOP_ACTION, WorldConfig, load_world_config
from ..sim import AgentObs, TwinSim

ActionDict = dict[str, Any]


def observation_space_for(world: WorldConfig) -> spaces.Dict:
    """The per-agent observation space of the contract (shared with the Unity env)."""
    lay = world.layout
    entries: dict[str, spaces.Space] = {
        name: spaces.Box(-np.inf, np.inf, shape, np.float32)
        for name, shape in zip(lay.obs_names, lay.obs_shapes)}
    entries["action_mask"] = spaces.Tuple(
        [spaces.Box(0, 1, (n,), np.int8) for n in ACTION_BRANCHES])
    return spaces.Dict(entries)


def split_mask(mask_row: np.ndarray) -> tuple[np.ndarray, ...]:
    """A flat boolean mask [37] -> per-branch int8 arrays (1 = allowed)."""
    out, start = [], 0
    for size in ACTION_BRANCHES:
        out.append(mask_row[start:start + size].astype(np.int8))
        start += size
    return tuple(out)


def validate_actions(actions: ActionDict, live: list[str], possible: list[str]) -> dict[str, np.ndarray]:
    """Check an action dict; raise ValueError naming the agent and what was expected."""
    checked = {}
    for agent, action in actions.items():
        if agent not in possible:
            raise ValueError(f"actions: unknown agent {agent!r}; expected one of {possible}")
        if agent not in live:
            raise ValueError(f"actions: agent {agent!r} is not live (episode over or absent)")
        arr = np.asarray(action)
        if arr.shape != (len(ACTION_BRANCHES),) or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"actions[{agent!r}]: expected {len(ACTION_BRANCHES)} integer bins "
                             f"for branches {list(ACTION_BRANCHES)}, got {action!r}")
        bad = (arr < 0) | (arr >= np.asarray(ACTION_BRANCHES))
        if bad.any():
            branch = int(np.flatnonzero(bad)[0])
            raise ValueError(f"actions[{agent!r}]: bin {int(arr[branch])} of branch {branch} is "
                             f"out of range [0, {ACTION_BRANCHES[branch] - 1}]")
        checked[agent] = arr.astype(np.int64)
    return checked


class ContractSpaces:
    """The contract's per-agent spaces, shared by every hide-and-seek ParallelEnv. Cached so
    each agent always gets the same space object (PettingZoo's API test insists)."""

    world: WorldConfig

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent: str) -> spaces.Dict:
        return observation_space_for(self.world)

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent: str) -> spaces.MultiDiscrete:
        return spaces.MultiDiscrete(list(ACTION_BRANCHES), dtype=np.int64)


class TwinParallelEnv(ContractSpaces, ParallelEnv):
    metadata = {"name": "hideseek_twin_v0", "render_modes": ["human", "rgb_array"],
                "is_parallelizable": True, "render_fps": 13}
    HUMAN_WINDOW_SIZE = 600   # pixels of the square window

    def __init__(self, world: WorldConfig, render_mode: str | None = None,
                 device: str = "cpu", seed: int | None = None, backend: str = "twin"):
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode: expected None, 'human' or 'rgb_array', "
                             f"got {render_mode!r}")
        self.backend = check_backend(backend)
        self.world = world
        self.render_mode = render_mode
        self._window = None
        if render_mode == "human":
            from .window import Window
            self._window = Window("hideseek twin", self.metadata["render_fps"])
        self.device = device
        self.possible_agents = list(world.layout.agent_names)
        self.agents: list[str] = []
        self._initial_seed = int(np.random.SeedSequence().entropy % (2**31)) if seed is None else seed
        self._sim: TwinSim | None = None
        self._obs: AgentObs | None = None
        self._slot = {name: i for i, name in enumerate(self.possible_agents)}
        self.state_space = spaces.Box(-np.inf, np.inf, (world.layout.state_size,), np.float32)

    @property
    def sim(self) -> TwinSim:
        if self._sim is None:
            raise RuntimeError("call reset() before using the environment")
        return self._sim

    def reset(self, seed: int | None = None, options: dict | None = None):
        if self._sim is None:
            self._sim = make_simulator(self.backend, self.world, 1, self.device,
                                       seed=self._initial_seed if seed is None else seed)
            obs = self._sim.obs
        else:
            obs = self._sim.reset(seed)
        self._obs = obs
        present = obs.present[0].cpu().numpy()
        self.agents = [a for a in self.possible_agents if present[self._slot[a]]]
        if self.render_mode == "human":
            self.render()
        return self._agent_dicts(obs), {a: {} for a in self.agents}

    def step(self, actions: ActionDict):
        if not self.agents:
            raise RuntimeError("step() called after the episode ended; call reset()")
        checked = validate_actions(actions, self.agents, self.possible_agents)
        batch = torch.tensor(NOOP_ACTION, dtype=torch.int64).repeat(1, len(self.possible_agents), 1)
        for agent, arr in checked.items():
            batch[0, self._slot[agent]] = torch.from_numpy(arr)
        out = self.sim.step(batch.to(self.sim.device))
        ended = bool(out.truncated[0])
        obs = out.final_obs if ended else out.obs
        self._obs = obs
        reward = out.reward[0].cpu().numpy()
        live = self.agents
        observations = self._agent_dicts(obs)
        rewards = {a: float(reward[self._slot[a]]) for a in live}
        terminations = {a: False for a in live}
        truncations = {a: ended for a in live}
        infos: dict[str, dict] = {a: {} for a in live}
        if ended:
            stats = {k: float(v[0]) for k, v in out.episode_stats.items()}
            for a in live:
                infos[a]["episode_stats"] = stats
            self.agents = []
        elif self.render_mode == "human":
            # Not after the last step: the simulator has already laid out its next episode, so
            # the window keeps this episode's last picture.
            self.render()
        return observations, rewards, terminations, truncations, infos

    def _agent_dicts(self, obs: AgentObs) -> dict[str, dict]:
        arrays = [t[0].cpu().numpy() for t in obs.obs]
        mask = obs.action_mask[0].cpu().numpy()
        out = {}
        for agent in self.agents:
            i = self._slot[agent]
            entry = {name: arr[i] for name, arr in zip(self.world.layout.obs_names, arrays)}
            entry["action_mask"] = split_mask(mask[i])
            out[agent] = entry
        return out

    def state(self) -> np.ndarray:
        if self._obs is None:
            raise RuntimeError("call reset() before state()")
        return self._obs.state[0].cpu().numpy()

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            return None
        if self.render_mode == "human":
            self._window.show(self.sim.render(0, size=self.HUMAN_WINDOW_SIZE))
            return None
        return self.sim.render(0)

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
        self._sim = None


_ENV_KWARGS = {"render_mode", "device", "seed", "backend"}


def make_env(arena: str = "quadrant", **overrides: Any) -> TwinParallelEnv:
    """``make_env("quadrant", horizon=40, render_mode="rgb_array")``: world fields override the
    arena YAML (validated), the rest configure the env; ``backend="physx"`` steps the world on
    PhysX (``hideseek.physx``, the physx extra) instead of the twin."""
    env_kwargs = {k: overrides.pop(k) for k in list(overrides) if k in _ENV_KWARGS}
    world_fields = {f.name for f in dataclasses.fields(WorldConfig)}
    unknown = sorted(set(overrides) - world_fields)
    if unknown:
        raise TypeError(f"make_env: unknown argument {unknown[0]!r}; expected a WorldConfig field "
                        f"or one of {sorted(_ENV_KWARGS)}")
    return TwinParallelEnv(load_world_config(arena, overrides), **env_kwargs)
