"""Physics of the twin: force/torque movement with friction, collisions, pushing, holding,
locking and the 2.5-D height rule (WORLD.md "Entities", "Heights").

Method: position-based dynamics. Velocities integrate forces with implicit friction; predicted
positions are then projected out of every contact for ``physics_iterations`` Jacobi rounds,
sharing each correction by inverse mass (locked objects and walls are immovable); velocities
are finally the projected displacement over dt. This is unconditionally stable at dt = 0.075 s,
which explicit contact forces are not, and gives pushing for free: an agent walking into a box
moves it by the box's share of the overlap.

Rules the twin fixes where a physics engine would decide (the Unity scene gets them from PhysX):
- Bodies only yaw; objects turn only while held (they keep their yaw relative to the holder).
- An agent collides with walls, boxes and ramps only while its feet are more than
  ``CLIMB_TOLERANCE`` below the top height; higher up (near the top of a ramp, or on top) it
  steps over them and collides only with agents at its level.
- A ramp does not block an agent whose centre is within the ramp's width and whose height is
  within ``CLIMB_TOLERANCE`` of the slope beneath it: that is how it is climbed from the low end.
- An agent stands on the highest surface under its centre (box or wall top, with
  ``SUPPORT_MARGIN``, or a ramp slope) within ``CLIMB_TOLERANCE`` above its feet; with none it
  falls to the floor. An agent on a box that another agent moves is carried with it; an agent
  moving the box it stands on (holding it) is not carried by it, so the hold keeps its offset.
- Walls are 0.1 m thick: a body is always pushed back to the side of a wall its centre was on
  before the step, so nothing tunnels through one however it was shoved, swung or squeezed.

Layout: every tensor is in the core layout (``hideseek.sim.state``): x and y separate, entity
dimensions first, the arena index last ([A, N], [O, N], [W, N], pairs [A, O, N] ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..contract import WorldConfig
from .geometry import (CORNER_SIGNS, EPS, box_corners_xy, norm_xy, rotate_xy,
                       segment_distance_xy, to_local_xy)

CLIMB_TOLERANCE = 0.15   # m: how far below its feet a ramp slope may start and still be entered
SUPPORT_MARGIN = 0.075   # m: how far past a top's edge an agent's centre may be and still stand
LEVEL_GAP = 0.25         # m: agents whose heights differ more than this do not collide

Walls = dict[str, Tensor]   # static per-episode wall geometry, see wall_geometry


@dataclass(frozen=True)
class PhysicsConstants:
    """Per-world constants, computed once."""

    dt: float
    agent_radius: float
    agent_inv_mass: float
    top: float
    half_wall: float
    ramp_height: float
    ramp_half_length: float
    ramp_half_width: float

    @staticmethod
    def of(world: WorldConfig) -> "PhysicsConstants":
        return PhysicsConstants(
            dt=world.dt, agent_radius=world.agent_radius, agent_inv_mass=1.0 / world.agent_mass,
            top=world.wall_height, half_wall=world.wall_thickness / 2,
            ramp_height=world.ramp_height, ramp_half_length=world.ramp_length / 2,
            ramp_half_width=world.ramp_width / 2)


def wall_geometry(wall_a: Tensor, wall_b: Tensor, c: PhysicsConstants) -> Walls:
    """Everything about the walls [2, W, N] that stays fixed within an episode: end points,
    direction, unit normal, 1/length^2, and which end points are free (a door edge, a wall's
    tip) rather than joints inside another wall, where pushing objects off the end point would
    fight the other wall's own push. Computed at reset, not per step."""
    ax, ay, bx, by = wall_a[0], wall_a[1], wall_b[0], wall_b[1]
    sx, sy = bx - ax, by - ay
    length = norm_xy(sx, sy).clamp(min=EPS)
    own = torch.eye(ax.shape[0], dtype=torch.bool, device=ax.device)[..., None]   # [W, W, 1]

    def free(px: Tensor, py: Tensor) -> Tensor:
        dist = segment_distance_xy(px[:, None], py[:, None], ax[None], ay[None], bx[None], by[None])
        dist = torch.where(own, torch.full_like(dist, float("inf")), dist)
        return (dist.amin(1) > c.half_wall + 1e-4).to(ax.dtype)

    return {"ax": ax, "ay": ay, "bx": bx, "by": by, "sx": sx, "sy": sy,
            "nx": -sy / length, "ny": sx / length, "inv_len2": 1.0 / (length * length),
            "free_a": free(ax, ay), "free_b": free(bx, by)}


