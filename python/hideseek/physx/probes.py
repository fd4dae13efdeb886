"""Rule probes: one hand-built scene per movement rule, run in any simulator with ``TwinSim``'s
API (the twin or ``PhysxSim``), each returning the figure ``docs/physx.md`` tabulates.

A probe scene is the quadrant world with no preparation phase, only the outer walls, every
object absent and the agents parked in the corners facing the walls; the probe then places
what it needs by editing the state (``sim.state``, then ``sim.observe()``), as the twin's own
mechanics tests do. Agent 0 (a hider) acts; decisions are ``world.dt`` apart.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import torch

from ..contract import NO_MOVE_BIN, WorldConfig, load_world_config
from ..sim.state import PARK_DISTANCE

N = NO_MOVE_BIN
FULL, BACK = 10, 0
# Feet within this of the top height count as on top: PhysX bodies rest and slide a few
# millimetres into each other (the contact offset is 1 cm), the twin's heights are exact.
ON_TOP = 0.02
NOOP = (N, N, N, 0, 0)
ACTOR, OTHER = 0, 1
BOX0, BOX1 = 0, 1

Factory = Callable[[WorldConfig], object]   # world -> a one-arena simulator


def probe_world(world: WorldConfig | None = None) -> WorldConfig:
    """The probes' world: the given (default: the quadrant arena's) with no prep phase and a
    horizon no probe reaches."""
    world = world or load_world_config("quadrant")
    return dataclasses.replace(world, horizon=1000, prep_fraction=0.0)


class Scene:
    """One arena cleared for a probe, with helpers to place things and act."""

    def __init__(self, factory: Factory, world: WorldConfig | None = None):
        self.world = probe_world(world)
        self.sim = factory(self.world)
        s = self.sim.state
        s.wall_a[:, 4:] = PARK_DISTANCE
        s.wall_b[:, 4:] = PARK_DISTANCE
        s.obj_present[:] = False
        for o in range(s.obj_pos.shape[1]):
            s.obj_pos[0, o] = torch.tensor([-PARK_DISTANCE - 10 * o, -PARK_DISTANCE])
        s.obj_vel.zero_()
        s.obj_spawn_pos.copy_(s.obj_pos)
        corners = [(-2.6, -2.6, -2.36), (2.6, -2.6, -0.79), (2.6, 2.6, 0.79), (-2.6, 2.6, 2.36)]
        for a, (x, y, yaw) in enumerate(corners[:s.agent_pos.shape[1]]):
            self.agent(a, x, y, yaw, observe=False)
        self.sim.observe()

    @property
    def state(self):
        return self.sim.state

    def agent(self, slot: int, x: float, y: float, yaw: float = 0.0, z: float = 0.0,
              observe: bool = True) -> None:
        s = self.sim.state
        s.agent_pos[0, slot] = torch.tensor([x, y])
        s.agent_yaw[0, slot], s.agent_z[0, slot] = yaw, z
        s.agent_vel[0, slot], s.agent_angvel[0, slot] = 0.0, 0.0
        if observe:
            self.sim.observe()

    def box(self, index: int, x: float, y: float, yaw: float = 0.0, locked_by: int = -1) -> None:
        s = self.sim.state
        s.obj_present[0, index] = True
        s.obj_pos[0, index] = torch.tensor([x, y])
        s.obj_yaw[0, index] = yaw
        s.obj_vel[0, index] = 0.0
        s.obj_locked_team[0, index] = locked_by
        s.obj_spawn_pos[0, index] = s.obj_pos[0, index]
        self.sim.observe()

    def wall(self, slot: int, a: tuple[float, float], b: tuple[float, float]) -> None:
        self.sim.state.wall_a[0, slot] = torch.tensor(a)
        self.sim.state.wall_b[0, slot] = torch.tensor(b)
        self.sim.observe()

    def act(self, steps: int, **per_slot: tuple[int, ...]) -> None:
        """``steps`` decisions with do-nothing actions, ``slot_<k>=(fx, fy, torque, grab, lock)``
        overriding slot k's."""
        act = torch.tensor(NOOP).repeat(1, self.sim.layout.max_agents, 1)
        for key, value in per_slot.items():
            act[0, int(key.split("_")[1])] = torch.tensor(value)
        for _ in range(steps):
            self.sim.step(act)

    def pos(self, slot: int = ACTOR) -> torch.Tensor:
        return self.sim.state.agent_pos[0, slot].clone()

    def speed(self, slot: int = ACTOR) -> float:
        return float(self.sim.state.agent_vel[0, slot].norm())

    def z(self, slot: int = ACTOR) -> float:
        return float(self.sim.state.agent_z[0, slot])


