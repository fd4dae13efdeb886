"""TwinSim: N hide-and-seek arenas stepped at once on one torch device.

The hot path (``_step_core``) is a pure function of tensors with no Python loop over arenas or
entities and no host<->device transfer, so it runs unchanged on CPU and CUDA and can be fused by
``torch.compile``. Episodes end only at the horizon, so the host knows from a step counter of its
own when arenas must be reset -- auto-reset needs no device sync.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..contract import ACTION_BRANCHES, NO_MOVE_BIN, WorldConfig
from . import layouts
from .physics import PhysicsConstants, held_pose, solve_contacts, update_heights
from .rules import accumulate_stats, apply_grab, apply_lock, episode_stats, rewards
from .sensors import SensorConstants, global_state, lidar, observe, occluders, phase, visibility
from .state import SimState
from .types import AgentObs, StepOutput


def _seed_tensor(seed: int | Sequence[int], n: int, device: torch.device) -> Tensor:
    if isinstance(seed, (int, np.integer)):
        return torch.arange(n, dtype=torch.int64, device=device) + int(seed)
    seeds = torch.as_tensor(list(seed), dtype=torch.int64, device=device)
    if seeds.shape != (n,):
        raise ValueError(f"seed: expected an int or {n} per-arena seeds, got {len(seeds)}")
    return seeds


class TwinSim:
    """The batched twin. See ``hideseek.sim.types`` for what ``reset``/``step`` return."""

    def __init__(self, world: WorldConfig, num_arenas: int, device: str | torch.device = "cpu",
                 seed: int | Sequence[int] = 0, compile: bool = False):
        if num_arenas < 1:
            raise ValueError(f"num_arenas: expected >= 1, got {num_arenas}")
        self.world = world
        self.layout = world.layout
        self.num_arenas = num_arenas
        self.device = torch.device(device)
        self._pc = PhysicsConstants.of(world)
        self._sc = SensorConstants.of(world, self.device)
        lay = self.layout
        masses = [world.box_mass] * lay.max_boxes + [world.ramp_mass] * lay.max_ramps
        self._obj_inv_mass = 1.0 / torch.tensor(masses, device=self.device).reshape(-1)
        self._noop = torch.tensor([NO_MOVE_BIN] * 3 + [0, 0], device=self.device)
        self._branch_hi = torch.tensor([b - 1 for b in ACTION_BRANCHES], device=self.device)
        full = torch.ones(sum(ACTION_BRANCHES), dtype=torch.bool, device=self.device)
        frozen = torch.zeros_like(full)
        start = 0
        for size, allowed in zip(ACTION_BRANCHES, (NO_MOVE_BIN, NO_MOVE_BIN, NO_MOVE_BIN, 0, 0)):
            frozen[start + allowed] = True
            start += size
        self._mask_full, self._mask_frozen = full, frozen
        # Compiled once per batch size; the reset-time observation is compiled too because
        # it runs for the whole batch whenever any arena starts a new episode.
        self._step_fn = torch.compile(self._step_core, dynamic=False) if compile else self._step_core
        self._observe_fn = torch.compile(self._observe, dynamic=False) if compile else self._observe
        self.state: SimState
        self._t_host = np.zeros(num_arenas, dtype=np.int64)
        self.reset(seed)

    # ------------------------------------------------------------------ reset / observe
    def reset(self, seed: int | Sequence[int] | None = None) -> AgentObs:
        """Start a new episode in every arena. ``seed``: arena k gets ``seed + k`` (or the k-th
        of a list); None continues each arena's seed with its next episode."""
        n = self.num_arenas
        if seed is None and hasattr(self, "state"):
            seeds, episodes = self.state.seed, self.state.episode + 1
        else:
            seeds = _seed_tensor(0 if seed is None else seed, n, self.device)
            episodes = torch.zeros(n, dtype=torch.int64, device=self.device)
        self.state = layouts.generate(self.world, seeds, episodes)
        self._t_host[:] = 0
        self._obs, _, self._seen_objs = self._observe_fn(self.state)
        return self._obs

    def observe(self) -> AgentObs:
        """Recompute observations from ``self.state`` (after editing it by hand, e.g. in tests)."""
        self._obs, _, self._seen_objs = self._observe(self.state)
        self._t_host[:] = self.state.t.cpu().numpy()
        return self._obs

    @property
    def obs(self) -> AgentObs:
        return self._obs

    def _observe(self, s: SimState) -> tuple[AgentObs, Tensor, Tensor]:
        """Observations, and who sees which agents [N, A, A] and objects [N, A, O]."""
        seg_a, seg_b = occluders(s)
        seen_agents, seen_objs = visibility(s, self._sc, seg_a, seg_b)
        obs = self._pack(s, seen_agents, seen_objs, lidar(s, self._sc, seg_a, seg_b))
        return obs, seen_agents, seen_objs

    def _pack(self, s: SimState, seen_agents: Tensor, seen_objs: Tensor, lidar_frac: Tensor
              ) -> AgentObs:
        obs_0, obs_1, obs_2, obs_3, frozen = observe(s, self._sc, seen_agents, seen_objs, lidar_frac)
        mask = torch.where(frozen[..., None], self._mask_frozen, self._mask_full)
        return AgentObs(obs_0, obs_1, obs_2, obs_3, mask, global_state(s, self._sc, obs_0),
                        s.agent_present.clone())

    # ------------------------------------------------------------------ step
    def step(self, actions: Tensor) -> StepOutput:
        """Advance every arena by one step. ``actions``: int64 [N, A, 5] bins; actions a mask
        forbids (seekers during prep, absent agents) are replaced by "do nothing"."""
        expected = (self.num_arenas, self.layout.max_agents, len(ACTION_BRANCHES))
        if tuple(actions.shape) != expected:
            raise ValueError(f"actions: expected shape {expected}, got {tuple(actions.shape)}")
        if actions.dtype.is_floating_point or actions.dtype == torch.bool:
            raise ValueError(f"actions: expected an integer tensor, got {actions.dtype}")
        actions = torch.minimum(actions.to(self.device, torch.int64).clamp(min=0), self._branch_hi)
        tensors, obs, reward, hidden, seen_objs = self._step_fn(
            self.state.tensors(), actions, self._seen_objs)
        self.state = SimState(**tensors)
        self._obs, self._seen_objs = obs, seen_objs
        self._t_host += 1
        done = self._t_host >= self.world.horizon
        if not done.any():
            return StepOutput(obs, reward, torch.zeros(self.num_arenas, dtype=torch.bool,
                                                        device=self.device),
                              hidden, None, None)
        # Cloned: the reset below overwrites the accumulators in place.
        stats = {k: v.clone() for k, v in episode_stats(self.state, self.world, self._sc).items()}
        idx = torch.as_tensor(np.flatnonzero(done), device=self.device)
        fresh = layouts.generate(self.world, self.state.seed[idx], self.state.episode[idx] + 1)
        self.state.assign(idx, fresh)
        self._t_host[done] = 0
        self._obs, _, self._seen_objs = self._observe_fn(self.state)
        truncated = torch.as_tensor(done, device=self.device)
        return StepOutput(self._obs, reward, truncated, hidden, obs, stats)

    def _step_core(self, tensors: dict[str, Tensor], actions: Tensor, seen_objs: Tensor):
        world, pc, sc = self.world, self._pc, self._sc
        s = SimState(**tensors)
        in_prep, _, _ = phase(s, sc)
        frozen = (in_prep[:, None] & ~sc.is_hider[None, :]) | ~s.agent_present
        act = torch.where(frozen[..., None], self._noop, actions)
        force = (act[..., :2] - NO_MOVE_BIN).float() * (world.max_force / NO_MOVE_BIN)
        torque = (act[..., 2] - NO_MOVE_BIN).float() * (world.max_torque / NO_MOVE_BIN)

        # Grab and lock act on what the agent saw at its last observation.
        new_grabs = apply_grab(s, act[..., 3], seen_objs, world)
        apply_lock(s, act[..., 4], seen_objs, world, sc)

        # Integrate velocities with implicit friction, then predict positions.
        dt = pc.dt
        agent_vel = (s.agent_vel + force * (dt / world.agent_mass)) / (1 + world.agent_friction * dt)
        angvel = (s.agent_angvel + torque * dt) / (1 + world.agent_angular_friction * dt)
        yaw = torch.remainder(s.agent_yaw + angvel * dt + torch.pi, 2 * torch.pi) - torch.pi
        agent_pred = s.agent_pos + agent_vel * dt
        locked = s.obj_locked_team >= 0
        obj_vel = s.obj_vel / (1 + world.object_friction * dt)
        obj_pred = s.obj_pos + obj_vel * dt
        held = s.obj_held_by >= 0
        holder = s.obj_held_by.clamp(min=0)
        hold_pos, hold_yaw = held_pose(agent_pred.gather(1, holder[..., None].expand(-1, -1, 2)),
                                       yaw.gather(1, holder), s.obj_hold_offset, s.obj_hold_yaw)
        obj_pred = torch.where(held[..., None], hold_pos, obj_pred)
        obj_yaw = torch.where(held, hold_yaw, s.obj_yaw)
        obj_pred = torch.where(locked[..., None], s.obj_pos, obj_pred)
        inv_mass = torch.where(locked | ~s.obj_present, torch.zeros_like(obj_yaw),
                               self._obj_inv_mass.expand_as(obj_yaw))

        agent_pred, obj_pred = solve_contacts(
            agent_pred, s.agent_z, s.agent_present, obj_pred, obj_yaw, s.obj_half, inv_mass,
            s.obj_held_by, sc.is_ramp, s.wall_a, s.wall_b, s.agent_pos, s.obj_pos,
            pc, world.physics_iterations)
        # Agents standing on a box ride along with it ("box surfing").
        # The ride is not the agent's own velocity, or it would keep it after stepping off.
        support = s.agent_support
        obj_move = obj_pred - s.obj_pos
        carry = obj_move.gather(1, support.clamp(min=0)[..., None].expand(-1, -1, 2)) \
            * (support >= 0)[..., None]
        s.agent_vel = (agent_pred - s.agent_pos) / dt
        agent_pred = agent_pred + carry
        agent_z, support = update_heights(agent_pred, s.agent_z, obj_pred, obj_yaw, s.obj_half,
                                          s.obj_present, sc.is_ramp, s.wall_a, s.wall_b, pc)

        s.agent_pos, s.agent_z, s.agent_support = agent_pred, agent_z, support
        s.agent_yaw, s.agent_angvel = yaw, angvel
        s.obj_vel = obj_move / dt * (~locked)[..., None]
        s.obj_pos, s.obj_yaw = obj_pred, obj_yaw
        s.t = s.t + 1

        obs, seen_agents, seen_objs = self._observe(s)
        reward, hidden = rewards(s, seen_agents, in_prep, sc, world)
        accumulate_stats(s, reward, hidden, in_prep, new_grabs, world, sc)
        return s.tensors(), obs, reward, hidden, seen_objs

    # ------------------------------------------------------------------ render
    def render(self, arena: int = 0, size: int = 400) -> np.ndarray:
        """Top-down RGB picture [size, size, 3] uint8 of one arena."""
        from .render import render_arena
        return render_arena(self.state, self._seen_objs, arena, self.world, size)