def _share(w_self: Tensor | float, w_other: Tensor | float) -> Tensor:
    """Fraction of a contact correction taken by the body with inverse mass w_self."""
    return w_self / torch.as_tensor(w_self + w_other).clamp(min=EPS)


def _pick(best: tuple[Tensor, Tensor, Tensor], cand: tuple[Tensor, Tensor, Tensor]
          ) -> tuple[Tensor, Tensor, Tensor]:
    """Keep the deeper of two (depth, nx, ny) contacts; ties keep the earlier one (argmax)."""
    better = cand[0] > best[0]
    depth, nx, ny = (torch.where(better, c, b) for b, c in zip(best, cand))
    return depth, nx, ny


def _side_normal(px: Tensor, py: Tensor, w: Walls) -> tuple[Tensor, Tensor]:
    """Wall normals [.., W, N] pointing to the side of each wall that points p are on."""
    side = torch.where((px - w["ax"]) * w["nx"] + (py - w["ay"]) * w["ny"] >= 0, 1.0, -1.0)
    return side * w["nx"], side * w["ny"]


def _wall_contact(px: Tensor, py: Tensor, pnx: Tensor, pny: Tensor, reach: Tensor | float,
                  w: Walls) -> tuple[Tensor, Tensor, Tensor]:
    """Penetration depth and push direction of points p (with radius-like ``reach`` = body
    radius + half wall thickness) into the walls, broadcasting to [.., W, N].

    Along the wall's span the push is the normal ``pn`` towards the side the body's centre was
    on before the step, so a fast or shoved body can never be resolved to the far side of a
    thin wall; past the wall's ends the contact is radial (the rounded end of a capsule)."""
    rx, ry = px - w["ax"], py - w["ay"]
    along = (rx * w["sx"] + ry * w["sy"]) * w["inv_len2"]
    in_span = (along >= 0) & (along <= 1)
    span_depth = reach - (rx * pnx + ry * pny)
    t = along.clamp(0.0, 1.0)
    dx, dy = rx - t * w["sx"], ry - t * w["sy"]
    dist = norm_xy(dx, dy)
    depth = torch.where(in_span, span_depth, reach - dist).clamp(min=0.0)
    inv = 1.0 / dist.clamp(min=EPS)
    return depth, torch.where(in_span, pnx, dx * inv), torch.where(in_span, pny, dy * inv)


def _axis_normal(lx: Tensor, ly: Tensor, pen_x: Tensor, pen_y: Tensor, outward: float
                 ) -> tuple[Tensor, Tensor]:
    """Local normal along the axis of least penetration: (+-1, 0) or (0, +-1), signed as the
    point's side times ``outward``."""
    use_x = pen_x < pen_y
    sx = torch.where(lx >= 0, outward, -outward)
    sy = torch.where(ly >= 0, outward, -outward)
    zero = torch.zeros_like(sx)
    return torch.where(use_x, sx, zero), torch.where(use_x, zero, sy)


def _ramp_slope(lx: Tensor, ly: Tensor, c: PhysicsConstants) -> tuple[Tensor, Tensor]:
    """Slope height under points given in ramp frames, and whether they lie on the ramp strip.
    A ramp rises along its local +x from 0 at -half_length to ramp_height at +half_length."""
    frac = ((lx + c.ramp_half_length) / (2 * c.ramp_half_length)).clamp(0.0, 1.0)
    in_strip = (ly.abs() <= c.ramp_half_width) & (lx <= c.ramp_half_length + SUPPORT_MARGIN)
    return frac * c.ramp_height, in_strip


