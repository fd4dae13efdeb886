"""What the Ray tests share (no tests here): a tiny training config and a trainer on it."""

from __future__ import annotations

from pathlib import Path

from hideseek.config_io import merge
from hideseek.ray_sampler import RayConfig
from hideseek.train import Trainer, load_train_config

TINY = {
    "num_arenas": 4, "rollout_steps": 8, "baseline_arenas": 0, "progress": False,
    "tensorboard": False, "plot": False,
    "world": {"horizon": 12, "lidar_rays": 4},
    "model": {"embed_dim": 16, "hidden": 16},
    "ppo": {"epochs": 1, "minibatches": 2},
    "icm": {"feature_dim": 8, "hidden": 16},
}


def tiny_trainer(run_dir: Path, ray_cfg: RayConfig | None = None, blocks: int = 1,
                 **over) -> Trainer:
    """A trainer on TINY (+ overrides): on Ray with ``ray_cfg``, else in ``blocks`` twin blocks."""
    cfg, world, wo = load_train_config(None, merge(TINY, over))
    return Trainer(cfg, world, run_dir, world_over=wo, ray=ray_cfg, local_blocks=blocks)
