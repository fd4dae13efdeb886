"""Sensors: vision cone with line of sight, lidar, and the packing of obs_0..obs_3 and the
critic state in the contract's column order (hideseek.contract).

Vision and lidar work on the core layout (``hideseek.sim.state``); packing reads a public-layout
``SimState`` (views of the core tensors in the step), because the packed rows are arena first
and the same functions check the C# packing (tests/test_unity_parity.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from ..contract import WorldConfig
from .geometry import chunks, norm_xy, segments_intersect_xy, to_local_xy
from .state import PARK_DISTANCE, Core, SimState, flip, to_core_view


@dataclass(frozen=True)
class SensorConstants:
    cos_half_cone: float
    ray_cos: Tensor           # [R] ray directions in the agent's frame
    ray_sin: Tensor
    lidar_range: float
    wall_half_thickness: float
    top: float
    floor_size: float
    top_angvel: float
    # Sight lines (see visibility): one per unordered pair of agents and one per (agent,
    # object), as indices into the targets (agents, then objects).
    line_from: Tensor         # [L] int64 agent index
    line_to: Tensor           # [L] int64 target index
    line_not_own: Tensor      # [L, O, 1] bool: False where the line ends at object o itself
    line_of: Tensor           # [A * T] int64: the line between viewer a and target t; L for a = t
    is_hider: Tensor          # [A] bool
    is_ramp: Tensor           # [O] bool
    prep_steps: int
    horizon: int
    max_boxes: int

    @staticmethod
    def of(world: WorldConfig, device: torch.device) -> "SensorConstants":
        lay = world.layout
        a, o = lay.max_agents, lay.max_boxes + lay.max_ramps
        ends = [(i, j) for i in range(a) for j in range(i + 1, a)] + \
               [(i, a + k) for i in range(a) for k in range(o)]
        line_of = torch.full((a, a + o), len(ends), dtype=torch.int64)
        for line, (i, j) in enumerate(ends):
            line_of[i, j] = line
            if j < a:
                line_of[j, i] = line
        not_own = torch.tensor([[j != a + k for k in range(o)] for _, j in ends],
                               dtype=torch.bool).reshape(len(ends), o, 1)
        rays = torch.arange(world.lidar_rays, device=device, dtype=torch.float32)
        return SensorConstants(
            cos_half_cone=math.cos(math.radians(world.vision_cone_deg) / 2),
            ray_cos=torch.cos(rays * (2 * math.pi / max(world.lidar_rays, 1))),
            ray_sin=torch.sin(rays * (2 * math.pi / max(world.lidar_rays, 1))),
            lidar_range=world.lidar_range, wall_half_thickness=world.wall_thickness / 2,
            top=world.wall_height, floor_size=world.floor_size,
            top_angvel=world.max_torque / max(world.agent_angular_friction, 1e-6),
            line_from=torch.tensor([i for i, _ in ends], dtype=torch.int64, device=device),
            line_to=torch.tensor([j for _, j in ends], dtype=torch.int64, device=device),
            line_not_own=not_own.to(device), line_of=line_of.flatten().to(device),
            is_hider=torch.arange(a, device=device) < lay.max_hiders,
            is_ramp=torch.arange(o, device=device) >= lay.max_boxes,
            prep_steps=world.prep_steps, horizon=world.horizon, max_boxes=lay.max_boxes)


# Boxes and ramps block sight and lidar with their four edges. Tests run in the object's own
# frame, where its edges are the faces x = +-hx and y = +-hy, and only against the face of each
# axis that a line can meet first: the one facing the line's start when the start lies outside
# that slab, else the one its direction leaves through. A line from outside that meets the box
# at all enters through one of those faces; a line from inside leaves through one. So two face
# tests decide what the four edge tests would, and the nearest hit is the same.
def _first_face(start: Tensor, direction: Tensor, half: Tensor) -> Tensor:
    """The coordinate (+-half) of the face of one axis a line from ``start`` meets first."""
    return torch.where(start.abs() > half, torch.sign(start), torch.sign(direction)) * half


def _segment_meets_box(px: Tensor, py: Tensor, qx: Tensor, qy: Tensor, hx: Tensor, hy: Tensor
                       ) -> Tensor:
    """Whether segments p->q (in box frames) cross the boundary of boxes of half size (hx, hy)."""
    dx, dy = qx - px, qy - py

    def crosses(px, py, dx, dy, hx, hy):   # the face x = fx, |y| <= hy, without dividing
        fx = _first_face(px, dx, hx)
        den = dx.abs()
        s = (fx - px) * torch.sign(dx)          # crossing parameter times den
        return (den > 1e-9) & (s >= 0) & (s <= den) & ((py * den + s * dy).abs() <= hy * den)

    return crosses(px, py, dx, dy, hx, hy) | crosses(py, px, dy, dx, hy, hx)


def _ray_to_box(px: Tensor, py: Tensor, dx: Tensor, dy: Tensor, hx: Tensor, hy: Tensor,
                far: float) -> Tensor:
    """Distance along unit rays from p with direction d (in box frames) to the box boundary,
    ``far`` where they miss it."""
    def face(px, py, dx, dy, hx, hy):
        ok = dx.abs() > 1e-9
        t = (_first_face(px, dx, hx) - px) / torch.where(ok, dx, torch.ones_like(dx))
        hit = ok & (t >= 0) & ((py + t * dy).abs() <= hy)
        return torch.where(hit, t, torch.full_like(t, far))

    return torch.minimum(face(px, py, dx, dy, hx, hy), face(py, px, dy, dx, hy, hx))


class Trig(NamedTuple):
    """cos and sin of every agent's [A, N] and object's [O, N] yaw. The step computes them once
    and hands them in: inside a compiled kernel they would otherwise be recomputed for every
    ray and every line that reads them."""

    agent_cos: Tensor
    agent_sin: Tensor
    obj_cos: Tensor
    obj_sin: Tensor

    @staticmethod
    def of(core: Core) -> "Trig":
        ay, oy = core["agent_yaw"], core["obj_yaw"]
        return Trig(torch.cos(ay), torch.sin(ay), torch.cos(oy), torch.sin(oy))


def visibility(core: Core, c: SensorConstants, trig: Trig) -> tuple[Tensor, Tensor]:
    """Who sees what: agents [A, A, N] and objects [A, O, N] (viewer first, core layout).

    A target is seen when its centre is inside the viewer's cone and the sight line crosses no
    wall centre line and no edge of a box or ramp (the target's own edges excepted). A viewer
    standing on top sees over everything, since every occluder is at most as tall as the top
    height. Whether a line is blocked does not depend on its direction, so each pair of agents
    shares one line. Walls and objects are walked in ``chunks`` (one at a time when compiled)."""
    ap, op = core["agent_pos"], core["obj_pos"]
    a, n = core["agent_z"].shape
    tx, ty = torch.cat([ap[0], op[0]]), torch.cat([ap[1], op[1]])               # [T, N]
    ex, ey = ap[0][:, None], ap[1][:, None]                                      # [A, 1, N]
    dx, dy = tx[None] - ex, ty[None] - ey
    dist = norm_xy(dx, dy)
    in_cone = dx * trig.agent_cos[:, None] + dy * trig.agent_sin[:, None] >= \
        c.cos_half_cone * dist

    px, py, qx, qy = tx[c.line_from], ty[c.line_from], tx[c.line_to], ty[c.line_to]  # [L, N]
    wa, wb = core["wall_a"], core["wall_b"]
    blocked = torch.zeros_like(px, dtype=torch.bool)
    for k in chunks(wa.shape[1]):
        crosses = segments_intersect_xy(px[:, None], py[:, None], qx[:, None], qy[:, None],
                                        *(v[None, k] for v in (wa[0], wa[1], wb[0], wb[1])))
        blocked = blocked | crosses.any(1)
    # Every target in every object's frame [T, O, N]; the lines' ends picked from them.
    half = core["obj_half"]
    lx, ly = to_local_xy(tx[:, None], ty[:, None], op[0], op[1], trig.obj_cos, trig.obj_sin)
    for k in chunks(op.shape[1]):
        meets = _segment_meets_box(lx[c.line_from, k], ly[c.line_from, k], lx[c.line_to, k],
                                   ly[c.line_to, k], half[0][k], half[1][k])  # [L, o, N]
        blocked = blocked | (meets & c.line_not_own[:, k]).any(1)
    no_line = torch.zeros_like(blocked[:1])
    blocked = torch.cat([blocked, no_line])[c.line_of].view(a, -1, n)              # [A, T, N]
    viewer_low = core["agent_z"] < c.top - 1e-3
    present = torch.cat([core["agent_present"], core["obj_present"]])[None]
    seen = in_cone & ~(blocked & viewer_low[:, None]) & present & core["agent_present"][:, None] \
        & (dist > 1e-6)
    return seen[:, :a], seen[:, a:]


def lidar(core: Core, c: SensorConstants, trig: Trig) -> Tensor:
    """Distance / range along each ray [A, R, N]; 1.0 = nothing within range.

    Walls are moved into each agent's frame once ([A, W, N]); the rays then have constant
    directions, so each wall costs a handful of multiply-adds per ray, and a ray meets a wall's
    face half a thickness before its centre line. Boxes and ramps are tested in their own
    frames (``_ray_to_box``). Walls and objects are walked in ``chunks`` (one at a time when
    compiled)."""
    ap = core["agent_pos"]
    cos, sin = trig.agent_cos[:, None], trig.agent_sin[:, None]                 # [A, 1, N]
    px, py = ap[0][:, None], ap[1][:, None]
    wa, wb = core["wall_a"], core["wall_b"]
    ax, ay = to_local_xy(wa[0][None], wa[1][None], px, py, cos, sin)            # [A, W, N]
    bx, by = to_local_xy(wb[0][None], wb[1][None], px, py, cos, sin)
    ex, ey = bx - ax, by - ay
    t_num = ax * ey - ay * ex
    face = c.wall_half_thickness * norm_xy(ex, ey)
    rc, rs = c.ray_cos[:, None], c.ray_sin[:, None]                             # [R, 1]
    best = torch.full_like(rc * cos, c.lidar_range)                            # [A, R, N]
    rc3, rs3 = rc[..., None], rs[..., None]                                     # [R, 1, 1]
    for k in chunks(ax.shape[1]):
        sax, say, sex, sey, num, fc = (v[:, None, k] for v in (ax, ay, ex, ey, t_num, face))
        den = rc3 * sey - rs3 * sex                                            # [A, R, w, N]
        ok = den.abs() > 1e-9
        inv = 1.0 / torch.where(ok, den, torch.full_like(den, 1e-9))
        # Hit point on the centre line at t; the face the ray meets first is `face/|sin|` earlier.
        t = num * inv - fc * inv.abs()
        u = (sax * rs3 - say * rc3) * inv
        hit = ok & (t >= 0) & (u >= 0) & (u <= 1)
        best = torch.minimum(best, torch.where(hit, t, torch.full_like(t, c.lidar_range)).amin(2))
    # Rays in the world frame [A, R, N], then in each object's frame.
    dwx, dwy = rc * cos - rs * sin, rs * cos + rc * sin
    op, half, ocos, osin = core["obj_pos"], core["obj_half"], trig.obj_cos, trig.obj_sin
    for k in chunks(op.shape[1]):
        lx, ly = to_local_xy(px[:, :, None], py[:, :, None], op[0][k], op[1][k], ocos[k],
                             osin[k])                                          # [A, 1, o, N]
        c_k, s_k, wx, wy = ocos[k], osin[k], dwx[:, :, None], dwy[:, :, None]
        hit = _ray_to_box(lx, ly, c_k * wx + s_k * wy, c_k * wy - s_k * wx, half[0][k],
                          half[1][k], c.lidar_range)                           # [A, R, o, N]
        best = torch.minimum(best, hit.amin(2))
    return best.clamp(max=c.lidar_range) / c.lidar_range


def phase_of(t: Tensor, c: SensorConstants) -> tuple[Tensor, Tensor, Tensor]:
    """(in prep [N] bool, prep fraction left [N], episode fraction left [N]) at step t [N]."""
    tf = t.to(torch.float32)
    in_prep = t < c.prep_steps
    prep_left = ((c.prep_steps - tf) / max(c.prep_steps, 1)).clamp(min=0.0)
    return in_prep, prep_left, (c.horizon - tf) / c.horizon


def frozen_slots(in_prep: Tensor, present: Tensor, c: SensorConstants) -> Tensor:
    """Agents [A, N] whose only allowed action is "do nothing": seekers during prep (WORLD.md
    "Actions") and absent slots."""
    return (in_prep & ~c.is_hider[:, None]) | ~present


def _arena_first(planes: Tensor) -> Tensor:
    """Feature planes [F, ..., N] -> contiguous rows [N, ..., F] (the contract's layout)."""
    d = planes.dim()
    return planes.permute(d - 1, *range(1, d - 1), 0).contiguous()


def _object_planes(core: Core, c: SensorConstants, trig: Trig) -> list[Tensor]:
    """Per-object quantities [O, N] shared by the observations and the state: velocity,
    sin, cos and size, all scaled by the floor size where they are lengths."""
    f = c.floor_size
    vel, half = core["obj_vel"], core["obj_half"]
    return [vel[0] / f, vel[1] / f, trig.obj_sin, trig.obj_cos, 2 * half[0] / f,
            2 * half[1] / f]


def pack(core: Core, c: SensorConstants, trig: Trig, seen_agents: Tensor, seen_objs: Tensor,
         lidar_frac: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """obs_0..obs_3 (arena first, contract column order) and which agents are frozen [A, N],
    from a core state, who sees whom [A, A, N] / what [A, O, N] and lidar [A, R, N].

    Every column is computed as a contiguous [.., N] plane and the planes are transposed to
    rows once at the end."""
    f = c.floor_size
    ap, vel, z = core["agent_pos"], core["agent_vel"], core["agent_z"]
    a, n = z.shape
    present = core["agent_present"]
    in_prep, prep_left, ep_left = phase_of(core["t"], c)
    hider = c.is_hider[:, None].to(z.dtype).expand(a, n)
    sin_a, cos_a = trig.agent_sin, trig.agent_cos
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
        (-z / f)[:, None].expand(a, o, n), *(obj(v) for v in _object_planes(core, c, trig)),
        (locked == team).to(z.dtype).expand(a, o, n),
        ((locked >= 0) & (locked != team)).to(z.dtype).expand(a, o, n),
        (held == slot).to(z.dtype), ((held >= 0) & (held != slot)).to(z.dtype),
    ]) * seen_objs
    obs_2, obs_3 = obj_rows[:, :, :c.max_boxes], obj_rows[:, :, c.max_boxes:]
    if obs_2.shape[2] == 0:
        obs_2 = torch.zeros(obj_rows.shape[0], a, 1, n, device=z.device)
    if obs_3.shape[2] == 0:
        obs_3 = torch.zeros(obj_rows.shape[0], a, 1, n, device=z.device)

    frozen = frozen_slots(in_prep, present, c)
    return (_arena_first(obs_0), _arena_first(obs_1), _arena_first(obs_2), _arena_first(obs_3),
            frozen)


def state_planes(core: Core, c: SensorConstants, trig: Trig, obs_0: Tensor) -> Tensor:
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
        *_object_planes(core, c, trig), (locked == 0).to(op.dtype), (locked == 1).to(op.dtype),
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
    core = to_core_view(s)
    *obs, frozen = pack(core, c, Trig.of(core), core_seen(seen_agents), core_seen(seen_objs),
                        core_seen(lidar_frac))
    return (*obs, flip(frozen))


def global_state(s: SimState, c: SensorConstants, obs_0: Tensor) -> Tensor:
    """:func:`state_planes` for a public-layout state."""
    core = to_core_view(s)
    return state_planes(core, c, Trig.of(core), obs_0)
