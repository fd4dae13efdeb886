"""Every ``hideseek`` subcommand with malformed paths, configs, checkpoints, ONNX files and flag
values: exit code 2, one line on stderr that names the bad value, never a traceback.

Runs the CLI in-process (a subprocess per case would cost a torch import each): an exception
escaping ``main`` fails the test just as a traceback would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hideseek import cli
from hideseek.contract import REPO_ROOT


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> Path:
    """A folder of malformed inputs."""
    d = tmp_path_factory.mktemp("bad")
    (d / "garbage.onnx").write_bytes(b"this is not a protobuf\x00\xff")
    (d / "empty.onnx").write_bytes(b"")
    import onnx
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
              d / "identity.onnx")  # a valid ONNX model that is not a policy
    (d / "broken.yaml").write_text("ppo: [1, 2\n")
    (d / "list.yaml").write_text("- 1\n- 2\n")
    (d / "unknown_key.yaml").write_text("no_such_key: 3\n")
    (d / "arena_typo.yaml").write_text("horizon: many\n")
    (d / "not_executable.x86_64").write_text("#!/bin/sh\n")
    os.chmod(d / "not_executable.x86_64", 0o644)
    (d / "a_file").write_text("x")
    (d / "empty_run").mkdir()
    torn = d / "torn_run"
    (torn / "checkpoints").mkdir(parents=True)
    (torn / "checkpoints" / "update_0000004.safetensors").write_bytes(b"\x08\x00\x00")
    (torn / "scalars.jsonl").write_text("")
    (d / "not_a_ckpt.safetensors").write_bytes(b"\xff" * 32)
    return d


ONNX = str(REPO_ROOT / "python")  # any existing directory: "not a file"


def cases(b: Path) -> list[tuple[list[str], str]]:
    """(argv, a fragment the one error line must contain)."""
    onnx_g, onnx_i = str(b / "garbage.onnx"), str(b / "identity.onnx")
    both = lambda p: ["--hider", p, "--seeker", p]  # noqa: E731
    return [
        # -- train
        (["train", "--env", "/nonexistent/HideAndSeek.x86_64"], "/nonexistent/HideAndSeek"),
        (["train", "--env", str(b / "not_executable.x86_64")], "not executable"),
        (["train", "--env", str(b)], "is a directory"),
        (["train", "--env", ""], "''"),
        (["train", "--num-envs", "0"], "got 0"),
        (["train", "--num-envs", "-2"], "got -2"),
        (["train", "--num-envs", "two"], "'two'"),
        (["train", "--bind-address", "not an address"], "not an address"),
        (["train", "--config", "/nonexistent.yaml"], "/nonexistent.yaml"),
        (["train", "--config", str(b / "broken.yaml")], "broken.yaml"),
        (["train", "--config", str(b / "list.yaml")], "list.yaml"),
        (["train", "--config", str(b / "unknown_key.yaml")], "no_such_key"),
        (["train", "--config", str(b)], str(b)),
        (["train", "--resume", "/nonexistent_run"], "/nonexistent_run"),
        (["train", "--resume", str(b / "empty_run")], "empty_run"),
        (["train", "ppo.lr=abc"], "'abc'"),
        (["train", "ppo.lr"], "ppo.lr"),
        (["train", "no.such.key=1"], "no"),
        (["train", "num_arenas=0"], "num_arenas"),
        (["train", "sim_cuda_graph=true", "device=cpu"], "sim_cuda_graph"),
        (["train", "--frobnicate"], "--frobnicate"),
        (["train", "--ray", "somewhere"], "'somewhere'"),
        (["train", "--ray", "10.0.0.1:99999"], "99999"),
        (["train", "--workers", "0"], "got 0"),
        (["train", "--envs-per-worker", "x"], "'x'"),
        (["train", "--max-policy-lag", "-1"], "got -1"),
        (["train", "--sample-timeout", "0"], "'0'"),
        (["train", "--min-fraction", "1.5"], "'1.5'"),
        (["train", "--max-worker-restarts", "-3"], "got -3"),
        # -- demo
        (["demo", "--arena", "/nonexistent.yaml"], "/nonexistent.yaml"),
        (["demo", "--arena", "nowhere"], "nowhere"),
        (["demo", "--arena", str(b / "arena_typo.yaml")], "many"),
        (["demo", "--episodes", "0"], "got 0"),
        (["demo", "--episodes", "1.5"], "'1.5'"),
        (["demo", "--seed", "-1"], "got -1"),
        (["demo", "--out", str(b / "a_file" / "sub")], "a_file"),
        (["demo", "--out", str(b / "a_file")], "a_file"),
        (["demo", "horizon=-5"], "horizon"),
        (["demo", "horizon"], "horizon"),
        # -- plot
        (["plot", "/nonexistent_run"], "/nonexistent_run"),
        (["plot", str(b / "empty_run")], "empty_run"),
        (["plot", str(b / "torn_run")], "scalars.jsonl"),
        (["plot", str(b / "empty_run"), "--out", str(b / "a_file")], "a_file"),
        # -- export
        (["export", "/nonexistent_run", "--out", str(b / "o")], "/nonexistent_run"),
        (["export", str(b / "empty_run"), "--out", str(b / "o")], "empty_run"),
        (["export", str(b / "torn_run"), "--out", str(b / "o")], "update_0000004"),
        (["export", str(b / "not_a_ckpt.safetensors"), "--out", str(b / "o")], "not_a_ckpt"),
        (["export", str(b / "empty_run"), "--checkpoint", "-1", "--out", str(b / "o")], "got -1"),
        (["export", str(b / "empty_run"), "--out", str(b / "a_file")], "a_file"),
        (["export", str(b / "empty_run")], "--out"),
        # -- play
        (["play", *both("/nonexistent.onnx")], "/nonexistent.onnx"),
        (["play", *both(onnx_g)], "garbage.onnx"),
        (["play", *both(str(b / "empty.onnx"))], "empty.onnx"),
        (["play", *both(onnx_i)], "identity.onnx"),
        (["play", *both(ONNX)], ONNX),
        (["play", *both(onnx_g), "--episodes", "0"], "got 0"),
        (["play", *both(onnx_g), "--video-episodes", "-1"], "got -1"),
        (["play", *both(onnx_g), "--env", "/nonexistent/Build.x86_64"], "/nonexistent/Build"),
        (["play", *both(onnx_g), "--env", str(b / "not_executable.x86_64")], "not executable"),
        (["play", *both(onnx_i), "--video", "out.txt"], "out.txt"),
        (["play", *both(onnx_i), "--replay", "out.txt"], "out.txt"),
        (["play", "--replay", "r.html", "--env", str(REPO_ROOT / "builds/twin/HideAndSeekTwin.x86_64")],
         "--env twin"),
        (["play", "--replay", "r.html", "--replay-episodes", "0"], "got 0"),
        (["play", "--hider", onnx_g], "garbage.onnx"),  # the seeker: the shipped default
        # -- eval
        (["eval", "/nonexistent_run"], "/nonexistent_run"),
        (["eval", str(b / "empty_run")], "empty_run"),
        (["eval", str(b / "torn_run")], "update_0000004"),
        (["eval", str(b / "not_a_ckpt.safetensors")], "not_a_ckpt"),
        (["eval", onnx_g], "garbage.onnx"),
        (["eval", str(b / "empty_run"), "--episodes", "0"], "got 0"),
        (["eval", str(b / "empty_run"), "--replay", "r.gif"], "r.gif"),
        (["eval", str(b / "empty_run"), "--checkpoint", "x"], "'x'"),
        # -- no or unknown subcommand
        ([], "command"),
        (["fly"], "'fly'"),
    ]


def test_every_subcommand_rejects_malformed_inputs_with_one_line(bad, capsys):
    failures = []
    all_cases = cases(bad)
    for argv, fragment in all_cases:
        try:
            code = cli.main(argv)
        except SystemExit as exc:
            code = exc.code
        except Exception as exc:  # what would have been a traceback
            code = f"{type(exc).__name__}: {exc}"
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.strip()]
        # load_latest's "skipping" note is a warning, not the error line.
        errors = [line for line in lines if "skipping checkpoint" not in line]
        if code != 2 or len(errors) != 1 or "Traceback" in err or fragment not in errors[0]:
            failures.append(f"{argv}: exit {code}, stderr {err!r}")
    assert not failures, "\n".join(failures)
    assert len(all_cases) >= 69
    for sub in ("train", "demo", "plot", "export", "play", "eval"):
        assert any(argv[:1] == [sub] for argv, _ in all_cases), sub


def test_bind_address_reaches_the_environment(monkeypatch):
    """--bind-address is handed to the ML-Agents layer through HIDESEEK_BIND_ADDRESS (read by
    hideseek.envs.mlagents_compat); argparse stops before training starts here."""
    monkeypatch.delenv(cli.BIND_ADDRESS_ENV, raising=False)
    with pytest.raises(SystemExit):
        cli.main(["train", "--bind-address", "0.0.0.0", "--num-envs", "0"])
    assert cli.BIND_ADDRESS_ENV not in os.environ  # nothing is set for a rejected command line
    args = cli.build_parser().parse_args(["train", "--bind-address", "[::]", "--env",
                                          str(REPO_ROOT / "builds/twin/HideAndSeekTwin.x86_64")])
    assert args.bind_address == "[::]"
