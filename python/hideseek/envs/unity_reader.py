"""One reader of the ML-Agents protocol for both Unity envs (``UnityParallelEnv``, ``UnityVecSim``).

:class:`UnityConnection` opens one Unity process (or the twin player) with this project's side
channels, checks the behaviour specs and maps agent ids to (arena, slot) once, and turns every
reset or step into a :class:`StepBatch` of numpy arrays over all the process's arenas. The envs
only select from it (one arena, or all of them) and never decode steps themselves.

Protocol facts used here (../shared/PROTOCOL.md): agent ids are fixed per Agent instance and
sorted ids of a behaviour map to ``(arena = rank // agents_per_team, slot)``; every agent requests
a decision every step; an agent may appear in the terminal and the decision steps of one message
(its episode ended and the next began); ``interrupted`` = truncation; the team reward comes as
the group reward (reward = individual + group); wire masks say True = forbidden; the critic state
arrives on :class:`~hideseek.envs.side_channels.GlobalStateChannel` (first message of an arena in
a step = the ended episode's last state), only after we asked for it with
``GLOBAL_STATE_REQUEST_KEY``; statistics arrive on the Stats channel, one value per ended arena
in arena order.
"""

from __future__ import annotations

import logging
import socket
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..config_io import to_dict
from ..contract import ACTION_BRANCHES, BEHAVIOR_NAMES, EPISODE_STATS
from ..contract import NOOP_ACTION as CONTRACT_NOOP_ACTION
from ..contract import TEAMS, ObsLayout, WorldConfig
from . import mlagents_compat
from . import side_channels as sc

mlagents_compat.install()

from mlagents_envs.base_env import ActionTuple, BehaviorSpec  # noqa: E402
from mlagents_envs.side_channel.engine_configuration_channel import (  # noqa: E402
    EngineConfigurationChannel)
from mlagents_envs.side_channel.environment_parameters_channel import (  # noqa: E402
    EnvironmentParametersChannel)
from mlagents_envs.side_channel.stats_side_channel import StatsSideChannel  # noqa: E402

log = logging.getLogger(__name__)

NOOP_ACTION = np.array(CONTRACT_NOOP_ACTION, dtype=np.int32)  # ML-Agents takes int32 branches
DEFAULT_TIME_SCALE = 20.0  # mlagents-learn's default --time-scale


class UnityError(RuntimeError):
    """A Unity process could not be used; the message says which and why (the CLI prints it as
    one line)."""


class UnityProtocolError(UnityError):
    """The Unity side sent something this project's contract does not allow."""


class UnityPortInUse(UnityError):
    """The port a UnityEnvironment would listen on is taken."""


def port_is_free(port: int) -> bool:
    """The check RpcCommunicator makes before it binds (SO_REUSEADDR, as it does, so ports in
    TIME_WAIT count as free). Checking first also avoids constructing a UnityEnvironment that
    fails half-way."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("localhost", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


# --------------------------------------------------------------------------- closing at exit

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


# --------------------------------------------------------------------------- specs and ids

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
    return {BEHAVIOR_NAMES[team]: (sl.start, sl.stop - sl.start)
            for team, sl in layout.team_slices().items()}


def state_present(state: np.ndarray, layout: ObsLayout) -> np.ndarray:
    """Agent slots [..., A] present this episode, read from the critic state's agents block."""
    rows, cols = layout.state_blocks[0][1], layout.state_blocks[0][2]
    agents = state[..., layout.state_slices()["agents"]].reshape(*state.shape[:-1], rows, cols)
    return agents[..., 0] > 0.5  # column "present"


# --------------------------------------------------------------------------- one step, decoded

@dataclass
class StepBatch:
    """One reset or step of one Unity process, over its ``n`` arenas (A = max agents)."""

    obs: list[np.ndarray]          # 4 x [n, A, ...] the decision observations (for an arena that
    #                                ended: the first of its next episode)
    mask: np.ndarray               # [n, A, M] bool, True = allowed
    state: np.ndarray              # [n, S] critic state that goes with ``obs``
    reward: np.ndarray             # [n, A] reward of the step (of the last step, where ended)
    ended: np.ndarray              # [n] bool, the episode ended at this step
    interrupted: np.ndarray        # [n] bool, it ended by truncation (horizon)
    final_obs: list[np.ndarray]    # 4 x [n, A, ...] the ended episodes' last observations (= obs
    #                                where the arena did not end)
    final_state: np.ndarray        # [n, S] likewise for the critic state
    stats: dict[str, np.ndarray] | None  # EPISODE_STATS name -> [n], NaN where not sent;
    #                                      None when no arena ended
    other_stats: dict[str, list[float]]  # Stats-channel entries that are not ours


