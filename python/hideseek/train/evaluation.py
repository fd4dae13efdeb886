"""The trainer's periodic evaluation: at each checkpoint the current actors play
``evaluation.episodes`` twin episodes (episode e: seed ``evaluation.seed + e``, the same at every
checkpoint; ``evaluation.every`` thins them) with deterministic and with sampled actions, as
arenas of one batched twin
(:mod:`hideseek.evaluation.runner`). The means and win rates are logged beside the training
statistics as ``eval_deterministic/*`` and ``eval_sampled/*``; with ``evaluation.replay_episodes``
the sampled play's first episodes become ``checkpoints/update_N.replay.html``.

It never touches what training depends on: its own simulator and generator, no gradient, and its
seconds are not training time (``perf/eval_seconds`` says what it cost).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from ..checkpoint import CHECKPOINT_DIR
from ..contract import TEAMS, WorldConfig
from ..evaluation.actors import TorchActor
from ..evaluation.runner import run_episodes
from ..evaluation.statistics import mean_scalars
from .config import EvalConfig

MODES = (("deterministic", True), ("sampled", False))


def replay_path(run_dir: Path, update: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"update_{update:07d}.replay.html"


class PeriodicEvaluation:
    """Call with the trainer at a checkpoint -> the scalars to log (none where ``every`` skips
    this checkpoint; the last checkpoint of a run, ``final``, is always evaluated)."""

    def __init__(self, cfg: EvalConfig, world: WorldConfig, device: torch.device):
        self.cfg, self.world, self.device = cfg, world, device
        self._sim = None   # one twin of `episodes` arenas, built at the first evaluation

    def __call__(self, trainer, final: bool = False) -> dict[str, float]:
        from ..sim import TwinSim

        cfg = self.cfg
        if not final and (trainer.update // trainer.cfg.checkpoint_every) % cfg.every:
            return {}
        started = time.perf_counter()
        if self._sim is None:
            self._sim = TwinSim(self.world, cfg.episodes, device=self.device, seed=cfg.seed)
        scalars: dict[str, float] = {}
        recorder = None
        for mode, deterministic in MODES:
            actors = {team: TorchActor(trainer.learner.actors[trainer.group_of[team]], deterministic)
                      for team in TEAMS}
            observers = []
            if not deterministic and cfg.replay_episodes > 0:
                from ..replay import ReplayRecorder
                recorder = ReplayRecorder(min(cfg.replay_episodes, cfg.episodes))
                observers.append(recorder)
            episodes = run_episodes(self._sim, actors, cfg.episodes, seed=cfg.seed,
                                    observers=observers)
            scalars.update(mean_scalars(episodes, f"eval_{mode}"))
        if recorder is not None:
            from ..replay import write_replay
            write_replay(replay_path(trainer.run_dir, trainer.update), recorder.episodes,
                         recorder.world, f"{trainer.run_dir.name}, update {trainer.update}",
                         {"hider": "the run's hider actor", "seeker": "the run's seeker actor"},
                         f"hideseek eval {trainer.run_dir} --checkpoint {trainer.update} "
                         f"--episodes 1 --seed {{seed}}")
        scalars["perf/eval_seconds"] = time.perf_counter() - started
        return scalars
