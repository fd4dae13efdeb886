"""Episode layouts: walls, doors and spawn positions for a batch of arenas, from their seeds.

Spawning uses a grid of cells (about 0.6 m): every entity takes a distinct cell centre plus a
small jitter, chosen by a random score among the cells its rule allows (WORLD.md "Arena and
scenarios"). Inner walls lie on cell borders, so no cell centre is ever inside a wall. Small
initial overlaps (rotated boxes in neighbouring cells) are resolved by the first physics step.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..contract import WorldConfig
from .geometry import point_segment_distance
from .rng import LayoutRng
from .state import PARK_DISTANCE, SimState

CELL = 0.6  # target cell size (m)


def door_along(world: WorldConfig) -> tuple[tuple[float, float], ...]:
    """The direction of the wall each door slot is cut into (``door_pos`` order): quadrant, the
    room's vertical wall then its horizontal one; random_rooms, the vertical wall's two doors,
    then the left and the right horizontal wall's."""
    if world.scenario == "quadrant":
        return ((0.0, 1.0), (1.0, 0.0))
    return ((0.0, 1.0), (0.0, 1.0), (1.0, 0.0), (1.0, 0.0))


def _cells(world: WorldConfig, device: torch.device) -> tuple[Tensor, float, int]:
    """Cell centres [C, 2], the exact cell size and the cells per side."""
    per_side = max(int(world.floor_size // CELL), 2)
    size = world.floor_size / per_side
    ticks = -world.floor_size / 2 + size * (torch.arange(per_side, device=device) + 0.5)
    gy, gx = torch.meshgrid(ticks, ticks, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], -1), size, per_side


def _outer_walls(world: WorldConfig, n: int, device: torch.device) -> tuple[Tensor, Tensor]:
    h = world.floor_size / 2 + world.wall_thickness / 2   # centre line, just outside the floor
    e = h + world.wall_thickness / 2
    a = torch.tensor([[-e, -h], [e, h], [-h, -e], [h, e]], device=device)
    b = torch.tensor([[e, -h], [-e, h], [-h, e], [h, -e]], device=device)
    return a.expand(n, 4, 2), b.expand(n, 4, 2)


def _wall_with_doors(start: Tensor, end: Tensor, doors: list[Tensor], door_on: list[Tensor],
                     width: float) -> tuple[list[Tensor], list[Tensor]]:
    """Split the straight wall start->end [N, 2] at door centres given as fractions along it
    (sorted, each [N]); a door that is off leaves its gap closed. Returns len(doors)+1 pieces;
    a piece merged away by a closed door is parked (degenerate, far away)."""
    length = (end - start).norm(dim=-1, keepdim=True)
    direction = (end - start) / length
    half_gap = width / 2
    pieces_a, pieces_b = [], []
    cursor = start
    for frac, on in zip(doors, door_on):
        centre = start + direction * (frac[:, None] * length)
        gap_start = centre - direction * half_gap
        gap_end = centre + direction * half_gap
        # Door open: this piece ends at the gap and the next starts after it.
        # Door closed: this piece is parked and the next piece starts at the same cursor.
        parked = torch.full_like(cursor, PARK_DISTANCE)
        on2 = on[:, None]
        pieces_a.append(torch.where(on2, cursor, parked))
        pieces_b.append(torch.where(on2, gap_start, parked))
        cursor = torch.where(on2, gap_end, cursor)
    pieces_a.append(cursor)
    pieces_b.append(end)
    return pieces_a, pieces_b


def _quadrant_walls(world: WorldConfig, rng: LayoutRng, n: int, device: torch.device):
    half, t, room = world.floor_size / 2, world.wall_thickness, world.room_size
    x0 = half - room
    margin = (world.door_width / 2 + t) / room
    u = rng.uniform(4)
    door_frac = margin + u[:, :2] * (1 - 2 * margin)
    removed = u[:, 2:] < world.door_removal_prob
    both = removed.all(-1)
    keep_first = u[:, 2] >= u[:, 3]            # when both would go, keep the less-removed one
    removed = torch.where(both[:, None], torch.stack([~keep_first, keep_first], -1), removed)
    door_on = ~removed
    corner = torch.tensor([x0, x0], device=device).expand(n, 2)
    v_a, v_b = _wall_with_doors(corner - torch.tensor([0.0, t / 2], device=device),
                                torch.tensor([x0, half], device=device).expand(n, 2),
                                [door_frac[:, 0]], [door_on[:, 0]], world.door_width)
    h_a, h_b = _wall_with_doors(corner - torch.tensor([t / 2, 0.0], device=device),
                                torch.tensor([half, x0], device=device).expand(n, 2),
                                [door_frac[:, 1]], [door_on[:, 1]], world.door_width)
    inner_a = torch.stack(v_a + h_a, 1)
    inner_b = torch.stack(v_b + h_b, 1)
    # The middle of each gap _wall_with_doors cut: the walls start half a thickness before the
    # corner, so a fraction f of the wall is at x0 - t/2 + f * (room + t/2).
    along = x0 - t / 2 + door_frac * (room + t / 2)
    door_pos = torch.stack([
        torch.stack([torch.full_like(along[:, 0], x0), along[:, 0]], -1),
        torch.stack([along[:, 1], torch.full_like(along[:, 1], x0)], -1),
    ], 1)
    return inner_a, inner_b, door_pos, door_on


def _random_rooms_walls(world: WorldConfig, rng: LayoutRng, n: int, device: torch.device,
                        cell: float, per_side: int):
    """1-4 rooms: a vertical wall (two doors) splits the floor; horizontal walls (one door
    each) split the left, then the right part. Walls lie on cell borders, doors on cell centres."""
    half, t = world.floor_size / 2, world.wall_thickness
    n_rooms = rng.integers(world.n_rooms[0], world.n_rooms[1])
    lo_b, hi_b = per_side // 2 - 2, per_side // 2 + 2     # inner border indices near the middle
    col = rng.integers(lo_b, hi_b)                          # vertical wall on border `col`
    row_l = rng.integers(lo_b, hi_b)
    row_r = rng.integers(lo_b, hi_b)
    xw = -half + cell * col.float()
    yl = -half + cell * row_l.float()
    yr = -half + cell * row_r.float()
    mid = per_side // 2
    # Door cell indices: vertical wall one below and one above the middle; horizontals anywhere
    # along their piece.
    d_low = rng.integers(1, mid - 1)
    d_high = rng.integers(mid, per_side - 2)
    d_left = rng.integers(torch.zeros_like(col), col - 1)
    d_right = rng.integers(col, torch.full_like(col, per_side - 1))
    centre = lambda idx: -half + cell * (idx.float() + 0.5)  # noqa: E731
    full = 2 * half + t
    has_v, has_l, has_r = n_rooms >= 2, n_rooms >= 3, n_rooms >= 4
    always = torch.ones_like(has_v)
    v_start = torch.stack([xw, torch.full_like(xw, -half - t / 2)], -1)
    v_end = torch.stack([xw, torch.full_like(xw, half + t / 2)], -1)
    v_a, v_b = _wall_with_doors(v_start, v_end,
                                [(centre(d_low) + half + t / 2) / full,
                                 (centre(d_high) + half + t / 2) / full],
                                [always, always], world.door_width)
    l_start = torch.stack([torch.full_like(yl, -half - t / 2), yl], -1)
    l_end = torch.stack([xw, yl], -1)
    l_len = (l_end - l_start)[:, 0]
    l_a, l_b = _wall_with_doors(l_start, l_end, [(centre(d_left) - l_start[:, 0]) / l_len],
                                [always], world.door_width)
    r_start = torch.stack([xw, yr], -1)
    r_end = torch.stack([torch.full_like(yr, half + t / 2), yr], -1)
    r_len = (r_end - r_start)[:, 0]
    r_a, r_b = _wall_with_doors(r_start, r_end, [(centre(d_right) - r_start[:, 0]) / r_len],
                                [always], world.door_width)
    park = lambda pieces, on: [torch.where(on[:, None], p, torch.full_like(p, PARK_DISTANCE))  # noqa: E731
                               for p in pieces]
    inner_a = torch.stack(park(v_a, has_v) + park(l_a, has_l) + park(r_a, has_r), 1)
    inner_b = torch.stack(park(v_b, has_v) + park(l_b, has_l) + park(r_b, has_r), 1)
    door_pos = torch.stack([
        torch.stack([xw, centre(d_low)], -1), torch.stack([xw, centre(d_high)], -1),
        torch.stack([centre(d_left), yl], -1), torch.stack([centre(d_right), yr], -1)], 1)
    door_on = torch.stack([has_v, has_v, has_l, has_r], -1)
    return inner_a, inner_b, door_pos, door_on


def _count_present(rng: LayoutRng, rng_range: tuple[int, int], slots: int) -> Tensor:
    count = rng.integers(rng_range[0], rng_range[1])
    return torch.arange(slots, device=count.device)[None, :] < count[:, None]


def generate(world: WorldConfig, seeds: Tensor, episodes: Tensor) -> SimState:
    """A fresh episode state for each arena in ``seeds``/``episodes`` ([n] int64 each)."""
    device = seeds.device
    n = seeds.shape[0]
    lay = world.layout
    n_agents, n_boxes, n_ramps = lay.max_agents, lay.max_boxes, lay.max_ramps
    n_obj = n_boxes + n_ramps
    rng = LayoutRng(seeds, episodes)
    cells, cell, per_side = _cells(world, device)
    half = world.floor_size / 2

    outer_a, outer_b = _outer_walls(world, n, device)
    if world.scenario == "quadrant":
        inner_a, inner_b, door_pos, door_on = _quadrant_walls(world, rng, n, device)
    else:
        inner_a, inner_b, door_pos, door_on = _random_rooms_walls(world, rng, n, device,
                                                                  cell, per_side)
    wall_a = torch.cat([outer_a, inner_a], 1)
    wall_b = torch.cat([outer_b, inner_b], 1)

    # Which cells each kind of entity may use.
    wall_clearance = point_segment_distance(
        cells[None, :, None, :], wall_a[:, None], wall_b[:, None]).amin(-1)     # [n, C]
    if world.scenario == "quadrant":
        x0 = half - world.room_size
        in_room = (cells[:, 0] > x0) & (cells[:, 1] > x0)
        box_ok = in_room[None] & (wall_clearance >= 0.45)
        seeker_ok = (~in_room)[None].expand(n, -1)
        hider_ok = torch.ones_like(seeker_ok)
    else:
        box_ok = wall_clearance >= 0.45
        radius = world.team_spawn_radius
        anchors = rng.integers(0, cells.shape[0] - 1, 2)                           # [n, 2]
        near = (cells[None, None] - cells[anchors][:, :, None]).norm(dim=-1) <= radius       # [n, 2, C]
        hider_ok, seeker_ok = near[:, 0], near[:, 1]
    ramp_ok = wall_clearance >= 0.6

    agent_present = torch.cat([_count_present(rng, world.n_hiders, lay.max_hiders),
                               _count_present(rng, world.n_seekers, lay.max_seekers)], 1)
    box_present = _count_present(rng, world.n_boxes, n_boxes)
    ramp_present = _count_present(rng, world.n_ramps, n_ramps)
    n_elongated = torch.minimum(rng.integers(*world.n_elongated_boxes), box_present.sum(-1))
    elongated = torch.arange(n_boxes, device=device)[None] < n_elongated[:, None]

    # Greedy distinct-cell assignment: boxes, ramps, agents. Each step takes the best-scoring
    # allowed free cell (a used or disallowed one only when none is left) and blocks cells
    # within `block` of it.
    used = torch.zeros(n, cells.shape[0], dtype=torch.bool, device=device)
    scores = rng.uniform(n_agents + n_obj, cells.shape[0])
    jitter = (rng.uniform(n_agents + n_obj, 2) - 0.5) * 0.1
    yaws = rng.uniform(n_agents + n_obj) * (2 * math.pi)
    cell_dist = (cells[:, None] - cells[None]).norm(dim=-1)                         # [C, C]

    def place(slot: int, allowed: Tensor, block: Tensor | float) -> Tensor:
        nonlocal used
        score = torch.where(allowed & ~used, scores[:, slot], scores[:, slot] - 2.0)
        choice = score.argmax(-1)
        block_t = torch.as_tensor(block, device=device).reshape(-1, 1)
        used = used | (cell_dist[choice] <= block_t + 1e-3)
        return cells[choice] + jitter[:, slot]

    # Boxes first, so that their cells (the room's, in the quadrant) are theirs; a ramp keeps
    # 0.9 m from every box.
    obj_pos = [None] * n_obj
    for b in range(n_boxes):
        block = torch.where(elongated[:, b], torch.tensor(0.9, device=device),
                            torch.tensor(cell + 1e-3, device=device))
        obj_pos[b] = place(n_agents + b, box_ok, block)
    if n_boxes:
        box_cells = torch.stack(obj_pos[:n_boxes], 1)                                 # [n, B, 2]
        near_box = ((cells[None, :, None] - box_cells[:, None]).norm(dim=-1) < 0.9).any(-1)
        ramp_ok = ramp_ok & ~near_box
    for r in range(n_ramps):
        obj_pos[n_boxes + r] = place(n_agents + n_boxes + r, ramp_ok, 0.9)
    agent_pos = [None] * n_agents
    for a in range(n_agents):
        ok = hider_ok if a < lay.max_hiders else seeker_ok
        agent_pos[a] = place(a, ok, 0.0)

    agent_pos_t = torch.stack(agent_pos, 1)
    obj_pos_t = torch.stack(obj_pos, 1) if n_obj else torch.zeros(n, 0, 2, device=device)
    obj_present = torch.cat([box_present, ramp_present], 1)
    park_agents = PARK_DISTANCE + 10.0 * torch.arange(n_agents, device=device, dtype=torch.float32)
    park_objs = -PARK_DISTANCE - 10.0 * torch.arange(n_obj, device=device, dtype=torch.float32)
    agent_pos_t = torch.where(agent_present[..., None], agent_pos_t, park_agents[None, :, None])
    obj_pos_t = torch.where(obj_present[..., None], obj_pos_t, park_objs[None, :, None])

    box_half = torch.full((n, n_boxes, 2), world.box_size / 2, device=device)
    box_half[..., 0] = torch.where(elongated, world.elongated_box_length / 2, world.box_size / 2)
    ramp_half = torch.tensor([world.ramp_length / 2, world.ramp_width / 2],
                             device=device).expand(n, n_ramps, 2)
    zeros_a = torch.zeros(n, n_agents, device=device)
    zeros_o = torch.zeros(n, n_obj, device=device)
    minus_o = torch.full((n, n_obj), -1, dtype=torch.int64, device=device)
    return SimState(
        agent_pos=agent_pos_t, agent_vel=torch.zeros_like(agent_pos_t), agent_z=zeros_a.clone(),
        agent_yaw=yaws[:, :n_agents].contiguous(), agent_angvel=zeros_a.clone(),
        agent_present=agent_present,
        agent_support=torch.full((n, n_agents), -1, dtype=torch.int64, device=device),
        obj_pos=obj_pos_t, obj_vel=torch.zeros_like(obj_pos_t),
        obj_yaw=yaws[:, n_agents:].contiguous(),
        obj_half=torch.cat([box_half, ramp_half], 1).contiguous(), obj_present=obj_present,
        obj_locked_team=minus_o.clone(), obj_held_by=minus_o.clone(),
        obj_hold_offset=torch.zeros_like(obj_pos_t), obj_hold_yaw=zeros_o.clone(),
        wall_a=wall_a.contiguous(), wall_b=wall_b.contiguous(),
        door_pos=door_pos.contiguous(), door_present=door_on.contiguous(),
        t=torch.zeros(n, dtype=torch.int64, device=device),
        seed=seeds.clone(), episode=episodes.clone(),
        obj_spawn_pos=obj_pos_t.clone(), max_obj_disp=zeros_o.clone(),
        max_obj_disp_prep=zeros_o.clone(),
        hider_return=torch.zeros(n, device=device), hidden_steps=torch.zeros(n, device=device),
        seeker_top_steps=torch.zeros(n, device=device), grabs=zeros_a.clone(),
        prep_locks=minus_o.clone(), doors_blocked_prep=torch.zeros(n, device=device),
        room_sealed_prep=torch.zeros(n, device=device),
    )
