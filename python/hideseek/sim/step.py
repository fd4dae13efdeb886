"""The twin's step as pure functions of the core state (``hideseek.sim.state``) and the
simulator's constants: no Python loop over arenas, no data-dependent control flow and no
host<->device transfer, so they run unchanged on CPU and CUDA, eagerly, under ``torch.compile``
and inside a CUDA graph.

:func:`move` applies the actions (grab, lock, forces), the physics and the height rule;
:func:`sense` observes the result and scores it. ``TwinSim`` compiles the two apart: Inductor
compiles one graph of the whole step an order of magnitude slower and schedules it worse. The
constants travel as an argument (:class:`StepConstants`), so that these are plain functions of
their inputs: one compiled graph serves every simulator of the same world and batch size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..contract import NO_MOVE_BIN, NOOP_ACTION, WorldConfig
from .physics import PhysicsConstants, Walls, held_pose, solve_contacts, update_heights
from .rules import accumulate_stats, apply_grab, apply_lock, rewards
from .sensors import (SensorConstants, Trig, frozen_slots, lidar, pack, phase_of,
                      state_planes, visibility)
from .state import Core, flip


@dataclass(frozen=True)
class StepConstants:
    """Everything the step needs besides the state: the world and per-world tensors."""

    world: WorldConfig
    pc: PhysicsConstants
    sc: SensorConstants
    obj_inv_mass: Tensor   # [O, 1] 1 / mass of each object slot
    is_ramp: Tensor        # [O, 1] bool
    slots: Tensor          # [A, 1] int64 agent slot index
    noop: Tensor           # [1, 5, 1] int64 the "do nothing" action

    @staticmethod
    def of(world: WorldConfig, device: torch.device) -> "StepConstants":
        lay = world.layout
        sc = SensorConstants.of(world, device)
        masses = [world.box_mass] * lay.max_boxes + [world.ramp_mass] * lay.max_ramps
        return StepConstants(
            world=world, pc=PhysicsConstants.of(world), sc=sc,
            obj_inv_mass=(1.0 / torch.tensor(masses, device=device)).reshape(-1, 1),
            is_ramp=sc.is_ramp[:, None],
            slots=torch.arange(lay.max_agents, device=device)[:, None],
            noop=torch.tensor(NOOP_ACTION, device=device)[None, :, None])


def move(k: StepConstants, core: Core, walls: Walls, actions: Tensor, seen_objs: Tensor
         ) -> tuple[Core, Trig, Tensor, Tensor]:
    """Actions, physics and heights: the new core state (``core`` itself is not modified), the
    cos and sin of its yaws, whether the step was in prep [N] and the new grabs [A, N]."""
    world, pc, sc = k.world, k.pc, k.sc
    core = dict(core)
    in_prep, _, _ = phase_of(core["t"], sc)
    present = core["agent_present"]
    frozen = frozen_slots(in_prep, present, sc)                                # [A, N]
    act = torch.where(frozen[:, None], k.noop, actions.permute(1, 2, 0))      # [A, 5, N]
    force_x = (act[:, 0] - NO_MOVE_BIN).float() * (world.max_force / NO_MOVE_BIN)
    force_y = (act[:, 1] - NO_MOVE_BIN).float() * (world.max_force / NO_MOVE_BIN)
    torque = (act[:, 2] - NO_MOVE_BIN).float() * (world.max_torque / NO_MOVE_BIN)

    # Grab and lock act on what the agent saw at its last observation.
    new_grabs = apply_grab(core, act[:, 3], seen_objs, world)
    apply_lock(core, act[:, 4], seen_objs, world, sc)

    # Integrate velocities with implicit friction, then predict positions.
    dt = pc.dt
    pos, vel = core["agent_pos"], core["agent_vel"]
    damp = 1 + world.agent_friction * dt
    vx = (vel[0] + force_x * (dt / world.agent_mass)) / damp
    vy = (vel[1] + force_y * (dt / world.agent_mass)) / damp
    angvel = (core["agent_angvel"] + torque * dt) / (1 + world.agent_angular_friction * dt)
    yaw = torch.remainder(core["agent_yaw"] + angvel * dt + torch.pi, 2 * torch.pi) - torch.pi
    ax, ay = pos[0] + vx * dt, pos[1] + vy * dt
    obj_pos, obj_vel, half = core["obj_pos"], core["obj_vel"], core["obj_half"]
    held_by, locked_team = core["obj_held_by"], core["obj_locked_team"]
    locked = locked_team >= 0
    obj_damp = 1 + world.object_friction * dt
    ox, oy = obj_pos[0] + obj_vel[0] / obj_damp * dt, obj_pos[1] + obj_vel[1] / obj_damp * dt
    held = held_by >= 0
    holder = held_by.clamp(min=0)
    offset = core["obj_hold_offset"]
    hx, hy, hyaw = held_pose(ax.gather(0, holder), ay.gather(0, holder), yaw.gather(0, holder),
                             offset[0], offset[1], core["obj_hold_yaw"])
    ox = torch.where(locked, obj_pos[0], torch.where(held, hx, ox))
    oy = torch.where(locked, obj_pos[1], torch.where(held, hy, oy))
    obj_yaw = torch.where(held, hyaw, core["obj_yaw"])
    inv_mass = torch.where(locked | ~core["obj_present"], 0.0, k.obj_inv_mass)
    ocos, osin = torch.cos(obj_yaw), torch.sin(obj_yaw)

    ax, ay, ox, oy = solve_contacts(
        ax, ay, core["agent_z"], present, ox, oy, ocos, osin, half[0], half[1], inv_mass,
        held_by, k.is_ramp, walls, (pos[0], pos[1]), (obj_pos[0], obj_pos[1]),
        pc, world.physics_iterations)
    # Agents standing on a box ride along with it ("box surfing") -- unless they are the
    # ones moving it: a box an agent holds already follows that agent. The ride is not the
    # agent's own velocity, or it would keep it after stepping off.
    support = core["agent_support"]
    on = support.clamp(min=0)
    move_x, move_y = ox - obj_pos[0], oy - obj_pos[1]
    rides = ((support >= 0) & (held_by.gather(0, on) != k.slots)).to(ax.dtype)
    core["agent_vel"] = torch.stack([(ax - pos[0]) / dt, (ay - pos[1]) / dt])
    ax = ax + move_x.gather(0, on) * rides
    ay = ay + move_y.gather(0, on) * rides
    agent_z, support = update_heights(ax, ay, core["agent_z"], ox, oy, ocos, osin, half[0],
                                      half[1], core["obj_present"], k.is_ramp, walls, pc)

    core["agent_pos"] = torch.stack([ax, ay])
    core["agent_z"], core["agent_support"] = agent_z, support
    core["agent_yaw"], core["agent_angvel"] = yaw, angvel
    moving = (~locked).to(ox.dtype) / dt
    core["obj_vel"] = torch.stack([move_x * moving, move_y * moving])
    core["obj_pos"], core["obj_yaw"] = torch.stack([ox, oy]), obj_yaw
    core["t"] = core["t"] + 1

    trig = Trig(torch.cos(yaw), torch.sin(yaw), ocos, osin)   # the yaws do not change again
    return core, trig, in_prep, new_grabs


def sense(k: StepConstants, core: Core, trig: Trig, in_prep: Tensor, new_grabs: Tensor
          ) -> tuple[Core, tuple[Tensor, ...], Tensor, Tensor, Tensor]:
    """Observations, rewards and statistics of the state :func:`move` produced: the core state
    with its statistics updated, the observation planes (:func:`observations`), reward [N, A],
    hidden [N] and who sees which object [A, O, N]."""
    world, sc = k.world, k.sc
    core = dict(core)
    planes, seen_agents, seen_objs = observations(k, core, trig)
    reward, hidden = rewards(core, seen_agents, in_prep, sc, world)
    accumulate_stats(core, reward, hidden, in_prep, new_grabs, world, sc)
    return core, planes, reward.t().contiguous(), hidden, seen_objs


def observations(k: StepConstants, core: Core, trig: Trig
                 ) -> tuple[tuple[Tensor, ...], Tensor, Tensor]:
    """Observation planes (obs_0..obs_3, frozen [N, A] int64, state, present [N, A]; arena
    first), and who sees which agents [A, A, N] and objects [A, O, N]. ``trig`` holds the
    state's yaws' cos and sin, computed by the caller outside this (compiled) function so that
    they are computed once."""
    seen_agents, seen_objs = visibility(core, k.sc, trig)
    obs_0, obs_1, obs_2, obs_3, frozen = pack(core, k.sc, trig, seen_agents, seen_objs,
                                              lidar(core, k.sc, trig))
    present = flip(core["agent_present"]).clone(memory_format=torch.contiguous_format)
    frozen = flip(frozen).to(torch.int64).clone(memory_format=torch.contiguous_format)
    state = state_planes(core, k.sc, trig, obs_0)
    return (obs_0, obs_1, obs_2, obs_3, frozen, state, present), seen_agents, seen_objs
