"""Game rules: grab and team lock, the joint zero-sum reward, and episode statistics
(WORLD.md "Actions", "Rewards", "Episode statistics")."""

from __future__ import annotations

import torch
from torch import Tensor

from ..contract import WorldConfig
from .geometry import point_box_distance, to_local
from .sensors import SensorConstants
from .state import SimState


def reach(s: SimState, seen_objs: Tensor, distance: float, agent_radius: float) -> Tensor:
    """Objects [N, A, O] whose surface is within ``distance`` of the agent's surface, that the
    agent sees and that are present. Returns the surface gap, +inf where out of reach."""
    cos, sin = torch.cos(s.obj_yaw)[:, None], torch.sin(s.obj_yaw)[:, None]
    gap = point_box_distance(s.agent_pos[:, :, None], s.obj_pos[:, None], cos, sin,
                             s.obj_half[:, None]) - agent_radius
    ok = seen_objs & (gap <= distance) & s.obj_present[:, None]
    return torch.where(ok, gap, torch.full_like(gap, float("inf")))


def _first_claimant(choice: Tensor, wants: Tensor, num_objects: int) -> Tensor:
    """For each object [N, O], the lowest agent slot whose ``choice`` [N, A] is that object
    (among agents with ``wants``), or -1. Resolves simultaneous claims deterministically."""
    n, a = choice.shape
    onehot = torch.nn.functional.one_hot(choice.clamp(min=0), num_objects).bool() & wants[..., None]
    any_claim = onehot.any(1)
    first = onehot.float().argmax(1)             # argmax returns the first maximum
    return torch.where(any_claim, first, torch.full_like(first, -1))


def apply_grab(s: SimState, grab: Tensor, seen_objs: Tensor, world: WorldConfig) -> Tensor:
    """Update holds from the grab branch [N, A] (1 = hold, 0 = release). Returns new grabs [N, A]."""
    n, a = grab.shape
    o = s.obj_pos.shape[1]
    slots = torch.arange(a, device=grab.device)
    # Release: a held object whose holder no longer asks to hold.
    holder = s.obj_held_by.clamp(min=0)
    still = (s.obj_held_by >= 0) & grab.gather(1, holder).bool()
    s.obj_held_by = torch.where(still, s.obj_held_by, torch.full_like(s.obj_held_by, -1))
    if o == 0:
        return torch.zeros(n, a, device=grab.device)
    holding = (s.obj_held_by[:, None, :] == slots[None, :, None]).any(-1)      # [N, A]
    gap = reach(s, seen_objs, world.grab_distance, world.agent_radius)
    free = (s.obj_locked_team < 0) & (s.obj_held_by < 0)
    gap = torch.where(free[:, None], gap, torch.full_like(gap, float("inf")))
    nearest = gap.argmin(-1)
    wants = grab.bool() & ~holding & torch.isfinite(gap.amin(-1))
    claimant = _first_claimant(nearest, wants, o)                               # [N, O]
    new = claimant >= 0
    holder_pos = s.agent_pos.gather(1, claimant.clamp(min=0)[..., None].expand(-1, -1, 2))
    holder_yaw = s.agent_yaw.gather(1, claimant.clamp(min=0))
    offset = to_local(s.obj_pos, holder_pos, torch.cos(holder_yaw), torch.sin(holder_yaw))
    s.obj_hold_offset = torch.where(new[..., None], offset, s.obj_hold_offset)
    s.obj_hold_yaw = torch.where(new, s.obj_yaw - holder_yaw, s.obj_hold_yaw)
    s.obj_held_by = torch.where(new, claimant, s.obj_held_by)
    got = (claimant[:, None, :] == slots[None, :, None]).any(-1)
    return got.float()


def apply_lock(s: SimState, lock: Tensor, seen_objs: Tensor, world: WorldConfig,
               c: SensorConstants) -> None:
    """Lock / unlock from the lock branch [N, A]. An agent asking to lock locks every unlocked
    object in reach; if the nearest object in reach is locked by its own team it unlocks that
    one instead. Only the locking team can unlock (``all_lock_team_specific``)."""
    n, a = lock.shape
    o = s.obj_pos.shape[1]
    if o == 0:
        return
    team = torch.where(c.is_hider, 0, 1)[None, :].expand(n, a)                  # [N, A]
    gap = reach(s, seen_objs, world.lock_distance, world.agent_radius)          # [N, A, O]
    in_reach = torch.isfinite(gap) & lock.bool()[..., None]
    nearest = gap.argmin(-1)
    nearest_team = s.obj_locked_team.gather(1, nearest)
    unlocking = lock.bool() & torch.isfinite(gap.amin(-1)) & (nearest_team == team)
    unlock_obj = _first_claimant(nearest, unlocking, o) >= 0
    # Lock: every unlocked object in reach of a locking agent; the lowest slot decides the team.
    locking = in_reach & ~unlocking[..., None] & (s.obj_locked_team < 0)[:, None]
    any_lock = locking.any(1)
    first = locking.float().argmax(1)
    lock_team = team.gather(1, first)
    s.obj_locked_team = torch.where(unlock_obj, torch.full_like(s.obj_locked_team, -1),
                                    torch.where(any_lock, lock_team, s.obj_locked_team))
    # A locked object cannot be held.
    s.obj_held_by = torch.where(s.obj_locked_team >= 0, torch.full_like(s.obj_held_by, -1),
                                s.obj_held_by)


