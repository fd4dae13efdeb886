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
from .physics import PhysicsConstants, Walls, spin, substep
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
    obj_mass: Tensor       # [O, 1] mass of each object slot
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
            obj_mass=torch.tensor(masses, device=device).reshape(-1, 1),
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
    unit = (act[:, :3] - NO_MOVE_BIN).float() / NO_MOVE_BIN                  # [A, 3, N]

    # Grab and lock act once per step, on what the agent saw at its last observation.
    new_grabs = apply_grab(core, act[:, 3], seen_objs, world)
    apply_lock(core, act[:, 4], seen_objs, world, sc)

    # A holder moves the mass of what it holds too (its floor friction is per unit of mass
    # already; its own drag is spread over the total), and turns it with it as one body: their
    # yaw inertia about its centre, each held object m (sx^2 + sy^2) / 12 + m d^2.
    holds = (core["obj_held_by"][None] == k.slots[:, :, None]).float()         # [A, O, N]
    mass = world.agent_mass + (holds * k.obj_mass).sum(1)                      # [A, N]
    offset, half = core["obj_hold_offset"], core["obj_half"]
    held_inertia = k.obj_mass * ((half * half).sum(0) / 3 + (offset * offset).sum(0))   # [O, N]
    keep, gain = spin(world.agent_inertia + (holds * held_inertia).sum(1), pc.angular_drag, pc.h)
    turning = (keep, unit[:, 2] * world.max_torque * gain)
    accel_x = unit[:, 0] * world.max_force / mass
    accel_y = unit[:, 1] * world.max_force / mass
    drag = pc.agent_drag * world.agent_mass / mass
    for _ in range(pc.substeps):
        substep(core, walls, accel_x, accel_y, turning, drag, k.obj_inv_mass, k.is_ramp,
                k.slots, pc)
    core["t"] = core["t"] + 1

    yaw, obj_yaw = core["agent_yaw"], core["obj_yaw"]
    trig = Trig(torch.cos(yaw), torch.sin(yaw), torch.cos(obj_yaw), torch.sin(obj_yaw))
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
