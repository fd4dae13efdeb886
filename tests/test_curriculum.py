"""The state-reset curriculum: TwinSim.start_from continues an arena from a saved state exactly,
and training with it starts some episodes mid-prep, counts only fresh episodes in its curves and
resumes exactly."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from hideseek.contract import ACTION_BRANCHES, load_world_config
from hideseek.sim import TwinSim
from hideseek.sim.state import SimState

WORLD = load_world_config("quadrant", {"horizon": 12, "prep_fraction": 0.5, "lidar_rays": 4})


def _actions(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, b, (n, WORLD.max_agents), generator=g)
                        for b in ACTION_BRANCHES], -1)


def test_an_arena_continues_a_saved_state_exactly():
    source = TwinSim(WORLD, 3, seed=5)
    for t in range(4):
        source.step(_actions(3, t))
    saved = SimState(**{k: v[1:2].clone() for k, v in source.state.tensors().items()})
    target = TwinSim(WORLD, 2, seed=50)
    obs = target.start_from(torch.tensor([0]), saved)
    assert int(target.steps_taken[0]) == 4 and int(target.steps_taken[1]) == 0
    torch.testing.assert_close(obs.obs[0][0], source.obs.obs[0][1])
    own_seed = int(target.state.seed[0])
    assert own_seed == 50, "the arena keeps its own seed stream"
    # Both play the same actions to the episode's end: the same rewards and statistics.
    for t in range(4, WORLD.horizon):
        a = _actions(3, t)
        out_s = source.step(a)
        out_t = target.step(torch.stack([a[1], a[0]]))
        torch.testing.assert_close(out_t.reward[0], out_s.reward[1])
    assert out_t.episode_stats is not None and out_s.episode_stats is not None
    for k in out_s.episode_stats:
        torch.testing.assert_close(out_t.episode_stats[k][0], out_s.episode_stats[k][1], msg=k)
    assert int(target.state.seed[0]) == own_seed and int(target.state.episode[0]) == 1


def test_training_with_the_curriculum_counts_fresh_episodes_and_resumes_exactly(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from test_train import _only_run, _overrides, _train

    from hideseek.checkpoint import list_checkpoints, load_checkpoint

    extra = {"curriculum.prob": 0.5, "curriculum.buffer": 64, "curriculum.record": 2,
             "world.prep_fraction": 0.5, "model.recurrent": "none", "evaluation.enabled": "false"}
    steps = 4 * 8 * 4 * 4
    assert _train(_overrides(tmp_path, "full", total_agent_steps=steps, **extra)) == 0
    assert _train(_overrides(tmp_path, "part", total_agent_steps=steps // 2, **extra)) == 0
    part = _only_run(tmp_path, "part")
    assert _train(["--resume", str(part), f"total_agent_steps={steps}"]) == 0
    full = _only_run(tmp_path, "full")
    a, _ = load_checkpoint(list_checkpoints(full)[4])
    b, _ = load_checkpoint(list_checkpoints(part)[4])
    assert set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert int(a["curriculum.counters"][0]) > 0, "prep states were saved"


def test_a_rollout_counts_only_episodes_that_started_fresh():
    from hideseek.train.config import CurriculumConfig, load_train_config
    from hideseek.train.trainer import Trainer

    cfg, world, _ = load_train_config(None, {
        "num_arenas": 8, "rollout_steps": 12, "progress": False, "tensorboard": False,
        "world": {"horizon": 12, "prep_fraction": 0.5, "lidar_rays": 4},
        "curriculum": {"prob": 0.6, "record": 3}})
    trainer = Trainer(cfg, world, Path("/nonexistent"))
    collector, starts = trainer.collector, trainer.collector.starts
    assert isinstance(starts.cfg, CurriculumConfig)
    ends = {"fresh": 0, "continued": 0}
    real_step = collector.sim.step

    def counting_step(actions):
        was_continued = starts.continued.clone()
        out = real_step(actions)
        ends["fresh"] += int((out.truncated & ~was_continued).sum())
        ends["continued"] += int((out.truncated & was_continued).sum())
        return out

    collector.sim.step = counting_step
    counted = 0
    for _ in range(4):
        counted += int(collector.collect().episodes)
    assert ends["continued"] > 0, "some episodes continued saved prep states"
    assert counted == ends["fresh"]
