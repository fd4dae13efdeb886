"""The movement law of WORLD.md v1.1 as the Unity scene applies it: script forces added every
physics step, on bodies whose Rigidbody damping is 0.

- action: force (bin - 5) / 5 * max_force per axis, torque (bin - 5) / 5 * max_torque;
- viscous drag: -agent_friction * m * v on agents, -object_friction * m * v on objects
  (horizontal), and -agent_angular_friction * I * omega on agents' yaw, with I = 1;
- Coulomb floor friction against the horizontal velocity, of magnitude
  min(floor_friction * gravity * m, m * |v| / h): it never reverses a body within one step.

A force F held for one physics step of length h changes a body's velocity by F / m * h before
the solver runs, which is what PhysX does with forces added in ``FixedUpdate``; the backend
therefore writes these velocity changes directly, for all bodies at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..contract import NO_MOVE_BIN, WorldConfig


@dataclass(frozen=True)
class MovementLaw:
    h: float                       # physics timestep (s)
    max_force: float
    max_torque: float
    agent_friction: float          # 1/s, viscous
    agent_angular_friction: float  # 1/s, viscous on yaw
    object_friction: float         # 1/s, viscous
    coulomb_decel: float           # floor_friction * gravity (m/s^2)

    @staticmethod
    def of(world: WorldConfig, timestep: float) -> "MovementLaw":
        return MovementLaw(
            h=timestep, max_force=world.max_force, max_torque=world.max_torque,
            agent_friction=world.agent_friction,
            agent_angular_friction=world.agent_angular_friction,
            object_friction=world.object_friction,
            coulomb_decel=world.floor_friction * world.gravity)

    def action_forces(self, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Force x, force y and torque from the movement bins [..., 3] of an action."""
        unit = (bins[..., :3].astype(np.float64) - NO_MOVE_BIN) / NO_MOVE_BIN
        return unit[..., 0] * self.max_force, unit[..., 1] * self.max_force, unit[..., 2] * self.max_torque

    def linear(self, vx: np.ndarray, vy: np.ndarray, fx: np.ndarray, fy: np.ndarray,
               mass: np.ndarray, viscous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Velocity change over one physics step of bodies with horizontal velocity (vx, vy),
        applied force (fx, fy), mass and viscous friction coefficient (1/s), all broadcast."""
        speed = np.hypot(vx, vy)
        # Coulomb friction per unit mass, clamped so that alone it can at most stop the body.
        coulomb = np.minimum(self.coulomb_decel, speed / self.h)
        inv_speed = np.divide(1.0, speed, out=np.zeros_like(speed), where=speed > 0)
        ax = fx / mass - viscous * vx - coulomb * vx * inv_speed
        ay = fy / mass - viscous * vy - coulomb * vy * inv_speed
        return ax * self.h, ay * self.h

    def angular(self, omega: np.ndarray, torque: np.ndarray) -> np.ndarray:
        """Yaw-rate change over one physics step (unit inertia, as the scene sets it)."""
        return (torque - self.agent_angular_friction * omega) * self.h
