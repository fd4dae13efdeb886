"""``hideseek play`` (exported ONNX policies, onnxruntime only, decentralized) and
``hideseek eval`` (a run's PyTorch policies). Both print the same table of WORLD.md's episode
statistics and the teams' win rates, and can write a 3-D replay (``--replay``, the twin only).

In the twin both play N episodes as N arenas of one batched ``TwinSim``
(:mod:`hideseek.evaluation.runner`; episode e is the one-arena episode with seed ``seed + e``),
with one onnxruntime (or network) call per team per step over every agent that acts. Against a
Unity build (``--env``) ``play`` steps the one-arena PettingZoo env
(``hideseek.envs.UnityParallelEnv``) and lets every agent decide from its own observation and
mask, agents of one team batched into one onnxruntime call. This module's import, the ONNX
runner and the statistics need numpy/onnxruntime only; torch comes with the twin.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .config_io import ConfigError
from .contract import REPO_ROOT, TEAMS
from .evaluation.statistics import format_report, outcome, win_rates  # noqa: F401 (re-exported)
from .onnx_policy import META_WORLD, OBS_INPUTS, OnnxPolicy, seed_onnxruntime

VIDEO_SUFFIXES = (".gif", ".mp4")
REPLAY_SUFFIXES = (".html", ".htm")
# Torch threads for evaluation in the twin: its eager ops over a few hundred arenas are too small
# to share; on a 2-core machine with the other core busy, two threads made `play --episodes 400`
# 8x slower (68 s against 8 s) through OpenMP barriers.
EVAL_THREADS = 1


# The pretrained pair shipped with the repository (models/quadrant/MODEL_CARD.md).
SHIPPED_MODELS = REPO_ROOT / "models" / "quadrant"


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


def check_replay_target(replay: str | Path, env_spec: str = "twin") -> Path:
    """``--replay`` needs an .html file name and the twin (the replay records its state)."""
    path = Path(replay)
    if path.suffix.lower() not in REPLAY_SUFFIXES:
        raise ConfigError("--replay", "<suffix>", str(replay), "a file ending in .html")
    if env_spec != "twin":
        raise ConfigError("--replay", "--env", env_spec,
                          "--env twin (a replay records the twin's state, which a Unity build "
                          "does not expose)")
    if path.is_dir():
        raise ConfigError("--replay", "<path>", str(replay), "a file name, not a folder")
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


def open_env(env_spec: str, arena: str, seed: int = 0):
    """The one-arena PettingZoo env: the twin (``"twin"``) or a Unity build at ``env_spec``.
    The arena config goes to the Unity build too (over the environment-parameters channel)."""
    if env_spec == "twin":
        from . import make_env
        return make_env(arena)
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


ROLES = {"hider": "--hider", "seeker": "--seeker"}   # where each team's file came from


def check_policies(policies: Mapping[str, OnnxPolicy], env) -> None:
    """Each policy file must be for its team and fit the env's observation shapes."""
    for team, policy in policies.items():
        agents = [a for a in env.possible_agents if team_of(a) == team]
        if not agents:
            raise ConfigError("env", "possible_agents", list(env.possible_agents),
                              f"at least one {team} agent")
        policy.check_fits(_agent_obs_shapes(env, agents[0]), team, ROLES[team])


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
                  deterministic: bool = False) -> list[dict[str, float]]:
    """Run ``episodes`` episodes of a one-arena PettingZoo ``env`` (a Unity build, or the twin
    env) with one ONNX policy per team; returns the per-episode statistics the env reports at
    the end of each episode (episode k is reset with ``seed + k``)."""
    results: list[dict[str, float]] = []
    for episode in range(episodes):
        observations, infos = env.reset(seed=seed + episode)
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
            for agent, info in infos.items():
                if "episode_stats" in info:
                    stats = {k: float(v) for k, v in info["episode_stats"].items()}
                    break
        if stats is None:
            raise RuntimeError(f"episode {episode} ended without episode_stats in the infos")
        results.append(stats)
    return results


