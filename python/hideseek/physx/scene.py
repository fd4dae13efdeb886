"""One arena's PhysX actors, built as ``ArenaFactory.cs`` builds the Unity scene.

SAPIEN's frame is z-up, so the arena frame (x, y) maps to PhysX (x, y) and heights to z; the
arena's origin is where this arena sits in its scene (arenas of one scene lie far apart).

- Agents: a capsule of radius ``agent_radius`` and height 0.5 m (Unity's capsule primitive scaled
  to (2r, 0.25, 2r)), centre 0.25 m above the feet, mass ``agent_mass``, yaw inertia
  ``agent_inertia``, turning only about the vertical axis (FreezeRotationX | FreezeRotationZ).
- Boxes: a box collider with its pivot at the base, mass ``box_mass`` (inertia of a solid box);
  ramps: the convex wedge of ``ArenaFactory.WedgeMesh`` rising along the ramp's heading, mass
  ``ramp_mass``. Objects do not rotate at all unless held (then only about the vertical).
- Walls: static boxes, one per wall slot of the episode's layout, rebuilt per episode (a
  collider's size cannot change in place; the scene rescales its wall cubes instead).
- Grab: a joint locking every relative motion of the object to its holder (the scene's
  FixedJoint); a joint's two bodies do not collide (the scene's IgnoreCollision).
- Lock: the object turns kinematic, so nothing moves it (``Pushable.SetLock``).
- Absent agents and objects are kinematic and parked below the floor, as the scene parks them.
Every collider is frictionless (``settings.frictionless``).
"""

from __future__ import annotations

import math

import numpy as np

from ..contract import WorldConfig
from .settings import (UNITY_MAX_ANGULAR_SPEED, UNITY_MAX_DEPENETRATION, PhysxSettings,
                       configured, frictionless, px, sapien)

AGENT_HEIGHT = 0.5          # m, the capsule's full height (Unity primitive 2 m x 0.25)
FOOT_OFFSET = AGENT_HEIGHT / 2   # HideSeekAgent.FootOffset: pivot (centre) above the feet
PARK_DEPTH = -20.0          # z where absent bodies wait (HideSeekArena.Parking)
# Lock flags (linear x, y, z, angular x, y, z): yaw-only bodies, and objects that do not turn.
YAW_ONLY = [False, False, False, True, True, False]
NO_TURN = [False, False, False, True, True, True]
# A joint's twist axis is its local x; these frames put it on the vertical, so locking the
# twist locks the relative yaw (the bodies' own lock flags already stop the other rotations).
_TWIST_UP = sapien.Pose(q=[math.sqrt(0.5), 0.0, -math.sqrt(0.5), 0.0])
# Capsules lie along their local x in PhysX; stand them up.
_UPRIGHT = sapien.Pose(q=[math.sqrt(0.5), 0.0, math.sqrt(0.5), 0.0])


def yaw_quaternion(yaw: np.ndarray) -> np.ndarray:
    """Quaternions (w, x, y, z) [..., 4] of rotations by ``yaw`` about the vertical."""
    half = np.asarray(yaw, dtype=np.float64) / 2
    zero = np.zeros_like(half)
    return np.stack([np.cos(half), zero, zero, np.sin(half)], -1)


def quaternion_yaw(q: np.ndarray) -> np.ndarray:
    """Yaw in [-pi, pi) of yaw-only quaternions (w, x, y, z) [..., 4]."""
    yaw = 2.0 * np.arctan2(q[..., 3], q[..., 0])
    return np.remainder(yaw + np.pi, 2 * np.pi) - np.pi


def _pose(x: float, y: float, z: float, yaw: float) -> sapien.Pose:
    return sapien.Pose([x, y, z], yaw_quaternion(yaw).tolist())


def _box_inertia(mass: float, sx: float, sy: float, sz: float) -> list[float]:
    """Principal moments of a solid box (what Unity computes from a BoxCollider)."""
    return [mass * (sy * sy + sz * sz) / 12, mass * (sx * sx + sz * sz) / 12,
            mass * (sx * sx + sy * sy) / 12]


