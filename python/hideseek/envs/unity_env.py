"""PettingZoo ``ParallelEnv`` over a Unity ML-Agents build (or the twin player).

One Unity process holds ``num_arenas`` training areas. This env exposes ONE of them
(``arena_index``, default 0) under the twin env's names (``hider_0``.., ``seeker_0``..) and with
its observation dicts; the agents of the other arenas get the "do nothing" action. Training on all
arenas of many processes goes through :class:`hideseek.envs.unity_vec.UnityVecSim` instead.

Protocol facts used here (../shared/PROTOCOL.md): agent ids are fixed per Agent instance and
sorted ids of a behaviour map to ``(arena = rank // agents_per_team, slot)``; an agent may appear
in the terminal and the decision steps of one message (its episode ended and the next began);
``interrupted`` = truncation; the team reward comes as the group reward; wire masks say
True = forbidden. Arena parameters travel as EnvironmentParameters, engine settings through
EngineConfiguration, the critic state through :class:`GlobalStateChannel`.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from gymnasium import spaces

from ..config_io import to_dict
from ..contract import (ACTION_BRANCHES, BEHAVIOR_NAMES, NO_MOVE_BIN, TEAMS, ObsLayout,
                        WorldConfig, load_world_config)
from . import mlagents_compat
from . import side_channels as sc
from .twin_env import ContractSpaces, validate_actions

mlagents_compat.install()

from mlagents_envs.base_env import ActionTuple, BehaviorSpec, DecisionSteps  # noqa: E402
from mlagents_envs.environment import UnityEnvironment  # noqa: E402
from mlagents_envs.side_channel.engine_configuration_channel import (  # noqa: E402
    EngineConfigurationChannel)
from mlagents_envs.side_channel.environment_parameters_channel import (  # noqa: E402
    EnvironmentParametersChannel)
from mlagents_envs.side_channel.stats_side_channel import StatsSideChannel  # noqa: E402
from pettingzoo import ParallelEnv  # noqa: E402

NOOP_ACTION = np.array([NO_MOVE_BIN, NO_MOVE_BIN, NO_MOVE_BIN, 0, 0], dtype=np.int32)
DEFAULT_TIME_SCALE = 20.0  # mlagents-learn's default --time-scale


class UnityProtocolError(RuntimeError):
    """The Unity side sent something this project's contract does not allow."""


# --------------------------------------------------------------------------- shared helpers

_OPEN: "weakref.WeakSet" = weakref.WeakSet()
_exit_hook_installed = False


def close_at_exit(obj: Any) -> None:
    """Close ``obj`` when the interpreter shuts down, even if the user forgot to.

    An open UnityEnvironment deadlocks interpreter exit: its gRPC handler thread waits in
    ``Pipe.recv`` for our reply while ``concurrent.futures`` joins every pool thread, and that
    happens before ``atexit`` (where UnityEnvironment registers its close). Hooks registered
    with ``threading._register_atexit`` (what concurrent.futures itself uses) run earlier, the
    latest first, so closing there sends Unity the 400 that releases the thread.
    """
    global _exit_hook_installed
    _OPEN.add(obj)
    if not _exit_hook_installed:
        threading._register_atexit(_close_all)
        _exit_hook_installed = True


def _close_all() -> None:
    for obj in list(_OPEN):
        try:
            obj.close()
        except Exception:  # nothing useful to do with an error at interpreter exit
            pass


def check_behavior_specs(specs: Mapping[str, BehaviorSpec], layout: ObsLayout,
                         source: str) -> None:
    """The build must expose both behaviours with the contract's observation and action shapes."""
    for team in TEAMS:
        name = BEHAVIOR_NAMES[team]
        if name not in specs:
            raise UnityProtocolError(f"{source}: behaviour {name!r} missing (got {sorted(specs)})")
        spec = specs[name]
        shapes = tuple(tuple(o.shape) for o in spec.observation_specs)
        if shapes != layout.obs_shapes:
            raise UnityProtocolError(f"{source}: {name} observation shapes {shapes}, expected "
                                     f"{layout.obs_shapes} (contract.ObsLayout for this world)")
        branches = tuple(spec.action_spec.discrete_branches)
        if branches != ACTION_BRANCHES or spec.action_spec.continuous_size:
            raise UnityProtocolError(f"{source}: {name} actions {spec.action_spec}, expected "
                                     f"discrete branches {ACTION_BRANCHES}")