def _agent_object_contacts(ax, ay, az, ox, oy, ocos, osin, ohx, ohy, is_ramp,
                           c: PhysicsConstants) -> tuple[Tensor, Tensor, Tensor]:
    """Penetration depth [A, O, N] and push direction on the agent (x, y)."""
    lx, ly = to_local_xy(ax[:, None], ay[:, None], ox, oy, ocos, osin)
    dx = lx - torch.maximum(torch.minimum(lx, ohx), -ohx)
    dy = ly - torch.maximum(torch.minimum(ly, ohy), -ohy)
    dist = norm_xy(dx, dy)
    inside = dist < 1e-6
    pen_x, pen_y = ohx - lx.abs(), ohy - ly.abs()
    anx, any_ = _axis_normal(lx, ly, pen_x, pen_y, 1.0)
    inv = 1.0 / dist.clamp(min=EPS)
    nlx = torch.where(inside, anx, dx * inv)
    nly = torch.where(inside, any_, dy * inv)
    depth = torch.where(inside, torch.minimum(pen_x, pen_y) + c.agent_radius,
                        c.agent_radius - dist)
    # Ramps let an agent through from the low end: centre within the ramp's width and the
    # slope beneath it no higher than its feet plus the climb tolerance.
    slope, _ = _ramp_slope(lx, ly, c)
    climbing = is_ramp & (ly.abs() <= c.ramp_half_width) & (slope <= az[:, None] + CLIMB_TOLERANCE)
    depth = torch.where(climbing, torch.zeros_like(depth), depth).clamp(min=0.0)
    nx, ny = rotate_xy(nlx, nly, ocos, osin)
    return depth, nx, ny


def _object_object_contacts(ox, oy, ocos, osin, ohx, ohy, not_self
                            ) -> tuple[Tensor, Tensor, Tensor]:
    """Deepest corner penetration of object i into object j: depth [O, O, N] and the direction
    (x, y) in which i must move."""
    cx, cy = box_corners_xy(ox, oy, ocos, osin, ohx, ohy)                        # [4, O, N]
    # j's pose broadcast against i's corners: [4, O_i, O_j, N].
    jx, jy, jc, js, jhx, jhy = (v[None] for v in (ox, oy, ocos, osin, ohx, ohy))
    lx, ly = to_local_xy(cx[:, :, None], cy[:, :, None], jx, jy, jc, js)
    pen_x, pen_y = jhx - lx.abs(), jhy - ly.abs()
    depth = torch.minimum(pen_x, pen_y).clamp(min=0.0) * not_self
    nlx, nly = _axis_normal(lx, ly, pen_x, pen_y, 1.0)
    best = (depth[0], nlx[0], nly[0])
    for k in range(1, len(CORNER_SIGNS)):
        best = _pick(best, (depth[k], nlx[k], nly[k]))
    nx, ny = rotate_xy(best[1], best[2], ocos[None], osin[None])
    return best[0], nx, ny


