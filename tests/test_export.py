"""ONNX export: the ML-Agents contract, onnxruntime/PyTorch parity, Sentis operators, bad inputs.

Runs are real checkpoints (``hideseek.checkpoint.save_checkpoint`` of real ``TeamModel``s), kept
small (embed 16, hidden 32) so every export takes well under a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from hideseek.checkpoint import checkpoint_name, save_checkpoint
from hideseek.cli import main as cli_main
from hideseek.config_io import to_dict
from hideseek.contract import ACTION_BRANCHES, load_world_config, world_to_dict
from hideseek.export import (ExportError, TEAM_FILES, check_operators, export_actor,
                             export_and_verify, export_run, random_batch, random_masks,
                             verify_export)
from hideseek.models import Actor, ModelConfig, TeamModel
from hideseek.onnx_policy import OnnxPolicy, PolicyContractError

SMALL = dict(embed_dim=16, num_heads=2, hidden=32)
OFFSETS = np.cumsum((0,) + ACTION_BRANCHES[:-1])


def write_run(root: Path, world_overrides: dict | None = None, recurrent: str = "none",
              update: int = 0, seed: int = 0, weights_world: dict | None = None) -> Path:
    """A run directory with one checkpoint in the format ``hideseek train`` writes.
    ``weights_world`` builds the weights for a different world than the one recorded (a
    checkpoint that does not belong to its config)."""
    torch.manual_seed(seed)
    world = load_world_config("quadrant", world_overrides or {})
    cfg = ModelConfig(recurrent=recurrent, **SMALL)
    weights_layout = load_world_config("quadrant", weights_world).layout if weights_world else world.layout
    tensors = {}
    for team in ("hider", "seeker"):
        model = TeamModel(weights_layout, cfg)
        with torch.no_grad():  # move off the near-uniform init so actions are not all ties
            for p in model.actor.heads.parameters():
                p.add_(torch.randn_like(p) * 0.5)
        tensors.update({f"model.{team}.{k}": v for k, v in model.state_dict().items()})
    meta = {"world": world_to_dict(world), "model": to_dict(cfg), "update": update}
    save_checkpoint(root / "checkpoints" / checkpoint_name(update), tensors, meta)
    return root


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """Hider.onnx / Seeker.onnx of an untrained run, exported once for the contract tests."""
    root = tmp_path_factory.mktemp("export")
    run = write_run(root / "run", {"horizon": 12})
    out = root / "onnx"
    reports = export_run(run, None, out)
    assert set(reports) == {"hider", "seeker"}
    return out


def _feeds(path: Path, batch: int, seed: int, masks: np.ndarray | None = None) -> dict:
    layout = load_world_config("quadrant").layout
    b = random_batch(layout, batch, 0, seed)
    if masks is not None:
        b.masks = masks
    return b.feeds()


def test_contract_names_dtypes_shapes_and_constants(exported):
    for team, name in TEAM_FILES.items():
        model = onnx.load(str(exported / name))
        onnx.checker.check_model(model, full_check=True)
        assert 7 <= model.opset_import[0].version <= 15
        inputs = {i.name: i.type.tensor_type for i in model.graph.input}
        assert list(inputs) == ["obs_0", "obs_1", "obs_2", "obs_3", "action_masks"]
        layout = load_world_config("quadrant").layout
        want = list(layout.obs_shapes) + [(37,)]
        for (iname, t), shape in zip(inputs.items(), want):
            assert t.elem_type == onnx.TensorProto.FLOAT, iname
            dims = [d.dim_param or d.dim_value for d in t.shape.dim]
            assert dims == ["batch", *shape], iname
        outputs = {o.name: o.type.tensor_type.elem_type for o in model.graph.output}
        assert list(outputs) == ["version_number", "memory_size", "discrete_actions",
                                 "discrete_action_output_shape", "deterministic_discrete_actions"]
        assert outputs["discrete_actions"] == onnx.TensorProto.INT64
        assert outputs["deterministic_discrete_actions"] == onnx.TensorProto.INT64
        assert outputs["version_number"] == onnx.TensorProto.FLOAT
        meta = {p.key: p.value for p in model.metadata_props}
        assert meta["hideseek.team"] == team
        assert json.loads(meta["hideseek.obs_shapes"]) == [list(s) for s in layout.obs_shapes]
        assert json.loads(meta["hideseek.world"])["horizon"] == 12

        sess = ort.InferenceSession(str(exported / name))
        for batch in (1, 7):
            version, memory, sampled, branches, det = sess.run(None, _feeds(exported, batch, batch))
            assert version.tolist() == [3.0] and version.dtype == np.float32
            assert memory.tolist() == [0.0]
            assert branches.tolist() == [[11.0, 11.0, 11.0, 2.0, 2.0]]
            assert sampled.shape == det.shape == (batch, 5)
            assert sampled.dtype == det.dtype == np.int64


@pytest.mark.parametrize("batch", [1, 7])
def test_masks_are_honoured(exported, batch):
    rng = np.random.default_rng(batch)
    sess = ort.InferenceSession(str(exported / "Hider.onnx"))
    # Exactly one allowed action per branch: both outputs must return it.
    only = [rng.integers(0, n, batch) for n in ACTION_BRANCHES]
    masks = np.zeros((batch, sum(ACTION_BRANCHES)), np.float32)
    for b, choice in enumerate(only):
        masks[np.arange(batch), OFFSETS[b] + choice] = 1.0
    sampled, det = sess.run(["discrete_actions", "deterministic_discrete_actions"],
                            _feeds(exported, batch, 3, masks))
    assert np.array_equal(sampled, np.stack(only, 1))
    assert np.array_equal(det, np.stack(only, 1))
    # Random masks, many draws: every sample is allowed, and more than one action gets sampled.
    masks = random_masks(batch, rng)
    seen = set()
    for i in range(40):
        sampled, det = sess.run(["discrete_actions", "deterministic_discrete_actions"],
                                _feeds(exported, batch, 3, masks))
        for out in (sampled, det):
            assert np.all(np.take_along_axis(masks, out + OFFSETS, 1) == 1.0)
        seen.update(map(tuple, sampled.tolist()))
    assert len(seen) > batch


def test_onnx_policy_accepts_the_files_and_acts(exported):
    layout = load_world_config("quadrant").layout
    for team, name in TEAM_FILES.items():
        policy = OnnxPolicy(exported / name)
        policy.check_fits(layout.obs_shapes, team, f"--{team}")
        b = random_batch(layout, 5, 0, 1)
        acts, memory = policy.act(b.obs, b.masks)
        assert acts.shape == (5, 5) and memory is None
        with pytest.raises(PolicyContractError, match="team"):
            policy.check_fits(layout.obs_shapes, "seeker" if team == "hider" else "hider", "--x")


@pytest.mark.parametrize("recurrent", ["gru", "lstm"])
def test_recurrent_export_round_trip(tmp_path, recurrent):
    """Memory in/out follow the contract; GRUs are unrolled into Sentis operators."""
    world = load_world_config("quadrant")
    torch.manual_seed(1)
    actor = Actor(world.layout, ModelConfig(recurrent=recurrent, **SMALL)).eval()
    reports = export_and_verify({"hider": actor, "seeker": actor}, world, tmp_path, twin_obs=False)
    assert reports["hider"].max_memory_diff > 0.0
    model = onnx.load(str(tmp_path / "Hider.onnx"))
    ops = {n.op_type for n in model.graph.node}
    assert "GRU" not in ops
    assert [i.name for i in model.graph.input][-1] == "recurrent_in"
    assert [o.name for o in model.graph.output][-1] == "recurrent_out"
    policy = OnnxPolicy(tmp_path / "Hider.onnx")
    assert policy.memory_size == actor.memory_size
    # Stepping twice with the returned memory equals PyTorch stepping twice.
    b = random_batch(world.layout, 4, 0, 2)
    mem_onnx = policy.initial_memory(4)
    mem_torch = torch.zeros(4, 1, actor.memory_size)
    for _ in range(2):
        out = policy.run(b.obs, b.masks, mem_onnx, outputs=("deterministic_discrete_actions",))
        mem_onnx = out["recurrent_out"]
        with torch.no_grad():
            _, mem_torch = actor(*b.torch_args()[:4], memory=mem_torch)
    np.testing.assert_allclose(mem_onnx, mem_torch.numpy(), atol=1e-5)


def test_verification_fails_loudly_on_a_different_model(tmp_path):
    """The parity check can fail: a file verified against other weights is rejected."""
    world = load_world_config("quadrant")
    torch.manual_seed(2)
    actor = Actor(world.layout, ModelConfig(**SMALL)).eval()
    path = export_actor(actor, world.layout, "hider", tmp_path / "Hider.onnx")
    other = Actor(world.layout, ModelConfig(**SMALL)).eval()
    other.load_state_dict(actor.state_dict())
    with torch.no_grad():
        other.heads[0].bias[0] += 1e-3  # one logit, a change far below what an eye would notice
    batches = [random_batch(world.layout, 16, 0, 1)]
    verify_export(path, actor, world.layout, "hider", batches)
    with pytest.raises(ExportError, match="branch 0 probabilities differ"):
        verify_export(path, other, world.layout, "hider", batches)
    with pytest.raises(ExportError, match="team"):
        verify_export(path, actor, world.layout, "seeker", batches)


def test_operator_and_opset_checks_reject_what_sentis_lacks():
    node = onnx.helper.make_node("GRU", ["x", "w", "r"], ["y"], hidden_size=2)
    graph = onnx.helper.make_graph([node], "g", [], [])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 15)])
    with pytest.raises(ExportError, match="ai.onnx::GRU"):
        check_operators(model, "m.onnx")
    model = onnx.helper.make_model(onnx.helper.make_graph([], "g", [], []),
                                   opset_imports=[onnx.helper.make_opsetid("", 17)])
    with pytest.raises(ExportError, match="opset 17"):
        check_operators(model, "m.onnx")


def test_play_rejects_an_onnx_with_the_wrong_inputs(tmp_path):
    path = tmp_path / "wrong.onnx"
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 41])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 41])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 15)]),
              str(path))
    with pytest.raises(PolicyContractError, match=r"inputs = \['x'\]: expected exactly obs_0"):
        OnnxPolicy(path)
    rc = cli_main(["play", "--hider", str(path), "--seeker", str(path), "--episodes", "1"])
    assert rc == 2


def test_export_cli_bad_inputs(tmp_path, capsys):
    assert cli_main(["export", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "no such run directory" in capsys.readouterr().err
    # Weights trained with 8 lidar rays, config saying 30: refused with the file named.
    run = write_run(tmp_path / "mixed", weights_world={"lidar_rays": 8})
    assert cli_main(["export", str(run), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "update_0000000.safetensors" in err and "do not fit" in err
    assert not (tmp_path / "o" / "Hider.onnx").exists()
    run = write_run(tmp_path / "ok")
    assert cli_main(["export", str(run), "--checkpoint", "7", "--out", str(tmp_path / "o")]) == 2
    assert "no checkpoint for update 7" in capsys.readouterr().err


def test_export_cli_writes_both_files(tmp_path, capsys):
    run = write_run(tmp_path / "run", {"horizon": 8, "lidar_rays": 6})
    assert cli_main(["export", str(run), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert printed.count(": OK (") == 2 and "twin quadrant" in printed
    for name in TEAM_FILES.values():
        policy = OnnxPolicy(tmp_path / "out" / name)
        assert policy.info.obs_shapes[0] == (11 + 6,)


def test_onnx_path_imports_no_torch():
    code = ("import sys, hideseek.play, hideseek.onnx_policy; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_a_file_that_fails_verification_is_removed(tmp_path, monkeypatch):
    """A tolerance no difference can meet makes verification fail: no file is left behind."""
    import hideseek.export_verify as export_module

    world = load_world_config("quadrant")
    torch.manual_seed(3)
    actor = Actor(world.layout, ModelConfig(**SMALL)).eval()
    monkeypatch.setattr(export_module, "PROB_TOLERANCE", -1.0)
    with pytest.raises(ExportError, match="probabilities differ from PyTorch"):
        export_and_verify({"hider": actor, "seeker": actor}, world, tmp_path, twin_obs=False)
    assert not (tmp_path / "Hider.onnx").exists()
