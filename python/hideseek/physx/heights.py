"""The WORLD.md height rules the Unity scene adds on top of PhysX, once per physics step before
it (``HideSeekArena.FixedUpdate`` with ``Core/Heights.cs``):

1. a rider (an agent standing on a box it does not hold) takes the motion its box made in the
   last physics step: it keeps its place and heading in the box's frame (``Heights.Carry``);
2. an agent whose feet are at most ``CLIMB_TOLERANCE`` below the top height, with its centre over
   a box or wall top, is lifted back to the top if it sank below it and stops falling
   (``Heights.Find`` / ``HoldFeet``), so it can walk along 0.1 m wall tops.

Which top an agent stands on is the twin's own rule (``sim.physics.update_heights``) with ramps
left out, as ``Heights.Find`` leaves them out: PhysX carries agents up the wedge by itself.
Like the scene, the support is found from the position the agent had before it was carried
(Unity's ``Rigidbody.position`` setter moves the transform only at the next simulation).

Arrays are arena first: agents [N, A], objects [N, O] (boxes first, then ramps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..sim.physics import PhysicsConstants, Walls, update_heights


@dataclass
class Footprints:
    """Object footprints [N, O]: centre x, y and yaw (the arena frame)."""

    x: np.ndarray
    y: np.ndarray
    yaw: np.ndarray

    def take(self, arenas: np.ndarray) -> "Footprints":
        return Footprints(self.x[arenas], self.y[arenas], self.yaw[arenas])


def carry(px: np.ndarray, py: np.ndarray, rider_of: np.ndarray, rides: np.ndarray,
          before: Footprints, after: Footprints) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New positions [N, A] of riders and their change of heading; agents that do not ride
    (``rides`` False) keep theirs. ``rider_of`` [N, A] is the box index (any value where not
    riding)."""
    box = np.clip(rider_of, 0, None)

    def of(values: np.ndarray) -> np.ndarray:
        return np.take_along_axis(values, box, axis=1)

    bx, by, byaw = of(before.x), of(before.y), of(before.yaw)
    ax, ay, ayaw = of(after.x), of(after.y), of(after.yaw)
    # The rider's place in the box's frame before, put back in the frame after.
    dx, dy = px - bx, py - by
    c, s = np.cos(byaw), np.sin(byaw)
    lx, ly = c * dx + s * dy, -s * dx + c * dy
    c, s = np.cos(ayaw), np.sin(ayaw)
    nx, ny = ax + c * lx - s * ly, ay + s * lx + c * ly
    turn = np.remainder(ayaw - byaw + np.pi, 2 * np.pi) - np.pi
    return (np.where(rides, nx, px), np.where(rides, ny, py), np.where(rides, turn, 0.0))


def support(px: np.ndarray, py: np.ndarray, feet: np.ndarray, objects: Footprints,
            half: np.ndarray, tops: np.ndarray, walls: Walls, pc: PhysicsConstants
            ) -> tuple[np.ndarray, np.ndarray]:
    """Whether each agent [N, A] stands on a top, and the object it stands on (-1 none).
    ``tops`` [N, O] marks the objects whose tops carry agents (present boxes); ``half`` [N, O, 2]
    are their half extents."""
    def core(a: np.ndarray) -> torch.Tensor:      # [N, K] -> the twin's [K, N]
        return torch.from_numpy(np.ascontiguousarray(a.T))

    hx, hy = core(half[..., 0]), core(half[..., 1])
    yaw = core(objects.yaw)
    # Every object as a box that is "present" only where it is a top: no ramp slopes.
    no_ramps = torch.zeros(half.shape[1], 1, dtype=torch.bool)
    z, box = update_heights(core(px), core(py), core(feet), core(objects.x), core(objects.y),
                            torch.cos(yaw), torch.sin(yaw), hx, hy, core(tops), no_ramps,
                            walls, pc)
    # Without ramps the new height is either the top (standing on one) or the floor.
    return (z.numpy().T >= pc.top), box.numpy().T
