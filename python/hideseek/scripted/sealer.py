"""A privileged scripted hider team that seals the quadrant's room during the preparation phase:
the reference line ("ceiling") beside random play on the dashboard and in the model card.

It reads the simulator's whole state (never its observations), so it is not a policy a game could
ship, and it never feeds training: no demonstrations, no cloning, no reward from it. It proves
what the world allows: how often the room can be sealed in the prep time.

Each episode it plans once, from the first state: every open door gets the box that is nearest
to it, and every such job the hider that reaches the box soonest (entering the room through the
nearest door first when it starts outside). A hider then walks to the side of its box facing
away from the door, faces it, grabs it, carries it (the hold keeps the offset) until the box lies
flat against the wall over the doorway, inside the room, and locks it there. A hider with no job
walks into the room. Movement is a velocity controller on the force bins (the movement law's
drag and floor friction of the wanted velocity, plus a correction). Everything is per arena,
with numpy on the host.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
from torch import Tensor

from ..contract import NO_MOVE_BIN, NOOP_ACTION, WorldConfig
from ..sim.layouts import door_along
from ..sim.types import AgentObs

# Phases of a hider's script.
ENTER, FETCH, GRAB, CARRY, DONE = range(5)
GRAB_GAP = 0.07          # m between the hider's surface and its box's when it grabs
PLACE_GAP = 0.02         # m left between the placed box and the wall's face
ARRIVED = 0.06           # m: close enough to a waypoint or a grab spot
PLACED = 0.10            # m: close enough to the box's target to lock it (still a seal)
CRUISE = 7.0             # m/s when far from the goal
CARRY_SPEED = 6.0        # m/s with a box in hand


class RoomSealer:
    """The scripted hider team (:class:`~hideseek.evaluation.actors.TeamActor`); quadrant only."""

    def __init__(self, world: WorldConfig):
        if world.scenario != "quadrant":
            raise ValueError(f"RoomSealer: the scripted ceiling seals the quadrant's room; got "
                             f"scenario {world.scenario!r}")
        self.world = world
        self.x0 = world.floor_size / 2 - world.room_size     # the room is x > x0 and y > x0
        self.along = np.array(door_along(world))             # [D, 2]
        self.into_room = np.stack([self.along[:, 1], self.along[:, 0]], 1)   # normals into it
        self._plans: dict[int, list[dict]] = {}

    # ------------------------------------------------------------------ TeamActor
    def begin_episodes(self, sim, arenas: Tensor, slots: slice) -> None:
        s = _host_state(sim)
        for arena in torch.nonzero(arenas.cpu()).view(-1).tolist():
            self._plans[arena] = self._plan(s, arena, range(*slots.indices(sim.layout.max_agents)))

    def act(self, sim, obs: AgentObs, slots: slice, generator: torch.Generator) -> Tensor:
        s = _host_state(sim)
        hiders = list(range(*slots.indices(sim.layout.max_agents)))
        out = np.tile(np.array(NOOP_ACTION, dtype=np.int64), (sim.num_arenas, len(hiders), 1))
        in_prep = s["t"] < self.world.prep_steps
        for arena in range(sim.num_arenas):
            if not in_prep[arena]:
                continue          # after prep it stays where it is: the room is its hiding place
            for k, plan in enumerate(self._plans[arena]):
                if s["agent_present"][arena, plan["slot"]]:
                    out[arena, k] = self._step(s, arena, plan)
        return torch.as_tensor(out, device=sim.device)

    # ------------------------------------------------------------------ planning
    def _plan(self, s: dict, arena: int, hiders: range) -> list[dict]:
        doors = [d for d in range(len(self.along)) if s["door_present"][arena, d]]
        boxes = [b for b in range(self.world.layout.max_boxes) if s["obj_present"][arena, b]]
        door_pos = s["door_pos"][arena]
        # Each door gets a box: the assignment with the least total box-door distance.
        jobs: list[tuple[int, int]] = []
        best = math.inf
        for chosen in itertools.permutations(boxes, min(len(doors), len(boxes))):
            cost = sum(np.linalg.norm(s["obj_pos"][arena, b] - door_pos[d])
                       for d, b in zip(doors, chosen))
            if cost < best:
                best, jobs = cost, list(zip(doors, chosen))
        # Each job gets a hider: the assignment that gets the boxes soonest (the slower of them).
        present = [h for h in hiders if s["agent_present"][arena, h]]
        plans = {h: {"slot": h, "phase": ENTER, "job": None} for h in hiders}
        best, chosen_hiders = math.inf, ()
        for order in itertools.permutations(present, min(len(jobs), len(present))):
            cost = max((self._reach_cost(s, arena, h, b, d) for h, (d, b) in zip(order, jobs)),
                       default=0.0)
            if cost < best:
                best, chosen_hiders = cost, order
        for h, (d, b) in zip(chosen_hiders, jobs):
            plans[h]["job"] = (d, b, self._box_target(s, arena, d, b))
        far_corner = np.full(2, self.world.floor_size / 2 - 0.5)
        for plan in plans.values():
            plan["route"] = self._entry_route(s, arena, plan["slot"])
            if plan["job"] is None and plan["route"]:   # in, then out of the doorways' way
                plan["route"].append(far_corner)
        return [plans[h] for h in hiders]

    def _inside(self, p: np.ndarray, margin: float = 0.0) -> bool:
        return bool(p[0] > self.x0 + margin and p[1] > self.x0 + margin)

    def _entry_route(self, s: dict, arena: int, slot: int) -> list[np.ndarray]:
        """Waypoints through the nearest open door for a hider outside the room (around the
        room's outer corner when the room is in the way), else none."""
        pos = s["agent_pos"][arena, slot]
        if self._inside(pos, 0.2):
            return []
        doors = [d for d in range(len(self.along)) if s["door_present"][arena, d]]
        d = min(doors, key=lambda d: np.linalg.norm(s["door_pos"][arena, d] - pos))
        centre, n = s["door_pos"][arena, d], self.into_room[d]
        approach = centre - 0.45 * n
        route = [approach, centre + 0.45 * n]
        if self._crosses_room(pos, approach):
            route.insert(0, np.full(2, self.x0 - 0.45))
        return route

    def _crosses_room(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether the segment a -> b passes through the room (grown by an agent and a wall)."""
        low = self.x0 - self.world.agent_radius - self.world.wall_thickness
        ts = np.linspace(0.0, 1.0, 33)[:, None]
        points = a + ts * (b - a)
        return bool(((points[:, 0] > low) & (points[:, 1] > low)).any())

    def _reach_cost(self, s: dict, arena: int, slot: int, box: int, door: int) -> float:
        pos, box_pos = s["agent_pos"][arena, slot], s["obj_pos"][arena, box]
        route = self._entry_route(s, arena, slot)
        points = [pos, *route, box_pos]
        return float(sum(np.linalg.norm(b - a) for a, b in zip(points, points[1:])))

    def _box_target(self, s: dict, arena: int, door: int, box: int) -> np.ndarray:
        """Where the box's centre must go: on the door's centre line, inside the room, its face
        ``PLACE_GAP`` from the wall (its extent along the normal at its current yaw)."""
        n = self.into_room[door]
        offset = self.world.wall_thickness / 2 + PLACE_GAP + self._extent_towards(s, arena, box, n)
        return s["door_pos"][arena, door] + offset * n

    # ------------------------------------------------------------------ acting
    def _step(self, s: dict, arena: int, plan: dict) -> np.ndarray:
        slot = plan["slot"]
        pos, vel = s["agent_pos"][arena, slot], s["agent_vel"][arena, slot]
        yaw = s["agent_yaw"][arena, slot]
        act = np.array(NOOP_ACTION, dtype=np.int64)
        if plan["phase"] == ENTER:
            route = plan["route"]
            while route and np.linalg.norm(route[0] - pos) < ARRIVED * 3:
                route.pop(0)
            if route:
                last = len(route) == 1 and plan["job"] is None
                way = self._around(s, arena, pos, route[0])
                act[:2] = self._drive(pos, vel, way, CRUISE, stop=last and way is route[0])
                return act
            plan["phase"] = FETCH if plan["job"] else DONE
        if plan["job"] is None:
            return act
        door, box, target = plan["job"]
        box_pos = s["obj_pos"][arena, box]
        held_by = s["obj_held_by"][arena, box]
        if s["obj_locked_team"][arena, box] >= 0:
            plan["phase"] = DONE
        if plan["phase"] == FETCH:
            spot = self._grab_spot(s, arena, box, target)
            way = self._around(s, arena, pos, spot)
            act[:2] = self._drive(pos, vel, way, CRUISE, stop=way is spot)
            act[2] = self._turn(yaw, box_pos - pos)
            if self._can_grab(s, arena, box, target, pos, yaw):
                act[3] = 1
                plan["phase"] = GRAB
        elif plan["phase"] == GRAB:
            act[3] = 1
            plan["phase"] = CARRY if held_by == slot else FETCH
        elif plan["phase"] == CARRY:
            if held_by != slot:                    # lost it (knocked away): fetch it again
                plan["phase"] = FETCH
                return act
            act[3] = 1
            goal = target - (box_pos - pos)        # the hold keeps the box's offset
            act[:2] = self._drive(pos, vel, goal, CARRY_SPEED, stop=True,
                                  mass=self.world.agent_mass + self.world.box_mass)
            if np.linalg.norm(target - box_pos) < PLACED:
                act[4] = 1                          # locking releases it where it is
        return act

    def _can_grab(self, s: dict, arena: int, box: int, target: np.ndarray, pos: np.ndarray,
                  yaw: float) -> bool:
        """Grab now: the box within reach and in view, the hider not between it and its target,
        and room for the hider where the hold will put it once the box is in place."""
        w = self.world
        box_pos = s["obj_pos"][arena, box]
        to_box = box_pos - pos
        local = _rotate(-s["obj_yaw"][arena, box], -to_box)
        gap = np.linalg.norm(np.maximum(np.abs(local) - s["obj_half"][arena, box], 0.0))
        heading = target - box_pos
        ahead = np.dot(pos - box_pos, heading) > 0.2 * np.linalg.norm(heading)
        facing = abs(_wrap(math.atan2(to_box[1], to_box[0]) - yaw)) < 0.6
        return bool(gap - w.agent_radius < w.grab_distance - 0.05 and facing and not ahead
                    and self._fits(s, arena, target - to_box))

    def _grab_spot(self, s: dict, arena: int, box: int, target: np.ndarray) -> np.ndarray:
        """Where to stand to grab the box: behind it (seen from its target), else beside it,
        wherever the hider fits both now and once the box is in place (the hold keeps the
        offset, so the hider ends at ``target`` minus it)."""
        box_pos = s["obj_pos"][arena, box]
        heading = target - box_pos
        heading /= max(np.linalg.norm(heading), 1e-9)
        side = np.array([-heading[1], heading[0]])
        spot = None
        for u in (-heading, side, -side):
            spot = box_pos + u * (self._extent_towards(s, arena, box, u)
                                  + self.world.agent_radius + GRAB_GAP)
            if self._fits(s, arena, spot) and self._fits(s, arena, target + (spot - box_pos)):
                return spot
        return spot

    def _around(self, s: dict, arena: int, pos: np.ndarray, spot: np.ndarray) -> np.ndarray:
        """The next point on the way to ``spot`` without pushing a box or ramp aside: past the
        side of the first one the straight way runs into."""
        way = spot - pos
        length = float(np.linalg.norm(way))
        if length < ARRIVED:
            return spot
        first, first_t = None, 1.0
        for o in np.nonzero(s["obj_present"][arena])[0]:
            centre = s["obj_pos"][arena, o]
            keep_off = float(np.linalg.norm(s["obj_half"][arena, o])) + self.world.agent_radius
            t = float(np.clip(np.dot(centre - pos, way) / length ** 2, 0.0, 1.0))
            if t < first_t and np.linalg.norm(pos + t * way - centre) < keep_off:
                first, first_t = (centre, keep_off), t
        if first is None:
            return spot
        centre, keep_off = first
        side = np.array([-way[1], way[0]]) / length * (keep_off + 0.1)
        sides = [p for p in (centre + side, centre - side) if self._fits(s, arena, p)]
        return min(sides or [centre + side], key=lambda p: np.linalg.norm(p - pos))

    def _fits(self, s: dict, arena: int, p: np.ndarray) -> bool:
        """Whether an agent's centre may be at ``p``: on the floor, clear of every wall."""
        w = self.world
        clear = w.agent_radius + w.wall_thickness / 2 + 0.02
        if np.abs(p).max() > w.floor_size / 2 - w.agent_radius - 0.02:
            return False
        a, b = s["wall_a"][arena], s["wall_b"][arena]
        ab = b - a
        t = np.clip(((p - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-12), 0.0, 1.0)
        return bool((np.linalg.norm(p - (a + t[:, None] * ab), axis=1) >= clear).all())

    def _extent_towards(self, s: dict, arena: int, box: int, u: np.ndarray) -> float:
        """How far the box reaches from its centre along the unit vector ``u``."""
        yaw = s["obj_yaw"][arena, box]
        hx, hy = s["obj_half"][arena, box]
        return float(hx * abs(math.cos(yaw) * u[0] + math.sin(yaw) * u[1])
                     + hy * abs(-math.sin(yaw) * u[0] + math.cos(yaw) * u[1]))

    def _drive(self, pos: np.ndarray, vel: np.ndarray, goal: np.ndarray, speed: float,
               stop: bool, mass: float | None = None) -> np.ndarray:
        """Force bins towards ``goal``: the wanted velocity's drag and floor friction (of
        ``mass``: the agent's and what it carries), plus a correction; slowing down near the
        goal when ``stop``."""
        w = self.world
        mass = w.agent_mass if mass is None else mass
        offset = goal - pos
        dist = float(np.linalg.norm(offset))
        # Slowing down near the goal, but never below what the coarse force bins can keep up
        # against floor friction (one bin does not move an agent carrying a box).
        want_speed = min(speed, max(3.0 * dist, 1.5), dist / w.dt) if stop else speed
        want = offset / max(dist, 1e-9) * want_speed
        force = w.agent_mass * w.agent_friction * want + mass * 8.0 * (want - vel)
        if want_speed > 1e-6:
            force += mass * w.floor_friction * w.gravity * want / want_speed
        bins = np.round(force / (w.max_force / NO_MOVE_BIN)) + NO_MOVE_BIN
        return np.clip(bins, 0, 2 * NO_MOVE_BIN).astype(np.int64)

    def _turn(self, yaw: float, towards: np.ndarray) -> int:
        """The torque bin that turns to face ``towards`` within about one step."""
        w = self.world
        error = _wrap(math.atan2(towards[1], towards[0]) - yaw)
        full_turn = w.max_torque / max(w.agent_angular_friction, 1e-9) * w.dt   # rad per step
        return int(np.clip(round(error / full_turn * NO_MOVE_BIN), -NO_MOVE_BIN, NO_MOVE_BIN)
                   + NO_MOVE_BIN)


def _rotate(angle: float, v: np.ndarray) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _host_state(sim) -> dict[str, np.ndarray]:
    """The simulator's state as numpy arrays (arena first)."""
    s = sim.state
    names = ("agent_pos", "agent_vel", "agent_yaw", "agent_present", "obj_pos", "obj_yaw",
             "obj_half", "obj_present", "obj_held_by", "obj_locked_team", "door_pos",
             "door_present", "wall_a", "wall_b", "t")
    return {k: getattr(s, k).detach().cpu().numpy() for k in names}
