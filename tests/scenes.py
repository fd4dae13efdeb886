"""Hand-built twin scenes for mechanics tests: one arena, every entity placed explicitly."""

from __future__ import annotations

import torch

from hideseek.contract import NO_MOVE_BIN, load_world_config
from hideseek.sim import TwinSim
from hideseek.sim.state import PARK_DISTANCE

HIDER0, HIDER1, SEEKER0, SEEKER1 = 0, 1, 2, 3
BOX0, BOX1, RAMP0 = 0, 1, 2
FULL = 10          # movement bin of full positive force / torque
BACK = 0           # full negative


def scene(arenas: int = 1, **world_overrides) -> TwinSim:
    """A quadrant world with no prep phase, only the outer walls, every object absent and the
    agents parked in the four corners facing the walls (so nobody sees anybody), in each of
    ``arenas`` arenas."""
    overrides = {"horizon": 400, "prep_fraction": 0.0}
    overrides.update(world_overrides)
    sim = TwinSim(load_world_config("quadrant", overrides), arenas, seed=0)
    s = sim.state
    s.wall_a[:, 4:] = PARK_DISTANCE
    s.wall_b[:, 4:] = PARK_DISTANCE
    s.obj_present[:] = False
    for o in range(s.obj_pos.shape[1]):
        s.obj_pos[:, o] = torch.tensor([-PARK_DISTANCE - 10 * o, -PARK_DISTANCE])
    corners = [(-2.6, -2.6, -2.36), (2.6, -2.6, -0.79), (2.6, 2.6, 0.79), (-2.6, 2.6, 2.36)]
    for arena in range(arenas):
        for a, (x, y, yaw) in enumerate(corners):
            place_agent(sim, a, x, y, yaw, arena=arena, observe=False)
    s.obj_vel.zero_()
    s.obj_spawn_pos.copy_(s.obj_pos)
    sim.observe()
    return sim


def place_agent(sim: TwinSim, slot: int, x: float, y: float, yaw: float = 0.0, z: float = 0.0,
                arena: int = 0, observe: bool = True) -> None:
    """Put an agent at rest at (x, y, z) facing ``yaw``; ``observe=False`` leaves the observation
    stale (for placing many things before one ``sim.observe()``)."""
    s = sim.state
    s.agent_pos[arena, slot] = torch.tensor([x, y])
    s.agent_yaw[arena, slot] = yaw
    s.agent_z[arena, slot] = z
    s.agent_vel[arena, slot] = 0.0
    s.agent_angvel[arena, slot] = 0.0
    if observe:
        sim.observe()


def place_object(sim: TwinSim, index: int, x: float, y: float, yaw: float = 0.0,
                 arena: int = 0, observe: bool = True) -> None:
    s = sim.state
    s.obj_present[arena, index] = True
    s.obj_pos[arena, index] = torch.tensor([x, y])
    s.obj_yaw[arena, index] = yaw
    s.obj_vel[arena, index] = 0.0
    s.obj_spawn_pos[arena, index] = s.obj_pos[arena, index]
    if observe:
        sim.observe()


def set_wall(sim: TwinSim, slot: int, a: tuple[float, float], b: tuple[float, float],
             arena: int = 0, observe: bool = True) -> None:
    sim.state.wall_a[arena, slot] = torch.tensor(a)
    sim.state.wall_b[arena, slot] = torch.tensor(b)
    if observe:
        sim.observe()


def actions(sim: TwinSim, **per_slot: tuple[int, int, int, int, int]) -> torch.Tensor:
    """Do-nothing actions in every arena, with ``slot_<k>=(fx, fy, torque, grab, lock)``
    overrides (one per arena: a list of tuples)."""
    act = torch.tensor([NO_MOVE_BIN, NO_MOVE_BIN, NO_MOVE_BIN, 0, 0]).repeat(
        sim.num_arenas, sim.layout.max_agents, 1)
    for key, value in per_slot.items():
        act[:, int(key.split("_")[1])] = torch.tensor(value)
    return act


def run(sim: TwinSim, steps: int, **per_slot):
    out = None
    for _ in range(steps):
        out = sim.step(actions(sim, **per_slot))
    return out