class FrameRecorder:
    """Top-down frames of the first ``episodes`` episodes of a batched evaluation (a step
    observer): the world before each of an episode's actions, ``horizon`` frames per episode."""

    def __init__(self, episodes: int):
        self.limit = episodes
        self.per_episode: dict[int, list[np.ndarray]] = {}
        self._arenas: dict[int, int] = {}     # arena -> episode recorded there this round
        self._open: set[int] = set()          # arenas whose recorded episode goes on

    def start_round(self, sim, first_episode: int, seeds: list[int]) -> None:
        self._arenas = {k: first_episode + k for k in range(len(seeds))
                        if first_episode + k < self.limit}
        for episode in self._arenas.values():
            self.per_episode[episode] = []
        self._open = set(self._arenas)

    def before_step(self, sim, obs) -> None:
        for arena in self._open:
            self.per_episode[self._arenas[arena]].append(sim.render(arena))

    def after_step(self, sim, out) -> None:
        if out.final_obs is not None:
            ended = set(np.flatnonzero(out.truncated.cpu().numpy()).tolist())
            self._open -= ended

    @property
    def frames(self) -> list[np.ndarray]:
        return [f for e in sorted(self.per_episode) for f in self.per_episode[e]]


def play_twin(policies: Mapping[str, OnnxPolicy], world: Any, episodes: int, seed: int = 0,
              deterministic: bool = False, observers: Sequence[Any] = (),
              backend: str = "twin") -> list[dict[str, float]]:
    """``episodes`` twin episodes (episode e: seed ``seed + e``) as arenas of one batched
    ``TwinSim`` (or ``PhysxSim``: ``backend="physx"``), each team's ONNX policy deciding for
    all its agents in one call per step."""
    import torch

    from .backends import simulator_factory
    from .evaluation.actors import OnnxActor
    from .evaluation.runner import run_episodes

    torch.set_num_threads(EVAL_THREADS)
    factory = simulator_factory(backend, world)
    actors = {team: OnnxActor(policy, deterministic) for team, policy in policies.items()}
    return run_episodes(factory, actors, episodes, seed=seed, observers=observers)


def _check_policies_fit(policies: Mapping[str, OnnxPolicy], world: Any) -> None:
    """Each policy file must be for its team and fit ``world``'s observation shapes."""
    for team, policy in policies.items():
        policy.check_fits(world.layout.obs_shapes, team, ROLES[team])


def _note_world_differences(policies: Mapping[str, OnnxPolicy], world: Any) -> None:
    import json

    from .contract import WORLD_VERSION, world_version

    for team, policy in policies.items():
        raw = policy.info.metadata.get(META_WORLD)
        trained = world_version(json.loads(raw)) if raw else None
        if trained is not None and trained != WORLD_VERSION:
            print(f"note: {policy.path.name} ({team}) was trained in world v{trained}, not in this "
                  f"world v{WORLD_VERSION} (WORLD.md v1.1 gave agents the original's speeds, five "
                  "times v1's): it does not play here as it learned to")
        diff = world_differences(policy, world)
        if diff:
            print(f"note: {policy.path.name} ({team}) was trained in a world with " +
                  ", ".join(f"{k}={a} (here {b})" for k, (a, b) in diff.items()))


def record_replay(path: Path, recorder: Any, title: str, teams: Mapping[str, str],
                  reproduce: str) -> None:
    from .replay import write_replay

    out = write_replay(path, recorder.episodes, recorder.world, title, teams, reproduce)
    print(f"replay: {out} ({len(recorder.episodes)} episodes, {out.stat().st_size / 1e6:.2f} MB; "
          "open it in a browser)")


