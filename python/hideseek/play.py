"""``hideseek play`` (exported ONNX policies, onnxruntime only, decentralized) and
``hideseek eval`` (a run's PyTorch policies in the batched twin). Both print the same table of
WORLD.md's episode statistics and the teams' win rates.

``play`` steps a PettingZoo ParallelEnv (the twin, or a Unity build through
``hideseek.envs.UnityParallelEnv``) and lets every agent decide from its own observation and
mask; agents of one team are batched into one onnxruntime call, which changes nothing because the
graph has no operation across the batch dimension. Torch is imported only by the twin itself and
by ``eval``: this module's import, the policy runner and the statistics need numpy/onnxruntime.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .config_io import ConfigError
from .contract import EPISODE_STATS, REPO_ROOT, TEAMS
from .onnx_policy import META_WORLD, OBS_INPUTS, OnnxPolicy, seed_onnxruntime

VIDEO_SUFFIXES = (".gif", ".mp4")


# ------------------------------------------------------------------------------ statistics
def outcome(stats: Mapping[str, float]) -> str:
    """Who won an episode: the hiders when they stayed hidden in more than half of the hiding
    phase's steps (their team return is then positive), the seekers when less, else a draw."""
    hidden = float(stats["hidden_fraction"])
    if hidden > 0.5:
        return "hider"
    if hidden < 0.5:
        return "seeker"
    return "draw"


# The pretrained pair shipped with the repository (models/quadrant/MODEL_CARD.md).
SHIPPED_MODELS = REPO_ROOT / "models" / "quadrant"

def win_rates(episodes: Sequence[Mapping[str, float]]) -> dict[str, float]:
    if not episodes:
        return {"hider": 0.0, "seeker": 0.0, "draw": 0.0}
    results = [outcome(e) for e in episodes]
    return {k: results.count(k) / len(results) for k in ("hider", "seeker", "draw")}


def format_report(episodes: Sequence[Mapping[str, float]], title: str) -> str:
    """The statistics table (mean, std, min, max over episodes) followed by the win rates."""
    lines = [f"{title}: {len(episodes)} episodes"]
    width = max(len(name) for name in EPISODE_STATS)
    lines.append(f"  {'statistic':<{width}}  {'mean':>9}  {'std':>9}  {'min':>9}  {'max':>9}")
    for name in EPISODE_STATS:
        values = np.array([float(e[name]) for e in episodes if name in e], dtype=np.float64)
        if len(values) == 0:
            lines.append(f"  {name:<{width}}  {'n/a':>9}")
            continue
        lines.append(f"  {name:<{width}}  {values.mean():9.3f}  {values.std():9.3f}  "
                     f"{values.min():9.3f}  {values.max():9.3f}")
    rates = win_rates(episodes)
    lines.append(f"  win rate: hiders {rates['hider']:.1%}, seekers {rates['seeker']:.1%}, "
                 f"draws {rates['draw']:.1%} (hiders win when hidden_fraction > 0.5)")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ play (onnx)
def team_of(agent: str) -> str:
    """PettingZoo agent names are ``hider_i`` / ``seeker_i`` in both envs (WORLD.md)."""
    team = agent.split("_", 1)[0]
    if team not in TEAMS:
        raise ValueError(f"agent {agent!r}: expected a name hider_<i> or seeker_<i>")
    return team


def _check_video_target(video: str | Path, env_spec: str) -> Path:
    path = Path(video)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ConfigError("--video", "<suffix>", str(video), "a file ending in .gif or .mp4")
    if env_spec != "twin":
        raise ConfigError("--video", "--env", env_spec,
                          "--env twin (frames come from the twin's renderer)")
    if path.suffix.lower() == ".mp4" and not mp4_encoder_available():
        raise ConfigError("--video", "<encoder>", str(video),
                          "an mp4 encoder for imageio (pip install imageio-ffmpeg, or PyAV); "
                          "none is installed: write a .gif instead")
    return path


def mp4_encoder_available() -> bool:
    """imageio writes mp4 through the ffmpeg plugin (imageio-ffmpeg) or the pyav plugin."""
    import importlib.util
    return any(importlib.util.find_spec(m) is not None for m in ("imageio_ffmpeg", "av"))


