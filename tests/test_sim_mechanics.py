"""The twin's mechanics, pinned on hand-built scenes (WORLD.md)."""

import math

import pytest
import torch

from hideseek.contract import NO_MOVE_BIN
from scenes import (BACK, BOX0, FULL, HIDER0, HIDER1, RAMP0, SEEKER0, SEEKER1, actions, place_agent,
                    place_object, run, scene, set_wall)

N = NO_MOVE_BIN
PUSH_X = (FULL, N, N, 0, 0)
LOCK = (N, N, N, 0, 1)
NOOP = (N, N, N, 0, 0)


def box_x(sim) -> float:
    return float(sim.state.obj_pos[0, BOX0, 0])


def test_pushed_box_moves_and_locked_box_does_not():
    sim = scene()
    place_agent(sim, HIDER0, -1.0, 0.0, yaw=0.0)
    place_object(sim, BOX0, -0.5, 0.0)
    start = box_x(sim)
    run(sim, 30, slot_0=PUSH_X)
    assert box_x(sim) > start + 0.3, "pushing should move the box"
    assert sim.state.agent_pos[0, HIDER0, 0] < box_x(sim) - 0.25, "agent stays behind the box"

    sim = scene()
    place_agent(sim, HIDER0, -1.0, 0.0, yaw=0.0)
    place_object(sim, BOX0, -0.7, 0.0)
    run(sim, 1, slot_0=LOCK)
    assert int(sim.state.obj_locked_team[0, BOX0]) == 0, "hider locked the box"
    locked_at = sim.state.obj_pos[0, BOX0].clone()
    run(sim, 30, slot_0=PUSH_X)
    assert torch.equal(sim.state.obj_pos[0, BOX0], locked_at), "a locked box never moves"
    agent_x = float(sim.state.agent_pos[0, HIDER0, 0])
    assert agent_x <= float(locked_at[0]) - 0.25 - 0.15 + 1e-3, "the locked box stops the agent"


def test_only_the_locking_team_unlocks():
    sim = scene()
    place_agent(sim, HIDER0, -1.0, 0.0, yaw=0.0)
    place_agent(sim, SEEKER0, -0.1, 0.0, yaw=math.pi)
    place_object(sim, BOX0, -0.55, 0.0)
    run(sim, 1, slot_0=LOCK)
    assert int(sim.state.obj_locked_team[0, BOX0]) == 0
    run(sim, 3, slot_2=LOCK)                       # a seeker tries, repeatedly
    assert int(sim.state.obj_locked_team[0, BOX0]) == 0, "seekers cannot unlock hiders' lock"
    run(sim, 1, slot_0=LOCK)                       # the hider toggles it off
    assert int(sim.state.obj_locked_team[0, BOX0]) == -1
    run(sim, 1, slot_2=LOCK)                       # now the seeker can lock it for its team
    assert int(sim.state.obj_locked_team[0, BOX0]) == 1
    run(sim, 1, slot_0=(N, N, N, 1, 0))             # a locked box cannot be grabbed
    assert int(sim.state.obj_held_by[0, BOX0]) == -1


def test_held_object_follows_its_holder_and_release_stops_it():
    sim = scene()
    place_agent(sim, HIDER0, -1.0, 0.0, yaw=0.0)
    place_object(sim, BOX0, -0.55, 0.0)
    run(sim, 1, slot_0=(N, N, N, 1, 0))
    assert int(sim.state.obj_held_by[0, BOX0]) == HIDER0
    offset = sim.state.obj_pos[0, BOX0] - sim.state.agent_pos[0, HIDER0]
    run(sim, 20, slot_0=(N, FULL, N, 1, 0))         # walk sideways (+y) holding it
    moved = sim.state.obj_pos[0, BOX0] - sim.state.agent_pos[0, HIDER0]
    assert float(sim.state.obj_pos[0, BOX0, 1]) > 1.0, "the box came along"
    assert torch.allclose(moved, offset, atol=1e-4), "the hold keeps its offset"
    run(sim, 20, slot_0=(N, FULL, FULL, 1, 0))      # turning while holding turns the box too
    rel_yaw = float(sim.state.obj_yaw[0, BOX0] - sim.state.agent_yaw[0, HIDER0])
    assert math.isclose(math.cos(rel_yaw), 1.0, abs_tol=1e-4)
    run(sim, 1, slot_0=NOOP)                        # release
    assert int(sim.state.obj_held_by[0, BOX0]) == -1
    run(sim, 15, slot_0=NOOP)
    assert float(sim.state.obj_vel[0, BOX0].norm()) < 0.01, "friction stops a released box"