# ---------------------------------------------------------------------------- probes
# Each takes a factory (world -> one-arena simulator) and the world, returns a float.

def top_speed_axis(factory: Factory, world: WorldConfig | None = None) -> float:
    """m/s after 8 decisions (0.6 s, about six time constants) of full force along +x."""
    sc = Scene(factory, world)
    sc.agent(ACTOR, -2.6, 0.0)
    sc.act(8, slot_0=(FULL, N, N, 0, 0))
    return sc.speed()


def top_speed_diagonal(factory: Factory, world: WorldConfig | None = None) -> float:
    """m/s after 8 decisions of full force along +x and +y at once."""
    sc = Scene(factory, world)
    sc.agent(ACTOR, -2.6, -2.6, yaw=0.79)
    sc.act(8, slot_0=(FULL, FULL, N, 0, 0))
    return sc.speed()


def _turn_steps(sc: Scene, limit: int = 60, **extra: tuple[int, ...]) -> float:
    """Decisions of full torque until the heading has turned by 180 degrees (fractional: the
    last decision is interpolated)."""
    action = extra.pop("slot_0", (N, N, FULL, 0, 0))
    turned, yaw = 0.0, float(sc.state.agent_yaw[0, ACTOR])
    for step in range(1, limit + 1):
        sc.act(1, slot_0=action, **extra)
        now = float(sc.state.agent_yaw[0, ACTOR])
        delta = math.remainder(now - yaw, 2 * math.pi)
        if turned + delta >= math.pi:
            return step - 1 + (math.pi - turned) / delta
        turned, yaw = turned + delta, now
    return math.inf


def turn_180_steps(factory: Factory, world: WorldConfig | None = None) -> float:
    """Decisions of full torque to turn 180 degrees from rest."""
    sc = Scene(factory, world)
    sc.agent(ACTOR, 0.0, 0.0)
    return _turn_steps(sc)


def push_speed(factory: Factory, world: WorldConfig | None = None) -> float:
    """m/s of a box pushed with full force for 10 decisions from rest (the agent starts
    touching it; agent and box together take longer than an agent alone to reach speed)."""
    sc = Scene(factory, world)
    w = sc.world
    sc.box(BOX0, -2.4, 0.0)
    sc.agent(ACTOR, -2.4 - w.box_size / 2 - w.agent_radius - 0.01, 0.0)
    sc.act(10, slot_0=(FULL, N, N, 0, 0))
    return float(sc.state.obj_vel[0, BOX0].norm())


def box_stop_steps(factory: Factory, world: WorldConfig | None = None) -> float:
    """Decisions until a box released at 7 m/s (the original's pushing speed) is at rest
    (speed below 0.05 m/s)."""
    sc = Scene(factory, world)
    sc.box(BOX0, -2.0, 0.0)
    sc.state.obj_vel[0, BOX0, 0] = 7.0
    sc.sim.observe()
    for step in range(1, 40):
        sc.act(1)
        if float(sc.state.obj_vel[0, BOX0].norm()) < 0.05:
            return float(step)
    return math.inf


def _holding(factory: Factory, world: WorldConfig | None) -> Scene:
    """Agent 0 facing a box in reach at (0, -2.2) and holding it after one decision."""
    sc = Scene(factory, world)
    w = sc.world
    sc.box(BOX0, 0.0, -2.2)
    sc.agent(ACTOR, -w.box_size / 2 - w.agent_radius - 0.1, -2.2)
    sc.act(1, slot_0=(N, N, N, 1, 0))
    if int(sc.state.obj_held_by[0, BOX0]) != ACTOR:
        raise RuntimeError("probe: the agent did not grab the box")
    return sc


def carry_speed(factory: Factory, world: WorldConfig | None = None) -> float:
    """m/s of an agent after 7 decisions of full force along +y while holding a box."""
    sc = _holding(factory, world)
    sc.act(7, slot_0=(N, FULL, N, 1, 0))
    return sc.speed()