def write_video(path: str | Path, frames: Sequence[np.ndarray], fps: float) -> Path:
    import imageio.v3 as iio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not frames:
        raise ValueError("no frames to write")
    if path.suffix.lower() == ".gif":
        # Pillow's GIF writer: duration per frame in milliseconds, loop forever.
        iio.imwrite(path, np.stack(frames), extension=".gif",
                    duration=int(round(1000.0 / fps)), loop=0)
    else:
        iio.imwrite(path, np.stack(frames), fps=fps)
    return path


def open_env(env_spec: str, arena: str, render: bool, seed: int = 0):
    """The twin (``"twin"``) or a Unity build at ``env_spec``, as a PettingZoo ParallelEnv.
    The arena config goes to the Unity build too (over the environment-parameters channel)."""
    if env_spec == "twin":
        from . import make_env
        return make_env(arena, render_mode="rgb_array" if render else None)
    if not Path(env_spec).exists():
        raise ConfigError("--env", "<path>", env_spec,
                          "'twin' or the path of a Unity build (executable)")
    from .envs import UnityParallelEnv
    return UnityParallelEnv(file_name=env_spec, arena=arena, seed=seed)


def _agent_obs_shapes(env, agent: str) -> tuple[tuple[int, ...], ...]:
    space = env.observation_space(agent)
    return tuple(tuple(int(d) for d in space[name].shape) for name in OBS_INPUTS)


def load_policies(hider: str | Path, seeker: str | Path,
                  seed: int | None = None) -> dict[str, OnnxPolicy]:
    """Open both teams' files. With ``seed``, onnxruntime's random generator is seeded first:
    its Multinomial kernels take their seed when a session is created, so this (not a later
    call) is what makes the in-graph sampling reproducible."""
    if seed is not None:
        seed_onnxruntime(seed)
    return {"hider": OnnxPolicy(hider), "seeker": OnnxPolicy(seeker)}


def check_policies(policies: Mapping[str, OnnxPolicy], env) -> None:
    """Each policy file must be for its team and fit the env's observation shapes."""
    roles = {"hider": "--hider", "seeker": "--seeker"}
    for team, policy in policies.items():
        agents = [a for a in env.possible_agents if team_of(a) == team]
        if not agents:
            raise ConfigError("env", "possible_agents", list(env.possible_agents),
                              f"at least one {team} agent")
        policy.check_fits(_agent_obs_shapes(env, agents[0]), team, roles[team])


def world_differences(policy: OnnxPolicy, world: Any) -> dict[str, tuple[Any, Any]]:
    """World fields whose value differs between the policy's training world (ONNX metadata)
    and the arena it plays in: ``{field: (trained, arena)}``. Shapes are checked separately;
    these differences are allowed (e.g. another horizon) but worth a note."""
    import json

    from .contract import world_to_dict

    raw = policy.info.metadata.get(META_WORLD)
    if raw is None or world is None:
        return {}
    trained, here = json.loads(raw), world_to_dict(world)
    return {k: (trained[k], here[k]) for k in sorted(here) if k in trained and trained[k] != here[k]}


def play_episodes(policies: Mapping[str, OnnxPolicy], env, episodes: int, seed: int = 0,
                  deterministic: bool = False, frames: list | None = None,
                  video_episodes: int = 1) -> list[dict[str, float]]:
    """Run ``episodes`` episodes of ``env`` with one ONNX policy per team; returns the
    per-episode statistics the env reports at the end of each episode (episode k is reset with
    ``seed + k``). Frames of the first ``video_episodes`` episodes are appended to ``frames``
    when it is given."""
    results: list[dict[str, float]] = []
    for episode in range(episodes):
        observations, infos = env.reset(seed=seed + episode)
        record = frames is not None and episode < video_episodes
        if record:
            frames.append(env.render())
        memory: dict[str, np.ndarray] = {}
        stats = None
        while env.agents:
            actions: dict[str, np.ndarray] = {}
            for team, policy in policies.items():
                agents = [a for a in env.agents if team_of(a) == team and a in observations]
                if not agents:
                    continue
                obs = [np.stack([observations[a][name] for a in agents]) for name in OBS_INPUTS]
                masks = np.stack([np.concatenate(observations[a]["action_mask"]) for a in agents])
                mem = None
                if policy.memory_size > 0:
                    mem = np.stack([memory.get(a, np.zeros((1, policy.memory_size), np.float32))
                                    for a in agents])
                acts, new_mem = policy.act(obs, masks, mem, deterministic=deterministic)
                for i, agent in enumerate(agents):
                    actions[agent] = acts[i].astype(np.int64)
                    if new_mem is not None:
                        memory[agent] = new_mem[i]
            observations, rewards, terminations, truncations, infos = env.step(actions)
            if record:
                frames.append(env.render())
            for agent, info in infos.items():
                if "episode_stats" in info:
                    stats = {k: float(v) for k, v in info["episode_stats"].items()}
                    break
        if stats is None:
            raise RuntimeError(f"episode {episode} ended without episode_stats in the infos")
        results.append(stats)
    return results


