"""Physics of the twin: the movement law, collisions, pushing, holding, locking and the 2.5-D
height rule (WORLD.md "Entities", "Heights", "Actions").

Movement (WORLD.md v1.1, the original's agents): per axis a body obeys
``dv/dt = F/m - drag * v - floor_friction * gravity * v/|v|``: viscous drag plus Coulomb floor
friction, which stops a released box at a constant deceleration and holds a body still under a
force smaller than the friction. :func:`drive` integrates it over one substep, exactly for
straight-line motion, so a body's top speed is ``(F/m - floor_friction * gravity) / drag``
whatever the substep. A holder carries the mass and floor friction of what it holds. Turning
obeys ``inertia * dw/dt = torque - angular_friction * w``, integrated exactly.

Method: each step is ``physics_substeps`` substeps of position-based dynamics. Velocities follow
the movement law; predicted positions are then projected out of every contact for
``physics_iterations`` Jacobi rounds, sharing each correction by inverse mass (locked objects and
walls are immovable); velocities are finally the projected displacement over the substep. This is
unconditionally stable, and gives pushing for free: an agent walking into a box moves it by the
box's share of the overlap.

Nothing passes through anything within a substep, however fast it moves: contacts are tested
along the motion. A body is pushed back to the side of a wall its centre was on before the
substep; an agent that entered another agent's disc or a box's footprint (grown by its radius)
during the substep is pushed back out through the side it entered by, even when its end point
lies past the middle of the obstacle or beyond it (swept tests, not end-point tests).

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

Layout: every tensor is in the core layout (``hideseek.sim.state``): x and y separate, entity
dimensions first, the arena index last ([A, N], [O, N], [W, N], pairs [A, O, N] ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..contract import WorldConfig
from .geometry import (CORNER_SIGNS, EPS, box_corners_xy, norm_xy, rotate_xy,
                       segment_distance_xy, to_local_xy)

CLIMB_TOLERANCE = 0.15   # m: how far below its feet a ramp slope may start and still be entered
SUPPORT_MARGIN = 0.075   # m: how far past a top's edge an agent's centre may be and still stand
LEVEL_GAP = 0.25         # m: agents whose heights differ more than this do not collide
SQUEEZE_TOLERANCE = 0.005  # m: an agent left this deep in a locked box after solving is wedged

Walls = dict[str, Tensor]   # static per-episode wall geometry, see wall_geometry


@dataclass(frozen=True)
class PhysicsConstants:
    """Per-world constants, computed once."""

    substeps: int
    iterations: int
    h: float                 # substep length (s)
    agent_radius: float
    agent_inv_mass: float
    agent_drag: float        # 1/s
    angular_drag: float      # N m s: agent_angular_friction
    object_drag: float       # 1/s
    coulomb: float           # m/s^2: floor friction deceleration of a sliding body
    top: float
    half_wall: float
    ramp_height: float
    ramp_half_length: float
    ramp_half_width: float

    @staticmethod
    def of(world: WorldConfig) -> "PhysicsConstants":
        return PhysicsConstants(
            substeps=world.physics_substeps, iterations=world.physics_iterations,
            h=world.dt / world.physics_substeps, agent_radius=world.agent_radius,
            agent_inv_mass=1.0 / world.agent_mass, agent_drag=world.agent_friction,
            angular_drag=world.agent_angular_friction, object_drag=world.object_friction,
            coulomb=world.floor_friction * world.gravity,
            top=world.wall_height, half_wall=world.wall_thickness / 2,
            ramp_height=world.ramp_height, ramp_half_length=world.ramp_length / 2,
            ramp_half_width=world.ramp_width / 2)


def spin(inertia: Tensor, angular_drag: float, h: float) -> tuple[Tensor, Tensor]:
    """The exact solution of inertia * dw/dt = torque - angular_drag * w over a substep ``h``,
    as w' = w * keep + torque * gain; returns (keep, gain) for each inertia (Unity's scene sets
    the same each physics step, ``MovementLaw.SpinRate``)."""
    if angular_drag == 0:
        return torch.ones_like(inertia), h / inertia
    keep = torch.exp(-angular_drag * h / inertia)
    return keep, (1.0 - keep) / angular_drag


def drive(vx: Tensor, vy: Tensor, accel_x: Tensor | float, accel_y: Tensor | float,
          drag: Tensor | float, coulomb: float, h: float) -> tuple[Tensor, Tensor]:
    """One substep of the movement law, solved exactly for a body moving in a straight line:
    viscous drag acts as ``exp(-drag * h)``, the applied acceleration adds ``accel * gain`` with
    ``gain = (1 - exp(-drag * h)) / drag`` (``h`` without drag), and Coulomb friction takes
    ``coulomb * gain`` off the speed, never reversing it (a body at rest under a weaker force
    stays at rest). A constant force's top speed is exact whatever the substep."""
    if isinstance(drag, Tensor):
        keep = torch.exp(-drag * h)
        gain = torch.where(drag > 0, (1.0 - keep) / drag.clamp(min=EPS), h)
    else:
        keep = math.exp(-drag * h)
        gain = (1.0 - keep) / drag if drag > 0 else h
    vx, vy = vx * keep + accel_x * gain, vy * keep + accel_y * gain
    speed = norm_xy(vx, vy)
    scale = (speed - coulomb * gain).clamp(min=0.0) / speed.clamp(min=EPS)
    return vx * scale, vy * scale


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