def _object_wall_contacts(ox, oy, ocos, osin, ohx, ohy, pnx, pny, w: Walls,
                          c: PhysicsConstants) -> tuple[Tensor, Tensor, Tensor]:
    """Deepest penetration of each object into each wall: depth [O, W, N], direction (x, y) for
    the object. Tests the corners, a core circle and the wall's free end points. Corners and
    core are returned to the side of each wall the object's centre was on before the step
    (``pn``): a corner may poke through a wall's centre line while squeezed into a room corner,
    but the centre never does, so it is the one that decides."""
    cx, cy = box_corners_xy(ox, oy, ocos, osin, ohx, ohy)                        # [4, O, N]
    best = None
    for k in range(len(CORNER_SIGNS)):
        cand = _wall_contact(cx[k][:, None], cy[k][:, None], pnx, pny, c.half_wall, w)
        best = cand if best is None else _pick(best, cand)
    core_reach = (torch.minimum(ohx, ohy) + c.half_wall)[:, None]
    best = _pick(best, _wall_contact(ox[:, None], oy[:, None], pnx, pny, core_reach, w))
    # Wall end points poking into the object's side (the object moves away from them).
    hx, hy = ohx[:, None] + c.half_wall, ohy[:, None] + c.half_wall
    o = [v[:, None] for v in (ox, oy, ocos, osin)]
    for ex, ey, free in ((w["ax"], w["ay"], w["free_a"]), (w["bx"], w["by"], w["free_b"])):
        lx, ly = to_local_xy(ex, ey, *o)
        pen_x, pen_y = hx - lx.abs(), hy - ly.abs()
        depth = torch.minimum(pen_x, pen_y).clamp(min=0.0) * free
        nlx, nly = _axis_normal(lx, ly, pen_x, pen_y, -1.0)
        nx, ny = rotate_xy(nlx, nly, o[2], o[3])
        best = _pick(best, (depth, nx, ny))
    return best