def rewards(s: SimState, seen_agents: Tensor, in_prep: Tensor, c: SensorConstants,
            world: WorldConfig) -> tuple[Tensor, Tensor]:
    """Per-agent reward [N, A] for the step just taken, and whether hiders were hidden [N]."""
    seeker_sees_hider = seen_agents & ~c.is_hider[None, :, None] & c.is_hider[None, None, :]
    hidden = ~seeker_sees_hider.flatten(1).any(-1)                              # [N]
    sign = torch.where(c.is_hider, 1.0, -1.0)[None, :]
    team_reward = torch.where(hidden[:, None], sign, -sign)
    half = world.floor_size / 2
    out = (s.agent_pos.abs() > half).any(-1)
    reward = team_reward - world.oob_penalty * out.float()
    reward = torch.where(in_prep[:, None], torch.zeros_like(reward), reward)
    return reward * s.agent_present, hidden


def door_blocked(s: SimState, world: WorldConfig) -> Tensor:
    """Doors [N, D] with a locked box so close that no agent fits through the gap."""
    boxes = slice(0, world.layout.max_boxes)
    yaw = s.obj_yaw[:, None, boxes]
    dist = point_box_distance(s.door_pos[:, :, None], s.obj_pos[:, None, boxes],
                              torch.cos(yaw), torch.sin(yaw), s.obj_half[:, None, boxes])
    locked = (s.obj_locked_team[:, boxes] >= 0)[:, None]
    near = dist <= world.wall_thickness / 2 + world.agent_radius
    return (near & locked).any(-1) & s.door_present


def accumulate_stats(s: SimState, reward: Tensor, hidden: Tensor, in_prep: Tensor,
                     new_grabs: Tensor, world: WorldConfig, c: SensorConstants) -> None:
    """Add this step's contribution to the episode accumulators (s.t already counts the step)."""
    disp = (s.obj_pos - s.obj_spawn_pos).norm(dim=-1) * s.obj_present
    s.max_obj_disp = torch.maximum(s.max_obj_disp, disp)
    s.max_obj_disp_prep = torch.where(in_prep[:, None], torch.maximum(s.max_obj_disp_prep, disp),
                                      s.max_obj_disp_prep)
    hiders = c.is_hider[None, :] & s.agent_present
    n_hiders = hiders.sum(-1).clamp(min=1)
    s.hider_return = s.hider_return + (reward * hiders).sum(-1) / n_hiders
    s.hidden_steps = s.hidden_steps + (hidden & ~in_prep).float()
    seekers_up = (~c.is_hider[None, :]) & s.agent_present & (s.agent_z >= c.top - 1e-3)
    s.seeker_top_steps = s.seeker_top_steps + seekers_up.any(-1).float()
    s.grabs = s.grabs + new_grabs
    end_of_prep = s.t == c.prep_steps                     # the step that just ended prep
    s.prep_locks = torch.where(end_of_prep[:, None], s.obj_locked_team, s.prep_locks)
    s.doors_blocked_prep = torch.where(end_of_prep, door_blocked(s, world).sum(-1).float(),
                                       s.doors_blocked_prep)


def episode_stats(s: SimState, world: WorldConfig, c: SensorConstants) -> dict[str, Tensor]:
    """The WORLD.md statistics of the episode that just ended (contract.EPISODE_STATS order)."""
    b = world.layout.max_boxes
    post_prep = max(world.horizon - world.prep_steps, 1)
    hiders = c.is_hider[None, :] & s.agent_present
    seekers = ~c.is_hider[None, :] & s.agent_present

    def count(locks: Tensor, objs: slice, team: int) -> Tensor:
        return ((locks[:, objs] == team) & s.obj_present[:, objs]).sum(-1).float()

    boxes, ramps = slice(0, b), slice(b, None)

    def peak(x: Tensor, objs: slice) -> Tensor:
        return x[:, objs].amax(-1) if x[:, objs].shape[1] else torch.zeros_like(s.hider_return)

    return {
        "hider_return": s.hider_return,
        "hidden_fraction": s.hidden_steps / post_prep,
        "max_box_displacement_prep": peak(s.max_obj_disp_prep, boxes),
        "max_box_displacement": peak(s.max_obj_disp, boxes),
        "max_ramp_displacement_prep": peak(s.max_obj_disp_prep, ramps),
        "max_ramp_displacement": peak(s.max_obj_disp, ramps),
        "boxes_locked_prep_by_hiders": count(s.prep_locks, boxes, 0),
        "boxes_locked_prep_by_seekers": count(s.prep_locks, boxes, 1),
        "ramps_locked_prep_by_hiders": count(s.prep_locks, ramps, 0),
        "ramps_locked_prep_by_seekers": count(s.prep_locks, ramps, 1),
        "boxes_locked_end_by_hiders": count(s.obj_locked_team, boxes, 0),
        "boxes_locked_end_by_seekers": count(s.obj_locked_team, boxes, 1),
        "ramps_locked_end_by_hiders": count(s.obj_locked_team, ramps, 0),
        "ramps_locked_end_by_seekers": count(s.obj_locked_team, ramps, 1),
        "doors_blocked_prep": s.doors_blocked_prep,
        "seeker_on_top_steps": s.seeker_top_steps,
        "grabs_per_hider": (s.grabs * hiders).sum(-1) / hiders.sum(-1).clamp(min=1),
        "grabs_per_seeker": (s.grabs * seekers).sum(-1) / seekers.sum(-1).clamp(min=1),
    }
