"""PhysxSim: N hide-and-seek arenas on PhysX 5, with ``TwinSim``'s API.

One decision step, as the Unity scene runs it (``HideSeekAgent``, ``HideSeekArena``):

1. grab and lock act on what each agent saw at its last observation: the twin's own rules
   (``sim.rules.apply_grab`` / ``apply_lock``) decide, and the changes become joints and
   kinematic bodies;
2. ``steps_per_decision`` physics steps, each: the scene's height rules (``physx.heights``), the
   movement law's forces (``physx.law``), one PhysX step;
3. PhysX's state is read into the twin's core state (``sim.state``), and the twin's ``sense``
   computes observations, rewards and statistics from it.

Bodies are read and written for a whole scene at once (SAPIEN's packed state: per dynamic body
its pose, linear and angular velocity, in creation order). Arenas live in one scene or in several
(``arenas_per_scene``), each placed on a grid far enough apart that they never meet. Layouts,
seeds and auto-reset are ``TwinSim``'s: arena k with seed s plays ``layouts.generate``'s episodes.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..contract import ACTION_BRANCHES, NOOP_ACTION, WorldConfig
from ..sim import layouts
from ..sim.physics import CLIMB_TOLERANCE, Walls, wall_geometry
from ..sim.rules import apply_grab, apply_lock, episode_stats
from ..sim.sensors import Trig, frozen_slots, phase_of
from ..sim.state import Core, SimState, core_assign, flip, from_core, to_core
from ..sim.step import StepConstants, observations, sense
from ..sim.twin import reset_layouts
from ..sim.types import AgentObs, StepOutput
from . import heights
from .law import MovementLaw
from .scene import FOOT_OFFSET, ArenaActors, quaternion_yaw, yaw_quaternion
from .settings import PhysxSettings, new_scene

# Columns of SAPIEN's packed state per body: quaternion (w, x, y, z), position, velocity,
# angular velocity.
Q, P, V, W = slice(0, 4), slice(4, 7), slice(7, 10), slice(10, 13)
ROW = 13
TURNING = ("agent", "composite")
ARENA_GAP = 4.0   # m of free floor between neighbouring arenas of one scene


class SceneActors:
    """Arenas that share one PhysX scene, and where their bodies sit in its packed state."""

    def __init__(self, world: WorldConfig, settings: PhysxSettings, first: int,
                 present: np.ndarray, locked: np.ndarray):
        """Arenas ``first``, ``first + 1``, ... with the simulator's flag rows [arenas, ...]."""
        self.scene = new_scene(settings)
        self.system = self.scene.physx_system
        pitch = world.floor_size + 2 * world.wall_thickness + ARENA_GAP
        count = len(present)
        per_row = math.ceil(math.sqrt(count))
        self.arenas = [ArenaActors(self.scene, world, settings,
                                   ((k % per_row) * pitch, (k // per_row) * pitch),
                                   f"arena{first + k}", present[k], locked[k])
                       for k in range(count)]
        self.refresh_rows()

    def refresh_rows(self) -> None:
        """Rows [arenas, entities] of the packed state (PhysX orders bodies by creation, and a
        resized box is created anew)."""
        order = {body.name: i for i, body in enumerate(self.system.get_rigid_dynamic_components())}
        self.rows = np.array([[order[b.name] for b in arena.bodies] for arena in self.arenas])
        self._buffer = np.zeros((len(order), ROW), dtype=np.float32)

    def read(self) -> np.ndarray:
        packed = np.frombuffer(self.system.pack(), dtype=np.float32).reshape(-1, ROW)
        return packed[self.rows]

    def write(self, bodies: np.ndarray) -> None:
        self._buffer[self.rows] = bodies
        self.system.unpack(self._buffer.tobytes())

    def step(self) -> None:
        self.system.step()


class PhysxSim:
    """N arenas on PhysX (CPU). See ``hideseek.sim.types`` for what ``reset``/``step`` return.

    ``arenas_per_scene``: how many arenas share one PhysX scene (default: all in one, which
    measured fastest; ``benchmarks/physx_throughput.py`` compares). ``compile``: run the twin's
    sensing functions under ``torch.compile`` (as ``TwinSim(compile=True)`` does). ``turning``:
    how the turning law reaches what an agent holds: ``composite`` (the scene's way and the
    twin's: holder and held turn as one body, ``physx.law``) or ``agent`` (the rate set on the
    agent alone, as the scene did before; the joint then gives most of it to the box)."""

    def __init__(self, world: WorldConfig, num_arenas: int, device: str | torch.device = "cpu",
                 seed: int | Sequence[int] = 0, arenas_per_scene: int | None = None,
                 compile: bool = False, turning: str = "composite"):
        if num_arenas < 1:
            raise ValueError(f"num_arenas: expected >= 1, got {num_arenas}")
        if torch.device(device).type != "cpu":
            raise ValueError(f"device: PhysxSim runs PhysX on the CPU, expected 'cpu', "
                             f"got {device}")
        if turning not in TURNING:
            raise ValueError(f"turning: expected one of {', '.join(TURNING)}, got {turning!r}")
        self.turning = turning
        per_scene = num_arenas if arenas_per_scene is None else arenas_per_scene
        if per_scene < 1:
            raise ValueError(f"arenas_per_scene: expected >= 1, got {arenas_per_scene}")
        self.world = world
        self.layout = world.layout
        self.num_arenas = num_arenas
        self.device = torch.device("cpu")
        self.settings = PhysxSettings.of(world)
        self.law = MovementLaw(world, self.settings.timestep)
        self._k = StepConstants.of(world, self.device)
        self._sense_fn, self._observe_fn = sense, observations
        if compile:
            self._sense_fn, self._observe_fn = (torch.compile(f, dynamic=False)
                                                for f in (sense, observations))
        lay = self.layout
        self._a, self._b, self._o = lay.max_agents, lay.max_boxes, lay.max_boxes + lay.max_ramps
        self._mass = np.array([world.agent_mass] * lay.max_agents + [world.box_mass] * lay.max_boxes
                              + [world.ramp_mass] * lay.max_ramps)
        self._drag = np.array([world.agent_friction] * lay.max_agents
                              + [world.object_friction] * self._o)
        self._is_box = np.arange(self._o) < lay.max_boxes
        self._branch_hi = torch.tensor([b - 1 for b in ACTION_BRANCHES])
        self._noop = torch.tensor(NOOP_ACTION)
        self._mask_rows = _mask_rows()
        # Which bodies are present, which objects locked [N, ...]: the arenas keep them current.
        self._present = np.zeros((num_arenas, self._a + self._o), dtype=bool)
        self._locked = np.zeros((num_arenas, self._o), dtype=bool)
        self._scenes = [SceneActors(world, self.settings, first,
                                    self._present[first:first + per_scene],
                                    self._locked[first:first + per_scene])
                        for first in range(0, num_arenas, per_scene)]
        self._arenas = [arena for s in self._scenes for arena in s.arenas]
        self._origin = np.stack([arena.origin for arena in self._arenas])        # [N, 2]
        self._rider_of = np.full((num_arenas, self._a), -1, dtype=np.int64)
        # Object footprints before the last physics step, and each agent's box then (-1 none):
        # what the scene's rider rule carries riders by.
        self._before: heights.Footprints | None = None
        self._core: Core
        self._t_host = np.zeros(num_arenas, dtype=np.int64)
        self.reset(seed)

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> SimState:
        """The state, arena first (views of the simulator's own tensors). After editing it in
        place, call :meth:`observe`: that moves the PhysX bodies to it."""
        return from_core(self._core)

    @state.setter
    def state(self, value: SimState) -> None:
        self._set_core(to_core(value), range(self.num_arenas))

    @property
    def obs(self) -> AgentObs:
        return self._obs

    def actors(self, arena: int) -> ArenaActors:
        """The PhysX actors of one arena (to inspect the scene)."""
        return self._arenas[arena]

    def reset(self, seed: int | Sequence[int] | None = None) -> AgentObs:
        """Start a new episode in every arena. ``seed``: arena k gets ``seed + k`` (or the k-th
        of a list); None continues each arena's seed with its next episode."""
        n = self.num_arenas
        self._set_core(reset_layouts(self.world, n, seed, getattr(self, "_core", None),
                                     self.device), range(n))
        self._t_host[:] = 0
        return self._obs

    def observe(self) -> AgentObs:
        """Move the bodies to the (edited) state and observe it again."""
        self._set_core(self._core, range(self.num_arenas))
        self._t_host[:] = self._core["t"].numpy()
        return self._obs

    def _set_core(self, core: Core, arenas: Sequence[int]) -> None:
        """Adopt ``core`` and place the bodies of ``arenas`` as it says; observe."""
        self._core = core
        self._walls = wall_geometry(core["wall_a"], core["wall_b"], self._k.pc)
        self._place(list(arenas))
        trig = Trig.of(core)
        planes, _, self._seen_objs = self._observe_fn(self._k, core, trig)
        self._obs = self._agent_obs(planes)

    # ------------------------------------------------------------------ PhysX <-> core state
    def _public(self, name: str) -> np.ndarray:
        """A core field as an arena-first numpy array (a copy)."""
        return flip(self._core[name]).numpy().copy()

    def _read(self) -> np.ndarray:
        """Every body's packed row [N, entities, 13], arena-frame x and y."""
        bodies = np.concatenate([s.read() for s in self._scenes]).astype(np.float64)
        bodies[..., P.start:P.start + 2] -= self._origin[:, None]
        return bodies

    def _write(self, bodies: np.ndarray) -> None:
        """Set every body's packed row from ``bodies`` (arena frame; consumed: it is moved to
        the scene frame in place)."""
        bodies[..., P.start:P.start + 2] += self._origin[:, None]
        rows = bodies.astype(np.float32)
        start = 0
        for s in self._scenes:
            end = start + len(s.arenas)
            s.write(rows[start:end])
            start = end

    def _place(self, arenas: list[int]) -> None:
        """Build the walls, sizes, locks and holds of ``arenas`` from the core state and move
        their bodies there (positions, heights, headings, velocities)."""
        a = self._a
        agent_pos, agent_vel = self._public("agent_pos"), self._public("agent_vel")
        agent_z, agent_yaw = self._public("agent_z"), self._public("agent_yaw")
        agent_w, agent_present = self._public("agent_angvel"), self._public("agent_present")
        obj_pos, obj_vel = self._public("obj_pos"), self._public("obj_vel")
        obj_yaw = self._public("obj_yaw")
        obj_half, obj_present = self._public("obj_half"), self._public("obj_present")
        locked, held_by = self._public("obj_locked_team") >= 0, self._public("obj_held_by")
        wall_a, wall_b = self._public("wall_a"), self._public("wall_b")
        resized = set()
        for n in arenas:
            arena = self._arenas[n]
            arena.set_walls(wall_a[n], wall_b[n])
            for o in range(self._o):
                arena.release(o)
                if o < self._b and not np.allclose(arena.obj_half[o], obj_half[n, o]):
                    arena.resize_box(o, tuple(obj_half[n, o]))
                    resized.add(id(arena))
            for e in range(a):
                arena.set_present(e, bool(agent_present[n, e]))
            for o in range(self._o):
                arena.locked[o] = locked[n, o]
                arena.set_present(a + o, bool(obj_present[n, o]))
        for s in self._scenes:
            if any(id(arena) in resized for arena in s.arenas):
                s.refresh_rows()
        bodies = self._read()
        for n in arenas:
            arena = self._arenas[n]
            rows = bodies[n]
            rows[:a, Q] = yaw_quaternion(agent_yaw[n])
            rows[:a, P] = np.column_stack([agent_pos[n], agent_z[n] + FOOT_OFFSET])
            rows[:a, V] = np.column_stack([agent_vel[n], np.zeros(a)])
            rows[:a, W] = np.column_stack([np.zeros((a, 2)), agent_w[n]])
            rows[a:, Q] = yaw_quaternion(obj_yaw[n])
            rows[a:, P] = np.column_stack([obj_pos[n], np.zeros(self._o)])
            rows[a:, V] = np.column_stack([obj_vel[n] * ~locked[n, :, None], np.zeros(self._o)])
            rows[a:, W] = 0.0
            for e in np.flatnonzero(~arena.present):        # parked, as the scene parks them
                parked = arena.parking(e)
                rows[e, Q], rows[e, P] = parked.q, np.asarray(parked.p) - [*arena.origin, 0.0]
                rows[e, V.start:] = 0.0
        self._rider_of[arenas] = self._public("agent_support")[arenas]
        self._write(bodies)
        for n in arenas:   # joints keep the relative pose they are made in: after the move
            for o in np.flatnonzero(held_by[n] >= 0):
                self._arenas[n].hold(int(o), int(held_by[n, o]))
        placed = self._object_poses(self._read())
        if self._before is None:
            self._before = placed
        for name in ("x", "y", "yaw"):
            getattr(self._before, name)[arenas] = getattr(placed, name)[arenas]

    def _object_poses(self, bodies: np.ndarray) -> heights.Footprints:
        objs = bodies[:, self._a:]
        return heights.Footprints(objs[..., P.start].copy(), objs[..., P.start + 1].copy(),
                                  quaternion_yaw(objs[..., Q]))

    def _sync_interactions(self, held_before: np.ndarray, locked_before: np.ndarray) -> None:
        """Make PhysX follow the grab and lock rules' changes (releases first, then locks,
        then new holds, as ``HideSeekArena.Interact`` does them)."""
        held, locked = self._public("obj_held_by"), self._public("obj_locked_team") >= 0
        changed_hold = np.argwhere(held != held_before)
        for n, o in changed_hold:
            if held_before[n, o] >= 0:
                self._arenas[n].release(int(o))
        for n, o in np.argwhere(locked != locked_before):
            self._arenas[n].set_locked(int(o), bool(locked[n, o]))
        for n, o in changed_hold:
            if held[n, o] >= 0:
                self._arenas[n].hold(int(o), int(held[n, o]))

    def _to_core(self, core: Core, bodies: np.ndarray) -> None:
        """PhysX's state into the core fields the sensors and rules read (present entities
        only: absent ones keep their parked layout values)."""
        a = self._a
        agents, objs = bodies[:, :a], bodies[:, a:]
        moving = self._moving()

        def put(name: str, value: np.ndarray, present: str) -> None:
            old = flip(core[name])
            keep = flip(core[present])
            while keep.dim() < old.dim():
                keep = keep[..., None]
            new = torch.from_numpy(np.ascontiguousarray(value)).to(old.dtype)
            core[name] = flip(torch.where(keep, new, old)).contiguous()

        put("agent_pos", agents[..., P.start:P.start + 2], "agent_present")
        put("agent_vel", agents[..., V.start:V.start + 2], "agent_present")
        put("agent_z", np.maximum(agents[..., P.start + 2] - FOOT_OFFSET, 0.0), "agent_present")
        put("agent_yaw", quaternion_yaw(agents[..., Q]), "agent_present")
        put("agent_angvel", agents[..., W.start + 2], "agent_present")
        core["agent_support"] = torch.from_numpy(self._rider_of.T.copy())
        put("obj_pos", objs[..., P.start:P.start + 2], "obj_present")
        put("obj_vel", objs[..., V.start:V.start + 2] * moving[:, a:, None], "obj_present")
        put("obj_yaw", quaternion_yaw(objs[..., Q]), "obj_present")

    def _walls_of(self, arenas: np.ndarray) -> Walls:
        """The episode's wall geometry of some arenas (the arena index is the last dimension)."""
        index = torch.from_numpy(arenas)
        return {name: t.index_select(t.dim() - 1, index) for name, t in self._walls.items()}

    def _moving(self) -> np.ndarray:
        """[N, entities] bool: the bodies forces and rules move (present and not locked)."""
        moving = self._present.copy()
        moving[:, self._a:] &= ~self._locked
        return moving

    # ------------------------------------------------------------------ physics steps
    def _physics_step(self, force: tuple[np.ndarray, np.ndarray, np.ndarray],
                      held_by: np.ndarray, obj_half: np.ndarray) -> None:
        """One physics step of every arena: the scene's height rules, the movement law, PhysX."""
        bodies = self._read()
        moving = self._moving()
        self._height_rules(bodies, moving, held_by, obj_half)
        # The movement law, as the velocities it leaves after one step.
        fx, fy, torque = force
        vx, vy = bodies[..., V.start], bodies[..., V.start + 1]
        nx, ny = self.law.linear(vx, vy, fx, fy, self._mass, self._drag)
        bodies[..., V.start] = np.where(moving, nx, vx)
        bodies[..., V.start + 1] = np.where(moving, ny, vy)
        self._turn(bodies, moving, torque, held_by, obj_half)
        self._write(bodies)
        for s in self._scenes:
            s.step()

    def _turn(self, bodies: np.ndarray, moving: np.ndarray, torque: np.ndarray,
              held_by: np.ndarray, obj_half: np.ndarray) -> None:
        """The turning law on ``bodies``, in place (``physx.law``: on the agent alone, as the
        scene sets it, or on a holder and what it holds as one body, ``composite``)."""
        a = self._a
        spin = bodies[:, :a, W.start + 2].copy()
        inertia: np.ndarray | float = self.law.agent_inertia
        if self.turning == "composite":
            # Each held object's yaw inertia about its holder's centre (a box of its footprint:
            # m (lx^2 + ly^2) / 12 about its own centre, plus m d^2).
            holds = held_by[:, None, :] == np.arange(a)[None, :, None]              # [N, A, O]
            d = bodies[:, None, a:, P.start:P.start + 2] - bodies[:, :a, None, P.start:P.start + 2]
            own = self._mass[a:] * (obj_half ** 2).sum(-1) / 3                      # [N, O]
            inertia = inertia + (holds * (self._mass[a:] * (d ** 2).sum(-1) + own[:, None])).sum(-1)
        turned = np.where(moving[:, :a], self.law.angular(spin, torque, inertia), spin)
        bodies[:, :a, W.start + 2] = turned
        # What an agent holds turns with it about its centre (the joint would make it so).
        held = held_by >= 0
        if self.turning == "composite" and held.any():
            holder = np.clip(held_by, 0, None)
            change = np.take_along_axis(turned - spin, holder, axis=1) * held          # [N, O]
            rel = np.take_along_axis(d, holder[:, None, :, None], axis=1)[:, 0]         # [N, O, 2]
            objs = bodies[:, a:]
            objs[..., W.start + 2] += change
            objs[..., V.start] -= change * rel[..., 1]
            objs[..., V.start + 1] += change * rel[..., 0]

    def _height_rules(self, bodies: np.ndarray, moving: np.ndarray, held_by: np.ndarray,
                      obj_half: np.ndarray) -> None:
        """The scene's rules (``physx.heights``) on ``bodies``, in place: riders take their
        box's last motion, agents on a top are held at its height."""
        a = self._a
        agents = bodies[:, :a]
        objects = self._object_poses(bodies)
        before, self._before = self._before, objects
        px, py = agents[..., P.start].copy(), agents[..., P.start + 1].copy()
        feet = agents[..., P.start + 2] - FOOT_OFFSET
        box = np.clip(self._rider_of, 0, None)
        rides = ((self._rider_of >= 0) & moving[:, :a]
                 & (np.take_along_axis(held_by, box, axis=1) != np.arange(a))
                 & np.take_along_axis(self._present[:, a:], box, axis=1))
        if rides.any():
            agents[..., P.start], agents[..., P.start + 1], turn = heights.carry(
                px, py, self._rider_of, rides, before, objects)
            agents[..., Q] = yaw_quaternion(quaternion_yaw(agents[..., Q]) + turn)
        self._rider_of[:] = -1
        # Only feet within the climb tolerance of the top can stand on one: the rest of the
        # arenas (most, most of the time) have nothing to find.
        top = self.world.wall_height
        high = np.flatnonzero(((feet >= top - CLIMB_TOLERANCE - 1e-6) & moving[:, :a]).any(1))
        if not len(high):
            return
        tops = self._present[high, a:] & self._is_box          # ramps are PhysX's to climb
        on_top, support = heights.support(
            px[high], py[high], feet[high], objects.take(high), obj_half[high], tops,
            self._walls_of(high), self._k.pc)
        on_top &= moving[high, :a]
        sink = top - feet[high]
        lift = on_top & (sink > 1e-4)
        rows = agents[high]
        rows[..., P.start + 2] += np.where(lift, sink, 0.0)
        rows[..., V.start + 2] = np.where(lift, np.maximum(rows[..., V.start + 2], 0.0),
                                          rows[..., V.start + 2])
        agents[high] = rows
        self._rider_of[high] = np.where(on_top, support, -1)

    # ------------------------------------------------------------------ step
    def step(self, actions: Tensor) -> StepOutput:
        """Advance every arena by one step. ``actions``: int64 [N, A, 5] bins; actions a mask
        forbids (seekers during prep, absent agents) are replaced by "do nothing"."""
        expected = (self.num_arenas, self._a, len(ACTION_BRANCHES))
        if tuple(actions.shape) != expected:
            raise ValueError(f"actions: expected shape {expected}, got {tuple(actions.shape)}")
        if actions.dtype.is_floating_point or actions.dtype == torch.bool:
            raise ValueError(f"actions: expected an integer tensor, got {actions.dtype}")
        actions = torch.minimum(actions.to(self.device, torch.int64).clamp(min=0), self._branch_hi)
        world, k = self.world, self._k
        core = dict(self._core)
        in_prep, _, _ = phase_of(core["t"], k.sc)
        frozen = frozen_slots(in_prep, core["agent_present"], k.sc).t()              # [N, A]
        act = torch.where(frozen[..., None], self._noop, actions)                    # [N, A, 5]
        held_before = self._public("obj_held_by")
        locked_before = self._public("obj_locked_team") >= 0
        core_act = act.permute(1, 2, 0)                                              # [A, 5, N]
        new_grabs = apply_grab(core, core_act[:, 3], self._seen_objs, world)
        apply_lock(core, core_act[:, 4], self._seen_objs, world, k.sc)
        self._core = core
        self._sync_interactions(held_before, locked_before)

        fx, fy, torque = self.law.action_forces(act.numpy())
        pad = ((0, 0), (0, self._o))                     # objects get no action force
        force = (np.pad(fx, pad), np.pad(fy, pad), torque)
        held_by, obj_half = self._public("obj_held_by"), self._public("obj_half")
        for _ in range(self.settings.steps_per_decision):
            self._physics_step(force, held_by, obj_half)
        self._to_core(core, self._read())
        core["t"] = core["t"] + 1
        core, planes, reward, hidden, seen_objs = self._sense_fn(k, core, Trig.of(core), in_prep,
                                                                 new_grabs)
        self._core, self._seen_objs = core, seen_objs
        obs = self._agent_obs(planes)
        self._obs = obs
        self._t_host += 1
        done = self._t_host >= world.horizon
        if not done.any():
            return StepOutput(obs, reward, torch.zeros(self.num_arenas, dtype=torch.bool),
                              hidden, None, None)
        stats = {name: v.clone() for name, v in episode_stats(core, world, k.sc).items()}
        idx = np.flatnonzero(done)
        fresh = to_core(layouts.generate(world, core["seed"][idx], core["episode"][idx] + 1))
        new_core = {name: v.clone() for name, v in core.items()}
        core_assign(new_core, torch.as_tensor(idx), fresh)
        self._set_core(new_core, idx.tolist())
        self._t_host[done] = 0
        return StepOutput(self._obs, reward, torch.as_tensor(done), hidden, obs, stats)

    def _agent_obs(self, planes: tuple[Tensor, ...]) -> AgentObs:
        obs_0, obs_1, obs_2, obs_3, frozen, state, present = planes
        return AgentObs(obs_0, obs_1, obs_2, obs_3, self._mask_rows[frozen], state, present)

    # ------------------------------------------------------------------ render
    def render(self, arena: int = 0, size: int = 400) -> np.ndarray:
        """Top-down RGB picture [size, size, 3] uint8 of one arena (the twin's renderer)."""
        from ..sim.render import render_arena
        return render_arena(self.state, self._seen_objs.permute(2, 0, 1), arena, self.world, size)


def _mask_rows() -> Tensor:
    """Row 0: every action allowed; row 1: a frozen agent's mask (only "do nothing")."""
    full = torch.ones(sum(ACTION_BRANCHES), dtype=torch.bool)
    frozen = torch.zeros_like(full)
    start = 0
    for size, allowed in zip(ACTION_BRANCHES, NOOP_ACTION):
        frozen[start + allowed] = True
        start += size
    return torch.stack([full, frozen])