@dataclass
class Channels:
    params: EnvironmentParametersChannel
    stats: StatsSideChannel
    state: sc.GlobalStateChannel
    engine: EngineConfigurationChannel

    def as_list(self) -> list:
        return [self.params, self.stats, self.state, self.engine]


def make_side_channels(world: WorldConfig, num_arenas: int, time_scale: float) -> Channels:
    """Side channels with the whole world config, the global-state request and the engine
    settings queued; they go to Unity with the first reset."""
    params = EnvironmentParametersChannel()
    values = dict(to_dict(world), **{sc.NUM_ARENAS_KEY: num_arenas,
                                     sc.GLOBAL_STATE_REQUEST_KEY: 1.0})
    for key, value in sc.world_to_parameters(values).items():
        params.set_float_parameter(key, value)
    engine = EngineConfigurationChannel()
    engine.set_configuration_parameters(time_scale=time_scale)
    return Channels(params, StatsSideChannel(), sc.GlobalStateChannel(), engine)


class UnityConnection:
    """One Unity process: opened with this project's side channels, read with one decoder."""

    def __init__(self, file_name: str | None, world: WorldConfig, num_arenas: int, *,
                 worker_id: int = 0, base_port: int | None = None, seed: int = 0,
                 no_graphics: bool = True, timeout_wait: int = 60,
                 time_scale: float = DEFAULT_TIME_SCALE, log_folder: str | None = None,
                 additional_args: Sequence[str] | None = None, bind_address: str | None = None):
        self.layout, self.num_arenas = world.layout, num_arenas
        self.source = f"Unity worker {worker_id} ({file_name or 'Editor'})"
        port = (base_port if base_port is not None else
                mlagents_compat.default_base_port(file_name)) + worker_id
        if not port_is_free(port):
            raise UnityPortInUse(f"{self.source}: port {port} is in use (another trainer or "
                                 "Unity environment?); expected a free port: pass another "
                                 "worker_id or base_port, or stop the other process")
        self.channels = make_side_channels(world, num_arenas, time_scale)
        self.env = mlagents_compat.unity_environment(
            file_name=file_name, worker_id=worker_id, base_port=base_port, seed=seed,
            no_graphics=no_graphics, timeout_wait=timeout_wait,
            additional_args=list(additional_args or []), side_channels=self.channels.as_list(),
            log_folder=log_folder, num_areas=num_arenas, bind_address=bind_address)
        self.teams: dict[str, TeamIndex] = {}
        self._decisions: dict = {}
        self._warned: set[str] = set()

    # ------------------------------------------------------------------ commands
    def reset(self, seed: int | None = None) -> StepBatch:
        """RESET (with the twin's ``seed`` parameter when given); the first one also checks the
        behaviour specs and fixes the agent-id map."""
        if seed is not None:
            self.channels.params.set_float_parameter(sc.SEED_KEY, float(seed))
        self.env.reset()
        if not self.teams:
            check_behavior_specs(self.env.behavior_specs, self.layout, self.source)
            for behavior, (first, per_team) in team_slots(self.layout).items():
                decision, _ = self.env.get_steps(behavior)
                self.teams[behavior] = TeamIndex.build(behavior, decision.agent_id,
                                                       self.num_arenas, first, per_team,
                                                       self.source)
        self.channels.stats.get_and_reset_stats()  # left over from before the reset
        return self.read()

    def step(self, actions: np.ndarray) -> StepBatch:
        """STEP with ``actions`` int [n, A, 5] in arena/slot order."""
        for behavior, team in self.teams.items():
            arena, slot = team.locate(self._decisions[behavior].agent_id, self.source)
            self.env.set_actions(behavior,
                                 ActionTuple(discrete=np.asarray(actions[arena, slot], np.int32)))
        self.env.step()
        return self.read()

    def close(self, grace: float | None = None) -> None:
        """Close; with ``grace`` kill the process after that many seconds (UnityEnvironment's
        close() would wait ``timeout_wait`` for a hung player)."""
        if grace is None:
            self.env.close()
        else:
            self.env._close(grace)

    # ------------------------------------------------------------------ decoding
    def read(self) -> StepBatch:
        lay, n, source = self.layout, self.num_arenas, self.source
        obs = [np.zeros((n, lay.max_agents) + s, np.float32) for s in lay.obs_shapes]
        final = [np.zeros_like(o) for o in obs]
        mask = np.ones((n, lay.max_agents, lay.action_mask_size), bool)
        reward = np.zeros((n, lay.max_agents), np.float32)
        seen = np.zeros((n, lay.max_agents), bool)
        ended = np.zeros(n, bool)
        interrupted = np.zeros(n, bool)
        for behavior, team in self.teams.items():
            decision, terminal = self.env.get_steps(behavior)
            self._decisions[behavior] = decision
            ar, sl = team.locate(decision.agent_id, source)
            for o, d in zip(obs, decision.obs):
                o[ar, sl] = d
            if decision.action_mask is not None:
                mask[ar, sl] = ~np.concatenate(decision.action_mask, axis=1)
            reward[ar, sl] = decision.reward + decision.group_reward
            seen[ar, sl] = True
            if len(terminal):
                tar, tsl = team.locate(terminal.agent_id, source)
                for o, d in zip(final, terminal.obs):
                    o[tar, tsl] = d
                # The ended step's reward came with the terminal info; the next episode's first
                # decision carries none.
                reward[tar, tsl] = terminal.reward + terminal.group_reward
                ended[tar] = True
                interrupted[tar] = terminal.interrupted
        if not seen.all():
            k, s = np.argwhere(~seen)[0]
            raise UnityProtocolError(f"{source}: agent slot {s} of arena {k} requested no "
                                     "decision (every agent must request one every step)")
        for f, o in zip(final, obs):
            f[~ended] = o[~ended]
        state, final_state = self._read_state()
        stats, other = self._read_stats(ended)
        return StepBatch(obs, mask, state, reward, ended, interrupted, final, final_state,
                         stats, other)

    def _read_state(self) -> tuple[np.ndarray, np.ndarray]:
        lay, n = self.layout, self.num_arenas
        state = np.zeros((n, lay.state_size), np.float32)
        final_state = state.copy()
        got = np.zeros(n, bool)
        for msg in self.channels.state.pop_messages():
            if not 0 <= msg.arena < n or msg.state.shape != (lay.state_size,):
                raise UnityProtocolError(
                    f"{self.source}: global state for arena {msg.arena} with {msg.state.size} "
                    f"floats (expected arenas 0..{n - 1}, {lay.state_size} floats)")
            if not got[msg.arena]:
                final_state[msg.arena] = msg.state  # first message: the ended episode's last
            state[msg.arena] = msg.state
            got[msg.arena] = True
        if not got.all():
            raise UnityProtocolError(f"{self.source}: no global state for arenas "
                                     f"{np.flatnonzero(~got).tolist()}")
        if not np.isfinite(state).all() or not np.isfinite(final_state).all():
            raise UnityProtocolError(f"{self.source}: global state had NaN or infinite values")
        return state, final_state

    def _read_stats(self, ended: np.ndarray
                    ) -> tuple[dict[str, np.ndarray] | None, dict[str, list[float]]]:
        """Unity sends each ended arena's statistics in arena order. Values that cannot be
        attributed to an ended arena are dropped with a warning (once per kind), never guessed:
        such arenas keep NaN."""
        raw = self.channels.stats.get_and_reset_stats()
        other = {k: [float(v) for v, _ in vals] for k, vals in raw.items()
                 if not k.startswith(sc.STATS_PREFIX)}
        values = sc.episode_stats(raw)
        ks = np.flatnonzero(ended)
        if not len(ks):
            if values:
                self._warn_once("early", "%s: episode statistics %s arrived in a step where no "
                                "episode ended; dropped", self.source, sorted(values))
            return None, other
        out = {}
        for name in EPISODE_STATS:
            arr = np.full(self.num_arenas, np.nan, np.float32)
            got = values.get(name, [])
            if len(got) == len(ks):
                arr[ks] = got
            elif got:
                self._warn_once(name, "%s: %d values of %s for %d ended arenas; dropped",
                                self.source, len(got), name, len(ks))
            out[name] = arr
        return out, other

    def _warn_once(self, kind: str, *args: Any) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            log.warning(*args)