@dataclass
class TeamIndex:
    """Fixed map of one behaviour's agent ids to (arena, slot), from the first decision step."""

    behavior: str
    ids: np.ndarray     # sorted agent ids
    arena: np.ndarray   # arena of ids[i]
    slot: np.ndarray    # global agent slot (hiders first, then seekers) of ids[i]

    @classmethod
    def build(cls, behavior: str, agent_ids: np.ndarray, num_arenas: int, first_slot: int,
              per_team: int, source: str) -> "TeamIndex":
        ids = np.sort(np.asarray(agent_ids))
        if len(ids) != num_arenas * per_team or len(np.unique(ids)) != len(ids):
            raise UnityProtocolError(
                f"{source}: {behavior} has {len(ids)} agents requesting decisions, expected "
                f"{num_arenas} arenas x {per_team} = {num_arenas * per_team} distinct ids")
        rank = np.arange(len(ids))
        return cls(behavior, ids, rank // per_team, first_slot + rank % per_team)

    def locate(self, agent_ids: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
        """(arena, slot) of each id; unknown ids are a protocol error (agents are never
        re-created in this scene)."""
        agent_ids = np.asarray(agent_ids)
        pos = np.searchsorted(self.ids, agent_ids)
        pos = np.minimum(pos, len(self.ids) - 1)
        bad = self.ids[pos] != agent_ids
        if bad.any():
            raise UnityProtocolError(f"{source}: {self.behavior} sent unknown agent id "
                                     f"{int(agent_ids[bad][0])} (known: {self.ids.tolist()})")
        return self.arena[pos], self.slot[pos]


def team_slots(layout: ObsLayout) -> dict[str, tuple[int, int]]:
    """behaviour -> (first slot, agents per team per arena)."""
    return {BEHAVIOR_NAMES[TEAMS[0]]: (0, layout.max_hiders),
            BEHAVIOR_NAMES[TEAMS[1]]: (layout.max_hiders, layout.max_seekers)}


def make_side_channels(world: WorldConfig, num_arenas: int, time_scale: float
                       ) -> tuple[EnvironmentParametersChannel, StatsSideChannel,
                                  sc.GlobalStateChannel, EngineConfigurationChannel]:
    """Side channels with the whole world config and the engine settings queued; they go to
    Unity with the first reset."""
    params = EnvironmentParametersChannel()
    values = dict(to_dict(world), **{sc.NUM_ARENAS_KEY: num_arenas})
    for key, value in sc.world_to_parameters(values).items():
        params.set_float_parameter(key, value)
    engine = EngineConfigurationChannel()
    engine.set_configuration_parameters(time_scale=time_scale)
    return params, StatsSideChannel(), sc.GlobalStateChannel(), engine


def state_present(state: np.ndarray, layout: ObsLayout) -> np.ndarray:
    """Agent slots [..., A] present this episode, read from the critic state's agents block."""
    rows, cols = layout.state_blocks[0][1], layout.state_blocks[0][2]
    agents = state[..., layout.state_slices()["agents"]].reshape(*state.shape[:-1], rows, cols)
    return agents[..., 0] > 0.5  # column "present"


# --------------------------------------------------------------------------- the env

class UnityParallelEnv(ContractSpaces, ParallelEnv):
    """One arena of a Unity build (``file_name``) or of the Editor in Play mode (None).

    ``arena`` + ``world_overrides`` give the world config that is sent to Unity (every field,
    as EnvironmentParameters). ``reset(seed=s)`` sends the ``seed`` parameter, which the twin
    honours at that reset and a Unity build ignores (Unity seeds once, from the handshake).
    """

    metadata = {"name": "hideseek_unity_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, file_name: str | None = None, worker_id: int = 0,
                 base_port: int | None = None, no_graphics: bool = True,
                 time_scale: float = DEFAULT_TIME_SCALE, arena: str = "quadrant", seed: int = 0,
                 timeout_wait: int = 60, num_arenas: int = 1, arena_index: int = 0,
                 log_folder: str | None = None, additional_args: Sequence[str] | None = None,
                 world_overrides: Mapping[str, Any] | None = None):
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
        self._params, self._stats, self._state_channel, engine = make_side_channels(
            self.world, num_arenas, time_scale)
        self._source = f"Unity worker {worker_id} ({file_name or 'Editor'})"
        self.env = UnityEnvironment(
            file_name=file_name, worker_id=worker_id, base_port=base_port, seed=seed,
            no_graphics=no_graphics, timeout_wait=timeout_wait,
            additional_args=list(additional_args or []),
            side_channels=[self._params, self._stats, self._state_channel, engine],
            log_folder=log_folder, num_areas=num_arenas)
        close_at_exit(self)
        self._index: dict[str, TeamIndex] = {}
        self._decisions: dict[str, DecisionSteps] = {}
        self._state = np.zeros(self.layout.state_size, dtype=np.float32)

    # ------------------------------------------------------------------ reading
    def _read(self) -> tuple[dict, dict, dict, dict, bool]:
        """Our arena's (obs, reward, truncated, final-obs flags) after a reset or step."""
        obs, rewards, truncated = {}, {}, {}
        ended = False
        for behavior, index in self._index.items():
            decision, terminal = self.env.get_steps(behavior)
            self._decisions[behavior] = decision
            arena, slot = index.locate(terminal.agent_id, self._source)
            for i in np.flatnonzero(arena == self.arena_index):
                name = self.possible_agents[slot[i]]
                obs[name] = self._obs_row(terminal.obs, i, None)
                rewards[name] = float(terminal.reward[i] + terminal.group_reward[i])
                truncated[name] = bool(terminal.interrupted[i])
                ended = True
            arena, slot = index.locate(decision.agent_id, self._source)
            for i in np.flatnonzero(arena == self.arena_index):
                name = self.possible_agents[slot[i]]
                if name in obs:  # the next episode's first decision; its reward is 0
                    continue
                obs[name] = self._obs_row(decision.obs, i, decision.action_mask)
                rewards[name] = float(decision.reward[i] + decision.group_reward[i])
        return obs, rewards, truncated, {}, ended

    def _obs_row(self, batch: list[np.ndarray], i: int, mask: list[np.ndarray] | None) -> dict:
        row = {name: np.asarray(o[i], dtype=np.float32)
               for name, o in zip(self.layout.obs_names, batch)}
        if mask is None:  # terminal infos carry no usable mask: the episode is over
            row["action_mask"] = tuple(np.ones(n, dtype=np.int8) for n in ACTION_BRANCHES)
        else:
            row["action_mask"] = tuple((~m[i]).astype(np.int8) for m in mask)
        return row

    def _read_state(self, ended: bool) -> None:
        """Keep the newest state of our arena; after an episode end keep its final state (the
        first of the two messages Unity sends for the arena in that step)."""
        mine = [m for m in self._state_channel.pop_messages() if m.arena == self.arena_index]
        if mine:
            self._state = (mine[0] if ended else mine[-1]).state

    def _episode_stats(self) -> dict[str, Any]:
        """Stats-channel values of our arena's finished episode. Unity sends one value per ended
        arena in arena order; only arenas ending together share a step, so our arena's value is
        at its rank among them (all arenas share the horizon, so that is arena_index)."""
        raw = self._stats.get_and_reset_stats()
        ours = {}
        for name, values in sc.episode_stats(raw).items():
            if values:
                ours[name] = values[min(self.arena_index, len(values) - 1)]
        other = {k: [float(v) for v, _ in vals] for k, vals in raw.items()
                 if not k.startswith(sc.STATS_PREFIX)}
        return {"episode_stats": ours, **({"stats": other} if other else {})}

    # ------------------------------------------------------------------ API
    def reset(self, seed: int | None = None, options: dict | None = None
              ) -> tuple[dict[str, dict], dict[str, dict]]:
        if seed is not None:
            if not 0 <= int(seed) < sc.MAX_FLOAT_SEED:
                raise ValueError(f"seed: expected 0 <= seed < {sc.MAX_FLOAT_SEED} (it travels "
                                 f"as a float32 environment parameter), got {seed}")
            self._params.set_float_parameter(sc.SEED_KEY, float(seed))
        self.env.reset()
        if not self._index:
            check_behavior_specs(self.env.behavior_specs, self.layout, self._source)
            for behavior, (first, per_team) in team_slots(self.layout).items():
                decision, _ = self.env.get_steps(behavior)
                self._index[behavior] = TeamIndex.build(behavior, decision.agent_id,
                                                        self.num_arenas, first, per_team,
                                                        self._source)
        self._stats.get_and_reset_stats()
        obs, _, _, _, _ = self._read()
        self._read_state(False)
        present = state_present(self._state, self.layout)
        self.agents = [a for i, a in enumerate(self.possible_agents) if present[i]]
        return {a: obs[a] for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: Mapping[str, np.ndarray]):
        if not self.agents:
            raise RuntimeError("step() called after the episode ended; call reset()")
        actions = validate_actions(actions, self.agents, self.possible_agents)
        for behavior, index in self._index.items():
            decision = self._decisions[behavior]
            arena, slot = index.locate(decision.agent_id, self._source)
            batch = np.tile(NOOP_ACTION, (len(decision), 1))
            for i in np.flatnonzero(arena == self.arena_index):
                name = self.possible_agents[slot[i]]
                if name in actions:
                    batch[i] = actions[name]
            self.env.set_actions(behavior, ActionTuple(discrete=batch))
        self.env.step()
        obs, rewards, truncated, _, ended = self._read()
        self._read_state(ended)
        live = self.agents
        terminations = {a: False for a in live}
        truncations = {a: truncated.get(a, False) for a in live}
        infos: dict[str, dict] = {a: {} for a in live}
        if ended:
            extra = self._episode_stats()
            infos = {a: dict(extra) for a in live}
            self.agents = []
        return ({a: obs[a] for a in live}, {a: rewards.get(a, 0.0) for a in live},
                terminations, truncations, infos)

    def state(self) -> np.ndarray:
        return self._state.copy()

    def close(self) -> None:
        env, self.env = getattr(self, "env", None), None
        if env is not None:
            env.close()

    def render(self) -> None:
        return None
