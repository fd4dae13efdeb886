"""The door-blocking statistics of WORLD.md on real quadrant layouts: ``doors_blocked_prep``
counts doors shut by a locked box at the end of prep, ``room_sealed_prep`` is 1 only when every
door of the room is shut by a box the hiders locked."""

from __future__ import annotations

import pytest
import torch

from hideseek.contract import EPISODE_STATS, NOOP_ACTION, load_world_config
from hideseek.sim import TwinSim
from hideseek.sim.geometry import point_segment_distance
from hideseek.sim.state import PARK_DISTANCE

WORLD = load_world_config("quadrant", {"horizon": 10, "lidar_rays": 4})  # 4 prep steps


def test_door_centres_are_the_middles_of_the_wall_gaps():
    sim = TwinSim(WORLD, 64, seed=0)
    s = sim.state
    real = s.wall_a.abs().amax(-1) < PARK_DISTANCE / 2                             # [N, W]
    d = point_segment_distance(s.door_pos[:, :, None], s.wall_a[:, None], s.wall_b[:, None])
    d = torch.where(real[:, None], d, torch.full_like(d, 1e9)).amin(-1)            # [N, D]
    gap = torch.tensor(WORLD.door_width / 2)
    torch.testing.assert_close(d[s.door_present], gap.expand_as(d[s.door_present]))


@pytest.mark.parametrize("team, sealed", [(0, 1.0), (1, 0.0)])
def test_boxes_locked_in_every_doorway_seal_the_room_only_for_the_hiders(team, sealed):
    sim = TwinSim(WORLD, 16, seed=1)
    s = sim.state
    boxes = WORLD.layout.max_boxes
    # Put box k in door k (or park it) and lock it for `team`; nobody moves.
    for k in range(boxes):
        s.obj_pos[:, k] = torch.where(s.door_present[:, k, None], s.door_pos[:, k],
                                      torch.full_like(s.door_pos[:, k], -PARK_DISTANCE))
        s.obj_present[:, k] = s.door_present[:, k]
        s.obj_locked_team[:, k] = torch.where(s.door_present[:, k], team, -1)
        s.obj_yaw[:, k] = 0.0
    sim.observe()
    doors = s.door_present.sum(1).float().clone()   # the next episode brings other doors
    noop = torch.tensor(NOOP_ACTION).repeat(16, WORLD.layout.max_agents, 1)
    out = None
    while out is None or out.episode_stats is None:
        out = sim.step(noop)
    stats = out.episode_stats
    assert set(stats) == set(EPISODE_STATS)
    assert torch.equal(stats["doors_blocked_prep"], doors)
    assert torch.equal(stats["room_sealed_prep"], torch.full_like(doors, sealed))


def test_an_open_door_leaves_the_room_unsealed():
    sim = TwinSim(WORLD, 32, seed=2)
    s = sim.state
    both = s.door_present.all(1).clone()
    assert both.any(), "some layout keeps both doors"
    s.obj_pos[:, 0] = s.door_pos[:, 0]
    s.obj_locked_team[:, 0] = 0
    s.obj_pos[:, 1] = torch.tensor([-2.0, -2.0])   # far from both doors
    s.obj_locked_team[:, 1] = 0
    sim.observe()
    noop = torch.tensor(NOOP_ACTION).repeat(32, WORLD.layout.max_agents, 1)
    out = None
    while out is None or out.episode_stats is None:
        out = sim.step(noop)
    sealed = out.episode_stats["room_sealed_prep"]
    assert torch.equal(sealed[both], torch.zeros_like(sealed[both]))
