"""Fault handling of UnityVecSim against twin players with injected faults (--twin-fault):
crash, hang, NaN and malformed data -> restart, dropped episode, clear errors; ports in use."""

from __future__ import annotations

import socket
import time

import pytest
import torch

from hideseek.contract import NO_MOVE_BIN, REPO_ROOT, load_world_config
from hideseek.envs.unity_vec import UnityVecSim, UnityWorkerError

LAUNCHER = str(REPO_ROOT / "builds" / "twin" / "HideAndSeekTwin.x86_64")
BASE_PORT = 52300  # this file's port range: 52300-52349
WORLD = load_world_config("quadrant", {"horizon": 20})


def noop(sim: UnityVecSim) -> torch.Tensor:
    return torch.tensor([NO_MOVE_BIN] * 3 + [0, 0]).repeat(sim.num_arenas,
                                                           sim.layout.max_agents, 1)


def faults(tmp_path, per_worker: dict[int, str]):
    """additional_args per worker: KIND@STEP once (a marker file keeps the restart clean)."""
    def args(k: int) -> list[str]:
        if k not in per_worker:
            return []
        return ["--twin-fault", per_worker[k], "--twin-fault-once", str(tmp_path / f"fired-{k}")]
    return args


def check_dropped_step(sim: UnityVecSim, out, workers: list[int], before) -> None:
    per = sim.arenas_per_env
    arenas = [k * per + j for k in workers for j in range(per)]
    expect = torch.zeros(sim.num_arenas, dtype=torch.bool)
    expect[arenas] = True
    assert torch.equal(sim.dropped, expect)
    assert out.valid is not None and torch.equal(out.valid, ~expect)  # the unobserved step
    assert torch.equal(out.truncated, expect)  # only the failed workers' episodes ended
    assert not out.reward[arenas].any()
    assert out.episode_stats is None  # no real episode finished at this step
    # final_obs of a dropped arena is its last good observation; obs is a fresh episode.
    torch.testing.assert_close(out.final_obs.obs_0[arenas], before.obs_0[arenas])
    assert torch.isfinite(out.obs.obs_0).all() and torch.isfinite(out.obs.state).all()
    assert (out.obs.state[arenas] != before.state[arenas]).any()


def test_crash_and_nan_are_restarted(tmp_path):
    with UnityVecSim(LAUNCHER, 2, WORLD, seed=1, base_port=BASE_PORT, worker_id_start=0,
                     arenas_per_env=2, timeout_wait=15, max_restarts=2, log_dir=tmp_path,
                     additional_args=faults(tmp_path, {0: "crash@3", 1: "nan@3"})) as sim:
        old_ids, old_logs = sim.worker_ids, sim.log_paths
        obs = sim.reset()
        for _ in range(2):
            obs = sim.step(noop(sim)).obs
        out = sim.step(noop(sim))
        check_dropped_step(sim, out, [0, 1], obs)
        assert sim.restarts == [1, 1]
        assert sim.worker_ids != old_ids  # the restarted workers took fresh worker ids
        assert "injected fault: crash at step 3" in old_logs[0].read_text()
        assert "injected fault: nan at step 3" in old_logs[1].read_text()
        for _ in range(3):  # the restarted workers run on cleanly
            out = sim.step(noop(sim))
            assert not sim.dropped.any() and not out.truncated.any() and out.valid is None


def test_hang_and_malformed_data_are_restarted(tmp_path):
    with UnityVecSim(LAUNCHER, 2, WORLD, seed=2, base_port=BASE_PORT, worker_id_start=10,
                     arenas_per_env=1, timeout_wait=10, max_restarts=1, log_dir=tmp_path,
                     additional_args=faults(tmp_path, {0: "hang@2", 1: "garbage@2"})) as sim:
        obs = sim.reset()
        obs = sim.step(noop(sim)).obs
        t0 = time.monotonic()
        out = sim.step(noop(sim))
        assert time.monotonic() - t0 < 40  # timeout_wait (10 s) + a restart
        check_dropped_step(sim, out, [0, 1], obs)
        assert sim.restarts == [1, 1]
        sim.step(noop(sim))
        assert not sim.dropped.any()


@pytest.mark.parametrize("kind,worker_id", [("crash", 24), ("hang", 26), ("nan", 28),
                                            ("garbage", 40)])