def wedge_vertices(world: WorldConfig) -> np.ndarray:
    """The ramp's wedge [6, 3]: footprint ramp_length along local x, ramp_width across, rising
    from 0 at -length/2 to ramp_height at +length/2 (ArenaFactory.WedgeMesh, z-up)."""
    lx, wy, h = world.ramp_length / 2, world.ramp_width / 2, world.ramp_height
    return np.array([[-lx, -wy, 0], [-lx, wy, 0], [lx, -wy, 0], [lx, wy, 0],
                     [lx, -wy, h], [lx, wy, h]], dtype=np.float32)


class ArenaActors:
    """The actors of one arena in a scene. Entity index e: agents [0, A), then objects (boxes,
    then ramps), as the twin's state orders them."""

    def __init__(self, scene: sapien.Scene, world: WorldConfig, settings: PhysxSettings,
                 origin: tuple[float, float], name: str, present: np.ndarray, locked: np.ndarray):
        """``present`` [entities] and ``locked`` [objects] are this arena's rows of the
        simulator's flag arrays, kept up to date here."""
        lay = world.layout
        self.scene, self.world, self.settings = scene, world, settings
        self.origin = np.asarray(origin, dtype=np.float64)
        self.name = name
        self.num_agents = lay.max_agents
        self.num_objects = lay.max_boxes + lay.max_ramps
        self._material = frictionless()
        half_box = world.box_size / 2
        with configured(settings):
            self.bodies: list[px.PhysxRigidDynamicComponent] = [
                self._agent(a) for a in range(self.num_agents)]
            self.bodies += [self._box(b, (half_box, half_box)) for b in range(lay.max_boxes)]
            self.bodies += [self._ramp(lay.max_boxes + r) for r in range(lay.max_ramps)]
        self.obj_half = np.full((self.num_objects, 2), half_box)
        self.obj_half[lay.max_boxes:] = (world.ramp_length / 2, world.ramp_width / 2)
        self.walls: list[sapien.Entity] = []
        self.wall_key: bytes | None = None
        self.joints: dict[int, px.PhysxDriveComponent] = {}
        self.present, self.locked = present, locked

    # ------------------------------------------------------------------ building
    def _body(self, name: str, shape: px.PhysxCollisionShape) -> px.PhysxRigidDynamicComponent:
        entity = sapien.Entity()
        entity.name = name
        body = px.PhysxRigidDynamicComponent()
        body.attach(shape)
        body.name = name
        entity.add_component(body)
        entity.set_pose(self.parking(0))
        self.scene.add_entity(entity)
        body.set_max_depenetration_velocity(UNITY_MAX_DEPENETRATION)
        return body

    def _agent(self, slot: int) -> px.PhysxRigidDynamicComponent:
        r = self.world.agent_radius
        shape = px.PhysxCollisionShapeCapsule(r, AGENT_HEIGHT / 2 - r, self._material)
        shape.set_local_pose(_UPRIGHT)
        body = self._body(f"{self.name}/agent{slot}", shape)
        body.set_mass(self.world.agent_mass)
        # Yaw inertia from the contract (the other two axes are locked, so any value does).
        body.set_inertia([self.world.agent_inertia] * 3)
        body.set_cmass_local_pose(sapien.Pose())
        # rb.maxAngularVelocity = 50 in the scene, which is also Unity's default.
        body.set_max_angular_velocity(UNITY_MAX_ANGULAR_SPEED)
        body.set_locked_motion_axes(YAW_ONLY)
        return body

    def _box(self, index: int, half: tuple[float, float]) -> px.PhysxRigidDynamicComponent:
        h = self.world.box_size
        shape = px.PhysxCollisionShapeBox(np.array([half[0], half[1], h / 2], np.float32),
                                          self._material)
        shape.set_local_pose(sapien.Pose([0.0, 0.0, h / 2]))
        body = self._body(f"{self.name}/object{index}", shape)
        body.set_mass(self.world.box_mass)
        body.set_inertia(_box_inertia(self.world.box_mass, 2 * half[0], 2 * half[1], h))
        body.set_cmass_local_pose(sapien.Pose([0.0, 0.0, h / 2]))
        body.set_locked_motion_axes(NO_TURN)
        return body

    def _ramp(self, index: int) -> px.PhysxRigidDynamicComponent:
        w = self.world
        shape = px.PhysxCollisionShapeConvexMesh(wedge_vertices(w), np.ones(3, np.float32),
                                                 self._material)
        # Mass properties of the solid wedge at the ramp's mass (Unity derives them from the
        # mesh collider): the density that gives that mass; PhysX integrates the rest.
        shape.set_density(w.ramp_mass / (w.ramp_length * w.ramp_width * w.ramp_height / 2))
        body = self._body(f"{self.name}/object{index}", shape)
        body.set_locked_motion_axes(NO_TURN)
        return body

    def resize_box(self, index: int, half: tuple[float, float]) -> None:
        """Give box ``index`` a new footprint (elongated or not): a new body, since a collider's
        size is fixed in PhysX. Its row in the scene's state moves (see ``SceneActors``)."""
        e = self.num_agents + index
        self.release(index)
        self.bodies[e].entity.remove_from_scene()
        with configured(self.settings):
            self.bodies[e] = self._box(index, half)
        self.obj_half[index] = half

    def set_walls(self, wall_a: np.ndarray, wall_b: np.ndarray) -> None:
        """Static wall boxes along the present segments [W, 2] (arena frame, centre lines);
        parked slots (far outside the arena) are left out."""
        key = np.concatenate([wall_a, wall_b]).astype(np.float32).tobytes()
        if key == self.wall_key:
            return
        for wall in self.walls:
            wall.remove_from_scene()
        self.walls = []
        w = self.world
        reach = w.floor_size * 2
        with configured(self.settings):
            for k, (a, b) in enumerate(zip(wall_a, wall_b)):
                length = float(np.hypot(*(b - a)))
                if length < 1e-6 or np.abs(a).max() > reach:
                    continue
                centre = (a + b) / 2 + self.origin
                shape = px.PhysxCollisionShapeBox(
                    np.array([length / 2, w.wall_thickness / 2, w.wall_height / 2], np.float32),
                    self._material)
                entity = sapien.Entity()
                entity.name = f"{self.name}/wall{k}"
                body = px.PhysxRigidStaticComponent()
                body.attach(shape)
                entity.add_component(body)
                entity.set_pose(_pose(centre[0], centre[1], w.wall_height / 2,
                                      math.atan2(b[1] - a[1], b[0] - a[0])))
                self.scene.add_entity(entity)
                self.walls.append(entity)
        self.wall_key = key

    # ------------------------------------------------------------------ state changes
    def parking(self, e: int) -> sapien.Pose:
        return sapien.Pose([self.origin[0] + 2.0 * e, self.origin[1] + 2 * self.world.floor_size,
                            PARK_DEPTH])

    def set_present(self, e: int, present: bool) -> None:
        """Absent bodies are kinematic (the caller parks them at :meth:`parking`)."""
        self.present[e] = present
        self.bodies[e].set_kinematic(not present or self._is_locked(e))

    def _is_locked(self, e: int) -> bool:
        return e >= self.num_agents and bool(self.locked[e - self.num_agents])

    def hold(self, index: int, holder: int) -> None:
        """Join object ``index`` to agent ``holder`` where they are now (FixedJoint)."""
        self.release(index)
        body, agent = self.bodies[self.num_agents + index], self.bodies[holder]
        relative = agent.entity_pose.inv() * body.entity_pose
        joint = px.PhysxDriveComponent(body)
        joint.parent = agent
        joint.pose_in_parent = relative * _TWIST_UP
        joint.pose_in_child = _TWIST_UP
        for axis in ("x", "y", "z"):
            getattr(joint, f"set_limit_{axis}")(0.0, 0.0)       # locked
        joint.set_limit_twist(0.0, 0.0)
        body.entity.add_component(joint)
        body.set_locked_motion_axes(YAW_ONLY)                  # turns with its holder
        self.joints[index] = joint

    def release(self, index: int) -> None:
        joint = self.joints.pop(index, None)
        if joint is not None:
            body = self.bodies[self.num_agents + index]
            body.entity.remove_component(joint)
            body.set_locked_motion_axes(NO_TURN)
            body.set_angular_velocity([0.0, 0.0, 0.0])

    def set_locked(self, index: int, locked: bool) -> None:
        """Locked objects are kinematic and keep still; unlocking starts them at rest."""
        if locked:
            self.release(index)
        self.locked[index] = locked
        e = self.num_agents + index
        body = self.bodies[e]
        body.set_kinematic(locked or not self.present[e])
        if not body.kinematic:
            body.set_linear_velocity([0.0, 0.0, 0.0])
            body.set_angular_velocity([0.0, 0.0, 0.0])
