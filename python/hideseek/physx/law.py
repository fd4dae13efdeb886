"""The movement law of the contract (WORLD.md v1.1) as the Unity scene applies it before each
physics step (``Core/MovementLaw.cs``, used by ``HideSeekAgent.FixedUpdate`` and
``Pushable.FixedUpdate``; Rigidbody damping is 0):

- every body that can move gets the force ``-friction * m * v`` (``agent_friction`` on agents,
  ``object_friction`` on boxes and ramps) plus Coulomb floor friction against its horizontal
  velocity, ``min(floor_friction * gravity * m, m * |v| / h)`` (it never reverses a body within
  one step); agents also get their action's force, ``(bin - 5) / 5 * max_force`` per axis.
  A force held for one step of ``h`` changes the velocity by ``F / m * h`` before the solver
  runs, which is what PhysX does with ``AddForce``; the backend writes that change directly.
- an agent's yaw rate is set to the exact solution of
  ``agent_inertia * dw/dt = torque - agent_angular_friction * w`` over ``h``
  (``MovementLaw.SpinRate``; the equation is too stiff for an explicit torque).

Turning a holder: the scene solves the turning equation for the holder and what it holds as the
one rigid body the joint makes of them (their yaw inertia about the holder's centre) and gives
that turn to all of them, as the twin does (``turning="composite"``, the default here).
``turning="agent"`` sets the rate on the agent alone, as the scene did first: a held box (1 kg
half a metre away, 30 times the agent's yaw inertia) then takes nearly all of the set turn back
through the joint within the same step, so a holder turns about nine times slower (docs/physx.md).
"""

from __future__ import annotations

import numpy as np

from ..contract import NO_MOVE_BIN, WorldConfig


class MovementLaw:
    def __init__(self, world: WorldConfig, h: float):
        self.h = h
        self.max_force, self.max_torque = world.max_force, world.max_torque
        self.coulomb = world.floor_friction * world.gravity       # m/s^2
        self.agent_inertia = world.agent_inertia
        self.angular_friction = world.agent_angular_friction

    def action_forces(self, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Force x, force y and torque from the movement bins [..., 3] of an action."""
        unit = (bins[..., :3].astype(np.float64) - NO_MOVE_BIN) / NO_MOVE_BIN
        force = unit[..., :2] * self.max_force
        return force[..., 0], force[..., 1], unit[..., 2] * self.max_torque

    def linear(self, vx: np.ndarray, vy: np.ndarray, fx: np.ndarray, fy: np.ndarray,
               mass: np.ndarray, drag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Horizontal velocities after one physics step under the scene's forces, from
        velocities (vx, vy), applied forces (fx, fy), masses and viscous drags (1/s), all
        broadcast together (``MovementLaw.Drag`` + ``MovementLaw.FloorFriction``)."""
        speed = np.hypot(vx, vy)
        # Floor friction per unit mass and speed: min(coulomb, |v| / h) / |v| (0 at rest).
        floor = np.divide(np.minimum(self.coulomb, speed / self.h), speed,
                          out=np.zeros_like(speed), where=speed > 0)
        ax = fx / mass - (drag + floor) * vx
        ay = fy / mass - (drag + floor) * vy
        return vx + ax * self.h, vy + ay * self.h

    def angular(self, omega: np.ndarray, torque: np.ndarray, inertia: np.ndarray | float
                ) -> np.ndarray:
        """Yaw rates after one physics step of the turning law, solved exactly
        (``MovementLaw.SpinRate``), of bodies with yaw ``inertia`` turning at ``omega``."""
        c, h = self.angular_friction, self.h
        if c <= 0:
            return omega + torque * h / inertia
        keep = np.exp(-c * h / np.asarray(inertia, dtype=np.float64))
        return omega * keep + torque * (1.0 - keep) / c
