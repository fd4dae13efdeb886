"""Pick the torch thread count for a CPU run by timing what the run will do: one whole update
(the twin stepping, the actors acting, the learner's update) of the run's own config, under each
candidate count.

Timing the twin alone picked one thread for the 15-minute demo on a 2-core machine, which then
trained at 7.1k agent-steps/s where two threads give 9.2k: the update, more than half of the
time, gains from a second thread that the twin's small eager steps do not.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from ..contract import WorldConfig
from ..sim.threads import fastest_threads, thread_candidates
from .config import TrainConfig


def pick_training_threads(cfg: TrainConfig, world: WorldConfig, candidates: list[int] | None = None,
                          warmup: int = 1) -> tuple[int, dict[int, float]]:
    """The fastest thread count for ``cfg`` and the seconds of one update under each candidate
    (after ``warmup`` updates of a fresh trainer, which pay allocation and compilation). Builds
    throw-away trainers of the same config: the run's own trainer, its seeds and generators are
    untouched."""
    from .trainer import Trainer

    probe = dataclasses.replace(cfg, progress=False, tensorboard=False, baseline_arenas=0)

    def measure() -> float:
        with tempfile.TemporaryDirectory(prefix="hideseek-threads-") as tmp:
            trainer = Trainer(probe, world, Path(tmp))
            try:
                for _ in range(warmup):
                    trainer.train_update()
                start = time.perf_counter()
                trainer.train_update()
                return time.perf_counter() - start
            finally:
                trainer.close()

    return fastest_threads(measure, candidates or thread_candidates())