def test_closed_wall_stops_an_agent_and_a_door_lets_it_through():
    sim = scene()
    set_wall(sim, 4, (0.0, -3.05), (0.0, 3.05))
    place_agent(sim, HIDER0, -0.6, 0.0, yaw=0.0)
    run(sim, 40, slot_0=PUSH_X)
    assert float(sim.state.agent_pos[0, HIDER0, 0]) <= -0.2 + 1e-4

    sim = scene()
    set_wall(sim, 4, (0.0, -3.05), (0.0, -0.2))     # a 0.4 m door centred on y = 0
    set_wall(sim, 5, (0.0, 0.2), (0.0, 3.05))
    place_agent(sim, HIDER0, -0.6, 0.0, yaw=0.0)
    run(sim, 40, slot_0=PUSH_X)
    assert float(sim.state.agent_pos[0, HIDER0, 0]) > 0.5, "the door lets the agent through"


def test_ramp_lifts_an_agent_onto_a_wall_and_over_it():
    sim = scene()
    set_wall(sim, 4, (0.0, -3.05), (0.0, 3.05))
    place_object(sim, RAMP0, -0.55, 0.0, yaw=0.0)   # high end against the wall
    run(sim, 1, slot_0=LOCK)                        # parked hider locks nothing; keep ramp free
    place_agent(sim, HIDER0, -1.6, 0.0, yaw=0.0)
    peak = 0.0
    for _ in range(60):
        sim.step(actions(sim, slot_0=PUSH_X))
        peak = max(peak, float(sim.state.agent_z[0, HIDER0]))
    assert peak >= 0.5 - 1e-6, "the ramp raised the agent to the top"
    x = float(sim.state.agent_pos[0, HIDER0, 0])
    assert x > 0.2, f"the agent crossed the wall (x = {x})"
    assert float(sim.state.agent_z[0, HIDER0]) == 0.0, "and dropped down on the far side"


def test_locked_ramp_high_end_blocks_a_floor_agent():
    sim = scene()
    place_object(sim, RAMP0, 0.0, 0.0, yaw=0.0)
    sim.state.obj_locked_team[0, RAMP0] = 1
    place_agent(sim, HIDER0, 1.2, 0.0, yaw=math.pi)     # approaching the high end
    run(sim, 30, slot_0=(BACK, N, N, 0, 0))
    assert float(sim.state.agent_pos[0, HIDER0, 0]) >= 0.5 + 0.15 - 1e-3
    assert float(sim.state.agent_z[0, HIDER0]) == 0.0


def test_wall_blocks_vision_except_from_above():
    sim = scene()
    set_wall(sim, 4, (0.0, -3.05), (0.0, 3.05))
    place_agent(sim, SEEKER0, -1.0, 0.0, yaw=0.0)
    place_agent(sim, HIDER0, 1.0, 0.0, yaw=0.0)
    seeker_view_of_hider = lambda: sim.obs.obs_1[0, SEEKER0, HIDER0]  # noqa: E731 (others skip self)
    assert float(seeker_view_of_hider()[0]) == 0.0, "the wall hides the hider"
    assert not bool(seeker_view_of_hider().any()), "an unseen entity is an all-zero row"
    out = run(sim, 1)
    assert bool(out.hidden[0]) and float(out.reward[0, HIDER0]) == 1.0
    place_agent(sim, SEEKER0, -1.0, 0.0, yaw=0.0, z=0.5)  # the seeker stands on top
    assert float(seeker_view_of_hider()[0]) == 1.0, "seen from above, the wall does not block"
    set_wall(sim, 4, (-3.0, 2.9), (-2.9, 2.9))
    place_agent(sim, SEEKER0, -1.0, 0.0, yaw=math.pi)     # facing away: outside the cone
    assert float(seeker_view_of_hider()[0]) == 0.0


