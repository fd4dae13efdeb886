"""Rollouts on a real local Ray: the same batch and update as the local sampler, policy-lag
stamps and stale drops, crashed, failing and hung workers, the restart budget, the command line
with checkpoint and resume under another worker count, and workers running the twin player
through ML-Agents. One Ray instance serves the module (it takes seconds to start)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import ray  # CI installs Ray (scripts/setup.sh): these tests run, never skip
from hideseek.checkpoint import list_checkpoints, load_checkpoint
from hideseek.contract import REPO_ROOT
from hideseek.ray_sampler import RayConfig, RolloutWorkerError
from hideseek.ray_worker import WorkerFault
from hideseek.train import Trainer, to_host
from test_ray_helpers import tiny_trainer

TWIN_PLAYER = REPO_ROOT / "builds" / "twin" / "HideAndSeekTwin.x86_64"


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture
def one_thread():
    # Workers act with one torch thread; the local reference must sum in the same order.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _trainer(tmp_path: Path, name: str, ray_cfg: RayConfig | None = None, blocks: int = 1,
             **over) -> Trainer:
    return tiny_trainer(tmp_path / name, ray_cfg, blocks, **over)


def test_lag_zero_two_workers_reproduce_the_local_sampler(tmp_path, one_thread):
    local = _trainer(tmp_path, "local", blocks=2)
    remote = _trainer(tmp_path, "ray", RayConfig(workers=2, max_policy_lag=0))
    try:
        for _ in range(2):  # the second round continues the workers' episodes and generators
            a = local.sampler.sample(local.update, {}).to_numpy()
            b = remote.sampler.sample(remote.update, {}).to_numpy()
            assert a.keys() == b.keys()
            for k in a:
                assert a[k].shape == b[k].shape and np.array_equal(a[k], b[k]), k
        # The same first update, from a fresh pair (same initial weights, same batch).
        local2 = _trainer(tmp_path, "local2", blocks=2)
        remote2 = _trainer(tmp_path, "ray2", RayConfig(workers=2, max_policy_lag=0))
        sa, sb = to_host(local2.train_update()), to_host(remote2.train_update())
        remote2.close()
        assert sa["shared/policy_loss"] == sb["shared/policy_loss"]
        for (ka, va), (kb, vb) in zip(local2.learner.groups["shared"].state_dict().items(),
                                      remote2.learner.groups["shared"].state_dict().items()):
            assert ka == kb and torch.equal(va, vb), ka
        stamps = remote.sampler.last_stamps
        assert [s["worker"] for s in stamps] == [0, 1]
        assert [s["sim_seed"] for s in stamps] == [0, 2]  # blocks of 2 arenas: seeds 0.., 2..
    finally:
        remote.close()


def test_lag_stamps_and_a_stale_fragment_is_dropped(tmp_path):
    # Worker 1 is 15 s late from round 3: rounds go on without it, and its late fragment (too
    # old by the time it arrives) is dropped, never trained on. Which round each fragment
    # lands in depends on the machine's load; the rules asserted here do not.
    faults = (WorkerFault(worker=1, round=3, kind="slow", seconds=15.0),)
    tr = _trainer(tmp_path, "lag", RayConfig(workers=2, max_policy_lag=1, sample_timeout=3.0,
                                              hang_timeout=60.0, faults=faults))

    def late(stamp: dict) -> bool:
        return stamp["worker"] == 1 and stamp["round"] >= 3

    try:
        used = []
        while not any(late(x) for x in tr.sampler.dropped_stamps) and tr.update < 12:
            version = tr.update
            tr.train_update()
            stamps = tr.sampler.last_stamps
            used.append(stamps)
            assert all(0 <= version - x["version"] <= 1 for x in stamps)  # bounded lag
            assert tr.sampler.stats()["ray/arena_fraction"] == len(stamps) / 2
        assert [x["version"] for x in used[0]] == [0] * len(used[0])  # its own round: lag 0
        # With lag 1 the next round went out before each update: fragments one version old.
        assert any(version - x["version"] == 1 for version, st in enumerate(used) for x in st)
        (dropped,) = [x for x in tr.sampler.dropped_stamps if late(x)]
        assert tr.update - 1 - dropped["version"] > 1  # too old when it came
        assert any([x["worker"] for x in st] == [0] for st in used)  # rounds went on without it
        assert not any((x["worker"], x["round"]) == (1, dropped["round"])
                       for st in used for x in st)
        assert tr.sampler.restarts == [0, 0]
        assert tr.agent_steps == sum(len(st) for st in used) * 2 * 8 * 4  # 2 arenas, 8 steps
    finally:
        tr.close()


def test_crashed_failing_and_hung_workers_are_restarted(tmp_path):
    faults = (WorkerFault(worker=0, round=2, kind="exit"),      # the process dies
              WorkerFault(worker=1, round=3, kind="raise"),     # the task raises
              WorkerFault(worker=0, round=5, kind="hang", incarnation=1))  # never returns
    tr = _trainer(tmp_path, "faults", RayConfig(workers=2, max_policy_lag=0, sample_timeout=2.0,
                                                hang_timeout=10.0, min_fraction=1.0,
                                                faults=faults))
    try:
        for _ in range(6):
            version = tr.update
            s = to_host(tr.train_update())
            stamps = tr.sampler.last_stamps
            # min_fraction 1: every round is whole, fresh, from the live incarnation.
            assert sorted(x["worker"] for x in stamps) == [0, 1]
            assert all(x["version"] == version for x in stamps)
            assert [x["incarnation"] for x in sorted(stamps, key=lambda x: x["worker"])] == \
                [tr.sampler.slots[i].incarnation for i in range(2)]
            assert np.isfinite(s["shared/policy_loss"])
        assert tr.sampler.restarts == [2, 1] and tr.sampler.total_restarts == 3
        assert tr.update == 6
    finally:
        tr.close()


def test_restart_budget_ends_with_a_clear_error(tmp_path):
    faults = (WorkerFault(worker=1, round=1, kind="raise"),)
    tr = _trainer(tmp_path, "budget", RayConfig(workers=2, max_policy_lag=0,
                                                max_worker_restarts=0, faults=faults))
    try:
        with pytest.raises(RolloutWorkerError, match=r"worker 1: failed: .*injected fault.*"
                                                      r"giving up after 0 restarts"):
            tr.train_update()
    finally:
        tr.close()


def test_cli_trains_on_ray_and_resumes_with_another_worker_count(tmp_path):
    from hideseek.cli import main as cli_main

    out = tmp_path / "runs"
    over = [f"out_dir={out}", "num_arenas=4", "rollout_steps=8", "total_agent_steps=256",
            "baseline_arenas=0", "progress=false", "tensorboard=false", "plot=false",
            "checkpoint_every=1", "world.horizon=12", "world.lidar_rays=4", "model.embed_dim=16",
            "model.hidden=16", "ppo.epochs=1", "ppo.minibatches=2", "icm.feature_dim=8",
            "icm.hidden=16"]
    # Ray is already up in this process: --ray local joins it (a fresh process would start one).
    assert cli_main(["train", "--ray", "local", "--workers", "2", *over]) == 0
    (run,) = out.iterdir()
    assert sorted(list_checkpoints(run)) == [1, 2]
    records = [json.loads(x) for x in (run / "scalars.jsonl").read_text().splitlines()]
    assert [r["ray/fragments"] for r in records] == [2.0, 2.0]
    tensors2, meta2 = load_checkpoint(list_checkpoints(run)[2])
    assert "memory" not in tensors2 and not meta2["sim_state_saved"]

    # Resume with one worker: the version (update) and the weights are the checkpoint's.
    from argparse import Namespace
    from hideseek.train import load, prepare
    args = Namespace(resume=str(run), config=None, overrides=["total_agent_steps=512"],
                     env=None, num_envs=1, ray="local", workers=1, envs_per_worker=None,
                     max_policy_lag=None, sample_timeout=None, min_fraction=None,
                     max_worker_restarts=None)
    tr, resume = prepare(args)
    try:
        load(tr, *resume)
        assert tr.update == 2 and tr.agent_steps == 256
        assert len(tr.sampler.slots) == 1
        for k, v in tr.learner.groups[tr.group_of["hider"]].model.state_dict().items():
            assert torch.equal(v, tensors2[f"model.hider.{k}"]), k
        tr.train_update()
        assert tr.sampler.last_stamps[0]["version"] == 2 and tr.update == 3
    finally:
        tr.close()
    assert cli_main(["train", "--resume", str(run), "--ray", "local", "--workers", "1",
                     "total_agent_steps=512"]) == 0
    assert max(list_checkpoints(run)) == 4


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_play_the_twin_player_through_mlagents(tmp_path):
    # The real path: each worker's UnityVecSim runs the twin player binary. One player crashes
    # at its 3rd step (once: the marker file) and UnityVecSim restarts it inside its worker;
    # worker 1's process dies in round 3, and its restart kills the players it left behind.
    once = tmp_path / "crashed-once"
    cfg = RayConfig(workers=2, max_policy_lag=0, env=str(TWIN_PLAYER), envs_per_worker=1,
                    unity_args=("--twin-fault", "crash@3", "--twin-fault-once", str(once)),
                    timeout_wait=30, sample_timeout=60.0, hang_timeout=120.0,
                    faults=(WorkerFault(worker=1, round=3, kind="exit"),))
    tr = _trainer(tmp_path, "unity", cfg)
    try:
        first = tr.sampler.where()
        orphans = first[1]["env_pids"]
        assert len(orphans) == 1 and all(_alive(p) for p in orphans)
        for i in range(4):
            s = to_host(tr.train_update())
            assert np.isfinite(s["shared/policy_loss"])
            assert sorted(x["worker"] for x in tr.sampler.last_stamps) == [0, 1]
            if i == 1:  # a player crashed at step 3 (both, if they raced for the marker)
                assert 1 <= sum(x["env_restarts"] for x in tr.sampler.last_stamps) <= 2
        assert once.exists() and tr.sampler.restarts == [0, 1]
        assert not any(_alive(p) for p in orphans)
        now = tr.sampler.where()
        assert now[1]["pid"] != first[1]["pid"] and len(now[1]["env_pids"]) == 1
        logs = sorted(p.name for p in (tmp_path / "unity" / "unity_logs").iterdir())
        assert logs == ["worker-0", "worker-1"]
    finally:
        tr.close()
    assert not any(_alive(p) for w in now for p in w["env_pids"])  # close() ended them


@pytest.mark.parametrize("argv, message", [
    (["--workers", "2"], "--workers = 2: expected alongside --ray"),
    (["--ray", "nowhere"], "expected local, auto or a Ray address HOST:PORT"),
    (["--ray", "local", "--min-fraction", "0"], "expected a fraction in (0, 1], got '0'"),
    (["--ray", "local", "--sample-timeout", "nan"], "expected a number of seconds > 0"),
    (["--ray", "local", "--envs-per-worker", "2"], "envs_per_worker = 2: expected 1 with the "
                                                   "in-process twin"),
    (["--ray", "local", "--workers", "3"], "--workers = 3: expected a divisor of num_arenas"),
])
def test_bad_ray_flags_exit_2_with_one_line(argv, message, tmp_path, capsys):
    from hideseek.cli import main as cli_main

    try:  # argparse's type errors exit at parsing; ConfigError returns 2
        code = cli_main(["train", *argv, f"out_dir={tmp_path}", "num_arenas=4",
                         "baseline_arenas=0"])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_a_worker_on_other_code_fails_to_start_with_a_clear_error(tmp_path, monkeypatch):
    import hideseek.ray_sampler as rs
    from hideseek.ray_worker import contract_fingerprint
    from hideseek.train import load_train_config
    from test_ray_helpers import TINY

    cfg, world, _ = load_train_config(None, TINY)
    mine = contract_fingerprint(world)
    # The trainer side of an older checkout: one statistic fewer than the workers' code.
    monkeypatch.setattr(rs, "contract_fingerprint", lambda w: (mine[0][:-1],) + mine[1:])
    with pytest.raises(RolloutWorkerError, match="worker 0: failed to start: .*runs other "
                                                 "hideseek code than the trainer"):
        rs.RaySampler(RayConfig(workers=1), world, cfg.model, {}, 0, 8, 4, torch.device("cpu"))
