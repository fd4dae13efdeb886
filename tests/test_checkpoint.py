"""Checkpoint files: atomic round trip, no pickles, clear errors, load_policy."""

from __future__ import annotations

import io
import os

import pytest
import torch

from hideseek.checkpoint import (CheckpointError, checkpoint_name, list_checkpoints, load_checkpoint,
                                 load_latest, load_policy, pack, save_checkpoint, unpack)
from hideseek.config_io import to_dict
from hideseek.contract import load_world_config, world_to_dict
from hideseek.models import ModelConfig, TeamModel


def test_round_trip_tensors_meta_and_nested_state(tmp_path):
    opt_params = [torch.nn.Parameter(torch.randn(3))]
    opt = torch.optim.Adam(opt_params, lr=1e-3)
    opt_params[0].grad = torch.ones(3)
    opt.step()
    tensors = {"a": torch.arange(6, dtype=torch.float64).reshape(2, 3),
               "rng": torch.Generator().manual_seed(3).get_state(), "scalar": torch.tensor(2.5)}
    tree = pack(opt.state_dict(), "opt", tensors)
    path = save_checkpoint(tmp_path / "x" / "c.safetensors", tensors, {"opt": tree, "update": 4})
    assert path.is_file() and not [p for p in path.parent.iterdir() if p.name.startswith(".")]
    back, meta = load_checkpoint(path)
    assert meta["update"] == 4 and back["a"].dtype == torch.float64
    assert torch.equal(back["a"], tensors["a"]) and torch.equal(back["rng"], tensors["rng"])
    restored = unpack(meta["opt"], back)
    assert list(restored["state"].keys()) == [0]  # int keys survive JSON
    opt2 = torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))], lr=1e-3)
    opt2.load_state_dict(restored)
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_overwrite_is_atomic_replace(tmp_path):
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, {"a": torch.zeros(2)}, {"v": 1})
    inode = os.stat(path).st_ino
    save_checkpoint(path, {"a": torch.ones(2)}, {"v": 2})
    assert load_checkpoint(path)[1]["v"] == 2
    assert os.stat(path).st_ino != inode  # a new file renamed over the old one


def test_garbled_and_missing_files_name_the_path(tmp_path):
    with pytest.raises(CheckpointError, match="nope.safetensors"):
        load_checkpoint(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not a header at all")
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        load_checkpoint(bad)
    # A valid safetensors file that hideseek did not write.
    from safetensors.torch import save_file
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(1)}, str(foreign))
    with pytest.raises(CheckpointError, match="hideseek metadata"):
        load_checkpoint(foreign)


def _fake_run(tmp_path, updates=(2, 5)):
    world = load_world_config("quadrant", {"lidar_rays": 8})
    cfg = ModelConfig(embed_dim=16, hidden=32)
    models = {}
    for u in updates:
        tensors = {}
        for team in ("hider", "seeker"):
            torch.manual_seed(u * 10 + (team == "seeker"))
            models[(u, team)] = TeamModel(world.layout, cfg)
            for k, v in models[(u, team)].state_dict().items():
                tensors[f"model.{team}.{k}"] = v
        meta = {"world": world_to_dict(world), "model": to_dict(cfg), "update": u}
        save_checkpoint(tmp_path / "run" / "checkpoints" / checkpoint_name(u), tensors, meta)
    return tmp_path / "run", world, models


def test_load_policy_latest_numbered_and_file(tmp_path):
    run, world, models = _fake_run(tmp_path)
    assert sorted(list_checkpoints(run)) == [2, 5]
    obs = [torch.randn(4, *s) for s in world.layout.obs_shapes]
    pol = load_policy(run)
    assert pol.update == 5 and pol.world == world and pol.run_dir == run
    for team in ("hider", "seeker"):
        expected = models[(5, team)].actor(*obs)[0]
        torch.testing.assert_close(pol.actors[team](*obs)[0], expected)
    assert load_policy(run, checkpoint=2).update == 2
    by_file = load_policy(run / "checkpoints" / checkpoint_name(2))
    assert by_file.update == 2 and by_file.run_dir == run


def test_load_policy_errors(tmp_path):
    run, _, _ = _fake_run(tmp_path, updates=(1,))
    with pytest.raises(CheckpointError, match="update 7"):
        load_policy(run, checkpoint=7)
    with pytest.raises(CheckpointError, match="missing_dir"):
        load_policy(tmp_path / "missing_dir")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="empty"):
        load_policy(tmp_path / "empty")
    # Weights that do not fit the metadata's model config.
    tensors, meta = load_checkpoint(run / "checkpoints" / checkpoint_name(1))
    meta["model"]["embed_dim"] = 8
    meta["model"]["num_heads"] = 2
    del meta["format"]
    save_checkpoint(run / "checkpoints" / checkpoint_name(3), tensors, meta)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_policy(run)


def _tear(path, keep: int) -> bytes:
    """Cut ``path`` to its first ``keep`` bytes (a write interrupted by a full disk)."""
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    return data[:keep]


def test_load_latest_skips_torn_files_and_keeps_them(tmp_path):
    run, _, models = _fake_run(tmp_path, updates=(2, 5, 8))
    ckpts = list_checkpoints(run)
    torn8 = _tear(ckpts[8], 100)                 # header cut short
    torn5 = _tear(ckpts[5], ckpts[5].stat().st_size - 7)  # tensor data cut short
    warn = io.StringIO()
    path, tensors, meta = load_latest(run, warn=warn)
    assert path == ckpts[2] and meta["update"] == 2
    lines = warn.getvalue().splitlines()
    assert len(lines) == 2
    assert checkpoint_name(8) in lines[0] and checkpoint_name(5) in lines[1]
    assert all("skipping" in line and "kept" in line for line in lines)
    # Nothing was deleted or rewritten.
    assert ckpts[8].read_bytes() == torn8 and ckpts[5].read_bytes() == torn5
    assert sorted(list_checkpoints(run)) == [2, 5, 8]
    # An intact newest file is taken without any warning.
    run2, _, _ = _fake_run(tmp_path / "b", updates=(1, 3))
    warn = io.StringIO()
    assert load_latest(run2, warn=warn)[2]["update"] == 3 and warn.getvalue() == ""


def test_load_latest_when_nothing_loads(tmp_path):
    run, _, _ = _fake_run(tmp_path, updates=(1, 4))
    for path in list_checkpoints(run).values():
        path.write_bytes(b"\x00" * 5)
    with pytest.raises(CheckpointError, match="no checkpoint loads") as err:
        load_latest(run, warn=io.StringIO())
    assert checkpoint_name(1) in str(err.value) and checkpoint_name(4) in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no checkpoints/update"):
        load_latest(tmp_path / "empty")


def test_load_policy_of_a_run_falls_back_past_a_torn_latest(tmp_path, capsys):
    """export and eval load through load_policy: a torn newest file is skipped, with a note."""
    run, _, _ = _fake_run(tmp_path, updates=(2, 5))
    _tear(list_checkpoints(run)[5], 64)
    assert load_policy(run).update == 2
    assert checkpoint_name(5) in capsys.readouterr().err
    with pytest.raises(CheckpointError, match=checkpoint_name(5)):
        load_policy(run, checkpoint=5)  # asked for by number: no silent substitute