def main(args: argparse.Namespace) -> int:
    if args.episodes < 1:
        raise ConfigError("--episodes", "episodes", args.episodes, "at least 1")
    video = _check_video_target(args.video, args.env) if args.video else None
    if video is not None and getattr(args, "video_episodes", 1) < 1:
        raise ConfigError("--video-episodes", "video_episodes", args.video_episodes, "at least 1")
    replay = check_replay_target(args.replay, args.env) if getattr(args, "replay", None) else None
    deterministic = getattr(args, "deterministic", False)
    hider = Path(args.hider or SHIPPED_MODELS / "Hider.onnx")
    seeker = Path(args.seeker or SHIPPED_MODELS / "Seeker.onnx")
    backend = getattr(args, "backend", "twin")
    if backend != "twin" and args.env != "twin":
        raise ConfigError("--backend", "backend", backend, "twin with --env BUILD (a Unity build "
                          "brings its own physics)")
    policies = load_policies(hider, seeker, seed=args.seed)
    if args.env == "twin":
        from .contract import load_world_config
        from .replay import ReplayRecorder

        world = load_world_config(args.arena)
        _check_policies_fit(policies, world)
        _note_world_differences(policies, world)
        frames = FrameRecorder(args.video_episodes) if video is not None else None
        recorder = ReplayRecorder(min(args.replay_episodes, args.episodes)) if replay else None
        episodes = play_twin(policies, world, args.episodes, seed=args.seed,
                             deterministic=deterministic,
                             observers=[o for o in (frames, recorder) if o is not None],
                             backend=backend)
        source = backend
    else:
        env = open_env(args.env, args.arena, seed=args.seed)
        try:
            check_policies(policies, env)
            _note_world_differences(policies, getattr(env, "world", None))
            episodes = play_episodes(policies, env, args.episodes, seed=args.seed,
                                     deterministic=deterministic)
        finally:
            env.close()
        world, frames, recorder, source = None, None, None, args.env
    print(format_report(episodes, f"play {hider} vs {seeker} in {source} ({args.arena})"))
    if frames is not None:
        print(f"video: {write_video(video, frames.frames, 1.0 / world.dt)} "
              f"({len(frames.frames)} frames)")
    if recorder is not None:
        again = (f"hideseek play --hider {hider} --seeker {seeker} --arena {args.arena} "
                 f"--episodes 1 --seed {{seed}}" + (" --deterministic" if deterministic else "")
                 + (f" --backend {backend}" if backend != "twin" else ""))
        record_replay(replay, recorder, f"{hider.name} vs {seeker.name} ({args.arena})",
                      {"hider": str(hider), "seeker": str(seeker)}, again)
    return 0


# ------------------------------------------------------------------------------ eval (torch)
def evaluate(target: str | Path, episodes: int, seed: int = 0, checkpoint: int | None = None,
             deterministic: bool = False, observers: Sequence[Any] = (), backend: str = "twin"
             ) -> tuple[list[dict[str, float]], Any]:
    """``episodes`` twin (or ``backend``) episodes (episode e: seed ``seed + e``) with a run's
    PyTorch actors (decentralized: each agent's action depends only on its own row). Returns
    the per-episode statistics and the policy."""
    import torch

    from .backends import check_backend, simulator_factory
    from .checkpoint import load_policy
    from .evaluation.actors import TorchActor
    from .evaluation.runner import run_episodes

    check_backend(backend)
    loaded = load_policy(target, checkpoint=checkpoint, device="cpu")
    torch.set_num_threads(EVAL_THREADS)
    actors = {team: TorchActor(loaded.actors[team], deterministic) for team in TEAMS}
    results = run_episodes(simulator_factory(backend, loaded.world), actors, episodes, seed=seed,
                           observers=observers)
    return results, loaded


def eval_main(args: argparse.Namespace) -> int:
    if args.episodes < 1:
        raise ConfigError("--episodes", "episodes", args.episodes, "at least 1")
    replay = check_replay_target(args.replay) if getattr(args, "replay", None) else None
    recorder = None
    if replay is not None:
        from .replay import ReplayRecorder
        recorder = ReplayRecorder(min(args.replay_episodes, args.episodes))
    deterministic = getattr(args, "deterministic", False)
    backend = getattr(args, "backend", "twin")
    episodes, loaded = evaluate(args.target, args.episodes, seed=args.seed,
                                checkpoint=getattr(args, "checkpoint", None),
                                deterministic=deterministic,
                                observers=[recorder] if recorder is not None else [],
                                backend=backend)
    name = f"{loaded.path} (update {loaded.update})"
    where = "the twin" if backend == "twin" else backend
    print(format_report(episodes, f"eval {name} in {where} ({loaded.world.scenario})"))
    if recorder is not None:
        again = (f"hideseek eval {loaded.path} --episodes 1 --seed {{seed}}"
                 + (" --deterministic" if deterministic else "")
                 + (f" --backend {backend}" if backend != "twin" else ""))
        record_replay(replay, recorder, f"{loaded.run_dir.name}, update {loaded.update}",
                      {"hider": name, "seeker": name}, again)
    return 0