def _in_holder_frame(sc: Scene) -> torch.Tensor:
    yaw = float(sc.state.agent_yaw[0, ACTOR])
    d = sc.state.obj_pos[0, BOX0] - sc.pos()
    c, s = math.cos(yaw), math.sin(yaw)
    return torch.tensor([c * d[0] + s * d[1], -s * d[0] + c * d[1]])


def carry_offset_drift(factory: Factory, world: WorldConfig | None = None) -> float:
    """m: how far a held box moves from its grab offset (in its holder's frame) while the
    holder runs sideways at full force for 7 decisions."""
    sc = _holding(factory, world)
    before = _in_holder_frame(sc)
    sc.act(7, slot_0=(N, FULL, N, 1, 0))
    return float((_in_holder_frame(sc) - before).norm())


def carry_turn(factory: Factory, world: WorldConfig | None = None) -> float:
    """rad: how far a holder turns, with no torque of its own, while it runs sideways at full
    force for 7 decisions with a box held at its side (the box's mass and floor friction act
    off the holder's centre)."""
    sc = _holding(factory, world)
    before = float(sc.state.agent_yaw[0, ACTOR])
    sc.act(7, slot_0=(N, FULL, N, 1, 0))
    return abs(math.remainder(float(sc.state.agent_yaw[0, ACTOR]) - before, 2 * math.pi))


def carry_turn_180_steps(factory: Factory, world: WorldConfig | None = None) -> float:
    """Decisions of full torque to turn 180 degrees while holding a box."""
    return _turn_steps(_holding(factory, world), slot_0=(N, N, FULL, 1, 0))


def _ramp_at_origin(factory: Factory, world: WorldConfig | None) -> Scene:
    """A ramp rising along +x centred at the origin; agent 0 facing its low end 0.6 m away."""
    sc = Scene(factory, world)
    ramp = sc.sim.layout.max_boxes
    sc.box(ramp, 0.0, 0.0)
    sc.agent(ACTOR, -sc.world.ramp_length / 2 - 0.6, 0.0)
    return sc


def ramp_climb_steps(factory: Factory, world: WorldConfig | None = None) -> float:
    """Decisions of full force along a ramp's axis until the agent's feet are at the top height
    (within ``ON_TOP``; inf if never within 12)."""
    sc = _ramp_at_origin(factory, world)
    top = sc.world.wall_height
    for step in range(1, 13):
        sc.act(1, slot_0=(FULL, N, N, 0, 0))
        if sc.z() >= top - ON_TOP:
            return float(step)
    return math.inf


WALK = (N + 2, N, N, 0, 0)   # two fifths of full force along +x: a walk, not a run


def fall_steps(factory: Factory, world: WorldConfig | None = None) -> float:
    """Decisions from the last one on a box top to the first one on the floor, for an agent
    walking off the top's edge."""
    sc = Scene(factory, world)
    w = sc.world
    sc.box(BOX0, 0.0, 0.0)
    sc.agent(ACTOR, w.box_size / 2 - 0.05, 0.0, z=w.wall_height)
    on_top = 0
    for step in range(1, 30):
        sc.act(1, slot_0=WALK)
        if sc.z() >= w.wall_height - ON_TOP:
            on_top = step
        elif sc.z() <= 1e-3:
            return float(step - on_top)
    return math.inf


def wall_top_z(factory: Factory, world: WorldConfig | None = None) -> float:
    """m: the lowest feet height of an agent placed on a wall top (at ``wall_height``) while
    it walks along the 0.1 m wide top for 8 decisions."""
    sc = Scene(factory, world)
    w = sc.world
    sc.wall(4, (-2.5, 0.0), (2.5, 0.0))
    sc.agent(ACTOR, -2.0, 0.0, z=w.wall_height)
    low = math.inf
    for _ in range(8):
        sc.act(1, slot_0=WALK)
        low = min(low, sc.z())
    return low


def _riding(factory: Factory, world: WorldConfig | None) -> tuple[Scene, torch.Tensor]:
    """Agent 1 standing on a box that agent 0 pushes with full force for 6 decisions; the
    rider's place on the box before."""
    sc = Scene(factory, world)
    w = sc.world
    sc.box(BOX0, -1.5, 0.0)
    sc.agent(OTHER, -1.5, 0.0, z=w.wall_height)
    sc.agent(ACTOR, -1.5 - w.box_size / 2 - w.agent_radius - 0.01, 0.0)
    start = sc.pos(OTHER) - sc.state.obj_pos[0, BOX0]
    sc.act(6, slot_0=(FULL, N, N, 0, 0))
    return sc, start


