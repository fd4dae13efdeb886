"""The movement law of the contract (WORLD.md v1.1), applied to every body before each PhysX
step, as the Unity scene applies it each physics step (Rigidbody damping is 0; the law is the
scripts'):

- linear, per body: ``dv/dt = F/m - drag * v - floor_friction * gravity * v/|v|`` with the
  action's force on agents (``(bin - 5) / 5 * max_force`` per axis), ``drag`` =
  ``agent_friction`` on agents and ``object_friction`` on boxes and ramps;
- turning, agents: ``inertia * dw/dt = torque - agent_angular_friction * w`` with
  ``(bin - 5) / 5 * max_torque``.

Each is integrated over one physics step as the twin integrates it over one of its substeps
(``sim.physics.drive``, and the exact solution of the turning equation): the same formulas, here
with the PhysX timestep. A held object is its own body with its own linear law; PhysX's joint
makes holder and object move as one (the twin lets the holder carry the object's mass).

Turning a holder is the one place where the law has to say which body it acts on. The contract's
``agent_inertia`` is tiny (0.01 kg m^2: 9 rad/s within milliseconds), so the law cannot be a
torque integrated by PhysX at 15 ms steps (explicitly, ``c h / I`` = 15: unstable) and must be
applied as the velocity its exact solution gives. Applied to the agent alone, a held box (1 kg
half a metre away, 30 times the agent's inertia) takes nearly all of that turn back through the
joint within the same step: a holder then turns about nine times slower than the twin's (the
``agent`` mode below, measured in docs/physx.md). The default, ``composite``, solves the turning
equation for the holder and what it holds as the one rigid body the joint makes of them (their
yaw inertia about the holder's centre) and gives that turn to all of them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..contract import NO_MOVE_BIN, WorldConfig
from ..sim.physics import PhysicsConstants, drive


class MovementLaw:
    def __init__(self, world: WorldConfig, steps_per_decision: int):
        # The twin's constants for a substep as long as one physics step.
        self.pc = PhysicsConstants.of(dataclasses.replace(world, physics_substeps=steps_per_decision))
        self.max_force, self.max_torque = world.max_force, world.max_torque
        self.agent_inertia, self.angular_friction = world.agent_inertia, world.agent_angular_friction

    def action_forces(self, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Force x, force y and torque from the movement bins [..., 3] of an action."""
        unit = (bins[..., :3].astype(np.float64) - NO_MOVE_BIN) / NO_MOVE_BIN
        return unit[..., 0] * self.max_force, unit[..., 1] * self.max_force, unit[..., 2] * self.max_torque

    def linear(self, vx: np.ndarray, vy: np.ndarray, fx: np.ndarray, fy: np.ndarray,
               mass: np.ndarray, drag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Horizontal velocities after one physics step of the law, from velocities (vx, vy),
        applied forces (fx, fy), masses and viscous drags (1/s), all broadcast together."""
        t = torch.from_numpy
        nx, ny = drive(t(vx), t(vy), t(fx / mass), t(fy / mass), t(drag),
                       self.pc.coulomb, self.pc.h)
        return nx.numpy(), ny.numpy()

    def angular(self, omega: np.ndarray, torque: np.ndarray, inertia: np.ndarray | float
                ) -> np.ndarray:
        """Yaw rates after one physics step of the turning law, solved exactly, of bodies with
        yaw ``inertia`` turning at ``omega`` under ``torque``."""
        c, h = self.angular_friction, self.pc.h
        if c == 0:
            return omega + torque * h / inertia
        keep = np.exp(-c * h / np.asarray(inertia, dtype=np.float64))
        return omega * keep + torque * (1.0 - keep) / c
