"""End-to-end training throughput (collection + update) on the demo config.

Prints agent-steps/s and the share of wall time spent in the simulator, the policy (acting,
values, batch preparation) and the PPO/ICM update, measured in one run; with --compare-compile
it also runs the same number of updates with ``sim_compile=true`` and prints the ratio.

    .venv/bin/python benchmarks/train_throughput.py [--updates 5] [--arenas 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from hideseek.config_io import parse_overrides
from hideseek.contract import REPO_ROOT
from hideseek.train import Trainer, load_train_config


def measure(overrides: dict, updates: int, warmup: int) -> dict[str, float]:
    cfg, world, wo = load_train_config(REPO_ROOT / "configs" / "train" / "quadrant.yaml", overrides)
    trainer = Trainer(cfg, world, Path("/nonexistent-benchmark-run"), world_over=wo)
    for _ in range(warmup):  # first calls pay allocation (and compilation) costs
        trainer.train_update()
    sums = {"sim": 0.0, "policy": 0.0, "update": 0.0}
    t0 = time.perf_counter()
    for _ in range(updates):
        s = trainer.train_update()
        total = trainer.steps_per_update / float(s["perf/sps"])
        for k in sums:
            sums[k] += float(s[f"perf/{k}_share"]) * total
    wall = time.perf_counter() - t0
    steps = updates * trainer.steps_per_update
    return {"sps": steps / wall, "wall": wall, "steps": steps,
            **{f"{k}_share": v / wall for k, v in sums.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--arenas", type=int, default=None, help="override num_arenas")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (the target is 2 cores)")
    ap.add_argument("--compare-compile", action="store_true", help="also time sim_compile=true")
    ap.add_argument("overrides", nargs="*", help="training config overrides key=value")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    over = parse_overrides(args.overrides)
    if args.arenas:
        over["num_arenas"] = args.arenas
    over.update(progress=False, tensorboard=False)
    runs = {"eager sim": dict(over, sim_compile=False)}
    if args.compare_compile:
        runs["compiled sim"] = dict(over, sim_compile=True)
    results = {name: measure(o, args.updates, args.warmup) for name, o in runs.items()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.updates} updates after {args.warmup} warm-up")
    for name, r in results.items():
        print(f"{name:13s}: {r['sps']:9.0f} agent-steps/s ({r['steps']} steps in {r['wall']:.1f} s); "
              f"sim {r['sim_share']:.0%}, policy {r['policy_share']:.0%}, "
              f"update {r['update_share']:.0%}")
    if len(results) == 2:
        a, b = results["eager sim"], results["compiled sim"]
        print(f"compiled / eager throughput: {b['sps'] / a['sps']:.2f}x")
    print("target: >= 20000 agent-steps/s on 2 CPU cores")


if __name__ == "__main__":
    main()
