"""``hideseek play`` (onnxruntime, PettingZoo twin) and ``hideseek eval`` (PyTorch, batched twin)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from hideseek.cli import main as _cli_main
from hideseek.contract import ARENA_DIR, EPISODE_STATS
from hideseek.export import export_run
from hideseek.onnx_policy import PolicyContractError
import hideseek.play as play_module
from hideseek.play import (evaluate, format_report, load_policies, mp4_encoder_available, outcome,
                           play_episodes, win_rates)

from test_export import write_run

HORIZON = 12


def cli_main(argv: list[str]) -> int:
    """The exit code ``hideseek`` gives: argument errors exit 2 from argparse itself."""
    try:
        return _cli_main(argv)
    except SystemExit as exc:
        return int(exc.code)


@pytest.fixture(scope="module")
def arena(tmp_path_factory) -> Path:
    """The quadrant arena with a short horizon, as a YAML file (what --arena accepts)."""
    data = yaml.safe_load((ARENA_DIR / "quadrant.yaml").read_text())
    data["horizon"] = HORIZON
    path = tmp_path_factory.mktemp("arena") / "short.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two independent untrained runs, each exported: for play and cross-play."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for name, seed in (("a", 0), ("b", 1)):
        run = write_run(root / name, {"horizon": HORIZON}, seed=seed)
        export_run(run, None, root / f"{name}_onnx")
        out[name] = run
        out[f"{name}_onnx"] = root / f"{name}_onnx"
    return out


def _stats(hidden: float) -> dict[str, float]:
    return {name: (hidden if name == "hidden_fraction" else 1.0) for name in EPISODE_STATS}


def test_outcome_win_rates_and_table():
    assert outcome(_stats(0.75)) == "hider"
    assert outcome(_stats(0.25)) == "seeker"
    assert outcome(_stats(0.5)) == "draw"
    episodes = [_stats(0.75), _stats(0.0), _stats(0.1), _stats(0.5)]
    assert win_rates(episodes) == {"hider": 0.25, "seeker": 0.5, "draw": 0.25}
    table = format_report(episodes, "title")
    assert table.startswith("title: 4 episodes")
    for name in EPISODE_STATS:
        assert name in table
    assert "hiders 25.0%, seekers 50.0%, draws 25.0%" in table


def test_eval_reports_reproducible_statistics(runs, capsys):
    first, _ = evaluate(runs["a"], episodes=3, seed=5)
    again, loaded = evaluate(runs["a"], episodes=3, seed=5)
    assert len(first) == 3 and first == again
    assert set(first[0]) == set(EPISODE_STATS)
    assert loaded.update == 0
    # Untrained policies: seekers find the hiders in some episodes and steps, not in all.
    assert 0.0 < np.mean([e["hidden_fraction"] for e in first]) < 1.0
    assert cli_main(["eval", str(runs["a"]), "--episodes", "2", "--deterministic"]) == 0
    out = capsys.readouterr().out
    assert "2 episodes" in out and "win rate:" in out


def test_eval_bad_target(tmp_path, capsys):
    assert cli_main(["eval", str(tmp_path / "nothing"), "--episodes", "2"]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_play_in_the_twin_prints_statistics(runs, arena, capsys):
    onnx_dir = runs["a_onnx"]
    rc = cli_main(["play", "--hider", str(onnx_dir / "Hider.onnx"), "--seeker",
                   str(onnx_dir / "Seeker.onnx"), "--arena", str(arena), "--episodes", "2"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "2 episodes" in out and "win rate:" in out
    for name in EPISODE_STATS:
        assert name in out
    assert "note:" not in out  # trained and played with the same world
    # The default quadrant has horizon 80: allowed (same shapes), but said.
    rc = cli_main(["play", "--hider", str(onnx_dir / "Hider.onnx"), "--seeker",
                   str(onnx_dir / "Seeker.onnx"), "--episodes", "1", "--deterministic"])
    assert rc == 0
    assert f"horizon={HORIZON} (here 80)" in capsys.readouterr().out


def test_cross_play_and_reproducibility(runs, arena):
    """A hider from run a against a seeker from run b. Deterministic play repeats exactly, and
    so does in-graph sampling when the policies are loaded with the same seed."""
    from hideseek import make_env

    files = (runs["a_onnx"] / "Hider.onnx", runs["b_onnx"] / "Seeker.onnx")
    env = make_env(str(arena))
    try:
        policies = load_policies(*files)
        one = play_episodes(policies, env, 2, seed=3, deterministic=True)
        two = play_episodes(policies, env, 2, seed=3, deterministic=True)
        sampled = [play_episodes(load_policies(*files, seed=9), env, 3, seed=3) for _ in range(2)]
    finally:
        env.close()
    assert one == two and len(one) == 2
    assert set(one[0]) == set(EPISODE_STATS)
    assert sampled[0] == sampled[1] and len(sampled[0]) == 3


def test_play_rejects_wrong_team_and_wrong_world(runs, arena, tmp_path, capsys):
    a = runs["a_onnx"]
    # Seeker.onnx given as the hider policy.
    rc = cli_main(["play", "--hider", str(a / "Seeker.onnx"), "--seeker", str(a / "Seeker.onnx"),
                   "--arena", str(arena), "--episodes", "1"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "Seeker.onnx" in err and "hideseek.team" in err and "--hider" in err
    # Policies exported for a world with 8 lidar rays cannot play the 30-ray quadrant.
    run = write_run(tmp_path / "lidar8", {"horizon": HORIZON, "lidar_rays": 8})
    export_run(run, None, tmp_path / "lidar8_onnx", twin_obs=False)
    rc = cli_main(["play", "--hider", str(tmp_path / "lidar8_onnx" / "Hider.onnx"),
                   "--seeker", str(a / "Seeker.onnx"), "--arena", str(arena), "--episodes", "1"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "input obs_0 shape = [19]" in err and "[41]" in err
    # A path that is not a build.
    rc = cli_main(["play", "--hider", str(a / "Hider.onnx"), "--seeker", str(a / "Seeker.onnx"),
                   "--env", str(tmp_path / "no_build"), "--episodes", "1"])
    assert rc == 2
    with pytest.raises(PolicyContractError, match="an existing .onnx file"):
        load_policies(tmp_path / "none.onnx", a / "Seeker.onnx")


def test_play_writes_a_gif(runs, arena, tmp_path, capsys):
    import imageio.v3 as iio

    a = runs["a_onnx"]
    gif = tmp_path / "play.gif"
    rc = cli_main(["play", "--hider", str(a / "Hider.onnx"), "--seeker", str(a / "Seeker.onnx"),
                   "--arena", str(arena), "--episodes", "1", "--video", str(gif)])
    assert rc == 0
    frames = iio.imread(gif, index=None)
    # The world before each of the episode's actions (after the last one the twin has already
    # laid out its next episode, which is not this episode's picture).
    assert frames.shape[0] == HORIZON and frames.ndim == 4
    assert np.ptp(frames) > 0  # a picture, not a blank canvas
    assert f"({HORIZON} frames)" in capsys.readouterr().out


def test_play_and_eval_write_replays(runs, arena, tmp_path, capsys):
    """--replay: the first --replay-episodes episodes, with the seeds that replay them."""
    from test_replay import page_data

    a = runs["a_onnx"]
    page = tmp_path / "play.html"
    rc = cli_main(["play", "--hider", str(a / "Hider.onnx"), "--seeker", str(a / "Seeker.onnx"),
                   "--arena", str(arena), "--episodes", "3", "--seed", "7", "--replay", str(page),
                   "--replay-episodes", "2", "--deterministic"])
    assert rc == 0 and "replay: " in capsys.readouterr().out
    data = page_data(page)
    assert [e["seed"] for e in data["episodes"]] == [7, 8]
    assert all(e["steps"] == HORIZON for e in data["episodes"])
    assert data["reproduce"].endswith("--episodes 1 --seed {seed} --deterministic")
    page = tmp_path / "eval.html"
    assert cli_main(["eval", str(runs["a"]), "--episodes", "2", "--replay", str(page)]) == 0
    data = page_data(page)
    assert len(data["episodes"]) == 2 and data["reproduce"].startswith("hideseek eval ")
    # Replayed alone with its seed, a recorded episode is the same episode.
    rc = cli_main(["play", "--hider", str(a / "Hider.onnx"), "--seeker", str(a / "Seeker.onnx"),
                   "--arena", str(arena), "--episodes", "1", "--seed", "8", "--replay",
                   str(tmp_path / "again.html"), "--deterministic"])
    again = page_data(tmp_path / "again.html")["episodes"][0]
    first = page_data(tmp_path / "play.html")["episodes"][1]
    assert rc == 0 and again["stats"] == first["stats"] and again["frames"] == first["frames"]


def test_video_target_is_checked_before_playing(runs, tmp_path, capsys, monkeypatch):
    a = runs["a_onnx"]
    base = ["play", "--hider", str(a / "Hider.onnx"), "--seeker", str(a / "Seeker.onnx"),
            "--episodes", "1"]
    assert cli_main(base + ["--video", str(tmp_path / "x.avi")]) == 2
    assert ".gif or .mp4" in capsys.readouterr().err
    twin_build = str(Path(__file__).resolve().parents[1] / "builds" / "twin" / "HideAndSeekTwin.x86_64")
    assert cli_main(base + ["--video", str(tmp_path / "x.gif"), "--env", twin_build]) == 2
    assert "--env twin" in capsys.readouterr().err
    # Without an ffmpeg encoder, mp4 is refused up front with the fix in the message.
    monkeypatch.setattr(play_module, "mp4_encoder_available", lambda: False)
    assert cli_main(base + ["--video", str(tmp_path / "x.mp4")]) == 2
    assert "imageio-ffmpeg" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()
    assert cli_main(base[:-2] + ["--episodes", "0"]) == 2
    assert ">= 1, got 0" in capsys.readouterr().err


def test_play_through_the_ml_agents_protocol(runs, arena):
    """The same ONNX policies drive the Unity twin player over the real ML-Agents protocol
    (mlagents-envs launches builds/twin/HideAndSeekTwin.x86_64 as it would a Unity build)."""
    import os

    from hideseek.contract import REPO_ROOT
    from hideseek.envs import UnityParallelEnv
    from hideseek.play import check_policies

    build = REPO_ROOT / "builds" / "twin" / "HideAndSeekTwin.x86_64"
    if not build.is_file():
        pytest.skip(f"{build} is not in this checkout")
    policies = load_policies(runs["a_onnx"] / "Hider.onnx", runs["b_onnx"] / "Seeker.onnx")
    # A worker id of our own so parallel test sessions do not fight over the default port.
    env = UnityParallelEnv(file_name=str(build), arena=str(arena), seed=0,
                           worker_id=20 + os.getpid() % 40)
    try:
        check_policies(policies, env)
        episodes = play_episodes(policies, env, 2, seed=1)
    finally:
        env.close()
    assert len(episodes) == 2
    assert set(episodes[0]) >= set(EPISODE_STATS)
    # The team reward is +1 per hidden and -1 per seen post-prep step, less any out-of-bounds
    # penalty: the two statistics Unity's side reports must agree.
    post_prep = HORIZON - int(HORIZON * 0.4)
    for e in episodes:
        assert e["hider_return"] <= post_prep * (2 * e["hidden_fraction"] - 1) + 1e-4, e


@pytest.mark.skipif(not mp4_encoder_available(), reason="no mp4 encoder (pip install imageio-ffmpeg)")
def test_play_writes_an_mp4(runs, arena, tmp_path):
    import imageio.v2 as iio2

    a = runs["a_onnx"]
    mp4 = tmp_path / "play.mp4"
    rc = cli_main(["play", "--hider", str(a / "Hider.onnx"), "--seeker", str(a / "Seeker.onnx"),
                   "--arena", str(arena), "--episodes", "1", "--video", str(mp4)])
    assert rc == 0
    reader = iio2.get_reader(str(mp4))
    assert reader.count_frames() == HORIZON
