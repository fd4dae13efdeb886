"""PettingZoo ``ParallelEnv`` over a Unity ML-Agents build (or the twin player).

One Unity process holds ``num_arenas`` training areas. This env exposes ONE of them
(``arena_index``, default 0) under the twin env's names (``hider_0``.., ``seeker_0``..) and with
its observation dicts; the agents of the other arenas get the "do nothing" action. Training on all
arenas of many processes goes through :class:`hideseek.envs.unity_vec.UnityVecSim` instead.

Steps are decoded by :class:`hideseek.envs.unity_reader.UnityConnection` (shared with
``UnityVecSim``); this env only picks its arena out of them.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from ..contract import ACTION_BRANCHES, load_world_config
from . import side_channels as sc
from .twin_env import ContractSpaces, validate_actions
from .unity_reader import (DEFAULT_TIME_SCALE, NOOP_ACTION, StepBatch, UnityConnection,
                           UnityProtocolError, close_at_exit, state_present)

__all__ = ["UnityParallelEnv", "UnityProtocolError"]


# --------------------------------------------------------------------------- the env

class UnityParallelEnv(ContractSpaces, ParallelEnv):
    """One arena of a Unity build (``file_name``) or of the Editor in Play mode (None).

    ``arena`` + ``world_overrides`` give the world config that is sent to Unity (every field,
    as EnvironmentParameters). ``reset(seed=s)`` sends the ``seed`` parameter, which the twin
    honours at that reset and a Unity build ignores (Unity seeds once, from the handshake).
    The trainer-side server listens on ``bind_address`` (default loopback; see
    ``hideseek.envs.mlagents_compat.resolve_bind_address``).
    """

    metadata = {"name": "hideseek_unity_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, file_name: str | None = None, worker_id: int = 0,
                 base_port: int | None = None, no_graphics: bool = True,
                 time_scale: float = DEFAULT_TIME_SCALE, arena: str = "quadrant", seed: int = 0,
                 timeout_wait: int = 60, num_arenas: int = 1, arena_index: int = 0,
                 log_folder: str | None = None, additional_args: Sequence[str] | None = None,
                 world_overrides: Mapping[str, Any] | None = None,
                 bind_address: str | None = None):
        if not 0 <= arena_index < num_arenas:
            raise ValueError(f"arena_index: expected 0 <= arena_index < num_arenas "
                             f"({num_arenas}), got {arena_index}")
        self.world = load_world_config(arena, world_overrides)
        self.layout = self.world.layout
        self.num_arenas, self.arena_index = num_arenas, arena_index
        self.possible_agents = list(self.layout.agent_names)
        self.agents: list[str] = []
        self.render_mode = None
        self.state_space = spaces.Box(-np.inf, np.inf, (self.layout.state_size,), np.float32)
        self.unity = UnityConnection(
            file_name, self.world, num_arenas, worker_id=worker_id, base_port=base_port,
            seed=seed, no_graphics=no_graphics, timeout_wait=timeout_wait,
            time_scale=time_scale, log_folder=log_folder, additional_args=additional_args,
            bind_address=bind_address)
        self.env = self.unity.env
        close_at_exit(self)
        self._state = np.zeros(self.layout.state_size, dtype=np.float32)

    # ------------------------------------------------------------------ our arena
    def _obs_dicts(self, batch: StepBatch, final: bool) -> dict[str, dict]:
        """Observation dicts of our arena: the decision ones, or the ended episode's last ones
        (terminal infos carry no usable mask: the episode is over, everything is allowed)."""
        k = self.arena_index
        source = batch.final_obs if final else batch.obs
        out = {}
        for a, name in enumerate(self.possible_agents):
            row = {key: source[i][k, a] for i, key in enumerate(self.layout.obs_names)}
            if final:
                row["action_mask"] = tuple(np.ones(n, dtype=np.int8) for n in ACTION_BRANCHES)
            else:
                row["action_mask"] = tuple(
                    part.astype(np.int8)
                    for part in np.split(batch.mask[k, a], np.cumsum(ACTION_BRANCHES)[:-1]))
            out[name] = row
        return out

    def _episode_stats(self, batch: StepBatch) -> dict[str, Any]:
        k = self.arena_index
        ours = {name: float(v[k]) for name, v in (batch.stats or {}).items()
                if np.isfinite(v[k])}
        return {"episode_stats": ours, **({"stats": batch.other_stats} if batch.other_stats
                                           else {})}

    # ------------------------------------------------------------------ API
    def reset(self, seed: int | None = None, options: dict | None = None
              ) -> tuple[dict[str, dict], dict[str, dict]]:
        if seed is not None and not 0 <= int(seed) < sc.MAX_FLOAT_SEED:
            raise ValueError(f"seed: expected 0 <= seed < {sc.MAX_FLOAT_SEED} (it travels "
                             f"as a float32 environment parameter), got {seed}")
        batch = self.unity.reset(seed)
        obs = self._obs_dicts(batch, final=False)
        self._state = batch.state[self.arena_index].copy()
        present = state_present(self._state, self.layout)
        self.agents = [a for i, a in enumerate(self.possible_agents) if present[i]]
        return {a: obs[a] for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: Mapping[str, np.ndarray]):
        if not self.agents:
            raise RuntimeError("step() called after the episode ended; call reset()")
        actions = validate_actions(actions, self.agents, self.possible_agents)
        # Every agent of the process acts; the other arenas' agents do nothing.
        batch_actions = np.tile(NOOP_ACTION, (self.num_arenas, self.layout.max_agents, 1))
        for a, name in enumerate(self.possible_agents):
            if name in actions:
                batch_actions[self.arena_index, a] = actions[name]
        batch = self.unity.step(batch_actions)
        k = self.arena_index
        ended = bool(batch.ended[k])
        obs = self._obs_dicts(batch, final=ended)
        self._state = (batch.final_state if ended else batch.state)[k].copy()
        live = self.agents
        slot = {name: a for a, name in enumerate(self.possible_agents)}
        rewards = {name: float(batch.reward[k, slot[name]]) for name in live}
        truncated = ended and bool(batch.interrupted[k])
        terminations = {name: ended and not truncated for name in live}
        truncations = {name: truncated for name in live}
        infos: dict[str, dict] = {name: {} for name in live}
        if ended:
            extra = self._episode_stats(batch)
            infos = {name: dict(extra) for name in live}
            self.agents = []
        return {name: obs[name] for name in live}, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        return self._state.copy()

    def close(self) -> None:
        unity, self.unity = getattr(self, "unity", None), None
        self.env = None
        if unity is not None:
            unity.close()

    def render(self) -> None:
        return None
