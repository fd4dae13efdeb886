"""Game rules: grab and team lock, the joint zero-sum reward, and episode statistics
(WORLD.md "Actions", "Rewards", "Episode statistics").

Every function works on the core layout (``hideseek.sim.state``: entity dimensions first, the
arena index last) and updates the core state dict in place where it says so."""

from __future__ import annotations

import torch
from torch import Tensor

from ..contract import WorldConfig
from . import layouts
from .geometry import box_gap_xy, point_box_distance_xy, to_local_xy
from .sensors import SensorConstants
from .state import Core


def reach(core: Core, seen_objs: Tensor, distance: float, agent_radius: float) -> Tensor:
    """Objects [A, O, N] whose surface is within ``distance`` of the agent's surface, that the
    agent sees and that are present. Returns the surface gap, +inf where out of reach."""
    ap, op, half, yaw = core["agent_pos"], core["obj_pos"], core["obj_half"], core["obj_yaw"]
    gap = point_box_distance_xy(ap[0][:, None], ap[1][:, None], op[0], op[1], torch.cos(yaw),
                                torch.sin(yaw), half[0], half[1]) - agent_radius
    ok = seen_objs & (gap <= distance) & core["obj_present"]
    return torch.where(ok, gap, torch.full_like(gap, float("inf")))


def _first_claimant(choice: Tensor, wants: Tensor, num_objects: int) -> Tensor:
    """For each object [O, N], the lowest agent slot whose ``choice`` [A, N] is that object
    (among agents with ``wants``), or -1. Resolves simultaneous claims deterministically."""
    objects = torch.arange(num_objects, device=choice.device)[None, :, None]
    claims = (choice[:, None] == objects) & wants[:, None]                       # [A, O, N]
    first = claims.to(torch.float32).argmax(0)         # argmax returns the first maximum
    return torch.where(claims.any(0), first, torch.full_like(first, -1))


def _slot_of(index: Tensor, a: int) -> Tensor:
    """[A, N] bool: slot k appears in ``index`` [O, N] (object -> agent slot, -1 none)."""
    slots = torch.arange(a, device=index.device)[:, None, None]
    return (index[None] == slots).any(1)


def apply_grab(core: Core, grab: Tensor, seen_objs: Tensor, world: WorldConfig) -> Tensor:
    """Update holds from the grab branch [A, N] (1 = hold, 0 = release). Returns new grabs
    [A, N]."""
    a = grab.shape[0]
    o = core["obj_yaw"].shape[0]
    held_by = core["obj_held_by"]
    # Release: a held object whose holder no longer asks to hold.
    still = (held_by >= 0) & grab.gather(0, held_by.clamp(min=0)).bool()
    held_by = torch.where(still, held_by, torch.full_like(held_by, -1))
    core["obj_held_by"] = held_by
    if o == 0:
        return torch.zeros_like(grab, dtype=torch.float32)
    holding = _slot_of(held_by, a)
    gap = reach(core, seen_objs, world.grab_distance, world.agent_radius)
    free = (core["obj_locked_team"] < 0) & (held_by < 0)
    gap = torch.where(free, gap, torch.full_like(gap, float("inf")))
    nearest = gap.argmin(1)
    wants = grab.bool() & ~holding & torch.isfinite(gap.amin(1))
    claimant = _first_claimant(nearest, wants, o)                                # [O, N]
    new = claimant >= 0
    who = claimant.clamp(min=0)
    ap, yaw = core["agent_pos"], core["agent_yaw"]
    hx, hy = ap[0].gather(0, who), ap[1].gather(0, who)
    hyaw = yaw.gather(0, who)
    op = core["obj_pos"]
    lx, ly = to_local_xy(op[0], op[1], hx, hy, torch.cos(hyaw), torch.sin(hyaw))
    core["obj_hold_offset"] = torch.where(new, torch.stack([lx, ly]), core["obj_hold_offset"])
    core["obj_hold_yaw"] = torch.where(new, core["obj_yaw"] - hyaw, core["obj_hold_yaw"])
    core["obj_held_by"] = torch.where(new, claimant, held_by)
    return _slot_of(claimant, a).to(torch.float32)