def _rider_offset(sc: Scene, start: torch.Tensor) -> float:
    if sc.z(OTHER) < sc.world.wall_height - 1e-3:
        return math.inf                      # it fell off
    return float((sc.pos(OTHER) - sc.state.obj_pos[0, BOX0] - start).norm())


def rider_lag(factory: Factory, world: WorldConfig | None = None) -> float:
    """m: how far a rider is from its place on a box while the box is pushed (full force, 6
    decisions)."""
    return _rider_offset(*_riding(factory, world))


def rider_slip(factory: Factory, world: WorldConfig | None = None) -> float:
    """m: how far a rider ends from its place on a box once the pushed box has stopped."""
    sc, start = _riding(factory, world)
    sc.act(12)
    return _rider_offset(sc, start)


def locked_box_drift(factory: Factory, world: WorldConfig | None = None) -> float:
    """m: how far a box locked by the hiders moves while an agent pushes it with full force for
    10 decisions."""
    sc = Scene(factory, world)
    w = sc.world
    sc.box(BOX0, 0.0, 0.0, locked_by=0)
    sc.agent(ACTOR, -w.box_size / 2 - w.agent_radius - 0.3, 0.0)
    start = sc.state.obj_pos[0, BOX0].clone()
    sc.act(10, slot_0=(FULL, N, N, 0, 0))
    return float((sc.state.obj_pos[0, BOX0] - start).norm())


def wall_crossed(factory: Factory, world: WorldConfig | None = None) -> float:
    """1.0 if an agent running at full force along the diagonal (its top speed) into a wall
    ever has its centre on the wall's far side within 12 decisions, else 0.0."""
    sc = Scene(factory, world)
    sc.wall(4, (0.0, -3.0), (0.0, 3.0))
    sc.agent(ACTOR, -2.5, -2.5)
    crossed = 0.0
    for _ in range(12):
        sc.act(1, slot_0=(FULL, FULL, N, 0, 0))
        crossed = max(crossed, float(sc.pos()[0] > 0.0))
    return crossed


def doorway_passes(factory: Factory, opening: float, world: WorldConfig | None = None) -> float:
    """1.0 if an agent driven at full force through a door gap (door_width wide) that a locked
    box leaves ``opening`` m of gets through within 20 decisions, else 0.0. The wall runs along
    x = 0; the box stands against it on the agent's side; the agent aims at the opening."""
    sc = Scene(factory, world)
    w = sc.world
    half_gap = w.door_width / 2
    t = w.wall_thickness
    sc.wall(4, (0.0, -3.0), (0.0, -half_gap))
    sc.wall(5, (0.0, half_gap), (0.0, 3.0))
    # The box covers the gap from y = -half_gap + opening upwards.
    sc.box(BOX0, -t / 2 - w.box_size / 2, -half_gap + opening + w.box_size / 2, locked_by=0)
    lane = -half_gap + opening / 2
    sc.agent(ACTOR, -2.0, lane)
    sc.act(20, slot_0=(FULL, N, N, 0, 0))
    return 1.0 if float(sc.pos()[0]) > t / 2 + w.agent_radius else 0.0


PROBES: dict[str, Callable[..., float]] = {
    "top_speed_axis": top_speed_axis,
    "top_speed_diagonal": top_speed_diagonal,
    "turn_180_steps": turn_180_steps,
    "push_speed": push_speed,
    "box_stop_steps": box_stop_steps,
    "carry_speed": carry_speed,
    "carry_offset_drift": carry_offset_drift,
    "carry_turn": carry_turn,
    "carry_turn_180_steps": carry_turn_180_steps,
    "ramp_climb_steps": ramp_climb_steps,
    "fall_steps": fall_steps,
    "wall_top_z": wall_top_z,
    "rider_lag": rider_lag,
    "rider_slip": rider_slip,
    "locked_box_drift": locked_box_drift,
    "wall_crossed": wall_crossed,
    "door_box_covers_gap": lambda f, w=None: doorway_passes(f, 0.0, w),
    "door_opening_0.25": lambda f, w=None: doorway_passes(f, 0.25, w),
    "door_opening_0.32": lambda f, w=None: doorway_passes(f, 0.32, w),
    "door_opening_0.36": lambda f, w=None: doorway_passes(f, 0.36, w),
}