def test_prep_phase_freezes_seekers_and_zeroes_rewards():
    sim = scene(horizon=20, prep_fraction=0.5)
    place_agent(sim, SEEKER0, 0.0, 0.0, yaw=0.0)
    place_agent(sim, HIDER0, 1.0, 0.0, yaw=0.0)         # in plain view of the seeker
    mask = sim.obs.action_mask[0, SEEKER0]
    assert int(mask.sum()) == 5, "a seeker in prep may only choose 'nothing' in each branch"
    assert bool(mask[NO_MOVE_BIN]) and bool(mask[33]) and bool(mask[35])
    assert bool(sim.obs.action_mask[0, HIDER0].all())
    start = sim.state.agent_pos[0, SEEKER0].clone()
    for _ in range(10):
        out = sim.step(actions(sim, slot_2=(FULL, FULL, FULL, 1, 1)))
        assert torch.equal(out.reward, torch.zeros_like(out.reward))
    assert torch.equal(sim.state.agent_pos[0, SEEKER0], start), "seekers cannot move in prep"
    assert bool(sim.obs.action_mask[0, SEEKER0].all()), "prep is over"
    out = sim.step(actions(sim, slot_2=PUSH_X))
    assert float(out.reward[0, SEEKER0]) == 1.0 and float(out.reward[0, HIDER0]) == -1.0
    assert float(sim.state.agent_pos[0, SEEKER0, 0]) > float(start[0])


def test_reward_flips_exactly_when_a_seeker_sees_a_hider():
    sim = scene()
    place_agent(sim, SEEKER0, -1.0, 0.0, yaw=math.pi)   # back turned to the hider
    place_agent(sim, HIDER0, 1.0, 0.0, yaw=0.0)
    signs = []
    for _ in range(30):
        out = sim.step(actions(sim, slot_2=(N, N, FULL, 0, 0)))   # seeker turns around
        # Rows of obs_1 skip the viewer: a seeker's rows 0 and 1 are the two hiders.
        seen = bool((sim.obs.obs_1[0, SEEKER0:, :2, 0] == 1.0).any())
        hider_reward = float(out.reward[0, HIDER0])
        assert hider_reward == (-1.0 if seen else 1.0)
        assert float(out.reward[0, SEEKER0]) == -hider_reward
        assert float(out.reward[0, HIDER1]) == hider_reward, "the whole team shares the reward"
        signs.append(hider_reward)
    assert signs[0] == 1.0 and -1.0 in signs, "the seeker turned and found a hider"


def test_out_of_bounds_penalty():
    sim = scene()
    place_agent(sim, HIDER1, 3.4, 0.0, yaw=0.0, z=0.5)   # walked over the outer wall
    out = run(sim, 1)
    assert float(out.reward[0, HIDER1]) == pytest.approx(1.0 - 10.0)
    assert float(out.reward[0, HIDER0]) == 1.0