def apply_lock(core: Core, lock: Tensor, seen_objs: Tensor, world: WorldConfig,
               c: SensorConstants) -> None:
    """Lock / unlock from the lock branch [A, N]. An agent asking to lock locks every unlocked
    object in reach; if the nearest object in reach is locked by its own team it unlocks that
    one instead. Only the locking team can unlock (``all_lock_team_specific``)."""
    a, n = lock.shape
    o = core["obj_yaw"].shape[0]
    if o == 0:
        return
    locked_team = core["obj_locked_team"]
    team = torch.where(c.is_hider, 0, 1)[:, None].expand(a, n)                    # [A, N]
    gap = reach(core, seen_objs, world.lock_distance, world.agent_radius)        # [A, O, N]
    asks = lock.bool()
    in_reach = torch.isfinite(gap) & asks[:, None]
    nearest = gap.argmin(1)
    nearest_team = locked_team.gather(0, nearest)
    unlocking = asks & torch.isfinite(gap.amin(1)) & (nearest_team == team)
    unlock_obj = _first_claimant(nearest, unlocking, o) >= 0
    # Lock: every unlocked object in reach of a locking agent; the lowest slot decides the team.
    locking = in_reach & ~unlocking[:, None] & (locked_team < 0)
    any_lock = locking.any(0)
    lock_team = team.gather(0, locking.to(torch.float32).argmax(0))
    locked_team = torch.where(unlock_obj, torch.full_like(locked_team, -1),
                              torch.where(any_lock, lock_team, locked_team))
    core["obj_locked_team"] = locked_team
    # A locked object cannot be held.
    core["obj_held_by"] = torch.where(locked_team >= 0, torch.full_like(locked_team, -1),
                                      core["obj_held_by"])


def rewards(core: Core, seen_agents: Tensor, in_prep: Tensor, c: SensorConstants,
            world: WorldConfig) -> tuple[Tensor, Tensor]:
    """Per-agent reward [A, N] for the step just taken, and whether hiders were hidden [N]."""
    seeker_sees_hider = seen_agents & (~c.is_hider[:, None, None] & c.is_hider[None, :, None])
    hidden = ~seeker_sees_hider.flatten(0, 1).any(0)                              # [N]
    sign = torch.where(c.is_hider, 1.0, -1.0)[:, None]
    team_reward = torch.where(hidden, sign, -sign)
    half = world.floor_size / 2
    out = (core["agent_pos"].abs() > half).any(0)
    reward = team_reward - world.oob_penalty * out.float()
    reward = torch.where(in_prep, torch.zeros_like(reward), reward)
    return reward * core["agent_present"], hidden


def blocked_doors(core: Core, world: WorldConfig) -> tuple[Tensor, Tensor]:
    """Doors [D, N] that no agent fits through because of locked boxes: locked by either team,
    and locked by the hiders. A door is blocked when a chain of locked boxes runs from one edge
    of its gap to the other with no gap along it an agent fits through: the first box closer to
    one door edge, and the last to the other, than an agent's diameter (a wall end is a half
    thickness round), and each box to the next closer than a diameter. The boxes and those
    gaps then close the doorway from the rest of the floor (WORLD.md: "no agent fits
    through"); a box merely near the door's centre does not."""
    b = world.layout.max_boxes
    op, half, yaw = core["obj_pos"][:, :b], core["obj_half"][:, :b], core["obj_yaw"][:b]
    cos, sin = torch.cos(yaw), torch.sin(yaw)                                      # [B, N]
    door = core["door_pos"]                                                        # [2, D, N]
    along = torch.tensor(layouts.door_along(world), device=door.device)           # [D, 2]
    edge_reach = 2 * world.agent_radius + world.wall_thickness / 2
    touches_edge = []
    for sign in (-1.0, 1.0):                       # the gap's two edges: its walls' end points
        ex = door[0] + sign * world.door_width / 2 * along[:, 0, None]
        ey = door[1] + sign * world.door_width / 2 * along[:, 1, None]
        gap = point_box_distance_xy(ex[:, None], ey[:, None], op[0], op[1], cos, sin, half[0],
                                    half[1])                                       # [D, B, N]
        touches_edge.append(gap <= edge_reach)
    between = box_gap_xy(op[0][:, None], op[1][:, None], cos[:, None], sin[:, None],
                         half[0][:, None], half[1][:, None], op[0][None], op[1][None],
                         cos[None], sin[None], half[0][None], half[1][None])       # [B, B, N]
    close = between <= 2 * world.agent_radius
    locked, present = core["obj_locked_team"][:b], core["obj_present"][:b]

    def blocked(by: Tensor) -> Tensor:                                             # by: [B, N]
        link = close & by[:, None] & by[None]
        reached = touches_edge[0] & by                                             # [D, B, N]
        for _ in range(b - 1):                     # a chain has at most b boxes
            reached = reached | (reached[:, :, None] & link).any(1)
        return (reached & touches_edge[1]).any(1) & core["door_present"]

    return blocked((locked >= 0) & present), blocked((locked == 0) & present)