def solve_contacts(ax: Tensor, ay: Tensor, az: Tensor, agent_present: Tensor,
                   ox: Tensor, oy: Tensor, ocos: Tensor, osin: Tensor, ohx: Tensor, ohy: Tensor,
                   obj_inv_mass: Tensor, obj_held_by: Tensor, is_ramp: Tensor, w: Walls,
                   agent_prev: tuple[Tensor, Tensor], obj_prev: tuple[Tensor, Tensor],
                   c: PhysicsConstants, iterations: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Project predicted positions (agents [A, N], objects [O, N]) out of all contacts.
    ``*_prev`` are the positions before the step, which decide the side of a wall a body
    belongs to; ``is_ramp`` is [O, 1]. Returns the agents' and objects' x and y."""
    a, o = ax.shape[0], ox.shape[0]
    device = ax.device
    # Everything that does not change while solving, computed once per step: masks, mass
    # shares, and each body's side of each wall.
    low = az < c.top - CLIMB_TOLERANCE        # higher feet step over walls and objects
    level = (az[:, None] - az[None]).abs() < LEVEL_GAP
    present = agent_present[:, None] & agent_present[None]
    not_eye_a = ~torch.eye(a, dtype=torch.bool, device=device)[..., None]
    agent_pair = (not_eye_a & level & present).to(ax.dtype)                      # [A, A, N]
    # A holder does not collide with what it holds (the hold keeps them apart).
    holder = obj_held_by[None] == torch.arange(a, device=device)[:, None, None]  # [A, O, N]
    agent_obj = (low[:, None] & ~holder).to(ax.dtype)
    share_agent = _share(c.agent_inv_mass, obj_inv_mass)                          # [O, N]
    share_obj = _share(obj_inv_mass, c.agent_inv_mass)
    w_i, w_j = obj_inv_mass[:, None], obj_inv_mass[None]
    share_i, share_j = _share(w_i, w_j), _share(w_j, w_i)                          # [O, O, N]
    not_eye_o = (~torch.eye(o, dtype=torch.bool, device=device)[..., None]).to(ax.dtype)
    movable = (obj_inv_mass > 0).to(ax.dtype)[:, None]
    obj_nx, obj_ny = _side_normal(obj_prev[0][:, None], obj_prev[1][:, None], w)   # [O, W, N]
    agent_nx, agent_ny = _side_normal(agent_prev[0][:, None], agent_prev[1][:, None], w)
    agent_low = low.to(ax.dtype)[:, None]
    agent_reach = c.agent_radius + c.half_wall
    for _ in range(iterations):
        # Agents against agents (circles).
        dx, dy = ax[:, None] - ax[None], ay[:, None] - ay[None]
        dist = norm_xy(dx, dy)
        k = (2 * c.agent_radius - dist).clamp(min=0.0) * agent_pair / dist.clamp(min=EPS)
        ax = ax + 0.5 * (k * dx).sum(1)
        ay = ay + 0.5 * (k * dy).sum(1)
        # Agents against boxes and ramps.
        depth, nx, ny = _agent_object_contacts(ax, ay, az, ox, oy, ocos, osin, ohx, ohy,
                                               is_ramp, c)
        depth = depth * agent_obj
        px, py = depth * nx, depth * ny
        ax = ax + (share_agent * px).sum(1)
        ay = ay + (share_agent * py).sum(1)
        ox = ox - (share_obj * px).sum(0)
        oy = oy - (share_obj * py).sum(0)
        # Objects against objects.
        depth, nx, ny = _object_object_contacts(ox, oy, ocos, osin, ohx, ohy, not_eye_o)
        px, py = depth * nx, depth * ny                                          # moves i
        ox = ox + (share_i * px).sum(1) - (share_j * px).sum(0)
        oy = oy + (share_i * py).sum(1) - (share_j * py).sum(0)
        # Objects against walls (walls never move).
        depth, nx, ny = _object_wall_contacts(ox, oy, ocos, osin, ohx, ohy, obj_nx, obj_ny, w, c)
        depth = depth * movable
        ox = ox + (depth * nx).sum(1)
        oy = oy + (depth * ny).sum(1)
        # Agents against walls, last so that walls always win.
        depth, nx, ny = _wall_contact(ax[:, None], ay[:, None], agent_nx, agent_ny,
                                      agent_reach, w)
        depth = depth * agent_low
        ax = ax + (depth * nx).sum(1)
        ay = ay + (depth * ny).sum(1)
    return ax, ay, ox, oy


def update_heights(ax: Tensor, ay: Tensor, az: Tensor, ox: Tensor, oy: Tensor, ocos: Tensor,
                   osin: Tensor, ohx: Tensor, ohy: Tensor, obj_present: Tensor, is_ramp: Tensor,
                   w: Walls, c: PhysicsConstants) -> tuple[Tensor, Tensor]:
    """New heights [A, N] and the box each agent stands on [A, N] (-1 none).

    Every surface under the agent's centre (box and wall tops, ramp slopes) that is at most
    ``CLIMB_TOLERANCE`` above its feet can carry it; it stands on the highest, or falls to the
    floor when there is none."""
    lx, ly = to_local_xy(ax[:, None], ay[:, None], ox, oy, ocos, osin)           # [A, O, N]
    gap = norm_xy((lx.abs() - ohx).clamp(min=0.0), (ly.abs() - ohy).clamp(min=0.0))
    over = (gap <= SUPPORT_MARGIN) & obj_present
    over_box = over & ~is_ramp
    dist = segment_distance_xy(ax[:, None], ay[:, None], w["ax"], w["ay"], w["bx"], w["by"])
    over_wall = (dist <= c.half_wall + SUPPORT_MARGIN).any(1)
    slope, in_strip = _ramp_slope(lx, ly, c)
    reach = az + CLIMB_TOLERANCE
    on_ramp = in_strip & is_ramp & obj_present & (slope <= reach[:, None])
    ramp_z = torch.where(on_ramp, slope, torch.zeros_like(slope)).amax(1).clamp(max=c.top)
    on_box = over_box.any(1)
    can_top = (on_box | over_wall) & (c.top <= reach)
    new_z = torch.where(can_top, torch.full_like(az, c.top), ramp_z)
    box_idx = over_box.to(ax.dtype).argmax(1)                 # the first box under the agent
    support = torch.where(can_top & on_box, box_idx, torch.full_like(box_idx, -1))
    return new_z, support


def held_pose(holder_x: Tensor, holder_y: Tensor, holder_yaw: Tensor, off_x: Tensor,
              off_y: Tensor, rel_yaw: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Pose (x, y, yaw) of held objects given their holders' poses (all [O, N])."""
    rx, ry = rotate_xy(off_x, off_y, torch.cos(holder_yaw), torch.sin(holder_yaw))
    return holder_x + rx, holder_y + ry, holder_yaw + rel_yaw