def test_only_the_lost_step_is_invalid_and_the_rest_is_real(tmp_path, kind, worker_id):
    """Worker 1 fails at the step where every episode ends. Its arenas are invalid for that
    step; worker 0's arenas are valid and carry exactly what the in-process twin computes
    (obs, reward, truncation, episode statistics): nothing made up is reported valid."""
    from hideseek.sim import TwinSim

    horizon = WORLD.horizon
    per, seed = 2, 4
    ref = TwinSim(WORLD, per, seed=seed)  # worker 0's arenas: seeds seed, seed + 1
    with UnityVecSim(LAUNCHER, 2, WORLD, seed=seed, base_port=BASE_PORT,
                     worker_id_start=worker_id, arenas_per_env=per, timeout_wait=8,
                     max_restarts=1, log_dir=tmp_path,
                     additional_args=faults(tmp_path, {1: f"{kind}@{horizon}"})) as sim:
        torch.testing.assert_close(sim.reset(seed).obs_0[:per], ref.reset(seed).obs_0)
        gen = torch.Generator().manual_seed(1)
        for t in range(1, horizon + 2):
            actions = torch.stack([torch.randint(0, b, (2 * per, sim.layout.max_agents),
                                                 generator=gen)
                                   for b in sim.layout.action_branches], -1)
            out, want = sim.step(actions), ref.step(actions[:per])
            healthy = slice(0, per)
            torch.testing.assert_close(out.obs.obs_0[healthy], want.obs.obs_0, atol=1e-6, rtol=0)
            torch.testing.assert_close(out.reward[healthy], want.reward, atol=1e-6, rtol=0)
            assert torch.equal(out.truncated[healthy], want.truncated)
            if t != horizon:
                assert out.valid is None, t
                continue
            assert sim.restarts == [0, 1]
            assert out.valid.tolist() == [True] * per + [False] * per
            assert out.truncated.all()  # worker 0: the horizon; worker 1: the dropped episode
            # Statistics are worker 0's real ones; the invalid arenas hold a finite 0.
            for name, value in want.episode_stats.items():
                torch.testing.assert_close(out.episode_stats[name][healthy], value.float(),
                                           atol=1e-5, rtol=0)
                assert not out.episode_stats[name][per:].any()
            assert not out.reward[per:].any()
            assert torch.isfinite(out.final_obs.obs_0).all()
        assert out.valid is None  # the step after the restart is observed again


def test_port_in_use_and_restart_limit(tmp_path):
    """Worker id 20's port is taken -> worker 21; a worker that crashes every time exhausts
    max_restarts and the error names the worker and its log file."""
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind(("127.0.0.1", BASE_PORT + 20))
    squatter.listen(1)
    try:
        sim = UnityVecSim(LAUNCHER, 1, WORLD, seed=3, base_port=BASE_PORT, worker_id_start=20,
                          timeout_wait=15, max_restarts=1, log_dir=tmp_path,
                          additional_args=["--twin-fault", "crash@2"])
    finally:
        squatter.close()
    try:
        assert sim.worker_ids == [21]
        sim.reset()
        sim.step(noop(sim))
        out = sim.step(noop(sim))  # crash 1: restarted
        assert sim.restarts == [1] and sim.dropped.all() and out.truncated.all()
        sim.step(noop(sim))
        with pytest.raises(UnityWorkerError) as info:
            sim.step(noop(sim))  # crash 2: no restarts left
        err = info.value
        assert err.worker_id == 22 and err.log_path == tmp_path.resolve() / "Player-22.log"
        assert err.log_path.is_file() and str(err.log_path) in str(err)
        assert "return code 3" in str(err) and "giving up after 1 restarts" in str(err)
    finally:
        sim.close()


def _tiny_training(tmp_path, sim_kwargs: dict):
    from hideseek.train import ScalarLog, Trainer, load_train_config

    cfg, world, over = load_train_config(None, {
        "num_arenas": 2, "rollout_steps": 5, "total_agent_steps": 2 * 5 * 4 * 3,
        "checkpoint_every": 1, "baseline_arenas": 0, "progress": False, "tensorboard": False,
        "plot": False, "ppo": {"epochs": 1, "minibatches": 1},
        "model": {"embed_dim": 16, "hidden": 16, "num_heads": 1},
        "world": {"horizon": 10}})
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    sim = UnityVecSim(LAUNCHER, 2, world, seed=cfg.seed, log_dir=tmp_path / "logs",
                      **sim_kwargs)
    trainer = Trainer(cfg, world, run_dir, sim=sim, world_over=over)
    return trainer, ScalarLog(run_dir, None, False), sim


def _check_checkpoints(trainer, expect: list[int]) -> None:
    """Every checkpoint is complete and the latest one loads into a fresh trainer (here over
    the in-process twin: the Unity workers of a failed run are gone)."""
    from hideseek.checkpoint import list_checkpoints, load_checkpoint
    from hideseek.train import Trainer, load

    found = list_checkpoints(trainer.run_dir)
    assert sorted(found) == expect
    for update, path in found.items():
        tensors, meta = load_checkpoint(path)
        assert meta["update"] == update
        assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    fresh = Trainer(trainer.cfg, trainer.world, trainer.run_dir / "resumed",
                    world_over=trainer.world_over)
    load(fresh, found[max(found)])
    assert fresh.update == max(found)


def test_training_survives_a_crashed_worker(tmp_path):
    from hideseek.train import run

    trainer, log, sim = _tiny_training(tmp_path, dict(
        base_port=BASE_PORT, worker_id_start=30, timeout_wait=15, max_restarts=1,
        additional_args=faults(tmp_path, {1: "crash@7"})))
    try:
        assert run(trainer, log) == "steps"
        assert sim.restarts == [0, 1]
        _check_checkpoints(trainer, [1, 2, 3])
    finally:
        log.close()
        sim.close()


def test_training_stops_with_a_catchable_error_and_intact_checkpoints(tmp_path):
    """What ``hideseek train`` does on UnityWorkerError: save, tell the user, exit 1."""
    from hideseek.train import run, save

    trainer, log, sim = _tiny_training(tmp_path, dict(
        base_port=BASE_PORT, worker_id_start=35, timeout_wait=15, max_restarts=0,
        additional_args=lambda k: ["--twin-fault", "crash@8"] if k == 0 else []))
    try:
        with pytest.raises(UnityWorkerError) as info:
            run(trainer, log)
        assert info.value.worker_id == 35 and info.value.log_path.is_file()
        assert trainer.update == 1  # update 2 needed step 8
        save(trainer)
        _check_checkpoints(trainer, [1])
    finally:
        log.close()
        sim.close()
