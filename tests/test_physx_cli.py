"""The command line on PhysX: ``hideseek play/eval --backend physx`` and ``hideseek train
backend=physx`` (here: a run trained on the twin, then fine-tuned on PhysX by resuming it with
backend=physx), and the one line each gives without the physx extra."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytest.importorskip("sapien", reason="the physx extra (pip install -e '.[physx]')")

from hideseek import physx  # noqa: E402
from hideseek.checkpoint import list_checkpoints  # noqa: E402
from hideseek.cli import main as cli_main  # noqa: E402
from hideseek.contract import REPO_ROOT  # noqa: E402

LAUNCHER = str(REPO_ROOT / "builds" / "twin" / "HideAndSeekTwin.x86_64")
EXTRA = "pip install -e '.[physx]'"


def _train_args(tmp_path: Path, name: str, **extra) -> list[str]:
    base = {"name": name, "out_dir": str(tmp_path), "num_arenas": 4, "rollout_steps": 8,
            "baseline_arenas": 0, "progress": "false", "tensorboard": "false", "plot": "false",
            "checkpoint_every": 1, "world.horizon": 12, "world.lidar_rays": 4, "torch_threads": 1,
            "model.embed_dim": 16, "model.hidden": 16, "ppo.minibatches": 2,
            "icm.feature_dim": 8, "icm.hidden": 16, "evaluation.enabled": "false",
            "icm.coef": 0.5, "policy_compile": "false", "sim_compile": "false"}
    base.update(extra)
    return ["train", *(f"{k}={v}" for k, v in base.items())]


def test_play_on_physx(capsys):
    assert cli_main(["play", "--backend", "physx", "--episodes", "3", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "in physx (quadrant): 3 episodes" in out and "win rate" in out


def test_play_physx_refuses_a_unity_build(capsys):
    assert cli_main(["play", "--backend", "physx", "--env", LAUNCHER, "--episodes", "1"]) == 2
    assert "--backend" in capsys.readouterr().err


def test_train_on_the_twin_then_fine_tune_on_physx_then_eval_there(tmp_path, capsys):
    steps = 2 * 4 * 8 * 4
    assert cli_main(_train_args(tmp_path, "ft", total_agent_steps=steps)) == 0
    (run,) = tmp_path.iterdir()
    assert max(list_checkpoints(run)) == 2
    assert cli_main(["train", "--resume", str(run), "backend=physx",
                     f"total_agent_steps={2 * steps}"]) == 0
    assert max(list_checkpoints(run)) == 4
    assert yaml.safe_load((run / "config.yaml").read_text())["backend"] == "physx"
    capsys.readouterr()
    assert cli_main(["eval", str(run), "--backend", "physx", "--episodes", "2"]) == 0
    assert "in physx" in capsys.readouterr().out


def test_without_the_extra_each_entry_point_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(physx, "available", lambda: False)
    assert cli_main(["play", "--backend", "physx", "--episodes", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and EXTRA in err[0]
    assert cli_main(_train_args(tmp_path, "noextra", backend="physx", total_agent_steps=64)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and EXTRA in err[0] and "backend" in err[0]
