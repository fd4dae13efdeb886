"""``hideseek demo``: random policies in the twin -> a top-down GIF of one episode and the
episode statistics of many (the baseline every trained policy is compared with)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from .config_io import parse_overrides
from .contract import EPISODE_STATS, WorldConfig, load_world_config
from .models import BranchIndex, random_actions
from .sim import TwinSim


def random_rollout_stats(world: WorldConfig, episodes: int, seed: int,
                         device: torch.device | str = "cpu") -> dict[str, float]:
    """Mean episode statistics of uniformly random (mask-respecting) policies over ``episodes``
    arenas: the reference ``hideseek train``'s dashboard compares learned play with."""
    sim = TwinSim(world, episodes, device=device, seed=seed)
    gen = torch.Generator(device=sim.device).manual_seed(seed)
    bi = BranchIndex(world.layout.action_branches, sim.device)
    obs = sim.obs
    for _ in range(world.horizon):
        out = sim.step(random_actions(obs.action_mask, bi, gen))
        obs = out.obs
    assert out.episode_stats is not None
    return {k: float(v.mean()) for k, v in out.episode_stats.items()}


def scripted_ceiling_stats(world: WorldConfig, episodes: int, seed: int,
                           device: torch.device | str = "cpu") -> dict[str, float] | None:
    """Mean episode statistics of the scripted room-sealing hider team against random seekers
    (``hideseek.scripted``): the ceiling line of the dashboard. None outside the quadrant."""
    if world.scenario != "quadrant":
        return None
    from .evaluation.actors import RandomActor
    from .evaluation.runner import run_episodes, twin_factory
    from .scripted import RoomSealer
    results = run_episodes(twin_factory(world, device), {"hider": RoomSealer(world),
                                                         "seeker": RandomActor()}, episodes, seed)
    return {k: sum(r[k] for r in results) / len(results) for k in EPISODE_STATS}


def record_episode(world: WorldConfig, seed: int, path: Path, fps: int = 12) -> None:
    """One random episode of arena 0 as an animated GIF."""
    from PIL import Image
    sim = TwinSim(world, 1, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    bi = BranchIndex(world.layout.action_branches)
    frames = [sim.render(0)]
    obs = sim.obs
    for _ in range(world.horizon - 1):
        obs = sim.step(random_actions(obs.action_mask, bi, gen)).obs
        frames.append(sim.render(0))
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)


def main(args: argparse.Namespace) -> int:
    world = load_world_config(args.arena, parse_overrides(args.overrides))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record_episode(world, args.seed, out / "episode.gif")
    stats = random_rollout_stats(world, args.episodes, args.seed)
    (out / "stats.json").write_text(json.dumps(stats, indent=2))
    width = max(map(len, EPISODE_STATS))
    print(f"random policies, {args.episodes} episodes of '{args.arena}':")
    for name in EPISODE_STATS:
        print(f"  {name:<{width}}  {stats[name]:8.3f}")
    print(f"wrote {out / 'episode.gif'} and {out / 'stats.json'}")
    return 0

