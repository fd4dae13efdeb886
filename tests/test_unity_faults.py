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
BASE_PORT = 52300  # this file's port range: 52300-52339
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
            assert not sim.dropped.any() and not out.truncated.any()


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
