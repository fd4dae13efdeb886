"""Sensors: vision cone with line of sight, lidar, and the packing of obs_0..obs_3 and the
critic state in the contract's column order (hideseek.contract)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..contract import WorldConfig
from .geometry import box_edges, segments_intersect
from .state import PARK_DISTANCE, SimState


@dataclass(frozen=True)
class SensorConstants:
    cos_half_cone: float
    ray_cos: Tensor           # [R] ray directions in the agent's frame
    ray_sin: Tensor
    lidar_range: float
    top: float
    floor_size: float
    top_angvel: float
    other_index: Tensor       # [A, A-1] slots of the other agents, in index order
    own_edges: Tensor         # [T, S] bool: target t is object o and segment s is one of its edges
    is_hider: Tensor          # [A] bool
    is_ramp: Tensor           # [O] bool
    prep_steps: int
    horizon: int
    max_boxes: int
    seg_half_thickness: Tensor  # [S] half thickness of each occluder: walls' own, 0 for edges

    @staticmethod
    def of(world: WorldConfig, device: torch.device) -> "SensorConstants":
        lay = world.layout
        a, o, w = lay.max_agents, lay.max_boxes + lay.max_ramps, world.max_walls
        others = torch.tensor([[j for j in range(a) if j != i] for i in range(a)],
                              dtype=torch.int64, device=device).reshape(a, max(a - 1, 0))
        own = torch.zeros(a + o, w + 4 * o, dtype=torch.bool, device=device)
        for k in range(o):
            own[a + k, w + 4 * k: w + 4 * k + 4] = True
        rays = torch.arange(world.lidar_rays, device=device, dtype=torch.float32)
        return SensorConstants(
            cos_half_cone=math.cos(math.radians(world.vision_cone_deg) / 2),
            ray_cos=torch.cos(rays * (2 * math.pi / max(world.lidar_rays, 1))),
            ray_sin=torch.sin(rays * (2 * math.pi / max(world.lidar_rays, 1))),
            lidar_range=world.lidar_range, top=world.wall_height, floor_size=world.floor_size,
            top_angvel=world.max_torque / max(world.agent_angular_friction, 1e-6),
            other_index=others, own_edges=own,
            is_hider=torch.arange(a, device=device) < lay.max_hiders,
            is_ramp=torch.arange(o, device=device) >= lay.max_boxes,
            prep_steps=world.prep_steps, horizon=world.horizon, max_boxes=lay.max_boxes,
            seg_half_thickness=torch.cat([
                torch.full((w,), world.wall_thickness / 2, device=device),
                torch.zeros(4 * o, device=device)]))


def occluders(s: SimState) -> tuple[Tensor, Tensor]:
    """All segments that block sight and lidar: walls, then 4 edges per object. [N, S, 2] each."""
    ea, eb = box_edges(s.obj_pos, torch.cos(s.obj_yaw), torch.sin(s.obj_yaw), s.obj_half)                      # [N, O, 4, 2]
    n = ea.shape[0]
    return (torch.cat([s.wall_a, ea.reshape(n, -1, 2)], 1),
            torch.cat([s.wall_b, eb.reshape(n, -1, 2)], 1))


def visibility(s: SimState, c: SensorConstants, seg_a: Tensor, seg_b: Tensor
               ) -> tuple[Tensor, Tensor]:
    """Who sees what: agents [N, A, A] and objects [N, A, O] (viewer first).

    A target is seen when its centre is inside the viewer's cone and the sight line crosses no
    wall or object edge (the target's own edges excepted). A viewer standing on top sees over
    everything, since every occluder is at most as tall as the top height."""
    targets = torch.cat([s.agent_pos, s.obj_pos], 1)                          # [N, T, 2]
    eye = s.agent_pos[:, :, None]                                              # [N, A, 1, 2]
    d = targets[:, None] - eye                                                 # [N, A, T, 2]
    heading = torch.stack([torch.cos(s.agent_yaw), torch.sin(s.agent_yaw)], -1)[:, :, None]
    dist = d.norm(dim=-1)
    in_cone = (d * heading).sum(-1) >= c.cos_half_cone * dist
    crosses = segments_intersect(eye[..., None, :], targets[:, None, :, None],
                                 seg_a[:, None, None], seg_b[:, None, None])  # [N, A, T, S]
    blocked = (crosses & ~c.own_edges).any(-1) & (s.agent_z < c.top - 1e-3)[..., None]
    present = torch.cat([s.agent_present, s.obj_present], 1)[:, None]
    seen = in_cone & ~blocked & present & s.agent_present[..., None] & (dist > 1e-6)
    a = s.agent_pos.shape[1]
    return seen[..., :a], seen[..., a:]


def lidar(s: SimState, c: SensorConstants, seg_a: Tensor, seg_b: Tensor) -> Tensor:
    """Distance / range along each ray [N, A, R]; 1.0 = nothing within range.

    Segments are moved into each agent's frame once ([N, A, S]); the rays then have constant
    directions, so the [N, A, R, S] work is a handful of multiply-adds that fuse well."""
    cos, sin = torch.cos(s.agent_yaw)[..., None], torch.sin(s.agent_yaw)[..., None]
    rel_a = seg_a[:, None] - s.agent_pos[:, :, None]                          # [N, A, S, 2]
    rel_b = seg_b[:, None] - s.agent_pos[:, :, None]
    ax = rel_a[..., 0] * cos + rel_a[..., 1] * sin
    ay = rel_a[..., 1] * cos - rel_a[..., 0] * sin
    ex = rel_b[..., 0] * cos + rel_b[..., 1] * sin - ax
    ey = rel_b[..., 1] * cos - rel_b[..., 0] * sin - ay
    t_num = (ax * ey - ay * ex)[:, :, None]                                    # [N, A, 1, S]
    face = (c.seg_half_thickness * torch.sqrt(ex * ex + ey * ey))[:, :, None]
    ax, ay, ex, ey = (v[:, :, None] for v in (ax, ay, ex, ey))
    rc, rs = c.ray_cos[:, None], c.ray_sin[:, None]                            # [R, 1]
    den = rc * ey - rs * ex                                                    # [N, A, R, S]
    inv = 1.0 / torch.where(den.abs() > 1e-9, den, torch.full_like(den, 1e-9))
    # Hit point on the centre line at t; the face the ray meets first is `face/|sin|` earlier.
    t = t_num * inv - face * inv.abs()
    u = (ax * rs - ay * rc) * inv
    hit = (den.abs() > 1e-9) & (t >= 0) & (u >= 0) & (u <= 1)
    dist = torch.where(hit, t, torch.full_like(t, c.lidar_range)).amin(-1)
    return dist.clamp(max=c.lidar_range) / c.lidar_range


def phase(s: SimState, c: SensorConstants) -> tuple[Tensor, Tensor, Tensor]:
    """(in prep [N] bool, prep fraction left [N], episode fraction left [N])."""
    t = s.t.to(torch.float32)
    in_prep = s.t < c.prep_steps
    prep_left = ((c.prep_steps - t) / max(c.prep_steps, 1)).clamp(min=0.0)
    return in_prep, prep_left, (c.horizon - t) / c.horizon


def _object_rows(s: SimState) -> dict[str, Tensor]:
    """Per-object quantities in the arena frame used by both the observations and the state."""
    return {
        "vel": s.obj_vel, "sin": torch.sin(s.obj_yaw), "cos": torch.cos(s.obj_yaw),
        "size": 2 * s.obj_half,
    }


def observe(s: SimState, c: SensorConstants, seen_agents: Tensor, seen_objs: Tensor,
            lidar_frac: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """obs_0..obs_3 and the action mask of every agent slot (contract column order)."""
    f = c.floor_size
    n, a = s.agent_pos.shape[:2]
    in_prep, prep_left, ep_left = phase(s, c)
    hider = c.is_hider.to(torch.float32).expand(n, a)
    sin_a, cos_a = torch.sin(s.agent_yaw), torch.cos(s.agent_yaw)
    obs_0 = torch.cat([
        s.agent_pos / f, (s.agent_z / f)[..., None], s.agent_vel / f, sin_a[..., None],
        cos_a[..., None], (s.agent_angvel / c.top_angvel)[..., None], hider[..., None],
        prep_left[:, None, None].expand(n, a, 1), ep_left[:, None, None].expand(n, a, 1),
        lidar_frac], -1)
    obs_0 = obs_0 * s.agent_present[..., None]

    # Other agents, from each viewer's point of view: [N, A(viewer), A(target), 10].
    rel = (s.agent_pos[:, None] - s.agent_pos[:, :, None]) / f
    dz = (s.agent_z[:, None] - s.agent_z[:, :, None]) / f
    teammate = c.is_hider[None, :, None] == c.is_hider[None, None, :]
    ones = torch.ones_like(dz)
    agent_rows = torch.cat([
        ones[..., None], rel, dz[..., None], (s.agent_vel / f)[:, None].expand(n, a, a, 2),
        sin_a[:, None, :, None].expand(n, a, a, 1), cos_a[:, None, :, None].expand(n, a, a, 1),
        teammate.expand(n, a, a)[..., None].float(), hider[:, None, :, None].expand(n, a, a, 1),
    ], -1) * seen_agents[..., None]
    if a > 1:
        idx = c.other_index[None, :, :, None].expand(n, a, a - 1, agent_rows.shape[-1])
        obs_1 = agent_rows.gather(2, idx)
    else:
        obs_1 = torch.zeros(n, a, 1, agent_rows.shape[-1], device=s.agent_pos.device)

    # Boxes and ramps: [N, A, O, 14].
    o = s.obj_pos.shape[1]
    rows = _object_rows(s)
    rel = (s.obj_pos[:, None] - s.agent_pos[:, :, None]) / f
    dz = (-s.agent_z / f)[:, :, None].expand(n, a, o)
    team = torch.where(c.is_hider, 0, 1)[None, :, None]                       # viewer's team
    locked = s.obj_locked_team[:, None]                                         # [N, 1, O]
    slot = torch.arange(a, device=s.agent_pos.device)[None, :, None]
    held = s.obj_held_by[:, None]
    obj_rows = torch.cat([
        torch.ones_like(dz)[..., None], rel, dz[..., None],
        (rows["vel"] / f)[:, None].expand(n, a, o, 2),
        rows["sin"][:, None, :, None].expand(n, a, o, 1),
        rows["cos"][:, None, :, None].expand(n, a, o, 1),
        (rows["size"] / f)[:, None].expand(n, a, o, 2),
        (locked == team)[..., None].float(), ((locked >= 0) & (locked != team))[..., None].float(),
        (held == slot)[..., None].float(), ((held >= 0) & (held != slot))[..., None].float(),
    ], -1) * seen_objs[..., None]
    obs_2 = obj_rows[:, :, :c.max_boxes]
    obs_3 = obj_rows[:, :, c.max_boxes:]
    if obs_2.shape[2] == 0:
        obs_2 = torch.zeros(n, a, 1, obj_rows.shape[-1], device=obj_rows.device)
    if obs_3.shape[2] == 0:
        obs_3 = torch.zeros(n, a, 1, obj_rows.shape[-1], device=obj_rows.device)

    # Action masks: seekers during prep may only choose "nothing" (WORLD.md "Actions").
    frozen = (in_prep[:, None] & ~c.is_hider[None, :]) | ~s.agent_present             # [N, A]
    return obs_0, obs_1, obs_2, obs_3, frozen


def global_state(s: SimState, c: SensorConstants, obs_0: Tensor) -> Tensor:
    """The critic's flat state [N, S]: agents (present + full self vector ``obs_0``), boxes,
    ramps, walls, globals (contract ``ObsLayout.state_blocks``)."""
    f = c.floor_size
    n = s.agent_pos.shape[0]
    _, prep_left, ep_left = phase(s, c)
    present = s.agent_present[..., None].to(obs_0.dtype)
    agents = torch.cat([present, obs_0 * present], -1)
    rows = _object_rows(s)
    locked, held = s.obj_locked_team, s.obj_held_by
    held_by_hider = (held >= 0) & c.is_hider[held.clamp(min=0)]
    objects = torch.cat([
        torch.ones_like(s.obj_yaw)[..., None], s.obj_pos / f, torch.zeros_like(s.obj_yaw)[..., None],
        rows["vel"] / f, rows["sin"][..., None], rows["cos"][..., None], rows["size"] / f,
        (locked == 0)[..., None].float(), (locked == 1)[..., None].float(),
        held_by_hider[..., None].float(), ((held >= 0) & ~held_by_hider)[..., None].float(),
    ], -1) * s.obj_present[..., None]
    # Parked (absent) wall pieces are all-zero rows.
    wall_present = (s.wall_a.abs().amax(-1) < PARK_DISTANCE / 2)[..., None].to(obs_0.dtype)
    walls = torch.cat([wall_present, s.wall_a / f, s.wall_b / f], -1) * wall_present
    return torch.cat([agents.reshape(n, -1), objects.reshape(n, -1), walls.reshape(n, -1),
                      prep_left[:, None], ep_left[:, None]], -1)