def accumulate_stats(core: Core, reward: Tensor, hidden: Tensor, in_prep: Tensor,
                     new_grabs: Tensor, world: WorldConfig, c: SensorConstants) -> None:
    """Add this step's contribution to the episode accumulators (t already counts the step)."""
    disp = (core["obj_pos"] - core["obj_spawn_pos"]).norm(dim=0) * core["obj_present"]
    core["max_obj_disp"] = torch.maximum(core["max_obj_disp"], disp)
    core["max_obj_disp_prep"] = torch.where(
        in_prep, torch.maximum(core["max_obj_disp_prep"], disp), core["max_obj_disp_prep"])
    present = core["agent_present"]
    hiders = c.is_hider[:, None] & present
    n_hiders = hiders.sum(0).clamp(min=1)
    core["hider_return"] = core["hider_return"] + (reward * hiders).sum(0) / n_hiders
    core["hidden_steps"] = core["hidden_steps"] + (hidden & ~in_prep).float()
    seekers_up = ~c.is_hider[:, None] & present & (core["agent_z"] >= c.top - 1e-3)
    core["seeker_top_steps"] = core["seeker_top_steps"] + seekers_up.any(0).float()
    core["grabs"] = core["grabs"] + new_grabs
    end_of_prep = core["t"] == c.prep_steps              # the step that just ended prep
    core["prep_locks"] = torch.where(end_of_prep, core["obj_locked_team"], core["prep_locks"])
    blocked, by_hiders = blocked_doors(core, world)
    core["doors_blocked_prep"] = torch.where(
        end_of_prep, blocked.sum(0).float(), core["doors_blocked_prep"])
    doors = core["door_present"]
    sealed = ((by_hiders | ~doors).all(0) & doors.any(0)).float()
    core["room_sealed_prep"] = torch.where(end_of_prep, sealed, core["room_sealed_prep"])


def episode_stats(core: Core, world: WorldConfig, c: SensorConstants) -> dict[str, Tensor]:
    """The WORLD.md statistics of the episode that just ended (contract.EPISODE_STATS order),
    [N] each."""
    b = world.layout.max_boxes
    post_prep = max(world.horizon - world.prep_steps, 1)
    present, obj_present = core["agent_present"], core["obj_present"]
    hiders = c.is_hider[:, None] & present
    seekers = ~c.is_hider[:, None] & present
    boxes, ramps = slice(0, b), slice(b, None)

    def count(locks: Tensor, objs: slice, team: int) -> Tensor:
        return ((locks[objs] == team) & obj_present[objs]).sum(0).float()

    def peak(x: Tensor, objs: slice) -> Tensor:
        return x[objs].amax(0) if x[objs].shape[0] else torch.zeros_like(core["hider_return"])

    return {
        "hider_return": core["hider_return"],
        "hidden_fraction": core["hidden_steps"] / post_prep,
        "max_box_displacement_prep": peak(core["max_obj_disp_prep"], boxes),
        "max_box_displacement": peak(core["max_obj_disp"], boxes),
        "max_ramp_displacement_prep": peak(core["max_obj_disp_prep"], ramps),
        "max_ramp_displacement": peak(core["max_obj_disp"], ramps),
        "boxes_locked_prep_by_hiders": count(core["prep_locks"], boxes, 0),
        "boxes_locked_prep_by_seekers": count(core["prep_locks"], boxes, 1),
        "ramps_locked_prep_by_hiders": count(core["prep_locks"], ramps, 0),
        "ramps_locked_prep_by_seekers": count(core["prep_locks"], ramps, 1),
        "boxes_locked_end_by_hiders": count(core["obj_locked_team"], boxes, 0),
        "boxes_locked_end_by_seekers": count(core["obj_locked_team"], boxes, 1),
        "ramps_locked_end_by_hiders": count(core["obj_locked_team"], ramps, 0),
        "ramps_locked_end_by_seekers": count(core["obj_locked_team"], ramps, 1),
        "doors_blocked_prep": core["doors_blocked_prep"],
        "room_sealed_prep": core["room_sealed_prep"],
        "seeker_on_top_steps": core["seeker_top_steps"],
        "grabs_per_hider": (core["grabs"] * hiders).sum(0) / hiders.sum(0).clamp(min=1),
        "grabs_per_seeker": (core["grabs"] * seekers).sum(0) / seekers.sum(0).clamp(min=1),
    }
