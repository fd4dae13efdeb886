"""The training loop on the real twin: masks, bootstrapping, learning, exact resume, Ctrl-C,
plots, and clear configuration errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hideseek.checkpoint import list_checkpoints, load_checkpoint, load_policy
from hideseek.cli import main as cli_main
from hideseek.config_io import ConfigError
from hideseek.contract import REPO_ROOT
from hideseek.sim import TwinSim
from hideseek.train import Trainer, load_train_config, to_host

TINY = {
    "num_arenas": 4, "rollout_steps": 8, "baseline_arenas": 2, "progress": False, "torch_threads": 1,
    "world": {"horizon": 12, "lidar_rays": 4},
    "model": {"embed_dim": 16, "hidden": 16},
    "ppo": {"epochs": 2, "minibatches": 2},
    "icm": {"feature_dim": 8, "hidden": 16},
}


def _cfg(**over):
    from hideseek.config_io import merge
    return load_train_config(None, merge(TINY, over))


def _trainer(tmp_path, sim=None, **over) -> Trainer:
    cfg, world, wo = _cfg(**over)
    return Trainer(cfg, world, tmp_path / "run", sim=sim, world_over=wo)


def test_rollout_respects_masks_and_records_episode_ends(tmp_path):
    tr = _trainer(tmp_path, **{"world": {"horizon": 6, "lidar_rays": 4, "prep_fraction": 0.5}})
    buf = tr.collector.collect()  # 8 steps: crosses one episode end (t = 5)
    assert buf.truncated[:, 0].tolist() == [False] * 5 + [True] + [False] * 2
    assert buf.final_steps == [5] and bool(buf.valid.all())
    bi = tr.learner.branch_index
    allowed = bi.grid(buf.mask, False).gather(-1, buf.actions.unsqueeze(-1)).squeeze(-1)
    assert allowed.all()
    # Seekers cannot act during prep (first 3 steps of each episode), hiders always can.
    can_act = bi.can_act(buf.mask)
    seekers, hiders = tr.layout.team_slice("seeker"), tr.layout.team_slice("hider")
    assert can_act[:, 0, seekers.start].tolist() == [False, False, False, True, True, True, False, False]
    assert can_act[:, :, hiders].all()
    # The final row is the last observation of the old episode, not the first of the new one.
    assert not torch.equal(buf.final_state[0], buf.state[6])
    assert torch.equal(buf.final_state[0][:, -1], torch.zeros(4))  # no time left: "episode_left"
    assert torch.equal(buf.state[6][:, -1], torch.ones(4))
    assert buf.episodes.item() == 4


class BonusSim(TwinSim):
    """The real twin with the reward replaced by +1 for pushing with full force along +x: a task
    whose optimum is known, so learning is certain and fast."""

    def step(self, actions):
        out = super().step(actions)
        out.reward = (actions[..., 0] == 10).float()
        return out


def test_tiny_config_learning_improves_team_return(tmp_path):
    cfg, world, wo = _cfg(num_arenas=16, rollout_steps=16, icm={"coef": 0.0},
                          ppo={"lr": 0.003, "epochs": 4, "minibatches": 4},
                          world={"horizon": 16, "lidar_rays": 0})
    sim = BonusSim(world, cfg.num_arenas, seed=cfg.seed)
    tr = Trainer(cfg, world, tmp_path / "run", sim=sim, world_over=wo)
    returns = [to_host(tr.train_update())["hider/reward_ext"] for _ in range(8)]
    assert tr.agent_steps == 8 * 16 * 16 * 4  # 8192 agent-steps
    # Random play earns 1/11 per step; the learned hiders earn several times that.
    assert returns[0] < 0.2 and returns[-1] > 0.35, returns


def _train(args: list[str]) -> int:
    return cli_main(["train", *args])


def _overrides(tmp_path: Path, name: str, **extra) -> list[str]:
    base = {
        "name": name, "out_dir": str(tmp_path), "num_arenas": 4, "rollout_steps": 8,
        "baseline_arenas": 2, "progress": "false", "tensorboard": "true", "plot": "false",
        "checkpoint_every": 1, "world.horizon": 12, "world.lidar_rays": 4, "torch_threads": 1,
        "model.embed_dim": 16, "model.hidden": 16, "model.recurrent": "gru",
        "ppo.epochs": 2, "ppo.minibatches": 2, "ppo.chunk_length": 4,
        "icm.feature_dim": 8, "icm.hidden": 16,
        "selfplay.opponent_prob": 0.5, "selfplay.snapshot_every": 1,
        "evaluation.episodes": 6, "evaluation.every": 1,
        # Pinned here rather than taken from the demo config (the CLI's default --config), which
        # compiles and trains without curiosity: these tests check ICM's state and eager runs.
        "icm.coef": 0.5, "policy_compile": "false", "sim_compile": "false",
    }
    base.update(extra)
    return [f"{k}={v}" for k, v in base.items()]


def _only_run(tmp_path: Path, name: str) -> Path:
    (run,) = [p for p in tmp_path.iterdir() if p.name.startswith(name + "-")]
    return run


def test_resume_equals_uninterrupted_run(tmp_path):
    """Mid-episode checkpoints (horizon 12, rollouts of 8) with ICM, a GRU and opponent sampling:
    2 + 2 updates with a resume in between end bit-identical to 4 updates in one go."""
    steps = 4 * 8 * 4 * 4
    assert _train(_overrides(tmp_path, "full", total_agent_steps=steps)) == 0
    assert _train(_overrides(tmp_path, "part", total_agent_steps=steps // 2)) == 0
    part = _only_run(tmp_path, "part")
    assert max(list_checkpoints(part)) == 2
    assert _train(["--resume", str(part), f"total_agent_steps={steps}"]) == 0
    full = _only_run(tmp_path, "full")
    a, meta_a = load_checkpoint(list_checkpoints(full)[4])
    b, meta_b = load_checkpoint(list_checkpoints(part)[4])
    assert set(a) == set(b)
    assert meta_a["pool"] == meta_b["pool"] and meta_a["agent_steps"] == meta_b["agent_steps"]
    for k in a:
        assert torch.equal(a[k], b[k]), k
    drop = ("minutes", "perf/")
    clean = lambda rec: {k: v for k, v in rec.items() if not k.startswith(drop)}  # noqa: E731
    la = [clean(json.loads(x)) for x in (full / "scalars.jsonl").read_text().splitlines()]
    lb = [clean(json.loads(x)) for x in (part / "scalars.jsonl").read_text().splitlines()]
    assert la == lb and len(la) == 4
    assert any(json.loads(x)["perf/opponent_sampled"] for x in
               (full / "scalars.jsonl").read_text().splitlines())
    # The run directory feeds load_policy and the plots.
    pol = load_policy(full)
    assert pol.update == 4 and pol.actors["hider"].memory_size == 16
    assert cli_main(["plot", str(full)]) == 0
    assert (full / "plots" / "dashboard.png").stat().st_size > 10_000
    # Random seekers find random hiders now and then, but not always.
    assert 0.05 < json.loads((full / "baseline.json").read_text())["hidden_fraction"] < 0.95


def test_sigint_saves_a_checkpoint_and_resume_continues(tmp_path):
    # One torch thread in the child: two OpenMP threads crawl when the machine is oversubscribed.
    args = _overrides(tmp_path, "sig", total_agent_steps=10**9, checkpoint_every=1000,
                      torch_threads=1, **{"model.recurrent": "none"})
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "hideseek.cli", "train", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            runs = list(tmp_path.glob("sig-*/scalars.jsonl"))
            if runs and runs[0].read_text().count("\n") >= 1:
                break
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out
    run = _only_run(tmp_path, "sig")
    saved = list_checkpoints(run)
    assert saved and "interrupted" in out
    last = max(saved)
    lines = (run / "scalars.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["update"] == last
    steps = (last + 1) * 8 * 4 * 4
    # In a child process too: the run's config sets torch_threads, which is process-global.
    res = subprocess.run([sys.executable, "-m", "hideseek.cli", "train", "--resume", str(run),
                          f"total_agent_steps={steps}"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert max(list_checkpoints(run)) == last + 1


def test_bad_configs_give_clear_errors(tmp_path, capsys):
    with pytest.raises(ConfigError, match=r"ppo\.clip = 1\.5"):
        load_train_config(None, {"ppo": {"clip": 1.5}})
    with pytest.raises(ConfigError, match="num_arenas"):
        load_train_config(None, {"num_arenas": 0})
    with pytest.raises(ConfigError, match=r"world.*horizon|horizon"):
        load_train_config(None, {"world": {"horizon": 1}})
    with pytest.raises(ConfigError, match="train_teams"):
        load_train_config(None, {"train_teams": ["hider", "hider"]})
    with pytest.raises(ConfigError, match="train_teams"):
        load_train_config(None, {"train_teams": ["cat"]})
    with pytest.raises(ConfigError, match="minibatches"):
        load_train_config(None, {"num_arenas": 1, "rollout_steps": 2, "ppo": {"minibatches": 4}})
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            load_train_config(None, {"device": "cuda"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("num_arenas: 4\nlearning_rate: 3\n")
    assert _train(["--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "learning_rate" in err and "a known key" in err
    assert _train(["--resume", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_resume_refuses_changes_that_break_exactness(tmp_path, capsys):
    assert _train(_overrides(tmp_path, "r", total_agent_steps=128,
                             **{"model.recurrent": "none"})) == 0
    run = _only_run(tmp_path, "r")
    assert _train(["--resume", str(run), "ppo.lr=0.1"]) == 2
    assert "ppo" in capsys.readouterr().err


def test_demo_config_is_valid():
    cfg, world, _ = load_train_config(REPO_ROOT / "configs" / "train" / "quadrant.yaml")
    assert cfg.max_minutes > 0 and cfg.total_agent_steps > 0 and world.scenario == "quadrant"


def test_plot_of_a_missing_or_torn_log_is_clear(tmp_path, capsys):
    assert cli_main(["plot", str(tmp_path / "absent")]) == 2
    assert "absent" in capsys.readouterr().err
    run = tmp_path / "run"
    run.mkdir()
    rec = {"update": 1, "agent_steps": 100, "minutes": 0.1, "episode/count": 2.0,
           "episode/hidden_fraction": 0.5, "hider/entropy": 8.0}
    # A torn last line (a run killed mid-write) is skipped; a torn middle line is an error.
    (run / "scalars.jsonl").write_text(json.dumps(rec) + "\n" + json.dumps(rec)[:20])
    assert cli_main(["plot", str(run)]) == 0
    assert (run / "plots" / "dashboard.png").is_file()
    (run / "scalars.jsonl").write_text("{oops\n" + json.dumps(rec) + "\n")
    assert cli_main(["plot", str(run)]) == 2
    assert "line 1" in capsys.readouterr().err


def test_opponent_pool_cadence_trimming_arenas_and_candidates():
    from hideseek.models import Actor, ModelConfig
    from hideseek.train import OpponentPool, SelfPlayConfig

    cfg = SelfPlayConfig(opponent_prob=1.0, opponent_fraction=0.25, snapshot_every=3, pool_size=2)
    world, model = _cfg()[1], ModelConfig(embed_dim=16, hidden=16)
    actor = Actor(world.layout, model)
    pool = OpponentPool(cfg, ["hider", "seeker"], num_arenas=8, seed=0)
    for update in range(1, 13):
        with torch.no_grad():
            actor.heads[0].bias.fill_(update)  # tells the snapshots apart
        pool.add(update, {"shared": actor})
    assert [u for u, _ in pool.snapshots] == [9, 12]  # every 3rd update, the newest 2 kept
    frozen = {t: Actor(world.layout, model) for t in ("hider", "seeker")}
    seen = set()
    for _ in range(40):
        ((team, (past, arenas)),) = pool.pick(frozen, {"hider": "shared", "seeker": "shared"}).items()
        assert past is frozen[team] and arenas == 2  # the first quarter of 8 arenas
        seen.add((team, past.heads[0].bias[0].item()))
    assert seen == {(t, float(u)) for t in ("hider", "seeker") for u in (9, 12)}
    # A team is frozen only where it trains against a training opponent.
    lone = OpponentPool(cfg, ["hider"], num_arenas=8, seed=0)
    lone.add(3, {"hider": actor, "seeker": actor})
    assert not lone.active and lone.snapshots == [] and lone.pick(frozen, {}) == {}


def test_to_host_reads_every_scalar_once():
    stats = {"a": torch.tensor(1.5), "b": torch.tensor(2, dtype=torch.int64), "c": torch.ones(1)}
    assert to_host(stats) == {"a": 1.5, "b": 2.0, "c": 1.0}


def test_configs_that_cannot_train_are_refused():
    with pytest.raises(ConfigError, match="shared_policy"):
        load_train_config(None, {"train_teams": ["hider"]})
    cfg, _, _ = load_train_config(None, {"train_teams": ["hider"], "model": {"shared_policy": False}})
    assert cfg.train_teams == ["hider"]
    with pytest.raises(ConfigError, match="chunk_length"):
        load_train_config(None, {"rollout_steps": 10, "model": {"recurrent": "gru"},
                                 "ppo": {"chunk_length": 4}})


def test_resume_skips_a_torn_newest_checkpoint_and_keeps_it(tmp_path, capsys):
    assert _train(_overrides(tmp_path, "torn", total_agent_steps=2 * 8 * 4 * 4,
                             **{"model.recurrent": "none", "selfplay.opponent_prob": 0.0})) == 0
    run = _only_run(tmp_path, "torn")
    newest = list_checkpoints(run)[2]
    newest.write_bytes(newest.read_bytes()[:100])  # a save cut short by a full disk
    capsys.readouterr()
    assert _train(["--resume", str(run), f"total_agent_steps={3 * 8 * 4 * 4}"]) == 0
    err = capsys.readouterr().err
    assert newest.name in err and "resumed" in err and "at update 1" in err
    kept = newest.with_name(newest.name + ".torn")
    assert kept.exists() and len(kept.read_bytes()) == 100   # never deleted nor overwritten
    assert max(list_checkpoints(run)) == 3
