"""The Unity side of the protocol over ``TwinSim``: one ``UnityRLInputProto`` in, one
``UnityOutputProto`` out, exactly as ML-Agents' C# Academy answers (../shared/PROTOCOL.md §3-§7).

Scene model: ``num_arenas`` training areas, each with ``max_hiders`` hider agents and
``max_seekers`` seeker agents. Agents are created arena by arena (hiders in slot order, then
seekers) and never disabled, so agent ``(arena k, slot a)`` has the fixed id ``k * A + a`` and
one ``SimpleMultiAgentGroup`` per team per arena (group id ``1 + 2k + team``). Every agent
requests a decision every step. At the horizon each agent of an arena sends a terminal info
(``done``, ``max_step_reached``) and then, in the same message, the first decision of its next
episode. Rewards: the group reward is the team part of the simulator's own reward rule
(``hideseek.sim.rules.rewards``), the agent's own reward is the rest (total - group), so the two
always add up to the twin's reward, for present and absent agents. The critic state goes on the
global-state channel only while the trainer has set ``GLOBAL_STATE_REQUEST_KEY``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import torch

from ..config_io import ConfigError
from ..contract import ACTION_BRANCHES, BEHAVIOR_NAMES, NOOP_ACTION, TEAMS, WorldConfig
from ..envs import mlagents_compat
from ..envs import side_channels as sc
from .wire import DIM_NONE, DIM_VARIABLE_SIZE, ObservationHeader, encode_agent_infos

mlagents_compat.install()

from mlagents_envs.communicator_objects.brain_parameters_pb2 import (  # noqa: E402
    ActionSpecProto, BrainParametersProto)
from mlagents_envs.communicator_objects.command_pb2 import QUIT, RESET  # noqa: E402
from mlagents_envs.communicator_objects.unity_output_pb2 import UnityOutputProto  # noqa: E402
from mlagents_envs.communicator_objects.unity_rl_input_pb2 import UnityRLInputProto  # noqa: E402

log = logging.getLogger("hideseek.unity_twin")

# Sensor names sort in obs_0..obs_3 order, as ML-Agents sorts an agent's sensors by name.
OBSERVATION_NAMES = ("obs_0_self", "obs_1_agents", "obs_2_boxes", "obs_3_ramps")
ACTION_DESCRIPTIONS = ("force_x", "force_y", "torque", "grab", "lock")


class QuitRequested(Exception):
    """The trainer sent the QUIT command."""


class ProtocolError(RuntimeError):
    """The trainer's input does not fit the scene (wrong action counts or values)."""


# (world, num_arenas, device, seed) -> an object with the TwinSim API. Tests and benchmarks may
# pass their own; the player always uses TwinSim.
SimFactory = Callable[[WorldConfig, int, str, int], Any]


def team_reward(world: WorldConfig, consts: Any, hidden: np.ndarray, t_prev: np.ndarray,
                present: np.ndarray) -> np.ndarray:
    """The group (team) part [N, A] of the twin's reward for a step taken at episode steps
    ``t_prev`` [N] that left the hiders ``hidden`` [N]: the simulator's reward rule
    (``hideseek.sim.rules.rewards``) itself, evaluated with every agent inside the floor, i.e.
    without its individual term. Deriving it here instead would let a rule change split the
    twin's total from what the protocol pays. (The rule works on the simulator's core layout:
    agents x arenas, positions as x/y planes.)"""
    from ..sim.rules import rewards
    from ..sim.sensors import phase_of

    n, a = present.shape
    in_prep, _, _ = phase_of(torch.from_numpy(t_prev), consts)
    # "Some seeker sees some hider" exactly when not hidden.
    seen = torch.from_numpy(~hidden)[None, None, :].expand(a, a, n)
    inside = {"agent_pos": torch.zeros(2, a, n),
              "agent_present": torch.from_numpy(np.ascontiguousarray(present.T))}
    group, _ = rewards(inside, seen, in_prep, consts, world)
    return group.float().numpy().T.copy()


def default_sim_factory(world: WorldConfig, num_arenas: int, device: str, seed: int) -> Any:
    from ..sim import TwinSim
    return TwinSim(world, num_arenas, device=device, seed=seed)