def main(args: argparse.Namespace) -> int:
    if args.episodes < 1:
        raise ConfigError("--episodes", "episodes", args.episodes, "at least 1")
    video = _check_video_target(args.video, args.env) if args.video else None
    if video is not None and getattr(args, "video_episodes", 1) < 1:
        raise ConfigError("--video-episodes", "video_episodes", args.video_episodes, "at least 1")
    hider = args.hider or SHIPPED_MODELS / "Hider.onnx"
    seeker = args.seeker or SHIPPED_MODELS / "Seeker.onnx"
    policies = load_policies(hider, seeker, seed=args.seed)
    env = open_env(args.env, args.arena, render=video is not None, seed=args.seed)
    try:
        check_policies(policies, env)
        for team, policy in policies.items():
            diff = world_differences(policy, getattr(env, "world", None))
            if diff:
                print(f"note: {policy.path.name} ({team}) was trained in a world with " +
                      ", ".join(f"{k}={a} (here {b})" for k, (a, b) in diff.items()))
        frames: list | None = [] if video is not None else None
        episodes = play_episodes(policies, env, args.episodes, seed=args.seed,
                                 deterministic=getattr(args, "deterministic", False),
                                 frames=frames, video_episodes=getattr(args, "video_episodes", 1))
    finally:
        env.close()
    source = "twin" if args.env == "twin" else args.env
    print(format_report(episodes, f"play {Path(hider)} vs {Path(seeker)} "
                                  f"in {source} ({args.arena})"))
    if video is not None and frames:
        fps = 1.0 / float(getattr(getattr(env, "world", None), "dt", 0.075))
        print(f"video: {write_video(video, frames, fps)} ({len(frames)} frames)")
    return 0


# ------------------------------------------------------------------------------ eval (torch)
def evaluate(target: str | Path, episodes: int, seed: int = 0, checkpoint: int | None = None,
             deterministic: bool = False, max_arenas: int = 64) -> tuple[list[dict[str, float]], Any]:
    """``episodes`` twin episodes with a run's PyTorch actors (decentralized: each agent's
    action depends only on its own row). Returns the per-episode statistics and the policy."""
    import torch

    from .checkpoint import load_policy
    from .rollout import Collector
    from .sim import TwinSim

    loaded = load_policy(target, checkpoint=checkpoint, device="cpu")
    world = loaded.world
    arenas = max(1, min(episodes, max_arenas))
    sim = TwinSim(world, num_arenas=arenas, device="cpu", seed=seed)
    collector = Collector(sim, loaded.actors, world.layout.team_slices(),
                          torch.Generator().manual_seed(seed), steps=world.horizon,
                          deterministic=deterministic)
    collector.reset(seed)
    results: list[dict[str, float]] = []

    def keep(stats: dict[str, torch.Tensor], ended: torch.Tensor) -> None:
        for arena in torch.nonzero(ended).view(-1).tolist():
            if len(results) < episodes:
                results.append({k: float(v[arena]) for k, v in stats.items()})

    while len(results) < episodes:
        collector.collect(on_episode_end=keep)
    return results, loaded


def eval_main(args: argparse.Namespace) -> int:
    if args.episodes < 1:
        raise ConfigError("--episodes", "episodes", args.episodes, "at least 1")
    episodes, loaded = evaluate(args.target, args.episodes, seed=args.seed,
                                checkpoint=getattr(args, "checkpoint", None),
                                deterministic=getattr(args, "deterministic", False))
    print(format_report(episodes, f"eval {loaded.path} (update {loaded.update}) in the twin "
                                  f"({loaded.world.scenario})"))
    return 0