def _sweep_rounded_box(l0x: Tensor, l0y: Tensor, l1x: Tensor, l1y: Tensor, hx: Tensor,
                       hy: Tensor, r: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Where segments l0 -> l1 (in box frames) first meet boxes of half size (hx, hy) grown by
    ``r`` with rounded corners: the fraction of the segment at that point (> 1: they do not
    meet), the outward normal (x, y) there, and how far l1 lies behind the tangent line. A
    segment from outside enters through the face of either axis that faces its start, or
    through the corner arc between them."""
    dx, dy = l1x - l0x, l1y - l0y
    far = torch.full_like(dx, 2.0)

    def face(p0: Tensor, q0: Tensor, d: Tensor, dq: Tensor, h: Tensor, hq: Tensor) -> Tensor:
        sign = torch.sign(p0)
        toward = (p0.abs() > h) & (d * sign < 0)
        t = (sign * (h + r) - p0) / torch.where(toward, d, torch.ones_like(d))
        ok = toward & (t >= -1e-6) & (t <= 1) & ((q0 + t * dq).abs() <= hq + 1e-5)
        return torch.where(ok, t, far)

    t_x = face(l0x, l0y, dx, dy, hx, hy)
    t_y = face(l0y, l0x, dy, dx, hy, hx)
    cx = torch.where(l0x.abs() > hx, torch.sign(l0x), torch.sign(dx)) * hx
    cy = torch.where(l0y.abs() > hy, torch.sign(l0y), torch.sign(dy)) * hy
    fx, fy = l0x - cx, l0y - cy
    a = dx * dx + dy * dy
    b = fx * dx + fy * dy
    disc = b * b - a * (fx * fx + fy * fy - r * r)
    t_c = (-b - torch.sqrt(disc.clamp(min=0.0))) / a.clamp(min=EPS)
    # The arc's own quadrant (with a margin: a path through the seam of face and arc must
    # not slip between the two tests).
    arc = ((cx * (l0x + t_c * dx) >= hx * (hx - 1e-5)) & (cy * (l0y + t_c * dy) >= hy * (hy - 1e-5))
           & (cx != 0) & (cy != 0))
    t_c = torch.where((disc >= 0) & (a > EPS) & (t_c >= -1e-6) & (t_c <= 1) & arc, t_c, far)
    t = torch.minimum(torch.minimum(t_x, t_y), t_c)
    on_x, on_y = t_x <= t, (t_y <= t) & (t_x > t)
    ax_, ay_ = (l0x + t * dx - cx) / r, (l0y + t * dy - cy) / r               # arc normal
    zero = torch.zeros_like(dx)
    nx = torch.where(on_x, torch.sign(l0x), torch.where(on_y, zero, ax_))
    ny = torch.where(on_x, zero, torch.where(on_y, torch.sign(l0y), ay_))
    behind = torch.where(on_x, hx + r - nx * l1x, torch.where(
        on_y, hy + r - ny * l1y, r - nx * (l1x - cx) - ny * (l1y - cy)))
    return t, nx, ny, behind


def _agent_object_planes(ax: Tensor, ay: Tensor, ox: Tensor, oy: Tensor, ocos: Tensor,
                         osin: Tensor, ohx: Tensor, ohy: Tensor, start: tuple[Tensor, Tensor],
                         c: PhysicsConstants) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The swept part of agent-object contacts, once per substep from the predicted positions
    (objects' frames): for each agent that started clear of an object and whose path meets its
    footprint grown by the agent's radius, the tangent line where it met it, as a contact plane
    that holds for the whole solve (normal x, y and offset along it); and where that first
    contact was on a ramp, the slope there. Returns (plane [A, O, N] bool, nx, ny, offset,
    entry slope)."""
    lx, ly = to_local_xy(ax[:, None], ay[:, None], ox, oy, ocos, osin)
    sx, sy = start
    clear = norm_xy((sx.abs() - ohx).clamp(min=0.0), (sy.abs() - ohy).clamp(min=0.0))
    clear = clear >= c.agent_radius - 1e-5
    t, nx, ny, behind = _sweep_rounded_box(sx, sy, lx, ly, ohx, ohy, c.agent_radius)
    plane = clear & (t <= 1)
    entry_slope, _ = _ramp_slope(sx + t * (lx - sx), torch.zeros_like(sx), c)
    return plane, nx, ny, behind + nx * lx + ny * ly, entry_slope


def _agent_object_contacts(ax, ay, az, ox, oy, ocos, osin, ohx, ohy, is_ramp, planes,
                           c: PhysicsConstants) -> tuple[Tensor, Tensor, Tensor]:
    """Penetration depth [A, O, N] and push direction on the agent (x, y): against the contact
    plane of :func:`_agent_object_planes` where the agent's path met the object, else against
    the nearest point of the object's footprint."""
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
    plane, pnx, pny, offset, entry_slope = planes
    nlx, nly = torch.where(plane, pnx, nlx), torch.where(plane, pny, nly)
    depth = torch.where(plane, offset - pnx * lx - pny * ly, depth)
    # Ramps let an agent through from the low end: centre within the ramp's width and the
    # slope beneath it no higher than its feet plus the climb tolerance -- where it is and,
    # for an agent that came from outside, where it met the ramp.
    reach = az[:, None] + CLIMB_TOLERANCE
    slope, _ = _ramp_slope(lx, ly, c)
    climbing = (is_ramp & (ly.abs() <= c.ramp_half_width) & (slope <= reach)
                & ~(plane & (entry_slope > reach)))
    depth = torch.where(climbing, torch.zeros_like(depth), depth).clamp(min=0.0)
    nx, ny = rotate_xy(nlx, nly, ocos, osin)
    return depth, nx, ny


def _agent_pair_planes(ax: Tensor, ay: Tensor, start_x: Tensor, start_y: Tensor,
                       c: PhysicsConstants) -> tuple[Tensor, Tensor, Tensor]:
    """The swept part of agent-agent contacts, once per substep from the predicted positions:
    for pairs (i, j) apart at the start (relative positions i - j ``start_*``) whose relative
    path comes within two radii, the direction from j to i at the moment they touched (time of
    impact), along which they are separated for the whole solve, so that two agents running
    through each other within a substep still collide. Returns (plane [A, A, N], x, y)."""
    reach = 2 * c.agent_radius
    dx = ax[:, None] - ax[None] - start_x
    dy = ay[:, None] - ay[None] - start_y
    a = dx * dx + dy * dy
    b = start_x * dx + start_y * dy
    gap2 = start_x * start_x + start_y * start_y - reach * reach
    disc = b * b - a * gap2
    s = ((-b - torch.sqrt(disc.clamp(min=0.0))) / a.clamp(min=EPS)).clamp(min=0.0)
    plane = (gap2 >= -2e-5 * reach) & (disc >= 0) & (b < 0) & (s <= 1)
    return plane, (start_x + s * dx) / reach, (start_y + s * dy) / reach


def _agent_agent_contacts(ax: Tensor, ay: Tensor, planes: tuple[Tensor, Tensor, Tensor],
                          c: PhysicsConstants) -> tuple[Tensor, Tensor, Tensor]:
    """Penetration depth [A, A, N] of agent pairs and the unit direction (x, y) from j to i:
    along the pair's plane of :func:`_agent_pair_planes` where it has one, else along the
    line between their centres."""
    reach = 2 * c.agent_radius
    qx, qy = ax[:, None] - ax[None], ay[:, None] - ay[None]
    dist = norm_xy(qx, qy)
    inv = 1.0 / dist.clamp(min=EPS)
    plane, tx, ty = planes
    nx = torch.where(plane, tx, qx * inv)
    ny = torch.where(plane, ty, qy * inv)
    depth = torch.where(plane, reach - (qx * tx + qy * ty), reach - dist)
    return depth.clamp(min=0.0), nx, ny


def _pair_axes(ocos: Tensor, osin: Tensor, ohx: Tensor, ohy: Tensor
               ) -> tuple[Tensor, Tensor, Tensor]:
    """The separating-axis test's four axes of every pair of rectangles (i, j): i's x and y,
    then j's x and y, as x and y components [4, O, O, N], and the sum of the two rectangles'
    half extents along each."""
    ci, si, cj, sj = ocos[:, None], osin[:, None], ocos[None], osin[None]
    hxi, hyi, hxj, hyj = ohx[:, None], ohy[:, None], ohx[None], ohy[None]
    cd = (ci * cj + si * sj).abs()              # |cos| and |sin| of the relative yaw
    sd = (si * cj - ci * sj).abs()
    shape = torch.broadcast_shapes(ci.shape, cj.shape)
    ax = torch.stack([v.expand(shape) for v in (ci, -si, cj, -sj)])
    ay = torch.stack([v.expand(shape) for v in (si, ci, sj, cj)])
    radii = torch.stack([hxi + hxj * cd + hyj * sd, hyi + hxj * sd + hyj * cd,
                         hxj + hxi * cd + hyi * sd, hyj + hxi * sd + hyi * cd])
    return ax, ay, radii


def _object_pair_axes(ocos: Tensor, osin: Tensor, ohx: Tensor, ohy: Tensor,
                      start: tuple[Tensor, Tensor, Tensor, Tensor]
                      ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The axis along which each pair of objects (i, j) is separated for the whole substep:
    of the four axes of the separating-axis test, the one that separated them most at its
    start (``start``: x, y, cos, sin there), or that they overlapped least along if they
    overlapped, so that a fast object is stopped at the face it hit, never pushed on through.
    Returns the axis (x, y) [O, O, N] in the objects' current orientation, the sum of their
    half extents along it, and the side of i that j started on (+-1)."""
    sx, sy, scos, ssin = start
    ax0, ay0, radii0 = _pair_axes(scos, ssin, ohx, ohy)
    along0 = (sx[None] - sx[:, None]) * ax0 + (sy[None] - sy[:, None]) * ay0
    axis = (radii0 - along0.abs()).argmin(0, keepdim=True)
    side = torch.where(along0.gather(0, axis)[0] < 0, -1.0, 1.0)
    ax, ay, radii = (v.gather(0, axis)[0] for v in _pair_axes(ocos, osin, ohx, ohy))
    return ax, ay, radii, side


def _object_object_contacts(ox, oy, axes, not_self) -> tuple[Tensor, Tensor, Tensor]:
    """Penetration depth [O, O, N] of every pair of objects (symmetric) along its axis of
    :func:`_object_pair_axes`, and the direction (x, y) in which i must move."""
    ux, uy, radius, side = axes
    along = (ox[None] - ox[:, None]) * ux + (oy[None] - oy[:, None]) * uy
    depth = (radius - side * along).clamp(min=0.0) * not_self
    return depth, -side * ux, -side * uy


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
                   agent_prev: tuple[Tensor, Tensor],
                   obj_prev: tuple[Tensor, Tensor, Tensor, Tensor], c: PhysicsConstants
                   ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Project predicted positions (agents [A, N], objects [O, N]) out of all contacts.
    ``agent_prev`` (x, y) and ``obj_prev`` (x, y, cos, sin of the yaw) are the poses at the start
    of the substep, which decide the side of a wall a body belongs to and where a swept agent
    entered; ``is_ramp`` is [O, 1]. Returns the agents' and objects' x and y."""
    a, o = ax.shape[0], ox.shape[0]
    device = ax.device
    # Everything that does not change while solving, computed once per substep: masks, mass
    # shares, each body's side of each wall, and where each agent started relative to the rest.
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
    share_i = _share(w_i, w_j)                                                     # [O, O, N]
    not_eye_o = (~torch.eye(o, dtype=torch.bool, device=device)[..., None]).to(ax.dtype)
    movable = (obj_inv_mass > 0).to(ax.dtype)[:, None]
    obj_nx, obj_ny = _side_normal(obj_prev[0][:, None], obj_prev[1][:, None], w)   # [O, W, N]
    agent_nx, agent_ny = _side_normal(agent_prev[0][:, None], agent_prev[1][:, None], w)
    agent_low = low.to(ax.dtype)[:, None]
    agent_reach = c.agent_radius + c.half_wall
    # Swept contacts: the planes where paths met, from the predicted positions.
    pair_planes = _agent_pair_planes(ax, ay, agent_prev[0][:, None] - agent_prev[0][None],
                                     agent_prev[1][:, None] - agent_prev[1][None], c)
    obj_start = to_local_xy(agent_prev[0][:, None], agent_prev[1][:, None], *obj_prev)
    obj_planes = _agent_object_planes(ax, ay, ox, oy, ocos, osin, ohx, ohy, obj_start, c)
    obj_axes = _object_pair_axes(ocos, osin, ohx, ohy, obj_prev)
    holds = holder.to(ax.dtype)
    for _ in range(c.iterations):
        held_x, held_y = ox, oy
        # Agents against agents (discs).
        depth, nx, ny = _agent_agent_contacts(ax, ay, pair_planes, c)
        depth = depth * agent_pair
        ax = ax + 0.5 * (depth * nx).sum(1)
        ay = ay + 0.5 * (depth * ny).sum(1)
        # Agents against boxes and ramps.
        depth, nx, ny = _agent_object_contacts(ax, ay, az, ox, oy, ocos, osin, ohx, ohy,
                                               is_ramp, obj_planes, c)
        depth = depth * agent_obj
        px, py = depth * nx, depth * ny
        ax = ax + (share_agent * px).sum(1)
        ay = ay + (share_agent * py).sum(1)
        ox = ox - (share_obj * px).sum(0)
        oy = oy - (share_obj * py).sum(0)
        # Objects against objects.
        depth, nx, ny = _object_object_contacts(ox, oy, obj_axes, not_eye_o)
        ox = ox + (share_i * depth * nx).sum(1)        # the pair (j, i) moves j by its share
        oy = oy + (share_i * depth * ny).sum(1)
        # Objects against walls (walls never move).
        depth, nx, ny = _object_wall_contacts(ox, oy, ocos, osin, ohx, ohy, obj_nx, obj_ny, w, c)
        depth = depth * movable
        ox = ox + (depth * nx).sum(1)
        oy = oy + (depth * ny).sum(1)
        # A held object is gripped rigidly: what pushed it pushed its holder too, so nothing
        # drives a held object into a wall or through another object.
        ax = ax + (holds * (ox - held_x)).sum(1)
        ay = ay + (holds * (oy - held_y)).sum(1)
        # Agents against walls, last so that walls always win.
        depth, nx, ny = _wall_contact(ax[:, None], ay[:, None], agent_nx, agent_ny,
                                      agent_reach, w)
        depth = depth * agent_low
        ax = ax + (depth * nx).sum(1)
        ay = ay + (depth * ny).sum(1)
    # An agent the walls pushed into a locked box is wedged in a gap narrower than itself
    # (between the box and a door's edge, say): it does not move this substep, so it never
    # creeps through such a gap. (Ramps are left out: an agent on a ramp's slope is inside it.)
    lx, ly = to_local_xy(ax[:, None], ay[:, None], ox, oy, ocos, osin)
    dist = norm_xy((lx.abs() - ohx).clamp(min=0.0), (ly.abs() - ohy).clamp(min=0.0))
    locked_box = agent_obj * ((obj_inv_mass == 0) & ~is_ramp)
    wedged = ((c.agent_radius - dist) * locked_box).amax(1) > SQUEEZE_TOLERANCE
    ax = torch.where(wedged, agent_prev[0], ax)
    ay = torch.where(wedged, agent_prev[1], ay)
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


def substep(core: dict[str, Tensor], walls: Walls, accel_x: Tensor, accel_y: Tensor,
            turning: tuple[Tensor, Tensor], agent_drag: Tensor, obj_inv_mass: Tensor,
            is_ramp: Tensor, slots: Tensor, c: PhysicsConstants) -> None:
    """Advance the bodies in ``core`` (core layout; its entries are replaced, the tensors are
    not modified) by one substep: the movement law, held and locked objects, contacts, riding
    and heights. ``accel_*`` [A, N] is the force each agent's action applies per unit of the
    mass it moves, ``turning`` (keep, torque * gain) [A, N] its turn (:func:`spin`),
    ``agent_drag`` [A, N] its viscous drag per unit of that mass."""
    h = c.h
    pos, vel = core["agent_pos"], core["agent_vel"]
    vx, vy = drive(vel[0], vel[1], accel_x, accel_y, agent_drag, c.coulomb, h)
    angvel = core["agent_angvel"] * turning[0] + turning[1]
    yaw = torch.remainder(core["agent_yaw"] + angvel * h + torch.pi, 2 * torch.pi) - torch.pi
    ax, ay = pos[0] + vx * h, pos[1] + vy * h

    obj_pos, obj_vel, half = core["obj_pos"], core["obj_vel"], core["obj_half"]
    held_by, locked = core["obj_held_by"], core["obj_locked_team"] >= 0
    ovx, ovy = drive(obj_vel[0], obj_vel[1], 0.0, 0.0, c.object_drag, c.coulomb, h)
    ox, oy = obj_pos[0] + ovx * h, obj_pos[1] + ovy * h
    held = held_by >= 0
    holder = held_by.clamp(min=0)
    offset = core["obj_hold_offset"]
    hx, hy, hyaw = held_pose(ax.gather(0, holder), ay.gather(0, holder), yaw.gather(0, holder),
                             offset[0], offset[1], core["obj_hold_yaw"])
    ox = torch.where(locked, obj_pos[0], torch.where(held, hx, ox))
    oy = torch.where(locked, obj_pos[1], torch.where(held, hy, oy))
    start_yaw = core["obj_yaw"]
    obj_yaw = torch.where(held, hyaw, start_yaw)
    inv_mass = torch.where(locked | ~core["obj_present"], 0.0, obj_inv_mass)
    ocos, osin = torch.cos(obj_yaw), torch.sin(obj_yaw)

    ax, ay, ox, oy = solve_contacts(
        ax, ay, core["agent_z"], core["agent_present"], ox, oy, ocos, osin, half[0], half[1],
        inv_mass, held_by, is_ramp, walls, (pos[0], pos[1]),
        (obj_pos[0], obj_pos[1], torch.cos(start_yaw), torch.sin(start_yaw)), c)
    # Agents standing on a box ride along with it ("box surfing") -- unless they are the
    # ones moving it: a box an agent holds already follows that agent. The ride is not the
    # agent's own velocity, or it would keep it after stepping off.
    support = core["agent_support"]
    on = support.clamp(min=0)
    move_x, move_y = ox - obj_pos[0], oy - obj_pos[1]
    rides = ((support >= 0) & (held_by.gather(0, on) != slots)).to(ax.dtype)
    core["agent_vel"] = torch.stack([(ax - pos[0]) / h, (ay - pos[1]) / h])
    ax = ax + move_x.gather(0, on) * rides
    ay = ay + move_y.gather(0, on) * rides
    agent_z, support = update_heights(ax, ay, core["agent_z"], ox, oy, ocos, osin, half[0],
                                      half[1], core["obj_present"], is_ramp, walls, c)

    core["agent_pos"] = torch.stack([ax, ay])
    core["agent_z"], core["agent_support"] = agent_z, support
    core["agent_yaw"], core["agent_angvel"] = yaw, angvel
    moving = (~locked).to(ox.dtype) / h
    core["obj_vel"] = torch.stack([move_x * moving, move_y * moving])
    core["obj_pos"], core["obj_yaw"] = torch.stack([ox, oy]), obj_yaw
