"""TwinParallelEnv against PettingZoo's own API and seed tests, plus determinism and errors."""

import numpy as np
import pytest
import torch
from pettingzoo.test import parallel_api_test, parallel_seed_test

import hideseek
from hideseek.contract import load_world_config
from hideseek.sim import TwinSim


@pytest.mark.parametrize("arena", ["quadrant", "random_rooms"])
def test_parallel_api(arena):
    env = hideseek.make_env(arena, horizon=30, render_mode="rgb_array")
    parallel_api_test(env, num_cycles=100)


def test_parallel_seed():
    parallel_seed_test(lambda: hideseek.make_env("quadrant", horizon=30), num_cycles=60)


def _random_actions(env, rng):
    return {a: np.array([rng.integers(0, n) for n in (11, 11, 11, 2, 2)]) for a in env.agents}


def test_multi_episode_determinism_and_state():
    def rollout(seed):
        env = hideseek.make_env("quadrant", horizon=25)
        rng = np.random.default_rng(7)
        trace = []
        obs, _ = env.reset(seed=seed)
        for _ in range(3):                           # three episodes, reset without a seed
            while env.agents:
                obs, rew, term, trunc, info = env.step(_random_actions(env, rng))
                trace.append((env.state().copy(), [rew[a] for a in sorted(rew)]))
            assert "episode_stats" in info["hider_0"]
            obs, _ = env.reset()
        return trace

    a, b, c = rollout(3), rollout(3), rollout(4)
    assert len(a) == 75
    assert all(np.array_equal(x[0], y[0]) and x[1] == y[1] for x, y in zip(a, b))
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a, c))


def test_observations_match_the_contract_layout():
    env = hideseek.make_env("quadrant")
    obs, _ = env.reset(seed=0)
    space = env.observation_space("hider_0")
    for agent, o in obs.items():
        assert space.contains(o), agent
    assert env.state().shape == env.state_space.shape
    assert env.possible_agents == ["hider_0", "hider_1", "seeker_0", "seeker_1"]
    # Seekers in prep: one allowed action per branch; hiders: everything.
    assert [int(m.sum()) for m in obs["seeker_0"]["action_mask"]] == [1, 1, 1, 1, 1]
    assert [int(m.sum()) for m in obs["hider_0"]["action_mask"]] == [11, 11, 11, 2, 2]


def test_render_is_a_top_down_picture():
    env = hideseek.make_env("quadrant", render_mode="rgb_array")
    env.reset(seed=1)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    from hideseek.sim.render import FLOOR, OBJECT, TEAM, WALL
    colours = {tuple(c) for c in np.unique(frame.reshape(-1, 3), axis=0)}
    # The floor, the walls, both teams' agents and the boxes and ramp are all drawn.
    for name, colour in (("floor", FLOOR), ("walls", WALL), ("hiders", TEAM[0]),
                         ("seekers", TEAM[1]), ("boxes", OBJECT["box"]), ("ramp", OBJECT["ramp"])):
        assert colour in colours, f"no {name} in the picture"


@pytest.mark.parametrize("bad, message", [
    ({"hider_9": np.zeros(5, np.int64)}, "unknown agent 'hider_9'"),
    ({"hider_0": np.zeros(4, np.int64)}, "expected 5 integer bins"),
    ({"hider_0": np.array([11, 0, 0, 0, 0])}, "bin 11 of branch 0 is out of range"),
    ({"hider_0": np.array([0.5, 0, 0, 0, 0])}, "expected 5 integer bins"),
])
def test_malformed_actions_are_rejected(bad, message):
    env = hideseek.make_env("quadrant")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(bad)


def test_make_env_rejects_unknown_arguments_and_bad_values():
    with pytest.raises(TypeError, match="unknown argument 'horizn'"):
        hideseek.make_env("quadrant", horizn=3)
    with pytest.raises(hideseek.ConfigError, match="horizon = 0"):
        hideseek.make_env("quadrant", horizon=0)


def test_arena_k_of_a_batch_is_a_single_arena_with_the_same_seed():
    world = load_world_config("random_rooms", {"horizon": 12})
    batch = TwinSim(world, 5, seed=100)
    single = TwinSim(world, 1, seed=103)
    g = torch.Generator().manual_seed(0)
    for step in range(30):                      # crosses two auto-resets
        acts = torch.stack([torch.randint(0, n, (5, world.max_agents), generator=g)
                            for n in (11, 11, 11, 2, 2)], -1)
        out_b = batch.step(acts)
        out_s = single.step(acts[3:4])
        for x, y in zip(out_b.obs.obs + (out_b.obs.state,), out_s.obs.obs + (out_s.obs.state,)):
            assert torch.allclose(x[3:4], y, atol=1e-5), f"step {step}"
        assert torch.equal(out_b.reward[3:4], out_s.reward)
