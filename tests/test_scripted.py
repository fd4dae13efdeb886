"""The scripted ceiling: a privileged hider team that seals the quadrant's room during prep.
It proves that WORLD.md v1.1's world lets the headline be reached (the original's speeds let an
outside scripted team seal it in 93 % of episodes)."""

from __future__ import annotations

import pytest

from hideseek.contract import load_world_config
from hideseek.evaluation.actors import RandomActor
from hideseek.evaluation.runner import run_episodes, twin_factory
from hideseek.scripted import RoomSealer


def test_the_scripted_team_seals_the_room_in_most_episodes():
    world = load_world_config("quadrant")
    episodes = run_episodes(twin_factory(world), {"hider": RoomSealer(world), "seeker": RandomActor()},
                            64, seed=7000)
    sealed = sum(e["room_sealed_prep"] for e in episodes) / len(episodes)
    locked = sum(e["boxes_locked_prep_by_hiders"] for e in episodes) / len(episodes)
    assert sealed >= 0.75, f"room sealed in {sealed:.0%} of 64 episodes"
    assert locked >= 1.0
    # Sealed is sealed: every door blocked by the boxes it locked.
    for e in episodes:
        if e["room_sealed_prep"]:
            assert e["doors_blocked_prep"] >= 1


def test_the_scripted_team_is_for_the_quadrant_only():
    with pytest.raises(ValueError, match="quadrant"):
        RoomSealer(load_world_config("random_rooms"))
