"""End-to-end training throughput (collection + update) of a training config, in one run.

For each torch thread count it builds a fresh trainer, runs warm-up updates (allocation and
compilation), then times ``--updates`` updates and prints agent-steps/s with the split of wall
time between the simulator, acting (the policy pass and buffer writes) and the learner's update.
The last line is ``train_agent_steps_per_s <n>`` for the fastest thread count.

    .venv/bin/python benchmarks/train_throughput.py [--config configs/train/quadrant_doors.yaml]
        [--threads 1 2] [--updates 4] [--warmup 2] [key=value ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from hideseek.config_io import parse_overrides
from hideseek.contract import REPO_ROOT
from hideseek.train import Trainer, load_train_config


def measure(config: Path, overrides: dict, threads: int, updates: int, warmup: int) -> dict:
    torch.set_num_threads(threads)
    cfg, world, wo = load_train_config(config, dict(overrides, torch_threads=threads))
    trainer = Trainer(cfg, world, Path("/nonexistent-benchmark-run"), world_over=wo)
    for _ in range(warmup):
        trainer.train_update()
    sums = {"sim": 0.0, "policy": 0.0, "update": 0.0}
    t0 = time.perf_counter()
    for _ in range(updates):
        s = trainer.train_update()
        took = trainer.steps_per_update / float(s["perf/sps"])
        for k in sums:
            sums[k] += float(s[f"perf/{k}_share"]) * took
    wall = time.perf_counter() - t0
    steps = updates * trainer.steps_per_update
    return {"sps": steps / wall, "wall": wall, "steps": steps,
            **{k: v / wall for k, v in sums.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=REPO_ROOT / "configs/train/quadrant_doors.yaml")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--updates", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("overrides", nargs="*", help="training config overrides key=value")
    args = ap.parse_args()
    over = dict(parse_overrides(args.overrides), progress=False, tensorboard=False)
    print(f"{args.config.name}, torch {torch.__version__}, {os.cpu_count()} CPUs "
          f"({platform.processor() or platform.machine()}), {args.updates} updates after "
          f"{args.warmup} warm-up")
    results = {}
    for threads in args.threads:
        r = measure(args.config, over, threads, args.updates, args.warmup)
        results[threads] = r
        print(f"{threads} thread(s): {r['sps']:9.0f} agent-steps/s ({r['steps']} in {r['wall']:.1f} s); "
              f"sim {r['sim']:.0%}, acting {r['policy']:.0%}, update {r['update']:.0%}")
    best = max(results, key=lambda t: results[t]["sps"])
    print(f"train_agent_steps_per_s {results[best]['sps']:.0f}")


if __name__ == "__main__":
    main()
