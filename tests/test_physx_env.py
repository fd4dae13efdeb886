"""The PhysX backend behind the two environments: ``make_env(..., backend="physx")`` against
PettingZoo's API and seed tests (as the twin's env, tests/test_twin_env.py), and the twin
launcher serving PhysX through the real ML-Agents protocol (``--twin-backend physx``), which
plays the same episode as the in-process PhysX env."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

pytest.importorskip("sapien", reason="the physx extra (pip install -e '.[physx]')")

import hideseek  # noqa: E402
from hideseek import physx  # noqa: E402
from hideseek.contract import REPO_ROOT  # noqa: E402
from hideseek.envs.unity_env import UnityParallelEnv  # noqa: E402
from hideseek.physx.sim import PhysxSim  # noqa: E402
from hideseek.unity_twin import player  # noqa: E402
from hideseek.unity_twin.options import parse_args  # noqa: E402

LAUNCHER = str(REPO_ROOT / "builds" / "twin" / "HideAndSeekTwin.x86_64")
BASE_PORT = 52400  # this file's port range: 52400-52409
OVERRIDES = {"horizon": 8, "prep_fraction": 0.25}


@pytest.mark.parametrize("arena", ["quadrant", "random_rooms"])
def test_parallel_api(arena):
    env = hideseek.make_env(arena, horizon=30, render_mode="rgb_array", backend="physx")
    parallel_api_test(env, num_cycles=100)
    assert isinstance(env.sim, PhysxSim)


def test_parallel_seed():
    parallel_seed_test(lambda: hideseek.make_env("quadrant", horizon=30, backend="physx"),
                       num_cycles=60)


def test_unknown_or_missing_backend_is_one_line(monkeypatch):
    with pytest.raises(ValueError, match="backend: expected one of twin, physx, got 'bullet'"):
        hideseek.make_env("quadrant", backend="bullet")
    monkeypatch.setattr(physx, "available", lambda: False)
    with pytest.raises(physx.PhysxUnavailable, match=r"pip install -e '\.\[physx\]'"):
        hideseek.make_env("quadrant", backend="physx")


def test_launcher_backend_option():
    assert parse_args([]).backend == "twin"
    assert parse_args(["--twin-backend", "physx"]).backend == "physx"
    with pytest.raises(ValueError, match="--twin-backend 'bullet': expected one of twin, physx"):
        parse_args(["--twin-backend", "bullet"])
    with pytest.raises(ValueError, match="--twin-device cuda: expected cpu with --twin-backend"):
        parse_args(["--twin-backend", "physx", "--twin-device", "cuda"])


def test_launcher_without_the_extra_stops_with_one_line(monkeypatch, capsys):
    monkeypatch.setattr(physx, "available", lambda: False)
    code = player.main(["--mlagents-port", "5999", "--twin-backend", "physx"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == player.EXIT_CONFIG
    assert err == ["HideAndSeekTwin: the PhysX backend needs the physx extra: "
                   "pip install -e '.[physx]'"]


def test_launcher_serves_physx_through_the_protocol(tmp_path):
    """UnityEnvironment starts the launcher with ``--twin-backend physx`` in its
    additional_args, as it would pass any player arguments; the episode it plays is the
    in-process PhysX env's for the same seed and actions."""
    unity = UnityParallelEnv(LAUNCHER, worker_id=0, base_port=BASE_PORT, seed=3, timeout_wait=60,
                             world_overrides=OVERRIDES, log_folder=str(tmp_path),
                             additional_args=["--twin-backend", "physx"])
    local = hideseek.make_env("quadrant", seed=0, backend="physx", **OVERRIDES)
    try:
        obs_u, _ = unity.reset(seed=5)
        obs_l, _ = local.reset(seed=5)
        while local.agents:
            actions = {a: local.action_space(a).sample(mask=obs_l[a]["action_mask"])
                       for a in local.agents}
            obs_u, rew_u, _, trunc_u, info_u = unity.step(actions)
            obs_l, rew_l, _, trunc_l, info_l = local.step(actions)
            for agent in obs_l:
                for key in ("obs_0", "obs_1", "obs_2", "obs_3"):
                    np.testing.assert_allclose(obs_u[agent][key], obs_l[agent][key], atol=1e-5,
                                               err_msg=f"{agent} {key}")
                assert rew_u[agent] == pytest.approx(rew_l[agent], abs=1e-6)
        assert all(trunc_u.values()) and all(trunc_l.values())
        stats_u, stats_l = info_u["hider_0"]["episode_stats"], info_l["hider_0"]["episode_stats"]
        assert stats_u == pytest.approx(stats_l, abs=1e-5)
    finally:
        unity.close()
    log = next(tmp_path.glob("Player-*.log")).read_text()
    assert "simulator: physx" in log