def test_lidar_measures_a_known_wall():
    sim = scene()
    place_agent(sim, HIDER0, 0.0, 1.0, yaw=0.0)
    lidar = sim.obs.obs_0[0, HIDER0, 11:]
    rays = sim.world.lidar_rays
    # The outer wall faces are at +-3 m: ray 0 looks along +x, ray rays/2 along -x.
    assert float(lidar[0]) * 6.0 == pytest.approx(3.0, abs=1e-4)
    assert float(lidar[rays // 2]) * 6.0 == pytest.approx(3.0, abs=1e-4)
    angle = 2 * math.pi * 7 / rays                                           # ray 7, towards +y
    assert float(lidar[7]) * 6.0 == pytest.approx(2.0 / math.sin(angle), abs=1e-4)
    place_object(sim, BOX0, 1.0, 1.0)                                       # box face at x = 0.75
    assert float(sim.obs.obs_0[0, HIDER0, 11]) * 6.0 == pytest.approx(0.75, abs=1e-4)


def test_agents_do_not_overlap_and_walls_contain_them():
    sim = scene()
    place_agent(sim, HIDER0, -0.1, 0.0, yaw=0.0)
    place_agent(sim, HIDER1, 0.1, 0.0, yaw=math.pi)
    run(sim, 3)
    gap = float((sim.state.agent_pos[0, HIDER0] - sim.state.agent_pos[0, HIDER1]).norm())
    assert gap >= 0.3 - 1e-4
    run(sim, 60, slot_0=(BACK, N, N, 0, 0), slot_1=(FULL, N, N, 0, 0))
    assert float(sim.state.agent_pos[0, HIDER0, 0]) >= -3.0 + 0.15 - 1e-3
    assert float(sim.state.agent_pos[0, HIDER1, 0]) <= 3.0 - 0.15 + 1e-3


def test_agent_on_a_moving_box_rides_along():
    sim = scene()
    place_object(sim, BOX0, 0.0, 0.0)
    place_agent(sim, SEEKER1, 0.0, 0.0, yaw=0.0, z=0.5)   # standing on the box
    place_agent(sim, HIDER0, -0.55, 0.0, yaw=0.0)
    run(sim, 1, slot_0=(N, N, N, 1, 0))
    assert int(sim.state.obj_held_by[0, BOX0]) == HIDER0
    run(sim, 10, slot_0=(N, FULL, N, 1, 0))
    box = sim.state.obj_pos[0, BOX0]
    rider = sim.state.agent_pos[0, SEEKER1]
    assert float(box[1]) > 0.3
    assert float(sim.state.agent_z[0, SEEKER1]) == 0.5, "still on top"
    assert float((rider - box).norm()) < 0.05, "carried with the box"


def test_held_box_swung_at_a_wall_stays_on_the_holders_side():
    sim = scene()
    set_wall(sim, 4, (0.0, -3.05), (0.0, 3.05))
    place_agent(sim, HIDER0, -0.45, 0.0, yaw=math.pi / 2)
    place_object(sim, BOX0, -0.45, 0.45)                # held in front, swung towards the wall
    run(sim, 1, slot_0=(N, N, N, 1, 0))
    assert int(sim.state.obj_held_by[0, BOX0]) == HIDER0
    for _ in range(40):
        sim.step(actions(sim, slot_0=(FULL, N, BACK, 1, 0)))   # lean into the wall, turning
        assert float(sim.state.obj_pos[0, BOX0, 0]) < 0.0
        assert float(sim.state.agent_pos[0, HIDER0, 0]) < 0.0


def _vigorous_play(arenas: int, steps: int) -> None:
    """Persistent full-force pushes in random directions, frequent grabs and some locks; no
    box or ramp may ever leave the floor (they cannot climb, so that would be tunnelling)."""
    from hideseek.contract import load_world_config
    from hideseek.sim import TwinSim
    world = load_world_config("random_rooms", {"prep_fraction": 0.0, "horizon": steps})
    sim = TwinSim(world, arenas, seed=11)
    g = torch.Generator().manual_seed(3)
    shape = (arenas, world.max_agents, 1)
    for t in range(steps):
        if t % 15 == 0:
            push = torch.randint(0, 2, (arenas, world.max_agents, 2), generator=g) * FULL
            turn = torch.randint(0, 11, shape, generator=g)
        grab = (torch.rand(shape, generator=g) < 0.7).long()
        lock = (torch.rand(shape, generator=g) < 0.05).long()
        sim.step(torch.cat([push, turn, grab, lock], -1))
        s = sim.state
        assert bool(((s.obj_pos.abs() <= 3.0).all(-1) | ~s.obj_present).all()), f"step {t}"


def test_vigorous_random_play_keeps_objects_inside_the_walls():
    _vigorous_play(arenas=16, steps=90)


@pytest.mark.slow
def test_long_vigorous_random_play_keeps_objects_inside_the_walls():
    _vigorous_play(arenas=128, steps=400)


def test_agent_moving_the_box_it_stands_on_keeps_the_hold_offset():
    """WORLD.md "Heights": a rider is carried by a box someone else moves; a box the rider
    itself holds follows the rider, so the rider is not carried a second time (issue 14)."""
    sim = scene()
    place_object(sim, BOX0, 0.0, 0.0)
    place_agent(sim, HIDER0, -0.1, 0.0, yaw=0.0, z=0.5)   # on top, facing the box's centre
    run(sim, 1, slot_0=(N, N, N, 1, 0))
    assert int(sim.state.obj_held_by[0, BOX0]) == HIDER0
    offset = sim.state.agent_pos[0, HIDER0] - sim.state.obj_pos[0, BOX0]
    box_start = box_x(sim)
    for _ in range(6):
        sim.step(actions(sim, slot_0=(FULL, N, N, 1, 0)))
        held = sim.state.agent_pos[0, HIDER0] - sim.state.obj_pos[0, BOX0]
        assert torch.allclose(held, offset, atol=1e-5), "the hold keeps its offset"
        assert float(sim.state.agent_z[0, HIDER0]) == 0.5, "still on top"
    assert box_x(sim) > box_start + 0.3, "the box came along"
