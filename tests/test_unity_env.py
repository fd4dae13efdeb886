"""UnityParallelEnv and UnityVecSim through the real protocol against the twin player, compared
with the in-process twin (TwinParallelEnv / TwinSim): same seed and actions -> same episode."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pettingzoo.test import parallel_api_test

from hideseek.contract import EPISODE_STATS, REPO_ROOT, load_world_config
from hideseek.envs import make_env
from hideseek.envs.unity_env import UnityParallelEnv
from hideseek.envs.unity_vec import UnityVecSim
from hideseek.sim import TwinSim

LAUNCHER = str(REPO_ROOT / "builds" / "twin" / "HideAndSeekTwin.x86_64")
BASE_PORT = 52200  # this file's port range: 52200-52219
OVERRIDES = {"horizon": 8, "prep_fraction": 0.25}


@pytest.fixture(scope="module")
def unity_env(tmp_path_factory):
    env = UnityParallelEnv(LAUNCHER, worker_id=0, base_port=BASE_PORT, seed=3, timeout_wait=60,
                           world_overrides=OVERRIDES,
                           log_folder=str(tmp_path_factory.mktemp("unity_env_logs")))
    yield env
    env.close()


def test_parallel_api(unity_env):
    parallel_api_test(unity_env, num_cycles=20)


def _random_actions(env, obs, rng):
    return {a: env.action_space(a).sample(mask=obs[a]["action_mask"]) for a in env.agents}


def _assert_same_obs(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for agent in want:
        for key in ("obs_0", "obs_1", "obs_2", "obs_3"):
            np.testing.assert_allclose(got[agent][key], want[agent][key], atol=1e-6,
                                       err_msg=f"{agent} {key}")
            assert got[agent][key].dtype == np.float32
        for g, w in zip(got[agent]["action_mask"], want[agent]["action_mask"]):
            np.testing.assert_array_equal(g, w)
            assert g.dtype == np.int8


def test_same_episode_as_the_in_process_twin(unity_env):
    twin = make_env("quadrant", seed=0, **OVERRIDES)
    assert unity_env.observation_space("hider_0") == twin.observation_space("hider_0")
    assert unity_env.action_space("seeker_1") == twin.action_space("seeker_1")
    for seed in (7, 8):  # two episodes, so the reseed through the protocol is exercised
        obs_u, info_u = unity_env.reset(seed=seed)
        obs_t, _ = twin.reset(seed=seed)
        _assert_same_obs(obs_u, obs_t)
        np.testing.assert_allclose(unity_env.state(), twin.state(), atol=1e-6)
        assert unity_env.agents == twin.agents and info_u == {a: {} for a in twin.agents}
        rng = np.random.default_rng(seed)
        for t in range(OVERRIDES["horizon"]):
            actions = {a: np.array([rng.integers(0, 11), rng.integers(0, 11), rng.integers(0, 11),
                                    rng.integers(0, 2), rng.integers(0, 2)])
                       for a in twin.agents}
            got = unity_env.step(actions)
            want = twin.step(actions)
            _assert_same_obs(got[0], want[0])
            for g, w in zip(got[1:4], want[1:4]):  # rewards, terminations, truncations
                assert g.keys() == w.keys()
                for a in w:
                    assert g[a] == pytest.approx(w[a], abs=1e-6), (t, a)
            np.testing.assert_allclose(unity_env.state(), twin.state(), atol=1e-6)
        assert all(got[3].values()) and unity_env.agents == []
        stats_u, stats_t = got[4]["hider_0"]["episode_stats"], want[4]["hider_0"]["episode_stats"]
        assert set(stats_u) == set(EPISODE_STATS)
        for name in EPISODE_STATS:
            assert stats_u[name] == pytest.approx(stats_t[name], abs=1e-5), name


def test_bad_arguments_are_reported(unity_env):
    unity_env.reset()
    with pytest.raises(ValueError, match="unknown agent 'hider_9'"):
        unity_env.step({"hider_9": np.zeros(5, np.int64)})
    with pytest.raises(ValueError, match="seed: expected 0 <= seed < 16777216"):
        unity_env.reset(seed=2 ** 24)
    with pytest.raises(ValueError, match="arena_index"):
        UnityParallelEnv(LAUNCHER, num_arenas=2, arena_index=2)


def test_vec_sim_matches_twin_sim(tmp_path):
    """2 processes x 2 arenas through the protocol == one TwinSim with 4 arenas, across an
    episode boundary (truncation, final_obs, statistics, hidden)."""
    world = load_world_config("quadrant", OVERRIDES)
    ref = TwinSim(world, 4, seed=5)
    with UnityVecSim(LAUNCHER, 2, world, seed=5, base_port=BASE_PORT, worker_id_start=2,
                     arenas_per_env=2, timeout_wait=60, log_dir=tmp_path) as vec:
        assert vec.num_arenas == 4 and vec.layout == world.layout and vec.worker_ids == [2, 3]

        def same(a, b, what, fields=("obs_0", "obs_1", "obs_2", "obs_3", "action_mask", "state",
                                     "present")):
            for name in fields:
                x, y = getattr(a, name), getattr(b, name)
                assert x.shape == y.shape and x.dtype == y.dtype, (what, name)
                torch.testing.assert_close(x, y, atol=1e-6, rtol=0, msg=f"{what} {name}")

        same(vec.reset(5), ref.reset(5), "reset")
        gen = torch.Generator().manual_seed(0)
        ended = 0
        for t in range(OVERRIDES["horizon"] + 3):
            actions = torch.stack([torch.randint(0, b, (4, 4), generator=gen)
                                   for b in world.layout.action_branches], -1)
            got, want = vec.step(actions), ref.step(actions)
            same(got.obs, want.obs, f"step {t}")
            torch.testing.assert_close(got.reward, want.reward, atol=1e-6, rtol=0)
            assert torch.equal(got.truncated, want.truncated)
            assert torch.equal(got.hidden, want.hidden), t
            assert not vec.dropped.any()
            assert (got.final_obs is None) == (want.final_obs is None)
            if want.final_obs is not None:
                ended += 1
                # ML-Agents' TerminalSteps carry no mask: final_obs.action_mask is all True.
                same(got.final_obs, want.final_obs, f"final {t}",
                     ("obs_0", "obs_1", "obs_2", "obs_3", "state", "present"))
                assert got.final_obs.action_mask.all()
                for name in EPISODE_STATS:
                    torch.testing.assert_close(got.episode_stats[name],
                                               want.episode_stats[name].float(), atol=1e-5,
                                               rtol=0)
        assert ended == 1


def test_forgotten_close_does_not_hang_interpreter_exit():
    """An open UnityEnvironment used to deadlock exit (its gRPC thread waits for our reply
    while concurrent.futures joins threads before atexit runs)."""
    import subprocess
    import sys
    import textwrap
    import time

    script = textwrap.dedent(f"""
        from hideseek.envs.unity_env import UnityParallelEnv
        env = UnityParallelEnv({LAUNCHER!r}, worker_id=5, base_port={BASE_PORT})
        env.reset()
        print("open", flush=True)
    """)
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=90)
    assert res.returncode == 0, res.stderr
    assert "open" in res.stdout
    assert time.monotonic() - t0 < 45


def test_vec_sim_refuses_messages_over_the_grpc_limit():
    world = load_world_config("quadrant")
    with pytest.raises(ValueError, match="arenas_per_env=5000: .* over gRPC's 4 MiB limit"):
        UnityVecSim(LAUNCHER, 1, world, arenas_per_env=5000)


def test_variable_team_sizes_match_the_twin():
    """random_rooms with 1-2 hiders and 1-3 seekers: absent slots are padded on the Unity side
    (agents are never disabled) and left out of ``agents`` from the critic state."""
    over = {"horizon": 4, "n_hiders": [1, 2], "n_seekers": [1, 3], "n_boxes": [0, 3],
            "n_elongated_boxes": [0, 1]}
    env = UnityParallelEnv(LAUNCHER, worker_id=6, base_port=BASE_PORT, arena="random_rooms",
                           world_overrides=over)
    twin = make_env("random_rooms", **over)
    try:
        sizes = set()
        for seed in range(4):
            obs_u, _ = env.reset(seed=seed)
            obs_t, _ = twin.reset(seed=seed)
            assert env.agents == twin.agents
            sizes.add(len(twin.agents))
            _assert_same_obs(obs_u, obs_t)
            for _ in range(over["horizon"]):
                actions = {a: twin.action_space(a).sample(mask=obs_t[a]["action_mask"])
                           for a in twin.agents}
                got, want = env.step(actions), twin.step(actions)
                _assert_same_obs(got[0], want[0])
                assert got[1] == pytest.approx(want[1], abs=1e-6)
                obs_t = want[0]
            np.testing.assert_allclose(env.state(), twin.state(), atol=1e-6)
        assert len(sizes) > 1  # the seeds did vary the team sizes
    finally:
        env.close()
