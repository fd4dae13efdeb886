"""Pick the torch thread count for a CPU run by timing what the run will do: an update of the
run's own config (the twin stepping, the actors acting, the learner's update) under each
candidate count.

Timing the twin alone picked one thread for the 15-minute demo on a 2-core machine, which then
trained at 7.1k agent-steps/s where two threads give 9.2k: the update, more than half of the
time, gains from a second thread that the twin's small eager steps do not. The probe is the run's
config with short rollouts (``PROBE_STEPS``; every phase's cost grows with the steps alike), and a
candidate whose rollout alone already took longer than the best whole update is not updated:
with the other core busy, two threads have been 20x slower than one.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from pathlib import Path

from ..contract import WorldConfig
from ..sim.threads import fastest_threads, thread_candidates
from .config import TrainConfig

PROBE_STEPS = 16


def probe_config(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with rollouts of about ``PROBE_STEPS`` steps (a recurrent model keeps whole
    training chunks) and no output."""
    if cfg.model.recurrent != "none":
        steps = cfg.ppo.chunk_length
    else:
        steps = max(PROBE_STEPS, math.ceil(cfg.ppo.minibatches / cfg.num_arenas))
    return dataclasses.replace(cfg, rollout_steps=min(cfg.rollout_steps, steps), progress=False,
                               tensorboard=False, baseline_arenas=0)


def pick_training_threads(cfg: TrainConfig, world: WorldConfig, candidates: list[int] | None = None
                          ) -> tuple[int, dict[int, float]]:
    """The fastest thread count for ``cfg`` and the seconds of one probe update under each
    candidate (inf: given up). A throw-away trainer of the same config, warmed up by one update,
    serves every candidate; compiled code bakes the thread count in, so a run that compiles gets
    a fresh, warmed-up trainer per candidate. The run's own trainer, seeds and generators are
    untouched."""
    from .trainer import Trainer

    probe = probe_config(cfg)
    compiled = cfg.sim_compile or cfg.policy_compile
    with tempfile.TemporaryDirectory(prefix="hideseek-threads-") as tmp:
        shared: list[Trainer] = []

        def trainer() -> Trainer:
            if compiled or not shared:
                if shared:
                    shared.pop().close()
                shared.append(Trainer(probe, world, Path(tmp)))
                shared[0].train_update()                 # allocation, first calls, compiling
            return shared[0]

        def measure(best: float) -> float:
            tr = trainer()
            start = time.perf_counter()
            buf = tr.sampler.sample(tr.update, {})
            if time.perf_counter() - start > best:
                return math.inf
            tr.learner.update(buf, tr.gen_minibatch)
            return time.perf_counter() - start

        try:
            return fastest_threads(measure, candidates or thread_candidates())
        finally:
            for tr in shared:
                tr.close()
