"""The trainer's user-facing extras: the periodic evaluation at checkpoints, the progress bar's
total, and the thread pick that times a whole update."""

from __future__ import annotations

import json

import torch

from hideseek.checkpoint import list_checkpoints
from hideseek.contract import EPISODE_STATS
from hideseek.train.cli import progress_total
from hideseek.train.evaluation import replay_path
from hideseek.train.threads import PROBE_STEPS, pick_training_threads, probe_config

from test_train import _cfg, _only_run, _overrides, _train


def _records(run) -> list[dict]:
    return [json.loads(x) for x in (run / "scalars.jsonl").read_text().splitlines()]


def test_periodic_evaluation_logs_both_modes_at_each_checkpoint(tmp_path):
    """A checkpoint after every update, an evaluation at every second one and at the end
    (updates 2 and 3): both modes, beside the training statistics in scalars.jsonl and
    TensorBoard; a replay next to each evaluated checkpoint when asked for."""
    steps = 3 * 8 * 4 * 4
    args = _overrides(tmp_path, "ev", total_agent_steps=steps, checkpoint_every=1,
                      **{"model.recurrent": "none", "selfplay.opponent_prob": 0.0,
                         "evaluation.episodes": 5, "evaluation.every": 2,
                         "evaluation.replay_episodes": 2})
    assert _train(args) == 0
    run = _only_run(tmp_path, "ev")
    records = _records(run)
    assert [r["update"] for r in records] == [1, 2, 3]
    assert "eval_sampled/hidden_fraction" not in records[0]
    for r in records[1:]:
        for mode in ("deterministic", "sampled"):
            for name in EPISODE_STATS:
                assert f"eval_{mode}/{name}" in r, (mode, name)
            rates = [r[f"eval_{mode}/win_rate_{t}"] for t in ("hider", "seeker", "draw")]
            assert abs(sum(rates) - 1.0) < 1e-9
        assert r["perf/eval_seconds"] > 0
        assert "episode/hidden_fraction" in r   # the training statistics of the same update
    assert sorted(list_checkpoints(run)) == [1, 2, 3]
    for update in (2, 3):
        page = replay_path(run, update).read_text()
        assert '"format":"hideseek-replay/1"' in page and f"update {update}" in page
    assert not replay_path(run, 1).exists()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(run / "tb"))
    acc.Reload()
    assert "eval_deterministic/hidden_fraction" in acc.Tags()["scalars"]


def test_periodic_evaluation_can_be_switched_off(tmp_path):
    args = _overrides(tmp_path, "noeval", total_agent_steps=2 * 8 * 4 * 4, checkpoint_every=1,
                      **{"model.recurrent": "none", "evaluation.enabled": "false"})
    assert _train(args) == 0
    records = _records(_only_run(tmp_path, "noeval"))
    assert len(records) == 2
    assert not any(k.startswith("eval_") for r in records for k in r)


def test_progress_total_is_the_budget_that_stops_the_run():
    cfg, _, _ = _cfg(total_agent_steps=20_000_000, max_minutes=14.0)
    # Before any rate is known: the step budget.
    assert progress_total(cfg, 0, 0.0, 0.0) == 20_000_000
    # 9,000 steps/s for 14 minutes is 7.56 M: the time budget stops the run first.
    assert progress_total(cfg, 0, 0.0, 9_000.0) == 7_560_000
    # Updated as the run goes: 1 M done after 100 s, 740 s left at 10k steps/s.
    assert progress_total(cfg, 1_000_000, 100.0, 10_000.0) == 8_400_000
    # A fast run ends on its step budget; a finished one never totals below what it did.
    assert progress_total(cfg, 0, 0.0, 1e9) == 20_000_000
    assert progress_total(cfg, 7_000_000, 900.0, 9_000.0) == 7_000_000
    steps_only, _, _ = _cfg(total_agent_steps=5_000, max_minutes=0.0)
    assert progress_total(steps_only, 100, 10.0, 50.0) == 5_000


def test_thread_pick_times_an_update_under_each_candidate():
    cfg, world, _ = _cfg()
    before = torch.get_num_threads()
    best, timings = pick_training_threads(cfg, world, candidates=[1, 2])
    assert best in (1, 2) and sorted(timings) == [1, 2]
    assert 0 < timings[best] == min(timings.values()) < float("inf")
    assert torch.get_num_threads() == before


def test_the_thread_probe_is_the_run_with_short_rollouts():
    cfg, _, _ = _cfg(rollout_steps=80, **{"model": {"recurrent": "none"}})
    probe = probe_config(cfg)
    assert probe.rollout_steps == PROBE_STEPS and probe.num_arenas == cfg.num_arenas
    assert probe.model == cfg.model and probe.ppo == cfg.ppo and not probe.tensorboard
    gru, _, _ = _cfg(rollout_steps=80, **{"model": {"recurrent": "gru"}, "ppo": {"chunk_length": 40}})
    assert probe_config(gru).rollout_steps == 40   # whole training chunks
