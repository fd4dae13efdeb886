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
from .geometry import box_corners_xy, chunks, norm_xy, segments_intersect_xy, to_local_xy
from .state import PARK_DISTANCE, Core, SimState, flip, to_core_view


@dataclass(frozen=True)
class SensorConstants:
    cos_half_cone: float
    ray_cos: Tensor           # [R] ray directions in the agent's frame
    ray_sin: Tensor
    lidar_range: float
    top: float
    floor_size: float
    top_angvel: float
    not_own_edge: Tensor      # [T, S, 1] bool: False where target t is object o and segment s
                              # is one of its edges (a target's own edges never hide it)
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
            not_own_edge=~own[..., None],
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
    everything, since every occluder is at most as tall as the top height.

    Occluders are walked in ``chunks`` (one at a time when compiled)."""
    ap, op = core["agent_pos"], core["obj_pos"]
    tx, ty = torch.cat([ap[0], op[0]])[None], torch.cat([ap[1], op[1]])[None]   # [1, T, N]
    ex, ey = ap[0][:, None], ap[1][:, None]                                      # [A, 1, N]
    yaw = core["agent_yaw"][:, None]
    dx, dy = tx - ex, ty - ey
    dist = norm_xy(dx, dy)
    in_cone = dx * torch.cos(yaw) + dy * torch.sin(yaw) >= c.cos_half_cone * dist
    blocked = torch.zeros_like(in_cone)
    for k in chunks(seg[0].shape[0]):
        crosses = segments_intersect_xy(*(v[..., None, :] for v in (ex, ey, tx, ty)),
                                        *(v[None, None, k] for v in seg))        # [A, T, s, N]
        blocked = blocked | (crosses & c.not_own_edge[:, k]).any(2)
    viewer_low = core["agent_z"] < c.top - 1e-3
    present = torch.cat([core["agent_present"], core["obj_present"]])[None]
    seen = in_cone & ~(blocked & viewer_low[:, None]) & present & core["agent_present"][:, None] \
        & (dist > 1e-6)
    a = ap.shape[1]
    return seen[:, :a], seen[:, a:]


def lidar(core: Core, c: SensorConstants, seg: tuple[Tensor, Tensor, Tensor, Tensor]) -> Tensor:
    """Distance / range along each ray [A, R, N]; 1.0 = nothing within range.

    Segments are moved into each agent's frame once ([A, S, N]); the rays then have constant
    directions, so each segment costs a handful of multiply-adds per ray. Segments are walked
    in ``chunks`` (one at a time when compiled)."""
    ap, yaw = core["agent_pos"], core["agent_yaw"]
    cos, sin = torch.cos(yaw)[:, None], torch.sin(yaw)[:, None]                 # [A, 1, N]
    px, py = ap[0][:, None], ap[1][:, None]
    ax, ay = to_local_xy(seg[0][None], seg[1][None], px, py, cos, sin)          # [A, S, N]
    bx, by = to_local_xy(seg[2][None], seg[3][None], px, py, cos, sin)
    ex, ey = bx - ax, by - ay
    t_num = ax * ey - ay * ex
    face = c.seg_half_thickness[:, None] * norm_xy(ex, ey)
    rc, rs = c.ray_cos[:, None], c.ray_sin[:, None]                             # [R, 1]
    best = torch.full_like(rc * cos, c.lidar_range)                            # [A, R, N]
    rc, rs = rc[..., None], rs[..., None]                                       # [R, 1, 1]
    for k in chunks(ax.shape[1]):
        sax, say, sex, sey, num, fc = (v[:, None, k] for v in (ax, ay, ex, ey, t_num, face))
        den = rc * sey - rs * sex                                              # [A, R, s, N]
        ok = den.abs() > 1e-9
        inv = 1.0 / torch.where(ok, den, torch.full_like(den, 1e-9))
        # Hit point on the centre line at t; the face the ray meets first is `face/|sin|` earlier.
        t = num * inv - fc * inv.abs()
        u = (sax * rs - say * rc) * inv
        hit = ok & (t >= 0) & (u >= 0) & (u <= 1)
        best = torch.minimum(best, torch.where(hit, t, torch.full_like(t, c.lidar_range)).amin(2))
    return best.clamp(max=c.lidar_range) / c.lidar_range


def phase_of(t: Tensor, c: SensorConstants) -> tuple[Tensor, Tensor, Tensor]:
    """(in prep [N] bool, prep fraction left [N], episode fraction left [N]) at step t [N]."""
    tf = t.to(torch.float32)
    in_prep = t < c.prep_steps
    prep_left = ((c.prep_steps - tf) / max(c.prep_steps, 1)).clamp(min=0.0)
    return in_prep, prep_left, (c.horizon - tf) / c.horizon


def _arena_first(planes: Tensor) -> Tensor:
    """Feature planes [F, ..., N] -> contiguous rows [N, ..., F] (the contract's layout)."""
    d = planes.dim()
    return planes.permute(d - 1, *range(1, d - 1), 0).contiguous()


def _object_planes(core: Core, c: SensorConstants) -> list[Tensor]:
    """Per-object quantities [O, N] shared by the observations and the state: velocity,
    sin, cos and size, all scaled by the floor size where they are lengths."""
    f = c.floor_size
    vel, yaw, half = core["obj_vel"], core["obj_yaw"], core["obj_half"]
    return [vel[0] / f, vel[1] / f, torch.sin(yaw), torch.cos(yaw), 2 * half[0] / f,
            2 * half[1] / f]


def pack(core: Core, c: SensorConstants, seen_agents: Tensor, seen_objs: Tensor,
         lidar_frac: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """obs_0..obs_3 (arena first, contract column order) and which agents are frozen [A, N],
    from a core state, who sees whom [A, A, N] / what [A, O, N] and lidar [A, R, N].

    Every column is computed as a contiguous [.., N] plane and the planes are transposed to
    rows once at the end."""
    f = c.floor_size
    ap, vel, z, yaw = core["agent_pos"], core["agent_vel"], core["agent_z"], core["agent_yaw"]
    a, n = z.shape
    present = core["agent_present"]
    in_prep, prep_left, ep_left = phase_of(core["t"], c)
    hider = c.is_hider[:, None].to(z.dtype).expand(a, n)
    sin_a, cos_a = torch.sin(yaw), torch.cos(yaw)
    self_planes = torch.stack([
        ap[0] / f, ap[1] / f, z / f, vel[0] / f, vel[1] / f, sin_a, cos_a,
        core["agent_angvel"] / c.top_angvel, hider, prep_left.expand(a, n), ep_left.expand(a, n)])
    obs_0 = torch.cat([self_planes, lidar_frac.transpose(0, 1)]) * present    # [41, A, N]

    # Other agents, from each viewer's point of view: [10, A(viewer), A(target), N].
    def pair(v: Tensor) -> Tensor:            # target's value minus viewer's
        return v[None] - v[:, None]

    target = lambda v: v[None].expand(a, a, n)  # noqa: E731
    teammate = (c.is_hider[:, None] == c.is_hider[None, :])[..., None].to(z.dtype).expand(a, a, n)
    agent_rows = torch.stack([
        torch.ones_like(teammate), pair(ap[0]) / f, pair(ap[1]) / f, pair(z) / f,
        target(vel[0] / f), target(vel[1] / f), target(sin_a), target(cos_a), teammate,
        target(hider)]) * seen_agents
    if a > 1:   # each viewer's row skips itself
        obs_1 = torch.stack([torch.cat([agent_rows[:, i, :i], agent_rows[:, i, i + 1:]], 1)
                             for i in range(a)], 1)
    else:
        obs_1 = torch.zeros(agent_rows.shape[0], a, 1, n, device=z.device)

    # Boxes and ramps: [14, A, O, N].
    op = core["obj_pos"]
    o = op.shape[1]
    team = torch.where(c.is_hider, 0, 1)[:, None, None]                         # viewer's team
    locked = core["obj_locked_team"][None]                                        # [1, O, N]
    held = core["obj_held_by"][None]
    slot = torch.arange(a, device=z.device)[:, None, None]
    obj = lambda v: v[None].expand(a, o, n)  # noqa: E731
    ones = torch.ones(a, o, n, device=z.device)
    obj_rows = torch.stack([
        ones, (op[0][None] - ap[0][:, None]) / f, (op[1][None] - ap[1][:, None]) / f,
        (-z / f)[:, None].expand(a, o, n), *(obj(v) for v in _object_planes(core, c)),
        (locked == team).to(z.dtype).expand(a, o, n),
        ((locked >= 0) & (locked != team)).to(z.dtype).expand(a, o, n),
        (held == slot).to(z.dtype), ((held >= 0) & (held != slot)).to(z.dtype),
    ]) * seen_objs
    obs_2, obs_3 = obj_rows[:, :, :c.max_boxes], obj_rows[:, :, c.max_boxes:]
    if obs_2.shape[2] == 0:
        obs_2 = torch.zeros(obj_rows.shape[0], a, 1, n, device=z.device)
    if obs_3.shape[2] == 0:
        obs_3 = torch.zeros(obj_rows.shape[0], a, 1, n, device=z.device)

    # Action masks: seekers during prep may only choose "nothing" (WORLD.md "Actions").
    frozen = (in_prep & ~c.is_hider[:, None]) | ~present
    return (_arena_first(obs_0), _arena_first(obs_1), _arena_first(obs_2), _arena_first(obs_3),
            frozen)


def state_planes(core: Core, c: SensorConstants, obs_0: Tensor) -> Tensor:
    """The critic's flat state [N, S] from a core state and the packed ``obs_0`` [N, A, 41]:
    agents (present + full self vector), boxes, ramps, walls, globals
    (contract ``ObsLayout.state_blocks``)."""
    f = c.floor_size
    n = obs_0.shape[0]
    _, prep_left, ep_left = phase_of(core["t"], c)
    present = core["agent_present"].to(obs_0.dtype)                             # [A, N]
    agents = torch.cat([flip(present)[..., None], obs_0 * flip(present)[..., None]], -1)
    op, locked, held = core["obj_pos"], core["obj_locked_team"], core["obj_held_by"]
    held_by_hider = (held >= 0) & c.is_hider[held.clamp(min=0)]
    objects = torch.stack([
        torch.ones_like(op[0]), op[0] / f, op[1] / f, torch.zeros_like(op[0]),
        *_object_planes(core, c), (locked == 0).to(op.dtype), (locked == 1).to(op.dtype),
        held_by_hider.to(op.dtype), ((held >= 0) & ~held_by_hider).to(op.dtype),
    ]) * core["obj_present"]                                                     # [14, O, N]
    # Parked (absent) wall pieces are all-zero rows.
    wa, wb = core["wall_a"], core["wall_b"]
    wall_present = (torch.maximum(wa[0].abs(), wa[1].abs()) < PARK_DISTANCE / 2).to(op.dtype)
    walls = torch.stack([wall_present, wa[0] / f, wa[1] / f, wb[0] / f, wb[1] / f]) * wall_present
    return torch.cat([agents.reshape(n, -1), _arena_first(objects).reshape(n, -1),
                      _arena_first(walls).reshape(n, -1), prep_left[:, None], ep_left[:, None]],
                     -1)


def observe(s: SimState, c: SensorConstants, seen_agents: Tensor, seen_objs: Tensor,
            lidar_frac: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """:func:`pack` for a public-layout state and arena-first seen_agents [N, A, A], seen_objs
    [N, A, O] and lidar [N, A, R]; the frozen mask is [N, A]."""
    core_seen = lambda t: t.permute(1, 2, 0)  # noqa: E731
    *obs, frozen = pack(to_core_view(s), c, core_seen(seen_agents), core_seen(seen_objs),
                        core_seen(lidar_frac))
    return (*obs, flip(frozen))


def global_state(s: SimState, c: SensorConstants, obs_0: Tensor) -> Tensor:
    """:func:`state_planes` for a public-layout state."""
    return state_planes(to_core_view(s), c, obs_0)
