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
  falls to the floor. An agent on a box moves with the box.
- Walls are 0.1 m thick: a body is always pushed back to the side of a wall its centre was on
  before the step, so nothing tunnels through one however it was shoved, swung or squeezed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..contract import WorldConfig
from .geometry import EPS, box_corners, closest_on_segment, rotate, to_local

CLIMB_TOLERANCE = 0.15   # m: how far below its feet a ramp slope may start and still be entered
SUPPORT_MARGIN = 0.075   # m: how far past a top's edge an agent's centre may be and still stand
LEVEL_GAP = 0.25         # m: agents whose heights differ more than this do not collide


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


def _share(w_self: Tensor, w_other: Tensor) -> Tensor:
    """Fraction of a contact correction taken by the body with inverse mass w_self."""
    return w_self / (w_self + w_other).clamp(min=EPS)


def _wall_distance(p: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Distance from points to wall centre lines (segments)."""
    return (p - closest_on_segment(p, a, b)).norm(dim=-1)


def _wall_contact(p: Tensor, prev: Tensor, a: Tensor, b: Tensor, reach: Tensor | float
                  ) -> tuple[Tensor, Tensor]:
    """Penetration depth and push direction of points p (with radius-like ``reach`` = body
    radius + half wall thickness) into wall segments a->b, broadcasting.

    Along the wall's span the push always returns a point to the side its previous position
    ``prev`` was on, so a fast or shoved body can never be resolved to the far side of a thin
    wall; past the wall's ends the contact is radial (the rounded end of a capsule)."""
    seg = b - a
    length = seg.norm(dim=-1, keepdim=True).clamp(min=EPS)
    normal = torch.stack([-seg[..., 1], seg[..., 0]], -1) / length
    along = ((p - a) * seg).sum(-1) / (length[..., 0] ** 2)
    in_span = (along >= 0) & (along <= 1)
    prev_side = torch.where(((prev - a) * normal).sum(-1) >= 0, 1.0, -1.0)
    span_depth = reach - prev_side * ((p - a) * normal).sum(-1)
    diff = p - (a + along.clamp(0.0, 1.0)[..., None] * seg)
    dist = diff.norm(dim=-1)
    end_depth = reach - dist
    depth = torch.where(in_span, span_depth, end_depth).clamp(min=0.0)
    push = torch.where(in_span[..., None], prev_side[..., None] * normal,
                       diff / dist.clamp(min=EPS)[..., None])
    return depth, push


def _ramp_slope(local: Tensor, c: PhysicsConstants) -> tuple[Tensor, Tensor]:
    """Slope height under points given in ramp frames, and whether they lie on the ramp strip.
    A ramp rises along its local +x from 0 at -half_length to ramp_height at +half_length."""
    frac = ((local[..., 0] + c.ramp_half_length) / (2 * c.ramp_half_length)).clamp(0.0, 1.0)
    in_strip = (local[..., 1].abs() <= c.ramp_half_width) & \
        (local[..., 0] <= c.ramp_half_length + SUPPORT_MARGIN)
    return frac * c.ramp_height, in_strip


def _agent_object_contacts(agent_pos, agent_z, obj_pos, obj_cos, obj_sin, obj_half, is_ramp,
                           c: PhysicsConstants) -> tuple[Tensor, Tensor]:
    """Penetration depth [N, A, O] and push direction on the agent [N, A, O, 2]."""
    local = to_local(agent_pos[:, :, None], obj_pos[:, None], obj_cos[:, None], obj_sin[:, None])
    half = obj_half[:, None]
    clamped = torch.maximum(torch.minimum(local, half), -half)
    diff = local - clamped
    dist = diff.norm(dim=-1)
    inside = dist < 1e-6
    pen = half - local.abs()
    use_x = pen[..., 0] < pen[..., 1]
    sign = torch.where(local >= 0, 1.0, -1.0)
    axis_normal = torch.where(use_x[..., None],
                              torch.stack([sign[..., 0], torch.zeros_like(dist)], -1),
                              torch.stack([torch.zeros_like(dist), sign[..., 1]], -1))
    normal_local = torch.where(inside[..., None], axis_normal, diff / dist.clamp(min=EPS)[..., None])
    depth = torch.where(inside, torch.minimum(pen[..., 0], pen[..., 1]) + c.agent_radius,
                        c.agent_radius - dist)
    # Ramps let an agent through from the low end: centre within the ramp's width and the
    # slope beneath it no higher than its feet plus the climb tolerance.
    slope, _ = _ramp_slope(local, c)
    climbing = is_ramp[None, None] & (local[..., 1].abs() <= c.ramp_half_width) & \
        (slope <= agent_z[:, :, None] + CLIMB_TOLERANCE)
    depth = torch.where(climbing, torch.zeros_like(depth), depth)
    normal = rotate(normal_local, obj_cos[:, None], obj_sin[:, None])
    return depth.clamp(min=0.0), normal


def _object_object_contacts(obj_pos, obj_cos, obj_sin, obj_half) -> tuple[Tensor, Tensor]:
    """Deepest corner penetration of object i into object j: depth [N, O, O] and the
    direction [N, O, O, 2] in which i must move."""
    n, o = obj_pos.shape[:2]
    corners = box_corners(obj_pos, obj_cos, obj_sin, obj_half)                # [N, O, 4, 2]
    local = to_local(corners[:, :, :, None], obj_pos[:, None, None], obj_cos[:, None, None],
                     obj_sin[:, None, None])
    half = obj_half[:, None, None]                                             # [N, 1, 1, O, 2]
    pen = half - local.abs()                                                   # [N, O, 4, O, 2]
    depth = torch.minimum(pen[..., 0], pen[..., 1]).clamp(min=0.0)            # [N, O, 4, O]
    use_x = pen[..., 0] < pen[..., 1]
    sign = torch.where(local >= 0, 1.0, -1.0)
    zero = torch.zeros_like(depth)
    normal_local = torch.where(use_x[..., None], torch.stack([sign[..., 0], zero], -1),
                               torch.stack([zero, sign[..., 1]], -1))
    normal = rotate(normal_local, obj_cos[:, None, None], obj_sin[:, None, None])  # [N, O, 4, O, 2]
    not_self = ~torch.eye(o, dtype=torch.bool, device=obj_pos.device)
    depth = depth * not_self[:, None, :]
    best = depth.argmax(dim=2, keepdim=True)                                   # [N, O, 1, O]
    depth_best = depth.gather(2, best).squeeze(2)
    normal_best = normal.gather(2, best[..., None].expand(-1, -1, -1, -1, 2)).squeeze(2)
    return depth_best, normal_best


def _free_wall_ends(wall_a: Tensor, wall_b: Tensor, c: PhysicsConstants) -> Tensor:
    """Which wall end points [N, W, 2] are free ends (a door edge, a wall's tip) rather than
    joints inside another wall, where pushing objects off the end point would fight the other
    wall's own push."""
    ends = torch.stack([wall_a, wall_b], 2)                                     # [N, W, 2, 2]
    dist = _wall_distance(ends[:, :, :, None], wall_a[:, None, None], wall_b[:, None, None])
    w = wall_a.shape[1]
    own = torch.eye(w, dtype=torch.bool, device=wall_a.device)[:, None, :]      # [W, 1, W]
    dist = torch.where(own, torch.full_like(dist, float("inf")), dist)
    return dist.amin(-1) > c.half_wall + 1e-4


def _object_wall_contacts(obj_pos, obj_cos, obj_sin, obj_half, obj_prev, wall_a, wall_b,
                          free_ends, c: PhysicsConstants) -> tuple[Tensor, Tensor]:
    """Deepest penetration of each object into each wall: depth [N, O, W], direction [N, O, W, 2]
    for the object. Tests the corners, a core circle and the wall's end points. Corners and core
    are returned to the side of each wall the object's centre was on before the step
    (``obj_prev`` [N, O, 2]): a corner may poke through a wall's centre line while squeezed
    into a room corner, but the centre never does, so it is the one that decides."""
    corners = box_corners(obj_pos, obj_cos, obj_sin, obj_half)                 # [N, O, 4, 2]
    core_r = obj_half.amin(-1)                                                  # [N, O]
    points = torch.cat([corners, obj_pos[:, :, None]], 2)                       # [N, O, 5, 2]
    radius = torch.cat([torch.zeros_like(corners[..., 0]), core_r[..., None]], 2)
    depth, normal = _wall_contact(points[:, :, :, None], obj_prev[:, :, None, None],
                                  wall_a[:, None, None], wall_b[:, None, None],
                                  (radius + c.half_wall)[..., None])             # [N, O, 5, W]
    # Wall end points poking into the object's side.
    ends = torch.stack([wall_a, wall_b], 2)                                     # [N, W, 2, 2]
    local = to_local(ends[:, None], obj_pos[:, :, None, None], obj_cos[:, :, None, None],
                     obj_sin[:, :, None, None])
    half = obj_half[:, :, None, None]
    pen = half + c.half_wall - local.abs()                                      # [N, O, W, 2, 2]
    end_depth = torch.minimum(pen[..., 0], pen[..., 1]).clamp(min=0.0) * free_ends[:, None]
    use_x = pen[..., 0] < pen[..., 1]
    sign = torch.where(local >= 0, -1.0, 1.0)   # the object moves away from the end point
    zero = torch.zeros_like(end_depth)
    end_normal_local = torch.where(use_x[..., None], torch.stack([sign[..., 0], zero], -1),
                                   torch.stack([zero, sign[..., 1]], -1))
    end_normal = rotate(end_normal_local, obj_cos[:, :, None, None], obj_sin[:, :, None, None])
    all_depth = torch.cat([depth.transpose(2, 3), end_depth], 3)               # [N, O, W, 7]
    all_normal = torch.cat([normal.transpose(2, 3), end_normal], 3)            # [N, O, W, 7, 2]
    best = all_depth.argmax(-1, keepdim=True)
    return (all_depth.gather(-1, best).squeeze(-1),
            all_normal.gather(-2, best[..., None].expand(-1, -1, -1, -1, 2)).squeeze(-2))


def solve_contacts(agent_pos: Tensor, agent_z: Tensor, agent_present: Tensor,
                   obj_pos: Tensor, obj_yaw: Tensor, obj_half: Tensor, obj_inv_mass: Tensor,
                   obj_held_by: Tensor, is_ramp: Tensor, wall_a: Tensor, wall_b: Tensor,
                   agent_prev: Tensor, obj_prev: Tensor,
                   c: PhysicsConstants, iterations: int) -> tuple[Tensor, Tensor]:
    """Project predicted positions out of all contacts. ``*_prev`` are the poses before the
    step, which decide the side of a wall a body belongs to. Returns (agent_pos, obj_pos)."""
    n, a = agent_pos.shape[:2]
    obj_cos, obj_sin = torch.cos(obj_yaw), torch.sin(obj_yaw)   # yaws do not change while solving
    free_ends = _free_wall_ends(wall_a, wall_b, c)
    w_agent = torch.full_like(agent_z, c.agent_inv_mass)
    # Agents whose feet are within climbing reach of the top step over walls and objects.
    low = agent_z < c.top - CLIMB_TOLERANCE
    pair_ok = ~torch.eye(a, dtype=torch.bool, device=agent_pos.device)
    level = (agent_z[:, :, None] - agent_z[:, None, :]).abs() < LEVEL_GAP
    agent_pair = pair_ok & level & agent_present[:, :, None] & agent_present[:, None, :]
    # A holder does not collide with what it holds (the hold keeps them apart).
    holder = obj_held_by[:, None, :] == torch.arange(a, device=agent_pos.device)[None, :, None]
    for _ in range(iterations):
        # Agents against agents (circles).
        d = agent_pos[:, :, None] - agent_pos[:, None, :]
        dist = d.norm(dim=-1)
        depth = (2 * c.agent_radius - dist).clamp(min=0.0) * agent_pair
        normal = d / dist.clamp(min=EPS)[..., None]
        agent_pos = agent_pos + 0.5 * (depth[..., None] * normal).sum(2)
        # Agents against boxes and ramps.
        depth, normal = _agent_object_contacts(agent_pos, agent_z, obj_pos, obj_cos, obj_sin,
                                               obj_half, is_ramp, c)
        depth = depth * (low[:, :, None] & ~holder)
        w_o = obj_inv_mass[:, None, :]
        w_a = w_agent[:, :, None]
        push = depth[..., None] * normal
        agent_pos = agent_pos + (_share(w_a, w_o)[..., None] * push).sum(2)
        obj_pos = obj_pos - (_share(w_o, w_a)[..., None] * push).sum(1)
        # Objects against objects.
        depth, normal = _object_object_contacts(obj_pos, obj_cos, obj_sin, obj_half)
        w_i, w_j = obj_inv_mass[:, :, None], obj_inv_mass[:, None, :]
        push = depth[..., None] * normal                                        # moves i
        obj_pos = obj_pos + (_share(w_i, w_j)[..., None] * push).sum(2) \
            - (_share(w_j, w_i)[..., None] * push).sum(1)
        # Objects against walls (walls never move).
        depth, normal = _object_wall_contacts(obj_pos, obj_cos, obj_sin, obj_half,
                                              obj_prev, wall_a, wall_b, free_ends, c)
        movable = (obj_inv_mass > 0)[..., None, None]
        obj_pos = obj_pos + ((depth[..., None] * normal) * movable).sum(2)
        # Agents against walls, last so that walls always win.
        depth, normal = _wall_contact(agent_pos[:, :, None], agent_prev[:, :, None],
                                      wall_a[:, None], wall_b[:, None], c.agent_radius + c.half_wall)
        depth = depth * low[:, :, None]
        agent_pos = agent_pos + (depth[..., None] * normal).sum(2)
    return agent_pos, obj_pos


def update_heights(agent_pos: Tensor, agent_z: Tensor, obj_pos: Tensor, obj_yaw: Tensor,
                   obj_half: Tensor, obj_present: Tensor, is_ramp: Tensor, wall_a: Tensor,
                   wall_b: Tensor, c: PhysicsConstants) -> tuple[Tensor, Tensor]:
    """New heights [N, A] and the box each agent stands on [N, A] (-1 none).

    Every surface under the agent's centre (box and wall tops, ramp slopes) that is at most
    ``CLIMB_TOLERANCE`` above its feet can carry it; it stands on the highest, or falls to the
    floor when there is none."""
    local = to_local(agent_pos[:, :, None], obj_pos[:, None], torch.cos(obj_yaw)[:, None],
                     torch.sin(obj_yaw)[:, None])                                   # [N, A, O, 2]
    over = ((local.abs() - obj_half[:, None]).clamp(min=0.0).norm(dim=-1) <= SUPPORT_MARGIN) \
        & obj_present[:, None]
    over_box = over & ~is_ramp[None, None]
    dist = _wall_distance(agent_pos[:, :, None], wall_a[:, None], wall_b[:, None])
    over_wall = (dist <= c.half_wall + SUPPORT_MARGIN).any(-1)
    slope, in_strip = _ramp_slope(local, c)
    reach = agent_z + CLIMB_TOLERANCE
    on_ramp = in_strip & is_ramp[None, None] & obj_present[:, None] & (slope <= reach[..., None])
    ramp_z = torch.where(on_ramp, slope, torch.zeros_like(slope)).amax(-1).clamp(max=c.top)
    can_top = (over_box.any(-1) | over_wall) & (c.top <= reach)
    new_z = torch.where(can_top, torch.full_like(agent_z, c.top), ramp_z)
    box_idx = torch.where(over_box, 1.0, 0.0).argmax(-1)
    support = torch.where(can_top & over_box.any(-1), box_idx, torch.full_like(box_idx, -1))
    return new_z, support


def held_pose(holder_pos: Tensor, holder_yaw: Tensor, offset: Tensor, rel_yaw: Tensor
              ) -> tuple[Tensor, Tensor]:
    """Pose of held objects given their holders' poses (all [N, O, ...])."""
    pos = holder_pos + rotate(offset, torch.cos(holder_yaw), torch.sin(holder_yaw))
    return pos, holder_yaw + rel_yaw
