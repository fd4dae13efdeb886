"""Sensors: vision cone with line of sight, lidar, and the packing of obs_0..obs_3 and the
critic state in the contract's column order (hideseek.contract).

Vision and lidar work on the core layout (``hideseek.sim.state``); packing reads a public-layout
``SimState`` (views of the core tensors in the step), because the packed rows are arena first
and the same functions check the C# packing (tests/test_unity_parity.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..contract import WorldConfig
from .geometry import box_corners_xy, norm_xy, segments_intersect_xy, to_local_xy
from .state import PARK_DISTANCE, Core, SimState


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


def occluders(core: Core) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """All segments that block sight and lidar: walls, then the 4 edges of each object in turn.
    Start and end x, y [S, N] each (core layout)."""
    wa, wb = core["wall_a"], core["wall_b"]
    op, yaw, half = core["obj_pos"], core["obj_yaw"], core["obj_half"]
    cx, cy = box_corners_xy(op[0], op[1], torch.cos(yaw), torch.sin(yaw), half[0], half[1])
    n = yaw.shape[-1]

    def edges(corners: Tensor) -> tuple[Tensor, Tensor]:
        # [4, O, N] corners -> object-major [4 O, N] edge starts and ends (corner k -> k+1).
        return (corners.transpose(0, 1).reshape(-1, n),
                corners.roll(-1, 0).transpose(0, 1).reshape(-1, n))

    (sx, ex), (sy, ey) = edges(cx), edges(cy)
    return (torch.cat([wa[0], sx]), torch.cat([wa[1], sy]),
            torch.cat([wb[0], ex]), torch.cat([wb[1], ey]))


def visibility(core: Core, c: SensorConstants, seg: tuple[Tensor, Tensor, Tensor, Tensor]
               ) -> tuple[Tensor, Tensor]:
    """Who sees what: agents [A, A, N] and objects [A, O, N] (viewer first, core layout).

    A target is seen when its centre is inside the viewer's cone and the sight line crosses no
    wall or object edge (the target's own edges excepted). A viewer standing on top sees over
    everything, since every occluder is at most as tall as the top height."""
    ap, op = core["agent_pos"], core["obj_pos"]
    tx, ty = torch.cat([ap[0], op[0]])[None], torch.cat([ap[1], op[1]])[None]   # [1, T, N]
    ex, ey = ap[0][:, None], ap[1][:, None]                                      # [A, 1, N]
    yaw = core["agent_yaw"][:, None]
    dx, dy = tx - ex, ty - ey
    dist = norm_xy(dx, dy)
    in_cone = dx * torch.cos(yaw) + dy * torch.sin(yaw) >= c.cos_half_cone * dist
    crosses = segments_intersect_xy(ex[..., None, :], ey[..., None, :], tx[..., None, :],
                                    ty[..., None, :], *(v[None, None] for v in seg))  # [A,T,S,N]
    viewer_low = core["agent_z"] < c.top - 1e-3
    blocked = (crosses & ~c.own_edges[..., None]).any(2) & viewer_low[:, None]
    present = torch.cat([core["agent_present"], core["obj_present"]])[None]
    seen = in_cone & ~blocked & present & core["agent_present"][:, None] & (dist > 1e-6)
    a = ap.shape[1]
    return seen[:, :a], seen[:, a:]


def lidar(core: Core, c: SensorConstants, seg: tuple[Tensor, Tensor, Tensor, Tensor]) -> Tensor:
    """Distance / range along each ray [A, R, N]; 1.0 = nothing within range.

    Segments are moved into each agent's frame once ([A, S, N]); the rays then have constant
    directions, so the [A, R, S, N] work is a handful of multiply-adds that fuse well."""
    ap, yaw = core["agent_pos"], core["agent_yaw"]
    cos, sin = torch.cos(yaw)[:, None], torch.sin(yaw)[:, None]                 # [A, 1, N]
    px, py = ap[0][:, None], ap[1][:, None]
    ax, ay = to_local_xy(seg[0][None], seg[1][None], px, py, cos, sin)          # [A, S, N]
    bx, by = to_local_xy(seg[2][None], seg[3][None], px, py, cos, sin)
    ex, ey = bx - ax, by - ay
    t_num = (ax * ey - ay * ex)[:, None]                                        # [A, 1, S, N]
    face = (c.seg_half_thickness[:, None] * norm_xy(ex, ey))[:, None]
    ax, ay, ex, ey = (v[:, None] for v in (ax, ay, ex, ey))
    rc, rs = c.ray_cos[:, None, None], c.ray_sin[:, None, None]                 # [R, 1, 1]
    den = rc * ey - rs * ex                                                     # [A, R, S, N]
    ok = den.abs() > 1e-9
    inv = 1.0 / torch.where(ok, den, torch.full_like(den, 1e-9))
    # Hit point on the centre line at t; the face the ray meets first is `face/|sin|` earlier.
    t = t_num * inv - face * inv.abs()
    u = (ax * rs - ay * rc) * inv
    hit = ok & (t >= 0) & (u >= 0) & (u <= 1)
    dist = torch.where(hit, t, torch.full_like(t, c.lidar_range)).amin(2)
    return dist.clamp(max=c.lidar_range) / c.lidar_range


def phase_of(t: Tensor, c: SensorConstants) -> tuple[Tensor, Tensor, Tensor]:
    """(in prep [N] bool, prep fraction left [N], episode fraction left [N]) at step t [N]."""
    tf = t.to(torch.float32)
    in_prep = t < c.prep_steps
    prep_left = ((c.prep_steps - tf) / max(c.prep_steps, 1)).clamp(min=0.0)
    return in_prep, prep_left, (c.horizon - tf) / c.horizon


def phase(s: SimState, c: SensorConstants) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`phase_of` for a public-layout state."""
    return phase_of(s.t, c)


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