@dataclass
class _Team:
    name: str                 # "hider" / "seeker"
    behavior: str             # "Hider?team=0"
    index: int                # team id: 0 hiders, 1 seekers
    slots: np.ndarray         # agent slots of this team
    brain_sent: bool = False


@dataclass
class _Faults:
    """What the player asked the academy to corrupt in the next output (fault injection)."""

    nan: bool = False
    garbage: bool = False


@dataclass
class TwinAcademy:
    base_world: WorldConfig
    default_arenas: int = 1
    device: str = "cpu"
    seed: int = 0
    num_areas: int = 1
    sim_factory: SimFactory = default_sim_factory
    engine: sc.EngineSettings = field(default_factory=sc.EngineSettings)

    def __post_init__(self) -> None:
        self.params: dict[str, float] = {}
        self.pending_seed: int | None = None
        self.sim = None
        self.world: WorldConfig | None = None
        self.step_count = 0
        self.faults = _Faults()
        self._teams: list[_Team] = []
        self.send_global_state = False  # until the trainer asks (GLOBAL_STATE_REQUEST_KEY)

    # ------------------------------------------------------------------ input
    def handle(self, rl_input: UnityRLInputProto) -> UnityOutputProto:
        self._read_side_channels(rl_input.side_channel)
        if rl_input.command == QUIT:
            raise QuitRequested()
        if rl_input.command == RESET or self.sim is None:
            return self._reset()
        return self._step(rl_input.agent_actions)

    def _read_side_channels(self, data: bytes) -> None:
        for channel, payload in sc.split_frames(data):
            if channel == sc.ENGINE_CONFIGURATION_ID:
                self.engine = sc.apply_engine_message(payload, self.engine)
                log.info("engine configuration: %s", self.engine)
            elif channel == sc.ENVIRONMENT_PARAMETERS_ID:
                key, value = sc.decode_parameter(payload)
                log.info("environment parameter %s = %r (applied at the next reset)", key, value)
                if key == sc.SEED_KEY:
                    self.pending_seed = int(value)
                elif key == sc.GLOBAL_STATE_REQUEST_KEY:
                    self.send_global_state = value > 0.5
                else:
                    self.params[key] = value
            elif channel == sc.TRAINING_ANALYTICS_ID:
                log.debug("training analytics message (%d bytes) ignored", len(payload))
            else:
                log.warning("message on unknown side channel %s ignored", channel)

    # ------------------------------------------------------------------ reset
    def _configure(self) -> None:
        """Apply pending EnvironmentParameters; (re)build the simulator if they changed it."""
        world, extra = sc.parameters_to_world(self.base_world, self.params)
        if sc.NUM_ARENAS_KEY in extra:
            n = extra[sc.NUM_ARENAS_KEY]
        else:
            n = self.num_areas if self.num_areas > 1 else self.default_arenas
        if self.sim is not None and world == self.world and n == self.sim.num_arenas:
            return
        if self.sim is not None and any(t.brain_sent for t in self._teams):
            old, new = self.world.layout, world.layout
            if n != self.sim.num_arenas:
                raise ConfigError("EnvironmentParameters", sc.NUM_ARENAS_KEY, n,
                                  f"{self.sim.num_arenas} (agents exist once created)")
            if (old.obs_shapes, old.max_hiders, old.max_seekers) != (
                    new.obs_shapes, new.max_hiders, new.max_seekers):
                raise ConfigError("EnvironmentParameters", "<world>", dict(self.params),
                                  "values that keep the observation shapes and agent counts "
                                  "sent in the first reset")
        log.info("building the simulator: %d arenas, world %s", n, world)
        self.sim = self.sim_factory(world, n, self.device, self.seed)
        self.world = world
        from ..sim.sensors import SensorConstants
        self._consts = SensorConstants.of(world, "cpu")
        lay = world.layout
        h = lay.max_hiders
        if not self._teams:
            self._teams = [
                _Team(TEAMS[0], BEHAVIOR_NAMES[TEAMS[0]], 0, np.arange(h)),
                _Team(TEAMS[1], BEHAVIOR_NAMES[TEAMS[1]], 1, np.arange(h, lay.max_agents)),
            ]
        shapes = lay.obs_shapes
        dims = [(DIM_NONE,)] + [(DIM_VARIABLE_SIZE, DIM_NONE)] * 3
        self._headers = [ObservationHeader(s, d, name)
                         for s, d, name in zip(shapes, dims, OBSERVATION_NAMES)]

    def _reset(self) -> UnityOutputProto:
        first = self.sim is None
        self._configure()
        # The handshake seed starts the first episode; later resets continue each arena's seed
        # unless the trainer sent the ``seed`` parameter (twin extension).
        seed = self.pending_seed if self.pending_seed is not None else (
            self.seed if first else None)
        self.pending_seed = None
        obs = self.sim.reset(seed=seed)
        n = self.sim.num_arenas
        self.t = np.zeros(n, dtype=np.int64)
        log.info("reset (seed %s)", seed if seed is not None else "continued")
        zeros = np.zeros((n, self.world.layout.max_agents), dtype=np.float32)
        obs_np = self._to_numpy(obs)
        frames = [(sc.GLOBAL_STATE_ID, sc.encode_global_state(k, 0, obs_np["state"][k]))
                  for k in range(n)] if self.send_global_state else []
        return self._output(obs_np, zeros, zeros, None, frames)

    # ------------------------------------------------------------------ step
    def _decode_actions(self, agent_actions: Mapping) -> np.ndarray:
        n, lay = self.sim.num_arenas, self.world.layout
        actions = np.empty((n, lay.max_agents, len(ACTION_BRANCHES)), dtype=np.int64)
        actions[:] = NOOP_ACTION
        for team in self._teams:
            expected = n * len(team.slots)
            values = agent_actions[team.behavior].value if team.behavior in agent_actions else []
            if len(values) == 0:
                continue  # no actions for a behaviour: agents do nothing (C# keeps no-op)
            if len(values) != expected:
                raise ProtocolError(f"{team.behavior}: {len(values)} actions for {expected} "
                                    "agents that requested a decision")
            rows = []
            for v in values:
                d = list(v.discrete_actions) or [int(x) for x in v.vector_actions_deprecated]
                rows.append(d)
            try:
                arr = np.asarray(rows, dtype=np.int64)
            except ValueError as exc:
                raise ProtocolError(f"{team.behavior}: ragged discrete actions") from exc
            if arr.shape != (expected, len(ACTION_BRANCHES)):
                raise ProtocolError(f"{team.behavior}: actions of shape {arr.shape}, expected "
                                    f"({expected}, {len(ACTION_BRANCHES)}) discrete branches")
            hi = np.asarray(ACTION_BRANCHES)
            bad = np.argwhere((arr < 0) | (arr >= hi))
            if len(bad):
                i, b = bad[0]
                raise ProtocolError(f"{team.behavior}: action {arr[i, b]} of agent #{i} is "
                                    f"outside branch {b} (size {hi[b]})")
            actions[:, team.slots] = arr.reshape(n, len(team.slots), -1)
        return actions

    def _step(self, agent_actions: Mapping) -> UnityOutputProto:
        self.step_count += 1
        actions = self._decode_actions(agent_actions)
        t_prev = self.t.copy()
        out = self.sim.step(torch.from_numpy(actions).to(self.sim.device))
        ended = out.truncated.cpu().numpy().astype(bool)
        self.t += 1
        self.t[ended] = 0
        reward = out.reward.float().cpu().numpy()
        # Presence of the episode the step belonged to (final_obs: before the auto-reset).
        present = (out.obs if out.final_obs is None else out.final_obs).present
        group = team_reward(self.world, self._consts, out.hidden.cpu().numpy(), t_prev,
                            present.cpu().numpy())
        individual = reward - group
        obs_np = self._to_numpy(out.obs)
        frames: list = []
        terminal = None
        if ended.any():
            final_np = self._to_numpy(out.final_obs)
            terminal = (ended, final_np, individual, group)
            stats = {k: v.float().cpu().numpy() for k, v in out.episode_stats.items()}
            for k in np.flatnonzero(ended):
                frames += sc.encode_episode_stats({name: v[k] for name, v in stats.items()})
        for k in range(self.sim.num_arenas if self.send_global_state else 0):
            if ended[k]:
                frames.append((sc.GLOBAL_STATE_ID, sc.encode_global_state(
                    k, int(t_prev[k]) + 1, terminal[1]["state"][k])))
            frames.append((sc.GLOBAL_STATE_ID,
                           sc.encode_global_state(k, int(self.t[k]), obs_np["state"][k])))
        # Rewards of an ended episode went with its terminal infos.
        keep = ~ended[:, None]
        return self._output(obs_np, individual * keep, group * keep, terminal, frames)

    # ------------------------------------------------------------------ output
    @staticmethod
    def _to_numpy(obs) -> dict[str, np.ndarray]:
        return {
            "obs": [o.float().cpu().numpy() for o in obs.obs],
            "forbidden": ~obs.action_mask.cpu().numpy().astype(bool),
            "state": obs.state.float().cpu().numpy(),
        }

    def _output(self, obs_np: dict, individual: np.ndarray, group: np.ndarray,
                terminal: tuple | None, frames: list) -> UnityOutputProto:
        n, a_total = individual.shape
        out = UnityOutputProto()
        rl = out.rl_output
        headers = list(self._headers)
        if self.faults.nan:
            obs_np["obs"][0] = obs_np["obs"][0].copy()
            obs_np["obs"][0][0, 0, 0] = np.nan
        if self.faults.garbage:  # obs_0 declares its shape but carries one float less
            h = headers[0]
            headers[0] = ObservationHeader(h.shape, h.dims, h.name, data_count=h.count - 1)
            obs_np["obs"][0] = obs_np["obs"][0][..., :-1]
        self.faults = _Faults()
        for team in self._teams:
            ids = np.arange(n)[:, None] * a_total + team.slots[None, :]
            groups = np.broadcast_to(1 + 2 * np.arange(n)[:, None] + team.index, ids.shape)
            chunks = []
            if terminal is not None:
                ended, final_np, t_ind, t_grp = terminal
                ks = np.flatnonzero(ended)
                chunks.append(self._encode(ids, groups, t_ind, t_grp, final_np, ks, team,
                                           True, self._headers))
            chunks.append(self._encode(ids, groups, individual, group, obs_np, np.arange(n),
                                       team, False, headers))
            rl.agentInfos[team.behavior].MergeFromString(b"".join(chunks))
            if not team.brain_sent:
                out.rl_initialization_output.brain_parameters.append(self._brain(team))
                team.brain_sent = True
        rl.side_channel = sc.pack_frames(frames)
        return out

    @staticmethod
    def _encode(ids: np.ndarray, groups: np.ndarray, reward: np.ndarray, group: np.ndarray,
                obs_np: dict, arenas: np.ndarray, team: _Team, done: bool,
                headers: list[ObservationHeader]) -> bytes:
        """Infos of ``team``'s agents in ``arenas`` (arena-major, slot order)."""
        sel = (arenas[:, None], team.slots[None, :])
        rows = len(arenas) * len(team.slots)
        return encode_agent_infos(
            ids[arenas].ravel(), groups[arenas].ravel(), reward[sel].ravel(), group[sel].ravel(),
            done, done, obs_np["forbidden"][sel].reshape(rows, -1),
            [o[sel].reshape(rows, -1) for o in obs_np["obs"]], headers)

    def _brain(self, team: _Team) -> BrainParametersProto:
        spec = ActionSpecProto(num_continuous_actions=0, num_discrete_actions=len(ACTION_BRANCHES),
                               discrete_branch_sizes=list(ACTION_BRANCHES),
                               action_descriptions=list(ACTION_DESCRIPTIONS))
        return BrainParametersProto(
            brain_name=team.behavior, is_training=True, action_spec=spec,
            vector_action_size_deprecated=list(ACTION_BRANCHES),
            vector_action_descriptions_deprecated=list(ACTION_DESCRIPTIONS),
            vector_action_space_type_deprecated=0)
